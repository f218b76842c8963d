/*
 * rebuild.h -- "popvault index rebuild": a new index from the archives
 * of a vault whose index is lost or damaged (docs/decisions.md,
 * "Rebuilding the index").
 */
#ifndef REBUILD_H
#define REBUILD_H

#include <stdint.h>

struct rebuild_report {
	uint64_t	accounts;
	uint64_t	messages;	/* read, hashed and verified */
	uint64_t	bytes;
	uint64_t	bad;		/* read back other bytes: kept, noted */
	uint64_t	skipped;	/* parts of archives not taken */
	uint64_t	unscannable;	/* folders of a format without scan */
	char		aside[4200];	/* where the old index went, or "" */
};

/*
 * Rebuild VAULT/index.sqlite when it is missing or damaged: every
 * account folder under VAULT/accounts (its lock held, so no run is
 * writing), every format folder in it scanned (formats/format.h, scan)
 * and each message hashed as it is read, recorded, then read back
 * through the format's verify(); the volumes' committed state; the
 * account's name and server from its account file (acctfile.h). Built
 * under a temporary name and renamed into place when complete; the old
 * index (and its -wal, -shm) moved aside, never deleted. Archive files
 * are only read. Returns an exit code: EXIT_OK; EXIT_VERIFY when a
 * message read back other bytes or a format cannot be rebuilt;
 * EXIT_USAGE (no vault, or a sound index: nothing to do); EXIT_TEMPFAIL
 * (an account is locked by another popvault); EXIT_IOERR.
 */
int	rebuild_vault(const char *vault, struct rebuild_report *);

#endif
