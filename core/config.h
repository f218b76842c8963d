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

#include "opt.h"

#define CONFIG_LINE_MAX		4096	/* bytes, without the EOL */
#define CONFIG_FILE_MAX		(1024 * 1024)
#define CONFIG_ACCOUNTS_MAX	1000
#define CONFIG_NAME_MAX		64	/* [account NAME] */
#define CONFIG_ERRORS_MAX	100	/* then one "too many errors" */

/*
 * One section. Its keys are the options of opt.h that have one
 * (opt_key()), set with opt_set() as the command line sets its flags.
 * For an account, after config_parse_buffer returns 0, v holds the
 * [defaults] values merged under its own (opt_merge(): a key the
 * account does not give is taken from [defaults]; the password sources
 * password_command, netrc, password and password_env go as one group,
 * so an account that names any of them inherits none). The
 * [defaults]-only keys (dedup, jobs) stay in the defaults section.
 *
 * A value is meaningful only when its bit is in v.set; otherwise the
 * caller applies the built-in default (opt_defaults(), listed in
 * popvault.conf(5)). netrc, tls_ca and vault are absolute paths ("~/"
 * expanded, netrc = yes made ~/.netrc).
 */
struct config_account {
	char			 name[CONFIG_NAME_MAX + 1];
	unsigned		 line;	/* of the section header */
	struct opt_values	 v;	/* the values, merged */
	uint64_t		 own;	/* OPT_BIT()s given in this section */
	/* Where each key was given in this section; 0: not here. */
	unsigned		 keyline[OPT_COUNT];
};

/* The whole file. */
struct config {
	char			*path;	/* as given to the parser */
	struct config_account	 defaults;	/* as written */
	struct config_account	*acct;	/* in file order */
	size_t			 nacct;
	/*
	 * [destination NAME] sections (export --to NAME): their own keys
	 * only, nothing merged from [defaults]; to is a valid IMAP URL.
	 */
	struct config_account	*dest;
	size_t			 ndest;
	int			 has_password;	/* a password = line */
	int			 has_command;	/* a command line, and */
	enum opt_id		 command_key;	/* the first one's key */
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

/* The destination called name, or NULL. */
const struct config_account *
	config_find_dest(const struct config *cfg, const char *name);

/*
 * The default config file: $XDG_CONFIG_HOME/popvault/config when that
 * is an absolute path, else ~/.config/popvault/config. 0, or -1 when
 * there is no home directory or buf is too small.
 */
int	config_default_path(char *buf, size_t len);

#endif
