/*
 * pop3parse.c -- pure parsers for POP3 responses (RFC 1939, 2449, 3206).
 *
 * Every function here takes bytes and a length and returns a verdict:
 * no allocation, no I/O, no locale, and no strlen() on server data,
 * which may hold NULs. Outputs are written only on success.
 *
 * Numbers are read strictly: ASCII digits only, no sign, no space and no
 * leading zero except in "0" itself. RFC 1939 never pads numbers, so
 * "01" is taken as a broken server rather than guessed at; and with no
 * leading zeros a digit string has exactly one meaning, which matters
 * when message numbers become part of an archive's index. Every number
 * is range-checked as it is read, so nothing can overflow.
 *
 * dot_feed() is on the hot path of every RETR: inside a line it finds
 * the next CR with memchr() and copies the run before it with memcpy();
 * only line starts and CRs go through the state machine byte by byte.
 */

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pop3parse.h"

static int		 dec_parse(const char *, size_t, uint64_t, uint64_t *);
static int		 ci_eq(const char *, size_t, const char *, size_t);
static enum pop3_rcode	 rcode_parse(const char *, size_t);
static int		 num_pair(const char *, size_t, uint64_t, uint64_t *,
			    uint64_t *);
static int		 capa_value(const char *, size_t, int, int *);
static void		 capa_sasl(const char *, size_t, struct pop3_caps *);

/* A string literal and its length, for the tables below. */
#define LIT(s)	s, sizeof(s) - 1

/*
 * Parse the decimal s/len into *v: digits only, no leading zero unless
 * the number is "0", value at most max. Returns 0, or -1 (and *v is
 * untouched) on an empty string, any other byte, or a value above max.
 */
static int
dec_parse(const char *s, size_t len, uint64_t max, uint64_t *v)
{
	uint64_t	n = 0;
	unsigned	d;
	size_t		i;

	if (len == 0 || (len > 1 && s[0] == '0'))
		return (-1);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		d = (unsigned)(s[i] - '0');
		/* n * 10 + d > max, asked without overflowing. */
		if (n > (max - d) / 10)
			return (-1);
		n = n * 10 + d;
	}
	*v = n;
	return (0);
}

/* Is a/alen equal to the upper-case ASCII literal lit/litlen, ignoring
 * ASCII case? Not tolower(): that would depend on the locale. */
static int
ci_eq(const char *a, size_t alen, const char *lit, size_t litlen)
{
	size_t	i;
	char	c;

	if (alen != litlen)
		return (0);
	for (i = 0; i < alen; i++) {
		c = a[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c != lit[i])
			return (0);
	}
	return (1);
}

/*
 * The response code at the start of -ERR text t/len. RFC 2449 section 3:
 *	resp-code  = "[" resp-level *("/" resp-level) "]"
 *	resp-level = 1*rchar
 *	rchar      = %x21-2E / %x30-5C / %x5E-7F
 * Section 8 makes codes hierarchical and tells clients to ignore detail
 * they do not know, so "[SYS/TEMP/DISK]" is SYS/TEMP. Anything that is
 * not a resp-code (no "]", an empty level, a space) is no code at all.
 */
static enum pop3_rcode
rcode_parse(const char *t, size_t len)
{
	static const struct {
		const char	*name;
		size_t		 len;
		enum pop3_rcode	 rc;
	} codes[] = {
		{ LIT("IN-USE"),	POP3_RC_IN_USE },
		{ LIT("LOGIN-DELAY"),	POP3_RC_LOGIN_DELAY },
		{ LIT("SYS/TEMP"),	POP3_RC_SYS_TEMP },
		{ LIT("SYS/PERM"),	POP3_RC_SYS_PERM },
		{ LIT("AUTH"),		POP3_RC_AUTH },
	};
	const char	*code, *end;
	size_t		 clen, i, n;
	unsigned char	 c;

	if (len < 2 || t[0] != '[')
		return (POP3_RC_NONE);
	if ((end = memchr(t + 1, ']', len - 1)) == NULL)
		return (POP3_RC_NONE);
	code = t + 1;
	clen = (size_t)(end - code);
	if (clen == 0 || code[0] == '/' || code[clen - 1] == '/')
		return (POP3_RC_NONE);
	for (i = 0; i < clen; i++) {
		c = (unsigned char)code[i];
		if (c == '/' && i > 0 && code[i - 1] == '/')
			return (POP3_RC_NONE);
		if (c < 0x21 || c > 0x7f)
			return (POP3_RC_NONE);
	}
	for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		n = codes[i].len;
		if (clen < n || (clen > n && code[n] != '/'))
			continue;
		if (ci_eq(code, n, codes[i].name, n))
			return (codes[i].rc);
	}
	return (POP3_RC_OTHER);
}

int
pop3_parse_status(const char *line, size_t len, struct pop3_status *st)
{
	size_t	w, skip;
	int	ok;

	if (len >= 3 && memcmp(line, "+OK", 3) == 0) {
		ok = 1;
		w = 3;
	} else if (len >= 4 && memcmp(line, "-ERR", 4) == 0) {
		ok = 0;
		w = 4;
	} else
		return (-1);
	/* RFC 2449 section 3: single-line = status [SP text] CRLF */
	if (len > w && line[w] != ' ')
		return (-1);
	skip = len > w ? w + 1 : w;
	st->ok = ok;
	st->text = line + skip;
	st->textlen = len - skip;
	st->rcode = ok ? POP3_RC_NONE : rcode_parse(st->text, st->textlen);
	return (0);
}

int
pop3_parse_uidl(const char *line, size_t len, uint32_t *num,
    const char **uid, size_t *uidlen)
{
	const char	*sp, *u;
	uint64_t	 n;
	size_t		 ulen, i;

	if (len == 0 || (sp = memchr(line, ' ', len)) == NULL)
		return (-1);
	if (dec_parse(line, (size_t)(sp - line), POP3_MSGNUM_MAX, &n) == -1 ||
	    n == 0)
		return (-1);
	/* RFC 1939 section 7: unique-id is 1 to 70 octets of 0x21..0x7E. A
	 * second space, a trailing space or a tab all fail here. */
	u = sp + 1;
	ulen = len - (size_t)(u - line);
	if (ulen == 0 || ulen > POP3_UIDL_MAX)
		return (-1);
	for (i = 0; i < ulen; i++)
		if ((unsigned char)u[i] < 0x21 || (unsigned char)u[i] > 0x7e)
			return (-1);
	*num = (uint32_t)n;
	*uid = u;
	*uidlen = ulen;
	return (0);
}

/*
 * "a SP b" followed by nothing or by a space and anything (RFC 1939
 * section 5 allows more after the size in both STAT and LIST replies).
 * a is at most amax, b at most INT64_MAX. Returns 0 or -1.
 */
static int
num_pair(const char *s, size_t len, uint64_t amax, uint64_t *a, uint64_t *b)
{
	const char	*sp, *bs, *be;
	uint64_t	 x, y;

	if (len == 0 || (sp = memchr(s, ' ', len)) == NULL)
		return (-1);
	if (dec_parse(s, (size_t)(sp - s), amax, &x) == -1)
		return (-1);
	bs = sp + 1;
	if ((be = memchr(bs, ' ', len - (size_t)(bs - s))) == NULL)
		be = s + len;
	if (dec_parse(bs, (size_t)(be - bs), INT64_MAX, &y) == -1)
		return (-1);
	*a = x;
	*b = y;
	return (0);
}

int
pop3_parse_list(const char *line, size_t len, uint32_t *num, uint64_t *size)
{
	uint64_t	n, sz;

	if (num_pair(line, len, POP3_MSGNUM_MAX, &n, &sz) == -1 || n == 0)
		return (-1);
	*num = (uint32_t)n;
	*size = sz;
	return (0);
}

int
pop3_parse_stat(const char *text, size_t len, uint32_t *count,
    uint64_t *size)
{
	uint64_t	n, sz;

	/* An empty maildrop is "+OK 0 0": a count of 0 is fine here. */
	if (num_pair(text, len, POP3_MSGNUM_MAX, &n, &sz) == -1)
		return (-1);
	*count = (uint32_t)n;
	*size = sz;
	return (0);
}

/*
 * The argument of EXPIRE or LOGIN-DELAY (RFC 2449 sections 6.5, 6.7):
 * a number of days or seconds, or "NEVER" if never_ok (stored as -1),
 * then optionally " USER" (the value may differ per user; before login
 * it is the default). Returns 0 with *v set, or -1.
 */
static int
capa_value(const char *a, size_t len, int never_ok, int *v)
{
	const char	*sp;
	size_t		 vlen = len;
	uint64_t	 n;

	if (len > 0 && (sp = memchr(a, ' ', len)) != NULL) {
		vlen = (size_t)(sp - a);
		if (!ci_eq(sp + 1, len - vlen - 1, LIT("USER")))
			return (-1);
	}
	if (never_ok && ci_eq(a, vlen, LIT("NEVER"))) {
		*v = -1;
		return (0);
	}
	if (dec_parse(a, vlen, INT_MAX, &n) == -1)
		return (-1);
	*v = (int)n;
	return (0);
}

/* Fold the mechanisms of a "SASL" line, space-separated, into caps. */
static void
capa_sasl(const char *a, size_t len, struct pop3_caps *caps)
{
	static const struct {
		const char	*name;
		size_t		 len;
		unsigned	 bit;
	} mechs[] = {
		{ LIT("PLAIN"),		POP3_SASL_PLAIN },
		{ LIT("LOGIN"),		POP3_SASL_LOGIN },
		{ LIT("CRAM-MD5"),	POP3_SASL_CRAM_MD5 },
		{ LIT("SCRAM-SHA-1"),	POP3_SASL_SCRAM_SHA_1 },
		{ LIT("SCRAM-SHA-256"),	POP3_SASL_SCRAM_SHA_256 },
		{ LIT("XOAUTH2"),	POP3_SASL_XOAUTH2 },
		{ LIT("OAUTHBEARER"),	POP3_SASL_OAUTHBEARER },
	};
	const char	*end = a + len, *sp;
	size_t		 tlen, i;

	while (a < end) {
		if ((sp = memchr(a, ' ', (size_t)(end - a))) == NULL)
			sp = end;
		tlen = (size_t)(sp - a);
		for (i = 0; i < sizeof mechs / sizeof mechs[0]; i++)
			if (ci_eq(a, tlen, mechs[i].name, mechs[i].len))
				caps->sasl |= mechs[i].bit;
		a = sp < end ? sp + 1 : end;
	}
}

int
pop3_size_plausible(uint64_t listed, uint64_t got)
{
	uint64_t	tol = 256 + got / 8;

	if (listed >= UINT32_MAX)
		return got >= UINT32_MAX / 2;
	if (got > UINT64_MAX / 4)
		return 0;
	return listed + tol >= got && listed <= 2 * got + tol;
}

int
pop3_parse_capa_line(const char *line, size_t len, struct pop3_caps *caps)
{
	static const struct {
		const char	*name;
		size_t		 len;
		unsigned	 flag;
	} simple[] = {
		{ LIT("UIDL"),		 POP3_CAP_UIDL },
		{ LIT("TOP"),		 POP3_CAP_TOP },
		{ LIT("USER"),		 POP3_CAP_USER },
		{ LIT("STLS"),		 POP3_CAP_STLS },
		{ LIT("PIPELINING"),	 POP3_CAP_PIPELINING },
		{ LIT("RESP-CODES"),	 POP3_CAP_RESP_CODES },
		{ LIT("AUTH-RESP-CODE"), POP3_CAP_AUTH_RESP_CODE },
		{ LIT("UTF8"),		 POP3_CAP_UTF8 },
	};
	const char	*sp, *arg;
	size_t		 tlen, alen, i;
	int		 v;

	/* RFC 2449 section 3: capability = capa-tag *(SP param) CRLF */
	if (len == 0)
		return (0);
	if ((sp = memchr(line, ' ', len)) == NULL) {
		tlen = len;
		arg = line + len;
		alen = 0;
	} else {
		tlen = (size_t)(sp - line);
		arg = sp + 1;
		alen = len - tlen - 1;
	}
	for (i = 0; i < sizeof simple / sizeof simple[0]; i++) {
		if (ci_eq(line, tlen, simple[i].name, simple[i].len)) {
			caps->flags |= simple[i].flag;
			return (0);
		}
	}
	if (ci_eq(line, tlen, LIT("SASL"))) {
		caps->flags |= POP3_CAP_SASL;
		capa_sasl(arg, alen, caps);
	} else if (ci_eq(line, tlen, LIT("EXPIRE"))) {
		if (capa_value(arg, alen, 1, &v) == 0) {
			caps->flags |= POP3_CAP_EXPIRE;
			caps->expire_days = v;
		}
	} else if (ci_eq(line, tlen, LIT("LOGIN-DELAY"))) {
		if (capa_value(arg, alen, 0, &v) == 0) {
			caps->flags |= POP3_CAP_LOGIN_DELAY;
			caps->login_delay = v;
		}
	}
	return (0);
}

/*
 * Decoder states. CR and DOTCR owe a CR to the output: whether it is
 * written depends on the next byte. HELD owes one ordinary byte, kept in
 * bits 8..15 of st; see dot_feed() for why.
 */
enum {
	DS_BOL = 0,	/* at a line start: initially and after CRLF only */
	DS_MID,		/* inside a line */
	DS_CR,		/* a CR was the last byte, not written yet */
	DS_DOT,		/* "." at a line start, not written yet */
	DS_DOTCR,	/* ".\r" at a line start, not written yet */
	DS_DONE,	/* the terminator was consumed */
	DS_HELD		/* inside a line, one byte owed to the output */
};

void
dot_init(struct dot_state *ds)
{
	ds->st = DS_BOL;
}

/*
 * Output bound: every consumed byte writes at most one byte, but the CR
 * owed by DS_CR or DS_DOTCR is written only once its next byte is seen,
 * perhaps in a later call; so a call that starts owing a byte and saves
 * nothing (no CRLF, no stuffing dot, nothing left owed) would write
 * inlen + 1 bytes: ".\r" then "x" gives "\rx". Counting, at any point
 * o + owed <= owed_at_start + i, which leaves room for everything except
 * possibly the last byte of a run copied in DS_MID at the very end of
 * the input. That one byte, if it does not fit, is owed instead
 * (DS_HELD) and written first by the next call; a held byte is always
 * followed by input before any terminator, so it never gets lost.
 */
int
dot_feed(struct dot_state *ds, const char *in, size_t inlen, char *out,
    size_t *outlen, size_t *consumed)
{
	const char	*cr;
	size_t		 i = 0, o = 0, run, room;
	int		 st = ds->st & 0xff;

	if (st == DS_DONE) {
		*outlen = *consumed = 0;
		return (1);
	}
	if (st == DS_HELD) {
		if (inlen == 0) {
			*outlen = *consumed = 0;
			return (0);
		}
		out[o++] = (char)(ds->st >> 8);
		st = DS_MID;
	}
	while (i < inlen) {
		switch (st) {
		case DS_BOL:
			/* RFC 1939 section 3: a line starting with "." is
			 * byte-stuffed, unless it is the terminator. */
			if (in[i] == '.') {
				i++;
				st = DS_DOT;
			} else
				st = DS_MID;
			break;
		case DS_MID:
			cr = memchr(in + i, '\r', inlen - i);
			run = (cr != NULL ? (size_t)(cr - in) : inlen) - i;
			room = inlen - o;
			if (run > room) {
				/* Only when cr == NULL, by one byte. */
				memcpy(out + o, in + i, room);
				o += room;
				i += room;
				ds->st = DS_HELD | (unsigned char)in[i] << 8;
				*outlen = o;
				*consumed = i + 1;
				return (0);
			}
			memcpy(out + o, in + i, run);
			o += run;
			i += run;
			if (cr != NULL) {
				i++;
				st = DS_CR;
			}
			break;
		case DS_CR:
			if (in[i] == '\n') {
				out[o++] = '\n';
				i++;
				st = DS_BOL;
			} else {
				/* A bare CR, kept. Another CR stays owed;
				 * anything else goes through DS_MID. */
				out[o++] = '\r';
				if (in[i] == '\r')
					i++;
				else
					st = DS_MID;
			}
			break;
		case DS_DOT:
			if (in[i] == '\r') {
				i++;
				st = DS_DOTCR;
			} else
				st = DS_MID;	/* the dot is dropped */
			break;
		case DS_DOTCR:
			if (in[i] == '\n') {
				ds->st = DS_DONE;
				*outlen = o;
				*consumed = i + 1;
				return (1);
			}
			/* ".\r" then not LF: the dot is dropped and the CR is
			 * owed exactly as in DS_CR. */
			st = DS_CR;
			break;
		default:
			/* Not reached unless dot_init() was skipped; never
			 * loop without consuming. */
			st = DS_BOL;
			break;
		}
	}
	ds->st = st;
	*outlen = o;
	*consumed = i;
	return (0);
}

int
pop3_is_terminator(const char *line, size_t len)
{
	return (len == 1 && line[0] == '.');
}

size_t
pop3_unstuff_line(const char **line, size_t len)
{
	if (len > 0 && (*line)[0] == '.') {
		(*line)++;
		return (len - 1);
	}
	return (len);
}

int
pop3_apop_stamp(const char *text, size_t len, const char **ts,
    size_t *tslen)
{
	size_t		i, j, at = 0, nat, start = 0, slen = 0;
	unsigned char	c;
	int		found = 0;

	for (i = 0; i < len; i++) {
		if (text[i] != '<')
			continue;
		nat = 0;
		for (j = i + 1; j < len; j++) {
			c = (unsigned char)text[j];
			if (c == '<' || c == '>' || c < 0x21 || c > 0x7e)
				break;
			if (c == '@') {
				nat++;
				at = j;
			}
		}
		if (j < len && text[j] == '>' && nat == 1 && at > i + 1 &&
		    at + 1 < j) {
			/* Two stamps: which one would the server hash? */
			if (found++)
				return (-1);
			start = i;
			slen = j + 1 - i;
		}
		/* Go on from the byte that ended this one: it may be "<". */
		i = j - 1;
	}
	if (!found)
		return (-1);
	*ts = text + start;
	*tslen = slen;
	return (0);
}
