/*
 * fuzz_mboxparse.c -- the import's mbox scanner and unquoting filter
 * (core/mboxparse.c), fed in the chunks the input's front chooses
 * (fuzz.h), against themselves fed whole and against a reference
 * written here the simplest way.
 *
 * Input: the chunk sizes (fuzz.h), one flags byte (bit 0: unquote, bit
 * 1: CR LF to LF), then the bytes.
 *
 * Scanner: every byte comes out once, in order; the events (separators,
 * Content-Length values, bodies, dateless From lines) are the same as
 * for one call; each separator is at a line start that begins "From ",
 * in increasing order, and every body after its separator.
 * Filter: the output equals the reference's: with CR LF to LF, each
 * CR LF made LF; then, with unquote, one ">" off each line that is 1 to
 * MBOXUNQ_HOLD ">" and "From ".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mboxparse.h"

struct rec {
	uint8_t		*bytes;
	size_t		 nb;
	uint64_t	*ev;		/* kind << 60 | offset or value */
	size_t		 ne, cap;
};

static void
rec_ev(struct rec *r, uint64_t kind, uint64_t v)
{
	if (r->ne == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		if ((r->ev = realloc(r->ev, r->cap * sizeof *r->ev)) == NULL)
			abort();
	}
	r->ev[r->ne++] = kind << 60 | (v & ((UINT64_C(1) << 60) - 1));
}

static void
on_sep(void *a, uint64_t off, int blank)
{
	rec_ev(a, 1 + (blank != 0), off);
}

static void
on_bytes(void *a, const char *p, size_t n)
{
	struct rec	*r = a;

	memcpy(r->bytes + r->nb, p, n);
	r->nb += n;
}

static void
on_clen(void *a, uint64_t v)
{
	rec_ev(a, 3, v);
}

static void
on_body(void *a, uint64_t off)
{
	rec_ev(a, 4, off);
}

static void
on_bad(void *a, uint64_t off)
{
	rec_ev(a, 5, off);
}

static void
scan(const uint8_t *d, size_t n, struct fuzz_chunks *ch, struct rec *r)
{
	struct mboxscan_cb	cb = { on_sep, on_bytes, on_clen, on_body,
				    on_bad, NULL };
	struct mboxscan		s;
	size_t			pos = 0, k;

	cb.arg = r;
	mboxscan_init(&s, &cb);
	while (pos < n) {
		k = ch != NULL ? fuzz_chunk_next(ch, n - pos) : n - pos;
		mboxscan_feed(&s, (const char *)d + pos, k);
		pos += k;
	}
	mboxscan_end(&s);
}

struct out {
	uint8_t	*b;
	size_t	 n;
};

static int
out_cb(void *a, const char *p, size_t n)
{
	struct out	*o = a;

	memcpy(o->b + o->n, p, n);
	o->n += n;
	return 0;
}

/* The reference filter, on the whole input. */
static size_t
ref_filter(const uint8_t *d, size_t n, int unquote, int crlf, uint8_t *out)
{
	uint8_t	*t;
	size_t	 i, m = 0, k = 0, g;

	if ((t = malloc(n + 1)) == NULL)
		abort();
	for (i = 0; i < n; i++) {
		if (crlf && d[i] == '\r' && i + 1 < n && d[i + 1] == '\n')
			continue;
		t[m++] = d[i];
	}
	for (i = 0; i < m; i++) {
		if (unquote && (i == 0 || t[i - 1] == '\n') && t[i] == '>') {
			for (g = 0; i + g < m && t[i + g] == '>'; g++)
				;
			if (g <= MBOXUNQ_HOLD && i + g + 5 <= m &&
			    memcmp(t + i + g, "From ", 5) == 0)
				continue;	/* the first ">" goes */
		}
		out[k++] = t[i];
	}
	free(t);
	return k;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_chunks	 ch;
	struct rec		 whole, part;
	struct mboxunq		 u;
	struct out		 o;
	uint8_t			*ref;
	size_t			 i, pos, k, nref;
	uint64_t		 last = 0;
	int			 unquote, crlf, seen = 0;

	if (fuzz_chunks_init(&ch, &data, &size) == -1 || size < 1)
		return 0;
	unquote = data[0] & 1;
	crlf = (data[0] >> 1) & 1;
	data++;
	size--;

	memset(&whole, 0, sizeof whole);
	memset(&part, 0, sizeof part);
	if ((whole.bytes = malloc(size + 1)) == NULL ||
	    (part.bytes = malloc(size + 1)) == NULL)
		abort();
	scan(data, size, NULL, &whole);
	scan(data, size, &ch, &part);
	FUZZ_CHECK(whole.nb == size && memcmp(whole.bytes, data, size) == 0);
	FUZZ_CHECK(part.nb == size && memcmp(part.bytes, data, size) == 0);
	FUZZ_CHECK(part.ne == whole.ne && (whole.ne == 0 ||
	    memcmp(part.ev, whole.ev, whole.ne * sizeof *whole.ev) == 0));
	for (i = 0; i < whole.ne; i++) {
		uint64_t	kind = whole.ev[i] >> 60;
		uint64_t	v = whole.ev[i] & ((UINT64_C(1) << 60) - 1);

		if (kind == 1 || kind == 2) {
			FUZZ_CHECK(v < size && (v == 0 || data[v - 1] == '\n'));
			FUZZ_CHECK(size - v >= 5 &&
			    memcmp(data + v, "From ", 5) == 0);
			FUZZ_CHECK(!seen || v > last);
			last = v;
			seen = 1;
		} else if (kind == 4)
			FUZZ_CHECK(seen && v > last && v <= size);
	}

	/* The filter, in the same chunks. */
	if ((ref = malloc(size + 1)) == NULL ||
	    (o.b = malloc(size + 1)) == NULL)
		abort();
	nref = ref_filter(data, size, unquote, crlf, ref);
	o.n = 0;
	ch.k = 0;
	ch.zero = 0;
	mboxunq_init(&u, unquote, crlf, out_cb, &o);
	for (pos = 0; pos < size; pos += k) {
		k = fuzz_chunk_next(&ch, size - pos);
		FUZZ_CHECK(mboxunq_feed(&u, (const char *)data + pos, k) == 0);
	}
	FUZZ_CHECK(mboxunq_end(&u) == 0);
	FUZZ_CHECK(o.n == nref && memcmp(o.b, ref, nref) == 0);

	free(ref);
	free(o.b);
	free(whole.bytes);
	free(part.bytes);
	free(whole.ev);
	free(part.ev);
	return 0;
}
