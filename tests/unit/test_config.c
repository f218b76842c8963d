/*
 * test_config.c -- unit tests for core/config.c, the popvault.conf(5)
 * parser, over the options of core/opt.c (test_opt.c tests those alone).
 *
 * Tables first: every key with values it must take (and the field it
 * must fill) and values it must refuse (with the line number and a
 * word the message must hold). Then the file as a whole: [defaults]
 * merging, the checks over a whole account, a file with many mistakes
 * reported together and in order, quoting, line ends, the limits, the
 * permission check on a real file, and the default path.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "format.h"
#include "t.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define HOME	"/home/tester"
#define FP64	"0123456789abcdef0123456789ABCDEF" \
		"0123456789abcdef0123456789abcdef"
#define FPCOL	"01:23:45:67:89:ab:cd:ef:01:23:45:67:89:AB:CD:EF:" \
		"01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef"

static int
parse(const char *text, struct config *cfg, struct config_errors *errs)
{
	return config_parse_buffer("t.conf", text, strlen(text), cfg, errs);
}

static void
dump_errors(const struct config_errors *errs)
{
	size_t	i;

	for (i = 0; i < errs->n; i++)
		fprintf(stderr, "    %s\n", errs->v[i].msg);
}

/*
 * A field as a string, whatever its type, for the tables: words as
 * their place in the list popvault.conf(5) gives (auth = auto is 0,
 * user 1, apop 2, then the SASL mechanisms; format = maildir 0).
 */
static void
field(const struct config *c, const struct config_account *a, int k,
    char *buf, size_t len)
{
	const struct opt_values	*v = &a->v;
	const char		*s = NULL;
	unsigned long long	 n = 0;

	switch (k) {
	case OPT_HOST: s = v->host; break;
	case OPT_PORT: n = v->port; break;
	case OPT_TLS: n = (unsigned)v->tls; break;
	case OPT_USER: s = v->user; break;
	case OPT_AUTH:
		n = v->auth == OPT_AUTH_SASL ? 3 + (unsigned)v->sasl_mech :
		    (unsigned)v->auth;
		break;
	case OPT_PASSWORD_COMMAND: s = v->password_command; break;
	case OPT_OAUTH_COMMAND: s = v->oauth_command; break;
	case OPT_PASSWORD_COMMAND_TIMEOUT:
		n = v->password_command_timeout;
		break;
	case OPT_NETRC: s = v->netrc; break;
	case OPT_PASSWORD: s = v->password; break;
	case OPT_PASSWORD_ENV: s = v->password_env; break;
	case OPT_TLS_CA: s = v->tls_ca; break;
	case OPT_TLS_FINGERPRINT: s = v->tls_fingerprint; break;
	case OPT_INSECURE_PLAINTEXT: n = (unsigned)v->insecure_plaintext;
		break;
	case OPT_FORMAT:
		n = v->format == fmt_find("maildir") ? 0 :
		    v->format == fmt_find("mbox") ? 1 :
		    v->format == fmt_find("tar") ? 2 : 99;
		break;
	case OPT_COMPRESS: n = (unsigned)v->compress; break;
	case OPT_DELETE:
		snprintf(buf, len, "%d/%lld", (int)v->del,
		    (long long)v->older_than);
		return;
	case OPT_AGE_BY: n = (unsigned)v->age_by_date; break;
	case OPT_MAX_DELETES: n = v->max_deletes; break;
	case OPT_MAX_MESSAGE_SIZE: n = v->max_message_size; break;
	case OPT_TIMEOUT: n = v->timeout; break;
	case OPT_VAULT: s = v->vault; break;
	case OPT_BATCH: n = v->batch; break;
	case OPT_DEDUP: n = (unsigned)c->defaults.v.dedup; break;
	case OPT_JOBS: n = c->defaults.v.jobs; break;
	}
	if (s != NULL)
		snprintf(buf, len, "%s", s);
	else
		snprintf(buf, len, "%llu", n);
}

static const struct good {
	int		 key;
	const char	*line;	/* in [account a] or [defaults] */
	const char	*want;		/* field() of the result */
} goods[] = {
	{ OPT_HOST, "host = pop.example.org", "pop.example.org" },
	{ OPT_HOST, "host=192.0.2.1", "192.0.2.1" },
	{ OPT_HOST, "host = ::1", "::1" },
	{ OPT_HOST, "host = fe80::1%eth0", "fe80::1%eth0" },
	{ OPT_HOST, "host = my_host-1.EXAMPLE", "my_host-1.EXAMPLE" },
	{ OPT_PORT, "port = 1", "1" },
	{ OPT_PORT, "port = 995", "995" },
	{ OPT_PORT, "port = 65535", "65535" },
	{ OPT_PORT, "port = 00110", "110" },
	{ OPT_TLS, "tls = implicit", "0" },
	{ OPT_TLS, "tls = starttls", "1" },
	{ OPT_TLS, "tls = none\ninsecure_plaintext = yes", "2" },
	{ OPT_USER, "user = alice", "alice" },
	{ OPT_USER, "user = alice@example.org", "alice@example.org" },
	{ OPT_USER, "user = \"user.name+tag\"", "user.name+tag" },
	{ OPT_USER, "user = \xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9" },
	{ OPT_AUTH, "auth = auto", "0" },
	{ OPT_AUTH, "auth = user", "1" },
	{ OPT_AUTH, "auth = apop", "2" },
	{ OPT_AUTH, "auth = plain", "3" },
	{ OPT_AUTH, "auth = login", "4" },
	{ OPT_AUTH, "auth = cram-md5", "5" },
	{ OPT_AUTH, "auth = scram-sha-1", "6" },
	{ OPT_AUTH, "auth = scram-sha-256", "7" },
	{ OPT_AUTH, "auth = xoauth2", "8" },
	{ OPT_AUTH, "auth = oauthbearer", "9" },
	{ OPT_PASSWORD_COMMAND, "password_command = pass show mail/a",
	  "pass show mail/a" },
	{ OPT_PASSWORD_COMMAND,
	  "password_command = gpg -d ~/pw.gpg # not a comment",
	  "gpg -d ~/pw.gpg # not a comment" },
	{ OPT_OAUTH_COMMAND, "oauth_command = oauth2 --token",
	  "oauth2 --token" },
	{ OPT_NETRC, "netrc = yes", HOME "/.netrc" },
	{ OPT_NETRC, "netrc = /etc/netrc", "/etc/netrc" },
	{ OPT_NETRC, "netrc = ~/mail/netrc", HOME "/mail/netrc" },
	{ OPT_PASSWORD, "password = hunter2", "hunter2" },
	{ OPT_PASSWORD, "password = \"  #x\\\"y\\\\ \"", "  #x\"y\\ " },
	{ OPT_PASSWORD_ENV, "password_env = MAIL_PW", "MAIL_PW" },
	{ OPT_PASSWORD_ENV, "password_env = _x1", "_x1" },
	{ OPT_TLS_CA, "tls_ca = /etc/ssl/ca.pem", "/etc/ssl/ca.pem" },
	{ OPT_TLS_CA, "tls_ca = ~/ca.pem", HOME "/ca.pem" },
	{ OPT_TLS_FINGERPRINT, "tls_fingerprint = sha256:" FP64,
	  "sha256:" FP64 },
	{ OPT_TLS_FINGERPRINT, "tls_fingerprint = SHA256:" FPCOL,
	  "SHA256:" FPCOL },
	{ OPT_INSECURE_PLAINTEXT, "insecure_plaintext = yes", "1" },
	{ OPT_INSECURE_PLAINTEXT, "insecure_plaintext = no", "0" },
	{ OPT_FORMAT, "format = maildir", "0" },
	{ OPT_FORMAT, "format = mbox", "1" },
	{ OPT_FORMAT, "format = tar", "2" },
	{ OPT_COMPRESS, "compress = none", "0" },
	{ OPT_COMPRESS, "compress = gzip", "1" },
	{ OPT_COMPRESS, "compress = zstd", "2" },
	{ OPT_COMPRESS, "compress = xz", "3" },
	{ OPT_DELETE, "delete = never", "0/0" },
	{ OPT_DELETE, "delete = verified", "1/0" },
	{ OPT_DELETE, "delete = older-than=30d", "2/2592000" },
	{ OPT_DELETE, "delete = older-than=2w", "2/1209600" },
	{ OPT_DELETE, "delete = older-than=6m", "2/15552000" },
	{ OPT_DELETE, "delete = older-than=1y", "2/31536000" },
	{ OPT_AGE_BY, "age_by = first-seen", "0" },
	{ OPT_AGE_BY, "age_by = date", "1" },
	{ OPT_MAX_DELETES, "max_deletes = 1", "1" },
	{ OPT_MAX_DELETES, "max_deletes = 500", "500" },
	{ OPT_MAX_DELETES, "max_deletes = 4294967295", "4294967295" },
	{ OPT_MAX_MESSAGE_SIZE, "max_message_size = 1000", "1000" },
	{ OPT_MAX_MESSAGE_SIZE, "max_message_size = 512k", "524288" },
	{ OPT_MAX_MESSAGE_SIZE, "max_message_size = 50M", "52428800" },
	{ OPT_MAX_MESSAGE_SIZE, "max_message_size = 1G", "1073741824" },
	{ OPT_MAX_MESSAGE_SIZE, "max_message_size = 2g", "2147483648" },
	{ OPT_PASSWORD_COMMAND_TIMEOUT, "password_command_timeout = 1",
	  "1" },
	{ OPT_PASSWORD_COMMAND_TIMEOUT,
	  "password_command_timeout = 86400", "86400" },
	{ OPT_TIMEOUT, "timeout = 1", "1" },
	{ OPT_TIMEOUT, "timeout = 86400", "86400" },
	{ OPT_VAULT, "vault = /srv/vault", "/srv/vault" },
	{ OPT_VAULT, "vault = ~/vault", HOME "/vault" },
	{ OPT_VAULT, "vault = ~", HOME },
	{ OPT_VAULT, "vault = \"/srv/my vault \"", "/srv/my vault " },
	{ OPT_BATCH, "batch = 1", "1" },
	{ OPT_BATCH, "batch = 100000", "100000" },
	{ OPT_DEDUP, "dedup = vault", "0" },
	{ OPT_DEDUP, "dedup = account", "1" },
	{ OPT_DEDUP, "dedup = none", "2" },
	{ OPT_JOBS, "jobs = 1", "1" },
	{ OPT_JOBS, "jobs = 64", "64" },
};

/*
 * A config with line in the account (or [defaults] for dedup and
 * jobs), plus the required host and user unless line is about them
 * (key -1: about no key). The line under test is line 6.
 */
static void
build(char *buf, size_t len, int key, const char *line)
{
	if (key == OPT_DEDUP || key == OPT_JOBS)
		snprintf(buf, len, "# test\n[defaults]\n#\n#\n#\n%s\n"
		    "[account a]\nhost = h\nuser = u\n", line);
	else
		snprintf(buf, len, "# test\n[defaults]\n#\n[account a]\n"
		    "%s\n%s\n%s\n", key == OPT_HOST ? "#" : "host = h",
		    line, key == OPT_USER ? "#" : "user = u");
}

static void
test_keys_good(void)
{
	struct config		 cfg;
	struct config_errors	 errs;
	const struct good	*g;
	char			 text[1024], got[512];
	size_t			 i;
	int			 r;

	setenv("HOME", HOME, 1);
	for (i = 0; i < NELEM(goods); i++) {
		g = &goods[i];
		build(text, sizeof text, g->key, g->line);
		r = parse(text, &cfg, &errs);
		T_CHECKF(r == 0 && errs.n == 0, "\"%s\": refused", g->line);
		if (r != 0) {
			dump_errors(&errs);
			config_errors_free(&errs);
			continue;
		}
		T_CHECK(cfg.nacct == 1);
		if (g->key == OPT_DEDUP || g->key == OPT_JOBS) {
			T_CHECK(OPT_ISSET(&cfg.defaults.v, g->key));
			T_CHECK(cfg.defaults.keyline[g->key] == 6);
		} else {
			T_CHECKF(OPT_ISSET(&cfg.acct[0].v, g->key) &&
			    (cfg.acct[0].own & OPT_BIT(g->key)),
			    "\"%s\": not marked set", g->line);
			T_CHECK(cfg.acct[0].keyline[g->key] == 6);
		}
		field(&cfg, &cfg.acct[0], g->key, got, sizeof got);
		T_CHECKF(strcmp(got, g->want) == 0, "\"%s\": got \"%s\", "
		    "want \"%s\"", g->line, got, g->want);
		config_free(&cfg);
		config_errors_free(&errs);
	}
}

static const struct bad {
	int		 key;
	const char	*line;
	const char	*word;		/* in the message */
} bads[] = {
	{ OPT_HOST, "host = ho st", "host name" },
	{ OPT_HOST, "host = [::1]", "host name" },
	{ OPT_HOST, "host = a/b", "host name" },
	{ OPT_HOST, "host = a@b", "host name" },
	{ OPT_HOST, "host =", "empty value" },
	{ OPT_HOST, "host = \"\"", "empty value" },
	{ OPT_HOST, "host = h\x01", "control character" },
	{ OPT_HOST, "host = h\rx", "control character" },
	{ OPT_PORT, "port = 0", "1 to 65535" },
	{ OPT_PORT, "port = 65536", "1 to 65535" },
	{ OPT_PORT, "port = abc", "1 to 65535" },
	{ OPT_PORT, "port = -1", "1 to 65535" },
	{ OPT_PORT, "port = +1", "1 to 65535" },
	{ OPT_PORT, "port = 1 2", "1 to 65535" },
	{ OPT_PORT, "port = 0x10", "1 to 65535" },
	{ OPT_PORT, "port = 99999999999999999999999", "1 to 65535" },
	{ OPT_TLS, "tls = TLS", "implicit, starttls or none" },
	{ OPT_TLS, "tls = yes", "implicit, starttls or none" },
	{ OPT_TLS, "tls = ssl", "implicit, starttls or none" },
	{ OPT_USER, "user = a b", "user name" },
	{ OPT_AUTH, "auth = md5", "auto, user, apop" },
	{ OPT_AUTH, "auth = USER", "oauthbearer" },
	{ OPT_AUTH, "auth = scram-sha-512", "scram-sha-256" },
	{ OPT_PASSWORD_COMMAND, "password_command =", "empty" },
	{ OPT_OAUTH_COMMAND, "oauth_command = \"\"", "empty" },
	{ OPT_NETRC, "netrc = netrc", "yes (for ~/.netrc)" },
	{ OPT_NETRC, "netrc = ~bob/netrc", "path" },
	{ OPT_NETRC, "netrc = no", "path" },
	{ OPT_PASSWORD, "password =", "empty" },
	{ OPT_PASSWORD_ENV, "password_env = 1ABC", "environment" },
	{ OPT_PASSWORD_ENV, "password_env = A-B", "environment" },
	{ OPT_PASSWORD_ENV, "password_env = $PW", "environment" },
	{ OPT_TLS_CA, "tls_ca = ca.pem", "path starting with /" },
	{ OPT_TLS_CA, "tls_ca = ~x/ca.pem", "path starting with /" },
	{ OPT_TLS_FINGERPRINT, "tls_fingerprint = " FP64, "sha256:" },
	{ OPT_TLS_FINGERPRINT, "tls_fingerprint = sha1:" FP64,
	  "64 hex" },
	{ OPT_TLS_FINGERPRINT, "tls_fingerprint = sha256:abc",
	  "64 hex" },
	{ OPT_TLS_FINGERPRINT, "tls_fingerprint = sha256:" FP64 "0",
	  "64 hex" },
	{ OPT_TLS_FINGERPRINT,
	  "tls_fingerprint = sha256:g123456789abcdef0123456789abcdef"
	  "0123456789abcdef0123456789abcdef", "64 hex" },
	{ OPT_INSECURE_PLAINTEXT, "insecure_plaintext = true",
	  "yes or no" },
	{ OPT_INSECURE_PLAINTEXT, "insecure_plaintext = 1", "yes or no" },
	{ OPT_INSECURE_PLAINTEXT, "insecure_plaintext = Yes",
	  "yes or no" },
	{ OPT_FORMAT, "format = MAILDIR", "maildir, mbox, tar or eml" },
	{ OPT_FORMAT, "format = zip", "maildir, mbox, tar or eml" },
	{ OPT_COMPRESS, "compress = bzip2", "none, gzip, zstd or xz" },
	{ OPT_DELETE, "delete = sometimes", "older-than=DURATION" },
	{ OPT_DELETE, "delete = older-than=30", "older-than=DURATION" },
	{ OPT_DELETE, "delete = older-than=0d", "older-than=DURATION" },
	{ OPT_DELETE, "delete = older-than=30x", "older-than=DURATION" },
	{ OPT_DELETE, "delete = older-than=d", "older-than=DURATION" },
	{ OPT_DELETE, "delete = older-than=-1d", "older-than=DURATION" },
	{ OPT_DELETE, "delete = older-than = 30d", "older-than=DURATION" },
	{ OPT_AGE_BY, "age_by = arrival", "first-seen or date" },
	{ OPT_MAX_DELETES, "max_deletes = 0", "positive number" },
	{ OPT_MAX_DELETES, "max_deletes = -1", "positive number" },
	{ OPT_MAX_DELETES, "max_deletes = 4294967296", "positive number" },
	{ OPT_MAX_DELETES, "max_deletes = 1k", "positive number" },
	{ OPT_MAX_MESSAGE_SIZE, "max_message_size = 0", "50M" },
	{ OPT_MAX_MESSAGE_SIZE, "max_message_size = 50T", "50M" },
	{ OPT_MAX_MESSAGE_SIZE, "max_message_size = 50MB", "50M" },
	{ OPT_MAX_MESSAGE_SIZE, "max_message_size = M", "50M" },
	{ OPT_MAX_MESSAGE_SIZE, "max_message_size = -1M", "50M" },
	{ OPT_MAX_MESSAGE_SIZE, "max_message_size = 1.5G", "50M" },
	{ OPT_MAX_MESSAGE_SIZE, "max_message_size = 17179869184G",
	  "50M" },
	{ OPT_PASSWORD_COMMAND_TIMEOUT, "password_command_timeout = 0",
	  "1 to 86400" },
	{ OPT_PASSWORD_COMMAND_TIMEOUT,
	  "password_command_timeout = 60s", "1 to 86400" },
	{ OPT_TIMEOUT, "timeout = 0", "1 to 86400" },
	{ OPT_TIMEOUT, "timeout = 86401", "1 to 86400" },
	{ OPT_TIMEOUT, "timeout = 1.5", "1 to 86400" },
	{ OPT_TIMEOUT, "timeout = 60s", "1 to 86400" },
	{ OPT_VAULT, "vault = vault", "path starting with /" },
	{ OPT_VAULT, "vault = ./vault", "path starting with /" },
	{ OPT_BATCH, "batch = 0", "1 to 100000" },
	{ OPT_BATCH, "batch = 100001", "1 to 100000" },
	{ OPT_DEDUP, "dedup = both", "vault, account or none" },
	{ OPT_JOBS, "jobs = 0", "1 to 64" },
	{ OPT_JOBS, "jobs = 65", "1 to 64" },
	/* Quoting mistakes, whatever the key. */
	{ OPT_HOST, "host = \"h", "unterminated quote" },
	{ OPT_HOST, "host = \"", "unterminated quote" },
	{ OPT_HOST, "host = \"h\\\"", "unterminated quote" },
	{ OPT_HOST, "host = \"h\\", "unterminated quote" },
	{ OPT_HOST, "host = \"h\\n\"", "escape" },
	{ OPT_HOST, "host = \"h\" x", "after the closing quote" },
	{ OPT_HOST, "host = \"h\"\"", "after the closing quote" },
	/* Shape of the line. */
	{ -1, "host pop.example.org", "missing '=' after \"host\"" },
	{ -1, "= pop.example.org", "missing key" },
	{ -1, "hostname = h", "unknown key \"hostname\"" },
	{ -1, "Host = h", "did you mean host?" },
	{ -1, "max-deletes = 5", "did you mean max_deletes?" },
	{ -1, "ho st = h", "unknown key \"ho st\"" },
	{ -1, "h\x01st = h", "unknown key \"h\\x01st\"" },
};

static void
test_keys_bad(void)
{
	struct config		 cfg;
	struct config_errors	 errs;
	const struct bad	*b;
	char			 text[1024];
	size_t			 i;
	int			 r;

	setenv("HOME", HOME, 1);
	for (i = 0; i < NELEM(bads); i++) {
		b = &bads[i];
		build(text, sizeof text, b->key, b->line);
		/* Exactly one: a refused host must not add "no host". */
		r = parse(text, &cfg, &errs);
		T_CHECKF(r == -1, "\"%s\": accepted", b->line);
		T_CHECK(cfg.nacct == 0 && cfg.acct == NULL);
		if (errs.n != 1) {
			T_CHECKF(0, "\"%s\": %zu errors", b->line, errs.n);
			dump_errors(&errs);
		}
		if (errs.n >= 1) {
			T_CHECKF(strncmp(errs.v[0].msg, "t.conf:6: ", 10) == 0,
			    "\"%s\": \"%s\"", b->line, errs.v[0].msg);
			T_CHECKF(errs.v[0].line == 6, "\"%s\": line %u",
			    b->line, errs.v[0].line);
			T_CHECKF(strstr(errs.v[0].msg, b->word) != NULL,
			    "\"%s\": \"%s\" lacks \"%s\"", b->line,
			    errs.v[0].msg, b->word);
		}
		config_free(&cfg);
		config_errors_free(&errs);
	}
}

/* The key's name is in each message about a bad value. */
static void
test_bad_value_names_key(void)
{
	struct config		cfg;
	struct config_errors	errs;

	T_CHECK(parse("[account a]\nhost = h\nuser = u\nport = 0\n", &cfg,
	    &errs) == -1);
	T_CHECK(errs.n == 1 && strcmp(errs.v[0].msg, "t.conf:4: port = "
	    "\"0\": expected a number from 1 to 65535") == 0);
	config_errors_free(&errs);
	T_CHECK(parse("[account a]\nhost = h\nuser = u\ndedup = vault\n",
	    &cfg, &errs) == -1);
	T_CHECK(errs.n == 1 && strcmp(errs.v[0].msg, "t.conf:4: dedup is "
	    "only valid in [defaults]") == 0);
	config_errors_free(&errs);
}

/* Secrets in a refused line stay out of the messages. */
static void
test_password_not_echoed(void)
{
	static const char	*texts[] = {
		"[account a]\nhost = h\nuser = u\npassword = \"Sekr1t\x01\"\n",
		"[account a]\nhost = h\nuser = u\npassword Sekr1t\n",
		"[account a]\nhost = h\nuser = u\npassword = \"Sekr1t\n",
		"[account a]\nhost = h\nuser = u\npassword = \"Sekr1t\\x\"\n",
		"[account a]\nhost = h\nuser = u\npassword = \"Sekr1t\" x\n",
	};
	struct config		cfg;
	struct config_errors	errs;
	size_t			i;

	for (i = 0; i < NELEM(texts); i++) {
		T_CHECK(parse(texts[i], &cfg, &errs) == -1);
		T_CHECKF(errs.n == 1 && strstr(errs.v[0].msg, "Sekr1t") ==
		    NULL, "%zu: %s", i, errs.n ? errs.v[0].msg : "");
		config_errors_free(&errs);
	}
}

static const char merged[] =
    "[defaults]\n"				/* 1 */
    "host = pop.example.org\n"
    "port = 1995\n"
    "tls = starttls\n"
    "format = mbox\n"				/* 5 */
    "compress = gzip\n"
    "delete = older-than=30d\n"
    "vault = ~/archive\n"
    "password_command = pass show mail\n"
    "dedup = account\n"				/* 10 */
    "jobs = 4\n"
    "\n"
    "[account work]\n"
    "user = alice\n"
    "port = 995\n"				/* 15 */
    "tls = implicit\n"
    "\n"
    "[account home]\n"
    "host = mail.example.net\n"
    "user = bob\n"				/* 20 */
    "delete = never\n"
    "password_env = HOME_PW\n"
    "[account plain]\n"
    "user = carol\n";

static void
test_defaults_merge(void)
{
	struct config			 cfg;
	struct config_errors		 errs;
	const struct config_account	*w, *h, *p;

	setenv("HOME", HOME, 1);
	T_CHECK(parse(merged, &cfg, &errs) == 0);
	dump_errors(&errs);
	T_CHECK(cfg.nacct == 3);
	if (cfg.nacct != 3)
		goto out;
	T_CHECK(strcmp(cfg.path, "t.conf") == 0);
	T_CHECK(cfg.defaults.v.dedup == OPT_DEDUP_ACCOUNT &&
	    cfg.defaults.v.jobs == 4);
	T_CHECK(OPT_ISSET(&cfg.defaults.v, OPT_JOBS));
	T_CHECK(cfg.defaults.line == 1);
	w = config_find(&cfg, "work");
	h = config_find(&cfg, "home");
	p = config_find(&cfg, "plain");
	T_CHECK(w == &cfg.acct[0] && h == &cfg.acct[1] && p == &cfg.acct[2]);
	T_CHECK(config_find(&cfg, "Work") == NULL);
	T_CHECK(config_find(&cfg, "nope") == NULL);
	if (w == NULL || h == NULL || p == NULL)
		goto out;
	T_CHECK(w->line == 13 && h->line == 18 && p->line == 23);

	/* work: own port and tls; host, format, ... from [defaults]. */
	T_CHECK(strcmp(w->v.host, "pop.example.org") == 0);
	T_CHECK(w->v.host != cfg.defaults.v.host);	/* its own copy */
	T_CHECK(w->v.port == 995 && w->v.tls == POP3_TLS_IMPLICIT);
	T_CHECK(w->v.format == fmt_find("mbox") &&
	    w->v.compress == FMT_COMP_GZIP);
	T_CHECK(w->v.del == DEL_OLDER && w->v.older_than == 30 * 86400);
	T_CHECK(strcmp(w->v.vault, HOME "/archive") == 0);
	T_CHECK(strcmp(w->v.password_command, "pass show mail") == 0);
	T_CHECK(w->own == (OPT_BIT(OPT_USER) |
	    OPT_BIT(OPT_PORT) | OPT_BIT(OPT_TLS)));
	T_CHECK(OPT_ISSET(&w->v, OPT_HOST) &&
	    !(w->own & OPT_BIT(OPT_HOST)));
	T_CHECK(w->keyline[OPT_PORT] == 15 &&
	    w->keyline[OPT_HOST] == 0);
	/* Unset stays unset: the caller applies built-in defaults. */
	T_CHECK(!OPT_ISSET(&w->v, OPT_TIMEOUT) &&
	    !OPT_ISSET(&w->v, OPT_BATCH) &&
	    !OPT_ISSET(&w->v, OPT_AUTH) && w->v.tls_ca == NULL);
	/* [defaults]-only keys do not land in accounts. */
	T_CHECK(!OPT_ISSET(&w->v, OPT_DEDUP) &&
	    !OPT_ISSET(&w->v, OPT_JOBS));

	/* home: own host and delete; its own password source wins. */
	T_CHECK(strcmp(h->v.host, "mail.example.net") == 0);
	T_CHECK(h->v.port == 1995 && h->v.tls == POP3_TLS_STARTTLS);
	T_CHECK(h->v.del == DEL_NEVER && h->v.older_than == 0);
	T_CHECK(strcmp(h->v.password_env, "HOME_PW") == 0);
	T_CHECK(h->v.password_command == NULL &&
	    !OPT_ISSET(&h->v, OPT_PASSWORD_COMMAND));

	/* plain: everything but user from [defaults]. */
	T_CHECK(strcmp(p->v.user, "carol") == 0 && p->v.port == 1995);
	T_CHECK(strcmp(p->v.password_command, "pass show mail") == 0);
	T_CHECK(p->v.password_command != w->v.password_command);
out:
	config_free(&cfg);
	config_errors_free(&errs);
	/* config_free twice is harmless. */
	config_free(&cfg);
}

static const struct whole {
	const char	*text;
	size_t		 nerr;		/* how many messages */
	unsigned	 line;		/* of the first */
	const char	*word;		/* in the first */
} wholes[] = {
	/* host and user are required, at the header. */
	{ "[account a]\nuser = u\n", 1, 1, "no host" },
	{ "#\n[account a]\nhost = h\n", 1, 2, "no user" },
	{ "[defaults]\nhost = h\nuser = u\n[account a]\n", 0, 0, NULL },
	{ "[defaults]\nuser = u\n[account a]\nhost = h\n", 0, 0, NULL },
	/* tls = none needs insecure_plaintext = yes. */
	{ "[account a]\nhost = h\nuser = u\ntls = none\n", 1, 4,
	  "tls = none sends the password in clear; add insecure_plaintext = "
	  "yes" },
	{ "[account a]\nhost = h\nuser = u\ntls = none\n"
	  "insecure_plaintext = no\n", 1, 4, "insecure_plaintext = yes" },
	{ "[account a]\nhost = h\nuser = u\ninsecure_plaintext = yes\n"
	  "tls = none\n", 0, 0, NULL },
	{ "[defaults]\ninsecure_plaintext = yes\n[account a]\nhost = h\n"
	  "user = u\ntls = none\n", 0, 0, NULL },
	{ "[defaults]\ntls = none\n[account a]\nhost = h\nuser = u\n", 1, 3,
	  "(from [defaults]) sends the password in clear" },
	{ "[defaults]\ntls = none\n[account a]\nhost = h\nuser = u\n"
	  "tls = implicit\n", 0, 0, NULL },
	/* One password source per account. */
	{ "[account a]\nhost = h\nuser = u\npassword_command = x\n"
	  "password_env = PW\n", 1, 5, "more than one password source" },
	{ "[account a]\nhost = h\nuser = u\nnetrc = /n\n#\npassword = p\n", 1,
	  6, "netrc (line 4), password (line 6)" },
	{ "[defaults]\npassword_command = x\nnetrc = yes\n[account a]\n"
	  "host = h\nuser = u\npassword_env = PW\n", 1, 3,
	  "[defaults] has more than one password source" },
	{ "[defaults]\npassword_command = x\n[account a]\nhost = h\n"
	  "user = u\nnetrc = yes\n", 0, 0, NULL },
	{ "[defaults]\npassword_command = x\n[account a]\nhost = h\n"
	  "user = u\noauth_command = y\n", 0, 0, NULL },
	/* Sections. */
	{ "", 0, 0, NULL },
	{ "# only a comment\n; and another\n\n   \t\n", 0, 0, NULL },
	{ "[defaults]\n", 0, 0, NULL },
	{ "[ defaults ]\n", 0, 0, NULL },
	{ "[account\ta.b_c@d+e-f]\nhost = h\nuser = u\n", 0, 0, NULL },
	{ "[  account   x  ]\nhost = h\nuser = u\n", 0, 0, NULL },
	{ "[Defaults]\n", 1, 1, "unknown section [Defaults]" },
	{ "[accounts x]\n", 1, 1, "unknown section [accounts x]" },
	{ "[account]\n", 1, 1, "needs a name" },
	{ "[account ]\n", 1, 1, "needs a name" },
	{ "[account a b]\nhost = h\nuser = u\n", 1, 1, "bad account name" },
	{ "[account a/b]\nhost = h\nuser = u\n", 1, 1, "bad account name" },
	{ "[account a]b\n", 1, 1, "text after ']'" },
	{ "[account a] # work\n", 1, 1, "text after ']'" },
	{ "[account a\nhost = h\n", 1, 1, "missing ']'" },
	{ "[account a]\nhost = h\nuser = u\n[account a]\nhost = h\n", 1, 4,
	  "duplicate account \"a\" (first at line 1)" },
	{ "[defaults]\n[account a]\nhost = h\nuser = u\n[defaults]\n", 1, 5,
	  "second [defaults]" },
	/* Keys: unknown sections swallow theirs; scratch ones check. */
	{ "[bogus]\nnot_a_key = 1\nport = 0\n", 1, 1, "unknown section" },
	{ "[account a]\nhost = h\nuser = u\n[account a]\nport = 0\n", 2, 4,
	  "duplicate account" },
	{ "[account a b]\nhost = h\nport = x\nport = 1\n", 3, 1,
	  "bad account name" },
	{ "host = h\n", 1, 1, "\"host\" outside a section" },
	{ "[account a]\nhost = h\nuser = u\nhost = h\n", 1, 4,
	  "duplicate key host (first at line 2)" },
	{ "[account a]\nhost = h\nuser = u\nport = 1\nport = 0\n", 1, 5,
	  "duplicate key port (first at line 4)" },
	{ "[defaults]\njobs = 2\njobs = 3\n", 1, 3, "duplicate key jobs" },
	{ "[account a]\nhost = h\nuser = u\njobs = 2\n", 1, 4,
	  "only valid in [defaults]" },
	{ "[account a]\n  host\t=\th  \n\tuser=u\n", 0, 0, NULL },
	{ "  ; [account x]\n\t# host = h\n", 0, 0, NULL },
};

static void
test_whole(void)
{
	struct config		 cfg;
	struct config_errors	 errs;
	const struct whole	*w;
	char			 pre[32];
	size_t			 i;
	int			 r;

	for (i = 0; i < NELEM(wholes); i++) {
		w = &wholes[i];
		r = parse(w->text, &cfg, &errs);
		T_CHECKF(r == (w->nerr ? -1 : 0) && errs.n == w->nerr,
		    "%zu: %zu errors, want %zu", i, errs.n, w->nerr);
		if (errs.n != w->nerr)
			dump_errors(&errs);
		snprintf(pre, sizeof pre, "t.conf:%u: ", w->line);
		if (w->nerr > 0 && errs.n > 0)
			T_CHECKF(strncmp(errs.v[0].msg, pre,
			    strlen(pre)) == 0 &&
			    strstr(errs.v[0].msg, w->word) != NULL,
			    "%zu: \"%s\": want %s... %s", i, errs.v[0].msg,
			    pre, w->word);
		config_free(&cfg);
		config_errors_free(&errs);
	}
}

/* [destination NAME]: its own keys only, nothing from [defaults]. */
static void
test_destinations(void)
{
	static const struct {
		const char	*text;
		unsigned	 line;	/* of the first error; 0: none */
		const char	*word;
	} t[] = {
		{ "[defaults]\npassword_command = pop-pw\nrate_bytes = 1M\n", 3,
		  "only valid in [destination" },
		{ "[destination d]\nto = imaps://me@h/A\nhost = h\n", 3,
		  "not valid in [destination" },
		{ "[destination d]\nto = imaps://me@h/A\ndelete = verified\n",
		  3, "not valid in [destination" },
		{ "[destination d]\nprovider = gmail\n", 1, "has no to" },
		{ "[destination d]\nto = pop3s://me@h\n", 2, "imaps://" },
		{ "[destination d]\nto = imaps://me@h/A\n[destination d]\n"
		  "to = imaps://me@h/B\n", 3, "duplicate destination" },
		{ "[destination]\n", 1, "needs a name" },
		{ "[destination d]\nto = imaps://me@h/A\nprovider = yahoo\n",
		  3, "provider" },
		{ "[destination d]\nto = imaps://me@h/A\npassword = x\n"
		  "password_command = y\n", 4, "more than one password" },
	};
	static const char good[] =
	    "[defaults]\npassword_command = pop-pw\ntls_ca = /etc/pop-ca\n"
	    "[account a]\nhost = pop.example\nuser = u\n"
	    "[destination new]\nto = imaps://me@imap.example/Archive\n"
	    "password_command = imap-pw\nprovider = gmail\n"
	    "rate_messages = 0.5\nimap_flags = \\Seen \\Flagged\n"
	    "daily_bytes = 100M\n";
	struct config			 cfg;
	struct config_errors		 errs;
	const struct config_account	*d;
	char				 pre[32];
	size_t				 i;

	for (i = 0; i < NELEM(t); i++) {
		T_CHECK(parse(t[i].text, &cfg, &errs) == -1);
		T_CHECKF(errs.n > 0, "%zu: no error", i);
		snprintf(pre, sizeof pre, "t.conf:%u: ", t[i].line);
		if (errs.n > 0)
			T_CHECKF(strncmp(errs.v[0].msg, pre, strlen(pre)) == 0
			    && strstr(errs.v[0].msg, t[i].word) != NULL,
			    "%zu: \"%s\": want %s... %s", i, errs.v[0].msg, pre,
			    t[i].word);
		config_free(&cfg);
		config_errors_free(&errs);
	}
	T_CHECK(parse(good, &cfg, &errs) == 0);
	dump_errors(&errs);
	T_CHECK(cfg.nacct == 1 && cfg.ndest == 1);
	T_CHECK(config_find_dest(&cfg, "a") == NULL);
	T_CHECK(config_find(&cfg, "new") == NULL);
	if ((d = config_find_dest(&cfg, "new")) != NULL) {
		T_CHECK(strcmp(d->v.to, "imaps://me@imap.example/Archive") == 0);
		T_CHECK(strcmp(d->v.password_command, "imap-pw") == 0);
		T_CHECK(strcmp(d->v.rate_messages, "0.5") == 0);
		T_CHECK(strcmp(d->v.imap_flags, "\\Seen \\Flagged") == 0);
		T_CHECK(d->v.daily_bytes == 100ull * 1024 * 1024);
		T_CHECK(OPT_ISSET(&d->v, OPT_PROVIDER) && d->v.provider == 1);
		/* Nothing of [defaults]: its tls_ca is the POP3 side's. */
		T_CHECK(!OPT_ISSET(&d->v, OPT_TLS_CA));
	} else
		T_CHECK(d != NULL);
	/* The account still takes [defaults]. */
	T_CHECK(OPT_ISSET(&cfg.acct[0].v, OPT_TLS_CA));
	config_free(&cfg);
	config_errors_free(&errs);
}

/* A NUL byte inside a line (the table's strings cannot hold one). */
static void
test_nul(void)
{
	static const char	text[] =
	    "[account a]\nhost = h\0x\nuser = u\n";
	struct config		cfg;
	struct config_errors	errs;

	T_CHECK(config_parse_buffer("t.conf", text, sizeof text - 1, &cfg,
	    &errs) == -1);
	T_CHECK(errs.n == 2);
	if (errs.n == 2) {
		T_CHECK(strstr(errs.v[0].msg, "t.conf:1: ") != NULL &&
		    strstr(errs.v[0].msg, "no host") != NULL);
		T_CHECK(strcmp(errs.v[1].msg, "t.conf:2: NUL byte in line") ==
		    0);
	}
	config_errors_free(&errs);
}

/*
 * Six mistakes of six kinds: all reported, each at its line, in file
 * order (the missing user is found after parsing, yet comes third).
 */
static void
test_many_mistakes(void)
{
	static const char	text[] =
	    "# popvault\n"			/* 1 */
	    "host = early\n"			/* 2: outside a section */
	    "[defaults]\n"			/* 3 */
	    "timeout = 0\n"			/* 4: bad value */
	    "[account a]\n"			/* 5: no user */
	    "host = h\n"			/* 6 */
	    "pasword = x\n"			/* 7: unknown key */
	    "[acount b]\n"			/* 8: unknown section */
	    "host = ignored\n"			/* 9 */
	    "[account c]\n"			/* 10 */
	    "tls starttls\n"			/* 11: missing '=' */
	    "host = h\n"			/* 12 */
	    "user = u\n";			/* 13 */
	static const struct {
		unsigned	 line;
		const char	*word;
	} want[] = {
		{ 2, "outside a section" },
		{ 4, "timeout = \"0\": expected seconds from 1 to 86400" },
		{ 5, "account \"a\" has no user" },
		{ 7, "unknown key \"pasword\"" },
		{ 8, "unknown section [acount b]" },
		{ 11, "missing '=' after \"tls\"" },
	};
	struct config		cfg;
	struct config_errors	errs;
	char			pre[32];
	size_t			i;

	T_CHECK(parse(text, &cfg, &errs) == -1);
	T_CHECKF(errs.n == NELEM(want), "%zu errors", errs.n);
	if (errs.n != NELEM(want))
		dump_errors(&errs);
	for (i = 0; i < errs.n && i < NELEM(want); i++) {
		snprintf(pre, sizeof pre, "t.conf:%u: ", want[i].line);
		T_CHECKF(errs.v[i].line == want[i].line &&
		    strncmp(errs.v[i].msg, pre, strlen(pre)) == 0 &&
		    strstr(errs.v[i].msg, want[i].word) != NULL,
		    "%zu: \"%s\"", i, errs.v[i].msg);
	}
	config_errors_free(&errs);
}

static const struct quoted {
	const char	*value;	/* after "password_command =" */
	const char	*want;
} quoteds[] = {
	{ " x", "x" },
	{ "x", "x" },
	{ "  x  \t", "x" },
	{ " a  b ", "a  b" },
	{ " \"  spaced  \"", "  spaced  " },
	{ " \"a # b\"", "a # b" },
	{ " a # b", "a # b" },
	{ " a ; b", "a ; b" },
	{ " \"say \\\"hi\\\"\"", "say \"hi\"" },
	{ " \"back\\\\slash\"", "back\\slash" },
	{ " \"\\\\\"", "\\" },
	{ " \"x\"  \t", "x" },
	{ " x \"y\"", "x \"y\"" },
	{ " x\\y", "x\\y" },
	{ " =x", "=x" },
	{ " a=b", "a=b" },
	{ " \"tab\there\"", "tab\there" },
	{ " '\"'", "'\"'" },
};

static void
test_quotes(void)
{
	struct config		 cfg;
	struct config_errors	 errs;
	const struct quoted	*q;
	char			 text[512];
	size_t			 i;

	for (i = 0; i < NELEM(quoteds); i++) {
		q = &quoteds[i];
		snprintf(text, sizeof text, "[account a]\nhost = h\nuser = u\n"
		    "password_command =%s\n", q->value);
		T_CHECKF(parse(text, &cfg, &errs) == 0, "[%s]: refused",
		    q->value);
		dump_errors(&errs);
		if (cfg.nacct == 1)
			T_CHECKF(strcmp(cfg.acct[0].v.password_command,
			    q->want) == 0, "[%s]: got [%s]", q->value,
			    cfg.acct[0].v.password_command);
		config_free(&cfg);
		config_errors_free(&errs);
	}
}

static void
test_line_ends(void)
{
	static const char	*texts[] = {
		"[account a]\r\nhost = h\r\nuser = u\r\n",
		"[account a]\r\nhost = h\r\nuser = u",
		"[account a]\nhost = h\nuser = u",
		"[account a]\nhost = h\r\nuser = u\r",
		"\xef\xbb\xbf[account a]\nhost = h\nuser = u\n",
		"\n\n[account a]\n\r\n\r\nhost = h\n\n\nuser = u\n\n",
	};
	struct config		cfg;
	struct config_errors	errs;
	size_t			i;

	for (i = 0; i < NELEM(texts); i++) {
		T_CHECKF(parse(texts[i], &cfg, &errs) == 0, "%zu", i);
		dump_errors(&errs);
		if (cfg.nacct == 1)
			T_CHECKF(strcmp(cfg.acct[0].v.host, "h") == 0 &&
			    strcmp(cfg.acct[0].v.user, "u") == 0, "%zu: [%s] "
			    "[%s]", i, cfg.acct[0].v.host, cfg.acct[0].v.user);
		config_free(&cfg);
		config_errors_free(&errs);
	}
	/* CRLF line numbers; a lone CR inside a line is not an end. */
	T_CHECK(parse("[account a]\r\nhost = h\r\nport = 0\r\nuser = u\r\n",
	    &cfg, &errs) == -1);
	T_CHECK(errs.n == 1 && strncmp(errs.v[0].msg, "t.conf:3: ", 10) == 0);
	config_errors_free(&errs);
	T_CHECK(parse("[account a]\nhost = h\ruser = u\n", &cfg, &errs) == -1);
	T_CHECK(errs.n == 2 && strstr(errs.v[1].msg, "t.conf:2: host: "
	    "control character") != NULL);
	config_errors_free(&errs);
}

/* Lines of CONFIG_LINE_MAX bytes are fine; one more is an error. */
static void
test_long_line(void)
{
	struct config		 cfg;
	struct config_errors	 errs;
	size_t			 sizes[] = { CONFIG_LINE_MAX,
				    CONFIG_LINE_MAX + 1, 100000 };
	char			*text, *p;
	size_t			 i, n, vlen;
	int			 r;

	for (i = 0; i < NELEM(sizes); i++) {
		n = sizes[i];
		text = malloc(n + 200);
		if (text == NULL)
			return;
		/* line 2: "password_command = xxx...", n bytes, then CRLF. */
		p = text + sprintf(text, "[account a]\npassword_command = ");
		vlen = n - strlen("password_command = ");
		memset(p, 'x', vlen);
		p += vlen;
		strcpy(p, "\r\nhost = h\nuser = u\nport = 0\n");
		r = parse(text, &cfg, &errs);
		T_CHECK(r == -1);
		if (n <= CONFIG_LINE_MAX) {
			T_CHECKF(errs.n == 1 && strncmp(errs.v[0].msg,
			    "t.conf:5: ", 10) == 0, "%zu", n);
		} else {
			/* Reported, and parsing went on to line 5. */
			T_CHECKF(errs.n == 2 && strcmp(errs.v[0].msg,
			    "t.conf:2: line longer than 4096 bytes") == 0 &&
			    strncmp(errs.v[1].msg, "t.conf:5: ", 10) == 0,
			    "%zu", n);
		}
		config_errors_free(&errs);
		/* And the same line parses when nothing else is wrong. */
		strcpy(p, "\r\nhost = h\nuser = u\n");
		r = parse(text, &cfg, &errs);
		T_CHECK(r == (n <= CONFIG_LINE_MAX ? 0 : -1));
		if (r == 0)
			T_CHECK(strlen(cfg.acct[0].v.password_command) == vlen);
		config_free(&cfg);
		config_errors_free(&errs);
		free(text);
	}
}

static void
test_limits(void)
{
	struct config		 cfg;
	struct config_errors	 errs;
	char			*text, *p;
	size_t			 i, cap = 64 * 1024 + CONFIG_FILE_MAX;

	if ((text = malloc(cap)) == NULL)
		return;
	/* 1000 accounts are fine, the 1001st is not. */
	p = text;
	for (i = 0; i < CONFIG_ACCOUNTS_MAX; i++)
		p += sprintf(p, "[account a%zu]\nhost = h\nuser = u\n", i);
	T_CHECK(parse(text, &cfg, &errs) == 0);
	T_CHECK(cfg.nacct == CONFIG_ACCOUNTS_MAX);
	T_CHECK(config_find(&cfg, "a999") == &cfg.acct[999]);
	config_free(&cfg);
	config_errors_free(&errs);
	sprintf(p, "[account extra]\nhost = h\nport = 0\n");
	T_CHECK(parse(text, &cfg, &errs) == -1);
	T_CHECK(errs.n == 2);
	if (errs.n == 2) {
		T_CHECK(strcmp(errs.v[0].msg, "t.conf:3001: more than 1000 "
		    "accounts") == 0);
		T_CHECK(strncmp(errs.v[1].msg, "t.conf:3003: port", 17) == 0);
	}
	config_errors_free(&errs);

	/* More than 1 MiB: refused whole. */
	for (i = 0; i < CONFIG_FILE_MAX + 1; i++)
		text[i] = i % 100 == 99 ? '\n' : '#';
	T_CHECK(config_parse_buffer("t.conf", text, CONFIG_FILE_MAX + 1,
	    &cfg, &errs) == -1);
	T_CHECK(errs.n == 1 && strstr(errs.v[0].msg, "larger") != NULL);
	config_errors_free(&errs);
	T_CHECK(config_parse_buffer("t.conf", text, CONFIG_FILE_MAX, &cfg,
	    &errs) == 0);
	config_free(&cfg);
	config_errors_free(&errs);

	/* A thousand mistakes: 100 of them, then "too many". */
	p = text + sprintf(text, "[account a]\nhost = h\nuser = u\n");
	for (i = 0; i < 1000; i++)
		p += sprintf(p, "bogus%zu = 1\n", i);
	T_CHECK(parse(text, &cfg, &errs) == -1);
	T_CHECK(errs.n == CONFIG_ERRORS_MAX + 1);
	if (errs.n == CONFIG_ERRORS_MAX + 1) {
		T_CHECK(strncmp(errs.v[0].msg, "t.conf:4: ", 10) == 0);
		T_CHECK(strcmp(errs.v[errs.n - 1].msg, "t.conf: too many "
		    "errors; stopping here") == 0);
	}
	config_errors_free(&errs);
	free(text);
}

/* Every prefix of a config parses without a crash or a leak. */
static void
test_truncations(void)
{
	struct config		cfg;
	struct config_errors	errs;
	size_t			n, len = strlen(merged);
	char			*copy;

	for (n = 0; n <= len; n++) {
		/* Exactly n bytes on the heap: ASan sees any overread. */
		if ((copy = malloc(n ? n : 1)) == NULL)
			return;
		memcpy(copy, merged, n);
		(void)config_parse_buffer("t.conf", copy, n, &cfg, &errs);
		T_CHECK(errs.n <= CONFIG_ERRORS_MAX + 1);
		config_free(&cfg);
		config_errors_free(&errs);
		free(copy);
	}
}

/* The example of popvault.conf(5), as printed there. */
static void
test_manual_example(void)
{
	static const char	text[] =
	    "# ~/.config/popvault/config\n"
	    "[defaults]\n"
	    "vault = ~/mail/vault\n"
	    "delete = older-than=90d\n"
	    "max_deletes = 500\n"
	    "jobs = 2\n"
	    "\n"
	    "[account work]\n"
	    "host = pop.example.com\n"
	    "user = alice@example.com\n"
	    "password_command = pass show mail/work\n"
	    "format = mbox\n"
	    "compress = gzip\n"
	    "\n"
	    "[account home]\n"
	    "host = mail.example.net\n"
	    "port = 110\n"
	    "tls = starttls\n"
	    "user = alice\n"
	    "netrc = yes\n"
	    "delete = never\n"
	    "\n"
	    "[account lab]\n"
	    "host = 192.0.2.25\n"
	    "user = lab\n"
	    "tls_fingerprint = sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"
	    "2b0b822cd15d6c15b0f00a08\n"
	    "password = \"  spaces kept, # not a comment\"\n";
	struct config			 cfg;
	struct config_errors		 errs;
	const struct config_account	*a;

	setenv("HOME", HOME, 1);
	T_CHECK(parse(text, &cfg, &errs) == 0);
	dump_errors(&errs);
	T_CHECK(cfg.nacct == 3 && cfg.defaults.v.jobs == 2 && cfg.has_password);
	if ((a = config_find(&cfg, "home")) != NULL) {
		T_CHECK(strcmp(a->v.netrc, HOME "/.netrc") == 0);
		T_CHECK(strcmp(a->v.vault, HOME "/mail/vault") == 0);
		T_CHECK(a->v.del == DEL_NEVER && a->v.max_deletes == 500);
		T_CHECK(a->v.port == 110 && a->v.tls == POP3_TLS_STARTTLS);
	} else
		T_CHECK(0);
	if ((a = config_find(&cfg, "lab")) != NULL) {
		T_CHECK(strcmp(a->v.password,
		    "  spaces kept, # not a comment") == 0);
		T_CHECK(a->v.del == DEL_OLDER && a->v.older_than == 90 * 86400);
		T_CHECK(!OPT_ISSET(&a->v, OPT_PORT));
	} else
		T_CHECK(0);
	config_free(&cfg);
	config_errors_free(&errs);
}

static int
write_file(const char *path, const char *text, mode_t mode)
{
	FILE	*fp;

	if ((fp = fopen(path, "w")) == NULL)
		return -1;
	fputs(text, fp);
	if (fclose(fp) != 0)
		return -1;
	return chmod(path, mode);
}

/* The errors of loading path: one, holding each of the words. */
static int
load_refused(const char *path, const char *w1, const char *w2,
    const char *w3)
{
	struct config		cfg;
	struct config_errors	errs;
	int			ok;

	if (config_load(path, &cfg, &errs) == 0) {
		config_free(&cfg);
		config_errors_free(&errs);
		fprintf(stderr, "%s: loaded, should be refused\n", path);
		return 0;
	}
	ok = errs.n == 1 && strncmp(errs.v[0].msg, path, strlen(path)) == 0 &&
	    strstr(errs.v[0].msg, w1) != NULL &&
	    (w2 == NULL || strstr(errs.v[0].msg, w2) != NULL) &&
	    (w3 == NULL || strstr(errs.v[0].msg, w3) != NULL);
	if (!ok)
		dump_errors(&errs);
	config_errors_free(&errs);
	return ok;
}

static int
load_ok(const char *path)
{
	struct config		cfg;
	struct config_errors	errs;
	int			r = config_load(path, &cfg, &errs);

	if (r == -1)
		dump_errors(&errs);
	config_free(&cfg);
	config_errors_free(&errs);
	return r == 0;
}

/*
 * A file that names a command (password_command, oauth_command) or
 * holds a password: refused when it, or the file a link points to, is
 * writable by group or others, or when it or the link belongs to
 * another user, root reading someone else's file included (issue 13).
 * Without a command or a secret, group-readable or -writable is fine.
 */
static void
test_load_commands(const char *path, const char *link)
{
	static const char	cmd[] =
	    "[account a]\nhost = h\nuser = u\npassword_command = pass x\n";
	static const char	oauth[] =
	    "[account a]\nhost = h\nuser = u\nauth = xoauth2\n"
	    "oauth_command = tok\n";
	static const char	plain[] = "[account a]\nhost = h\nuser = u\n"
	    "netrc = yes\n";
	char			want[1024];

	T_CHECK(write_file(path, cmd, 0664) == 0);
	snprintf(want, sizeof want, "%s: can run a command "
	    "(password_command), so it must not be writable by group or "
	    "others (chmod go-w %s)", path, path);
	T_CHECK(load_refused(path, want, NULL, NULL));
	T_CHECK(chmod(path, 0602) == 0);
	T_CHECK(load_refused(path, "writable by group or others", NULL,
	    NULL));
	/* Readable by all is fine: no secret in it. */
	T_CHECK(chmod(path, 0644) == 0);
	T_CHECK(load_ok(path));
	T_CHECK(write_file(path, oauth, 0620) == 0);
	T_CHECK(load_refused(path, "(oauth_command)", "chmod go-w", NULL));
	/* Through a link to a writable file: the target is named. */
	T_CHECK(write_file(path, cmd, 0666) == 0);
	T_CHECK(symlink(path, link) == 0);
	T_CHECK(load_refused(link, "is a symbolic link to", path,
	    "chmod go-w"));
	T_CHECK(chmod(path, 0600) == 0);
	T_CHECK(load_ok(link));
	/* No command, no secret: group-writable is not this rule's. */
	T_CHECK(write_file(path, plain, 0664) == 0);
	T_CHECK(load_ok(path));
	T_CHECK(load_ok(link));
	if (geteuid() != 0) {
		printf("test_load_commands: not root: the other-owner cases "
		    "need chown, not run\n");
		unlink(link);
		return;
	}
	/* Another user's file (uid 65534), and a link of another user. */
	T_CHECK(write_file(path, cmd, 0600) == 0);
	T_CHECK(chown(path, 65534, 65534) == 0);
	T_CHECK(load_refused(path, "belongs to", "not to root (uid 0)",
	    "chown root"));
	T_CHECK(load_refused(link, "is a symbolic link to", "belongs to",
	    "chown root"));
	T_CHECK(chown(path, 0, 0) == 0);
	T_CHECK(load_ok(link));
	T_CHECK(lchown(link, 65534, 65534) == 0);
	T_CHECK(load_refused(link, "is a symbolic link owned by",
	    "ln -sfn", NULL));
	/* Without a command, another user's file is not this rule's. */
	T_CHECK(write_file(path, plain, 0644) == 0);
	T_CHECK(chown(path, 65534, 65534) == 0);
	T_CHECK(load_ok(path));
	T_CHECK(load_ok(link));
	unlink(link);
}

static void
test_load(void)
{
	static const char	with_pw[] =
	    "[account a]\nhost = h\nuser = u\npassword = hunter2\n";
	static const char	without_pw[] =
	    "[account a]\nhost = h\nuser = u\npassword_command = pass x\n";
	struct config		cfg;
	struct config_errors	errs;
	char			dir[] = "/tmp/test_config.XXXXXX";
	char			path[256], link[256], want[600];

	if (mkdtemp(dir) == NULL) {
		T_CHECK(0);
		return;
	}
	snprintf(path, sizeof path, "%s/config", dir);
	snprintf(link, sizeof link, "%s/link", dir);

	/* A literal password in a 0644 file: refused, saying how to fix. */
	T_CHECK(write_file(path, with_pw, 0644) == 0);
	T_CHECK(config_load(path, &cfg, &errs) == -1);
	snprintf(want, sizeof want, "%s: holds a password, so it must not "
	    "be readable by others (chmod 600 %s)", path, path);
	T_CHECK(errs.n == 1 && strcmp(errs.v[0].msg, want) == 0);
	config_errors_free(&errs);
	/* Group-readable, or any group/other bit: refused too. */
	T_CHECK(chmod(path, 0640) == 0);
	T_CHECK(config_load(path, &cfg, &errs) == -1);
	config_errors_free(&errs);
	T_CHECK(chmod(path, 0604) == 0);
	T_CHECK(config_load(path, &cfg, &errs) == -1);
	config_errors_free(&errs);
	/* 0600: fine. */
	T_CHECK(chmod(path, 0600) == 0);
	T_CHECK(config_load(path, &cfg, &errs) == 0);
	T_CHECK(cfg.has_password && cfg.nacct == 1 &&
	    strcmp(cfg.acct[0].v.password, "hunter2") == 0);
	T_CHECK(strcmp(cfg.path, path) == 0);
	config_free(&cfg);
	config_errors_free(&errs);
	/* Through a symlink: the target's mode is what counts. */
	T_CHECK(symlink(path, link) == 0);
	T_CHECK(config_load(link, &cfg, &errs) == 0);
	config_free(&cfg);
	config_errors_free(&errs);
	T_CHECK(chmod(path, 0644) == 0);
	T_CHECK(config_load(link, &cfg, &errs) == -1);
	T_CHECK(errs.n == 1 && strstr(errs.v[0].msg, "chmod 600") != NULL);
	config_errors_free(&errs);
	/* Other mistakes are still all reported beside the mode. */
	T_CHECK(write_file(path, "[account a]\nhost = h\nuser = u\n"
	    "password = p\nport = 0\n", 0644) == 0);
	T_CHECK(config_load(path, &cfg, &errs) == -1);
	T_CHECK(errs.n == 2 && errs.v[0].line == 0 && errs.v[1].line == 5);
	config_errors_free(&errs);
	/* No literal secret: 0644 is fine. */
	T_CHECK(write_file(path, without_pw, 0644) == 0);
	T_CHECK(config_load(path, &cfg, &errs) == 0);
	T_CHECK(!cfg.has_password);
	config_free(&cfg);
	config_errors_free(&errs);
	/* A password in a skipped section still counts as a secret. */
	T_CHECK(write_file(path, "[bogus]\npassword = p\n", 0644) == 0);
	T_CHECK(config_load(path, &cfg, &errs) == -1);
	T_CHECK(errs.n == 2 && strstr(errs.v[0].msg, "chmod") != NULL);
	config_errors_free(&errs);
	/* A password line without its '=' is a secret all the same. */
	T_CHECK(write_file(path, "[account a]\nhost = h\nuser = u\n"
	    "password hunter2\n", 0644) == 0);
	T_CHECK(config_load(path, &cfg, &errs) == -1);
	T_CHECK(errs.n == 2 && strstr(errs.v[0].msg, "chmod") != NULL &&
	    strstr(errs.v[1].msg, ":4: missing '='") != NULL);
	config_errors_free(&errs);
	unlink(link);
	test_load_commands(path, link);
	/* Missing file, a folder. */
	T_CHECK(unlink(path) == 0);
	T_CHECK(config_load(path, &cfg, &errs) == -1);
	T_CHECK(errs.n == 1 && strstr(errs.v[0].msg, strerror(ENOENT)) !=
	    NULL && strncmp(errs.v[0].msg, path, strlen(path)) == 0);
	config_errors_free(&errs);
	T_CHECK(config_load(dir, &cfg, &errs) == -1);
	T_CHECK(errs.n == 1 && strstr(errs.v[0].msg, "regular") != NULL);
	config_errors_free(&errs);
	unlink(link);
	rmdir(dir);
}

static void
test_default_path(void)
{
	char	buf[256], small[24];

	setenv("HOME", HOME, 1);
	setenv("XDG_CONFIG_HOME", "/xdg/cfg", 1);
	T_CHECK(config_default_path(buf, sizeof buf) == 0);
	T_CHECK(strcmp(buf, "/xdg/cfg/popvault/config") == 0);
	/* Unset, empty or relative: ~/.config. */
	unsetenv("XDG_CONFIG_HOME");
	T_CHECK(config_default_path(buf, sizeof buf) == 0);
	T_CHECK(strcmp(buf, HOME "/.config/popvault/config") == 0);
	setenv("XDG_CONFIG_HOME", "", 1);
	T_CHECK(config_default_path(buf, sizeof buf) == 0);
	T_CHECK(strcmp(buf, HOME "/.config/popvault/config") == 0);
	setenv("XDG_CONFIG_HOME", "rel/cfg", 1);
	T_CHECK(config_default_path(buf, sizeof buf) == 0);
	T_CHECK(strcmp(buf, HOME "/.config/popvault/config") == 0);
	/* Too small a buffer: -1, not a cut path. */
	T_CHECK(config_default_path(small, sizeof small) == -1);
	unsetenv("XDG_CONFIG_HOME");
}

int
main(void)
{
	T_RUN(test_keys_good);
	T_RUN(test_keys_bad);
	T_RUN(test_bad_value_names_key);
	T_RUN(test_password_not_echoed);
	T_RUN(test_defaults_merge);
	T_RUN(test_whole);
	T_RUN(test_destinations);
	T_RUN(test_nul);
	T_RUN(test_many_mistakes);
	T_RUN(test_quotes);
	T_RUN(test_line_ends);
	T_RUN(test_long_line);
	T_RUN(test_limits);
	T_RUN(test_truncations);
	T_RUN(test_manual_example);
	T_RUN(test_load);
	T_RUN(test_default_path);
	return T_END();
}
