/*
 * format.h -- the archive format interface.
 *
 * A format is a struct of operations; the pipeline never learns format
 * names, only capability flags. An open archive is a struct fmt (or a
 * larger struct that starts with one) whose first member points to the
 * operations and which carries the last error message.
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
 *   read      stream back exactly the bytes that were written for the
 *             message at a location
 *   close
 *
 * All operations return 0 or -1 with fmt_error() set, except check.
 * Locations are short strings stored in the index, relative to the
 * account folder, never derived from server data.
 */
#ifndef FORMAT_H
#define FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"

/* Capabilities. */
#define FMT_F_NEEDS_SIZE	0x01	/* begin() must be given the size */
#define FMT_F_COMPRESSES	0x02	/* accepts a compression */

enum fmt_compress {
	FMT_COMP_NONE,
	FMT_COMP_GZIP,
	FMT_COMP_ZSTD,
	FMT_COMP_XZ
};

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
	const char	*sender;	/* Return-Path address or NULL */
	size_t		 sender_len;
	int64_t		 content_length; /* its header's value, or -1 */
	const unsigned char *sha256;	/* with FMT_F_NEEDS_SIZE, else NULL */
};

struct fmt_args {
	const char		*dir;	/* the account's folder */
	enum fmt_compress	 compress;
};

/*
 * A volume is a file that grows by committed appends (an mbox file) or
 * is written once (a tar volume). The index keeps each volume's
 * committed length; recover() asks for it through get() (returning 1
 * and *len when the index knows the volume, 0 when not), and after a
 * sync the format lists the volumes it changed (synced()), which the
 * pipeline records in the same transaction that marks the batch
 * archived (the format keeps a copy of the struct, not its address,
 * and may call get() until it is closed). traps is format-private state kept beside the length (mbox:
 * Content-Length trap offsets), a short string or "".
 */
struct fmt_vol {
	char		name[128];
	uint64_t	length;
	char		traps[512];
};

struct fmt_committed {
	int	(*get)(void *arg, const char *name, uint64_t *len,
		    char *traps, size_t trapslen);
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

struct fmt;

struct fmt_ops {
	const char	*name;
	unsigned	 flags;
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
};

struct fmt {
	const struct fmt_ops	*ops;
	char			 err[512];
};

/* The registry. */
const struct fmt_ops	*fmt_find(const char *name);
const char		*fmt_names(void);
const char		*fmt_error(struct fmt *);
int			 fmt_fail(struct fmt *, const char *, ...)
			    __attribute__((format(printf, 2, 3)));

/* verify() for formats that read each location on its own. */
int			 fmt_verify_each(struct fmt *, struct fmt_vitem *,
			    size_t);
const char		*fmt_vresult_str(enum fmt_vresult);

extern const struct fmt_ops fmt_maildir_ops;
extern const struct fmt_ops fmt_mbox_ops;
extern const struct fmt_ops fmt_tar_ops;

#endif
