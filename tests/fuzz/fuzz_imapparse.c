/*
 * fuzz_imapparse.c -- the IMAP response reader and the parsers of
 * core/imapparse.c.
 *
 * Input: the chunk sizes (fuzz.h), one flag byte (bit 0: a literal
 * callback; bits 1-3: litmax 0, 1, 8, 64, 1024 ...; bit 4: a small
 * response buffer), then the server's byte stream. It is read twice,
 * in one call per response and in the fuzzer's chunks; both readings
 * give the same transcript (responses, streamed literal bytes) and end
 * the same way. Each response is then parsed: it fits the buffer; what the parsers point at lies inside
 * it; numbers that must be nz are; a FETCH body is whole; a date read
 * formats back to a date that parses to the same instant; a rest that
 * quotes unquotes to itself.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "imapparse.h"

struct tr {
	unsigned char	*s;
	size_t		 n, cap;
	int		 inlit;
};

static void
tr_add(struct tr *t, const void *p, size_t n)
{
	FUZZ_CHECK(t->n + n <= t->cap);
	memcpy(t->s + t->n, p, n);
	t->n += n;
}

static int
cb(void *arg, enum imap_lit_ev ev, const char *p, size_t n, uint64_t size)
{
	struct tr	*t = arg;

	switch (ev) {
	case IMAP_LIT_BEGIN:
		FUZZ_CHECK(!t->inlit && n >= 3 && p[n - 1] == '}');
		t->inlit = 1;
		tr_add(t, "<B>", 3);
		break;
	case IMAP_LIT_DATA:
		FUZZ_CHECK(t->inlit && n > 0);
		tr_add(t, p, n);
		break;
	case IMAP_LIT_END:
		FUZZ_CHECK(t->inlit);
		t->inlit = 0;
		tr_add(t, "<E>", 3);
		break;
	}
	return 0;
}

static int
inside(const char *a, size_t an, const char *p, size_t n)
{
	return p >= a && p + n <= a + an;
}

static void
check_resp(const char *p, size_t n, unsigned nstreamed)
{
	struct imap_resp	 r;
	struct imap_fetch	 f;
	struct imap_esearch	 e;
	struct imap_caps	 caps;
	uint32_t		 v[8];
	size_t			 cnt, i, ql;
	char			 d[IMAP_DATETIME_LEN + 1], q[256];
	time_t			 t2;
	int			 z2;

	if (imap_parse_resp(p, n, &r) == -1)
		return;
	FUZZ_CHECK(inside(p, n, r.rest, r.restlen));
	if (r.kind == IMAP_K_TAGGED)
		FUZZ_CHECK(r.taglen > 0 && r.status >= IMAP_S_OK &&
		    r.status <= IMAP_S_BAD);
	if (r.code == IMAP_C_UIDVALIDITY || r.code == IMAP_C_UIDNEXT ||
	    r.code == IMAP_C_APPENDUID || r.code == IMAP_C_COPYUID)
		FUZZ_CHECK(r.n1 != 0);
	if (r.code == IMAP_C_APPENDUID)
		FUZZ_CHECK((r.n2 != 0) == (r.set == NULL));
	if (r.set != NULL)
		FUZZ_CHECK(inside(p, n, r.set, r.setlen));
	if (r.set2 != NULL)
		FUZZ_CHECK(inside(p, n, r.set2, r.set2len));
	if (r.code == IMAP_C_CAPABILITY)
		FUZZ_CHECK(imap_parse_caps(r.set, r.setlen, &caps) == 0);
	if (r.has_num && r.keywordlen == 5 &&
	    memcmp(r.keyword, "FETCH", 5) == 0 &&
	    imap_parse_fetch(r.rest, r.restlen, nstreamed, &f) == 0) {
		if (f.has_uid)
			FUZZ_CHECK(f.uid != 0);
		FUZZ_CHECK(f.size <= INT64_MAX);
		if (f.body != NULL)
			FUZZ_CHECK(f.has_body && !f.body_streamed &&
			    inside(r.rest, r.restlen, f.body, f.bodylen));
		if (f.body_streamed)
			FUZZ_CHECK(nstreamed > 0);
		if (f.has_date) {
			FUZZ_CHECK(imap_format_datetime(f.date, f.zone, d) ==
			    0);
			FUZZ_CHECK(imap_parse_datetime(d, IMAP_DATETIME_LEN,
			    &t2, &z2) == 0 && t2 == f.date && z2 == f.zone);
		}
	}
	if (!r.has_num && r.keywordlen == 6 &&
	    memcmp(r.keyword, "SEARCH", 6) == 0 &&
	    imap_parse_search(r.rest, r.restlen, v, 8, &cnt) == 0)
		for (i = 0; i < cnt && i < 8; i++)
			FUZZ_CHECK(v[i] != 0);
	if (!r.has_num && r.keywordlen == 7 &&
	    memcmp(r.keyword, "ESEARCH", 7) == 0 &&
	    imap_parse_esearch(r.rest, r.restlen, &e) == 0) {
		if (e.has_min)
			FUZZ_CHECK(e.min != 0);
		if (e.all != NULL)
			FUZZ_CHECK(inside(r.rest, r.restlen, e.all,
			    e.alllen));
	}
	if (imap_quote(r.rest, r.restlen, q, sizeof(q), &ql) == 0) {
		FUZZ_CHECK(ql < sizeof(q) && q[ql] == '\0');
		if (q[0] != '"')
			FUZZ_CHECK(ql == r.restlen &&
			    memcmp(q, r.rest, ql) == 0);
		else {
			size_t	j, k = 0;

			FUZZ_CHECK(ql >= 2 && q[ql - 1] == '"');
			for (j = 1; j + 1 < ql; j++) {
				if (q[j] == '\\')
					j++;
				FUZZ_CHECK(k < r.restlen &&
				    q[j] == r.rest[k]);
				k++;
			}
			FUZZ_CHECK(k == r.restlen);
		}
	}
}

/* Read in/len; chunked if c is not NULL. Returns the reader's end. */
static int
readall(const char *in, size_t len, struct fuzz_chunks *c, int flags,
    struct tr *t, int check)
{
	static const size_t	 litmaxes[8] = { 0, 1, 8, 64, 1024, 65536,
				    60000, 3 };
	struct imap_reader	 r;
	char			*buf;
	size_t			 bufsize, off = 0, k, used;
	int			 x = 0;

	bufsize = flags & 16 ? 64 : 70000;
	buf = malloc(bufsize);
	FUZZ_CHECK(buf != NULL);
	t->inlit = 0;
	imap_reader_init(&r, buf, bufsize, litmaxes[(flags >> 1) & 7],
	    flags & 1 ? cb : NULL, t);
	while (off < len) {
		k = c != NULL ? fuzz_chunk_next(c, len - off) : len - off;
		x = imap_reader_feed(&r, in + off, k, &used);
		FUZZ_CHECK(used <= k);
		off += used;
		if (x == -1)
			break;
		if (x == 0)
			FUZZ_CHECK(used == k);
		if (x == 1) {
			FUZZ_CHECK(r.len <= bufsize);
			tr_add(t, "[", 1);
			tr_add(t, r.buf, r.len);
			tr_add(t, "]", 1);
			if (check)
				check_resp(r.buf, r.len, r.nstreamed);
		}
	}
	if (x == -1) {
		FUZZ_CHECK(r.err != IMAP_RD_NONE && r.errmsg != NULL);
		x = -1 - (int)r.err;
		tr_add(t, "<X>", 3);
	} else
		x = r.done;
	free(buf);
	return x;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct fuzz_chunks	 c;
	struct tr		 a, b;
	int			 flags, xa, xb;

	if (fuzz_chunks_init(&c, &data, &len) == -1 || len < 1)
		return 0;
	flags = data[0];
	data++;
	len--;
	a.cap = b.cap = 3 * len + 64;
	a.n = b.n = 0;
	a.s = malloc(a.cap);
	b.s = malloc(b.cap);
	FUZZ_CHECK(a.s != NULL && b.s != NULL);
	xa = readall((const char *)data, len, NULL, flags, &a, 1);
	xb = readall((const char *)data, len, &c, flags, &b, 0);
	FUZZ_CHECK(xa == xb);
	FUZZ_CHECK(a.n == b.n && memcmp(a.s, b.s, a.n) == 0);
	free(a.s);
	free(b.s);
	return 0;
}
