/*
 * config.h -- popvault.conf(5): a flat INI-like file of accounts.
 *
 *   # comment                  ; comment too
 *   [defaults]
 *   vault = ~/mail-archive
 *   [account work]
 *   host = pop.example.org
 *   user = alice
 *   password_command = "pass show mail/work"
 *
 * The grammar and every key are documented in docs/popvault.conf.5.
 * Parsing is pure (config_parse_buffer) apart from expanding "~/" in
 * paths; config_load adds reading the file and its permission check.
 *
 * Mistakes do not stop the parse: each one is collected as
 * "FILE:LINE: message" (isync's way), so the user sees all of them at
 * once. The caller prints them; nothing here logs.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "run.h"	/* enum run_delete, pop3_tls, fmt_compress */

#define CONFIG_LINE_MAX		4096	/* bytes, without the EOL */
#define CONFIG_FILE_MAX		(1024 * 1024)
#define CONFIG_ACCOUNTS_MAX	1000
#define CONFIG_NAME_MAX		64	/* [account NAME] */
#define CONFIG_ERRORS_MAX	100	/* then one "too many errors" */

/* The keys; CONFIG_BIT(k) is k's bit in the set/own masks. */
enum config_key {
	CONFIG_K_HOST,
	CONFIG_K_PORT,
	CONFIG_K_TLS,
	CONFIG_K_USER,
	CONFIG_K_AUTH,
	CONFIG_K_PASSWORD_COMMAND,
	CONFIG_K_OAUTH_COMMAND,
	CONFIG_K_PASSWORD_COMMAND_TIMEOUT,
	CONFIG_K_NETRC,
	CONFIG_K_PASSWORD,
	CONFIG_K_PASSWORD_ENV,
	CONFIG_K_TLS_CA,
	CONFIG_K_TLS_FINGERPRINT,
	CONFIG_K_INSECURE_PLAINTEXT,
	CONFIG_K_FORMAT,
	CONFIG_K_COMPRESS,
	CONFIG_K_DELETE,
	CONFIG_K_AGE_BY,
	CONFIG_K_MAX_DELETES,
	CONFIG_K_MAX_MESSAGE_SIZE,
	CONFIG_K_TIMEOUT,
	CONFIG_K_VAULT,
	CONFIG_K_BATCH,
	CONFIG_K_DEDUP,		/* [defaults] only */
	CONFIG_K_JOBS,		/* [defaults] only */
	CONFIG_K_COUNT
};

#define CONFIG_BIT(k)		((uint32_t)1 << (k))
#define CONFIG_ISSET(a, k)	(((a)->set & CONFIG_BIT(k)) != 0)

/* auth = ...; in this order: auto, user, apop, plain, login, ... */
enum config_auth {
	CONFIG_AUTH_AUTO,
	CONFIG_AUTH_USER,
	CONFIG_AUTH_APOP,
	CONFIG_AUTH_PLAIN,
	CONFIG_AUTH_LOGIN,
	CONFIG_AUTH_CRAM_MD5,
	CONFIG_AUTH_SCRAM_SHA_1,
	CONFIG_AUTH_SCRAM_SHA_256,
	CONFIG_AUTH_XOAUTH2,
	CONFIG_AUTH_OAUTHBEARER
};

enum config_dedup {
	CONFIG_DEDUP_VAULT,
	CONFIG_DEDUP_ACCOUNT,
	CONFIG_DEDUP_NONE
};

/*
 * One section's values. For an account, after config_parse_buffer
 * returns 0, the [defaults] values are merged in: a key the account
 * does not give is taken from [defaults]. The password sources
 * (password_command, netrc, password, password_env) merge as one
 * group: an account that names any of them inherits none.
 *
 * A field is meaningful only when its bit is in set; otherwise the
 * caller applies its built-in default (listed in popvault.conf(5)).
 * Strings are owned by the struct config; netrc, tls_ca and vault are
 * absolute paths ("~/" expanded, netrc = yes made ~/.netrc).
 */
struct config_account {
	char			 name[CONFIG_NAME_MAX + 1];
	unsigned		 line;	/* of the section header */
	uint32_t		 set;	/* keys with a value, merged */
	uint32_t		 own;	/* keys given in this section */
	/* Where each key was given in this section; 0: not here. */
	unsigned		 keyline[CONFIG_K_COUNT];

	char			*host;
	unsigned		 port;
	enum pop3_tls		 tls;
	char			*user;
	enum config_auth	 auth;
	char			*password_command;
	char			*oauth_command;
	unsigned		 password_command_timeout; /* seconds */
	char			*netrc;
	char			*password;	/* wiped when freed */
	char			*password_env;
	char			*tls_ca;
	char			*tls_fingerprint; /* as given */
	int			 insecure_plaintext;
	const struct fmt_ops	*format;	/* from the registry */
	enum fmt_compress	 compress;
	enum run_delete		 del;
	int64_t			 older_than;	/* seconds */
	int			 age_by_date;	/* age_by = date */
	uint64_t		 max_deletes;
	uint64_t		 max_message_size; /* bytes */
	unsigned		 timeout;	/* seconds */
	char			*vault;
	unsigned		 batch;
};

/*
 * The whole file. dedup and jobs are meaningful when their bits are
 * in defaults.set (CONFIG_ISSET(&cfg->defaults, CONFIG_K_JOBS)).
 */
struct config {
	char			*path;	/* as given to the parser */
	struct config_account	 defaults;	/* as written */
	enum config_dedup	 dedup;
	unsigned		 jobs;
	struct config_account	*acct;	/* in file order */
	size_t			 nacct;
	int			 has_password;	/* a password = line */
	int			 has_command;	/* a command line, and */
	enum config_key		 command_key;	/* the first one's key */
};

/* One mistake; sorted by line, file-wide ones (line 0) first. */
struct config_error {
	unsigned	 line;
	char		*msg;		/* "FILE:LINE: message" */
};

struct config_errors {
	struct config_error	*v;
	size_t			 n, cap;
};

/*
 * Parse len bytes of buf as the config file called name (used in the
 * messages only). Both structs are (re)initialised first. Returns 0
 * with *cfg filled, or -1 with at least one message in *errs and *cfg
 * emptied. Either way the caller frees *errs with config_errors_free;
 * config_free(cfg) is harmless after -1. Values are checked here;
 * whether an account's password source works is not.
 */
int	config_parse_buffer(const char *name, const char *buf, size_t len,
	    struct config *cfg, struct config_errors *errs);

/*
 * Read and parse the file at path (symlinks followed). Refused, with
 * a message in *errs: not a regular file, larger than
 * CONFIG_FILE_MAX, or, when it holds a literal password or names a
 * command (password_command, oauth_command), not safe from other users
 * as secret_file_check() says: the file or a link at path owned by
 * another user, the file writable by group or others, or (with a
 * password) readable by them. Returns like config_parse_buffer.
 */
int	config_load(const char *path, struct config *cfg,
	    struct config_errors *errs);

/* Free everything cfg holds (the password wiped); cfg is emptied. */
void	config_free(struct config *cfg);
void	config_errors_free(struct config_errors *errs);

/* The account called name, or NULL. */
const struct config_account *
	config_find(const struct config *cfg, const char *name);

/*
 * The default config file: $XDG_CONFIG_HOME/popvault/config when that
 * is an absolute path, else ~/.config/popvault/config. 0, or -1 when
 * there is no home directory or buf is too small.
 */
int	config_default_path(char *buf, size_t len);

/* The key's name ("max_deletes"), for messages. */
const char *config_key_name(enum config_key);

#endif
