/*
 * fuzz_status.c -- pop3_parse_status() and what reads its text:
 * pop3_apop_stamp() and pop3_parse_stat().
 *
 * The input is one status line without its CRLF. Checked: a rejected
 * line leaves the outputs untouched; an accepted one starts with "+OK"
 * or "-ERR" followed by the end or a space, ok is 0 or 1, the text lies
 * inside the input right after the status word and its space, and only
 * -ERR has a response code, which must be what a reference reading of
 * RFC 2449's grammar (resp-code = "[" resp-level *("/" resp-level) "]",
 * rchar = %x21-2E / %x30-5C / %x5E-7F) and section 8's "ignore the
 * levels you do not know" gives. An APOP stamp found in the text lies inside
 * it and has the shape "<...@...>". A STAT reply read from the text
 * prints back as the digits it came from.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "pop3parse.h"

/* ASCII case-insensitive equality of a/n with the literal s. */
static int
lit_eq(const char *a, size_t n, const char *s)
{
	size_t	i;
	char	c;

	if (n != strlen(s))
		return 0;
	for (i = 0; i < n; i++) {
		c = a[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c != s[i])
			return 0;
	}
	return 1;
}

/* The response code at the start of -ERR text t/len, level by level. */
static enum pop3_rcode
ref_rcode(const char *t, size_t len)
{
	const char	*lv[3];
	size_t		 lvlen[3], i, nlv = 0, start;
	unsigned char	 c;

	if (len < 1 || t[0] != '[')
		return POP3_RC_NONE;
	start = 1;
	for (i = 1; i < len; i++) {
		c = (unsigned char)t[i];
		if (c == '/' || c == ']') {
			if (i == start)
				return POP3_RC_NONE;	/* empty level */
			if (nlv < 3) {
				lv[nlv] = t + start;
				lvlen[nlv] = i - start;
			}
			nlv++;
			start = i + 1;
			if (c == ']')
				break;
			continue;
		}
		if (c < 0x21 || c > 0x7f)
			return POP3_RC_NONE;
	}
	if (i == len)
		return POP3_RC_NONE;			/* no "]" */
	if (lit_eq(lv[0], lvlen[0], "IN-USE"))
		return POP3_RC_IN_USE;
	if (lit_eq(lv[0], lvlen[0], "LOGIN-DELAY"))
		return POP3_RC_LOGIN_DELAY;
	if (lit_eq(lv[0], lvlen[0], "AUTH"))
		return POP3_RC_AUTH;
	if (nlv >= 2 && lit_eq(lv[0], lvlen[0], "SYS") &&
	    lit_eq(lv[1], lvlen[1], "TEMP"))
		return POP3_RC_SYS_TEMP;
	if (nlv >= 2 && lit_eq(lv[0], lvlen[0], "SYS") &&
	    lit_eq(lv[1], lvlen[1], "PERM"))
		return POP3_RC_SYS_PERM;
	return POP3_RC_OTHER;
}

static void
check_stamp(const char *t, size_t len)
{
	const char	*ts = (const char *)1;
	size_t		 tslen = 12345, i, nat = 0;

	if (pop3_apop_stamp(t, len, &ts, &tslen) == -1) {
		FUZZ_CHECK(ts == (const char *)1 && tslen == 12345);
		return;
	}
	FUZZ_CHECK(ts >= t && tslen >= 5 && tslen <= len &&
	    (size_t)(ts - t) <= len - tslen);
	FUZZ_CHECK(ts[0] == '<' && ts[tslen - 1] == '>');
	for (i = 1; i + 1 < tslen; i++) {
		FUZZ_CHECK((unsigned char)ts[i] >= 0x21 &&
		    (unsigned char)ts[i] <= 0x7e && ts[i] != '<' &&
		    ts[i] != '>');
		if (ts[i] == '@') {
			FUZZ_CHECK(i != 1 && i != tslen - 2);
			nat++;
		}
	}
	FUZZ_CHECK(nat == 1);
}

static void
check_stat(const char *t, size_t len)
{
	uint32_t	count = 777;
	uint64_t	size = 888;
	char		buf[64];
	int		n;

	if (pop3_parse_stat(t, len, &count, &size) == -1) {
		FUZZ_CHECK(count == 777 && size == 888);
		return;
	}
	FUZZ_CHECK(count <= POP3_MSGNUM_MAX && size <= INT64_MAX);
	/* Strict numbers: the canonical form is what the server sent. */
	n = snprintf(buf, sizeof buf, "%" PRIu32 " %" PRIu64, count, size);
	FUZZ_CHECK(n > 0 && (size_t)n <= len && memcmp(buf, t, n) == 0);
	FUZZ_CHECK((size_t)n == len || t[n] == ' ');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*line = (const char *)data;
	struct pop3_status	 st, before;
	size_t			 w;

	memset(&st, 0xa5, sizeof st);
	before = st;
	if (pop3_parse_status(line, size, &st) == -1) {
		FUZZ_CHECK(memcmp(&st, &before, sizeof st) == 0);
		/* The grammar, said another way. */
		FUZZ_CHECK(!((size == 3 || (size > 3 && line[3] == ' ')) &&
		    memcmp(line, "+OK", 3) == 0));
		FUZZ_CHECK(!((size == 4 || (size > 4 && line[4] == ' ')) &&
		    memcmp(line, "-ERR", 4) == 0));
		return 0;
	}
	FUZZ_CHECK(st.ok == 0 || st.ok == 1);
	w = st.ok ? 3 : 4;
	FUZZ_CHECK(size >= w &&
	    memcmp(line, st.ok ? "+OK" : "-ERR", w) == 0);
	FUZZ_CHECK(size == w || line[w] == ' ');
	FUZZ_CHECK(st.text == line + (size == w ? w : w + 1));
	FUZZ_CHECK(st.text + st.textlen == line + size);
	FUZZ_CHECK(st.rcode >= POP3_RC_NONE && st.rcode <= POP3_RC_OTHER);
	if (st.ok)
		FUZZ_CHECK(st.rcode == POP3_RC_NONE);
	if (!st.ok)
		FUZZ_CHECK(st.rcode == ref_rcode(st.text, st.textlen));
	check_stamp(st.text, st.textlen);
	check_stat(st.text, st.textlen);
	return 0;
}
