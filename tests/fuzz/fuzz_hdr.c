/*
 * fuzz_hdr.c -- the header scanner (hdr_init, hdr_feed, hdr_get,
 * hdr_message_id) and hdr_parse_date().
 *
 * Input: chunk sizes (fuzz.h), then a decoded message (LF or CRLF
 * lines). The scanner is fed once whole and once cut at the chosen
 * sizes; both runs must keep the same fields byte for byte and count
 * the same header length, which must be the reference's: up to and
 * including the first line that is empty or a lone CR. Once the body
 * has started every call returns 0. Kept values fit HDR_VALUE_MAX;
 * the Message-ID lies inside its value and is "<...>" when the value
 * has such a pair. Dates: the Date value and the whole input go
 * through hdr_parse_date(), which must give the same answer twice and
 * a time within years 0..9999 give or take a day.
 */
#include <string.h>

#include "fuzz.h"
#include "hdr.h"

/*
 * -62167219200 is 0000-01-01, 253402300799 9999-12-31 23:59:59; a zone
 * may be off by up to 99:59 ("+9959"), and day 31 of a short month
 * rolls over into the next.
 */
#define DATE_SLACK	(5 * 86400LL)
#define DATE_MIN	(-62167219200LL - DATE_SLACK)
#define DATE_MAX	(253402300799LL + DATE_SLACK)

/*
 * Header length by the rule in hdr.h, one line at a time: up to and
 * including the first empty line (or lone CR); all of it if none,
 * with *found 0.
 */
static size_t
ref_hdrlen(const uint8_t *p, size_t n, int *found)
{
	size_t	i, start = 0;

	*found = 1;
	for (i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		if (i == start || (i == start + 1 && p[start] == '\r'))
			return i + 1;
		start = i + 1;
	}
	*found = 0;
	return n;
}

static void
check_date(const char *s, size_t len)
{
	int64_t	t1 = 1, t2 = 2;
	int	r1, r2;

	r1 = hdr_parse_date(s, len, &t1);
	r2 = hdr_parse_date(s, len, &t2);
	FUZZ_CHECK(r1 == 0 || r1 == -1);
	FUZZ_CHECK(r1 == r2);
	if (r1 == 0)
		FUZZ_CHECK(t1 == t2 && t1 >= DATE_MIN && t1 <= DATE_MAX);
	else
		FUZZ_CHECK(t1 == 1 && t2 == 2);
}

static void
check_fields(const struct hdr_scan *h)
{
	const char	*v, *mid;
	size_t		 len, mlen;
	int		 f;

	for (f = 0; f < HDR_NFIELDS; f++) {
		len = 12345;
		if ((v = hdr_get(h, f, &len)) == NULL) {
			FUZZ_CHECK(len == 12345);
			continue;
		}
		FUZZ_CHECK(len <= HDR_VALUE_MAX);
	}
	if ((mid = hdr_message_id(h, &mlen)) == NULL)
		return;
	v = hdr_get(h, HDR_MESSAGE_ID, &len);
	FUZZ_CHECK(v != NULL && mlen > 0 && mid >= v && mlen <= len &&
	    (size_t)(mid - v) <= len - mlen);
	if (memchr(v, '<', len) != NULL && memchr(memchr(v, '<', len), '>',
	    len - (size_t)((const char *)memchr(v, '<', len) - v)) != NULL)
		FUZZ_CHECK(mid[0] == '<' && mid[mlen - 1] == '>' &&
		    memchr(mid, '>', mlen) == mid + mlen - 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hdr_scan	 whole, cut;
	struct fuzz_chunks	 ch;
	const char		*v1, *v2;
	size_t			 pos = 0, n, r, hlen = 0, wlen, l1, l2;
	int			 f, found;

	if (fuzz_chunks_init(&ch, &data, &size) == -1)
		return 0;

	hdr_init(&whole);
	wlen = hdr_feed(&whole, (const char *)data, size);
	FUZZ_CHECK(wlen <= size);
	FUZZ_CHECK(wlen == ref_hdrlen(data, size, &found));
	FUZZ_CHECK(whole.in_body == found);

	hdr_init(&cut);
	while (pos < size) {
		n = fuzz_chunk_next(&ch, size - pos);
		r = hdr_feed(&cut, (const char *)data + pos, n);
		FUZZ_CHECK(r <= n);
		if (hlen < pos)
			FUZZ_CHECK(r == 0);	/* in the body already */
		else
			FUZZ_CHECK(hlen == pos);
		hlen += r;
		pos += n;
	}
	FUZZ_CHECK(hlen == wlen);
	FUZZ_CHECK(cut.in_body == whole.in_body);
	if (whole.in_body)
		FUZZ_CHECK(hdr_feed(&cut, "X: y\n", 5) == 0);

	for (f = 0; f < HDR_NFIELDS; f++) {
		v1 = hdr_get(&whole, f, &l1);
		v2 = hdr_get(&cut, f, &l2);
		FUZZ_CHECK((v1 == NULL) == (v2 == NULL));
		if (v1 != NULL)
			FUZZ_CHECK(l1 == l2 && memcmp(v1, v2, l1) == 0);
	}
	check_fields(&whole);
	check_fields(&cut);

	if ((v1 = hdr_get(&whole, HDR_DATE, &l1)) != NULL)
		check_date(v1, l1);
	check_date((const char *)data, size);
	return 0;
}
