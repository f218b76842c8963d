/*
 * test_opt.c -- unit tests for core/opt.c, the one table of options.
 *
 * Tables first: for every option, values its setter must take (and what
 * lands in the field) and values it must refuse (with a word the
 * message must hold), from the config file and from the command line;
 * an option that both know takes the same values from both. Then the
 * table as a whole (every option reachable, every default valid, help
 * listing every flag), the command line against a config section with
 * the same settings (the same struct), the merge order (built-in,
 * [defaults], account, command line) and the password sources going as
 * one.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "format.h"
#include "opt.h"
#include "t.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define HOME	"/home/tester"
#define FP64	"0123456789abcdef0123456789ABCDEF" \
		"0123456789abcdef0123456789abcdef"

/* Option id's value in v as a string, whatever its type. */
static void
value_str(const struct opt_values *v, int id, char *buf, size_t len)
{
	const char		*s = NULL;
	unsigned long long	 n = 0;

	switch (id) {
	case OPT_CONFIG: s = v->config; break;
	case OPT_JOBS: n = v->jobs; break;
	case OPT_VAULT: s = v->vault; break;
	case OPT_FORMAT: s = v->format != NULL ? v->format->name : "-"; break;
	case OPT_COMPRESS: n = (unsigned)v->compress; break;
	case OPT_MAX_MESSAGE_SIZE: n = v->max_message_size; break;
	case OPT_BATCH: n = v->batch; break;
	case OPT_DRY_RUN:
	case OPT_PLAN: n = (unsigned)v->dry_run; break;
	case OPT_LOGIN: n = (unsigned)v->login; break;
	case OPT_FROM: s = v->from; break;
	case OPT_SUBJECT: s = v->subject; break;
	case OPT_SINCE:
	case OPT_UNTIL:
		snprintf(buf, len, "%lld", (long long)(id == OPT_SINCE ?
		    v->since : v->until));
		return;
	case OPT_MESSAGE_ID: s = v->message_id; break;
	case OPT_ACCOUNT: s = v->account; break;
	case OPT_ACCOUNTS: s = v->accounts; break;
	case OPT_LIMIT: n = v->limit; break;
	case OPT_DELETE:
		snprintf(buf, len, "%d/%lld", (int)v->del,
		    (long long)v->older_than);
		return;
	case OPT_AGE_BY: n = (unsigned)v->age_by_date; break;
	case OPT_MAX_DELETES: n = v->max_deletes; break;
	case OPT_ACCOUNT_CHANGED: n = (unsigned)v->changed; break;
	case OPT_PASSWORD_COMMAND: s = v->password_command; break;
	case OPT_PASSWORD_COMMAND_TIMEOUT:
		n = v->password_command_timeout;
		break;
	case OPT_AUTH:
		snprintf(buf, len, "%d/%d", v->auth, v->auth == OPT_AUTH_SASL ?
		    v->sasl_mech : -1);
		return;
	case OPT_TLS_CA: s = v->tls_ca; break;
	case OPT_TLS_FINGERPRINT: s = v->tls_fingerprint; break;
	case OPT_INSECURE_PLAINTEXT: n = (unsigned)v->insecure_plaintext;
		break;
	case OPT_TIMEOUT: n = v->timeout; break;
	case OPT_JSON: n = (unsigned)v->json; break;
	case OPT_LOG: s = v->log; break;
	case OPT_PROGRESS: n = (unsigned)v->progress; break;
	case OPT_VERBOSE: n = (unsigned)v->verbose; break;
	case OPT_QUIET:
	case OPT_QUIET_PROBE:
	case OPT_QUIET_VERIFY: n = (unsigned)v->quiet; break;
	case OPT_HELP: n = (unsigned)v->help; break;
	case OPT_HOST: s = v->host; break;
	case OPT_PORT: n = v->port; break;
	case OPT_TLS: n = (unsigned)v->tls; break;
	case OPT_USER: s = v->user; break;
	case OPT_OAUTH_COMMAND: s = v->oauth_command; break;
	case OPT_NETRC: s = v->netrc; break;
	case OPT_PASSWORD: s = v->password; break;
	case OPT_PASSWORD_ENV: s = v->password_env; break;
	case OPT_DEDUP: n = (unsigned)v->dedup; break;
	default: s = "?"; break;
	}
	if (s != NULL)
		snprintf(buf, len, "%s", s);
	else
		snprintf(buf, len, "%llu", n);
}

/* Which sources a case is for. */
#define CF	0x1	/* the config file */
#define CL	0x2	/* the command line */
#define BOTH	(CF | CL)

static const struct good {
	int		 id;
	unsigned	 from;
	const char	*value;		/* NULL: a flag without argument */
	const char	*want;		/* value_str() of the result */
} goods[] = {
	{ OPT_CONFIG, CL, "popvault.conf", "popvault.conf" },
	{ OPT_JOBS, BOTH, "1", "1" },
	{ OPT_JOBS, BOTH, "64", "64" },
	{ OPT_VAULT, BOTH, "/srv/vault", "/srv/vault" },
	{ OPT_VAULT, CF, "~/vault", HOME "/vault" },
	{ OPT_VAULT, CL, "vault", "vault" },	/* the shell's business */
	{ OPT_VAULT, CL, "./v", "./v" },
	{ OPT_FORMAT, BOTH, "maildir", "maildir" },
	{ OPT_FORMAT, BOTH, "mbox", "mbox" },
	{ OPT_FORMAT, BOTH, "tar", "tar" },
	{ OPT_FORMAT, BOTH, "eml", "eml" },
	{ OPT_COMPRESS, BOTH, "none", "0" },
	{ OPT_COMPRESS, BOTH, "gzip", "1" },
	{ OPT_COMPRESS, BOTH, "zstd", "2" },
	{ OPT_COMPRESS, BOTH, "xz", "3" },
	{ OPT_MAX_MESSAGE_SIZE, BOTH, "1000", "1000" },
	{ OPT_MAX_MESSAGE_SIZE, BOTH, "512k", "524288" },
	{ OPT_MAX_MESSAGE_SIZE, BOTH, "50M", "52428800" },
	{ OPT_MAX_MESSAGE_SIZE, BOTH, "2g", "2147483648" },
	{ OPT_BATCH, BOTH, "1", "1" },
	{ OPT_BATCH, BOTH, "100000", "100000" },
	{ OPT_DRY_RUN, CL, NULL, "1" },
	{ OPT_PLAN, CL, NULL, "1" },
	{ OPT_LOGIN, CL, NULL, "1" },
	{ OPT_FROM, CL, "alice", "alice" },
	{ OPT_SUBJECT, CL, "re: x", "re: x" },
	{ OPT_SINCE, CL, "1970-01-01", "0" },
	{ OPT_SINCE, CL, "1969-12-31", "-86400" },
	{ OPT_SINCE, CL, "2000-03-01", "951868800" },
	{ OPT_UNTIL, CL, "2024-02-29", "1709164800" },
	{ OPT_UNTIL, CL, "0001-01-01", "-62135596800" },
	{ OPT_UNTIL, CL, "9999-12-31", "253402214400" },
	{ OPT_MESSAGE_ID, CL, "<a@b>", "<a@b>" },
	{ OPT_ACCOUNT, CL, "work", "work" },
	{ OPT_ACCOUNTS, CL, "work", "work" },
	{ OPT_LIMIT, CL, "1", "1" },
	{ OPT_LIMIT, CL, "9223372036854775807", "9223372036854775807" },
	{ OPT_QUIET_VERIFY, CL, NULL, "1" },
	{ OPT_DELETE, BOTH, "never", "0/0" },
	{ OPT_DELETE, BOTH, "verified", "1/0" },
	{ OPT_DELETE, BOTH, "older-than=30d", "2/2592000" },
	{ OPT_DELETE, BOTH, "older-than=1y", "2/31536000" },
	{ OPT_AGE_BY, BOTH, "first-seen", "0" },
	{ OPT_AGE_BY, BOTH, "date", "1" },
	{ OPT_MAX_DELETES, BOTH, "1", "1" },
	{ OPT_MAX_DELETES, BOTH, "4294967295", "4294967295" },
	{ OPT_ACCOUNT_CHANGED, CL, "moved", "1" },
	{ OPT_ACCOUNT_CHANGED, CL, "new", "2" },
	{ OPT_PASSWORD_COMMAND, BOTH, "pass show mail", "pass show mail" },
	{ OPT_PASSWORD_COMMAND_TIMEOUT, BOTH, "1", "1" },
	{ OPT_PASSWORD_COMMAND_TIMEOUT, BOTH, "86400", "86400" },
	{ OPT_AUTH, BOTH, "auto", "0/-1" },
	{ OPT_AUTH, BOTH, "user", "1/-1" },
	{ OPT_AUTH, BOTH, "apop", "2/-1" },
	{ OPT_AUTH, BOTH, "plain", "3/0" },
	{ OPT_AUTH, BOTH, "login", "3/1" },
	{ OPT_AUTH, BOTH, "cram-md5", "3/2" },
	{ OPT_AUTH, BOTH, "scram-sha-1", "3/3" },
	{ OPT_AUTH, BOTH, "scram-sha-256", "3/4" },
	{ OPT_AUTH, BOTH, "xoauth2", "3/5" },
	{ OPT_AUTH, BOTH, "oauthbearer", "3/6" },
	{ OPT_TLS_CA, BOTH, "/etc/ssl/ca.pem", "/etc/ssl/ca.pem" },
	{ OPT_TLS_CA, CF, "~/ca.pem", HOME "/ca.pem" },
	{ OPT_TLS_CA, CL, "ca.pem", "ca.pem" },
	{ OPT_TLS_FINGERPRINT, BOTH, "sha256:" FP64, "sha256:" FP64 },
	{ OPT_INSECURE_PLAINTEXT, CF, "yes", "1" },
	{ OPT_INSECURE_PLAINTEXT, CF, "no", "0" },
	{ OPT_INSECURE_PLAINTEXT, CL, NULL, "1" },
	{ OPT_TIMEOUT, BOTH, "1", "1" },
	{ OPT_TIMEOUT, BOTH, "86400", "86400" },
	{ OPT_JSON, CL, NULL, "1" },
	{ OPT_LOG, CL, "events.log", "events.log" },
	{ OPT_PROGRESS, CL, NULL, "1" },
	{ OPT_VERBOSE, CL, NULL, "1" },
	{ OPT_QUIET, CL, NULL, "1" },
	{ OPT_QUIET_PROBE, CL, NULL, "1" },
	{ OPT_HELP, CL, NULL, "1" },
	{ OPT_HOST, CF, "pop.example.org", "pop.example.org" },
	{ OPT_HOST, CF, "fe80::1%eth0", "fe80::1%eth0" },
	{ OPT_PORT, CF, "995", "995" },
	{ OPT_PORT, CF, "65535", "65535" },
	{ OPT_TLS, CF, "implicit", "0" },
	{ OPT_TLS, CF, "starttls", "1" },
	{ OPT_TLS, CF, "none", "2" },
	{ OPT_USER, CF, "alice@example.org", "alice@example.org" },
	{ OPT_OAUTH_COMMAND, CF, "oauth2 --token", "oauth2 --token" },
	{ OPT_NETRC, CF, "yes", HOME "/.netrc" },
	{ OPT_NETRC, CF, "~/n", HOME "/n" },
	{ OPT_PASSWORD, CF, "hunter2", "hunter2" },
	{ OPT_PASSWORD_ENV, CF, "MAIL_PW", "MAIL_PW" },
	{ OPT_DEDUP, CF, "vault", "0" },
	{ OPT_DEDUP, CF, "account", "1" },
	{ OPT_DEDUP, CF, "none", "2" },
};

static const struct bad {
	int		 id;
	unsigned	 from;
	const char	*value;
	const char	*word;		/* in the message */
} bads[] = {
	{ OPT_JOBS, CF, "0", "expected a number from 1 to 64" },
	{ OPT_JOBS, CL, "0", "1 to 64" },
	{ OPT_JOBS, BOTH, "65", "1 to 64" },
	{ OPT_JOBS, BOTH, "+2", "1 to 64" },
	{ OPT_JOBS, BOTH, " 2", "1 to 64" },
	{ OPT_VAULT, CF, "vault", "path starting with /" },
	{ OPT_VAULT, BOTH, "", "empty" },
	{ OPT_FORMAT, BOTH, "zip", "maildir, mbox, tar or eml" },
	{ OPT_FORMAT, BOTH, "MBOX", "maildir, mbox, tar or eml" },
	{ OPT_COMPRESS, BOTH, "bzip2", "none, gzip, zstd or xz" },
	{ OPT_MAX_MESSAGE_SIZE, BOTH, "0", "50M" },
	{ OPT_MAX_MESSAGE_SIZE, BOTH, "50MB", "50M" },
	{ OPT_MAX_MESSAGE_SIZE, BOTH, "-1M", "50M" },
	{ OPT_MAX_MESSAGE_SIZE, BOTH, "+1M", "50M" },
	{ OPT_MAX_MESSAGE_SIZE, BOTH, "17179869184G", "50M" },
	{ OPT_BATCH, BOTH, "0", "1 to 100000" },
	{ OPT_BATCH, BOTH, "100001", "1 to 100000" },
	{ OPT_DELETE, BOTH, "sometimes", "older-than=DURATION" },
	{ OPT_DELETE, BOTH, "older-than=0d", "older-than=DURATION" },
	{ OPT_AGE_BY, BOTH, "arrival", "first-seen or date" },
	{ OPT_MAX_DELETES, BOTH, "0", "positive number" },
	{ OPT_MAX_DELETES, BOTH, "4294967296", "positive number" },
	{ OPT_MAX_DELETES, BOTH, "-1", "positive number" },
	{ OPT_ACCOUNT_CHANGED, CL, "same", "moved or new" },
	{ OPT_SINCE, CL, "2023-02-29", "YYYY-MM-DD" },
	{ OPT_SINCE, CL, "2024-1-5", "YYYY-MM-DD" },
	{ OPT_SINCE, CL, "2024-13-01", "YYYY-MM-DD" },
	{ OPT_SINCE, CL, "2024-04-31", "YYYY-MM-DD" },
	{ OPT_UNTIL, CL, "2024-01-01x", "YYYY-MM-DD" },
	{ OPT_UNTIL, CL, "yesterday", "YYYY-MM-DD" },
	{ OPT_LIMIT, CL, "0", "positive number" },
	{ OPT_LIMIT, CL, "9223372036854775808", "positive number" },
	{ OPT_FROM, CL, "", "empty" },
	{ OPT_PASSWORD_COMMAND, BOTH, "", "empty" },
	{ OPT_PASSWORD_COMMAND_TIMEOUT, CF, "0",
	  "expected seconds from 1 to 86400" },
	{ OPT_PASSWORD_COMMAND_TIMEOUT, CL, "0", "1 to 86400 seconds" },
	{ OPT_PASSWORD_COMMAND_TIMEOUT, BOTH, "60s", "1 to 86400" },
	{ OPT_AUTH, BOTH, "md5", "auto, user, apop, plain, login, cram-md5, "
	  "scram-sha-1, scram-sha-256, xoauth2 or oauthbearer" },
	{ OPT_AUTH, BOTH, "PLAIN", "oauthbearer" },
	{ OPT_AUTH, BOTH, "USER", "oauthbearer" },
	{ OPT_TLS_CA, CF, "ca.pem", "path starting with /" },
	{ OPT_TLS_FINGERPRINT, BOTH, FP64, "sha256:" },
	{ OPT_TLS_FINGERPRINT, BOTH, "sha256:abc", "64 hex" },
	{ OPT_INSECURE_PLAINTEXT, CF, "true", "yes or no" },
	{ OPT_TIMEOUT, CF, "0", "expected seconds from 1 to 86400" },
	{ OPT_TIMEOUT, CL, "86401", "1 to 86400 seconds" },
	{ OPT_TIMEOUT, BOTH, "1.5", "1 to 86400" },
	{ OPT_LOG, CL, "", "empty" },
	{ OPT_HOST, CF, "[::1]", "host name" },
	{ OPT_PORT, CF, "0", "expected a number from 1 to 65535" },
	{ OPT_TLS, CF, "ssl", "implicit, starttls or none" },
	{ OPT_USER, CF, "a b", "user name" },
	{ OPT_NETRC, CF, "netrc", "yes (for ~/.netrc)" },
	{ OPT_PASSWORD_ENV, CF, "1ABC", "environment" },
	{ OPT_DEDUP, CF, "both", "vault, account or none" },
};

static void
test_set_good(void)
{
	struct opt_values	 v;
	const struct good	*g;
	char			 why[256], got[512];
	size_t			 i;
	int			 from;

	setenv("HOME", HOME, 1);
	for (i = 0; i < NELEM(goods); i++) {
		g = &goods[i];
		for (from = OPT_FROM_CONFIG; from <= OPT_FROM_CLI; from++) {
			if (!(g->from & (from == OPT_FROM_CLI ? CL : CF)))
				continue;
			opt_init(&v);
			T_CHECKF(opt_set(&v, g->id, g->value, from, why,
			    sizeof why) == 0, "%s %s from %d: %s",
			    opt_flag(g->id), g->value, from, why);
			T_CHECK(OPT_ISSET(&v, g->id));
			value_str(&v, g->id, got, sizeof got);
			T_CHECKF(strcmp(got, g->want) == 0, "%s %s: got %s, "
			    "want %s", opt_flag(g->id) ? opt_flag(g->id) :
			    opt_key(g->id), g->value, got, g->want);
			opt_free(&v);
		}
	}
}

static void
test_set_bad(void)
{
	struct opt_values	 v;
	const struct bad	*b;
	char			 why[256], got[512], before[512];
	size_t			 i;
	int			 from;

	setenv("HOME", HOME, 1);
	for (i = 0; i < NELEM(bads); i++) {
		b = &bads[i];
		for (from = OPT_FROM_CONFIG; from <= OPT_FROM_CLI; from++) {
			if (!(b->from & (from == OPT_FROM_CLI ? CL : CF)))
				continue;
			opt_defaults(&v);
			/* Something other than the default there first. */
			if (b->id == OPT_DELETE)
				(void)opt_set(&v, b->id, "older-than=2w", from,
				    why, sizeof why);
			if (b->id == OPT_FORMAT)
				(void)opt_set(&v, b->id, "tar", from, why,
				    sizeof why);
			v.set = 0;
			value_str(&v, b->id, before, sizeof before);
			T_CHECKF(opt_set(&v, b->id, b->value, from, why,
			    sizeof why) == -1, "[%s] accepted", b->value);
			T_CHECKF(strstr(why, b->word) != NULL, "[%s]: \"%s\" "
			    "lacks \"%s\"", b->value, why, b->word);
			/* Worded for where: "expected" in the file only. */
			T_CHECKF((strncmp(why, "expected ", 9) == 0) ==
			    (from == OPT_FROM_CONFIG) || strcmp(why,
			    "empty value") == 0, "[%s] from %d: \"%s\"",
			    b->value, from, why);
			/* A refused value leaves the field and its bit. */
			T_CHECK(!OPT_ISSET(&v, b->id));
			value_str(&v, b->id, got, sizeof got);
			T_CHECKF(strcmp(got, before) == 0, "[%s]: %s -> %s",
			    b->value, before, got);
			opt_free(&v);
		}
	}
}

/*
 * An option the file and the command line both know takes the same
 * values from both (paths aside: relative ones are the shell's), with
 * the same result.
 */
static void
test_same_from_both(void)
{
	static const char	*values[] = { "0", "1", "64", "65", "100000",
	    "4294967295", "60s", "50M", "1G", "none", "gzip", "mbox", "date",
	    "verified", "older-than=2w", "auto", "plain", "PLAIN", "yes",
	    "sha256:" FP64, "/abs/path", "x" };
	struct opt_values	 a, b;
	char			 wa[256], wb[256], sa[512], sb[512];
	size_t			 i;
	int			 id, ra, rb;

	setenv("HOME", HOME, 1);
	for (id = 0; id < OPT_COUNT; id++) {
		if (opt_key(id) == NULL || opt_flag(id) == NULL ||
		    id == OPT_INSECURE_PLAINTEXT)	/* a flag on the CLI */
			continue;
		for (i = 0; i < NELEM(values); i++) {
			opt_init(&a);
			opt_init(&b);
			ra = opt_set(&a, id, values[i], OPT_FROM_CONFIG, wa,
			    sizeof wa);
			rb = opt_set(&b, id, values[i], OPT_FROM_CLI, wb,
			    sizeof wb);
			if (id != OPT_VAULT && id != OPT_TLS_CA)
				T_CHECKF(ra == rb, "%s %s: file %d (%s), "
				    "command line %d (%s)", opt_key(id),
				    values[i], ra, wa, rb, wb);
			if (ra == 0 && rb == 0) {
				value_str(&a, id, sa, sizeof sa);
				value_str(&b, id, sb, sizeof sb);
				T_CHECKF(strcmp(sa, sb) == 0, "%s %s: %s, %s",
				    opt_key(id), values[i], sa, sb);
			}
			opt_free(&a);
			opt_free(&b);
		}
	}
}

/* Every option is reachable, and every default is a valid value. */
static void
test_table(void)
{
	struct opt_values	v;
	char			why[256], *help = NULL;
	size_t			hlen = 0;
	FILE			*fp;
	int			id, n = 0;

	for (id = 0; id < OPT_COUNT; id++) {
		T_CHECKF(opt_key(id) != NULL || opt_flag(id) != NULL,
		    "option %d has neither a key nor a flag", id);
		if (opt_key(id) != NULL) {
			T_CHECKF(opt_find_key(opt_key(id),
			    strlen(opt_key(id))) == id, "%s", opt_key(id));
			n++;
		}
	}
	T_CHECK(n == 34);	/* 28, and the 6 of [destination] */
	T_CHECK(opt_find_key("max-deletes", 11) == -1);
	T_CHECK(opt_find_key("hos", 3) == -1);
	T_CHECK(opt_key(OPT_COUNT) == NULL && opt_flag(OPT_COUNT) == NULL);
	opt_init(&v);
	T_CHECK(opt_set(&v, OPT_COUNT, "1", OPT_FROM_CLI, why,
	    sizeof why) == -1);
	/* A flag's value only where it has one. */
	T_CHECK(opt_set(&v, OPT_TIMEOUT, NULL, OPT_FROM_CLI, why,
	    sizeof why) == -1);
	T_CHECK(opt_set(&v, OPT_INSECURE_PLAINTEXT, NULL, OPT_FROM_CONFIG,
	    why, sizeof why) == -1);
	T_CHECK(v.set == 0);

	/* The built-in defaults: set, yet nothing marked given. */
	opt_defaults(&v);
	T_CHECK(v.set == 0);
	T_CHECK(v.timeout == 60 && v.password_command_timeout == 60);
	T_CHECK(v.max_message_size == 1ULL << 30 && v.jobs == 1);
	T_CHECK(v.format == fmt_find("maildir") && v.compress == FMT_COMP_NONE);
	T_CHECK(v.del == DEL_NEVER && v.auth == OPT_AUTH_AUTO);
	T_CHECK(v.tls == POP3_TLS_IMPLICIT && !v.insecure_plaintext);
	T_CHECK(v.dedup == OPT_DEDUP_VAULT && v.age_by_date == 0);
	T_CHECK(v.vault == NULL && v.batch == 0 && v.max_deletes == 0);
	opt_free(&v);

	/* --help lists what each command takes, and only that. */
	if ((fp = open_memstream(&help, &hlen)) == NULL) {
		T_CHECK(0);
		return;
	}
	opt_help(fp, OPT_CMD_PROBE);
	fclose(fp);
	T_CHECK(strstr(help, "--login ") != NULL);
	T_CHECK(strstr(help, "--timeout SECONDS") != NULL);
	T_CHECK(strstr(help, "-q, --quiet              print only the "
	    "suggested configuration") != NULL);
	T_CHECK(strstr(help, "--vault") == NULL &&
	    strstr(help, "--delete") == NULL);
	free(help);
	help = NULL;
	if ((fp = open_memstream(&help, &hlen)) == NULL) {
		T_CHECK(0);
		return;
	}
	opt_help(fp, OPT_CMD_PRUNE);
	fclose(fp);
	T_CHECK(strstr(help, "--plan ") != NULL);
	T_CHECK(strstr(help, "--dry-run") == NULL);
	/* Taken by prune (the archive's format) but not shown. */
	T_CHECK(strstr(help, "--format") == NULL);
	T_CHECK(strstr(help, "(default 60)") != NULL);
	T_CHECK(strstr(help, "--compress") == NULL);
	free(help);
	help = NULL;
	if ((fp = open_memstream(&help, &hlen)) == NULL) {
		T_CHECK(0);
		return;
	}
	opt_help(fp, OPT_CMD_FETCH);
	fclose(fp);
	/* Every word of auth, from sasl.c's list too, in its help. */
	T_CHECK(strstr(help, "cram-md5") != NULL &&
	    strstr(help, "scram-sha-256") != NULL &&
	    strstr(help, "oauthbearer") != NULL);
	T_CHECK(strstr(help, "--format maildir|mbox|tar") != NULL);
	T_CHECK(strstr(help, "--compress none|gzip|zstd|xz") != NULL);
	T_CHECK(strstr(help, "-j, --jobs N") != NULL);
	free(help);
}

/* Run opt_parse_args over a NULL-terminated list. */
static int
args(unsigned cmd, struct opt_values *v, int *first, char *err,
    size_t errlen, ...)
{
	char		*argv[64];
	const char	*a;
	va_list		 ap;
	int		 argc = 0, r;

	va_start(ap, errlen);
	while ((a = va_arg(ap, const char *)) != NULL && argc < 63)
		argv[argc++] = (char *)(uintptr_t)a;
	va_end(ap);
	argv[argc] = NULL;
	opterr = 0;
	r = opt_parse_args(argc, argv, cmd, v, first, err, errlen);
	opterr = 1;
	return r;
}

static void
test_args(void)
{
	struct opt_values	v;
	char			err[256];
	int			first;

	T_CHECK(args(OPT_CMD_FETCH, &v, &first, err, sizeof err, "fetch",
	    "-vv", "--json", "-j", "3", "--timeout=5", "pop3s://u@h",
	    "--batch", "7", NULL) == 0);
	T_CHECK(v.verbose == 2 && v.json && v.jobs == 3 && v.timeout == 5 &&
	    v.batch == 7);
	T_CHECK(v.set == (OPT_BIT(OPT_VERBOSE) | OPT_BIT(OPT_JSON) |
	    OPT_BIT(OPT_JOBS) | OPT_BIT(OPT_TIMEOUT) | OPT_BIT(OPT_BATCH)));
	/* GNU order: the operand is moved after the options. */
	T_CHECK(first == 8);
	opt_free(&v);
	/* The last of a repeated option wins. */
	T_CHECK(args(OPT_CMD_FETCH, &v, &first, err, sizeof err, "fetch",
	    "--vault", "a", "--vault", "b", NULL) == 0);
	T_CHECK(strcmp(v.vault, "b") == 0);
	opt_free(&v);
	/* ... but a list option keeps each, one a line (export). */
	T_CHECK(args(OPT_CMD_EXPORT, &v, &first, err, sizeof err, "export",
	    "--account", "a", "--account", "b c", "--account", "a", "d",
	    NULL) == 0);
	T_CHECK(v.accounts != NULL && strcmp(v.accounts, "a\nb c\na") == 0);
	T_CHECK(first == 7 && v.account == NULL);
	opt_free(&v);
	T_CHECK(args(OPT_CMD_EXPORT, &v, &first, err, sizeof err, "export",
	    "--account", "a\nb", NULL) == -1);
	T_CHECK(strstr(err, "--account: an account name") == err);
	opt_free(&v);
	/* A refused value: -1 and a message naming the flag. */
	T_CHECK(args(OPT_CMD_FETCH, &v, &first, err, sizeof err, "fetch",
	    "--batch", "0", NULL) == -1);
	T_CHECK(strcmp(err, "--batch: 1 to 100000, not \"0\"") == 0);
	opt_free(&v);
	T_CHECK(args(OPT_CMD_PRUNE, &v, &first, err, sizeof err, "prune",
	    "--password-command-timeout", "0", NULL) == -1);
	T_CHECK(strstr(err, "--password-command-timeout: 1 to 86400") ==
	    err);
	opt_free(&v);
	T_CHECK(args(OPT_CMD_FETCH, &v, &first, err, sizeof err, "fetch",
	    "-j", "x\x01", NULL) == -1);
	T_CHECK(strcmp(err, "--jobs: 1 to 64, not \"x\\x01\"") == 0);
	opt_free(&v);
	/* Not this command's: refused by getopt_long(). */
	T_CHECK(args(OPT_CMD_PRUNE, &v, &first, err, sizeof err, "prune",
	    "--dry-run", NULL) == -2);
	opt_free(&v);
	T_CHECK(args(OPT_CMD_FETCH, &v, &first, err, sizeof err, "fetch",
	    "--plan", NULL) == -2);
	opt_free(&v);
	T_CHECK(args(OPT_CMD_PROBE, &v, &first, err, sizeof err, "probe",
	    "--vault", "x", NULL) == -2);
	opt_free(&v);
	T_CHECK(args(OPT_CMD_FETCH, &v, &first, err, sizeof err, "fetch",
	    "--login", NULL) == -2);
	opt_free(&v);
	T_CHECK(args(OPT_CMD_STATUS, &v, &first, err, sizeof err, "status",
	    "-q", NULL) == -2);
	opt_free(&v);
	T_CHECK(args(OPT_CMD_SEARCH, &v, &first, err, sizeof err, "search",
	    "--timeout", "5", NULL) == -2);
	opt_free(&v);
	T_CHECK(args(OPT_CMD_SEARCH, &v, &first, err, sizeof err, "search",
	    "--since", "2024-02-30", NULL) == -1);
	T_CHECK(strcmp(err, "--since: a day as YYYY-MM-DD, not "
	    "\"2024-02-30\"") == 0);
	opt_free(&v);
	T_CHECK(args(OPT_CMD_VERIFY, &v, &first, err, sizeof err, "verify",
	    "-q", "--vault", "/v", "a", "b", NULL) == 0);
	T_CHECK(v.quiet && strcmp(v.vault, "/v") == 0 && first == 4);
	opt_free(&v);
	T_CHECK(args(OPT_CMD_FETCH, &v, &first, err, sizeof err, "fetch",
	    "--timeout", NULL) == -2);
	opt_free(&v);
	/* Hidden from prune's help, yet taken (the archive's format). */
	T_CHECK(args(OPT_CMD_PRUNE, &v, &first, err, sizeof err, "prune",
	    "--format", "mbox", "-q", NULL) == 0);
	T_CHECK(v.format == fmt_find("mbox") && v.quiet);
	opt_free(&v);
	T_CHECK(args(OPT_CMD_PROBE, &v, &first, err, sizeof err, "probe",
	    "-q", "--login", "-h", "pop3s://h", NULL) == 0);
	T_CHECK(v.quiet && v.login && v.help && first == 4);
	opt_free(&v);
}

/*
 * The command line and a config section with the same settings give
 * the same values.
 */
static void
test_cli_equals_config(void)
{
	static const char	text[] =
	    "[defaults]\n"
	    "jobs = 4\n"
	    "[account a]\n"
	    "host = h\n"
	    "user = u\n"
	    "vault = /srv/v\n"
	    "format = tar\n"
	    "compress = zstd\n"
	    "max_message_size = 64M\n"
	    "batch = 500\n"
	    "delete = older-than=6m\n"
	    "age_by = date\n"
	    "max_deletes = 10\n"
	    "password_command = pass x\n"
	    "password_command_timeout = 9\n"
	    "auth = scram-sha-1\n"
	    "tls_ca = /etc/ca.pem\n"
	    "tls_fingerprint = sha256:" FP64 "\n"
	    "insecure_plaintext = yes\n"
	    "timeout = 30\n";
	struct config		 cfg;
	struct config_errors	 errs;
	struct opt_values	 cli, a, b;
	char			 err[256], sa[512], sb[512];
	int			 first, id, n = 0;

	T_CHECK(config_parse_buffer("t.conf", text, sizeof text - 1, &cfg,
	    &errs) == 0);
	config_errors_free(&errs);
	if (cfg.nacct != 1)
		return;
	T_CHECK(args(OPT_CMD_FETCH, &cli, &first, err, sizeof err, "fetch",
	    "-j", "4", "--vault", "/srv/v", "--format", "tar", "--compress",
	    "zstd", "--max-message-size", "64M", "--batch", "500",
	    "--delete", "older-than=6m", "--age-by", "date", "--max-deletes",
	    "10", "--password-command", "pass x",
	    "--password-command-timeout", "9", "--auth", "scram-sha-1",
	    "--tls-ca", "/etc/ca.pem", "--tls-fingerprint", "sha256:" FP64,
	    "--insecure-plaintext", "--timeout", "30", NULL) == 0);
	/* Each over the built-in defaults, as a run builds them. */
	opt_defaults(&a);
	opt_merge(&a, &cfg.defaults.v);
	opt_merge(&a, &cfg.acct[0].v);
	opt_defaults(&b);
	opt_merge(&b, &cli);
	for (id = 0; id < OPT_COUNT; id++) {
		if (!OPT_ISSET(&cli, id))
			continue;
		n++;
		T_CHECKF(OPT_ISSET(&a, id), "%s not set by the file",
		    opt_flag(id));
		value_str(&a, id, sa, sizeof sa);
		value_str(&b, id, sb, sizeof sb);
		T_CHECKF(strcmp(sa, sb) == 0, "%s: file %s, command line %s",
		    opt_flag(id), sa, sb);
	}
	T_CHECKF(n == 16, "%d options", n);
	opt_free(&a);
	opt_free(&b);
	opt_free(&cli);
	config_free(&cfg);
}

/* Built-in, then [defaults], then the account, then the command line. */
static void
test_merge_order(void)
{
	static const char	text[] =
	    "[defaults]\n"
	    "timeout = 10\n"
	    "batch = 11\n"
	    "max_deletes = 12\n"
	    "password_command = from-defaults\n"
	    "[account a]\n"
	    "host = h\n"
	    "user = u\n"
	    "timeout = 20\n"
	    "batch = 21\n"
	    "[account b]\n"
	    "host = h\n"
	    "user = u\n"
	    "netrc = /n\n";
	struct config		 cfg;
	struct config_errors	 errs;
	struct opt_values	 cli, v;
	char			 err[256];
	int			 first;

	T_CHECK(config_parse_buffer("t.conf", text, sizeof text - 1, &cfg,
	    &errs) == 0);
	config_errors_free(&errs);
	if (cfg.nacct != 2)
		return;
	T_CHECK(args(OPT_CMD_FETCH, &cli, &first, err, sizeof err, "fetch",
	    "--timeout", "30", NULL) == 0);

	/* a: timeout from the command line, batch from the account,
	 * max_deletes from [defaults], the rest built in. */
	opt_defaults(&v);
	opt_merge(&v, &cfg.defaults.v);
	opt_merge(&v, &cfg.acct[0].v);
	opt_merge(&v, &cli);
	T_CHECK(v.timeout == 30 && v.batch == 21 && v.max_deletes == 12);
	T_CHECK(v.max_message_size == 1ULL << 30 &&
	    !OPT_ISSET(&v, OPT_MAX_MESSAGE_SIZE));
	T_CHECK(strcmp(v.password_command, "from-defaults") == 0);
	opt_free(&v);

	/* Without the command line: the account's. */
	opt_defaults(&v);
	opt_merge(&v, &cfg.defaults.v);
	opt_merge(&v, &cfg.acct[0].v);
	T_CHECK(v.timeout == 20 && v.batch == 21);
	opt_free(&v);

	/* b: its netrc replaces the password_command of [defaults]. */
	opt_defaults(&v);
	opt_merge(&v, &cfg.defaults.v);
	opt_merge(&v, &cfg.acct[1].v);
	T_CHECK(v.timeout == 10 && v.batch == 11);
	T_CHECK(v.password_command == NULL &&
	    !OPT_ISSET(&v, OPT_PASSWORD_COMMAND));
	T_CHECK(strcmp(v.netrc, "/n") == 0);
	opt_free(&v);
	opt_free(&cli);

	/* And --password-command replaces b's netrc. */
	T_CHECK(args(OPT_CMD_FETCH, &cli, &first, err, sizeof err, "fetch",
	    "--password-command", "from-cli", NULL) == 0);
	opt_defaults(&v);
	opt_merge(&v, &cfg.defaults.v);
	opt_merge(&v, &cfg.acct[1].v);
	opt_merge(&v, &cli);
	T_CHECK(strcmp(v.password_command, "from-cli") == 0);
	T_CHECK(v.netrc == NULL && !OPT_ISSET(&v, OPT_NETRC));
	opt_free(&v);
	opt_free(&cli);

	/* Nothing given: the built-in defaults alone. */
	opt_defaults(&v);
	T_CHECK(v.timeout == 60 && v.batch == 0);
	opt_free(&v);
	config_free(&cfg);
}

/* What the run and the connection get from the values. */
static void
test_derived(void)
{
	struct opt_values	v;
	struct pop3_opts	p;
	struct url		u;
	enum pop3_auth		auth;
	const char		*sasl;
	char			port[8], why[256];

	opt_defaults(&v);
	memset(&p, 0, sizeof p);
	opt_pop3(&v, &p, port);
	T_CHECK(strcmp(port, "995") == 0 && p.tls == POP3_TLS_IMPLICIT);
	T_CHECK(p.timeout_ms == 60000 && p.connect_timeout_ms == 30000);
	T_CHECK(p.max_msg_size == 1ULL << 30);
	opt_login(&v, &auth, &sasl);
	T_CHECK(sasl != NULL && strcmp(sasl, "auto") == 0);
	T_CHECK(opt_set(&v, OPT_TIMEOUT, "120", OPT_FROM_CLI, why,
	    sizeof why) == 0);
	T_CHECK(opt_set(&v, OPT_TLS, "starttls", OPT_FROM_CONFIG, why,
	    sizeof why) == 0);
	T_CHECK(opt_set(&v, OPT_AUTH, "apop", OPT_FROM_CLI, why,
	    sizeof why) == 0);
	opt_pop3(&v, &p, port);
	T_CHECK(strcmp(port, "110") == 0 && p.tls == POP3_TLS_STARTTLS);
	T_CHECK(p.timeout_ms == 120000 && p.connect_timeout_ms == 120000);
	opt_login(&v, &auth, &sasl);
	T_CHECK(sasl == NULL && auth == POP3_AUTH_APOP);
	T_CHECK(opt_set(&v, OPT_AUTH, "scram-sha-256", OPT_FROM_CLI, why,
	    sizeof why) == 0);
	opt_login(&v, &auth, &sasl);
	T_CHECK(sasl != NULL && strcmp(sasl, "SCRAM-SHA-256") == 0);

	/* A URL: pop3:// is STLS, or none with --insecure-plaintext. */
	memset(&u, 0, sizeof u);
	snprintf(u.host, sizeof u.host, "mail.example");
	snprintf(u.port, sizeof u.port, "1110");
	opt_set_url(&v, &u);
	T_CHECK(strcmp(v.host, "mail.example") == 0 && v.port == 1110);
	T_CHECK(v.user == NULL && !OPT_ISSET(&v, OPT_USER));
	T_CHECK(v.tls == POP3_TLS_STARTTLS);
	v.insecure_plaintext = 1;
	snprintf(u.user, sizeof u.user, "alice");
	opt_set_url(&v, &u);
	T_CHECK(v.tls == POP3_TLS_NONE && strcmp(v.user, "alice") == 0);
	u.implicit_tls = 1;
	opt_set_url(&v, &u);
	T_CHECK(v.tls == POP3_TLS_IMPLICIT);
	opt_pop3(&v, &p, port);
	T_CHECK(strcmp(port, "1110") == 0);
	opt_free(&v);
}

int
main(void)
{
	T_RUN(test_set_good);
	T_RUN(test_set_bad);
	T_RUN(test_same_from_both);
	T_RUN(test_table);
	T_RUN(test_args);
	T_RUN(test_cli_equals_config);
	T_RUN(test_merge_order);
	T_RUN(test_derived);
	return T_END();
}
