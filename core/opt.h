/*
 * opt.h -- every option of popvault, defined once: its popvault.conf(5)
 * key, its command-line flag, the commands that take it, its type and
 * range, its built-in default and its line of --help (the table is in
 * opt.c). The config file (config.c) and the command line
 * (opt_parse_args) both go through one setter, opt_set(), into the same
 * struct opt_values; one function, opt_merge(), lays one such struct
 * over another. A run's options are always built the same way:
 *
 *   opt_defaults()          the built-in defaults
 *   opt_merge([defaults])   the config file's [defaults] section
 *   opt_merge(account)      the account's own section
 *   opt_merge(command line) what was typed
 *
 * Nothing here depends on the run (run.h): the values are plain words,
 * numbers and strings, and the formats' registry is only asked whether a
 * format name exists.
 *
 * A new option is an id below, a field of struct opt_values and a row
 * of the table (opt.c: key, flag, commands, type, default, help); a new
 * command an OPT_CMD_ bit, given to the rows of the options it takes.
 * Its --help follows; its key must get an item in popvault.conf(5) and
 * its flag a mention in popvault(1), which test_manpage.sh checks.
 */
#ifndef OPT_H
#define OPT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "format.h"	/* struct fmt_ops, enum fmt_compress */
#include "policy.h"	/* enum run_delete */
#include "pop3.h"	/* enum pop3_tls, enum pop3_auth, struct pop3_opts */
#include "url.h"

/*
 * The options, in the order of --help. Those after OPT_HELP have no
 * flag: popvault.conf(5) only.
 */
enum opt_id {
	OPT_CONFIG,
	OPT_JOBS,
	OPT_VAULT,
	OPT_FORMAT,
	OPT_COMPRESS,
	OPT_MAX_MESSAGE_SIZE,
	OPT_BATCH,
	OPT_DRY_RUN,
	OPT_PLAN,
	OPT_LOGIN,
	OPT_FROM,
	OPT_SUBJECT,
	OPT_SINCE,
	OPT_UNTIL,
	OPT_MESSAGE_ID,
	OPT_ACCOUNT,
	OPT_ACCOUNT_INTO,	/* import's --account: another meaning */
	OPT_UIDLS_FROM,
	OPT_ACCOUNTS,		/* export's --account: several */
	OPT_TO,			/* export --to: an IMAP mailbox */
	OPT_IMAP_FLAGS,
	OPT_RATE_MESSAGES,
	OPT_RATE_BYTES,
	OPT_DAILY_BYTES,
	OPT_PROVIDER,
	OPT_LIMIT,
	OPT_DELETE,
	OPT_AGE_BY,
	OPT_MAX_DELETES,
	OPT_ACCOUNT_CHANGED,
	OPT_PASSWORD_COMMAND,
	OPT_PASSWORD_COMMAND_TIMEOUT,
	OPT_AUTH,
	OPT_TLS_CA,
	OPT_TLS_FINGERPRINT,
	OPT_INSECURE_PLAINTEXT,
	OPT_TIMEOUT,
	OPT_JSON,
	OPT_LOG,
	OPT_PROGRESS,
	OPT_VERBOSE,
	OPT_QUIET,
	OPT_QUIET_PROBE,	/* probe's -q: another meaning, one field */
	OPT_QUIET_VERIFY,	/* and verify's */
	OPT_HELP,
	OPT_HOST,
	OPT_PORT,
	OPT_TLS,
	OPT_USER,
	OPT_OAUTH_COMMAND,
	OPT_NETRC,
	OPT_PASSWORD,
	OPT_PASSWORD_ENV,
	OPT_DEDUP,
	OPT_MAX_SESSIONS,
	OPT_LOGIN_DELAY,
	OPT_REMAP,
	OPT_WITHOUT_UIDL,
	OPT_COUNT
};

#define OPT_BIT(id)		((uint64_t)1 << (id))
#define OPT_ISSET(v, id)	(((v)->set & OPT_BIT(id)) != 0)

/* The commands that take options from the table (a bit each). */
#define OPT_CMD_FETCH		0x01
#define OPT_CMD_PRUNE		0x02
#define OPT_CMD_PROBE		0x04
#define OPT_CMD_VERIFY		0x08
#define OPT_CMD_STATUS		0x10
#define OPT_CMD_SEARCH		0x20
#define OPT_CMD_CAT		0x40
#define OPT_CMD_IMPORT		0x80
#define OPT_CMD_INDEX		0x100
#define OPT_CMD_EXPORT		0x200

/* Where a value comes from: the checks differ for paths and messages. */
enum opt_from {
	OPT_FROM_CONFIG,	/* paths start with / or ~/ (expanded) */
	OPT_FROM_CLI		/* paths as given (the shell expanded ~) */
};

enum opt_auth {
	OPT_AUTH_AUTO,		/* the strongest SASL offered, else USER */
	OPT_AUTH_USER,		/* USER and PASS */
	OPT_AUTH_APOP,
	OPT_AUTH_SASL		/* the mechanism in sasl_mech */
};

enum opt_changed {
	OPT_CHANGED_NONE,	/* refuse an account whose server changed */
	OPT_CHANGED_MOVED,
	OPT_CHANGED_NEW
};

enum opt_dedup {
	OPT_DEDUP_VAULT,
	OPT_DEDUP_ACCOUNT,
	OPT_DEDUP_NONE
};

/*
 * One layer of values: a config section, the command line, or all of
 * them merged. A field means something only when its option's bit is in
 * set, except after opt_defaults(), which fills in every built-in
 * default without setting a bit (so "given" stays tellable: --timeout
 * also sets the connect timeout, and only when given). Strings are owned
 * (opt_free() frees them, the password wiped); paths from the config
 * file are absolute ("~/" expanded, netrc = yes made ~/.netrc).
 */
struct opt_values {
	uint64_t		 set;

	char			*config;
	char			*vault;
	char			*password_command;
	char			*oauth_command;
	char			*tls_ca;
	char			*tls_fingerprint;	/* as given */
	char			*log;
	char			*host;
	char			*user;
	char			*netrc;
	char			*password;
	char			*password_env;
	char			*to;		/* export --to, destination */
	char			*imap_flags;
	char			*rate_messages;	/* per second, decimal */

	uint64_t		 jobs;
	uint64_t		 max_message_size;	/* bytes */
	uint64_t		 batch;			/* 0: the format's */
	uint64_t		 max_deletes;		/* 0: no cap */
	uint64_t		 password_command_timeout; /* seconds */
	uint64_t		 timeout;		/* seconds */
	uint64_t		 port;			/* 0: by tls */
	uint64_t		 max_sessions;
	uint64_t		 rate_bytes;		/* per second */
	uint64_t		 daily_bytes;
	int			 provider;	/* enum upload_provider */

	const struct fmt_ops	*format;
	int			 compress;	/* enum fmt_compress */
	enum run_delete		 del;
	int64_t			 older_than;	/* seconds, with DEL_OLDER */
	int			 age_by_date;	/* age_by = date */
	int			 changed;	/* enum opt_changed */
	int			 auth;		/* enum opt_auth */
	int			 sasl_mech;	/* enum sasl_mech (SASL) */
	int			 tls;		/* enum pop3_tls */
	int			 insecure_plaintext;
	int			 dedup;		/* enum opt_dedup */
	int			 ignore_login_delay;
	int			 remap;		/* fetch --remap */
	int			 without_uidl;	/* 1: name by TOP */

	/* The command line only. */
	char			*from;		/* search */
	char			*subject;
	char			*message_id;
	char			*account;
	char			*uidls_from;	/* import: TOOL:FILE */
	char			*accounts;	/* export: one a line */
	int64_t			 since, until;	/* UTC midnight, seconds */
	uint64_t		 limit;
	int			 dry_run;	/* --dry-run, --plan */
	int			 login;
	int			 json;
	int			 progress;
	int			 verbose;	/* how many -v */
	int			 quiet;
	int			 help;
};

/* Flags of an option (opt_flags()). */
#define OPT_F_SOURCE		0x01	/* a password source: taken as one */
#define OPT_F_DEFAULTS_ONLY	0x02	/* config: only in [defaults] */
#define OPT_F_SECRET		0x04	/* never echoed in a message */
#define OPT_F_COMMAND		0x08	/* names a command to run */
#define OPT_F_DEST		0x10	/* config: in [destination] only */

/* The option's config key ("max_deletes"), or NULL for flags only. */
const char	*opt_key(enum opt_id);
/* Its long flag without dashes ("max-deletes"), or NULL. */
const char	*opt_flag(enum opt_id);
unsigned	 opt_flags(enum opt_id);
/* The option whose config key is the len bytes at name, or -1. */
int		 opt_find_key(const char *name, size_t len);

/* The user's home folder ($HOME, else the password file): 0 or -1. */
int	opt_home(char *buf, size_t len);

/* Zero v: no value, nothing set. */
void	opt_init(struct opt_values *v);

/* Zero v, then fill in every built-in default (no bit set). */
void	opt_defaults(struct opt_values *v);

/*
 * Check value (NUL-terminated) for option id as given from where, and
 * store it in v, setting id's bit; a string already there is replaced.
 * value is NULL for a flag without an argument (--json, -v) on the
 * command line. Returns 0, or -1 with why saying what was expected,
 * worded for where: "expected seconds from 1 to 86400" (config) or
 * "1 to 86400 seconds" (command line), or a specific reason ("path too
 * long"). The empty value is never valid.
 */
int	opt_set(struct opt_values *v, enum opt_id id, const char *value,
	    enum opt_from from, char *why, size_t whylen);

/*
 * Lay src over dst: every option set in src replaces dst's value (a
 * copy: strings duplicated) and becomes set in dst. The password
 * sources (OPT_F_SOURCE) go as one: when src sets any of them, dst's
 * are all dropped first.
 */
void	opt_merge(struct opt_values *dst, const struct opt_values *src);

/* Drop option id's value from v (its bit cleared, a string freed). */
void	opt_clear(struct opt_values *v, enum opt_id id);

/*
 * Where the password of v's server comes from (secret.h): the OAuth
 * command when v asks for an OAuth mechanism and gives one, else v's
 * password sources, netrc looked up by host and login. Fills only those
 * fields of *src; the caller zeroes it and sets the timeout.
 */
struct secret_src;
void	opt_secret_src(const struct opt_values *v, const char *host,
	    const char *login, struct secret_src *src);

/* Free v's strings (the password wiped) and zero it. */
void	opt_free(struct opt_values *v);

/*
 * The command line of cmd (OPT_CMD_*), with getopt_long() over the
 * options the table gives cmd, into v (opt_init() first). Returns 0 with
 * *first the index of the first operand; -1 when a value was refused,
 * with a message in err ("--batch: 1 to 100000, not \"0\""); -2 when
 * getopt_long() refused an option (it printed why).
 */
int	opt_parse_args(int argc, char **argv, unsigned cmd,
	    struct opt_values *v, int *first, char *err, size_t errlen);

/* The "Options:" lines of cmd's --help, from the table. */
void	opt_help(FILE *fp, unsigned cmd);

/*
 * Every popvault.conf(5) key, one a line (popvault help --keys, for
 * test_manpage.sh): "KEY<TAB>account|defaults<TAB>WORDS", WORDS the
 * words it takes, space-separated, for a key that takes only words.
 */
void	opt_keys(FILE *fp);

/*
 * Take host, port, user and the TLS mode from a URL (pop3s://: implicit
 * TLS; pop3://: STLS, or none with insecure_plaintext already in v). An
 * empty user is left unset.
 */
void	opt_set_url(struct opt_values *v, const struct url *u);

/*
 * The connection options of v (merged over opt_defaults()) into p: host,
 * port (into port[8]: v's, else 995 for implicit TLS, else 110), TLS,
 * CA file, pin, timeouts (a given timeout is also the connect timeout,
 * else 30 s), the size limit. p's other fields are left alone.
 */
void	opt_pop3(const struct opt_values *v, struct pop3_opts *p,
	    char port[8]);

/*
 * How v logs in: *sasl a SASL mechanism name ("SCRAM-SHA-256") or
 * "auto", or NULL with *auth USER or APOP.
 */
void	opt_login(const struct opt_values *v, enum pop3_auth *auth,
	    const char **sasl);

#endif
