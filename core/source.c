/*
 * source.c -- what every message source shares (source.h): its error,
 * and building a listing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "source.h"
#include "util.h"

const char *
source_error(const struct source *s)
{
	return s->err;
}

int
source_fail(struct source *s, enum fail_grade g, enum fail_reason why,
    const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof s->err, fmt, ap);
	va_end(ap);
	s->grade = g;
	s->reason = why;
	return -1;
}

int
source_listing_add(struct pop3_listing *l, uint32_t num, const char *uid,
    size_t uidlen, uint64_t size)
{
	struct pop3_entry	*e;
	size_t			 k;

	if (uidlen == 0 || uidlen > POP3_UIDL_MAX ||
	    (l->n > 0 && num <= l->e[l->n - 1].num) ||
	    l->alen + uidlen > UINT32_MAX)
		return -1;
	for (k = 0; k < uidlen; k++)
		if (uid[k] < 0x21 || uid[k] > 0x7e)
			return -1;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->e = xreallocarray(l->e, l->cap, sizeof *l->e);
	}
	while (l->alen + uidlen > l->acap) {
		l->acap = l->acap ? l->acap * 2 : 1024;
		l->arena = xreallocarray(l->arena, l->acap, 1);
	}
	e = &l->e[l->n++];
	e->num = num;
	e->uid_off = (uint32_t)l->alen;
	e->uid_len = (uint8_t)uidlen;
	e->size = POP3_SIZE_HINT(size);
	memcpy(l->arena + l->alen, uid, uidlen);
	l->alen += uidlen;
	return 0;
}
