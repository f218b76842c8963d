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
void	 secret_free(char *);

#endif
