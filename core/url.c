/*
 * url.c -- account URLs; see url.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * USER@HOST[:PORT], the len bytes at rest, into u; scheme ("pop3s") for
 * messages, defport when no port is given.
 */
static int
authority(const char *rest, size_t len, const char *scheme,
    const char *defport, struct url *u, char *err, size_t errlen)
{
	const char	*at, *p, *hend, *port = NULL;
	size_t		 i, o;
	long		 pn;
	char		*end;

	at = NULL;
	for (p = rest; p < rest + len; p++)
		if (*p == '@')
			at = p;
	if (at == NULL || at == rest) {
		snprintf(err, errlen, "URL needs a user: %s://USER@HOST",
		    scheme);
		return -1;
	}
	for (i = 0, o = 0; rest + i < at; i++) {
		char	c = rest[i];

		if (c == ':') {
			snprintf(err, errlen, "no password in the URL, please:"
			    " use --password-command or POPVAULT_PASSWORD");
			return -1;
		}
		if (c == '%') {
			int	hi, lo;

			if (rest + i + 2 >= at ||
			    (hi = hexval(rest[i + 1])) == -1 ||
			    (lo = hexval(rest[i + 2])) == -1) {
				snprintf(err, errlen, "bad %%-escape in user");
				return -1;
			}
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0' || c == '\r' || c == '\n' || c == ' ') {
			snprintf(err, errlen, "bad character in user");
			return -1;
		}
		if (o + 1 >= sizeof u->user) {
			snprintf(err, errlen, "user name too long");
			return -1;
		}
		u->user[o++] = c;
	}
	p = at + 1;
	hend = rest + len;
	if (*p == '[') {
		const char	*rb = memchr(p, ']', (size_t)(hend - p));

		if (rb == NULL) {
			snprintf(err, errlen, "missing ] after IPv6 address");
			return -1;
		}
		if ((size_t)(rb - p - 1) >= sizeof u->host || rb == p + 1) {
			snprintf(err, errlen, "bad host");
			return -1;
		}
		memcpy(u->host, p + 1, (size_t)(rb - p - 1));
		/* An address, maybe with a zone: no blanks, no controls. */
		for (i = 0; u->host[i] != '\0'; i++) {
			char	c = u->host[i];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' &&
			    c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
			    c == '.' || c == '%' || c == '-' || c == '_')) {
				snprintf(err, errlen, "bad character in host");
				return -1;
			}
		}
		if (rb + 1 < hend) {
			if (rb[1] != ':') {
				snprintf(err, errlen, "junk after host");
				return -1;
			}
			port = rb + 2;
		}
	} else {
		const char	*colon = memchr(p, ':', (size_t)(hend - p));
		const char	*he = colon ? colon : hend;

		if (he == p || (size_t)(he - p) >= sizeof u->host) {
			snprintf(err, errlen, "URL needs a host");
			return -1;
		}
		memcpy(u->host, p, (size_t)(he - p));
		for (i = 0; u->host[i] != '\0'; i++) {
			char	c = u->host[i];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' &&
			    c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
			    c == '-' || c == '_')) {
				snprintf(err, errlen, "bad character in host");
				return -1;
			}
		}
		if (colon != NULL)
			port = colon + 1;
	}
	if (port != NULL) {
		char	tmp[8];

		if (hend - port <= 0 || hend - port > 5) {
			snprintf(err, errlen, "bad port");
			return -1;
		}
		memcpy(tmp, port, (size_t)(hend - port));
		tmp[hend - port] = '\0';
		pn = strtol(tmp, &end, 10);
		if (*end != '\0' || tmp[0] < '0' || tmp[0] > '9' || pn < 1 ||
		    pn > 65535) {
			snprintf(err, errlen, "bad port");
			return -1;
		}
		snprintf(u->port, sizeof u->port, "%ld", pn);
	} else
		snprintf(u->port, sizeof u->port, "%s", defport);
	return 0;
}

int
url_parse(const char *s, struct url *u, char *err, size_t errlen)
{
	const char	*rest;
	size_t		 len;

	memset(u, 0, sizeof *u);
	if (strncmp(s, "pop3s://", 8) == 0) {
		u->implicit_tls = 1;
		rest = s + 8;
	} else if (strncmp(s, "pop3://", 7) == 0) {
		rest = s + 7;
	} else {
		snprintf(err, errlen, "URL must start with pop3s:// or "
		    "pop3://");
		return -1;
	}
	len = strcspn(rest, "/?#");
	if (rest[len] == '/' && rest[len + 1] != '\0') {
		snprintf(err, errlen, "URL must not have a path");
		return -1;
	}
	if (rest[len] == '?' || rest[len] == '#') {
		snprintf(err, errlen, "URL must not have a query");
		return -1;
	}
	return authority(rest, len, u->implicit_tls ? "pop3s" : "pop3",
	    u->implicit_tls ? "995" : "110", u, err, errlen);
}

int
url_parse_imap(const char *s, struct url *u, char *folder, size_t folderlen,
    char *err, size_t errlen)
{
	const char	*rest, *p;
	size_t		 len, o;
	int		 hi, lo;
	char		 c;

	memset(u, 0, sizeof *u);
	if (strncmp(s, "imaps://", 8) == 0) {
		u->implicit_tls = 1;
		rest = s + 8;
	} else if (strncmp(s, "imap://", 7) == 0) {
		rest = s + 7;
	} else {
		snprintf(err, errlen, "URL must start with imaps:// or "
		    "imap://");
		return -1;
	}
	len = strcspn(rest, "/?#");
	if (strpbrk(rest, "?#") != NULL) {
		snprintf(err, errlen, "URL must not have a query");
		return -1;
	}
	if (authority(rest, len, u->implicit_tls ? "imaps" : "imap",
	    u->implicit_tls ? "993" : "143", u, err, errlen) == -1)
		return -1;
	/* The folder: the path, %-decoded; none is INBOX (RFC 5092). */
	p = rest[len] == '/' ? rest + len + 1 : rest + len;
	if (*p == '\0')
		p = "INBOX";
	for (o = 0; *p != '\0'; p++) {
		c = *p;
		if (c == '%') {
			if ((hi = hexval(p[1])) == -1 || (lo = hexval(p[2])) ==
			    -1) {
				snprintf(err, errlen, "bad %%-escape in folder");
				return -1;
			}
			c = (char)(hi << 4 | lo);
			p += 2;
		}
		if ((unsigned char)c < 0x20 || c == 0x7f) {
			snprintf(err, errlen, "bad character in folder");
			return -1;
		}
		if (o + 1 >= folderlen) {
			snprintf(err, errlen, "folder name too long");
			return -1;
		}
		folder[o++] = c;
	}
	folder[o] = '\0';
	return 0;
}
