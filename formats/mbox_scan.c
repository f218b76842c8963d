/*
 * mbox_scan.c -- reading a whole mbox folder without the index, for
 * "popvault index rebuild": every message with the location mbox.c gave
 * it ("FILE:MEMBER:OFFSET:LENGTH:FLAGS"), and each file's committed
 * length and Content-Length traps (the volume's priv). Also the traps
 * string both sides use.
 *
 * A file is read as mbox.c wrote it: a gzip file member by member (one
 * member per committed batch), a plain file as one stream. In that
 * stream every line starting with "From " is a separator (mboxrd quotes
 * every other one), and a message is
 *
 *   From_ line, the quoted message, [\n if it had no final newline], \n
 *
 * followed, where a separator or the end of a batch would have fallen
 * on a Content-Length trap, by one more \n (mbox.c: a "trap" is where a
 * forged Content-Length makes mutt look for the next separator). Which
 * of the newlines at the end of a stored message are its own, which the
 * trailer and which padding is decided by replaying the writer: the
 * traps are computed as mbox.c computes them (the header's end, its
 * Content-Length, the file's earlier traps), so a padding line is
 * recognised where mbox.c would have written one.
 *
 * What the bytes cannot tell: a message without a final newline ("n":
 * "text" stored as "text\n\n") and one that ends in a newline ("text\n"
 * stored the same way) are identical in the file. The scan gives the
 * second reading (flag "-"): POP3 cannot deliver a message without a
 * final newline (docs/decisions.md), so every fetched message is read
 * back exactly; an imported one without it comes back with one newline
 * more (docs/decisions.md, "Rebuilding the index").
 *
 * Committed length: a gzip file up to the end of its last complete
 * member, a plain file up to the end of its last complete message. What
 * follows (an interrupted batch) is skipped; the next run's recovery
 * moves it to quarantine. The scan itself writes nothing.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <zlib.h>

#include "format.h"
#include "mbox.h"
#include "util.h"

#define MS_BUF		65536
#define MS_LINE_MAX	1024	/* core/hdr.h HDR_LINE_MAX */
#define MS_VALUE_MAX	998	/* core/hdr.h HDR_VALUE_MAX */

void
mbox_traps_format(const uint64_t *traps, size_t n, uint64_t utotal,
    char *out, size_t len)
{
	size_t	i, o;
	int	w;

	w = snprintf(out, len, "u=%" PRIu64 " t=", utotal);
	o = w > 0 ? (size_t)w : 0;
	for (i = 0; i < n && o < len; i++) {
		if (traps[i] < utotal)
			continue;	/* passed: harmless now */
		w = snprintf(out + o, len - o, "%s%" PRIu64,
		    out[o - 1] == '=' ? "" : ",", traps[i]);
		if (w < 0 || (size_t)w >= len - o)
			break;
		o += (size_t)w;
	}
}

size_t
mbox_traps_parse(const char *s, uint64_t *traps, uint64_t *utotal)
{
	const char	*p;
	char		*end;
	size_t		 n = 0;

	*utotal = 0;
	if ((p = strstr(s, "u=")) != NULL)
		*utotal = strtoull(p + 2, NULL, 10);
	if ((p = strstr(s, "t=")) == NULL)
		return 0;
	p += 2;
	while (*p >= '0' && *p <= '9' && n < MBOX_NTRAPS) {
		traps[n++] = strtoull(p, &end, 10);
		p = *end == ',' ? end + 1 : end;
	}
	return n;
}

/*
 * The Content-Length the pipeline gives the writer (core/batch.c,
 * content_length(), over core/hdr.c's scan), found the same way: header
 * lines of at most MS_LINE_MAX bytes kept, the header ends at the first
 * empty line (or a lone CR), the first Content-Length field only, its
 * folded lines appended, the value cut at MS_VALUE_MAX bytes.
 */
struct mclen {
	int	done;			/* past the header */
	int	have, cur;		/* the field seen; being continued */
	int	cut;
	size_t	linelen, vlen;
	char	line[MS_LINE_MAX];
	char	val[MS_VALUE_MAX];
};

static void
mclen_append(struct mclen *c, const char *p, size_t n)
{
	if (n > MS_VALUE_MAX - c->vlen)
		n = MS_VALUE_MAX - c->vlen;
	memcpy(c->val + c->vlen, p, n);
	c->vlen += n;
}

static void
mclen_line(struct mclen *c, const char *p, size_t n)
{
	const char	*colon, *v;
	size_t		 namelen;

	if (n > 0 && (p[0] == ' ' || p[0] == '\t')) {
		if (c->cur)
			mclen_append(c, p, n);
		return;
	}
	c->cur = 0;
	if ((colon = memchr(p, ':', n)) == NULL)
		return;
	namelen = (size_t)(colon - p);
	while (namelen > 0 && (p[namelen - 1] == ' ' ||
	    p[namelen - 1] == '\t'))
		namelen--;
	if (namelen != 14 || strncasecmp(p, "content-length", 14) != 0 ||
	    c->have)
		return;
	c->have = c->cur = 1;
	v = colon + 1;
	n -= (size_t)(v - p);
	while (n > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	mclen_append(c, v, n);
}

static void
mclen_feed(struct mclen *c, const char *p, size_t n)
{
	const char	*nl;
	size_t		 seg, k;

	while (!c->done && n > 0) {
		nl = memchr(p, '\n', n);
		seg = nl != NULL ? (size_t)(nl - p) : n;
		k = seg;
		if (k > MS_LINE_MAX - c->linelen) {
			k = MS_LINE_MAX - c->linelen;
			c->cut = 1;
		}
		memcpy(c->line + c->linelen, p, k);
		c->linelen += k;
		if (nl == NULL)
			return;
		p += seg + 1;
		n -= seg + 1;
		k = c->linelen;
		if (!c->cut && k > 0 && c->line[k - 1] == '\r')
			k--;
		if (k == 0 && !c->cut)
			c->done = 1;
		else
			mclen_line(c, c->line, k);
		c->linelen = 0;
		c->cut = 0;
	}
}

/* The value as core/batch.c reads it: -1 absent or not a number. */
static int64_t
mclen_value(const struct mclen *c)
{
	size_t	i = 0;
	int64_t	n = 0;

	if (!c->have)
		return -1;
	while (i < c->vlen && (c->val[i] == ' ' || c->val[i] == '\t'))
		i++;
	if (i == c->vlen)
		return -1;
	for (; i < c->vlen && c->val[i] >= '0' && c->val[i] <= '9'; i++) {
		if (n > (INT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (c->val[i] - '0');
	}
	return n;
}

/* The scan of one file. */
struct mscan {
	const struct fmt_scan	*s;
	struct fmt		*f;
	const char		*name;
	int			 gz;
	int			 stop;		/* a callback said -1 */
	/* The member (gzip) or file being read. */
	uint64_t		 member;	/* its offset in the file */
	uint64_t		 ubase;		/* uncompressed bytes before it */
	uint64_t		 pos;		/* offset in its bytes */
	int			 bol;
	size_t			 fk;		/* "From " matched at BOL */
	int			 bad;		/* bytes not in our layout */
	/* The message being read (a region: From_ line to the next). */
	int			 in;
	uint64_t		 rstart;
	int			 in_fline;	/* in its From_ line */
	uint64_t		 j;		/* newlines ending it so far */
	int			 core;		/* anything but newlines */
	int			 have_hend;
	uint64_t		 hend;		/* the writer's header end */
	uint64_t		 held;		/* newlines not given yet */
	uint64_t		 total;		/* unquoted bytes */
	struct mbox_unq		 unq;
	struct mclen		 cl;
	/* The writer's traps, absolute uncompressed offsets. */
	uint64_t		 traps[MBOX_NTRAPS];
	size_t			 ntraps;
	uint64_t		 good;		/* end of the last message */
	uint64_t		 nmsg;
};

static void
ms_skip(struct mscan *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
ms_skip(struct mscan *m, const char *fmt, ...)
{
	va_list	ap;
	char	what[512];
	int	n;

	n = snprintf(what, sizeof what, "mbox/%s: ", m->name);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof what)
		vsnprintf(what + n, sizeof what - (size_t)n, fmt, ap);
	va_end(ap);
	if (m->s->skip != NULL)
		m->s->skip(m->s->arg, what);
}

static int
ms_give(struct mscan *m, const void *p, size_t n)
{
	if (m->stop || n == 0)
		return m->stop ? -1 : 0;
	if (m->s->data(m->s->arg, p, n) == -1)
		m->stop = 1;
	return m->stop ? -1 : 0;
}

static int
ms_give_newlines(struct mscan *m, uint64_t n)
{
	static const char	nl[64] = "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n"
	    "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n"
	    "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n";
	size_t			k;

	while (n > 0) {
		k = n < sizeof nl ? (size_t)n : sizeof nl;
		if (ms_give(m, nl, k) == -1)
			return -1;
		n -= k;
	}
	return 0;
}

/*
 * The unquoter's output: the message, then the trailer and padding. A
 * run of newlines is held back until something else follows, since the
 * last of them are not the message's.
 */
static int
ms_unq_cb(void *arg, const void *p, size_t n)
{
	struct mscan	*m = arg;
	const char	*s = p;
	size_t		 k = n;

	if (!m->cl.done)
		mclen_feed(&m->cl, s, n);
	m->total += n;
	while (k > 0 && s[k - 1] == '\n')
		k--;
	if (k == 0) {
		m->held += n;
		return 0;
	}
	if (ms_give_newlines(m, m->held) == -1 || ms_give(m, s, k) == -1)
		return -1;
	m->held = n - k;
	return 0;
}

static int
ms_is_trap(const struct mscan *m, uint64_t abs, size_t except)
{
	size_t	i;

	for (i = 0; i < m->ntraps; i++)
		if (m->traps[i] == abs && i != except)
			return 1;
	return 0;
}

static void
ms_region_begin(struct mscan *m)
{
	m->in = 1;
	m->rstart = m->pos;
	m->in_fline = 1;
	m->j = 0;
	m->core = 0;
	m->have_hend = 0;
	m->held = 0;
	m->total = 0;
	memset(&m->unq, 0, sizeof m->unq);
	m->unq.cb = ms_unq_cb;
	m->unq.arg = m;
	memset(&m->cl, 0, sizeof m->cl);
	if (!m->stop && m->s->begin(m->s->arg) == -1)
		m->stop = 1;
}

/*
 * The region [rstart, e) ends: is it a message, and where does it end?
 * Replays mbox.c: the message's own trap (its Content-Length, counted
 * from the end of its header) joins the file's; a separator at a trap
 * was pushed one line down by a padding newline (two at a batch's end:
 * mb_sync(), then the next mb_begin()).
 */
static int
ms_region_end(struct mscan *m, uint64_t e, int eof)
{
	uint64_t	 here = 0, abs_e = m->ubase + e, own = 0;
	size_t		 ownidx = (size_t)-1, i, n;
	int64_t		 clen;
	int		 k, ok = 0, has_own = 0;
	char		 loc[256];

	if (!m->in)
		return 0;
	m->in = 0;
	if (m->stop)
		return -1;
	/* At the end of a plain file, ms_plain() says it (the tail). */
	if (m->in_fline) {
		if (!eof || m->gz)
			ms_skip(m, "bytes from offset %" PRIu64 " are a From_ "
			    "line cut short, not a message", m->rstart);
		m->bad = 1;
		return 0;
	}
	clen = mclen_value(&m->cl);
	for (k = 2; k >= 0; k--) {
		if (m->j < (uint64_t)k + (m->core ? 2 : 1))
			continue;
		here = abs_e - (uint64_t)k;
		/* Its header ended inside the message: its trap counts. */
		has_own = m->have_hend && m->ubase + m->hend + 1 < here &&
		    clen > 0 && m->ntraps < MBOX_NTRAPS;
		own = has_own ? m->ubase + m->hend + 1 + (uint64_t)clen + 1 :
		    0;
		/*
		 * Padded at here: a trap there (not its own, which mb_end()
		 * drops); twice: at here+1 too (any, its own included).
		 */
		if (k == 0 || (ms_is_trap(m, here, (size_t)-1) && (k == 1 ||
		    ms_is_trap(m, here + 1, (size_t)-1) || (has_own &&
		    own == here + 1)))) {
			ok = 1;
			break;
		}
	}
	if (!ok) {
		if (!eof || m->gz)
			ms_skip(m, "bytes from offset %" PRIu64 " are a "
			    "message cut short", m->rstart);
		m->bad = 1;
		return 0;
	}
	if (has_own) {
		m->traps[m->ntraps] = own;
		ownidx = m->ntraps++;
	}
	/* The message's own newlines, then its end. */
	if (ms_give_newlines(m, m->j - 1 - (uint64_t)k) == -1)
		return -1;
	if (m->gz)
		n = (size_t)snprintf(loc, sizeof loc, "%s:%" PRIu64 ":%" PRIu64
		    ":%" PRIu64 ":-", m->name, m->member, m->rstart,
		    here - (m->ubase + m->rstart));
	else
		n = (size_t)snprintf(loc, sizeof loc, "%s:0:%" PRIu64 ":%"
		    PRIu64 ":-", m->name, m->rstart, here - m->rstart);
	if (n >= sizeof loc) {
		ms_skip(m, "a location too long at offset %" PRIu64,
		    m->rstart);
		return 0;
	}
	if (m->s->end(m->s->arg, loc, m->total - 1 - (uint64_t)k) == -1) {
		m->stop = 1;
		return -1;
	}
	m->nmsg++;
	/* mb_end(): traps behind us go, as does its own at the next line. */
	for (i = 0, n = 0; i < m->ntraps; i++)
		if (m->traps[i] > here || (m->traps[i] == here &&
		    i != ownidx))
			m->traps[n++] = m->traps[i];
	m->ntraps = n;
	m->good = e;
	return 0;
}

/* Bytes of a line that is not a separator. */
static int
ms_content(struct mscan *m, const unsigned char *p, size_t n, int bol)
{
	if (!m->in) {
		/* Before the first separator: padding newlines only. */
		if (!(bol && n == 1 && p[0] == '\n') && !m->bad) {
			ms_skip(m, "bytes at offset %" PRIu64 " are not a "
			    "message", m->pos);
			m->bad = 1;
		}
		m->pos += n;
		return 0;
	}
	if (m->in_fline) {
		if (p[n - 1] == '\n')
			m->in_fline = 0;
	} else if (bol && n == 1 && p[0] == '\n') {
		/* An empty line: mb_write()'s end of the header. */
		if (!m->have_hend) {
			m->have_hend = 1;
			m->hend = m->pos;
		}
		m->j++;
	} else {
		m->core = 1;
		m->j = p[n - 1] == '\n';
	}
	m->pos += n;
	if (mbox_unq_feed(&m->unq, p, n) == -1)
		return -1;
	return m->stop ? -1 : 0;
}

/* The bytes of a member (gzip) or of a plain file, in order. */
static int
ms_feed(struct mscan *m, const unsigned char *p, size_t n)
{
	static const char	 from[] = "From ";
	const unsigned char	*nl;
	size_t			 seg;

	while (n > 0) {
		if (m->bol && m->fk < 5) {
			if (*p == (unsigned char)from[m->fk]) {
				m->fk++;
				p++;
				n--;
				if (m->fk < 5)
					continue;
				/* A separator: a message begins. */
				if (ms_region_end(m, m->pos, 0) == -1)
					return -1;
				ms_region_begin(m);
				if (ms_content(m, (const unsigned char *)from,
				    5, 1) == -1)
					return -1;
				m->bol = 0;
				continue;
			}
			/* Not a separator: what was held is text. */
			if (m->fk > 0) {
				if (ms_content(m, (const unsigned char *)from,
				    m->fk, 0) == -1)
					return -1;
				m->bol = 0;
				m->fk = 0;
				continue;
			}
			if (*p == '\n') {
				if (ms_content(m, p, 1, 1) == -1)
					return -1;
				p++;
				n--;
				continue;
			}
			m->bol = 0;
		}
		nl = memchr(p, '\n', n);
		seg = nl != NULL ? (size_t)(nl - p) + 1 : n;
		if (ms_content(m, p, seg, 0) == -1)
			return -1;
		p += seg;
		n -= seg;
		if (nl != NULL) {
			m->bol = 1;
			m->fk = 0;
		}
	}
	return 0;
}

/* The end of a member or plain file at offset pos of its bytes. */
static int
ms_stream_end(struct mscan *m)
{
	if (m->bol && m->fk > 0 && ms_content(m,
	    (const unsigned char *)"From ", m->fk, 0) == -1)
		return -1;
	m->fk = 0;
	return ms_region_end(m, m->pos, 1);
}

static void
ms_stream_start(struct mscan *m, uint64_t member, uint64_t ubase)
{
	m->member = member;
	m->ubase = ubase;
	m->pos = 0;
	m->bol = 1;
	m->fk = 0;
	m->in = 0;
}

static int
ms_vol(struct mscan *m, uint64_t length, uint64_t utotal)
{
	struct fmt_vol	v;

	memset(&v, 0, sizeof v);
	snprintf(v.name, sizeof v.name, "%s", m->name);
	v.length = length;
	mbox_traps_format(m->traps, m->ntraps, utotal, v.priv,
	    sizeof v.priv);
	if (m->s->vol(m->s->arg, &v) == -1) {
		m->stop = 1;
		return -1;
	}
	return 0;
}

static int
ms_plain(struct mscan *m, int fd, uint64_t size)
{
	unsigned char	*buf = xmalloc(MS_BUF);
	ssize_t		 k;
	int		 r = 0;

	ms_stream_start(m, 0, 0);
	for (;;) {
		k = read(fd, buf, MS_BUF);
		if (k == -1 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if ((r = ms_feed(m, buf, (size_t)k)) == -1)
			break;
	}
	free(buf);
	if (r == -1)
		return -1;
	if (k == -1)
		return fmt_fail(m->f, "mbox/%s: %s", m->name, strerror(errno));
	if (ms_stream_end(m) == -1)
		return -1;
	if (m->good < size)
		ms_skip(m, "%" PRIu64 " bytes from offset %" PRIu64 " are not "
		    "a complete message; left out of the committed length, "
		    "for the next run's recovery to move to quarantine",
		    size - m->good, m->good);
	/* Plain: the traps count in file offsets (mb_open_file()). */
	return ms_vol(m, m->good, m->good);
}

/*
 * The complete members of a gzip file: their offsets, one past the end
 * of the last one in *end. Only these are read; a member cut short (an
 * interrupted batch) and anything after it are not committed.
 */
static int
ms_members(struct mscan *m, int fd, uint64_t **offs, size_t *n,
    uint64_t *end)
{
	z_stream	 zs;
	unsigned char	*in = xmalloc(MS_BUF), *out = xmalloc(MS_BUF);
	uint64_t	 fpos = 0, start = 0;
	size_t		 cap = 0;
	ssize_t		 k;
	int		 zr = Z_OK, inmember = 0, r = 0;

	*offs = NULL;
	*n = 0;
	*end = 0;
	memset(&zs, 0, sizeof zs);
	if (inflateInit2(&zs, 15 + 16) != Z_OK) {
		free(in);
		free(out);
		return fmt_fail(m->f, "zlib: inflateInit2 failed");
	}
	for (;;) {
		if (zs.avail_in == 0) {
			do {
				k = pread(fd, in, MS_BUF, (off_t)fpos);
			} while (k == -1 && errno == EINTR);
			if (k == -1) {
				r = fmt_fail(m->f, "mbox/%s: %s", m->name,
				    strerror(errno));
				break;
			}
			if (k == 0)
				break;
			fpos += (uint64_t)k;
			zs.next_in = in;
			zs.avail_in = (uInt)k;
		}
		if (!inmember) {
			start = fpos - zs.avail_in;
			inmember = 1;
		}
		zs.next_out = out;
		zs.avail_out = MS_BUF;
		zr = inflate(&zs, Z_NO_FLUSH);
		if (zr == Z_STREAM_END) {
			if (*n == cap) {
				cap = cap ? cap * 2 : 64;
				*offs = xreallocarray(*offs, cap,
				    sizeof **offs);
			}
			(*offs)[(*n)++] = start;
			*end = fpos - zs.avail_in;
			inmember = 0;
			if (inflateReset(&zs) != Z_OK)
				break;
		} else if (zr != Z_OK && zr != Z_BUF_ERROR)
			break;
		else if (zr == Z_BUF_ERROR && zs.avail_in != 0)
			break;
	}
	inflateEnd(&zs);
	free(in);
	free(out);
	return r;
}

/* Read the member at off (complete, as ms_members() found it). */
static int
ms_member(struct mscan *m, int fd, uint64_t off)
{
	z_stream	 zs;
	unsigned char	*in = xmalloc(MS_BUF), *out = xmalloc(MS_BUF);
	uint64_t	 fpos = off;
	ssize_t		 k;
	int		 zr, r = -1;

	memset(&zs, 0, sizeof zs);
	if (inflateInit2(&zs, 15 + 16) != Z_OK) {
		free(in);
		free(out);
		return fmt_fail(m->f, "zlib: inflateInit2 failed");
	}
	for (;;) {
		if (zs.avail_in == 0) {
			do {
				k = pread(fd, in, MS_BUF, (off_t)fpos);
			} while (k == -1 && errno == EINTR);
			if (k <= 0) {
				fmt_fail(m->f, "mbox/%s: %s", m->name, k == 0 ?
				    "the file changed while it was read" :
				    strerror(errno));
				break;
			}
			fpos += (uint64_t)k;
			zs.next_in = in;
			zs.avail_in = (uInt)k;
		}
		zs.next_out = out;
		zs.avail_out = MS_BUF;
		zr = inflate(&zs, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
			fmt_fail(m->f, "mbox/%s: the file changed while it "
			    "was read", m->name);
			break;
		}
		if (ms_feed(m, out, MS_BUF - zs.avail_out) == -1)
			break;
		if (zr == Z_STREAM_END) {
			r = 0;
			break;
		}
	}
	inflateEnd(&zs);
	free(in);
	free(out);
	return r;
}

static int
ms_gzip(struct mscan *m, int fd, uint64_t size)
{
	uint64_t	*offs, end, ubase = 0;
	size_t		 n, i;
	int		 r = 0;

	if (ms_members(m, fd, &offs, &n, &end) == -1)
		return -1;
	for (i = 0; r == 0 && i < n; i++) {
		ms_stream_start(m, offs[i], ubase);
		if ((r = ms_member(m, fd, offs[i])) == 0)
			r = ms_stream_end(m);
		/*
		 * mb_sync(): the member's traps before its end are gone,
		 * and the rest go through the priv string.
		 */
		if (r == 0) {
			char	priv[sizeof ((struct fmt_vol *)0)->priv];

			ubase += m->pos;
			mbox_traps_format(m->traps, m->ntraps, ubase, priv,
			    sizeof priv);
			m->ntraps = mbox_traps_parse(priv, m->traps, &ubase);
		}
	}
	free(offs);
	if (r == -1)
		return -1;
	if (end < size)
		ms_skip(m, "%" PRIu64 " bytes from offset %" PRIu64 " are not "
		    "a complete gzip member; left out of the committed "
		    "length, for the next run's recovery to move to "
		    "quarantine", size - end, end);
	return ms_vol(m, end, ubase);
}

static int
ms_file(int dirfd, const char *name, const struct fmt_scan *s,
    struct fmt *f)
{
	struct mscan	*m;
	struct stat	 sb;
	size_t		 n = strlen(name);
	int		 fd, r;

	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || fstat(fd, &sb) == -1 ||
	    !S_ISREG(sb.st_mode)) {
		if (fd != -1)
			close(fd);
		return fmt_fail(f, "mbox/%s: %s", name, fd == -1 ?
		    strerror(errno) : "not a regular file");
	}
	m = xcalloc(1, sizeof *m);
	m->s = s;
	m->f = f;
	m->name = name;
	m->gz = n > 3 && strcmp(name + n - 3, ".gz") == 0;
	r = m->gz ? ms_gzip(m, fd, (uint64_t)sb.st_size) :
	    ms_plain(m, fd, (uint64_t)sb.st_size);
	close(fd);
	free(m);
	return r;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every file of ours, by name (by month: the order they were written). */
int
mbox_scan(int dirfd, const struct fmt_scan *s, struct fmt *f)
{
	struct dirent	*de;
	DIR		*d;
	char		**names = NULL;
	size_t		 n = 0, cap = 0, i;
	int		 fd, r = 0;

	if ((fd = dup(dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return fmt_fail(f, "mbox folder: %s", strerror(errno));
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (!mbox_is_ours(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			names = xreallocarray(names, cap, sizeof *names);
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof *names, name_cmp);
	for (i = 0; i < n; i++) {
		if (r == 0)
			r = ms_file(dirfd, names[i], s, f);
		free(names[i]);
	}
	free(names);
	return r;
}
