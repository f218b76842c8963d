/*
 * url.h -- parse a POP3 account URL: pop3s://user@host[:port] (implicit
 * TLS, port 995) or pop3://user@host[:port] (STLS, port 110). The user
 * may be percent-encoded (%40 for '@'); a literal '@' in it also works,
 * as the last '@' ends the user. IPv6 hosts go in brackets. A password
 * in the URL is refused: it would be visible to every user in ps(1).
 * Pure: no I/O.
 */
#ifndef URL_H
#define URL_H

#include <stddef.h>

struct url {
	int	implicit_tls;	/* 1 for pop3s:// */
	char	user[256];
	char	host[256];
	char	port[8];
};

/* Returns 0, or -1 with a message in err. */
int	url_parse(const char *s, struct url *u, char *err, size_t errlen);

/*
 * An IMAP mailbox URL (export --to): imaps://user@host[:port][/FOLDER]
 * (implicit TLS, port 993) or imap://... (STARTTLS, port 143), the
 * user and host as above. FOLDER is %-decoded into folder (UTF-8, no
 * control characters; "/" in it is the server's hierarchy separator
 * as Dovecot and most servers use it); none is INBOX. 0, or -1 with a
 * message in err.
 */
int	url_parse_imap(const char *s, struct url *u, char *folder,
	    size_t folderlen, char *err, size_t errlen);

#endif
