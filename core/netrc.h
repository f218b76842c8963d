/*
 * netrc.h -- find a password in a netrc file (the format of ftp(1),
 * GNU inetutils and curl).
 *
 * The file is a sequence of tokens separated by spaces, tabs and
 * newlines:
 *
 *   machine NAME      starts the entry for host NAME
 *   default           starts the entry for any other host
 *   login X, password X, account X   belong to the entry above them
 *   macdef NAME       a macro: skipped up to and including the next
 *                     empty line
 *
 * A token may be quoted, "like this", with \X standing for X (so \"
 * and \\ put a quote and a backslash in); a quoted token ends on its
 * line. An unquoted token is taken as it is. '#' at the start of a
 * token comments out the rest of the line. Keywords are lower case;
 * host names compare without regard to case, logins exactly.
 * Unknown keywords are skipped, as ftp(1) does.
 */
#ifndef NETRC_H
#define NETRC_H

#include <stddef.h>

#define NETRC_FILE_MAX	(1024 * 1024)
#define NETRC_TOKEN_MAX	4096

/*
 * Look up the password for host (and, if login is not NULL, that
 * login: the entry must then name the same login). The first machine
 * entry that matches decides; if none does, the first default entry
 * that matches. Returns 1 with *password_out set (give it back with
 * secret_free()), 0 when no entry matches or the matching one has no
 * password (*password_out NULL), or -1 with a message naming the file
 * in err: the file is missing or unreadable, not a regular file,
 * larger than NETRC_FILE_MAX, malformed (unterminated quote, a token
 * longer than NETRC_TOKEN_MAX, a keyword without its value), or holds
 * a password while not safe from other users (secret_file_check():
 * readable or writable by group or others, or the file or a link at
 * path owned by another user).
 */
int	netrc_lookup(const char *path, const char *host, const char *login,
	    char **password_out, char *err, size_t errlen);

/*
 * The same on len bytes in memory, called name in messages (for tests
 * and the fuzzer); no permission check. *has_password is set to 1 if
 * any password token was seen (whether or not it matched), else 0.
 */
int	netrc_lookup_buffer(const char *name, const char *buf, size_t len,
	    const char *host, const char *login, char **password_out,
	    int *has_password, char *err, size_t errlen);

#endif
