/*
 * secret.h -- where passwords come from, and how they are kept.
 *
 * Never from argv. Sources, in order: a command (first line of its
 * standard output; a failing command is an error), the environment
 * variable POPVAULT_PASSWORD (read once at start and removed from the
 * environment so no child inherits it), or a prompt on the terminal.
 * Secrets are wiped (explicit_bzero) when freed; core dumps are turned
 * off at start so a crash cannot write them to disk.
 */
#ifndef SECRET_H
#define SECRET_H

#include <stddef.h>

#define SECRET_MAX	4096

/* Turn off core dumps and ptrace attach; take POPVAULT_PASSWORD. */
void	 secret_init(void);

/*
 * Get a password: from cmd if not NULL, else the environment, else a
 * prompt on /dev/tty naming what. Returns a string to give back with
 * secret_free(), or NULL with a message in err.
 */
char	*secret_get(const char *cmd, const char *what, char *err,
	    size_t errlen);

/*
 * Where an account's password comes from (popvault.conf(5)): at most
 * one of command, netrc (a file, looked up by host and login), literal
 * and env (the name of an environment variable; the caller drops it with
 * secret_drop_env() once read, before running any command, so no child
 * inherits it) is set; with none,
 * secret_get()'s order applies (POPVAULT_PASSWORD, then a prompt).
 */
struct secret_src {
	const char	*command;
	const char	*netrc;
	const char	*host;
	const char	*login;
	const char	*literal;
	const char	*env;
};

char	*secret_resolve(const struct secret_src *, const char *what, char *err,
	    size_t errlen);
void	 secret_free(char *);

/* Wipe and remove an environment variable that held a password. */
void	 secret_drop_env(const char *name);

#endif
