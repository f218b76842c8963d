/*
 * mboxparse.c -- reading mbox files other programs wrote: the separator
 * scanner and the unquoting filter of mboxparse.h. Both keep at most a
 * line head (MBOXSCAN_LINE, MBOXUNQ_HOLD) of state, so a message of any
 * size, and a line of any length, streams through.
 */
#include <stdint.h>
#include <string.h>

#include "mboxparse.h"

static const char *const wdays[] = {
	"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"
};
static const char *const months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
	"Nov", "Dec"
};

static int
is_word(const char *p, const char *const *w, size_t nw)
{
	size_t	i;

	for (i = 0; i < nw; i++)
		if (memcmp(p, w[i], 3) == 0)
			return 1;
	return 0;
}

static int
digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * "From SENDER Www Mmm [ ]d hh:mm...": somewhere after "From ", a
 * weekday, a month, a day of one or two digits and a time. The sender
 * may hold spaces (quoted local parts), so the date is searched for.
 */
int
mbox_from_dated(const char *line, size_t len)
{
	size_t	i, j;

	if (len < 5 || memcmp(line, "From ", 5) != 0)
		return 0;
	for (i = 5; i + 15 <= len; i++) {
		if (!is_word(line + i, wdays, 7) || line[i + 3] != ' ')
			continue;
		j = i + 4;
		while (j < len && line[j] == ' ')
			j++;
		if (j + 3 > len || !is_word(line + j, months, 12) ||
		    j + 3 >= len || line[j + 3] != ' ')
			continue;
		j += 4;
		while (j < len && line[j] == ' ')
			j++;
		if (j < len && digit(line[j]))
			j++;
		else
			continue;
		if (j < len && digit(line[j]))
			j++;
		if (j + 6 > len || line[j] != ' ' || !digit(line[j + 1]) ||
		    !digit(line[j + 2]) || line[j + 3] != ':' ||
		    !digit(line[j + 4]) || !digit(line[j + 5])) {
			/* "Www Mmm dd" and the time may be a digit short. */
			if (j + 5 <= len && line[j] == ' ' &&
			    digit(line[j + 1]) && line[j + 2] == ':' &&
			    digit(line[j + 3]) && digit(line[j + 4]))
				return 1;
			continue;
		}
		return 1;
	}
	return 0;
}

void
mboxscan_init(struct mboxscan *s, const struct mboxscan_cb *cb)
{
	memset(s, 0, sizeof *s);
	s->cb = *cb;
	s->at_start = 1;
	s->blank = 1;		/* the start of the input counts as one */
}

static int
ci_prefix(const char *p, size_t n, const char *pre)
{
	size_t	k = strlen(pre), i;

	if (n < k)
		return 0;
	for (i = 0; i < k; i++) {
		char	c = p[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != pre[i])
			return 0;
	}
	return 1;
}

/* Content-Length: value, or -1. */
static int64_t
clen_value(const char *p, size_t n)
{
	size_t		i = 15;
	uint64_t	v = 0;
	int		any = 0;

	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	for (; i < n && digit(p[i]); i++) {
		if (v > (UINT64_C(1) << 50))
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0');
		any = 1;
	}
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
	    p[i] == '\n'))
		i++;
	return any && i == n ? (int64_t)v : -1;
}

/*
 * A line ended (complete: with its newline, or the input's end) or its
 * head filled line[]: what it is. The line's bytes go out after a
 * separator's sep().
 */
static void
line_done(struct mboxscan *s, const char *p, size_t n, int complete)
{
	size_t	len = n;
	int64_t	v;
	int	is_sep = 0;

	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	if (n >= 5 && memcmp(p, "From ", 5) == 0) {
		if (s->line_off == 0 && !s->started)
			is_sep = 1;
		else if (complete && mbox_from_dated(p, len))
			is_sep = 1;
		else if (s->blank && s->cb.bad_from != NULL)
			s->cb.bad_from(s->cb.arg, s->line_off);
	}
	if (is_sep) {
		s->cb.sep(s->cb.arg, s->line_off, s->blank);
		s->started = 1;
		s->in_head = 1;
	} else if (s->in_head && complete && ci_prefix(p, n,
	    "content-length:") && (v = clen_value(p, n)) >= 0 &&
	    s->cb.clen != NULL)
		s->cb.clen(s->cb.arg, (uint64_t)v);
	if (n > 0)
		s->cb.bytes(s->cb.arg, p, n);
}

/* The current line (ending at s->off) was complete: was it empty? */
static void
line_end(struct mboxscan *s, int empty)
{
	s->blank = empty;
	s->at_start = 1;
	if (s->in_head && empty) {
		s->in_head = 0;
		if (s->cb.body != NULL)
			s->cb.body(s->cb.arg, s->off);
	}
}

void
mboxscan_feed(struct mboxscan *s, const char *p, size_t n)
{
	const char	*q;
	size_t		 k, room;

	while (n > 0) {
		if (s->at_start) {
			s->at_start = 0;
			s->line_off = s->off;
			s->held = 0;
			s->empty = 1;
			/* Held: what may be a separator or a header. */
			s->hold = p[0] == 'F' || p[0] == 'C' || p[0] == 'c';
			if (s->hold)
				s->empty = 0;
		}
		if (s->hold) {
			room = sizeof s->line - s->held;
			k = n < room ? n : room;
			q = memchr(p, '\n', k);
			if (q != NULL)
				k = (size_t)(q - p) + 1;
			memcpy(s->line + s->held, p, k);
			s->held += k;
			s->off += k;
			p += k;
			n -= k;
			if (q != NULL) {
				s->hold = 0;
				line_done(s, s->line, s->held, 1);
				line_end(s, 0);
			} else if (s->held == sizeof s->line) {
				/* Too long for a separator or a header. */
				s->hold = 0;
				line_done(s, s->line, s->held, 0);
			}
			continue;
		}
		q = memchr(p, '\n', n);
		k = q != NULL ? (size_t)(q - p) + 1 : n;
		if (s->empty) {
			/* Empty so far: only CRs (a CRLF file's "\r\n"). */
			size_t	i, stop = q != NULL ? k - 1 : k;

			for (i = 0; i < stop; i++)
				if (p[i] != '\r')
					break;
			if (i < stop)
				s->empty = 0;
		}
		s->cb.bytes(s->cb.arg, p, k);
		s->off += k;
		p += k;
		n -= k;
		if (q != NULL)
			line_end(s, s->empty);
	}
}

void
mboxscan_end(struct mboxscan *s)
{
	if (s->hold && s->held > 0) {
		s->hold = 0;
		line_done(s, s->line, s->held, 1);
	}
}

/* ---- unquoting ------------------------------------------------------ */

void
mboxunq_init(struct mboxunq *u, int unquote, int crlf,
    int (*out)(void *, const char *, size_t), void *arg)
{
	memset(u, 0, sizeof *u);
	u->out = out;
	u->arg = arg;
	u->unquote = unquote;
	u->crlf = crlf;
	u->at_start = 1;
}

/*
 * The held line start: ">" (one or more) and maybe the start of
 * "From ". 1: it can still become a quoted From line; 0: it cannot.
 */
static int
held_open(const struct mboxunq *u)
{
	size_t	i = 0, k;

	while (i < u->held && u->hold[i] == '>')
		i++;
	if (i == u->held)
		return i <= MBOXUNQ_HOLD;
	k = u->held - i;
	return k < 5 && memcmp(u->hold + i, "From ", k) == 0;
}

/* Send the held bytes: without the first ">" when they quote "From ". */
static int
held_flush(struct mboxunq *u)
{
	size_t	i = 0, n = u->held;

	u->held = 0;
	while (i < n && u->hold[i] == '>')
		i++;
	if (i > 0 && n - i >= 5 && memcmp(u->hold + i, "From ", 5) == 0)
		return u->out(u->arg, u->hold + 1, n - 1);
	return n > 0 ? u->out(u->arg, u->hold, n) : 0;
}

/* The unquoting stage, fed LF-ended lines. */
static int
unq(struct mboxunq *u, const char *p, size_t n)
{
	const char	*q;
	size_t		 k;

	if (!u->unquote)
		return n > 0 ? u->out(u->arg, p, n) : 0;
	while (n > 0) {
		if (u->at_start || u->held > 0) {
			if (u->at_start && p[0] != '>') {
				u->at_start = 0;
				continue;
			}
			u->at_start = 0;
			/* Hold while it may still be ">...From ". */
			u->hold[u->held++] = p[0];
			p++;
			n--;
			if (!held_open(u) || u->held >= MBOXUNQ_HOLD + 5) {
				int	nl = u->hold[u->held - 1] == '\n';

				if (held_flush(u) == -1)
					return -1;
				u->at_start = nl;
			}
			continue;
		}
		q = memchr(p, '\n', n);
		k = q != NULL ? (size_t)(q - p) + 1 : n;
		if (u->out(u->arg, p, k) == -1)
			return -1;
		p += k;
		n -= k;
		u->at_start = q != NULL;
	}
	return 0;
}

int
mboxunq_feed(struct mboxunq *u, const char *p, size_t n)
{
	const char	*q;
	size_t		 k;

	if (!u->crlf)
		return unq(u, p, n);
	while (n > 0) {
		if (u->cr) {
			u->cr = 0;
			if (p[0] == '\n') {
				if (unq(u, "\n", 1) == -1)
					return -1;
				p++;
				n--;
				continue;
			}
			if (unq(u, "\r", 1) == -1)
				return -1;
			continue;
		}
		q = memchr(p, '\r', n);
		if (q == NULL)
			return unq(u, p, n);
		k = (size_t)(q - p);
		if (k > 0 && unq(u, p, k) == -1)
			return -1;
		u->cr = 1;
		p += k + 1;
		n -= k + 1;
	}
	return 0;
}

int
mboxunq_end(struct mboxunq *u)
{
	if (u->cr) {
		u->cr = 0;
		if (unq(u, "\r", 1) == -1)
			return -1;
	}
	return u->held > 0 ? held_flush(u) : 0;
}

/* ---- what a file holds ---------------------------------------------- */

enum mbox_kind
mbox_sniff(const char *p, size_t n)
{
	size_t	i;

	if (n >= 5 && memcmp(p, "From ", 5) == 0)
		return MBOX_KIND_MBOX;
	/* A field name: printable ASCII but ":", then ":" (RFC 5322 2.2). */
	for (i = 0; i < n && i < 998; i++) {
		unsigned char	c = (unsigned char)p[i];

		if (c == ':')
			return i > 0 ? MBOX_KIND_MESSAGE : MBOX_KIND_NONE;
		if (c < 33 || c > 126)
			return MBOX_KIND_NONE;
	}
	return MBOX_KIND_NONE;
}

int
mbox_crlf(const char *p, size_t n)
{
	const char	*q = p, *end = p + n;
	int		 lines = 0;

	while ((q = memchr(q, '\n', (size_t)(end - q))) != NULL) {
		if (q == p || q[-1] != '\r')
			return 0;
		lines++;
		q++;
	}
	return lines > 0;
}
