/*
 * config_value.c -- the keys of popvault.conf(5): their names, what
 * each accepts, where its value goes, and how [defaults] values are
 * copied into an account. The file's grammar is config.c's business.
 *
 * Values are checked as strictly as the command line checks the same
 * option (cmd/account.c), with the same ranges; delete uses
 * run_parse_delete itself so the two can never disagree.
 */
#include <sys/types.h>

#include <errno.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config_int.h"
#include "util.h"

#define PATH_MAX_LEN	4096
#define FIELD_MAX	255	/* host, user, password_env */

struct word {
	const char	*name;
	int		 value;
};

static const struct word tls_words[] = {
	{ "implicit", POP3_TLS_IMPLICIT },
	{ "starttls", POP3_TLS_STARTTLS },
	{ "none", POP3_TLS_NONE },
	{ NULL, 0 }
};

static const struct word auth_words[] = {
	{ "auto", CONFIG_AUTH_AUTO },
	{ "user", CONFIG_AUTH_USER },
	{ "apop", CONFIG_AUTH_APOP },
	{ "plain", CONFIG_AUTH_PLAIN },
	{ "login", CONFIG_AUTH_LOGIN },
	{ "cram-md5", CONFIG_AUTH_CRAM_MD5 },
	{ "scram-sha-1", CONFIG_AUTH_SCRAM_SHA_1 },
	{ "scram-sha-256", CONFIG_AUTH_SCRAM_SHA_256 },
	{ "xoauth2", CONFIG_AUTH_XOAUTH2 },
	{ "oauthbearer", CONFIG_AUTH_OAUTHBEARER },
	{ NULL, 0 }
};

static const struct word yesno_words[] = {
	{ "yes", 1 },
	{ "no", 0 },
	{ NULL, 0 }
};

static const struct word ageby_words[] = {
	{ "first-seen", 0 },
	{ "date", 1 },
	{ NULL, 0 }
};

static const struct word dedup_words[] = {
	{ "vault", CONFIG_DEDUP_VAULT },
	{ "account", CONFIG_DEDUP_ACCOUNT },
	{ "none", CONFIG_DEDUP_NONE },
	{ NULL, 0 }
};

/*
 * Every key: its name, the words it accepts (or NULL), the range of a
 * number, and what to tell a user who gave something else.
 */
static const struct keydef {
	const char		*name;
	const struct word	*words;
	uint64_t		 min, max;
	const char		*expect;
} keys[CONFIG_K_COUNT] = {
	[CONFIG_K_HOST] = { "host", NULL, 0, 0,
	    "a host name or address (letters, digits, '.', '-', '_', ':', "
	    "'%'; IPv6 without brackets)" },
	[CONFIG_K_PORT] = { "port", NULL, 1, 65535,
	    "a number from 1 to 65535" },
	[CONFIG_K_TLS] = { "tls", tls_words, 0, 0, NULL },
	[CONFIG_K_USER] = { "user", NULL, 0, 0,
	    "a user name of at most 255 bytes without spaces" },
	[CONFIG_K_AUTH] = { "auth", auth_words, 0, 0, NULL },
	[CONFIG_K_PASSWORD_COMMAND] = { "password_command", NULL, 0, 0,
	    "a command" },
	[CONFIG_K_OAUTH_COMMAND] = { "oauth_command", NULL, 0, 0,
	    "a command" },
	[CONFIG_K_PASSWORD_COMMAND_TIMEOUT] = { "password_command_timeout",
	    NULL, 1, 86400, "seconds from 1 to 86400" },
	[CONFIG_K_NETRC] = { "netrc", NULL, 0, 0,
	    "yes (for ~/.netrc) or a path starting with / or ~/" },
	[CONFIG_K_PASSWORD] = { "password", NULL, 0, 0, "a password" },
	[CONFIG_K_PASSWORD_ENV] = { "password_env", NULL, 0, 0,
	    "the name of an environment variable ([A-Za-z_][A-Za-z0-9_]*)" },
	[CONFIG_K_TLS_CA] = { "tls_ca", NULL, 0, 0,
	    "a path starting with / or ~/" },
	[CONFIG_K_TLS_FINGERPRINT] = { "tls_fingerprint", NULL, 0, 0,
	    "sha256: and 64 hex digits (colons allowed)" },
	[CONFIG_K_INSECURE_PLAINTEXT] = { "insecure_plaintext", yesno_words,
	    0, 0, NULL },
	/* The words of these two are the registry's (formats/registry.c). */
	[CONFIG_K_FORMAT] = { "format", NULL, 0, 0, NULL },
	[CONFIG_K_COMPRESS] = { "compress", NULL, 0, 0, NULL },
	[CONFIG_K_DELETE] = { "delete", NULL, 0, 0,
	    "never, verified or older-than=DURATION (30d, 12w, 6m, 1y)" },
	[CONFIG_K_AGE_BY] = { "age_by", ageby_words, 0, 0, NULL },
	[CONFIG_K_MAX_DELETES] = { "max_deletes", NULL, 1, UINT32_MAX,
	    "a positive number" },
	[CONFIG_K_MAX_MESSAGE_SIZE] = { "max_message_size", NULL, 0, 0,
	    "a size such as 50M (a number and k, M or G)" },
	[CONFIG_K_TIMEOUT] = { "timeout", NULL, 1, 86400,
	    "seconds from 1 to 86400" },
	[CONFIG_K_VAULT] = { "vault", NULL, 0, 0,
	    "a path starting with / or ~/" },
	[CONFIG_K_BATCH] = { "batch", NULL, 1, 100000,
	    "a number from 1 to 100000" },
	[CONFIG_K_DEDUP] = { "dedup", dedup_words, 0, 0, NULL },
	[CONFIG_K_JOBS] = { "jobs", NULL, 1, 64,
	    "a number from 1 to 64" },
};

const char *
config_key_name(enum config_key k)
{
	if ((unsigned)k >= CONFIG_K_COUNT)
		return "?";
	return keys[k].name;
}

int
config_key_lookup(const char *name, size_t len)
{
	int	k;

	for (k = 0; k < CONFIG_K_COUNT; k++)
		if (strlen(keys[k].name) == len &&
		    memcmp(keys[k].name, name, len) == 0)
			return k;
	return -1;
}

int
config_key_defaults_only(enum config_key k)
{
	return k == CONFIG_K_DEDUP || k == CONFIG_K_JOBS;
}

int
config_key_is_source(enum config_key k)
{
	return k == CONFIG_K_PASSWORD_COMMAND || k == CONFIG_K_NETRC ||
	    k == CONFIG_K_PASSWORD || k == CONFIG_K_PASSWORD_ENV;
}

int
config_home(char *buf, size_t len)
{
	const char	*h = getenv("HOME");
	struct passwd	*pw;

	if (h == NULL || h[0] != '/') {
		if ((pw = getpwuid(getuid())) == NULL ||
		    pw->pw_dir == NULL || pw->pw_dir[0] != '/')
			return -1;
		h = pw->pw_dir;
	}
	return xsnprintf(buf, len, "%s", h);
}

/* "expected a, b or c" for a word list. */
static void
expect_words(const struct word *w, char *buf, size_t len)
{
	size_t	i, n;

	for (n = 0; w[n].name != NULL; n++)
		;
	snprintf(buf, len, "expected");
	for (i = 0; i < n; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s",
		    i == 0 ? " " : i + 1 == n ? " or " : ", ", w[i].name);
}

static int
find_word(const struct word *w, const char *s, int *out)
{
	for (; w->name != NULL; w++)
		if (strcmp(w->name, s) == 0) {
			*out = w->value;
			return 0;
		}
	return -1;
}

/* Decimal digits only (no sign, no spaces), within [min, max]. */
static int
parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t	v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* A size as --max-message-size takes it: 50M, 1G, 512k, 1000000. */
static int
parse_size(const char *s, uint64_t *out)
{
	char		 num[32];
	size_t		 n = strspn(s, "0123456789");
	uint64_t	 v, mul = 1;

	if (n == 0 || n >= sizeof num)
		return -1;
	memcpy(num, s, n);
	num[n] = '\0';
	switch (s[n]) {
	case '\0':
		break;
	case 'k': case 'K':
		mul = 1024;
		break;
	case 'm': case 'M':
		mul = 1024 * 1024;
		break;
	case 'g': case 'G':
		mul = 1024ULL * 1024 * 1024;
		break;
	default:
		return -1;
	}
	if (s[n] != '\0' && s[n + 1] != '\0')
		return -1;
	if (parse_uint(num, 1, UINT64_MAX / mul, &v) == -1)
		return -1;
	*out = v * mul;
	return 0;
}

static int
valid_chars(const char *s, const char *extra, size_t max)
{
	size_t	n = strlen(s);
	int	c;

	if (n == 0 || n > max)
		return 0;
	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr(extra, c) != NULL))
			return 0;
	}
	return 1;
}

/* Printable, no spaces, 1-255 bytes: 8-bit bytes are a server's call. */
static int
valid_user(const char *s)
{
	size_t	n = strlen(s);

	if (n == 0 || n > FIELD_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return 0;
	return 1;
}

static int
valid_fingerprint(const char *s)
{
	size_t	hex = 0;

	if (strncasecmp(s, "sha256:", 7) != 0)
		return 0;
	for (s += 7; *s != '\0'; s++) {
		if (*s == ':')
			continue;
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		    (*s >= 'A' && *s <= 'F')))
			return 0;
		hex++;
	}
	return hex == 64;
}

/*
 * A path as the user gave it: "/..." kept, "~" and "~/..." under the
 * home folder. Relative paths and "~user" are refused: relative to
 * what would depend on where popvault was started.
 */
static char *
expand_path(const char *s, char *why, size_t whylen)
{
	char	home[PATH_MAX_LEN], out[PATH_MAX_LEN];

	if (s[0] == '/') {
		if (strlen(s) >= PATH_MAX_LEN) {
			snprintf(why, whylen, "path too long");
			return NULL;
		}
		return xstrdup(s);
	}
	if (s[0] != '~' || (s[1] != '\0' && s[1] != '/'))
		return NULL;
	if (config_home(home, sizeof home) == -1) {
		snprintf(why, whylen, "cannot expand ~: no home folder");
		return NULL;
	}
	if (xsnprintf(out, sizeof out, "%s%s", home, s + 1) == -1) {
		snprintf(why, whylen, "path too long");
		return NULL;
	}
	return xstrdup(out);
}

static void
set_str(char **dst, char *s)
{
	if (*dst != NULL) {
		explicit_bzero(*dst, strlen(*dst));
		free(*dst);
	}
	*dst = s;
}

int
config_set_value(struct config *cfg, struct config_account *a,
    enum config_key k, const char *v, char *why, size_t whylen)
{
	const struct keydef	*kd = &keys[k];
	uint64_t		 n = 0;
	char			*s;
	int			 w = 0;

	why[0] = '\0';
	if (kd->words != NULL && find_word(kd->words, v, &w) == -1) {
		expect_words(kd->words, why, whylen);
		return -1;
	}
	if (kd->max != 0 && parse_uint(v, kd->min, kd->max, &n) == -1)
		goto bad;
	switch (k) {
	case CONFIG_K_HOST:
		if (!valid_chars(v, ".-_:%", FIELD_MAX))
			goto bad;
		set_str(&a->host, xstrdup(v));
		break;
	case CONFIG_K_PORT:
		a->port = (unsigned)n;
		break;
	case CONFIG_K_TLS:
		a->tls = (enum pop3_tls)w;
		break;
	case CONFIG_K_USER:
		if (!valid_user(v))
			goto bad;
		set_str(&a->user, xstrdup(v));
		break;
	case CONFIG_K_AUTH:
		a->auth = (enum config_auth)w;
		break;
	case CONFIG_K_PASSWORD_COMMAND:
		set_str(&a->password_command, xstrdup(v));
		break;
	case CONFIG_K_OAUTH_COMMAND:
		set_str(&a->oauth_command, xstrdup(v));
		break;
	case CONFIG_K_PASSWORD_COMMAND_TIMEOUT:
		a->password_command_timeout = (unsigned)n;
		break;
	case CONFIG_K_NETRC:
		s = expand_path(strcmp(v, "yes") == 0 ? "~/.netrc" : v, why,
		    whylen);
		if (s == NULL)
			goto bad;
		set_str(&a->netrc, s);
		break;
	case CONFIG_K_PASSWORD:
		set_str(&a->password, xstrdup(v));
		break;
	case CONFIG_K_PASSWORD_ENV:
		if (!valid_chars(v, "_", FIELD_MAX) ||
		    (v[0] >= '0' && v[0] <= '9'))
			goto bad;
		set_str(&a->password_env, xstrdup(v));
		break;
	case CONFIG_K_TLS_CA:
		if ((s = expand_path(v, why, whylen)) == NULL)
			goto bad;
		set_str(&a->tls_ca, s);
		break;
	case CONFIG_K_TLS_FINGERPRINT:
		if (!valid_fingerprint(v))
			goto bad;
		set_str(&a->tls_fingerprint, xstrdup(v));
		break;
	case CONFIG_K_INSECURE_PLAINTEXT:
		a->insecure_plaintext = w;
		break;
	case CONFIG_K_FORMAT:
		if ((a->format = fmt_find(v)) == NULL) {
			snprintf(why, whylen, "expected %s", fmt_names());
			return -1;
		}
		break;
	case CONFIG_K_COMPRESS:
		if (fmt_comp_find(v, &a->compress) == -1) {
			snprintf(why, whylen, "expected %s",
			    fmt_comp_list(FMT_COMP_ALL));
			return -1;
		}
		break;
	case CONFIG_K_DELETE:
		if (run_parse_delete(v, &a->del, &a->older_than) == -1)
			goto bad;
		break;
	case CONFIG_K_AGE_BY:
		a->age_by_date = w;
		break;
	case CONFIG_K_MAX_DELETES:
		a->max_deletes = n;
		break;
	case CONFIG_K_MAX_MESSAGE_SIZE:
		if (parse_size(v, &a->max_message_size) == -1)
			goto bad;
		break;
	case CONFIG_K_TIMEOUT:
		a->timeout = (unsigned)n;
		break;
	case CONFIG_K_VAULT:
		if ((s = expand_path(v, why, whylen)) == NULL)
			goto bad;
		set_str(&a->vault, s);
		break;
	case CONFIG_K_BATCH:
		a->batch = (unsigned)n;
		break;
	case CONFIG_K_DEDUP:
		cfg->dedup = (enum config_dedup)w;
		break;
	case CONFIG_K_JOBS:
		cfg->jobs = (unsigned)n;
		break;
	case CONFIG_K_COUNT:
		goto bad;
	}
	a->set |= CONFIG_BIT(k);
	a->own |= CONFIG_BIT(k);
	return 0;
bad:
	/* A specific reason (a path too long) beats the generic one. */
	if (why[0] == '\0')
		snprintf(why, whylen, "expected %s", kd->expect);
	return -1;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

void
config_inherit(struct config_account *a, const struct config_account *d,
    enum config_key k)
{
	switch (k) {
	case CONFIG_K_HOST:
		set_str(&a->host, dup_or_null(d->host));
		break;
	case CONFIG_K_PORT:
		a->port = d->port;
		break;
	case CONFIG_K_TLS:
		a->tls = d->tls;
		break;
	case CONFIG_K_USER:
		set_str(&a->user, dup_or_null(d->user));
		break;
	case CONFIG_K_AUTH:
		a->auth = d->auth;
		break;
	case CONFIG_K_PASSWORD_COMMAND:
		set_str(&a->password_command, dup_or_null(d->password_command));
		break;
	case CONFIG_K_OAUTH_COMMAND:
		set_str(&a->oauth_command, dup_or_null(d->oauth_command));
		break;
	case CONFIG_K_PASSWORD_COMMAND_TIMEOUT:
		a->password_command_timeout = d->password_command_timeout;
		break;
	case CONFIG_K_NETRC:
		set_str(&a->netrc, dup_or_null(d->netrc));
		break;
	case CONFIG_K_PASSWORD:
		set_str(&a->password, dup_or_null(d->password));
		break;
	case CONFIG_K_PASSWORD_ENV:
		set_str(&a->password_env, dup_or_null(d->password_env));
		break;
	case CONFIG_K_TLS_CA:
		set_str(&a->tls_ca, dup_or_null(d->tls_ca));
		break;
	case CONFIG_K_TLS_FINGERPRINT:
		set_str(&a->tls_fingerprint, dup_or_null(d->tls_fingerprint));
		break;
	case CONFIG_K_INSECURE_PLAINTEXT:
		a->insecure_plaintext = d->insecure_plaintext;
		break;
	case CONFIG_K_FORMAT:
		a->format = d->format;
		break;
	case CONFIG_K_COMPRESS:
		a->compress = d->compress;
		break;
	case CONFIG_K_DELETE:
		a->del = d->del;
		a->older_than = d->older_than;
		break;
	case CONFIG_K_AGE_BY:
		a->age_by_date = d->age_by_date;
		break;
	case CONFIG_K_MAX_DELETES:
		a->max_deletes = d->max_deletes;
		break;
	case CONFIG_K_MAX_MESSAGE_SIZE:
		a->max_message_size = d->max_message_size;
		break;
	case CONFIG_K_TIMEOUT:
		a->timeout = d->timeout;
		break;
	case CONFIG_K_VAULT:
		set_str(&a->vault, dup_or_null(d->vault));
		break;
	case CONFIG_K_BATCH:
		a->batch = d->batch;
		break;
	case CONFIG_K_DEDUP:
	case CONFIG_K_JOBS:
	case CONFIG_K_COUNT:
		return;		/* not account keys */
	}
	a->set |= CONFIG_BIT(k);
}

void
config_account_clear(struct config_account *a)
{
	set_str(&a->host, NULL);
	set_str(&a->user, NULL);
	set_str(&a->password_command, NULL);
	set_str(&a->oauth_command, NULL);
	set_str(&a->netrc, NULL);
	set_str(&a->password, NULL);
	set_str(&a->password_env, NULL);
	set_str(&a->tls_ca, NULL);
	set_str(&a->tls_fingerprint, NULL);
	set_str(&a->vault, NULL);
	memset(a, 0, sizeof *a);
}
