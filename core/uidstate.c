/*
 * uidstate.c -- the UID state files of mpop, getmail6 and fetchmail;
 * see uidstate.h for the formats and what is taken, skipped or refused.
 *
 * Each parser walks the buffer a line at a time (a line ends at '\n';
 * a last line without one counts; a '\r' before the '\n' is dropped, so
 * that a file copied from Windows reads the same) and keeps nothing but
 * the current line's position and the account it is in. Each reads the
 * file as the tool itself does (mpop 1.4 uidls.c, getmail6 6.18
 * _retrieverbases.py, fetchmail 6.4 uid.c), so that the UIDs taken are
 * the ones the tool would consider retrieved.
 *
 * uidstate_read_file() is the only function here that does I/O: it
 * reads one file whole (at most UIDSTATE_FILE_MAX bytes) and gives it to
 * uidstate_parse(), or finds the account's file in a folder.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "uidstate.h"
#include "util.h"

static const char *const tool_names[UIDSTATE_NTOOLS] = {
	"mpop", "getmail", "fetchmail"
};

/* The state of one parse. */
struct pst {
	const char		*name;		/* the file, for messages */
	const char		*host, *user;	/* asked for; NULL: any */
	int			 user_nocase;
	uidstate_cb		 cb;
	void			*arg;
	struct uidstate_stats	*st;
	char			*err;
	size_t			 errlen;
	size_t			 records;	/* lines in the tool's form */
	int			 pair;		/* index in st->pairs, or -1 */
};

/* One line of the buffer: [p, p + len), its number. */
struct line {
	const char	*p;
	size_t		 len;
	size_t		 no;
};

int
uidstate_tool_find(const char *word, enum uidstate_tool *tool)
{
	int	i;

	if (strcmp(word, "getmail6") == 0) {
		*tool = UIDSTATE_GETMAIL;
		return 0;
	}
	for (i = 0; i < UIDSTATE_NTOOLS; i++)
		if (strcmp(word, tool_names[i]) == 0) {
			*tool = (enum uidstate_tool)i;
			return 0;
		}
	return -1;
}

const char *
uidstate_tool_name(enum uidstate_tool tool)
{
	if ((int)tool < 0 || tool >= UIDSTATE_NTOOLS)
		return "?";
	return tool_names[tool];
}

static int
fail(struct pst *p, size_t lineno, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct pst *p, size_t lineno, const char *fmt, ...)
{
	char	why[256];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	if (lineno > 0)
		snprintf(p->err, p->errlen, "%s:%zu: %s", p->name, lineno, why);
	else
		snprintf(p->err, p->errlen, "%s: %s", p->name, why);
	return -1;
}

/* Remember the first skipped line's reason. */
static void
note_skip(struct pst *p, size_t lineno, const char *why)
{
	if (p->st->first_skip[0] == '\0')
		snprintf(p->st->first_skip, sizeof p->st->first_skip,
		    "%s:%zu: %s", p->name, lineno, why);
}

/*
 * Copy n bytes of file text into dst (size UIDSTATE_NAME_MAX + 1), cut,
 * each control or non-ASCII byte shown as '?': it is printed in
 * messages.
 */
static void
copy_name(char *dst, const char *src, size_t n)
{
	size_t	i;

	if (n > UIDSTATE_NAME_MAX)
		n = UIDSTATE_NAME_MAX;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = c < 0x20 || c > 0x7e ? '?' : (char)c;
	}
	dst[n] = '\0';
}

/* The account host/user in st->pairs: its index, or -1 if no room. */
static int
pair_note(struct uidstate_stats *st, const char *h, size_t hlen,
    const char *u, size_t ulen)
{
	char	host[UIDSTATE_NAME_MAX + 1], user[UIDSTATE_NAME_MAX + 1];
	size_t	i;

	/* Whole arrays are copied below: no stack bytes in the stats. */
	memset(host, 0, sizeof host);
	memset(user, 0, sizeof user);
	copy_name(host, h, hlen);
	copy_name(user, u, ulen);
	for (i = 0; i < st->npairs; i++)
		if (strcmp(st->pairs[i].host, host) == 0 &&
		    strcmp(st->pairs[i].user, user) == 0)
			return (int)i;
	if (st->npairs == UIDSTATE_NPAIRS) {
		st->more_pairs = 1;
		return -1;
	}
	memcpy(st->pairs[i].host, host, sizeof host);
	memcpy(st->pairs[i].user, user, sizeof user);
	st->pairs[i].uids = 0;
	st->npairs++;
	return (int)i;
}

/* Whether the file's account h/u is the one asked for. */
static int
matches(const struct pst *p, const char *h, size_t hlen, const char *u,
    size_t ulen)
{
	if (p->host != NULL && (strlen(p->host) != hlen ||
	    strncasecmp(p->host, h, hlen) != 0))
		return 0;
	if (p->user == NULL)
		return 1;
	if (strlen(p->user) != ulen)
		return 0;
	if (p->user_nocase)
		return strncasecmp(p->user, u, ulen) == 0;
	return memcmp(p->user, u, ulen) == 0;
}

/* RFC 1939 section 7: 1 to 70 characters in 0x21..0x7E. */
static const char *
uid_problem(const char *uid, size_t len)
{
	size_t	i;

	if (len == 0)
		return "empty UID";
	if (len > UIDSTATE_UID_MAX)
		return "UID longer than 70 characters (RFC 1939)";
	for (i = 0; i < len; i++)
		if ((unsigned char)uid[i] < 0x21 ||
		    (unsigned char)uid[i] > 0x7e)
			return "UID with a space, control or 8-bit character "
			    "(RFC 1939)";
	return NULL;
}

/*
 * One recorded UID of the current account (match: the one asked for).
 * 0, or UIDSTATE_STOPPED when the callback says stop.
 */
static int
take(struct pst *p, size_t lineno, int match, const char *uid, size_t len,
    int64_t when)
{
	char		 buf[UIDSTATE_UID_MAX + 1];
	const char	*why;

	if (p->pair >= 0)
		p->st->pairs[p->pair].uids++;
	if (!match) {
		p->st->other++;
		return 0;
	}
	if ((why = uid_problem(uid, len)) != NULL) {
		p->st->baduid++;
		note_skip(p, lineno, why);
		return 0;
	}
	memcpy(buf, uid, len);
	buf[len] = '\0';
	if (p->cb(p->arg, buf, len, when) != 0)
		return UIDSTATE_STOPPED;
	p->st->taken++;
	return 0;
}

/*
 * The next line from *off: 1 with l filled in (no '\n', no '\r' before
 * it), or 0 at the end.
 */
static int
next_line(const char *buf, size_t len, size_t *off, struct line *l)
{
	const char	*nl;
	size_t		 n;

	if (*off >= len)
		return 0;
	l->p = buf + *off;
	nl = memchr(l->p, '\n', len - *off);
	n = nl != NULL ? (size_t)(nl - l->p) : len - *off;
	*off += n + (nl != NULL);
	if (n > 0 && l->p[n - 1] == '\r')
		n--;
	l->len = n;
	l->no++;
	return 1;
}

/* What a file looks like, for the messages of a refused one. */
static const char *
looks_like(const char *buf, size_t len)
{
	static const char mpop_head[] = "# This file was generated by mpop";
	const char	*nl, *at;
	size_t		 n;

	if (len >= sizeof mpop_head - 1 &&
	    memcmp(buf, mpop_head, sizeof mpop_head - 1) == 0)
		return " (it looks like an mpop UIDLs file)";
	nl = memchr(buf, '\n', len);
	n = nl != NULL ? (size_t)(nl - buf) : len;
	if (n > 0 && memchr(buf, '\0', n) != NULL)
		return " (it looks like a getmail oldmail file)";
	if ((at = memchr(buf, '@', n)) != NULL &&
	    memchr(at, ' ', n - (size_t)(at - buf)) != NULL)
		return " (it looks like a fetchmail .fetchids file)";
	return "";
}

/* A NUL byte in a text file: refused, on its line. */
static int
check_nul(struct pst *p, enum uidstate_tool tool, const char *buf,
    size_t len)
{
	const char	*z, *q;
	size_t		 lineno = 1;

	if ((z = memchr(buf, '\0', len)) == NULL)
		return 0;
	for (q = buf; (q = memchr(q, '\n', (size_t)(z - q))) != NULL; q++)
		lineno++;
	return fail(p, lineno, "a NUL byte: not %s's file%s",
	    uidstate_tool_name(tool), looks_like(buf, len));
}

/*
 * mpop: "#" comments before the first other line only (a UID may start
 * with '#'), then blocks of " N HOST USER" and N UID lines.
 */
static int
parse_mpop(struct pst *p, const char *buf, size_t len)
{
	struct line	 l = { NULL, 0, 0 };
	const char	*q, *end, *host, *user;
	size_t		 off = 0, remain = 0, n, hlen, ulen;
	int		 comments = 1, match = 0, r;
	unsigned long long announced = 0;

	if (check_nul(p, UIDSTATE_MPOP, buf, len) == -1)
		return -1;
	while (next_line(buf, len, &off, &l)) {
		if (comments && l.len > 0 && l.p[0] == '#')
			continue;
		comments = 0;
		if (remain > 0) {
			if (l.len > 0 && l.p[0] == ' ')
				return fail(p, l.no, "too few UIDs for the "
				    "account above (%llu announced, %llu "
				    "given)", announced,
				    announced - (unsigned long long)remain);
			if ((r = take(p, l.no, match, l.p, l.len, -1)) != 0)
				return r;
			remain--;
			p->records++;
			continue;
		}
		/* " N HOST USER" */
		if (l.len == 0 || l.p[0] != ' ')
			return fail(p, l.no, "a UID before any account line "
			    "(\" COUNT HOST USER\")%s", looks_like(buf, len));
		end = l.p + l.len;
		q = l.p + 1;
		n = 0;
		announced = 0;
		while (q < end && *q >= '0' && *q <= '9') {
			if (announced > 1000000000000ULL)
				return fail(p, l.no, "count of UIDs too "
				    "large");
			announced = announced * 10 + (unsigned)(*q - '0');
			q++;
			n++;
		}
		if (n == 0 || announced == 0 || q == end || *q != ' ')
			return fail(p, l.no, "invalid number of UIDs in "
			    "the account line");
		host = ++q;
		while (q < end && *q != ' ')
			q++;
		hlen = (size_t)(q - host);
		if (hlen == 0 || q == end)
			return fail(p, l.no, "invalid or missing host name");
		user = ++q;
		ulen = (size_t)(end - user);
		if (ulen == 0 || memchr(user, ' ', ulen) != NULL)
			return fail(p, l.no, "invalid or missing user name");
		match = matches(p, host, hlen, user, ulen);
		p->pair = pair_note(p->st, host, hlen, user, ulen);
		remain = (size_t)announced;
		if ((unsigned long long)remain != announced)
			return fail(p, l.no, "count of UIDs too large");
	}
	if (remain > 0)
		return fail(p, l.no, "too few UIDs for the last account "
		    "(%llu announced, %llu given)", announced,
		    announced - (unsigned long long)remain);
	return 0;
}

static int
is_strip_space(unsigned char c)
{
	/* What Python's str.strip() drops, in ASCII. */
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c &&
	    c <= 0x1f);
}

/*
 * A decimal time as getmail writes it (Python's int() reads it, so a
 * sign is allowed): 0 with *when (-1 if negative), or -1.
 */
static int
parse_when(const char *s, size_t len, int64_t *when)
{
	size_t	i = 0;
	int64_t	v = 0;
	int	neg = 0;

	if (len > 0 && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		i++;
	}
	if (i == len || len - i > 18)
		return -1;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*when = neg ? -1 : v;
	return 0;
}

/*
 * getmail6: lines "UID\0SECONDS", stripped of white space around them;
 * a line without a NUL or with a time that is no number is skipped, as
 * getmail does. A UID with '/' is an IMAP one ("UIDVALIDITY/UID"):
 * getmail writes '-' for '/' in POP3 UIDs.
 */
static int
parse_getmail(struct pst *p, const char *buf, size_t len)
{
	struct line	 l = { NULL, 0, 0 };
	const char	*s, *e, *z;
	size_t		 off = 0;
	int64_t		 when;
	int		 r;

	while (next_line(buf, len, &off, &l)) {
		s = l.p;
		e = l.p + l.len;
		while (s < e && is_strip_space((unsigned char)*s))
			s++;
		while (e > s && is_strip_space((unsigned char)e[-1]))
			e--;
		if (s == e)
			continue;
		if ((z = memchr(s, '\0', (size_t)(e - s))) == NULL) {
			p->st->malformed++;
			note_skip(p, l.no, "no NUL between UID and time");
			continue;
		}
		if (parse_when(z + 1, (size_t)(e - z - 1), &when) == -1) {
			p->st->malformed++;
			note_skip(p, l.no, "the time is not a number");
			continue;
		}
		if (memchr(s, '/', (size_t)(z - s)) != NULL)
			return fail(p, l.no, "a UID with '/': an IMAP "
			    "folder's oldmail file, not a POP3 account's");
		p->records++;
		if ((r = take(p, l.no, 1, s, (size_t)(z - s), when)) != 0)
			return r;
	}
	return 0;
}

/*
 * fetchmail: "USER@HOST UID". As fetchmail 6.4 reads it: leading blanks
 * skipped; the first '@', then the first space after it ends USER@HOST
 * (blanks before it dropped), whose last '@' splits USER from HOST (a
 * user may hold spaces and '@'); the UID follows the spaces and ends at
 * a blank. Anything after the UID is ignored; a line without an '@'
 * and a space after it is skipped.
 */
static int
parse_fetchmail(struct pst *p, const char *buf, size_t len)
{
	struct line	 l = { NULL, 0, 0 };
	const char	*s, *e, *at, *sp, *uh, *id, *idend, *host;
	size_t		 off = 0;
	int		 r, match;

	if (check_nul(p, UIDSTATE_FETCHMAIL, buf, len) == -1)
		return -1;
	while (next_line(buf, len, &off, &l)) {
		s = l.p;
		e = l.p + l.len;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		if (s == e)
			continue;
		if ((at = memchr(s, '@', (size_t)(e - s))) == NULL ||
		    (sp = memchr(at, ' ', (size_t)(e - at))) == NULL) {
			p->st->malformed++;
			note_skip(p, l.no, "not \"USER@HOST UID\"");
			continue;
		}
		uh = sp;
		while (uh > s && (uh[-1] == ' ' || uh[-1] == '\t'))
			uh--;
		id = sp;
		while (id < e && *id == ' ')
			id++;
		idend = id;
		while (idend < e && *idend != ' ' && *idend != '\t')
			idend++;
		host = uh;
		while (host > s && host[-1] != '@')
			host--;
		/* at <= uh - 1, so an '@' is found; host follows it. */
		match = matches(p, host, (size_t)(uh - host), s,
		    (size_t)(host - 1 - s));
		p->pair = pair_note(p->st, host, (size_t)(uh - host), s,
		    (size_t)(host - 1 - s));
		p->records++;
		if ((r = take(p, l.no, match, id, (size_t)(idend - id),
		    -1)) != 0)
			return r;
	}
	return 0;
}

/* The parse, adding to *st (uidstate_read_file() reads several files). */
static int
parse_into(enum uidstate_tool tool, const char *name, const char *buf,
    size_t len, const char *host, const char *user, uidstate_cb cb,
    void *arg, struct uidstate_stats *st, char *err, size_t errlen)
{
	struct pst	p;
	int		r;

	memset(&p, 0, sizeof p);
	p.name = name;
	p.host = host;
	p.user = user;
	p.user_nocase = tool == UIDSTATE_FETCHMAIL;
	p.cb = cb;
	p.arg = arg;
	p.st = st;
	p.err = err;
	p.errlen = errlen;
	p.pair = -1;
	switch (tool) {
	case UIDSTATE_MPOP:
		r = parse_mpop(&p, buf, len);
		break;
	case UIDSTATE_GETMAIL:
		r = parse_getmail(&p, buf, len);
		break;
	case UIDSTATE_FETCHMAIL:
		r = parse_fetchmail(&p, buf, len);
		break;
	default:
		return fail(&p, 0, "unknown tool");
	}
	if (r != 0)
		return r;
	/* Lines, but none the tool wrote: the wrong file. */
	if (p.records == 0 && st->malformed > 0)
		return fail(&p, 0, "no line in %s's form (%s)%s",
		    uidstate_tool_name(tool), st->first_skip,
		    looks_like(buf, len));
	return 0;
}

int
uidstate_parse(enum uidstate_tool tool, const char *name, const char *buf,
    size_t len, const char *host, const char *user, uidstate_cb cb,
    void *arg, struct uidstate_stats *st, char *err, size_t errlen)
{
	memset(st, 0, sizeof *st);
	if (tool == UIDSTATE_GETMAIL)
		host = user = NULL;
	return parse_into(tool, name, buf, len, host, user, cb, arg, st,
	    err, errlen);
}

/* s[0..n) equals name with getmail's [/\:;<>|]+ -> '-' (case: nocase). */
static int
getmail_eq(const char *s, size_t n, const char *name, int nocase)
{
	size_t	i = 0;

	for (; *name != '\0'; name++) {
		if (strchr("/\\:;<>|", *name) != NULL) {
			if (i == n || s[i] != '-')
				return 0;
			i++;
			while (name[1] != '\0' &&
			    strchr("/\\:;<>|", name[1]) != NULL)
				name++;
			continue;
		}
		if (i == n || (nocase ? tolower((unsigned char)s[i]) !=
		    tolower((unsigned char)*name) : s[i] != *name))
			return 0;
		i++;
	}
	return i == n;
}

int
uidstate_getmail_name_matches(const char *base, const char *host,
    const char *user)
{
	static const char pre[] = "oldmail-";
	const char	*s, *q, *d;
	size_t		 n;

	if (strncmp(base, pre, sizeof pre - 1) != 0)
		return 0;
	s = base + sizeof pre - 1;
	n = strlen(s);
	/* Every split HOST-PORT-USER with PORT all digits. */
	for (q = s; (q = strchr(q, '-')) != NULL; q++) {
		if (!getmail_eq(s, (size_t)(q - s), host, 1))
			continue;
		for (d = q + 1; *d >= '0' && *d <= '9'; d++)
			;
		if (d == q + 1 || *d != '-')
			continue;
		if (getmail_eq(d + 1, n - (size_t)(d + 1 - s), user, 0))
			return 1;
	}
	return 0;
}

/*
 * The account a getmail file's name names (for the stats): host and
 * user around the first "-DIGITS-" after "oldmail-". 0, or -1.
 */
static int
getmail_name_split(const char *base, const char **h, size_t *hlen,
    const char **u)
{
	const char	*s, *q, *d;

	if (strncmp(base, "oldmail-", 8) != 0)
		return -1;
	s = base + 8;
	for (q = s; (q = strchr(q, '-')) != NULL; q++) {
		for (d = q + 1; *d >= '0' && *d <= '9'; d++)
			;
		if (d > q + 1 && *d == '-' && q > s && d[1] != '\0') {
			*h = s;
			*hlen = (size_t)(q - s);
			*u = d + 1;
			return 0;
		}
	}
	return -1;
}

/* The whole of a regular file open at fd into *bufp: 0, or -1. */
static int
slurp(int fd, const char *path, const struct stat *sb, char **bufp,
    size_t *lenp, char *err, size_t errlen)
{
	char	*buf;
	size_t	 len = 0, cap;
	ssize_t	 n;

	if ((unsigned long long)sb->st_size > UIDSTATE_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %zu MiB: not a state "
		    "file", path, UIDSTATE_FILE_MAX >> 20);
		return -1;
	}
	/* It may grow while read: one byte more than the cap tells. */
	cap = (size_t)sb->st_size + 1;
	buf = xmalloc(cap);
	for (;;) {
		if (len == cap) {
			if (cap > UIDSTATE_FILE_MAX) {
				snprintf(err, errlen, "%s: larger than %zu "
				    "MiB: not a state file", path,
				    UIDSTATE_FILE_MAX >> 20);
				free(buf);
				return -1;
			}
			cap = cap * 2 > UIDSTATE_FILE_MAX + 1 ?
			    UIDSTATE_FILE_MAX + 1 : cap * 2;
			buf = xreallocarray(buf, cap, 1);
		}
		n = read(fd, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

static const char *
base_name(const char *path)
{
	const char	*b = strrchr(path, '/');

	return b != NULL ? b + 1 : path;
}

/* One regular file, open at fd, parsed into *st. */
static int
read_one(enum uidstate_tool tool, int fd, const char *path,
    const struct stat *sb, const char *host, const char *user,
    uidstate_cb cb, void *arg, struct uidstate_stats *st, char *err,
    size_t errlen)
{
	const char	*base = base_name(path), *h, *u;
	char		*buf;
	size_t		 len, hlen, before;
	int		 r, pi, named;

	if (!S_ISREG(sb->st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	named = tool == UIDSTATE_GETMAIL &&
	    strncmp(base, "oldmail-", 8) == 0;
	if (named && host != NULL && user != NULL &&
	    !uidstate_getmail_name_matches(base, host, user)) {
		snprintf(err, errlen, "%s: the oldmail file of another "
		    "account (getmail names it oldmail-%s-PORT-%s)", path,
		    host, user);
		return -1;
	}
	if (slurp(fd, path, sb, &buf, &len, err, errlen) == -1)
		return -1;
	before = st->taken + st->baduid;
	r = parse_into(tool, path, buf, len, tool == UIDSTATE_GETMAIL ?
	    NULL : host, tool == UIDSTATE_GETMAIL ? NULL : user, cb, arg, st,
	    err, errlen);
	free(buf);
	st->files++;
	if (tool == UIDSTATE_GETMAIL && named) {
		if (host != NULL && user != NULL)
			pi = pair_note(st, host, strlen(host), user,
			    strlen(user));
		else if (getmail_name_split(base, &h, &hlen, &u) == 0)
			pi = pair_note(st, h, hlen, u, strlen(u));
		else
			pi = -1;
		if (pi >= 0)
			st->pairs[pi].uids += st->taken + st->baduid - before;
	}
	return r;
}

/* Up to a few names in dir starting with pre (or holding "_at_"). */
static void
list_names(DIR *d, const char *pre, char *out, size_t outlen)
{
	struct dirent	*de;
	size_t		 n = 0, k = 0;
	int		 more = 0;

	out[0] = '\0';
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (pre != NULL ? strncmp(de->d_name, pre, strlen(pre)) != 0 :
		    strstr(de->d_name, "_at_") == NULL)
			continue;
		if (k++ == 5) {
			more = 1;
			break;
		}
		n += (size_t)snprintf(out + n, outlen - n, "%s%s",
		    n > 0 ? ", " : "", de->d_name);
		if (n >= outlen)
			return;
	}
	if (k == 0)
		snprintf(out, outlen, "none");
	else if (more && n < outlen)
		snprintf(out + n, outlen - n, ", ...");
}

/* A folder: the account's file(s) in it. */
static int
read_dir(enum uidstate_tool tool, int fd, const char *path,
    const char *host, const char *user, uidstate_cb cb, void *arg,
    struct uidstate_stats *st, char *err, size_t errlen)
{
	struct dirent	*de;
	struct stat	 sb;
	DIR		*d;
	char		 sub[4096], names[512];
	int		 ffd, r = 0;

	if (tool == UIDSTATE_FETCHMAIL || host == NULL || user == NULL) {
		snprintf(err, errlen, "%s: a folder: name %s's file", path,
		    tool == UIDSTATE_FETCHMAIL ? "fetchmail" :
		    "the account's");
		close(fd);
		return -1;
	}
	if ((d = fdopendir(fd)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (tool == UIDSTATE_MPOP) {
		/* mpop's default uidls_file: ~/.mpop_uidls/%U_at_%H */
		if (xsnprintf(sub, sizeof sub, "%s/%s_at_%s", path, user,
		    host) == -1) {
			snprintf(err, errlen, "%s: path too long", path);
			closedir(d);
			return -1;
		}
		if ((ffd = open(sub, O_RDONLY | O_CLOEXEC | O_NOCTTY |
		    O_NONBLOCK)) == -1) {
			if (errno == ENOENT) {
				list_names(d, NULL, names, sizeof names);
				snprintf(err, errlen, "%s: no %s_at_%s in "
				    "this folder (mpop's files here: %s)",
				    path, user, host, names);
			} else
				snprintf(err, errlen, "%s: %s", sub,
				    strerror(errno));
			closedir(d);
			return -1;
		}
		if (fstat(ffd, &sb) == -1) {
			snprintf(err, errlen, "%s: %s", sub, strerror(errno));
			r = -1;
		} else
			r = read_one(tool, ffd, sub, &sb, host, user, cb, arg,
			    st, err, errlen);
		close(ffd);
		closedir(d);
		return r;
	}
	/* getmail: every oldmail file of the account, one per port. */
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (!uidstate_getmail_name_matches(de->d_name, host, user))
			continue;
		if (xsnprintf(sub, sizeof sub, "%s/%s", path,
		    de->d_name) == -1) {
			snprintf(err, errlen, "%s: path too long", path);
			r = -1;
			break;
		}
		if ((ffd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC |
		    O_NOCTTY | O_NONBLOCK)) == -1) {
			snprintf(err, errlen, "%s: %s", sub, strerror(errno));
			r = -1;
			break;
		}
		if (fstat(ffd, &sb) == -1) {
			snprintf(err, errlen, "%s: %s", sub, strerror(errno));
			r = -1;
		} else
			r = read_one(tool, ffd, sub, &sb, host, user, cb, arg,
			    st, err, errlen);
		close(ffd);
	}
	if (r == 0 && st->files == 0) {
		list_names(d, "oldmail-", names, sizeof names);
		snprintf(err, errlen, "%s: no oldmail-%s-PORT-%s in this "
		    "folder (oldmail files here: %s)", path, host, user,
		    names);
		r = -1;
	}
	closedir(d);
	return r;
}

int
uidstate_read_file(enum uidstate_tool tool, const char *path,
    const char *host, const char *user, uidstate_cb cb, void *arg,
    struct uidstate_stats *st, char *err, size_t errlen)
{
	struct stat	sb;
	int		fd, r;

	memset(st, 0, sizeof *st);
	if ((int)tool < 0 || tool >= UIDSTATE_NTOOLS) {
		snprintf(err, errlen, "%s: unknown tool", path);
		return -1;
	}
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (S_ISDIR(sb.st_mode))
		return read_dir(tool, fd, path, host, user, cb, arg, st, err,
		    errlen);
	r = read_one(tool, fd, path, &sb, host, user, cb, arg, st, err,
	    errlen);
	close(fd);
	return r;
}
