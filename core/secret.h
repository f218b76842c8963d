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

#include <sys/types.h>
#include <sys/stat.h>

#include <stddef.h>

#include "secfile.h"

#define SECRET_MAX	4096
#define SECRET_TIMEOUT_DEFAULT	60	/* seconds, password command */

/* Turn off core dumps and ptrace attach; take POPVAULT_PASSWORD. */
void	 secret_init(void);

/*
 * How long a password command may run, in seconds (0: no change);
 * SECRET_TIMEOUT_DEFAULT until set. For the commands of secret_get(),
 * and of secret_resolve() when the source gives no timeout.
 */
void	 secret_set_timeout(unsigned seconds);

/*
 * Get a password: from cmd if not NULL, else the environment, else a
 * prompt on /dev/tty naming what. Returns a string to give back with
 * secret_free(), or NULL with a message in err.
 *
 * cmd runs as "/bin/sh -c cmd" in a process group of its own, with
 * default signal dispositions and an empty signal mask, and the
 * terminal while it runs if popvault is in the foreground. The first
 * line of its standard output is the password; it fails when it exits
 * with a status other than 0, dies of a signal, prints nothing, or has
 * not closed its output within the timeout (its process group is then
 * killed and reaped: "password command timed out after N s"). Every
 * byte read from it is wiped, the other lines too.
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
	unsigned	 timeout;	/* seconds for command; 0: as set
					 * by secret_set_timeout() */
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
