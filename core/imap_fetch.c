/*
 * imap_fetch.c -- what the IMAP session reads of the selected mailbox's
 * content (imap_sizes(), imap_fetch() and imap_search() of imap.h): the
 * sizes, one UID FETCH 1:* (UID RFC822.SIZE); the bodies, UID FETCH
 * (UID BODY.PEEK[]) of a sorted, unique uid-set cut into commands of
 * IMAP_CMD_MAX, each body streamed to the caller's sink as its literal
 * arrives (the reader's literal callback, ims_lit_cb(), which also
 * drops any other long literal up to IMAP_OTHER_LIT_MAX) or handed over
 * whole when it was short enough to be kept, and matched to a UID that
 * was asked for and not yet seen; UID SEARCH, with RETURN (ALL) when the
 * server offers ESEARCH (RFC 4731). A body stretches the command's
 * deadline by its octets. Reading, sending and waiting are imap.c's
 * (imap_int.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap.h"
#include "imap_int.h"
#include "log.h"
#include "util.h"

/* The longest command line built here (FETCH's uid-set is cut to it). */
#define IMAP_CMD_MAX	8192
/* A literal that is not a fetched body is refused past this. */
#define IMAP_OTHER_LIT_MAX	IMAP_RESP_MAX
/* Octets of a SIZES answer per message, for its deadline. */
#define IMAP_SIZE_LINE	64

/* ---- the literal callback ------------------------------------------- */

/* Does the response so far (p/n, ending in "{N}") announce BODY[]? */
static int
is_body_literal(const char *p, size_t n)
{
	static const char	body[] = "BODY[] ";
	size_t			i = n, k;

	/* "* " nz-number " FETCH (" ... "BODY[] {N}" */
	if (n < 2 || p[0] != '*' || p[1] != ' ')
		return 0;
	for (k = 2; k < n && p[k] >= '0' && p[k] <= '9'; k++)
		;
	if (k == 2 || n - k < 8 || strncasecmp(p + k, " FETCH (", 8) != 0)
		return 0;
	while (i > 0 && p[i - 1] != '{')
		i--;
	if (i == 0)
		return 0;
	i--;
	if (i < k + 8 + sizeof body - 1)
		return 0;
	if (strncasecmp(p + i - (sizeof body - 1), body, sizeof body - 1))
		return 0;
	/* Preceded by "(" or " ": the name is a whole item. */
	return p[i - sizeof body] == '(' || p[i - sizeof body] == ' ';
}

/*
 * The reader's callback for literals longer than IMAP_LIT_KEEP: during
 * imap_fetch() the body of a FETCH response goes to the sink; any
 * other literal is read and dropped, up to IMAP_OTHER_LIT_MAX.
 */
int
ims_lit_cb(void *arg, enum imap_lit_ev ev, const char *p, size_t n,
    uint64_t size)
{
	struct imap	*s = arg;

	switch (ev) {
	case IMAP_LIT_BEGIN:
		s->lit_sink = 0;
		if (s->sink != NULL && is_body_literal(p, n)) {
			if (s->resp_body) {
				ims_fail(s, IMAP_E_PROTO, "FETCH: two bodies "
				    "in one response");
				goto fail;
			}
			if (size > s->o.max_msg_size) {
				ims_fail(s, IMAP_E_PROTO, "FETCH: a body of "
				    "%llu octets, larger than the maximum "
				    "size (%llu)", (unsigned long long)size,
				    (unsigned long long)s->o.max_msg_size);
				goto fail;
			}
			ims_deadline_more(s, size);
			s->resp_body = 1;
			s->lit_sink = 1;
			if (s->sink->begin(s->sink->arg, size) == -1) {
				ims_fail(s, IMAP_E_LOCAL, "FETCH: storing "
				    "a body failed");
				goto fail;
			}
			return 0;
		}
		if (size > IMAP_OTHER_LIT_MAX) {
			ims_fail(s, IMAP_E_PROTO, "a literal of %llu octets "
			    "where none so long was expected",
			    (unsigned long long)size);
			goto fail;
		}
		return 0;
	case IMAP_LIT_DATA:
		if (s->lit_sink && s->sink->data(s->sink->arg, p, n) == -1) {
			ims_fail(s, IMAP_E_LOCAL, "FETCH: storing a body "
			    "failed");
			goto fail;
		}
		return 0;
	case IMAP_LIT_END:
		s->lit_sink = 0;
		return 0;
	}
	return 0;
fail:
	s->cbfail = 1;
	return -1;
}

/* ---- UID FETCH, sizes ----------------------------------------------- */

struct sizes_ctx {
	int	(*cb)(void *, uint32_t, uint64_t);
	void	 *arg;
};

/* s->resp as a FETCH response: 1 with *f, 0 if it is none, or -1. */
static int
get_fetch(struct imap *s, struct imap_fetch *f)
{
	const struct imap_resp	*r = &s->resp;
	char			 esc[IMAP_TEXT_MAX];

	if (!r->has_num || r->keywordlen != 5 ||
	    strncasecmp(r->keyword, "FETCH", 5) != 0)
		return 0;
	if (imap_parse_fetch(r->rest, r->restlen, s->rd.nstreamed, f) == -1)
		return ims_fail(s, IMAP_E_PROTO, "UID FETCH: bad FETCH "
		    "response: %s", log_escape(r->rest, r->restlen, esc,
		    sizeof esc));
	return 1;
}

static int
sizes_resp(struct imap *s, void *arg)
{
	struct sizes_ctx	*sc = arg;
	struct imap_fetch	 f;
	int			 x;

	if ((x = get_fetch(s, &f)) != 1)
		return x;
	if (!f.has_size)
		return 1;		/* a flag update */
	if (!f.has_uid)
		return ims_fail(s, IMAP_E_PROTO, "UID FETCH: a size without "
		    "a UID");
	if (sc->cb(sc->arg, f.uid, f.size) == -1)
		return ims_fail(s, IMAP_E_LOCAL, "UID FETCH: message %u",
		    f.uid);
	return 1;
}

int
ims_sizes(struct imap *s, int (*cb)(void *, uint32_t, uint64_t),
    void *arg)
{
	struct sizes_ctx	sc;

	if (!s->selected)
		return ims_fail(s, IMAP_E_USAGE, "UID FETCH: no mailbox "
		    "selected");
	/*
	 * Empty: nothing to ask (some servers answer "1:*" there with
	 * BAD). EXISTS is required in SELECT's answer; without it, ask.
	 */
	if (s->exists == 0 && s->have_exists)
		return 0;
	sc.cb = cb;
	sc.arg = arg;
	ims_deadline_start(s, (uint64_t)s->exists * IMAP_SIZE_LINE);
	if (ims_send(s, "UID FETCH 1:* (UID RFC822.SIZE)", NULL) == -1 ||
	    ims_wait(s, "UID FETCH", sizes_resp, &sc) == -1)
		return -1;
	if (s->resp.status != IMAP_S_OK)
		return ims_refused(s, "UID FETCH", IMAP_E_REFUSED);
	return 0;
}

/* ---- UID FETCH, bodies ---------------------------------------------- */

struct fetch_ctx {
	const struct imap_sink	*k;
	const uint32_t		*uids;		/* sorted, unique */
	unsigned char		*seen;
	size_t			 n;
};

static int
fetch_resp(struct imap *s, void *arg)
{
	struct fetch_ctx	*fc = arg;
	struct imap_fetch	 f;
	size_t			 lo, hi, mid;
	int			 x;

	if ((x = get_fetch(s, &f)) != 1)
		return x;
	/* The literal streamed must be this BODY[], and only it. */
	if (s->resp_body != (f.has_body && f.body_streamed))
		return ims_fail(s, IMAP_E_PROTO, "UID FETCH: a literal "
		    "streamed that is not the body");
	if (!f.has_body || (f.body == NULL && !f.body_streamed))
		return 1;		/* a flag update, or NIL */
	if (!f.has_uid)
		return ims_fail(s, IMAP_E_PROTO, "UID FETCH: a body without "
		    "a UID");
	lo = 0;
	hi = fc->n;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (fc->uids[mid] < f.uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == fc->n || fc->uids[lo] != f.uid)
		return ims_fail(s, IMAP_E_PROTO, "UID FETCH: a body for UID "
		    "%u, which was not asked for", f.uid);
	if (fc->seen[lo])
		return ims_fail(s, IMAP_E_PROTO, "UID FETCH: UID %u sent "
		    "twice", f.uid);
	fc->seen[lo] = 1;
	if (!f.body_streamed) {
		if (f.bodylen > s->o.max_msg_size)
			return ims_fail(s, IMAP_E_PROTO, "UID FETCH: UID %u "
			    "is larger than the maximum size (%llu)", f.uid,
			    (unsigned long long)s->o.max_msg_size);
		if (fc->k->begin(fc->k->arg, f.bodylen) == -1 ||
		    (f.bodylen > 0 && fc->k->data(fc->k->arg, f.body,
		    f.bodylen) == -1))
			return ims_fail(s, IMAP_E_LOCAL, "UID FETCH: storing "
			    "UID %u", f.uid);
	}
	if (fc->k->end(fc->k->arg, f.uid) == -1)
		return ims_fail(s, IMAP_E_LOCAL, "UID FETCH: storing UID %u",
		    f.uid);
	ims_deadline_more(s, 0);
	return 1;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int
ims_fetch(struct imap *s, const uint32_t *uids, size_t n,
    const struct imap_sink *k)
{
	struct fetch_ctx	 fc;
	uint32_t		*u;
	char			*cmd;
	size_t			 i, j, m, from, len;
	int			 r = -1;

	if (!s->selected)
		return ims_fail(s, IMAP_E_USAGE, "UID FETCH: no mailbox "
		    "selected");
	if (n == 0)
		return 0;
	u = xreallocarray(NULL, n, sizeof *u);
	memcpy(u, uids, n * sizeof *u);
	qsort(u, n, sizeof *u, cmp_u32);
	for (i = m = 0; i < n; i++) {
		if (u[i] == 0) {
			free(u);
			return ims_fail(s, IMAP_E_USAGE, "UID FETCH: UID 0");
		}
		if (m == 0 || u[m - 1] != u[i])
			u[m++] = u[i];
	}
	memset(&fc, 0, sizeof fc);
	fc.k = k;
	fc.uids = u;
	fc.n = m;
	fc.seen = xcalloc(m, 1);
	cmd = xmalloc(IMAP_CMD_MAX + 64);
	s->sink = k;
	/* The uid-set in ranges, cut into commands of IMAP_CMD_MAX. */
	for (from = 0; from < m; ) {
		len = (size_t)snprintf(cmd, IMAP_CMD_MAX, "UID FETCH ");
		for (i = from; i < m && len < IMAP_CMD_MAX - 64; i = j) {
			for (j = i + 1; j < m && u[j] == u[j - 1] + 1; j++)
				;
			len += (size_t)snprintf(cmd + len, IMAP_CMD_MAX - len,
			    j - i > 1 ? "%s%u:%u" : "%s%u",
			    i > from ? "," : "", u[i], u[j - 1]);
		}
		snprintf(cmd + len, IMAP_CMD_MAX + 64 - len,
		    " (UID BODY.PEEK[])");
		from = i;
		ims_deadline_start(s, 0);
		if (ims_send(s, cmd, NULL) == -1 ||
		    ims_wait(s, "UID FETCH", fetch_resp, &fc) == -1)
			goto out;
		if (s->resp.status != IMAP_S_OK) {
			ims_refused(s, "UID FETCH", IMAP_E_REFUSED);
			goto out;
		}
	}
	r = 0;
out:
	s->sink = NULL;
	free(cmd);
	free(fc.seen);
	free(u);
	return r;
}

/* ---- SEARCH --------------------------------------------------------- */

struct search_ctx {
	uint32_t	*out;
	size_t		 max;
	size_t		 stored;	/* min(count, max) */
	uint64_t	 count;
};

static int
search_resp(struct imap *s, void *arg)
{
	struct search_ctx	*sc = arg;
	const struct imap_resp	*r = &s->resp;
	struct imap_esearch	 e;
	const char		*p, *end;
	uint32_t		 lo, hi;
	uint64_t		 v;
	size_t			 got;
	int			 x;

	if (r->status != IMAP_S_NONE || r->has_num)
		return 0;
	if (r->keywordlen == 6 && strncasecmp(r->keyword, "SEARCH", 6) == 0) {
		if (imap_parse_search(r->rest, r->restlen,
		    sc->out + sc->stored, sc->max - sc->stored, &got) == -1)
			return ims_fail(s, IMAP_E_PROTO, "UID SEARCH: bad "
			    "SEARCH response");
		sc->count += got;
		sc->stored += got < sc->max - sc->stored ? got :
		    sc->max - sc->stored;
		return 1;
	}
	if (r->keywordlen != 7 || strncasecmp(r->keyword, "ESEARCH", 7) != 0)
		return 0;
	if (imap_parse_esearch(r->rest, r->restlen, &e) == -1)
		return ims_fail(s, IMAP_E_PROTO, "UID SEARCH: bad ESEARCH "
		    "response");
	if (e.tag != NULL && (e.taglen != strlen(s->tag) ||
	    memcmp(e.tag, s->tag, e.taglen) != 0))
		return 1;		/* another command's */
	if (e.all == NULL)
		return 1;
	p = e.all;
	end = e.all + e.alllen;
	while ((x = imap_seqset_next(&p, end, &lo, &hi)) == 1) {
		for (v = lo; v <= hi && sc->stored < sc->max; v++)
			sc->out[sc->stored++] = (uint32_t)v;
		sc->count += (uint64_t)hi - lo + 1;
	}
	return x == -1 ? ims_fail(s, IMAP_E_PROTO, "UID SEARCH: bad "
	    "ESEARCH set") : 1;
}

int
ims_search(struct imap *s, const char *criteria, uint32_t *out,
    size_t max, size_t *count)
{
	struct search_ctx	 sc;
	char			*cmd;
	size_t			 n = strlen(criteria);
	int			 r;

	*count = 0;
	if (!s->selected)
		return ims_fail(s, IMAP_E_USAGE, "UID SEARCH: no mailbox "
		    "selected");
	if (strpbrk(criteria, "\r\n") != NULL || n == 0 ||
	    n > IMAP_CMD_MAX)
		return ims_fail(s, IMAP_E_USAGE, "UID SEARCH: bad criteria");
	memset(&sc, 0, sizeof sc);
	sc.out = out;
	sc.max = max;
	cmd = xmalloc(n + 32);
	/* ESEARCH: the answer is a compact set however many match. */
	snprintf(cmd, n + 32, "UID SEARCH %s%s",
	    (s->caps.flags & IMAP_CAP_ESEARCH) ? "RETURN (ALL) " : "",
	    criteria);
	r = ims_simple(s, cmd, "UID SEARCH", IMAP_E_REFUSED, search_resp,
	    &sc);
	free(cmd);
	if (r == -1)
		return -1;
	*count = sc.count > SIZE_MAX ? SIZE_MAX : (size_t)sc.count;
	return 0;
}
