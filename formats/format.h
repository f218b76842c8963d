/*
 * format.h -- the archive format interface.
 *
 * A format is a struct of operations; the pipeline never learns format
 * names, only capability flags. The registry (registry.c) lists every
 * format: the command line and the configuration find them there by
 * name, and learn there which compressions each one takes. An open
 * archive is a struct fmt (or a larger struct that starts with one)
 * whose first member points to the operations and which carries the
 * last error message. Adding a format: docs/HACKING.md.
 *
 * Life of an archive during one run:
 *
 *   open      the account's folder exists; make the format's layout
 *   recover   clean up what an interrupted run left (temp files, bytes
 *             past the committed length, unfinished volumes)
 *   check     for each row the index says is "pending": is the message
 *             at that location intact (hash matches)? PRESENT, ABSENT,
 *             or QUARANTINED (it was there but wrong; moved aside).
 *             PRESENT only once the message and the entry of its file
 *             in its folder are on disk (fsynced): the caller then
 *             counts it as archived
 *   begin / write... / end    one message; end gives its location
 *   discard   instead of end: the message is a duplicate; forget it
 *   sync      the commit point: after it returns 0 everything ended
 *             since the last sync is on disk, folders included
 *   synced    after a sync: the volumes it changed (struct fmt_vol)
 *   read      stream back exactly the bytes that were written for the
 *             message at a location
 *   verify    read back many locations, hash and compare each
 *   close
 *
 * And apart from a run, when the index is lost (popvault index
 * rebuild, core/rebuild.c):
 *
 *   scan      every message committed in the account's archive, with
 *             its bytes and location, and the volumes' committed state;
 *             optional (NULL: the format's files cannot be read without
 *             the index, and a rebuild says so)
 *
 * All operations return 0 or -1 with fmt_error() set, except check (a
 * enum fmt_check), synced (a count) and close.
 * Locations are short strings stored in the index, relative to the
 * account folder, never derived from server data. A format keeps its
 * files in ACCOUNT/NAME/, NAME its name ("maildir", "mbox", "tar"): a
 * rebuild opens a format only where that folder exists.
 */
#ifndef FORMAT_H
#define FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"

/* Capabilities. */
#define FMT_F_NEEDS_SIZE	0x01	/* begin() must be given the size */

/*
 * The compressions, as --compress and compress = name them (registry.c
 * keeps the words). A format says which it takes in fmt_ops.comps, a
 * set of FMT_COMP_BIT()s; open() may assume it is given one of those.
 */
enum fmt_compress {
	FMT_COMP_NONE,
	FMT_COMP_GZIP,
	FMT_COMP_ZSTD,
	FMT_COMP_XZ,
	FMT_COMP_COUNT
};
#define FMT_COMP_BIT(c)	(1u << (c))
#define FMT_COMP_ALL	(FMT_COMP_BIT(FMT_COMP_COUNT) - 1)

enum fmt_check {
	FMT_ABSENT,
	FMT_PRESENT,
	FMT_QUARANTINED,
	FMT_CHECK_ERROR
};

/* What the pipeline knows of a message when it begins. */
struct fmt_msginfo {
	uint64_t	 size;		/* exact, if FMT_F_NEEDS_SIZE */
	int64_t		 when;		/* arrival time (seconds) */
	/* With FMT_F_NEEDS_SIZE only; else NULL, NULL and -1. */
	const char	*sender;	/* Return-Path address or NULL */
	size_t		 sender_len;
	int64_t		 content_length; /* its header's value, or -1 */
	const unsigned char *sha256;
};

struct fmt_args {
	const char		*dir;	/* the account's folder */
	enum fmt_compress	 compress; /* one of the format's comps */
};

/*
 * A volume is a file that grows by committed appends (an mbox file) or
 * is written once (a tar volume). The index keeps each volume's
 * committed length; recover() asks for it through get() (returning 1
 * and *len when the index knows the volume, 0 when not), and after a
 * sync the format lists the volumes it changed (synced()), which the
 * pipeline records in the same transaction that marks the batch
 * archived (the format keeps a copy of the struct, not its address,
 * and may call get() until it is closed). priv is the format's own
 * state of the volume, kept beside its length and given back by get()
 * as it was recorded: a short string, or "" (mbox: the offsets of its
 * Content-Length traps). The pipeline only stores it.
 */
struct fmt_vol {
	char		name[128];
	uint64_t	length;
	char		priv[512];
};

struct fmt_committed {
	int	(*get)(void *arg, const char *name, uint64_t *len,
		    char *priv, size_t privlen);
	void	 *arg;
};

/* One message to verify: its location and the hash taken on download. */
enum fmt_vresult {
	FMT_V_OK,
	FMT_V_MISSING,		/* file, volume or member not there */
	FMT_V_ALTERED,		/* there, but other bytes */
	FMT_V_UNREADABLE	/* there, but cannot be read or decoded */
};

struct fmt_vitem {
	const char		*loc;
	unsigned char		 sha[HASH_LEN];
	enum fmt_vresult	 result;
	int64_t			 id;		/* the caller's row id */
};

/*
 * What scan() gives, in the order of the archive's files: for each
 * message, begin(), then data() with exactly the bytes read() gives
 * for it (split anywhere), then end() with the location end() gave it
 * when it was written and its size. A message that cannot be read whole
 * (a file cut short by a crash) gets no end(): the next begin() or the
 * return of scan() drops it. vol() after the messages of each volume:
 * its committed length and priv as synced() recorded them (for mbox,
 * its Content-Length traps), so that the next run appends after it.
 * skip() names a part that is not taken (bytes that are not a committed
 * message: the tail of an interrupted batch, or damage); a committed
 * length never covers the tail, which the next run's recover() then
 * moves to quarantine. A callback returning -1 stops the scan with -1.
 */
struct fmt_scan {
	int	 (*begin)(void *arg);
	int	 (*data)(void *arg, const void *, size_t);
	int	 (*end)(void *arg, const char *loc, uint64_t size);
	int	 (*vol)(void *arg, const struct fmt_vol *);
	void	 (*skip)(void *arg, const char *what);
	void	 *arg;
};

struct fmt;

struct fmt_ops {
	const char	*name;
	unsigned	 flags;		/* FMT_F_* */
	unsigned	 comps;		/* compressions: FMT_COMP_BIT()s */
	unsigned	 batch_msgs;	/* preferred batch, 0: the run's */
	uint64_t	 batch_bytes;
	struct fmt	*(*open)(const struct fmt_args *, char *err, size_t);
	int		 (*recover)(struct fmt *,
			    const struct fmt_committed *);
	enum fmt_check	 (*check)(struct fmt *, const char *loc,
			    const unsigned char sha[HASH_LEN]);
	int		 (*begin)(struct fmt *, const struct fmt_msginfo *);
	int		 (*write)(struct fmt *, const void *, size_t);
	int		 (*end)(struct fmt *, char *loc, size_t loclen);
	int		 (*discard)(struct fmt *);
	int		 (*sync)(struct fmt *);
	size_t		 (*synced)(struct fmt *, const struct fmt_vol **);
	int		 (*read)(struct fmt *, const char *loc,
			    int (*cb)(void *, const void *, size_t), void *);
	/*
	 * Read back every item from disk through the format's reader and
	 * set its result; one pass per file or volume where the format can.
	 * Items may be reordered. -1 only for a failure that says nothing
	 * about the items (out of memory); errors of the archive are
	 * results.
	 */
	int		 (*verify)(struct fmt *, struct fmt_vitem *, size_t);
	void		 (*close)(struct fmt *);
	/*
	 * Read the whole archive of the account (struct fmt_scan), writing
	 * nothing. -1 (fmt_error) when it cannot be read at all, or a
	 * callback stopped it; parts it cannot read are skip()ped. NULL for
	 * a format that cannot be rebuilt from its files.
	 */
	int		 (*scan)(struct fmt *, const struct fmt_scan *);
};

struct fmt {
	const struct fmt_ops	*ops;
	char			 err[512];
};

/*
 * The registry (registry.c).
 *
 * fmt_find: the format of that exact name, or NULL.
 * fmt_at: the i-th format (from 0), or NULL past the last: every format
 * is fmt_at(0), fmt_at(1), ... in the order fmt_names() gives.
 * fmt_names: their names for messages, "maildir, mbox or tar"; a static
 * string, rebuilt by each call.
 * fmt_accepts: 1 if the format takes that compression, else 0 (and 0
 * for a value that is no compression).
 *
 * fmt_comp_name: the word of a compression ("gzip"), "?" for none.
 * fmt_comp_find: the compression of a word: 0 and *c, or -1.
 * fmt_comp_list: the words of a set of FMT_COMP_BIT()s, "none, gzip,
 * zstd or xz"; a static string, rebuilt by each call.
 *
 * fmt_register_for_tests: add one format after the built-in ones, for
 * the unit tests (tests/unit/fmt_testdir.c). Only a test build
 * (-DPOPVAULT_TEST_HOOKS, as core/util.h's hooks) has it: 0, or -1 if a
 * format was added already or the name is taken. In the release build
 * it refuses: -1.
 */
const struct fmt_ops	*fmt_find(const char *name);
const struct fmt_ops	*fmt_at(size_t i);
const char		*fmt_names(void);
int			 fmt_accepts(const struct fmt_ops *, enum fmt_compress);
const char		*fmt_comp_name(enum fmt_compress);
int			 fmt_comp_find(const char *word, enum fmt_compress *c);
const char		*fmt_comp_list(unsigned set);
int			 fmt_register_for_tests(const struct fmt_ops *);

/*
 * The day of t (seconds since the epoch), UTC, as "YYYY-MM-DD": the
 * name of the tar format's day folders, and the day popvault prints
 * for a message's age. len: 11 or more; "????-??-??" if t has no date.
 */
void			 fmt_day(int64_t t, char *buf, size_t len);

const char		*fmt_error(struct fmt *);
int			 fmt_fail(struct fmt *, const char *, ...)
			    __attribute__((format(printf, 2, 3)));

/* verify() for formats that read each location on its own. */
int			 fmt_verify_each(struct fmt *, struct fmt_vitem *,
			    size_t);
const char		*fmt_vresult_str(enum fmt_vresult);

/*
 * The built-in formats, for their own files and the unit tests that
 * reach one directly. Everything else finds a format through the
 * registry; a new format needs no line here.
 */
extern const struct fmt_ops fmt_maildir_ops;
extern const struct fmt_ops fmt_mbox_ops;
extern const struct fmt_ops fmt_tar_ops;

#endif
