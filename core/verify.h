/*
 * verify.h -- reading archives back: lists of stored messages to check,
 * and "popvault verify", which re-reads whole archives offline.
 */
#ifndef VERIFY_H
#define VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "format.h"
#include "idx.h"

/* Stored messages to verify, with their locations copied. */
struct vlist {
	struct fmt_vitem	*it;
	size_t			 n, cap;
	char			*locs;
	size_t			 llen, lcap;
};

/* Load a page of idx_stored(); returns the count or -1 (idx_error). */
int	vlist_load(struct vlist *, struct idx *, int64_t account_id,
	    const char *format, int unverified, int64_t after, int64_t limit);
void	vlist_free(struct vlist *);

struct verify_report {
	uint64_t	checked, ok, missing, altered, unreadable;
};

/*
 * Verify every stored message of the named accounts (all when n is 0)
 * in the vault, print a line per problem, record the outcome in the
 * index. Returns an exit code: EXIT_OK, EXIT_VERIFY, EXIT_USAGE (no such
 * vault or account), EXIT_IOERR, EXIT_TEMPFAIL (account busy).
 */
int	verify_vault(const char *vault, char *const *accounts, int n,
	    struct verify_report *);

#endif
