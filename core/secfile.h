/*
 * secfile.h -- the ownership and mode rules for files popvault reads a
 * secret from or that make it run a command (the config file, a netrc,
 * a password file). A module of its own so that the readers of such
 * files (netrc.c, config.c) and secret.c do not depend on each other.
 */
#ifndef SECFILE_H
#define SECFILE_H

#include <sys/types.h>
#include <sys/stat.h>

#include <stddef.h>

/*
 * A file popvault reads a secret from, or that makes it run a command,
 * must be safe from other users (issue 13): it, and a symbolic link at
 * path, belong to the user running popvault (geteuid(); root, reading
 * another user's file, is refused too), and it is not writable by group
 * or others; one that holds a secret (SECRET_F_SECRET) is not readable
 * by them either (any bit of mode & 077). path is the name the file was
 * opened by, st what fstat() said of what was opened (the target of a
 * link), what says what makes the file sensitive ("holds a password",
 * "can run a command (password_command)"). Returns 0, or -1 with err
 * holding "PATH: what is wrong (how to fix it)", naming the link's
 * target when path is a link. Nothing is checked for a file that is
 * neither (flags 0).
 */
#define SECRET_F_SECRET	0x1	/* holds a password or token */
#define SECRET_F_EXEC	0x2	/* names a command popvault runs */
int	 secret_file_check(const char *path, const struct stat *st,
	    int flags, const char *what, char *err, size_t errlen);

#endif
