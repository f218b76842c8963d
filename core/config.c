/*
 * config.c -- the popvault.conf(5) file: lines, sections, [defaults]
 * merging, the checks that need a whole account, and reading the file
 * with its permission check. The keys are options of opt.h: what each
 * accepts, and the merge of [defaults] into an account, are opt.c's.
 *
 * The grammar, one line at a time (no yacc: the file is flat):
 *
 *   line    = blank | comment | section | setting
 *   comment = [WS] ("#" | ";") anything
 *   section = [WS] "[" [WS] ("defaults" | "account" WS+ NAME) [WS] "]" [WS]
 *   setting = [WS] KEY [WS] "=" [WS] (quoted | bare) [WS]
 *   quoted  = '"' { any but '"' and '\' | '\"' | '\\' } '"'
 *   bare    = anything up to the end of the line (no inline comments)
 *
 * Lines end with LF or CRLF; the last one needs no newline. A line
 * longer than CONFIG_LINE_MAX, a NUL byte or another control character
 * in a value is a mistake. Every mistake is recorded with its line and
 * the parse goes on with the next line, so that one run shows them all
 * (isync's src/config.c does the same). Keys of a section whose header
 * is unknown are skipped unchecked; keys of a refused account header
 * (bad or repeated name) are still checked, in a scratch section.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "secret.h"
#include "url.h"
#include "util.h"

#define WS	" \t"

enum state {
	S_NONE,		/* before the first section header */
	S_SECTION,	/* in [defaults] or an account (or the scratch) */
	S_SKIP		/* in an unknown section: ignore its keys */
};

struct parser {
	const char		*name;
	struct config		*cfg;
	struct config_errors	*errs;
	enum state		 state;
	struct config_account	*cur;
	int			 in_defaults;	/* cur is [defaults] */
	int			 in_dest;	/* cur is a [destination] */
	unsigned		 defaults_line;	/* first [defaults] */
	struct config_account	 scratch;	/* a refused section */
	size_t			 acap, dcap;
	int			 full;		/* too many errors */
};

static void	err_add(struct parser *, unsigned, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* "NAME:LINE: msg", or "NAME: msg" for line 0, in new memory. */
static char *
join(const char *name, unsigned line, const char *msg)
{
	size_t	 sz = strlen(name) + strlen(msg) + 16;
	char	*s = xmalloc(sz);

	if (line == 0)
		snprintf(s, sz, "%s: %s", name, msg);
	else
		snprintf(s, sz, "%s:%u: %s", name, line, msg);
	return s;
}

static void
err_push(struct config_errors *e, unsigned line, char *msg)
{
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 8;
		e->v = xreallocarray(e->v, e->cap, sizeof *e->v);
	}
	e->v[e->n].line = line;
	e->v[e->n].msg = msg;
	e->n++;
}

/* Record "NAME:LINE: message" ("NAME: message" for line 0). */
static void
err_add(struct parser *p, unsigned line, const char *fmt, ...)
{
	char	msg[8192], *full;
	va_list	ap;

	/* File-wide messages (line 0) are few and always kept. */
	if (p->full && line != 0)
		return;
	if (p->errs->n >= CONFIG_ERRORS_MAX && line != 0) {
		p->full = 1;
		full = join(p->name, 0, "too many errors; stopping here");
		/* Sorts last: after the lines it stands for. */
		err_push(p->errs, (unsigned)-1, full);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	full = join(p->name, line, msg);
	err_push(p->errs, line, full);
}

/* Untrusted bytes of the file, made safe to print. */
static const char *
esc(const char *s, size_t len, char *buf, size_t bufsz)
{
	return log_escape(s, len, buf, bufsz);
}

static int
valid_name(const char *s, size_t len)
{
	size_t	i;
	int	c;

	if (len == 0 || len > CONFIG_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("._@+-", c) != NULL))
			return 0;
	}
	return 1;
}

/* Free a's values (the password wiped) and zero it. */
static void
account_clear(struct config_account *a)
{
	opt_free(&a->v);
	memset(a, 0, sizeof *a);
}

/* Start the scratch section: keys are checked, then thrown away. */
static void
use_scratch(struct parser *p, int defaults)
{
	account_clear(&p->scratch);
	p->cur = &p->scratch;
	p->in_defaults = defaults;
	p->in_dest = 0;
	p->state = S_SECTION;
}

/* An [account NAME] (dest 0) or a [destination NAME] (dest 1). */
static void
new_section(struct parser *p, const char *name, size_t len, unsigned line,
    int dest)
{
	struct config		*cfg = p->cfg;
	struct config_account	*a, **v = dest ? &cfg->dest : &cfg->acct;
	size_t			*n = dest ? &cfg->ndest : &cfg->nacct;
	size_t			*cap = dest ? &p->dcap : &p->acap;
	const char		*what = dest ? "destination" : "account";
	char			 e[80];
	size_t			 i;

	if (!valid_name(name, len)) {
		err_add(p, line, "bad %s name \"%s\": use 1 to %d of "
		    "A-Z a-z 0-9 . _ @ + -", what, esc(name, len, e, sizeof e),
		    CONFIG_NAME_MAX);
		use_scratch(p, 0);
		return;
	}
	for (i = 0; i < *n; i++)
		if (strlen((*v)[i].name) == len &&
		    memcmp((*v)[i].name, name, len) == 0) {
			err_add(p, line, "duplicate %s \"%.*s\" (first "
			    "at line %u)", what, (int)len, name, (*v)[i].line);
			use_scratch(p, 0);
			return;
		}
	if (*n == CONFIG_ACCOUNTS_MAX) {
		err_add(p, line, "more than %d %ss", CONFIG_ACCOUNTS_MAX,
		    what);
		use_scratch(p, 0);
		return;
	}
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*v = xreallocarray(*v, *cap, sizeof *a);
	}
	a = &(*v)[(*n)++];
	memset(a, 0, sizeof *a);
	memcpy(a->name, name, len);
	a->line = line;
	p->cur = a;
	p->in_defaults = 0;
	p->in_dest = dest;
	p->state = S_SECTION;
}

/* s points at '['. */
static void
parse_section(struct parser *p, const char *s, unsigned line)
{
	const char	*close, *in, *name, *word;
	size_t		 len, nlen, wlen;
	char		 e[80];
	int		 dest;

	p->state = S_SKIP;
	if ((close = strchr(s, ']')) == NULL) {
		err_add(p, line, "missing ']' in section header");
		return;
	}
	if (close[1 + strspn(close + 1, WS)] != '\0') {
		err_add(p, line, "text after ']' (comments need a line of "
		    "their own)");
		return;
	}
	in = s + 1 + strspn(s + 1, WS);
	len = (size_t)(close - in);
	while (len > 0 && (in[len - 1] == ' ' || in[len - 1] == '\t'))
		len--;
	if (len == 8 && memcmp(in, "defaults", 8) == 0) {
		if (p->defaults_line != 0) {
			err_add(p, line, "second [defaults] section (first at "
			    "line %u)", p->defaults_line);
			use_scratch(p, 1);
			return;
		}
		p->defaults_line = line;
		p->cfg->defaults.line = line;
		p->cur = &p->cfg->defaults;
		p->in_defaults = 1;
		p->state = S_SECTION;
		return;
	}
	for (dest = 0; dest < 2; dest++) {
		word = dest ? "destination" : "account";
		wlen = strlen(word);
		if (len < wlen || memcmp(in, word, wlen) != 0 ||
		    (len > wlen && in[wlen] != ' ' && in[wlen] != '\t'))
			continue;
		/* Within the trimmed len only: "[account ]" has no name. */
		for (name = in + wlen; name < in + len &&
		    (*name == ' ' || *name == '\t'); name++)
			;
		nlen = len - (size_t)(name - in);
		if (nlen == 0) {
			err_add(p, line, "[%s] needs a name: [%s NAME]", word,
			    word);
			use_scratch(p, 0);
			return;
		}
		new_section(p, name, nlen, line, dest);
		return;
	}
	err_add(p, line, "unknown section [%s] (expected [defaults], "
	    "[account NAME] or [destination NAME])",
	    esc(in, len, e, sizeof e));
}

/*
 * The value after '=' (s: its first non-blank byte) into out, quotes
 * removed. Returns NULL or what is wrong.
 */
static const char *
parse_value(const char *s, char *out, size_t outsz)
{
	size_t		 o = 0, n;
	const char	*t;

	if (*s != '"') {
		n = strlen(s);
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n >= outsz)
			return "value too long";
		memcpy(out, s, n);
		out[n] = '\0';
	} else {
		for (s++; *s != '"'; s++) {
			/* A backslash at the end escapes nothing. */
			if (*s == '\0' || (*s == '\\' && s[1] == '\0'))
				return "unterminated quote (a value in \"...\" "
				    "must end on its line)";
			if (*s == '\\') {
				s++;
				if (*s != '"' && *s != '\\')
					return "unknown escape in quoted "
					    "value (only \\\" and \\\\)";
			}
			if (o + 1 >= outsz)
				return "value too long";
			out[o++] = *s;
		}
		out[o] = '\0';
		if (s[1 + strspn(s + 1, WS)] != '\0')
			return "text after the closing quote";
	}
	for (t = out; *t != '\0'; t++)
		if (((unsigned char)*t < ' ' && *t != '\t') || *t == 0x7f)
			return "control character in value";
	return NULL;
}

/* The keys a [destination NAME] takes besides its own (OPT_F_DEST). */
static int
dest_key(int k)
{
	switch (k) {
	case OPT_PASSWORD_COMMAND:
	case OPT_PASSWORD_COMMAND_TIMEOUT:
	case OPT_NETRC:
	case OPT_PASSWORD:
	case OPT_PASSWORD_ENV:
	case OPT_OAUTH_COMMAND:
	case OPT_AUTH:
	case OPT_TLS_CA:
	case OPT_TLS_FINGERPRINT:
	case OPT_INSECURE_PLAINTEXT:
	case OPT_TIMEOUT:
		return 1;
	default:
		return (opt_flags(k) & OPT_F_DEST) != 0;
	}
}

static void
parse_setting(struct parser *p, const char *s, unsigned line)
{
	struct config_account	*a;
	const char		*eq, *what;
	char			 value[CONFIG_LINE_MAX + 1], why[160];
	char			 e[80], ev[80], hint[CONFIG_LINE_MAX + 1];
	size_t			 klen, i;
	int			 k;

	if ((eq = strchr(s, '=')) == NULL) {
		klen = strcspn(s, WS);
		if (opt_find_key(s, klen) == OPT_PASSWORD)
			p->cfg->has_password = 1;
		err_add(p, line, "missing '=' after \"%s\" (expected KEY = "
		    "VALUE)", esc(s, klen, e, sizeof e));
		return;
	}
	klen = (size_t)(eq - s);
	while (klen > 0 && (s[klen - 1] == ' ' || s[klen - 1] == '\t'))
		klen--;
	if (klen == 0) {
		err_add(p, line, "missing key before '='");
		return;
	}
	k = opt_find_key(s, klen);
	/* A literal password anywhere in the file makes it secret. */
	if (k == OPT_PASSWORD)
		p->cfg->has_password = 1;
	/* And a command anywhere makes it something that runs commands. */
	if (k != -1 && (opt_flags(k) & OPT_F_COMMAND) && !p->cfg->has_command) {
		p->cfg->has_command = 1;
		p->cfg->command_key = (enum opt_id)k;
	}
	if (p->state == S_NONE) {
		err_add(p, line, "\"%s\" outside a section (put it under "
		    "[defaults] or [account NAME])",
		    esc(s, klen, e, sizeof e));
		return;
	}
	if (p->state == S_SKIP)
		return;
	if (k == -1) {
		/* max-deletes or Host for max_deletes or host: say so. */
		memcpy(hint, s, klen);
		for (i = 0; i < klen; i++)
			if (hint[i] == '-')
				hint[i] = '_';
			else if (hint[i] >= 'A' && hint[i] <= 'Z')
				hint[i] = (char)(hint[i] - 'A' + 'a');
		k = opt_find_key(hint, klen);
		err_add(p, line, "unknown key \"%s\"%s%s%s",
		    esc(s, klen, e, sizeof e), k != -1 ? " (did you mean " :
		    "", k != -1 ? opt_key(k) : "", k != -1 ? "?)" : "");
		return;
	}
	a = p->cur;
	if ((opt_flags(k) & OPT_F_DEFAULTS_ONLY) && !p->in_defaults) {
		err_add(p, line, "%s is only valid in [defaults]", opt_key(k));
		return;
	}
	if ((opt_flags(k) & OPT_F_DEST) && !p->in_dest) {
		err_add(p, line, "%s is only valid in [destination NAME]",
		    opt_key(k));
		return;
	}
	if (p->in_dest && !dest_key(k)) {
		err_add(p, line, "%s is not valid in [destination NAME] (the "
		    "server, user and folder go in to = imaps://USER@HOST/"
		    "FOLDER)", opt_key(k));
		return;
	}
	if (a->keyline[k] != 0) {
		err_add(p, line, "duplicate key %s (first at line %u)",
		    opt_key(k), a->keyline[k]);
		return;
	}
	a->keyline[k] = line;
	what = parse_value(eq + 1 + strspn(eq + 1, WS), value, sizeof value);
	if (what == NULL && value[0] == '\0')
		what = "empty value";
	if (what != NULL) {
		err_add(p, line, "%s: %s", opt_key(k), what);
		goto out;
	}
	if (opt_set(&a->v, k, value, OPT_FROM_CONFIG, why,
	    sizeof why) == -1) {
		/* Never echo a password, even a malformed one. */
		if (opt_flags(k) & OPT_F_SECRET)
			err_add(p, line, "%s: %s", opt_key(k), why);
		else
			err_add(p, line, "%s = \"%s\": %s", opt_key(k),
			    esc(value, strlen(value), ev, sizeof ev), why);
	} else
		a->own |= OPT_BIT(k);
out:
	explicit_bzero(value, sizeof value);
}

static void
parse_line(struct parser *p, const char *line, unsigned lineno)
{
	const char	*s = line + strspn(line, WS);

	if (*s == '\0' || *s == '#' || *s == ';')
		return;
	if (*s == '[')
		parse_section(p, s, lineno);
	else
		parse_setting(p, s, lineno);
}

static void
parse_lines(struct parser *p, const char *buf, size_t len)
{
	const char	*s = buf, *end = buf + len, *nl, *next;
	char		 line[CONFIG_LINE_MAX + 1];
	unsigned	 lineno = 0;
	size_t		 n;

	/* A UTF-8 byte order mark, as some editors write. */
	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	while (s < end && !p->full) {
		lineno++;
		nl = memchr(s, '\n', (size_t)(end - s));
		next = nl != NULL ? nl + 1 : end;
		n = (size_t)((nl != NULL ? nl : end) - s);
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (n > CONFIG_LINE_MAX)
			err_add(p, lineno, "line longer than %d bytes",
			    CONFIG_LINE_MAX);
		else if (memchr(s, '\0', n) != NULL)
			err_add(p, lineno, "NUL byte in line");
		else {
			memcpy(line, s, n);
			line[n] = '\0';
			parse_line(p, line, lineno);
		}
		s = next;
	}
	explicit_bzero(line, sizeof line);
}

/*
 * More than one password source given in one section? Reported at the
 * last of them: that is where the excess is.
 */
static void
check_sources(struct parser *p, const struct config_account *a,
    const char *what)
{
	char		list[256];
	unsigned	last = 0;
	int		k, n = 0;

	list[0] = '\0';
	for (k = 0; k < OPT_COUNT; k++) {
		if (!(opt_flags(k) & OPT_F_SOURCE) || a->keyline[k] == 0)
			continue;
		if (a->keyline[k] > last)
			last = a->keyline[k];
		snprintf(list + strlen(list), sizeof list - strlen(list),
		    "%s%s (line %u)", n++ > 0 ? ", " : "", opt_key(k),
		    a->keyline[k]);
	}
	if (n > 1)
		err_add(p, last, "%s has more than one password source: "
		    "%s; keep one", what, list);
}

/*
 * Merge [defaults] into one account (opt_merge(): the account's own
 * values over those of [defaults] but for its [defaults]-only keys),
 * then check the whole of it.
 */
static void
finish_account(struct parser *p, struct config_account *a)
{
	const struct config_account	*d = &p->cfg->defaults;
	struct opt_values		 m;
	char				 what[CONFIG_NAME_MAX + 16];
	int				 k;

	opt_init(&m);
	opt_merge(&m, &d->v);
	for (k = 0; k < OPT_COUNT; k++)
		if (opt_flags(k) & OPT_F_DEFAULTS_ONLY)
			opt_clear(&m, k);
	opt_merge(&m, &a->v);
	opt_free(&a->v);
	a->v = m;
	snprintf(what, sizeof what, "account \"%s\"", a->name);
	/* A key given but refused was reported already. */
	if (!OPT_ISSET(&a->v, OPT_HOST) && a->keyline[OPT_HOST] == 0 &&
	    d->keyline[OPT_HOST] == 0)
		err_add(p, a->line, "%s has no host (host = is required)",
		    what);
	if (!OPT_ISSET(&a->v, OPT_USER) && a->keyline[OPT_USER] == 0 &&
	    d->keyline[OPT_USER] == 0)
		err_add(p, a->line, "%s has no user (user = is required)",
		    what);
	check_sources(p, a, what);
	if (OPT_ISSET(&a->v, OPT_TLS) && a->v.tls == POP3_TLS_NONE &&
	    !(OPT_ISSET(&a->v, OPT_INSECURE_PLAINTEXT) &&
	    a->v.insecure_plaintext)) {
		if (a->own & OPT_BIT(OPT_TLS))
			err_add(p, a->keyline[OPT_TLS], "tls = none sends "
			    "the password in clear; add insecure_plaintext = "
			    "yes");
		else
			err_add(p, a->line, "%s: tls = none (from [defaults]) "
			    "sends the password in clear; add "
			    "insecure_plaintext = yes", what);
	}
}

/*
 * A destination stands alone: nothing of [defaults] (those are the POP3
 * accounts' server and password). It needs its URL.
 */
static void
finish_dest(struct parser *p, struct config_account *a)
{
	struct url	u;
	char		what[CONFIG_NAME_MAX + 24], folder[1024], err[200];

	snprintf(what, sizeof what, "destination \"%s\"", a->name);
	if (!OPT_ISSET(&a->v, OPT_TO)) {
		if (a->keyline[OPT_TO] == 0)
			err_add(p, a->line, "%s has no to = imaps://USER@HOST/"
			    "FOLDER", what);
	} else if (url_parse_imap(a->v.to, &u, folder, sizeof folder, err,
	    sizeof err) == -1)
		err_add(p, a->keyline[OPT_TO], "to: %s", err);
	check_sources(p, a, what);
}

/* Stable, by line: the order the user reads the file in. */
static void
sort_errors(struct config_errors *e)
{
	struct config_error	t;
	size_t			i, j;

	for (i = 1; i < e->n; i++) {
		t = e->v[i];
		for (j = i; j > 0 && e->v[j - 1].line > t.line; j--)
			e->v[j] = e->v[j - 1];
		e->v[j] = t;
	}
}

/*
 * A file holding a password or naming a command must be safe from
 * other users: secret_file_check() on what was opened (st) and on a
 * link at name. The message is file-wide (line 0).
 */
static void
check_file(struct parser *p, const char *name, const struct stat *st)
{
	const struct config	*cfg = p->cfg;
	char			 what[128], msg[PATH_MAX * 3 + 512];
	int			 flags = 0;

	if (cfg->has_password)
		flags |= SECRET_F_SECRET;
	if (cfg->has_command)
		flags |= SECRET_F_EXEC;
	if (cfg->has_password && cfg->has_command)
		snprintf(what, sizeof what, "holds a password and can run a "
		    "command (%s)", opt_key(cfg->command_key));
	else if (cfg->has_password)
		snprintf(what, sizeof what, "holds a password");
	else
		snprintf(what, sizeof what, "can run a command (%s)",
		    opt_key(cfg->command_key));
	if (secret_file_check(name, st, flags, what, msg, sizeof msg) == -1)
		err_push(p->errs, 0, xstrdup(msg));
}

/*
 * The common part of config_parse_buffer and config_load; with st (what
 * fstat() said of the file opened as name), check_file() too.
 */
static int
parse(const char *name, const char *buf, size_t len, struct config *cfg,
    struct config_errors *errs, const struct stat *st)
{
	struct parser	p;
	size_t		i;

	memset(cfg, 0, sizeof *cfg);
	memset(errs, 0, sizeof *errs);
	memset(&p, 0, sizeof p);
	cfg->path = xstrdup(name);
	p.name = name;
	p.cfg = cfg;
	p.errs = errs;
	if (len > CONFIG_FILE_MAX)
		err_add(&p, 0, "larger than %d bytes", CONFIG_FILE_MAX);
	else
		parse_lines(&p, buf, len);
	account_clear(&p.scratch);
	if (st != NULL)
		check_file(&p, name, st);
	if (!p.full) {
		check_sources(&p, &cfg->defaults, "[defaults]");
		for (i = 0; i < cfg->nacct; i++)
			finish_account(&p, &cfg->acct[i]);
		for (i = 0; i < cfg->ndest; i++)
			finish_dest(&p, &cfg->dest[i]);
	}
	if (errs->n == 0)
		return 0;
	sort_errors(errs);
	config_free(cfg);
	return -1;
}

int
config_parse_buffer(const char *name, const char *buf, size_t len,
    struct config *cfg, struct config_errors *errs)
{
	return parse(name, buf, len, cfg, errs, NULL);
}

/* One error, for a file that could not be read at all. */
static int
load_fail(const char *path, struct config *cfg, struct config_errors *errs,
    const char *why)
{
	memset(cfg, 0, sizeof *cfg);
	memset(errs, 0, sizeof *errs);
	err_push(errs, 0, join(path, 0, why));
	return -1;
}

int
config_load(const char *path, struct config *cfg, struct config_errors *errs)
{
	struct stat	 st;
	char		*buf;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd, r;

	/*
	 * Symlinks are followed (dotfile managers make them); the
	 * permission check is on what was opened. O_NONBLOCK: a FIFO
	 * must not hang the open; it is refused below.
	 */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1)
		return load_fail(path, cfg, errs, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return load_fail(path, cfg, errs, "not a regular file");
	}
	if (st.st_size > CONFIG_FILE_MAX) {
		close(fd);
		return load_fail(path, cfg, errs, "larger than 1 MiB");
	}
	/* One byte more than allowed, to notice a file that grew. */
	buf = xmalloc(CONFIG_FILE_MAX + 1);
	while (len <= CONFIG_FILE_MAX) {
		n = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = errno;
			close(fd);
			explicit_bzero(buf, len);
			free(buf);
			return load_fail(path, cfg, errs, strerror(r));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	r = parse(path, buf, len, cfg, errs, &st);
	explicit_bzero(buf, len);
	free(buf);
	return r;
}

void
config_free(struct config *cfg)
{
	size_t	i;

	for (i = 0; i < cfg->nacct; i++)
		account_clear(&cfg->acct[i]);
	free(cfg->acct);
	for (i = 0; i < cfg->ndest; i++)
		account_clear(&cfg->dest[i]);
	free(cfg->dest);
	account_clear(&cfg->defaults);
	free(cfg->path);
	memset(cfg, 0, sizeof *cfg);
}

void
config_errors_free(struct config_errors *errs)
{
	size_t	i;

	for (i = 0; i < errs->n; i++)
		free(errs->v[i].msg);
	free(errs->v);
	memset(errs, 0, sizeof *errs);
}

const struct config_account *
config_find(const struct config *cfg, const char *name)
{
	size_t	i;

	for (i = 0; i < cfg->nacct; i++)
		if (strcmp(cfg->acct[i].name, name) == 0)
			return &cfg->acct[i];
	return NULL;
}

const struct config_account *
config_find_dest(const struct config *cfg, const char *name)
{
	size_t	i;

	for (i = 0; i < cfg->ndest; i++)
		if (strcmp(cfg->dest[i].name, name) == 0)
			return &cfg->dest[i];
	return NULL;
}

int
config_default_path(char *buf, size_t len)
{
	const char	*x = getenv("XDG_CONFIG_HOME");
	char		 home[4096];

	if (x != NULL && x[0] == '/')
		return xsnprintf(buf, len, "%s/popvault/config", x);
	if (opt_home(home, sizeof home) == -1)
		return -1;
	return xsnprintf(buf, len, "%s/.config/popvault/config", home);
}
