/*
 * acctfile.h -- the account file, ACCOUNT/account: the account's name
 * and server identity (host, port, user; never a password) beside its
 * archive, so that "popvault index rebuild" can restore what the
 * archive files alone do not hold (docs/decisions.md, "Rebuilding the
 * index").
 *
 * Format: lines "KEY=VALUE" (name, host, port, user), in that order,
 * after a first line "popvault account 1". Written 0600, atomically
 * (a temporary file fsynced, renamed over the old one, the folder
 * fsynced), only when its content changes.
 */
#ifndef ACCTFILE_H
#define ACCTFILE_H

#include <stddef.h>

#include "idx.h"

#define ACCTFILE_NAME	"account"

/*
 * Write dir/account for name and id unless it holds exactly that
 * already. A value with a newline is left out (read back as unknown).
 * 0, or -1 with errno.
 */
int	acctfile_write(const char *dir, const char *name,
	    const struct idx_ident *id);
/*
 * Read dir/account: 1 and the values ("" for one it lacks), 0 when
 * there is no such file, -1 with errno when it cannot be read.
 */
int	acctfile_read(const char *dir, char *name, size_t namelen,
	    struct idx_ident *id);

#endif
