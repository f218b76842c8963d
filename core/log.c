/*
 * log.c -- stderr logging with levels; see log.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static int log_verbosity = LOG_NORMAL;

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
	if (suffix != NULL)
		fprintf(stderr, "popvault: %s: %s\n", msg, suffix);
	else
		fprintf(stderr, "popvault: %s\n", msg);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	vlog(fmt, ap, strerror(saved));
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
