/*
 * opt.c -- the table of every option (opt.h) and what works from it:
 * the setter shared by popvault.conf(5) and the command line, the
 * merge of one layer over another, and what a run and a connection take
 * from the values. The command line itself (getopt_long() built from
 * the table, --help printed from it) is opt_cli.c's.
 *
 * A value is checked here, once, whatever brought it: the config file
 * and the command line accept the same words, numbers and ranges. The
 * one difference is paths: in the file they must be absolute or start
 * with "~/" (relative to what, otherwise?); on the command line they are
 * taken as the shell left them.
 */
#include <sys/types.h>

#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "opt.h"
#include "opt_int.h"
#include "sasl.h"
#include "secret.h"
#include "util.h"

#define PATH_MAX_LEN	4096
#define FIELD_MAX	255	/* host, user, password_env */

#define F(field)	offsetof(struct opt_values, field)
#define ACCT		(OPT_CMD_FETCH | OPT_CMD_PRUNE)
#define ALL		(OPT_CMD_FETCH | OPT_CMD_PRUNE | OPT_CMD_PROBE)
#define VAULT		(ACCT | OPT_CMD_VERIFY | OPT_CMD_STATUS | \
			    OPT_CMD_SEARCH | OPT_CMD_CAT | OPT_CMD_IMPORT | \
			    OPT_CMD_INDEX | OPT_CMD_EXPORT)
/* What writes into an archive: fetch, import (no server), export. */
#define STORE		(OPT_CMD_FETCH | OPT_CMD_PRUNE | OPT_CMD_IMPORT | \
			    OPT_CMD_EXPORT)
#define SELECT		(OPT_CMD_SEARCH | OPT_CMD_EXPORT)
#define ANY		(VAULT | OPT_CMD_PROBE)

static const struct opt_word tls_words[] = {
	{ "implicit", POP3_TLS_IMPLICIT },
	{ "starttls", POP3_TLS_STARTTLS },
	{ "none", POP3_TLS_NONE },
	{ NULL, 0 }
};

static const struct opt_word yesno_words[] = {
	{ "yes", 1 },
	{ "no", 0 },
	{ NULL, 0 }
};

static const struct opt_word logindelay_words[] = {
	{ "honour", 0 },
	{ "ignore", 1 },
	{ NULL, 0 }
};

static const struct opt_word withoutuidl_words[] = {
	{ "refuse", 0 },
	{ "top", 1 },
	{ NULL, 0 }
};

static const struct opt_word ageby_words[] = {
	{ "first-seen", 0 },
	{ "date", 1 },
	{ NULL, 0 }
};

static const struct opt_word changed_words[] = {
	{ "moved", OPT_CHANGED_MOVED },
	{ "new", OPT_CHANGED_NEW },
	{ NULL, 0 }
};

static const struct opt_word dedup_words[] = {
	{ "vault", OPT_DEDUP_VAULT },
	{ "account", OPT_DEDUP_ACCOUNT },
	{ "none", OPT_DEDUP_NONE },
	{ NULL, 0 }
};

static const struct opt_word provider_words[] = {
	{ "none", 0 },
	{ "gmail", 1 },
	{ "m365", 2 },
	{ NULL, 0 }
};

/* The words of auth before the SASL mechanisms (sasl.c names those). */
static const struct opt_word auth_words[] = {
	{ "auto", OPT_AUTH_AUTO },
	{ "user", OPT_AUTH_USER },
	{ "apop", OPT_AUTH_APOP },
	{ NULL, 0 }
};

const struct opt_def opt_defs[OPT_COUNT] = {
	[OPT_CONFIG] = { NULL, "config", 0, "FILE", OPT_T_PATH, F(config),
	    NULL, 0, 0, NULL, "a file name", NULL, ACCT | OPT_CMD_IMPORT | OPT_CMD_EXPORT, 0,
	    0, "accounts (default: $XDG_CONFIG_HOME/popvault/config)" },
	[OPT_JOBS] = { "jobs", "jobs", 'j', "N", OPT_T_UINT, F(jobs),
	    NULL, 1, 64, NULL, NULL, "1", ACCT, 0, OPT_F_DEFAULTS_ONLY,
	    "run up to N accounts at once (default: the jobs of the "
	    "config file, else 1)" },
	[OPT_VAULT] = { "vault", "vault", 0, "DIR", OPT_T_PATH, F(vault),
	    NULL, 0, 0, NULL, NULL, NULL, VAULT, 0, 0,
	    "index and archives (default: $XDG_DATA_HOME/popvault)" },
	[OPT_FORMAT] = { "format", "format", 0, NULL, OPT_T_FORMAT,
	    F(format), NULL, 0, 0, NULL, NULL, "maildir", STORE,
	    OPT_CMD_PRUNE, 0, "archive format" },
	[OPT_COMPRESS] = { "compress", "compress", 0, NULL, OPT_T_COMPRESS,
	    F(compress), NULL, 0, 0, NULL, NULL, "none", STORE,
	    OPT_CMD_PRUNE, 0,
	    "compression" },
	[OPT_MAX_MESSAGE_SIZE] = { "max_message_size", "max-message-size", 0,
	    "SIZE", OPT_T_SIZE, F(max_message_size), NULL, 0, 0, NULL,
	    "a size such as 50M (a number and k, M or G)", "1G", STORE,
	    OPT_CMD_PRUNE, 0,
	    "largest message fetched, in bytes or with k, M or G" },
	[OPT_BATCH] = { "batch", "batch", 0, "N", OPT_T_UINT, F(batch),
	    NULL, 1, 100000, NULL, NULL, NULL, STORE, OPT_CMD_PRUNE, 0,
	    "messages per commit (default 200; tar: 10000, one volume per "
	    "commit)" },
	[OPT_DRY_RUN] = { NULL, "dry-run", 0, NULL, OPT_T_FLAG, F(dry_run),
	    NULL, 0, 0, NULL, NULL, NULL, OPT_CMD_FETCH | OPT_CMD_EXPORT, 0, 0,
	    "connect and list; say what would be archived and deleted; "
	    "change nothing" },
	[OPT_PLAN] = { NULL, "plan", 0, NULL, OPT_T_FLAG, F(dry_run),
	    NULL, 0, 0, NULL, NULL, NULL, OPT_CMD_PRUNE, 0, 0,
	    "connect and list; say which UIDLs would be deleted and why; "
	    "delete nothing" },
	[OPT_LOGIN] = { NULL, "login", 0, NULL, OPT_T_FLAG, F(login),
	    NULL, 0, 0, NULL, NULL, NULL, OPT_CMD_PROBE, 0, 0,
	    "also log in (USER needed in the URL), try UIDL, LIST and "
	    "pipelining, QUIT" },
	[OPT_FROM] = { NULL, "from", 0, "TEXT", OPT_T_STR, F(from), NULL, 0,
	    0, NULL, "some text", NULL, SELECT, 0, 0,
	    "From contains TEXT (any case for ASCII)" },
	[OPT_SUBJECT] = { NULL, "subject", 0, "TEXT", OPT_T_STR, F(subject),
	    NULL, 0, 0, NULL, "some text", NULL, SELECT, 0, 0,
	    "Subject contains TEXT (any case for ASCII)" },
	[OPT_SINCE] = { NULL, "since", 0, "YYYY-MM-DD", OPT_T_DAY, F(since),
	    NULL, 0, 0, NULL, "a day as YYYY-MM-DD", NULL, SELECT,
	    0, 0, "Date on or after that day (UTC)" },
	[OPT_UNTIL] = { NULL, "until", 0, "YYYY-MM-DD", OPT_T_DAY, F(until),
	    NULL, 0, 0, NULL, "a day as YYYY-MM-DD", NULL, SELECT,
	    0, 0, "Date before that day (UTC)" },
	[OPT_MESSAGE_ID] = { NULL, "message-id", 0, "ID", OPT_T_STR,
	    F(message_id), NULL, 0, 0, NULL, "a Message-ID", NULL,
	    SELECT, 0, 0, "this Message-ID" },
	[OPT_ACCOUNT] = { NULL, "account", 0, "NAME", OPT_T_STR, F(account),
	    NULL, 0, 0, NULL, "an account name", NULL, OPT_CMD_SEARCH, 0, 0,
	    "seen in this account" },
	[OPT_ACCOUNTS] = { NULL, "account", 0, "NAME", OPT_T_LIST,
	    F(accounts), NULL, 0, 0, NULL, "an account name", NULL,
	    OPT_CMD_EXPORT, 0, 0,
	    "only this account (again for more; default: every one)" },
	[OPT_TO] = { "to", "to", 0, "URL|NAME", OPT_T_STR, F(to), NULL, 0, 0,
	    NULL, "imaps://USER@HOST[:PORT]/FOLDER, imap://..., or the name "
	    "of a [destination] section", NULL, OPT_CMD_EXPORT, 0,
	    OPT_F_DEST, "upload into this IMAP mailbox instead of a folder "
	    "(imaps://USER@HOST[:PORT]/FOLDER, or a [destination NAME] of the "
	    "config file)" },
	[OPT_IMAP_FLAGS] = { "imap_flags", "imap-flags", 0, "FLAGS",
	    OPT_T_STR, F(imap_flags), NULL, 0, 0, NULL, "IMAP flags such "
	    "as \\Seen \\Flagged, or none", "\\Seen", OPT_CMD_EXPORT, 0,
	    OPT_F_DEST, "--to: the flags of each uploaded message (default "
	    "\\Seen; none for none)" },
	[OPT_RATE_MESSAGES] = { "rate_messages", "rate-messages", 0, "N",
	    OPT_T_STR, F(rate_messages), NULL, 0, 0, NULL, "messages per "
	    "second (a positive number such as 2 or 0.5)", NULL,
	    OPT_CMD_EXPORT, 0, OPT_F_DEST,
	    "--to: upload at most N messages a second" },
	[OPT_RATE_BYTES] = { "rate_bytes", "rate-bytes", 0, "SIZE",
	    OPT_T_SIZE, F(rate_bytes), NULL, 0, 0, NULL,
	    "a size such as 1M (a number and k, M or G)", NULL,
	    OPT_CMD_EXPORT, 0, OPT_F_DEST,
	    "--to: upload at most SIZE bytes a second" },
	[OPT_DAILY_BYTES] = { "daily_bytes", "daily-bytes", 0, "SIZE",
	    OPT_T_SIZE, F(daily_bytes), NULL, 0, 0, NULL,
	    "a size such as 500M (a number and k, M or G)", NULL,
	    OPT_CMD_EXPORT, 0, OPT_F_DEST,
	    "--to: upload at most SIZE bytes in 24 hours; then the run ends "
	    "(exit 75) and the next one goes on" },
	[OPT_PROVIDER] = { "provider", "provider", 0, NULL, OPT_T_WORD,
	    F(provider), provider_words, 0, 0, NULL, NULL, "none",
	    OPT_CMD_EXPORT, 0, OPT_F_DEST,
	    "--to: the limits of a provider: gmail (500M a day), m365 (2 "
	    "messages a second); the rate options override them" },
	[OPT_LIMIT] = { NULL, "limit", 0, "N", OPT_T_UINT, F(limit), NULL, 1,
	    INT64_MAX, NULL, "a positive number", NULL, OPT_CMD_SEARCH, 0, 0,
	    "at most N lines" },
	[OPT_DELETE] = { "delete", "delete", 0, "POLICY", OPT_T_DELETE,
	    F(del), NULL, 0, 0, NULL,
	    "never, verified or older-than=DURATION (30d, 12w, 6m, 1y)",
	    "never", ACCT, 0, 0,
	    "never (default), verified, or older-than=DURATION (30d, 12w, "
	    "6m, 1y)" },
	[OPT_AGE_BY] = { "age_by", "age-by", 0, NULL, OPT_T_WORD,
	    F(age_by_date), ageby_words, 0, 0, NULL, NULL, "first-seen",
	    ACCT, 0, 0,
	    "age from when popvault first saw the message (default) or "
	    "from its Date header" },
	[OPT_MAX_DELETES] = { "max_deletes", "max-deletes", 0, "N",
	    OPT_T_UINT, F(max_deletes), NULL, 1, UINT32_MAX, NULL,
	    "a positive number", NULL, ACCT, 0, 0,
	    "delete at most N messages per run" },
	[OPT_MAX_SESSIONS] = { "max_sessions", "max-sessions", 0, "N",
	    OPT_T_UINT, F(max_sessions), NULL, 1, 10000, NULL,
	    "a number from 1 to 10000", "100", OPT_CMD_FETCH, 0, 0,
	    "sessions one run may open when the server lists only part of "
	    "the mailbox per session (Gmail); 1: one session per run" },
	[OPT_LOGIN_DELAY] = { "login_delay", "login-delay", 0, NULL,
	    OPT_T_WORD, F(ignore_login_delay), logindelay_words, 0, 0, NULL,
	    NULL, "honour", ACCT, 0, 0,
	    "honour (default): no login before the server's LOGIN-DELAY "
	    "allows it; ignore: for servers that announce it but do not "
	    "enforce it" },
	[OPT_REMAP] = { NULL, "remap", 0, NULL, OPT_T_FLAG, F(remap), NULL, 0,
	    0, NULL, NULL, NULL, OPT_CMD_FETCH, 0, 0,
	    "the server gave its messages new UIDLs (a migrated server): "
	    "fetch and prove every one, relinking those already stored" },
	[OPT_WITHOUT_UIDL] = { "without_uidl", "without-uidl", 0, NULL,
	    OPT_T_WORD, F(without_uidl), withoutuidl_words, 0, 0, NULL, NULL,
	    "refuse", ACCT, 0, 0,
	    "a server without UIDL: refuse (default), or top: name each "
	    "message by its headers (TOP n 0) and size, and delete one only "
	    "after its download in the same session" },
	[OPT_ACCOUNT_CHANGED] = { NULL, "account-changed", 0, NULL,
	    OPT_T_WORD, F(changed), changed_words, 0, 0, NULL, NULL, NULL,
	    ACCT, 0, 0,
	    "the account's host, port or user changed: moved: the same "
	    "mailbox, every UIDL proven again by its bytes before any "
	    "delete; new: start a fresh account, keeping the old one under "
	    "another name" },
	[OPT_PASSWORD_COMMAND] = { "password_command", "password-command", 0,
	    "CMD", OPT_T_STR, F(password_command), NULL, 0, 0, NULL,
	    "a command", NULL, ALL | OPT_CMD_EXPORT, 0, OPT_F_SOURCE | OPT_F_COMMAND,
	    "run CMD, use the first line it prints (else $POPVAULT_PASSWORD, "
	    "else a prompt)" },
	[OPT_PASSWORD_COMMAND_TIMEOUT] = { "password_command_timeout",
	    "password-command-timeout", 0, "SECONDS", OPT_T_UINT,
	    F(password_command_timeout), NULL, 1, 86400, "seconds", NULL,
	    "60", ALL | OPT_CMD_EXPORT, 0, 0,
	    "kill the command if it has not finished by then" },
	[OPT_AUTH] = { "auth", "auth", 0, "METHOD", OPT_T_AUTH, F(auth),
	    auth_words, 0, 0, NULL, NULL, "auto", ALL | OPT_CMD_EXPORT, 0, 0,
	    "auto (the default: SCRAM-SHA-256, SCRAM-SHA-1, PLAIN, LOGIN, "
	    "the first offered after TLS, else USER/PASS), user (USER/PASS), "
	    "apop, plain, login, cram-md5, scram-sha-1, scram-sha-256, "
	    "xoauth2, oauthbearer (token from the password source)" },
	[OPT_TLS_CA] = { "tls_ca", "tls-ca", 0, "FILE", OPT_T_PATH,
	    F(tls_ca), NULL, 0, 0, NULL, NULL, NULL, ALL | OPT_CMD_EXPORT, 0, 0,
	    "trust the CA certificates in FILE instead of the system's" },
	[OPT_TLS_FINGERPRINT] = { "tls_fingerprint", "tls-fingerprint", 0,
	    "sha256:HEX", OPT_T_PIN, F(tls_fingerprint), NULL, 0, 0, NULL,
	    "sha256: and 64 hex digits (colons allowed)", NULL, ALL | OPT_CMD_EXPORT, 0, 0,
	    "accept only this certificate or key" },
	[OPT_INSECURE_PLAINTEXT] = { "insecure_plaintext",
	    "insecure-plaintext", 0, NULL, OPT_T_FLAG,
	    F(insecure_plaintext), yesno_words, 0, 0, NULL, NULL, "no", ALL | OPT_CMD_EXPORT,
	    0, 0,
	    "pop3:// goes on in clear text, the password too, when the "
	    "server offers no STLS (STLS is used whenever offered)" },
	[OPT_TIMEOUT] = { "timeout", "timeout", 0, "SECONDS", OPT_T_UINT,
	    F(timeout), NULL, 1, 86400, "seconds", NULL, "60", ALL | OPT_CMD_EXPORT, 0, 0,
	    "idle timeout, base of every deadline" },
	[OPT_JSON] = { NULL, "json", 0, NULL, OPT_T_FLAG, F(json), NULL, 0,
	    0, NULL, NULL, NULL, ACCT | OPT_CMD_IMPORT |
	    OPT_CMD_EXPORT, 0, 0,
	    "the report as one JSON document on stdout (docs/json.md)" },
	[OPT_LOG] = { NULL, "log", 0, "FILE", OPT_T_PATH, F(log), NULL, 0,
	    0, NULL, "a file name", NULL, ACCT | OPT_CMD_IMPORT, 0, 0,
	    "append one line per event (connect, login, batch, verify, "
	    "delete, warning)" },
	[OPT_PROGRESS] = { NULL, "progress", 0, NULL, OPT_T_FLAG,
	    F(progress), NULL, 0, 0, NULL, NULL, NULL, ACCT | OPT_CMD_IMPORT | OPT_CMD_EXPORT,
	    0, 0,
	    "show progress even when stderr is not a terminal" },
	[OPT_VERBOSE] = { NULL, "verbose", 'v', NULL, OPT_T_COUNT,
	    F(verbose), NULL, 0, 0, NULL, NULL, NULL, ALL | OPT_CMD_IMPORT | OPT_CMD_EXPORT,
	    0, 0,
	    "show the POP3 conversation (twice: TLS)" },
	[OPT_QUIET] = { NULL, "quiet", 'q', NULL, OPT_T_FLAG, F(quiet),
	    NULL, 0, 0, NULL, NULL, NULL, ACCT | OPT_CMD_IMPORT |
	    OPT_CMD_EXPORT, 0, 0,
	    "errors only, no progress, no report" },
	[OPT_QUIET_PROBE] = { NULL, "quiet", 'q', NULL, OPT_T_FLAG, F(quiet),
	    NULL, 0, 0, NULL, NULL, NULL, OPT_CMD_PROBE, 0, 0,
	    "print only the suggested configuration" },
	[OPT_QUIET_VERIFY] = { NULL, "quiet", 'q', NULL, OPT_T_FLAG,
	    F(quiet), NULL, 0, 0, NULL, NULL, NULL, OPT_CMD_VERIFY, 0, 0,
	    "only the problems, no summary" },
	[OPT_HELP] = { NULL, "help", 'h', NULL, OPT_T_FLAG, F(help), NULL,
	    0, 0, NULL, NULL, NULL, ANY, 0, 0, "this text" },
	[OPT_HOST] = { "host", NULL, 0, NULL, OPT_T_HOST, F(host), NULL, 0,
	    0, NULL, "a host name or address (letters, digits, '.', '-', "
	    "'_', ':', '%'; IPv6 without brackets)", NULL, 0, 0, 0, NULL },
	[OPT_PORT] = { "port", NULL, 0, NULL, OPT_T_UINT, F(port), NULL, 1,
	    65535, NULL, NULL, NULL, 0, 0, 0, NULL },
	[OPT_TLS] = { "tls", NULL, 0, NULL, OPT_T_WORD, F(tls), tls_words,
	    0, 0, NULL, NULL, "implicit", 0, 0, 0, NULL },
	[OPT_USER] = { "user", NULL, 0, NULL, OPT_T_USER, F(user), NULL, 0,
	    0, NULL, "a user name of at most 255 bytes without spaces", NULL,
	    0, 0, 0, NULL },
	[OPT_OAUTH_COMMAND] = { "oauth_command", NULL, 0, NULL, OPT_T_STR,
	    F(oauth_command), NULL, 0, 0, NULL, "a command", NULL, 0, 0,
	    OPT_F_COMMAND, NULL },
	[OPT_NETRC] = { "netrc", NULL, 0, NULL, OPT_T_NETRC, F(netrc), NULL,
	    0, 0, NULL, "yes (for ~/.netrc) or a path starting with / or ~/",
	    NULL, 0, 0, OPT_F_SOURCE, NULL },
	[OPT_PASSWORD] = { "password", NULL, 0, NULL, OPT_T_STR, F(password),
	    NULL, 0, 0, NULL, "a password", NULL, 0, 0,
	    OPT_F_SOURCE | OPT_F_SECRET, NULL },
	[OPT_PASSWORD_ENV] = { "password_env", NULL, 0, NULL, OPT_T_ENV,
	    F(password_env), NULL, 0, 0, NULL, "the name of an environment "
	    "variable ([A-Za-z_][A-Za-z0-9_]*)", NULL, 0, 0, OPT_F_SOURCE,
	    NULL },
	[OPT_ACCOUNT_INTO] = { NULL, "account", 0, "NAME", OPT_T_STR,
	    F(account), NULL, 0, 0, NULL, "an account name", NULL,
	    OPT_CMD_IMPORT, 0, 0,
	    "the vault's account to import into (made if new)" },
	[OPT_UIDLS_FROM] = { NULL, "uidls-from", 0, "TOOL:FILE", OPT_T_STR,
	    F(uidls_from), NULL, 0, 0, NULL, "mpop:FILE, getmail:FILE or "
	    "fetchmail:FILE", NULL, OPT_CMD_IMPORT, 0, 0,
	    "the UIDLs that mpop, getmail or fetchmail recorded for the "
	    "account: fetch does not download those again" },
	[OPT_DEDUP] = { "dedup", NULL, 0, NULL, OPT_T_WORD, F(dedup),
	    dedup_words, 0, 0, NULL, NULL, "vault", 0, 0,
	    OPT_F_DEFAULTS_ONLY, NULL },
};

#undef F
#undef ACCT
#undef ALL
#undef VAULT
#undef SELECT
#undef ANY

/* The field of option id in v, by type. */
#define FIELD(v, id, type)	\
	((type *)(void *)((char *)(v) + opt_defs[id].off))
#define CFIELD(v, id, type)	\
	((type const *)(const void *)((const char *)(v) + opt_defs[id].off))

/*
 * A day as YYYY-MM-DD (four, two and two digits, a real date of the
 * Gregorian calendar) to the second of its 00:00 UTC.
 */
static int
parse_day(const char *s, int64_t *out)
{
	static const int	mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
				    31, 30, 31 };
	int64_t			y, m, d, era, yoe, doy, doe;
	int			i;

	for (i = 0; i < 10; i++)
		if ((i == 4 || i == 7) ? s[i] != '-' :
		    (s[i] < '0' || s[i] > '9'))
			return -1;
	if (s[10] != '\0')
		return -1;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	    (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 &&
	    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -1;
	/* Days from 1970-01-01 (H. Hinnant's days_from_civil). */
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	*out = (era * 146097 + doe - 719468) * 86400;
	return 0;
}

static int
is_string(enum opt_type t)
{
	return t == OPT_T_STR || t == OPT_T_LIST || t == OPT_T_PATH || t == OPT_T_NETRC ||
	    t == OPT_T_HOST || t == OPT_T_USER || t == OPT_T_ENV ||
	    t == OPT_T_PIN;
}

static int
is_int(enum opt_type t)
{
	return t == OPT_T_WORD || t == OPT_T_FLAG || t == OPT_T_COUNT ||
	    t == OPT_T_COMPRESS;
}

const char *
opt_key(enum opt_id id)
{
	return (unsigned)id < OPT_COUNT ? opt_defs[id].key : NULL;
}

const char *
opt_flag(enum opt_id id)
{
	return (unsigned)id < OPT_COUNT ? opt_defs[id].flag : NULL;
}

unsigned
opt_flags(enum opt_id id)
{
	return (unsigned)id < OPT_COUNT ? opt_defs[id].flags : 0;
}

int
opt_find_key(const char *name, size_t len)
{
	int	id;

	for (id = 0; id < OPT_COUNT; id++)
		if (opt_defs[id].key != NULL &&
		    strlen(opt_defs[id].key) == len &&
		    memcmp(opt_defs[id].key, name, len) == 0)
			return id;
	return -1;
}

/* The user's home folder ($HOME, else the password file): 0 or -1. */
int
opt_home(char *buf, size_t len)
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

/* The SASL mechanism called s, exactly as auth spells it, or -1. */
static int
sasl_word(const char *s)
{
	const char	*name;
	size_t		 i;
	int		 m;

	for (m = 0; m < SASL_NMECH; m++) {
		name = sasl_mech_name((enum sasl_mech)m);
		for (i = 0; name[i] != '\0' && s[i] != '\0'; i++)
			if (s[i] != ((name[i] >= 'A' && name[i] <= 'Z') ?
			    name[i] - 'A' + 'a' : name[i]))
				break;
		if (name[i] == '\0' && s[i] == '\0')
			return m;
	}
	return -1;
}

/* Append s to buf, as far as it goes. */
static void
cat(char *buf, size_t len, const char *s)
{
	size_t	n = strlen(buf);

	if (n < len)
		snprintf(buf + n, len - n, "%s", s);
}

size_t
opt_words(enum opt_id id, const char **out, size_t max)
{
	static char		 sasl[SASL_NMECH][32];
	const struct opt_def	*d = &opt_defs[id];
	size_t			 n = 0, i;
	int			 m;

	if (d->type == OPT_T_FORMAT) {
		for (i = 0; fmt_at(i) != NULL && n < max; i++)
			out[n++] = fmt_at(i)->name;
		return n;
	}
	if (d->type == OPT_T_COMPRESS) {
		for (m = 0; m < FMT_COMP_COUNT && n < max; m++)
			out[n++] = fmt_comp_name((enum fmt_compress)m);
		return n;
	}
	for (i = 0; d->words != NULL && d->words[i].name != NULL; i++)
		if (n < max)
			out[n++] = d->words[i].name;
	if (d->type == OPT_T_AUTH)
		for (m = 0; m < SASL_NMECH && n < max; m++) {
			snprintf(sasl[m], sizeof sasl[m], "%s",
			    sasl_mech_name((enum sasl_mech)m));
			for (i = 0; sasl[m][i] != '\0'; i++)
				if (sasl[m][i] >= 'A' && sasl[m][i] <= 'Z')
					sasl[m][i] += 'a' - 'A';
			out[n++] = sasl[m];
		}
	return n;
}

void
opt_join_words(enum opt_id id, const char *sep, const char *last, char *buf,
    size_t len)
{
	const char	*w[32];
	size_t		 i, n = opt_words(id, w, 32);

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0)
			cat(buf, len, i + 1 == n ? last : sep);
		cat(buf, len, w[i]);
	}
}

/* What option id expects, worded for where. */
static void
expect(enum opt_id id, enum opt_from from, char *buf, size_t len)
{
	const struct opt_def	*d = &opt_defs[id];
	char			 w[512];

	if (d->type == OPT_T_FLAG && from == OPT_FROM_CONFIG)
		opt_join_words(id, ", ", " or ", w, sizeof w);
	else if (d->expect != NULL)
		snprintf(w, sizeof w, "%s", d->expect);
	else if (d->type == OPT_T_UINT && from == OPT_FROM_CONFIG)
		snprintf(w, sizeof w, "%s from %llu to %llu",
		    d->unit != NULL ? d->unit : "a number",
		    (unsigned long long)d->min, (unsigned long long)d->max);
	else if (d->type == OPT_T_UINT)
		snprintf(w, sizeof w, "%llu to %llu%s%s",
		    (unsigned long long)d->min, (unsigned long long)d->max,
		    d->unit != NULL ? " " : "", d->unit != NULL ? d->unit : "");
	else if (d->type == OPT_T_PATH)
		snprintf(w, sizeof w, "a path starting with / or ~/");
	else
		opt_join_words(id, ", ", " or ", w, sizeof w);
	snprintf(buf, len, "%s%s", from == OPT_FROM_CONFIG ? "expected " : "",
	    w);
}

static int
find_word(const struct opt_word *w, const char *s, int *out)
{
	for (; w != NULL && w->name != NULL; w++)
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

/* A size: 50M, 1G, 512k, 1000000 (k, M, G: binary multiples). */
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
valid_pin(const char *s)
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
 * A path from the config file: "/..." kept, "~" and "~/..." under the
 * home folder. Relative paths and "~user" are refused: relative to what
 * would depend on where popvault was started. From the command line, as
 * given. NULL: refused (why set when the reason is not the usual one).
 */
static char *
path_value(const char *s, enum opt_from from, char *why, size_t whylen)
{
	char	home[PATH_MAX_LEN], out[PATH_MAX_LEN];

	if (strlen(s) >= PATH_MAX_LEN) {
		snprintf(why, whylen, "path too long");
		return NULL;
	}
	if (from == OPT_FROM_CLI || s[0] == '/')
		return xstrdup(s);
	if (s[0] != '~' || (s[1] != '\0' && s[1] != '/'))
		return NULL;
	if (opt_home(home, sizeof home) == -1) {
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

void
opt_init(struct opt_values *v)
{
	memset(v, 0, sizeof *v);
}

void
opt_defaults(struct opt_values *v)
{
	char	why[160];
	int	id;

	opt_init(v);
	for (id = 0; id < OPT_COUNT; id++)
		if (opt_defs[id].dflt != NULL && opt_set(v, id,
		    opt_defs[id].dflt, OPT_FROM_CONFIG, why, sizeof why) == -1)
			fatalx("opt: default of %s: %s", opt_defs[id].key, why);
	v->set = 0;
}

int
opt_set(struct opt_values *v, enum opt_id id, const char *value,
    enum opt_from from, char *why, size_t whylen)
{
	const struct opt_def	*d;
	const struct fmt_ops	*fmt;
	enum fmt_compress	 comp;
	enum run_delete		 del;
	int64_t			 secs;
	uint64_t		 n;
	size_t			 len;
	char			*s = NULL;
	int			 w = 0;

	why[0] = '\0';
	if ((unsigned)id >= OPT_COUNT) {
		snprintf(why, whylen, "no such option");
		return -1;
	}
	d = &opt_defs[id];
	if (value == NULL) {
		/* A flag on the command line: no argument. */
		if (from != OPT_FROM_CLI || (d->type != OPT_T_FLAG &&
		    d->type != OPT_T_COUNT)) {
			snprintf(why, whylen, "a value is needed");
			return -1;
		}
		if (d->type == OPT_T_COUNT)
			(*FIELD(v, id, int))++;
		else
			*FIELD(v, id, int) = 1;
		v->set |= OPT_BIT(id);
		return 0;
	}
	if (value[0] == '\0') {
		snprintf(why, whylen, "empty value");
		return -1;
	}
	switch (d->type) {
	case OPT_T_STR:
		s = xstrdup(value);
		break;
	case OPT_T_LIST:
		/* Given again: one more line. */
		if (strchr(value, '\n') != NULL)
			goto bad;
		if (*FIELD(v, id, char *) == NULL)
			s = xstrdup(value);
		else {
			len = strlen(*FIELD(v, id, char *));
			s = xmalloc(len + strlen(value) + 2);
			memcpy(s, *FIELD(v, id, char *), len);
			s[len] = '\n';
			memcpy(s + len + 1, value, strlen(value) + 1);
		}
		break;
	case OPT_T_PATH:
		if ((s = path_value(value, from, why, whylen)) == NULL)
			goto bad;
		break;
	case OPT_T_NETRC:
		s = path_value(strcmp(value, "yes") == 0 ? "~/.netrc" : value,
		    OPT_FROM_CONFIG, why, whylen);
		if (s == NULL)
			goto bad;
		break;
	case OPT_T_HOST:
		if (!valid_chars(value, ".-_:%", FIELD_MAX))
			goto bad;
		s = xstrdup(value);
		break;
	case OPT_T_USER:
		if (!valid_user(value))
			goto bad;
		s = xstrdup(value);
		break;
	case OPT_T_ENV:
		if (!valid_chars(value, "_", FIELD_MAX) ||
		    (value[0] >= '0' && value[0] <= '9'))
			goto bad;
		s = xstrdup(value);
		break;
	case OPT_T_PIN:
		if (!valid_pin(value))
			goto bad;
		s = xstrdup(value);
		break;
	case OPT_T_UINT:
		if (parse_uint(value, d->min, d->max, &n) == -1)
			goto bad;
		*FIELD(v, id, uint64_t) = n;
		break;
	case OPT_T_SIZE:
		if (parse_size(value, &n) == -1)
			goto bad;
		*FIELD(v, id, uint64_t) = n;
		break;
	case OPT_T_WORD:
	case OPT_T_FLAG:
	case OPT_T_COUNT:
		if (find_word(d->words, value, &w) == -1)
			goto bad;
		*FIELD(v, id, int) = w;
		break;
	case OPT_T_FORMAT:
		if ((fmt = fmt_find(value)) == NULL)
			goto bad;
		v->format = fmt;
		break;
	case OPT_T_COMPRESS:
		if (fmt_comp_find(value, &comp) == -1)
			goto bad;
		*FIELD(v, id, int) = (int)comp;
		break;
	case OPT_T_AUTH:
		if (find_word(d->words, value, &w) == 0)
			v->auth = w;
		else if ((w = sasl_word(value)) != -1) {
			v->auth = OPT_AUTH_SASL;
			v->sasl_mech = w;
		} else
			goto bad;
		break;
	case OPT_T_DELETE:
		if (policy_parse_delete(value, &del, &secs) == -1)
			goto bad;
		v->del = del;
		v->older_than = secs;
		break;
	case OPT_T_DAY:
		if (parse_day(value, &secs) == -1)
			goto bad;
		*FIELD(v, id, int64_t) = secs;
		break;
	}
	if (s != NULL)
		set_str(FIELD(v, id, char *), s);
	v->set |= OPT_BIT(id);
	return 0;
bad:
	/* A specific reason (a path too long) beats the generic one. */
	if (why[0] == '\0')
		expect(id, from, why, whylen);
	return -1;
}

/* Copy option id's value from src to dst; the bit is the caller's. */
static void
copy_value(struct opt_values *dst, const struct opt_values *src,
    enum opt_id id)
{
	const struct opt_def	*d = &opt_defs[id];
	const char		*s;

	if (is_string(d->type)) {
		s = *CFIELD(src, id, char *);
		set_str(FIELD(dst, id, char *), s != NULL ? xstrdup(s) : NULL);
	} else if (d->type == OPT_T_UINT || d->type == OPT_T_SIZE)
		*FIELD(dst, id, uint64_t) = *CFIELD(src, id, uint64_t);
	else if (is_int(d->type))
		*FIELD(dst, id, int) = *CFIELD(src, id, int);
	else if (d->type == OPT_T_FORMAT)
		dst->format = src->format;
	else if (d->type == OPT_T_AUTH) {
		dst->auth = src->auth;
		dst->sasl_mech = src->sasl_mech;
	} else if (d->type == OPT_T_DELETE) {
		dst->del = src->del;
		dst->older_than = src->older_than;
	} else if (d->type == OPT_T_DAY)
		*FIELD(dst, id, int64_t) = *CFIELD(src, id, int64_t);
}

void
opt_clear(struct opt_values *v, enum opt_id id)
{
	if ((unsigned)id >= OPT_COUNT)
		return;
	if (is_string(opt_defs[id].type))
		set_str(FIELD(v, id, char *), NULL);
	v->set &= ~OPT_BIT(id);
}

void
opt_merge(struct opt_values *dst, const struct opt_values *src)
{
	int	id, sources = 0;

	for (id = 0; id < OPT_COUNT; id++)
		if ((opt_defs[id].flags & OPT_F_SOURCE) && OPT_ISSET(src, id))
			sources = 1;
	for (id = 0; id < OPT_COUNT; id++) {
		if (sources && (opt_defs[id].flags & OPT_F_SOURCE))
			opt_clear(dst, id);
		if (!OPT_ISSET(src, id))
			continue;
		copy_value(dst, src, id);
		dst->set |= OPT_BIT(id);
	}
}

void
opt_free(struct opt_values *v)
{
	int	id;

	for (id = 0; id < OPT_COUNT; id++)
		if (is_string(opt_defs[id].type))
			set_str(FIELD(v, id, char *), NULL);
	memset(v, 0, sizeof *v);
}

/* A string option set directly (a URL's parts: checked by url_parse). */
static void
set_given(struct opt_values *v, enum opt_id id, const char *s)
{
	set_str(FIELD(v, id, char *), xstrdup(s));
	v->set |= OPT_BIT(id);
}

void
opt_set_url(struct opt_values *v, const struct url *u)
{
	uint64_t	port;

	set_given(v, OPT_HOST, u->host);
	if (u->user[0] != '\0')
		set_given(v, OPT_USER, u->user);
	if (parse_uint(u->port, 1, 65535, &port) == 0) {
		v->port = port;
		v->set |= OPT_BIT(OPT_PORT);
	}
	if (u->implicit_tls)
		v->tls = POP3_TLS_IMPLICIT;
	else if (v->insecure_plaintext)
		v->tls = POP3_TLS_NONE;
	else
		v->tls = POP3_TLS_STARTTLS;
	v->set |= OPT_BIT(OPT_TLS);
}

void
opt_pop3(const struct opt_values *v, struct pop3_opts *p, char port[8])
{
	unsigned	n = v->port != 0 ? (unsigned)v->port :
			    v->tls == POP3_TLS_IMPLICIT ? 995 : 110;

	/* 1 to 65535 (opt_set()): five digits at most. */
	snprintf(port, 8, "%u", n & 0xffff);
	p->host = v->host;
	p->port = port;
	p->tls = (enum pop3_tls)v->tls;
	p->tlsopts.ca_file = v->tls_ca;
	p->tlsopts.fingerprint = v->tls_fingerprint;
	p->insecure_plaintext = v->insecure_plaintext;
	p->timeout_ms = (int)v->timeout * 1000;
	/* 30 s to connect, unless a timeout was given for everything. */
	p->connect_timeout_ms = OPT_ISSET(v, OPT_TIMEOUT) ?
	    (int)v->timeout * 1000 : 30000;
	p->max_msg_size = v->max_message_size;
	p->uidl_by_top = v->without_uidl;
}

void
opt_login(const struct opt_values *v, enum pop3_auth *auth,
    const char **sasl)
{
	*auth = POP3_AUTH_USER;
	*sasl = NULL;
	switch (v->auth) {
	case OPT_AUTH_AUTO:
		*sasl = "auto";	/* docs/sasl.md, "Choosing" */
		break;
	case OPT_AUTH_APOP:
		*auth = POP3_AUTH_APOP;
		break;
	case OPT_AUTH_SASL:
		*sasl = sasl_mech_name((enum sasl_mech)v->sasl_mech);
		break;
	default:
		break;
	}
}

void
opt_secret_src(const struct opt_values *v, const char *host,
    const char *login, struct secret_src *src)
{
	if (OPT_ISSET(v, OPT_OAUTH_COMMAND) && v->auth == OPT_AUTH_SASL &&
	    sasl_mech_is_oauth(v->sasl_mech)) {
		/* An OAuth 2.0 token instead of a password. */
		src->command = v->oauth_command;
		return;
	}
	src->command = v->password_command;
	src->literal = v->password;
	src->env = v->password_env;
	if (v->netrc != NULL) {
		src->netrc = v->netrc;
		src->host = host;
		src->login = login;
	}
}
