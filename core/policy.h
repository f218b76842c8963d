/*
 * policy.h -- the delete policy as the user writes it (--delete,
 * "delete =" in popvault.conf(5)): a word and, for older-than, a
 * duration. Pure: the option layer (opt.c) parses it without depending
 * on the run that applies it (delete.c).
 */
#ifndef POLICY_H
#define POLICY_H

#include <stdint.h>

enum run_delete {
	DEL_NEVER,	/* keep on server (the default) */
	DEL_VERIFIED,	/* delete every verified message */
	DEL_OLDER	/* delete verified messages older than a duration */
};

/*
 * Parse a delete policy: "never", "verified", "older-than=DURATION"
 * (DURATION: 1 to 365000 days' worth of a number and d, w, m (30 days)
 * or y (365 days)). Returns 0 with *d and *secs (0 unless DEL_OLDER)
 * set, or -1 with both untouched but *secs zeroed.
 */
int	policy_parse_delete(const char *, enum run_delete *d, int64_t *secs);

#endif
