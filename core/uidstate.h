/*
 * uidstate.h -- read the UIDs other POP3 fetchers recorded as retrieved
 * (issue 16, "Other fetchers' state"), so that someone switching to
 * popvault does not download old mail again.
 *
 * Three tools, three files (docs/decisions.md, "Other fetchers' state",
 * shows each as the Debian packages write it):
 *
 *   mpop       the UIDLs file (uidls_file; by default one file per
 *              account, ~/.mpop_uidls/USER_at_HOST, or one file shared
 *              by several accounts): comment lines "#..." at the top
 *              only, then for each account a line " N HOST USER" and
 *              exactly N lines of one UID each. No times.
 *   getmail    getmail6's oldmail-HOST-PORT-USER files in the getmail
 *              folder, one per POP3 account: lines "UID\0SECONDS\n", the
 *              UID, a NUL byte, the time getmail first recorded it. The
 *              account is in the file's name, not in its lines.
 *   fetchmail  .fetchids: lines "USER@HOST UID", every account of the
 *              fetchmailrc in one file. No times.
 *
 * The parsers take the file's bytes and call back once for each UID
 * recorded for the host and user asked for (host compared without
 * regard to case; user exactly, except for fetchmail, which compares it
 * without regard to case itself). Nothing in them does I/O or keeps
 * more than a line; uidstate_read_file() reads a file (or finds the
 * account's file in a folder) and calls them.
 *
 * What is an error and what is skipped: a file the tool itself would
 * refuse, or that cannot be the tool's file (mpop: a UID before any
 * account line, a bad account line, fewer UIDs than announced; any NUL
 * byte in the text files of mpop and fetchmail; a getmail file of an
 * IMAP folder; a file with lines but none in the tool's form) is an
 * error "FILE:LINE: why", and the caller should take nothing from it.
 * A line the tool itself ignores when it reads its file (getmail and
 * fetchmail skip lines not in their form) is skipped and counted in
 * st->malformed. A recorded UID that is no RFC 1939 UIDL (1 to 70
 * characters 0x21-0x7E) can never match a listing popvault accepts: it
 * is skipped and counted in st->baduid. The first skipped line is
 * described in st->first_skip. Duplicate UIDs are given as often as
 * they are recorded.
 */
#ifndef UIDSTATE_H
#define UIDSTATE_H

#include <stddef.h>
#include <stdint.h>

/* The largest state file read (uidstate_read_file()). */
#define UIDSTATE_FILE_MAX	((size_t)256 * 1024 * 1024)
/* How many distinct host/user pairs a parse describes in its stats. */
#define UIDSTATE_NPAIRS		8
/* Longest host or user kept in a pair's description (longer: cut). */
#define UIDSTATE_NAME_MAX	127
/* RFC 1939: a UIDL is 1 to 70 characters. */
#define UIDSTATE_UID_MAX	70

enum uidstate_tool {
	UIDSTATE_MPOP,
	UIDSTATE_GETMAIL,
	UIDSTATE_FETCHMAIL,
	UIDSTATE_NTOOLS
};

/* One account a file holds UIDs for, and how many. */
struct uidstate_pair {
	char	host[UIDSTATE_NAME_MAX + 1];
	char	user[UIDSTATE_NAME_MAX + 1];
	size_t	uids;		/* UID lines of that account */
};

/*
 * What a parse saw, filled in by uidstate_parse() and
 * uidstate_read_file() (they clear it first).
 */
struct uidstate_stats {
	size_t	taken;		/* UIDs given to the callback */
	size_t	other;		/* UIDs of other accounts, not taken */
	size_t	baduid;		/* the account's UIDs that are no UIDL */
	size_t	malformed;	/* lines the tool itself skips */
	size_t	files;		/* files read (a folder: those matching) */
	/*
	 * The distinct accounts (host and user as written in the file, or
	 * for getmail in the file's name) in the order first seen, up to
	 * UIDSTATE_NPAIRS; more_pairs says there were others.
	 */
	size_t	npairs;
	int	more_pairs;
	struct uidstate_pair pairs[UIDSTATE_NPAIRS];
	char	first_skip[160];	/* "FILE:LINE: why", or "" */
};

/*
 * Called for each UID taken: uid is a NUL-terminated string of uidlen
 * (1..70) printable characters, valid only during the call; when is the
 * time the tool recorded (seconds since the epoch) or -1 when its file
 * keeps none. Return 0 to go on; anything else stops the parse, which
 * then returns UIDSTATE_STOPPED.
 */
typedef int (*uidstate_cb)(void *arg, const char *uid, size_t uidlen,
    int64_t when);

#define UIDSTATE_STOPPED	(-2)

/*
 * The tool named word ("mpop", "getmail" or "getmail6", "fetchmail"):
 * 0 with *tool set, or -1. uidstate_tool_name() is the canonical word.
 */
int		 uidstate_tool_find(const char *word, enum uidstate_tool *tool);
const char	*uidstate_tool_name(enum uidstate_tool tool);

/*
 * Parse len bytes of tool's state file, called name in messages, and
 * call cb for each UID recorded for host and user (NULL: any host, any
 * user; for getmail, whose lines name no account, both are ignored).
 * Returns 0 (whether or not anything was taken: see st->taken and
 * st->pairs), -1 with "name:LINE: why" in err when the file is refused
 * (what was given to cb before then should be dropped by the caller), or
 * UIDSTATE_STOPPED when cb stopped it (err untouched). st is filled in.
 * No I/O; memory used does not depend on len.
 */
int	 uidstate_parse(enum uidstate_tool tool, const char *name,
	    const char *buf, size_t len, const char *host, const char *user,
	    uidstate_cb cb, void *arg, struct uidstate_stats *st,
	    char *err, size_t errlen);

/*
 * Whether base, a file name, is getmail6's oldmail file of a POP3
 * account of host and user on some port: "oldmail-HOST-PORT-USER",
 * HOST and USER with each run of the characters /\:;<>| replaced by
 * '-' as getmail6 does, PORT decimal digits; host compared without
 * regard to case. 1 or 0.
 */
int	 uidstate_getmail_name_matches(const char *base, const char *host,
	    const char *user);

/*
 * Read tool's state at path and parse it as uidstate_parse() does.
 * path is a regular file (a link to one is followed; a device, FIFO or
 * socket is refused, and so is a file over UIDSTATE_FILE_MAX), or a
 * folder holding the account's file: for mpop, USER_at_HOST (mpop's
 * default uidls_file, ~/.mpop_uidls/%U_at_%H); for getmail, every
 * oldmail file of the account (uidstate_getmail_name_matches(); one
 * per port used); a folder needs host and user. For getmail a file
 * whose name is an oldmail file of another account is refused (the
 * name is all that says whose UIDs they are); any other name is taken
 * as the account's. Returns as uidstate_parse(), with err naming the
 * file; a folder without the account's file is an error that lists
 * what it holds.
 */
int	 uidstate_read_file(enum uidstate_tool tool, const char *path,
	    const char *host, const char *user, uidstate_cb cb, void *arg,
	    struct uidstate_stats *st, char *err, size_t errlen);

#endif
