/*
 * log.c -- stderr logging with levels; see log.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int log_verbosity = LOG_NORMAL;
static void (*log_hook)(void);
static char log_lastmsg[512];
static int log_evfd = -1;
static char log_acct[160];

void
log_init(int verbosity)
{
	log_verbosity = verbosity;
}

int
log_level(void)
{
	return log_verbosity;
}

static void
vlog(const char *fmt, va_list ap, const char *suffix)
    __attribute__((format(printf, 1, 0)));

static void
vlog(const char *fmt, va_list ap, const char *suffix)
{
	char	msg[2048];

	vsnprintf(msg, sizeof msg, fmt, ap);
	if (log_hook != NULL)
		log_hook();
	if (suffix != NULL)
		fprintf(stderr, "popvault: %s: %s\n", msg, suffix);
	else
		fprintf(stderr, "popvault: %s\n", msg);
}

/* A warning is also the run's last error, and an event of the trail. */
static void
vwarn(const char *fmt, va_list ap, const char *suffix)
    __attribute__((format(printf, 1, 0)));

static void
vwarn(const char *fmt, va_list ap, const char *suffix)
{
	char	msg[sizeof log_lastmsg], q[sizeof msg + 64];
	size_t	n;

	vsnprintf(msg, sizeof msg, fmt, ap);
	if (suffix != NULL) {
		n = strlen(msg);
		snprintf(msg + n, sizeof msg - n, ": %s", suffix);
	}
	/* Already escaped where it came from a server. */
	snprintf(log_lastmsg, sizeof log_lastmsg, "%s", msg);
	if (log_evfd != -1)
		log_event("warning", "msg=%s",
		    log_event_value(msg, strlen(msg), q, sizeof q));
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	vlog(fmt, ap, strerror(saved));
	va_end(ap);
	va_start(ap, fmt);
	vwarn(fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(fmt, ap, NULL);
	va_end(ap);
	va_start(ap, fmt);
	vwarn(fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	if (log_verbosity < LOG_NORMAL)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap, NULL);
	va_end(ap);
}

void
log_verbose(const char *fmt, ...)
{
	va_list	ap;

	if (log_verbosity < LOG_VERBOSE)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (log_verbosity < LOG_DEBUG)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	vlog(fmt, ap, strerror(saved));
	va_end(ap);
	exit(70);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(fmt, ap, NULL);
	va_end(ap);
	exit(70);
}

char *
log_escape(const void *in, size_t len, char *out, size_t outsz)
{
	const unsigned char	*p = in;
	size_t			 i, o = 0;
	char			 tmp[5];
	size_t			 n;

	for (i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (c == '\\') {
			memcpy(tmp, "\\\\", 2);
			n = 2;
		} else if (c >= 0x20 && c < 0x7f) {
			tmp[0] = (char)c;
			n = 1;
		} else if (c == '\r') {
			memcpy(tmp, "\\r", 2);
			n = 2;
		} else if (c == '\n') {
			memcpy(tmp, "\\n", 2);
			n = 2;
		} else if (c == '\t') {
			memcpy(tmp, "\\t", 2);
			n = 2;
		} else {
			snprintf(tmp, sizeof tmp, "\\x%02x", c);
			n = 4;
		}
		if (o + n + 4 > outsz) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(out + o, tmp, n);
		o += n;
	}
	out[o] = '\0';
	return out;
}

void
log_set_hook(void (*fn)(void))
{
	log_hook = fn;
}

const char *
log_last(void)
{
	return log_lastmsg;
}

void
log_last_reset(void)
{
	log_lastmsg[0] = '\0';
}

int
log_event_open(const char *path)
{
	int	fd;

	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1)
		return -1;
	if (log_evfd != -1)
		close(log_evfd);
	log_evfd = fd;
	return 0;
}

int
log_events(void)
{
	return log_evfd != -1;
}

void
log_account(const char *name)
{
	if (name == NULL)
		log_acct[0] = '\0';
	else
		log_event_value(name, strlen(name), log_acct,
		    sizeof log_acct);
}

char *
log_event_value(const void *in, size_t len, char *out, size_t outsz)
{
	const unsigned char	*p = in;
	size_t			 i, o = 0, n;
	char			 tmp[5];
	int			 bare = len > 0;

	for (i = 0; i < len && bare; i++)
		if (p[i] <= 0x20 || p[i] >= 0x7f || p[i] == '"' ||
		    p[i] == '=' || p[i] == '\\')
			bare = 0;
	if (bare && len < outsz) {
		memcpy(out, in, len);
		out[len] = '\0';
		return out;
	}
	out[o++] = '"';
	for (i = 0; i < len; i++) {
		if (p[i] == '"' || p[i] == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)p[i];
			n = 2;
		} else if (p[i] >= 0x20 && p[i] < 0x7f) {
			tmp[0] = (char)p[i];
			n = 1;
		} else {
			snprintf(tmp, sizeof tmp, "\\x%02x", p[i]);
			n = 4;
		}
		if (o + n + 5 > outsz) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(out + o, tmp, n);
		o += n;
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

void
log_event(const char *event, const char *fmt, ...)
{
	char		 line[1024];
	struct timespec	 ts;
	struct tm	 tm;
	va_list		 ap;
	int		 n, m;

	if (log_evfd == -1)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ "
	    "pid=%ld%s%s event=%s", tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    ts.tv_nsec / 1000000, (long)getpid(),
	    log_acct[0] != '\0' ? " account=" : "", log_acct, event);
	if (n < 0 || (size_t)n >= sizeof line - 2)
		return;
	if (fmt != NULL && fmt[0] != '\0') {
		line[n++] = ' ';
		va_start(ap, fmt);
		m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
		va_end(ap);
		if (m < 0)
			return;
		n += (size_t)m < sizeof line - n - 1 ? m :
		    (int)(sizeof line - n - 2);
	}
	line[n++] = '\n';
	/*
	 * One write: O_APPEND keeps concurrent lines whole. The trail is best
	 * effort: a failed write loses the line (tested, not cast to void,
	 * which _FORTIFY_SOURCE's warn_unused_result does not accept).
	 */
	if (write(log_evfd, line, (size_t)n) != n)
		return;
}
