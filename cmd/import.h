/*
 * import.h -- "popvault import" (import.c) and its --uidls-from part
 * (uidls.c): what the two files share.
 */
#ifndef IMPORT_H
#define IMPORT_H

struct config;
struct opt_values;

/*
 * The config file (--config, else the default one if it exists) into
 * *cfg (config_free() it): 1; 0 when there is none; -1 after printing
 * its mistakes.
 */
int	import_config(const struct opt_values *, struct config *cfg);

/*
 * May the vault's account name be written by this kind of import? An
 * import of files needs an account of its own (want_import = 1), an
 * import of other fetchers' UIDLs a POP3 account (0). 0 to go on (also
 * when the vault or the account does not exist yet), -1 after saying
 * why.
 */
int	import_check_account(const char *vault, const char *name,
	    int want_import);

/* import --uidls-from TOOL:FILE: an exit code (util.h). */
int	import_uidls(const struct opt_values *);

#endif
