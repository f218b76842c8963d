/*
 * mboxparse.h -- reading mbox files that other programs wrote (for
 * "popvault import"): where each message begins and ends (mboxscan),
 * and a message's bytes as they were before they went into the file
 * (mboxunq). Pure: bytes in, callbacks out, no I/O, any split of the
 * input gives the same result. popvault's own mbox files are read by
 * formats/mbox_read.c from the locations in the index, not by this.
 *
 * The rules (docs/decisions.md, "Importing"):
 *
 * - A separator is a line "From " at the very start of the input, or
 *   a later "From " line that carries an asctime date (a weekday, a
 *   month, a day and hh:mm, as mutt's is_from() wants, which mutt,
 *   Thunderbird, Python, mpop, getmail and popvault all write). A
 *   "From " line after an empty line without such a date is reported
 *   (bad_from) and stays inside its message: nothing is cut on a guess.
 * - The empty line a writer puts before each separator belongs to no
 *   message (the caller drops one newline before a separator that
 *   follows an empty line).
 * - Content-Length (mboxcl2): reported per message; the caller decides
 *   whether the file is one that relies on it (mboxscan does not skip).
 * - Quoting: mboxrd (one ">" is removed from every line matching
 *   "^>+From "); for mboxo files that is the same except for a body line
 *   that began with ">From " before quoting, which mboxo cannot tell
 *   apart. A Content-Length file is not unquoted.
 * - Lines end in LF. A CRLF file (mbox_crlf(): every line of its start
 *   ends in CR LF, as Windows programs write) has each CR LF made LF,
 *   the canonical form of docs/decisions.md; any other file keeps its
 *   CR bytes, as popvault's own stored messages may hold a CR before an
 *   LF (a server's bare CR at a line's end).
 */
#ifndef MBOXPARSE_H
#define MBOXPARSE_H

#include <stddef.h>
#include <stdint.h>

/* The head of a line held while it may be a separator or a header. */
#define MBOXSCAN_LINE	1024

struct mboxscan_cb {
	/* A separator line begins at off; blank: an empty line before. */
	void	(*sep)(void *arg, uint64_t off, int blank);
	/* Every byte of the input once, in order, after its sep(). */
	void	(*bytes)(void *arg, const char *p, size_t n);
	/* A Content-Length: header of the current message. */
	void	(*clen)(void *arg, uint64_t value);
	/* The current message's header section ended; its body is at off. */
	void	(*body)(void *arg, uint64_t off);
	/* A "From " line after an empty line, not a separator (no date). */
	void	(*bad_from)(void *arg, uint64_t off);
	void	 *arg;
};

struct mboxscan {
	struct mboxscan_cb	cb;
	uint64_t		off;		/* bytes fed so far */
	uint64_t		line_off;	/* where the current line began */
	char			line[MBOXSCAN_LINE];
	size_t			held;		/* bytes of line[] in use */
	int			hold;		/* the line is being held */
	int			at_start;	/* the next byte begins a line */
	int			blank;		/* the last line was empty */
	int			empty;		/* current line: only CR so far */
	int			in_head;	/* in a message's header section */
	int			started;	/* a separator was seen */
};

void	mboxscan_init(struct mboxscan *, const struct mboxscan_cb *);
void	mboxscan_feed(struct mboxscan *, const char *p, size_t n);
/* The input ended (a last line without a newline is complete now). */
void	mboxscan_end(struct mboxscan *);

/* 1 if the line (without its newline) is a dated "From " line. */
int	mbox_from_dated(const char *line, size_t len);

/*
 * A message's bytes from an mbox (or a one-message file) back to their
 * stored form: with crlf, CR LF to LF; with unquote, one ">" off each
 * line matching "^>+From ". out returning -1 stops the filter: -1.
 */
#define MBOXUNQ_HOLD	64	/* ">"s held at a line start, at most */

struct mboxunq {
	int	(*out)(void *arg, const char *p, size_t n);
	void	 *arg;
	int	  unquote;
	int	  crlf;
	int	  cr;		/* a CR was held back */
	int	  at_start;	/* the next byte begins a line */
	char	  hold[MBOXUNQ_HOLD + 8];
	size_t	  held;		/* bytes held at a line start */
};

void	mboxunq_init(struct mboxunq *, int unquote, int crlf,
	    int (*out)(void *, const char *, size_t), void *arg);
int	mboxunq_feed(struct mboxunq *, const char *p, size_t n);
int	mboxunq_end(struct mboxunq *);

/*
 * Does the start of a file (up to its first 4 KiB, or all of it) look
 * like mail? MBOX_KIND_MBOX: a "From " line first; MBOX_KIND_MESSAGE: a
 * header field first ("Name:", RFC 5322 section 2.2); MBOX_KIND_NONE:
 * anything else (a binary file, text that is not mail, an empty file).
 */
enum mbox_kind {
	MBOX_KIND_NONE,
	MBOX_KIND_MBOX,
	MBOX_KIND_MESSAGE
};

enum mbox_kind	mbox_sniff(const char *p, size_t n);

/*
 * Is the start of a file (its first 4 KiB, or all of it) written with
 * CR LF line ends: at least one line, and every LF in it after a CR?
 */
int		mbox_crlf(const char *p, size_t n);

#endif
