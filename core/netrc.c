/*
 * netrc.c -- netrc lookup; see netrc.h for the format.
 *
 * The whole file is read (at most NETRC_FILE_MAX) and tokenised, and
 * every entry is parsed even after a match, so that a malformed file
 * is reported the same whichever host is asked for, and so that the
 * permission check knows whether any password is in it. Every buffer
 * that held file bytes is wiped before it is freed.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "netrc.h"
#include "secfile.h"
#include "util.h"

struct lexer {
	const char	*p, *end;
	unsigned	 line;
	const char	*name;
	char		*err;
	size_t		 errlen;
};

/* One entry being read: machine NAME or default. */
struct entry {
	int	kind;		/* E_NONE, E_MACHINE, E_DEFAULT */
	int	host_ok;	/* machine NAME is the host asked for */
	int	has_login, has_password;
	char	login[NETRC_TOKEN_MAX + 1];
	char	password[NETRC_TOKEN_MAX + 1];
};

enum { E_NONE, E_MACHINE, E_DEFAULT };

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\f' || c == '\v';
}

static int
lex_fail(struct lexer *lx, unsigned line, const char *why)
{
	snprintf(lx->err, lx->errlen, "%s:%u: %s", lx->name, line, why);
	return -1;
}

/*
 * The next token into tok (NETRC_TOKEN_MAX + 1 bytes). Returns 1, 0 at
 * the end of the file, or -1 with the error written.
 */
static int
lex_next(struct lexer *lx, char *tok)
{
	size_t		n = 0;
	unsigned	start;
	int		c;

	for (;;) {
		while (lx->p < lx->end && is_space((unsigned char)*lx->p)) {
			if (*lx->p == '\n')
				lx->line++;
			lx->p++;
		}
		if (lx->p == lx->end)
			return 0;
		if (*lx->p != '#')
			break;
		while (lx->p < lx->end && *lx->p != '\n')
			lx->p++;
	}
	start = lx->line;
	if (*lx->p == '"') {
		for (lx->p++;; lx->p++) {
			if (lx->p == lx->end || *lx->p == '\n')
				return lex_fail(lx, start,
				    "unterminated quoted token");
			c = (unsigned char)*lx->p;
			if (c == '"') {
				lx->p++;
				break;
			}
			if (c == '\\') {
				if (++lx->p == lx->end || *lx->p == '\n')
					return lex_fail(lx, start,
					    "unterminated quoted token");
				c = (unsigned char)*lx->p;
			}
			if (c == '\0')
				return lex_fail(lx, start, "NUL byte");
			if (n == NETRC_TOKEN_MAX)
				return lex_fail(lx, start, "token longer than "
				    "4096 bytes");
			tok[n++] = (char)c;
		}
	} else {
		for (; lx->p < lx->end && !is_space((unsigned char)*lx->p);
		    lx->p++) {
			if (*lx->p == '\0')
				return lex_fail(lx, start, "NUL byte");
			if (n == NETRC_TOKEN_MAX)
				return lex_fail(lx, start, "token longer than "
				    "4096 bytes");
			tok[n++] = *lx->p;
		}
	}
	tok[n] = '\0';
	return 1;
}

/* A macro body: the rest of this line, then up to an empty line. */
static void
skip_macdef(struct lexer *lx)
{
	const char	*nl;

	for (;;) {
		nl = memchr(lx->p, '\n', (size_t)(lx->end - lx->p));
		if (nl == NULL) {
			lx->p = lx->end;
			return;
		}
		lx->line++;
		lx->p = nl + 1;
		/* An empty line (LF or CRLF) ends the macro. */
		if (lx->p < lx->end && *lx->p == '\n') {
			lx->line++;
			lx->p++;
			return;
		}
		if (lx->end - lx->p >= 2 && lx->p[0] == '\r' &&
		    lx->p[1] == '\n') {
			lx->line++;
			lx->p += 2;
			return;
		}
	}
}

static int
entry_matches(const struct entry *e, const char *login)
{
	if (login == NULL)
		return 1;
	return e->has_login && strcmp(e->login, login) == 0;
}

/*
 * The entry e has ended: keep it as the answer if it is the first
 * matching machine (*best) or the first matching default (*dflt).
 */
static void
entry_done(struct entry *e, const char *login, struct entry *best,
    struct entry *dflt)
{
	if (e->kind == E_MACHINE && e->host_ok && best->kind == E_NONE &&
	    entry_matches(e, login))
		*best = *e;
	else if (e->kind == E_DEFAULT && dflt->kind == E_NONE &&
	    entry_matches(e, login))
		*dflt = *e;
	explicit_bzero(e, sizeof *e);
}

static int
parse(struct lexer *lx, const char *host, const char *login,
    struct entry *e, struct entry *best, struct entry *dflt, char *tok,
    int *has_password)
{
	unsigned	line;
	int		r;

	while ((r = lex_next(lx, tok)) == 1) {
		line = lx->line;
		if (strcmp(tok, "machine") == 0) {
			entry_done(e, login, best, dflt);
			if ((r = lex_next(lx, tok)) != 1)
				goto novalue;
			e->kind = E_MACHINE;
			e->host_ok = strcasecmp(tok, host) == 0;
		} else if (strcmp(tok, "default") == 0) {
			entry_done(e, login, best, dflt);
			e->kind = E_DEFAULT;
		} else if (strcmp(tok, "login") == 0) {
			if ((r = lex_next(lx, tok)) != 1)
				goto novalue;
			/* The first login of an entry counts. */
			if (!e->has_login) {
				memcpy(e->login, tok, strlen(tok) + 1);
				e->has_login = 1;
			}
		} else if (strcmp(tok, "password") == 0) {
			if ((r = lex_next(lx, tok)) != 1)
				goto novalue;
			*has_password = 1;
			if (!e->has_password) {
				memcpy(e->password, tok, strlen(tok) + 1);
				e->has_password = 1;
			}
		} else if (strcmp(tok, "account") == 0) {
			if ((r = lex_next(lx, tok)) != 1)
				goto novalue;
		} else if (strcmp(tok, "macdef") == 0) {
			if ((r = lex_next(lx, tok)) != 1)
				goto novalue;
			skip_macdef(lx);
		}
		/* Anything else: an unknown keyword, skipped. */
	}
	if (r == -1)
		return -1;
	entry_done(e, login, best, dflt);
	return 0;
novalue:
	if (r == -1)
		return -1;
	return lex_fail(lx, line, "keyword at the end of the file without "
	    "its value");
}

int
netrc_lookup_buffer(const char *name, const char *buf, size_t len,
    const char *host, const char *login, char **password_out,
    int *has_password, char *err, size_t errlen)
{
	struct lexer	 lx;
	struct entry	*e;
	char		*tok;
	int		 r;

	*password_out = NULL;
	*has_password = 0;
	if (len > NETRC_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than 1 MiB", name);
		return -1;
	}
	memset(&lx, 0, sizeof lx);
	lx.p = buf;
	lx.end = buf + len;
	lx.line = 1;
	lx.name = name;
	lx.err = err;
	lx.errlen = errlen;
	/* The entry being read, the matching machine, the default. */
	e = xcalloc(3, sizeof *e);
	tok = xmalloc(NETRC_TOKEN_MAX + 1);
	r = parse(&lx, host, login, &e[0], &e[1], &e[2], tok, has_password);
	if (r == 0) {
		if (e[1].kind == E_NONE)
			e[1] = e[2];
		if (e[1].kind != E_NONE && e[1].has_password) {
			*password_out = xstrdup(e[1].password);
			r = 1;
		}
	}
	explicit_bzero(e, 3 * sizeof *e);
	explicit_bzero(tok, NETRC_TOKEN_MAX + 1);
	free(e);
	free(tok);
	return r;
}

int
netrc_lookup(const char *path, const char *host, const char *login,
    char **password_out, char *err, size_t errlen)
{
	struct stat	 st;
	char		*buf;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd, r, secret;

	*password_out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_size > NETRC_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than 1 MiB", path);
		close(fd);
		return -1;
	}
	buf = xmalloc(NETRC_FILE_MAX + 1);
	while (len <= NETRC_FILE_MAX) {
		n = read(fd, buf + len, NETRC_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			close(fd);
			explicit_bzero(buf, len);
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	r = netrc_lookup_buffer(path, buf, len, host, login, password_out,
	    &secret, err, errlen);
	explicit_bzero(buf, len);
	free(buf);
	/*
	 * As ftp(1) does: a password others can read is refused; and one
	 * in a file, or behind a link, of another user (issue 13).
	 */
	if (secret_file_check(path, &st, secret ? SECRET_F_SECRET : 0,
	    "holds a password", err, errlen) == -1) {
		if (*password_out != NULL) {
			explicit_bzero(*password_out, strlen(*password_out));
			free(*password_out);
		}
		*password_out = NULL;
		return -1;
	}
	return r;
}
