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

/*
 * Called before anything is written to stderr (the progress display
 * clears its line there). NULL: none.
 */
void	 log_set_hook(void (*)(void));

/* The text of the last warning (log_warn, log_warnx), "" if none since
 * log_last_reset(). For the run report. */
const char *log_last(void);
void	 log_last_reset(void);

/*
 * The event trail (--log FILE): one line per event, appended with a
 * single write(2) so that parallel accounts never interleave within a
 * line:
 *
 *   2026-11-26T14:07:10.123Z pid=42 account=work event=batch msgs=200
 *
 * log_event_open() opens (creates 0600) the file in append mode; -1 and
 * errno on failure. log_account() names the account of the events that
 * follow (NULL: none). log_event() adds "event=EVENT" and the fields,
 * given as printf-style "key=value" text; every value a server or a
 * user supplied must go through log_event_value(). Warnings become
 * "event=warning msg=..." by themselves. Nothing happens when no trail
 * is open.
 */
int	 log_event_open(const char *path);
void	 log_account(const char *name);
int	 log_events(void);
void	 log_event(const char *event, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Quote a value for the trail: bare if it is printable ASCII without
 * spaces, quotes or '=', else in double quotes with \", \\ and \xHH
 * escapes. Returns out (always NUL-terminated, cut with "..."). */
char	*log_event_value(const void *in, size_t len, char *out,
	    size_t outsz);

#endif
