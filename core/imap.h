/*
 * imap.h -- the IMAP client session (RFC 9051 IMAP4rev2, RFC 3501
 * IMAP4rev1), for the hand-off of archived mail to a mailbox (popvault
 * export --to, core/upload.c). Only what an upload needs: no IDLE, no
 * flags sync, one selected mailbox.
 *
 * The story of a session, one function per step:
 *
 *   imap_new(opts)           nothing on the wire yet
 *   imap_connect(s)          TCP; TLS at once (imaps://) or after
 *                            STARTTLS (imap://: required unless
 *                            opts.insecure_plaintext); greeting;
 *                            CAPABILITY (asked again after STARTTLS:
 *                            what came before TLS is discarded, RFC
 *                            9051 section 6.2.1)
 *   imap_auth(s, m, u, pw)   AUTHENTICATE (SASL-IR when offered) with the
 *                            mechanisms of sasl.h, or LOGIN only when the
 *                            connection is encrypted (or
 *                            opts.insecure_plaintext); CAPABILITY again
 *                            unless the tagged OK carried [CAPABILITY]
 *   imap_select(s, f, c, mb) SELECT (EXAMINE when read_only); with create,
 *                            a missing mailbox (NO [TRYCREATE], or NO and
 *                            no such mailbox in LIST) is CREATEd first
 *   imap_sizes(s, cb)        UID FETCH 1:* (UID RFC822.SIZE): every
 *                            message of the selected mailbox
 *   imap_append(s, m, n, r)  APPEND n messages to the selected mailbox,
 *                            pipelined with LITERAL+ (or LITERAL- for
 *                            literals up to 4096 octets), else with
 *                            synchronizing literals; MULTIAPPEND (RFC
 *                            3502) when offered and n > 1; the UIDs from
 *                            APPENDUID (RFC 4315) when the server has
 *                            UIDPLUS
 *   imap_fetch(s, u, n, k)   UID FETCH u (UID BODY.PEEK[]): each body
 *                            streamed to a sink, any size
 *   imap_search(s, c, ...)   UID SEARCH with criteria the caller built
 *   imap_logout(s)           LOGOUT
 *   imap_free(s)
 *
 * Every step returns 0 or -1. On -1, imap_error() has a one-line message
 * (server text escaped and truncated) and imap_errclass() says what kind
 * of failure it was. After -1 the session is unusable except for
 * imap_free() (every later step fails at once, with the same error),
 * unless the class is IMAP_E_REFUSED (a tagged NO for a command that
 * changes nothing else: the session goes on) or IMAP_E_USAGE (nothing
 * was sent). A step that succeeds clears the error.
 *
 * Every response goes through imap_reader_feed() (imapparse.h) with the
 * line cap IMAP_LINE_MAX and a response buffer of IMAP_RESP_MAX; literals
 * of fetched bodies are streamed, never held whole. Every command has a
 * deadline (opts.timeout_ms from the moment it is sent, stretched for
 * the bytes it carries), so a server that never ends a literal or a
 * response cannot hold the run.
 */
#ifndef IMAP_H
#define IMAP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conn.h"
#include "imapparse.h"

/* The most a response (its lines and kept literals) may take. */
#define IMAP_RESP_MAX		(256 * 1024)
/* The longest literal kept in the response buffer; longer ones stream. */
#define IMAP_LIT_KEEP		4096
/* Messages of one imap_append() call, at most. */
#define IMAP_APPEND_MAX		64
/* Text of a server's answer kept for messages (escaped). */
#define IMAP_TEXT_MAX		256

enum imap_tls {
	IMAP_TLS_IMPLICIT,	/* imaps://, port 993 */
	IMAP_TLS_STARTTLS	/* imap://, port 143: STARTTLS required
				 * unless insecure_plaintext (then used when
				 * offered, else clear text) */
};

enum imap_errclass {
	IMAP_E_NONE = 0,
	IMAP_E_NET,		/* cannot connect, connection lost */
	IMAP_E_TIMEOUT,		/* idle timeout or a command's deadline */
	IMAP_E_TEMP,		/* the server asks to come back later: a
				 * NO or BAD with [LIMIT], [UNAVAILABLE],
				 * [INUSE] or [OVERQUOTA] (to any command);
				 * an untagged BYE at any time but after
				 * LOGOUT; a BYE greeting */
	IMAP_E_AUTH,		/* credentials refused: NO to AUTHENTICATE
				 * or LOGIN, [AUTHENTICATIONFAILED] */
	IMAP_E_TLS,		/* TLS or STARTTLS failure */
	IMAP_E_PROTO,		/* the server broke the protocol: a reply
				 * we cannot read, a BAD to a command we
				 * built, a literal past opts.max_msg_size,
				 * a response past IMAP_RESP_MAX */
	IMAP_E_LOCAL,		/* a callback of the caller returned -1, or
				 * a message body gave another size than it
				 * announced */
	IMAP_E_INTR,		/* interrupted by a signal */
	IMAP_E_USAGE,		/* what policy forbids (LOGIN in clear), a
				 * mechanism the
				 * server does not offer; nothing was sent */
	IMAP_E_REFUSED		/* a tagged NO to SELECT, CREATE, SEARCH,
				 * FETCH or one APPEND, without one of the
				 * codes of IMAP_E_TEMP: the session goes
				 * on; imap_code() and imap_error() say
				 * what the server said */
};

struct imap_opts {
	const char	*host;
	const char	*port;
	enum imap_tls	 tls;
	struct conn_tls	 tlsopts;
	int		 insecure_plaintext;
	int		 connect_timeout_ms;
	int		 timeout_ms;	/* idle, and base of every deadline */
	uint64_t	 max_msg_size;	/* the longest body FETCH accepts */
};

/* The selected mailbox, from the answers to SELECT / EXAMINE. */
struct imap_mailbox {
	uint32_t	uidvalidity;	/* 0: the server sent none (then no
					 * UID can be trusted: imap_select()
					 * fails with IMAP_E_PROTO) */
	uint32_t	uidnext;	/* 0: not sent */
	uint32_t	exists;
	int		created;	/* imap_select() created it */
	int		read_only;	/* [READ-ONLY] */
};

/*
 * One message for imap_append(). size is the exact number of octets
 * body() will give, in the wire form IMAP requires (every line ending in
 * CRLF: the caller converts); body() calls put(put_arg, p, n) as often as
 * it likes and returns 0, or -1 to abort (the session is then lost:
 * IMAP_E_LOCAL, as when the octets given differ from size). flags is a
 * flag list without its parentheses ("\\Seen", "" for none), made of
 * atoms and "\\" atoms separated by spaces (checked: otherwise
 * IMAP_E_USAGE and nothing sent). date is the INTERNALDATE, in UTC;
 * 0 or less: none (the server uses the time of the APPEND).
 */
struct imap_msg {
	uint64_t	  size;
	const char	 *flags;
	time_t		  date;
	int		(*body)(void *arg, int (*put)(void *, const char *,
			    size_t), void *put_arg);
	void		 *arg;
};

/*
 * What became of one message of imap_append(). ok: the server said OK;
 * then uid and uidvalidity when it said APPENDUID (has_uid), else 0.
 * Not ok: the server refused that message (NO); text and code say
 * why.
 */
struct imap_appended {
	int		ok;
	int		has_uid;
	uint32_t	uidvalidity;
	uint32_t	uid;
	enum imap_code	code;
	char		text[IMAP_TEXT_MAX];
};

/*
 * Where imap_fetch() streams the bodies. begin() when a body starts
 * (size its octets), data() with its octets in any split, end() once the
 * whole FETCH response has been read, with the UID it named (so a
 * server that sends UID after BODY[] is read right). A response with a
 * UID but no body, or a body of NIL, gives nothing; so does one with
 * neither (a flag update); a body without a UID, for a UID not asked
 * for, or for one already given, is IMAP_E_PROTO. A callback returning
 * -1 stops the fetch (IMAP_E_LOCAL; the session is lost). When
 * imap_fetch() fails, a body begun may never be ended: the sink drops
 * what it holds of it.
 */
struct imap_sink {
	int	(*begin)(void *arg, uint64_t size);
	int	(*data)(void *arg, const char *p, size_t n);
	int	(*end)(void *arg, uint32_t uid);
	void	 *arg;
};

struct imap;

/* A session over opts (the strings are the caller's, kept until free). */
struct imap		*imap_new(const struct imap_opts *);

/*
 * Connect, TLS, greeting and CAPABILITY. A PREAUTH greeting is accepted
 * only over TLS (it skips imap_auth(): imap_auth() then returns 0), and
 * is IMAP_E_TLS in clear text: the STARTTLS it makes impossible is
 * required (with opts.insecure_plaintext it is accepted in clear too).
 * STARTTLS is used whenever offered on imap://, insecure_plaintext or
 * not; a NO to it, or bytes after its OK (injection), is IMAP_E_TLS. A
 * BYE greeting is IMAP_E_TEMP. -1 with the connection classes,
 * IMAP_E_TLS (also: imap:// and no STARTTLS offered, or a PREAUTH
 * greeting in clear text, without insecure_plaintext: as POP3's missing
 * STLS), IMAP_E_PROTO. Any failure loses the session.
 */
int			 imap_connect(struct imap *);
/*
 * imap_connect() over a connection the caller made (conn_adopt(): unit
 * tests and the session fuzzer). The session owns c from this call on,
 * even when it fails.
 */
int			 imap_connect_conn(struct imap *, struct conn *);

/*
 * Log in. mech is a SASL name as sasl_mech_find() knows it, "login"
 * (the LOGIN command, not the SASL mechanism), or "auto": the strongest
 * of SCRAM-SHA-256, SCRAM-SHA-1 and PLAIN that the capabilities offer
 * (AUTH=), else LOGIN unless LOGINDISABLED. secret is the password, or
 * the OAuth access token for XOAUTH2 and OAUTHBEARER. Nothing is sent
 * in clear text without opts.insecure_plaintext (IMAP_E_USAGE); a SASL
 * mechanism named but not in the server's AUTH= list, or LOGIN under
 * LOGINDISABLED, is IMAP_E_USAGE too (nothing sent). LOGIN sends a
 * user name or password with 8-bit bytes as a literal; CR or LF in
 * either is IMAP_E_USAGE. A
 * mechanism that must be complete before OK is checked as pop3_auth()
 * checks it. -1 with IMAP_E_AUTH (NO), IMAP_E_TEMP ([UNAVAILABLE],
 * BYE), IMAP_E_USAGE, IMAP_E_PROTO (also BAD, a challenge that is not
 * base64: cancelled with "*"), connection classes. Secrets are
 * wiped from every buffer that held them; -v logs "****" for them.
 */
int			 imap_auth(struct imap *, const char *mech,
			    const char *user, const char *secret);

/*
 * Select folder (a mailbox name in UTF-8; always sent in modified
 * UTF-7 (RFC 3501 section 5.1.3: "&" becomes "&-", non-ASCII and
 * control characters base64; UTF8=ACCEPT is never enabled), as an atom
 * or a quoted string; not valid UTF-8: IMAP_E_USAGE). With create, a
 * mailbox the server says is missing ([TRYCREATE], [NONEXISTENT], or a
 * NO and LIST does not list it) is created and selected
 * (mb->created). read_only: EXAMINE, and create is ignored. -1 with
 * IMAP_E_REFUSED (NO: no such mailbox, and create not asked or CREATE
 * refused), IMAP_E_PROTO (no UIDVALIDITY), the other classes.
 */
int			 imap_select(struct imap *, const char *folder,
			    int create, int read_only,
			    struct imap_mailbox *mb);

/*
 * Every message of the selected mailbox: cb(arg, uid, size) once each
 * (RFC822.SIZE: its size with CRLF line ends), in the server's order.
 * Nothing is sent for a mailbox whose last EXISTS said 0. cb returning -1 stops it
 * (IMAP_E_LOCAL).
 */
int			 imap_sizes(struct imap *,
			    int (*cb)(void *, uint32_t uid, uint64_t size),
			    void *arg);

/*
 * APPEND m[0..n-1] (n <= IMAP_APPEND_MAX) to the selected mailbox,
 * whose name imap_select() gave, in one batch, and fill r[0..n-1].
 * Returns 0 once every message has its answer (some may be refused:
 * r[k].ok 0, also a NO that comes instead of the "+" of a
 * synchronizing literal: its octets are not sent); -1 when the batch
 * could not finish: IMAP_E_TEMP (a NO with [LIMIT], [UNAVAILABLE],
 * [INUSE] or [OVERQUOTA]: no more messages are sent, the answers of
 * those sent are read into r; BYE: r says which messages were answered
 * before, the others may or may not have been stored), IMAP_E_PROTO (a
 * BAD), IMAP_E_LOCAL, IMAP_E_USAGE, connection classes. With
 * MULTIAPPEND the batch is one command, all stored or none: a NO
 * refuses each message with the same text, and APPENDUID's uid-set is
 * given to the messages in order (a set of another size gives none a
 * UID). A message larger than the server's APPENDLIMIT (RFC 7889) is
 * not sent: r[k].ok 0 with a text that says so (and then no
 * MULTIAPPEND). A date outside years 1..9999 is left out. The caller must not
 * take OK without a UID as proof: it reads the message back
 * (imap_fetch()).
 */
int			 imap_append(struct imap *, const struct imap_msg *m,
			    size_t n, struct imap_appended *r);

/*
 * UID FETCH of uids[0..n-1] (BODY.PEEK[], so \Seen is untouched) in
 * one command, each body to the sink. UIDs that are not there simply
 * give no response. Bodies longer than opts.max_msg_size are
 * IMAP_E_PROTO.
 */
int			 imap_fetch(struct imap *, const uint32_t *uids,
			    size_t n, const struct imap_sink *);

/*
 * UID SEARCH criteria (the caller quotes its strings with imap_quote();
 * a criteria string with CR or LF is IMAP_E_USAGE); the UIDs found
 * go to out[0..max-1], *count says how many there were (more than max:
 * the rest are left out). With ESEARCH offered the command asks
 * RETURN (ALL), so that many UIDs come as ranges (a plain SEARCH
 * answer longer than IMAP_LINE_MAX is IMAP_E_PROTO).
 */
int			 imap_search(struct imap *, const char *criteria,
			    uint32_t *out, size_t max, size_t *count);

/*
 * LOGOUT; 0 after the tagged OK (the BYE before it is expected), or
 * when the server hangs up after its BYE.
 */
int			 imap_logout(struct imap *);
void			 imap_free(struct imap *);

const struct imap_caps	*imap_caps(const struct imap *);
/* The greeting's text, escaped. */
const char		*imap_greeting(const struct imap *);
const char		*imap_error(const struct imap *);
enum imap_errclass	 imap_errclass(const struct imap *);
/* The response code of the last NO, BAD or BYE (IMAP_C_NONE else). */
enum imap_code		 imap_code(const struct imap *);
struct conn		*imap_conn(struct imap *);
/*
 * The longest body imap_fetch() accepts from now on (opts.max_msg_size
 * at first). A caller that knows what it expects to read back sets it
 * to that: a longer literal is IMAP_E_PROTO at once, before its octets,
 * and the deadline a body stretches is bounded by it.
 */
void			 imap_set_max_msg_size(struct imap *, uint64_t);
/* imap_utf7_encode(), a mailbox name in modified UTF-7: imapparse.h. */

#endif
