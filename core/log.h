/*
 * log.h -- the whole logging vocabulary.
 *
 * Messages go to stderr, prefixed with the program name. log_warn adds
 * strerror(errno), log_warnx does not. fatal/fatalx are for bugs and
 * out-of-memory only, never for something a server or a file can cause.
 * Untrusted text (anything a server sent) must pass through log_escape
 * before it is printed, and is never used as a format string.
 */
#ifndef LOG_H
#define LOG_H

#include <stddef.h>

#define LOG_QUIET	(-1)
#define LOG_NORMAL	0
#define LOG_VERBOSE	1	/* -v: the POP3 conversation, secrets masked */
#define LOG_DEBUG	2	/* -vv: TLS details too */

void	log_init(int verbosity);
int	log_level(void);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_verbose(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2),
	    noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2),
	    noreturn));

/*
 * Escape untrusted bytes for display: printable ASCII is kept, anything
 * else becomes \xHH (\r, \n, \t as such), and the result is cut at
 * outsz - 1 bytes with "..." marking the cut. Always NUL-terminates
 * (outsz must be at least 4). Returns out.
 */
char	*log_escape(const void *in, size_t len, char *out, size_t outsz);

#endif
