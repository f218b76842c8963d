/*
 * fuzz_listing.c -- the listing-line parsers: pop3_parse_capa_line(),
 * pop3_parse_uidl(), pop3_parse_list(), pop3_is_terminator() and
 * pop3_unstuff_line().
 *
 * Input: the body of a CAPA, UIDL or LIST response, LF-separated (a CR
 * before the LF is dropped, as the line reader does). Every line goes
 * through every parser. UIDL and LIST are checked against small
 * reference acceptors written from RFC 1939 (sections 5 and 7) and the
 * rules in pop3parse.h; accepted lines must also print back to the
 * bytes they came from (numbers have one spelling). CAPA may set only
 * known bits, and its values stay in their documented ranges.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "pop3parse.h"

#define CAP_ALL		0x03ffu
#define SASL_ALL	0x007fu

/* The strict decimal of s/len: 0 and *v, or -1. Digit by digit. */
static int
ref_num(const char *s, size_t len, uint64_t max, uint64_t *v)
{
	uint64_t	n = 0;
	size_t		i;

	if (len == 0 || len > 19 || (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(s[i] - '0');	/* < 10^19 */
	}
	if (n > max)
		return -1;
	*v = n;
	return 0;
}

/* "n SP uid": 1 if the reference accepts it. */
static int
ref_uidl(const char *l, size_t len, uint64_t *num)
{
	size_t	i, sp;

	for (sp = 0; sp < len && l[sp] != ' '; sp++)
		;
	if (sp == len || ref_num(l, sp, POP3_MSGNUM_MAX, num) == -1 ||
	    *num == 0)
		return 0;
	if (len - sp - 1 < 1 || len - sp - 1 > POP3_UIDL_MAX)
		return 0;
	for (i = sp + 1; i < len; i++)
		if ((unsigned char)l[i] < 0x21 || (unsigned char)l[i] > 0x7e)
			return 0;
	return 1;
}

/* "n SP size [SP anything]": 1 if the reference accepts it. */
static int
ref_list(const char *l, size_t len, uint64_t *num, uint64_t *size)
{
	size_t	sp, e;

	for (sp = 0; sp < len && l[sp] != ' '; sp++)
		;
	if (sp == len || ref_num(l, sp, POP3_MSGNUM_MAX, num) == -1 ||
	    *num == 0)
		return 0;
	for (e = sp + 1; e < len && l[e] != ' '; e++)
		;
	return ref_num(l + sp + 1, e - sp - 1, INT64_MAX, size) == 0;
}

static void
check_line(const char *l, size_t len, struct pop3_caps *caps)
{
	const char	*uid = (const char *)1, *p;
	size_t		 ulen = 999, n;
	uint32_t	 num = 4242;
	uint64_t	 size = 4343, rnum, rsize;
	char		 buf[128];
	int		 w, ok;

	FUZZ_CHECK(pop3_parse_capa_line(l, len, caps) == 0);
	FUZZ_CHECK((caps->flags & ~CAP_ALL) == 0);
	FUZZ_CHECK((caps->sasl & ~SASL_ALL) == 0);
	if (caps->flags & POP3_CAP_EXPIRE)
		FUZZ_CHECK(caps->expire_days >= -1);
	if (caps->flags & POP3_CAP_LOGIN_DELAY)
		FUZZ_CHECK(caps->login_delay >= 0);
	if (caps->sasl != 0)
		FUZZ_CHECK(caps->flags & POP3_CAP_SASL);

	ok = pop3_parse_uidl(l, len, &num, &uid, &ulen) == 0;
	FUZZ_CHECK(ok == ref_uidl(l, len, &rnum));
	if (ok) {
		FUZZ_CHECK(num == rnum && uid > l && uid + ulen == l + len);
		w = snprintf(buf, sizeof buf, "%" PRIu32 " %.*s", num,
		    (int)ulen, uid);
		FUZZ_CHECK(w > 0 && (size_t)w == len &&
		    memcmp(buf, l, len) == 0);
	} else
		FUZZ_CHECK(num == 4242 && uid == (const char *)1 &&
		    ulen == 999);

	num = 4242;
	ok = pop3_parse_list(l, len, &num, &size) == 0;
	FUZZ_CHECK(ok == ref_list(l, len, &rnum, &rsize));
	if (ok) {
		FUZZ_CHECK(num == rnum && size == rsize);
		w = snprintf(buf, sizeof buf, "%" PRIu32 " %" PRIu64, num,
		    size);
		FUZZ_CHECK(w > 0 && (size_t)w <= len &&
		    memcmp(buf, l, (size_t)w) == 0);
		FUZZ_CHECK((size_t)w == len || l[w] == ' ');
	} else
		FUZZ_CHECK(num == 4242 && size == 4343);

	FUZZ_CHECK(pop3_is_terminator(l, len) == (len == 1 && l[0] == '.'));
	p = l;
	n = pop3_unstuff_line(&p, len);
	if (len > 0 && l[0] == '.')
		FUZZ_CHECK(p == l + 1 && n == len - 1);
	else
		FUZZ_CHECK(p == l && n == len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*p = (const char *)data, *end = p + size, *nl;
	struct pop3_caps	 caps;
	size_t			 len;

	memset(&caps, 0, sizeof caps);
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		len = (size_t)(nl - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		check_line(p, len, &caps);
		p = nl < end ? nl + 1 : end;
	}
	return 0;
}
