/*
 * import_int.h -- what the two files of the import source share:
 * import_list.c (walking the paths, reading every file once to list its
 * messages) and source_import.c (the source's operations: reading the
 * chosen messages back). Internal to core/.
 */
#ifndef IMPORT_INT_H
#define IMPORT_INT_H

#include <sys/stat.h>
#include <sys/types.h>

#include <stdint.h>
#include <time.h>

#include "import_ar.h"
#include "source.h"

#define IMP_DEPTH_MAX	64		/* folder levels below a path */
#define IMP_SNIFF	4096
#define IMP_BUF		(256 * 1024)

/* A file given or found. */
struct icont {
	char		*path;		/* as given, or joined from it */
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtime;
	int		 ar;		/* read through libarchive */
	int		 bad;		/* changed since the listing */
};

/* A stream of messages: a plain file, a decompressed file, a member. */
struct iitem {
	uint32_t	 cont;
	uint32_t	 member;	/* entry number in the archive */
	char		*name;		/* member name, or NULL */
	char		*flags;		/* Maildir flags, or NULL */
	uint8_t		 mbox;
	uint8_t		 unquote;
	uint8_t		 crlf;		/* CR LF line ends: made LF */
};

/* One message: where its stored bytes are in its item's stream. */
struct imsg {
	uint32_t	 item;
	uint64_t	 sep;		/* its From_ line (its position) */
	uint64_t	 off;		/* its first byte after that line */
	uint64_t	 len;		/* raw bytes to read */
	unsigned char	 uid[20];	/* the unique id's digest */
	uint8_t		 raw;		/* its Content-Length spans a "From "
					 * line: not unquoted */
};

struct isrc {
	struct source			 src;
	struct source_import_args	 a;
	struct icont			*c;
	size_t				 nc, capc;
	struct iitem			*it;
	size_t				 nit, capit;
	struct imsg			*m;
	size_t				 nm, capm;
	uint64_t			 unreadable;
	char				*buf;
	char				*obuf;		/* sinkout's */
	/* The reader of retrieve. */
	long				 r_item;	/* open item, or -1 */
	int				 r_fd;
	struct imp_ar			*r_ar;
	uint32_t			 r_member;	/* entries read */
	uint64_t			 r_pos;
};

/*
 * Walk every path of s->a, adding each message found to l (listing
 * order: paths as given, folders in name order, files in byte order).
 * 0, or -1 with the source's error set (too many messages); what cannot
 * be read is an item error, not a failure.
 */
int	imp_list_paths(struct isrc *, struct pop3_listing *l);
/* Report one item that cannot be imported (counted in s->unreadable). */
void	imp_item_error(struct isrc *, const char *path, const char *member,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A message's unique id as text: "imp-" and 40 hex digits. */
void	imp_uid_text(const struct imsg *, char uid[45]);

#endif
