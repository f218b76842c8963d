/*
 * registry.c -- the list of archive formats, and their shared helpers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "hash.h"

static const struct fmt_ops *const fmt_all[] = {
	&fmt_maildir_ops,
	&fmt_mbox_ops,
	&fmt_tar_ops,
};

const struct fmt_ops *
fmt_find(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof fmt_all / sizeof fmt_all[0]; i++)
		if (strcmp(fmt_all[i]->name, name) == 0)
			return fmt_all[i];
	return NULL;
}

const char *
fmt_names(void)
{
	return "maildir, mbox, tar";
}

const char *
fmt_error(struct fmt *f)
{
	return f->err;
}

int
fmt_fail(struct fmt *f, const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	vsnprintf(f->err, sizeof f->err, fmt, ap);
	va_end(ap);
	errno = saved;
	return -1;
}

static int
vhash_cb(void *arg, const void *p, size_t n)
{
	hash_update(arg, p, n);
	return 0;
}

int
fmt_verify_each(struct fmt *f, struct fmt_vitem *it, size_t n)
{
	struct hash	*h = hash_new();
	unsigned char	 got[HASH_LEN];
	size_t		 i;

	for (i = 0; i < n; i++) {
		hash_reset(h);
		errno = 0;
		if (f->ops->read(f, it[i].loc, vhash_cb, h) == -1) {
			it[i].result = errno == ENOENT ? FMT_V_MISSING :
			    FMT_V_UNREADABLE;
			continue;
		}
		hash_final(h, got);
		it[i].result = memcmp(got, it[i].sha, HASH_LEN) == 0 ?
		    FMT_V_OK : FMT_V_ALTERED;
	}
	hash_free(h);
	return 0;
}

const char *
fmt_vresult_str(enum fmt_vresult r)
{
	switch (r) {
	case FMT_V_OK:
		return "ok";
	case FMT_V_MISSING:
		return "missing";
	case FMT_V_ALTERED:
		return "altered";
	default:
		return "unreadable";
	}
}
