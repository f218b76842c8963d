/*
 * pop3.h -- the POP3 client session (RFC 1939, 2449, 2595).
 *
 * The story of a session, one function per step:
 *
 *   pop3_new(opts)          nothing on the wire yet
 *   pop3_connect(p)         TCP; TLS at once (implicit) or after STLS;
 *                           greeting, CAPA (re-issued after TLS). With
 *                           pop3:// STLS is used whenever CAPA offers
 *                           it; without it the session goes on in
 *                           clear only with opts.insecure_plaintext;
 *                           then UTF8 (RFC 6856) when CAPA offers it
 *   pop3_login(p, u, pw)    USER/PASS or APOP; refused on a clear-text
 *                           connection unless opts.insecure_plaintext
 *   pop3_auth(p, m, u, pw)  or SASL AUTH (RFC 5034), same TLS rule
 *   pop3_listing(p, &l)     UIDL and LIST, merged by message number
 *   pop3_retrieve(p, ...)   RETR, pipelined when CAPA says PIPELINING,
 *                           each message streamed to a sink
 *   pop3_dele(p, n)         DELE: marks, takes effect only at QUIT
 *   pop3_quit(p)            QUIT; +OK means the UPDATE state was entered
 *   pop3_free(p)
 *
 * Every step returns 0 or -1. On -1, pop3_error() has a one-line
 * message (server text escaped) and pop3_errclass() says what kind of
 * failure it was, so callers can choose an exit code or retry policy.
 * After -1 the session is unusable except for pop3_free().
 */
#ifndef POP3_H
#define POP3_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "pop3parse.h"

enum pop3_tls {
	POP3_TLS_IMPLICIT,	/* pop3s://, port 995 */
	POP3_TLS_STARTTLS,	/* pop3://, STLS required (unless
				 * insecure_plaintext: as NONE) */
	POP3_TLS_NONE		/* pop3:// with --insecure-plaintext: STLS
				 * when offered, else clear text */
};

enum pop3_auth {
	POP3_AUTH_USER,		/* USER/PASS */
	POP3_AUTH_APOP		/* only when asked */
};

enum pop3_errclass {
	POP3_E_NONE = 0,
	POP3_E_NET,		/* cannot connect, connection lost */
	POP3_E_TIMEOUT,		/* idle timeout or deadline */
	POP3_E_TEMP,		/* -ERR [IN-USE], [SYS/TEMP], bad greeting */
	POP3_E_AUTH,		/* credentials refused */
	POP3_E_TLS,		/* TLS or STLS failure */
	POP3_E_PROTO,		/* the server broke the protocol */
	POP3_E_LOCAL,		/* a sink callback or the connection's wait
				 * hook (conn_set_wait_hook) failed */
	POP3_E_INTR,		/* interrupted by a signal */
	POP3_E_USAGE		/* a request that policy forbids */
};

struct pop3_opts {
	const char	*host;
	const char	*port;
	enum pop3_tls	 tls;
	struct conn_tls	 tlsopts;
	int		 insecure_plaintext;
	int		 connect_timeout_ms;
	int		 timeout_ms;	/* idle, and base of every deadline */
	uint64_t	 max_msg_size;	/* abort a RETR past this */
	unsigned	 window;	/* RETRs in flight when pipelining */
	size_t		 max_listing;	/* most messages accepted in UIDL */
	int		 uidl_by_top;	/* without UIDL: name messages by
					 * TOP n 0 and size (pop3_listing) */
	/*
	 * Optional (probe): called with every CAPA listing line as it
	 * arrives, unstuffed, without CRLF and not NUL-terminated (server
	 * text: escape it before printing); with line NULL when the server
	 * answers CAPA with -ERR. tls says whether the connection was
	 * encrypted then, so the clear-text CAPA of pop3:// is told from
	 * the one after STLS.
	 */
	void		(*capa_cb)(void *arg, int tls, const char *line,
			    size_t len);
	void		*capa_arg;
};

/*
 * One message of the server's listing; uid is in the listing's arena.
 * 16 bytes: a listing of 100,000 messages holds 1.6 MB of these.
 */
struct pop3_entry {
	uint32_t	num;
	uint32_t	uid_off;
	uint32_t	size;		/* from LIST: a hint only; saturates
					 * at UINT32_MAX (POP3_SIZE_HINT) */
	uint8_t		uid_len;
};

/* A LIST size as the listing keeps it. */
#define POP3_SIZE_HINT(sz)	((sz) > UINT32_MAX ? UINT32_MAX : \
				    (uint32_t)(sz))

struct pop3_listing {
	struct pop3_entry	*e;
	size_t			 n, cap;
	char			*arena;
	size_t			 alen, acap;
};

#define POP3_UID(l, i)	((l)->arena + (l)->e[(i)].uid_off)

/*
 * Where RETR streams a message. begin() is called when the +OK arrives,
 * data() with decoded bytes (any split), end() after the terminator;
 * failed() instead of all three when the server answers -ERR for that
 * message (it may have been deleted by another session). Any callback
 * returning -1 aborts the retrieval with POP3_E_LOCAL, and so does the
 * connection's wait hook (conn.h) returning -1.
 */
struct pop3_sink {
	int	(*begin)(void *arg, size_t i);
	int	(*data)(void *arg, const char *p, size_t n);
	int	(*end)(void *arg, size_t i);
	int	(*failed)(void *arg, size_t i, const char *why);
	void	 *arg;
};

/*
 * One reply of pop3_pipeline(): the status and the text after it, as
 * the server sent it (escape it before printing; NUL-terminated, but
 * len counts any NUL byte inside).
 */
struct pop3_reply {
	int	ok;		/* 1 for +OK, 0 for -ERR */
	char	text[POP3_STATUS_MAX];
	size_t	len;
};

#define POP3_PIPELINE_MAX	8

struct pop3;

struct pop3		*pop3_new(const struct pop3_opts *);
int			 pop3_connect(struct pop3 *);
/*
 * pop3_connect() over a connection the caller made (conn_adopt(): the
 * session fuzzer's socketpair) instead of one to opts.host and
 * opts.port, which are then only names for messages and OAUTHBEARER.
 * The session owns c from this call on, even when it fails (pop3_free()
 * closes it). Same steps, rules and errors as pop3_connect() after the
 * TCP connection.
 */
int			 pop3_connect_conn(struct pop3 *, struct conn *);
int			 pop3_login(struct pop3 *, const char *user,
			    const char *pass, enum pop3_auth);
/*
 * Log in with SASL AUTH (RFC 5034). mech is a name as sasl_mech_find()
 * knows it ("scram-sha-256", any case) or "auto", the default of
 * --auth: the first of SCRAM-SHA-256, SCRAM-SHA-1, PLAIN and LOGIN that
 * the server's CAPA lists (sasl_pick(caps, 0), from the capabilities
 * learnt after TLS), else USER/PASS as pop3_login() does it (its
 * errors then); never APOP, CRAM-MD5 or OAuth. A caller holding an
 * OAuth token picks with sasl_pick(caps, 1) and passes the name.
 * secret is the password, or the access token for XOAUTH2 and
 * OAUTHBEARER (whose host= and port= come from opts). Every failure
 * message names the mechanism ("AUTH SCRAM-SHA-256: server said: ...").
 *
 * The initial response goes on the AUTH line only if that line fits
 * 255 octets with its CRLF, "=" standing for an empty one; otherwise
 * "AUTH MECH" is sent alone and the response answers the server's
 * empty "+ " (the two-step form Microsoft 365 uses for XOAUTH2). A
 * challenge that is not strict base64, or that the mechanism refuses
 * (SCRAM: nonce, salt, iteration count, server signature), is answered
 * "*" and the -ERR that follows is read. -v shows "AUTH MECH" and
 * "****" for every challenge and response.
 *
 * Returns 0 after +OK, which is accepted only once the mechanism is
 * complete (a SCRAM server must have proved its signature). -1 with:
 *   POP3_E_USAGE  no TLS without opts.insecure_plaintext, unknown
 *                 mechanism name, user or secret the mechanism cannot
 *                 carry (nothing was sent in these cases);
 *   POP3_E_AUTH   -ERR (also [AUTH], [SYS/PERM]), a challenge the
 *                 mechanism refused, an OAuth error status, +OK too
 *                 early;
 *   POP3_E_TEMP   -ERR [IN-USE], [SYS/TEMP] or [LOGIN-DELAY];
 *   POP3_E_PROTO  a challenge that is not base64, a non-empty prompt
 *                 for an initial response, garbage, +OK to "*";
 *   and the connection classes (NET, TIMEOUT, TLS, INTR).
 * Secrets are wiped from every buffer that held them.
 */
int			 pop3_auth(struct pop3 *, const char *mech,
			    const char *user, const char *secret);
/*
 * UIDL and LIST. A server that refuses UIDL is a POP3_E_PROTO failure,
 * unless opts.uidl_by_top: then each message listed by LIST is named
 * "top-" and 40 hex digits of the SHA-256 of its header block (TOP n 0)
 * and its size, and pop3_ids_by_top() says so; a message whose TOP is
 * refused is left out of the listing (warned).
 */
int			 pop3_listing(struct pop3 *, struct pop3_listing *);
/* 1 when this session's listing was named by TOP (no UIDL). */
int			 pop3_ids_by_top(struct pop3 *);
/*
 * Retrieve the messages l->e[idx[k]] for k < n in that order, numbered
 * from this session's listing. Returns 0 when every message was either
 * delivered to the sink or reported to failed().
 */
int			 pop3_retrieve(struct pop3 *,
			    const struct pop3_listing *, const size_t *idx,
			    size_t n, const struct pop3_sink *);
/*
 * As pop3_retrieve(), with TOP n 0 (RFC 1939): the header section of
 * each message, the empty line after it, and no body line.
 */
int			 pop3_top(struct pop3 *, const struct pop3_listing *,
			    const size_t *idx, size_t n,
			    const struct pop3_sink *);
int			 pop3_quit(struct pop3 *);
/*
 * DELE one message by its number in this session's listing. -1 with
 * POP3_E_PROTO for a -ERR (the session goes on), any other class when
 * the session is lost.
 */
int			 pop3_dele(struct pop3 *, uint32_t num);
/*
 * For probe only: send the n commands of cmds (each without CRLF, at
 * most POP3_PIPELINE_MAX of at most 64 bytes) in one write, as a
 * pipelining client does (RFC 2449 section 6.6), then read their n
 * replies in order into r. Only for commands whose every reply is one
 * status line (UIDL n, LIST n, STAT, NOOP); the caller checks that the
 * replies answer the commands, and must not send anything that changes
 * the mailbox. Returns 0 when n well-formed status lines arrived
 * (+OK or -ERR, see r[k].ok); -1 with POP3_E_USAGE (bad arguments,
 * nothing sent), POP3_E_PROTO (unasked data before sending, a line
 * that is not a POP3 reply) or a connection class.
 */
int			 pop3_pipeline(struct pop3 *, const char *const *cmds,
			    size_t n, struct pop3_reply *r);
/* QUIT in two steps, so a caller can tell "sent" from "answered". */
int			 pop3_quit_send(struct pop3 *);
int			 pop3_quit_reply(struct pop3 *);
void			 pop3_free(struct pop3 *);

const struct pop3_caps	*pop3_caps(struct pop3 *);
const char		*pop3_greeting(struct pop3 *);
/* 1 when the server accepted UTF8 (RFC 6856) in this session. */
int			 pop3_utf8_on(struct pop3 *);
const char		*pop3_error(struct pop3 *);
enum pop3_errclass	 pop3_errclass(struct pop3 *);
/* The response code of the last -ERR (POP3_RC_NONE for other errors). */
enum pop3_rcode		 pop3_rcode(struct pop3 *);
struct conn		*pop3_conn(struct pop3 *);

void			 pop3_listing_free(struct pop3_listing *);

#endif
