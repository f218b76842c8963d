/*
 * imapparse.h -- pure parsers for IMAP server responses (RFC 9051
 * IMAP4rev2, RFC 3501 IMAP4rev1), the foundation of the IMAP upload
 * (issue 17), and the pure encoders of what the client sends (date-time,
 * astrings, modified UTF-7 mailbox names). Defined in imapparse.c; the
 * date-time and modified UTF-7 in imapenc.c.
 *
 * As in pop3parse.h, nothing here does I/O or allocates: the response
 * reader works in a buffer the caller gives, and every parser takes
 * bytes and returns a verdict. Server data is untrusted: every number is
 * range-checked, every length capped; a malformed response is an
 * error, never a guess.
 */
#ifndef IMAPPARSE_H
#define IMAPPARSE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* One line (up to a literal or the end of the response), CRLF counted. */
#define IMAP_LINE_MAX		65536
/* Digits of a literal's length: up to 2^63-1 (number64, RFC 9051). */
#define IMAP_LITLEN_DIGITS	19
/* Nesting of parenthesized lists a parser follows. */
#define IMAP_DEPTH_MAX		16

/* Error classes of the reader (struct imap_reader err). */
enum imap_err {
	IMAP_RD_NONE = 0,
	IMAP_RD_PROTO,		/* the server broke the protocol: bare CR or
				 * LF, NUL in a line, a bad literal length */
	IMAP_RD_LIMIT,		/* a cap: line, literal, response buffer */
	IMAP_RD_CALLBACK	/* the literal callback returned -1 */
};

/* Events of the literal callback. */
enum imap_lit_ev {
	IMAP_LIT_BEGIN,		/* p/n: the response so far (up to and
				 * including "{N}"); size: N */
	IMAP_LIT_DATA,		/* p/n: the next bytes of the literal */
	IMAP_LIT_END		/* the literal is complete (p NULL, n 0) */
};

typedef int (*imap_lit_fn)(void *arg, enum imap_lit_ev ev, const char *p,
    size_t n, uint64_t size);

/*
 * Streaming response reader.
 *
 * A response is one line, or several lines joined by literals "{N}" CRLF
 * followed by N octets (RFC 9051 section 4.3). The reader collects it in
 * buf: the bytes as sent, the final CRLF left out. A literal of at most
 * litmax octets is kept there. A longer one goes to the callback (if
 * there is one; otherwise it is an IMAP_RD_LIMIT error) and stands in buf
 * as "{=N}" CRLF with no octets after it: a form no server can send, as
 * the parsers below know (a server's "{=N}" at the end of a line is not
 * a literal, and nstreamed counts the real ones).
 *
 * Lines end only in CRLF: a bare CR or LF, or NUL, in a line is
 * IMAP_RD_PROTO; a line longer than IMAP_LINE_MAX (CRLF counted) is
 * IMAP_RD_PROTO too (the server broke the protocol's line discipline);
 * a response that does not fit buf is IMAP_RD_LIMIT. Literal octets may
 * be anything, NUL included. Errors are sticky.
 */
struct imap_reader {
	char		*buf;
	size_t		 bufsize;
	size_t		 litmax;
	imap_lit_fn	 cb;
	void		*cbarg;
	size_t		 len;		/* bytes in buf */
	size_t		 linestart;	/* where the current line began */
	int		 st;		/* internal */
	uint64_t	 litleft;	/* octets of the literal still due */
	unsigned	 nstreamed;	/* literals sent to the callback */
	int		 done;		/* a complete response is in buf */
	enum imap_err	 err;
	const char	*errmsg;	/* a constant string, or NULL */
};

/*
 * Set up r over buf/bufsize (at least 16 bytes). litmax is the largest
 * literal kept in buf; cb (may be NULL) receives the larger ones.
 */
void	imap_reader_init(struct imap_reader *r, char *buf, size_t bufsize,
	    size_t litmax, imap_lit_fn cb, void *cbarg);

/*
 * Feed up to len bytes. Returns 1 when a complete response is in
 * r->buf/r->len (r->nstreamed literals streamed); *consumed then says how
 * far in went, up to the end of the response's CRLF; the rest belongs to
 * the next response. Returns 0 when more input is needed (*consumed is
 * len), -1 on error (r->err, r->errmsg; *consumed how far it got). The
 * next call after a 1 starts a new response. The result does not depend
 * on how the input is split.
 */
int	imap_reader_feed(struct imap_reader *r, const char *in, size_t len,
	    size_t *consumed);

/* Kinds and status words of a response. */
enum imap_kind {
	IMAP_K_CONT,		/* "+ ..." */
	IMAP_K_UNTAGGED,	/* "* ..." */
	IMAP_K_TAGGED		/* "tag SP ..." */
};

enum imap_status {
	IMAP_S_NONE = 0,	/* not a status response */
	IMAP_S_OK,
	IMAP_S_NO,
	IMAP_S_BAD,
	IMAP_S_PREAUTH,		/* untagged only */
	IMAP_S_BYE		/* untagged only */
};

/* Response codes (RFC 9051 section 7.1) we act on. */
enum imap_code {
	IMAP_C_NONE = 0,
	IMAP_C_ALERT,
	IMAP_C_APPENDUID,	/* n1 uidvalidity, n2 uid; set: the uid-set
				 * (MULTIAPPEND) when not a single uid */
	IMAP_C_COPYUID,		/* n1 uidvalidity; set: source uid-set; set2:
				 * destination uid-set */
	IMAP_C_UIDVALIDITY,	/* n1 */
	IMAP_C_UIDNEXT,		/* n1 */
	IMAP_C_TRYCREATE,
	IMAP_C_LIMIT,
	IMAP_C_UNAVAILABLE,
	IMAP_C_CAPABILITY,	/* set: the capability list */
	IMAP_C_OTHER		/* a well-formed code we do not know */
};

struct imap_resp {
	enum imap_kind	 kind;
	const char	*tag;		/* tagged: the tag, in the input */
	size_t		 taglen;
	enum imap_status status;
	uint32_t	 num;		/* "* n KEYWORD": n; has_num says so */
	int		 has_num;
	const char	*keyword;	/* the status word or data keyword */
	size_t		 keywordlen;
	enum imap_code	 code;		/* status responses only */
	uint32_t	 n1, n2;
	const char	*set, *set2;
	size_t		 setlen, set2len;
	const char	*rest;		/* after the keyword (and its SP) and
					 * after the response code (and its
					 * SP): text, or the data to parse */
	size_t		 restlen;
};

/*
 * Read the shape of one response (as imap_reader_feed() gives it: no
 * final CRLF). Tags are 1*<ASTRING-CHAR except "+">; keywords are
 * atoms, compared case-insensitively; status words set status.
 * "* n KEYWORD" takes n as a number in uint32 without leading zeros
 * ("0" is allowed: an empty mailbox is "* 0 EXISTS"). A bracketed code right after a status
 * word is parsed: a known code with malformed arguments makes the whole
 * response -1 (an APPENDUID we cannot read must not be guessed). Returns
 * 0 or -1 (*r then undefined).
 */
int	imap_parse_resp(const char *p, size_t n, struct imap_resp *r);

/* Capabilities (RFC 9051 section 7.2.2). */
#define IMAP_CAP_IMAP4REV1	0x0001
#define IMAP_CAP_IMAP4REV2	0x0002
#define IMAP_CAP_LITERALPLUS	0x0004	/* LITERAL+ */
#define IMAP_CAP_LITERALMINUS	0x0008	/* LITERAL- */
#define IMAP_CAP_UIDPLUS	0x0010
#define IMAP_CAP_MULTIAPPEND	0x0020
#define IMAP_CAP_STARTTLS	0x0040
#define IMAP_CAP_LOGINDISABLED	0x0080
#define IMAP_CAP_ESEARCH	0x0100
#define IMAP_CAP_UTF8_ACCEPT	0x0200
#define IMAP_CAP_APPENDLIMIT	0x0400
#define IMAP_CAP_SASL_IR		0x0800	/* RFC 4959 (part of IMAP4rev2) */

#define IMAP_AUTH_PLAIN		0x0001
#define IMAP_AUTH_LOGIN		0x0002
#define IMAP_AUTH_CRAM_MD5	0x0004
#define IMAP_AUTH_SCRAM_SHA_1	0x0008
#define IMAP_AUTH_SCRAM_SHA_256	0x0010
#define IMAP_AUTH_XOAUTH2	0x0020
#define IMAP_AUTH_OAUTHBEARER	0x0040

struct imap_caps {
	unsigned	flags;		/* IMAP_CAP_* */
	unsigned	auth;		/* IMAP_AUTH_* */
	uint32_t	appendlimit;	/* APPENDLIMIT=n, with the flag */
};

/*
 * Parse a capability list: atoms separated by single spaces (the rest of
 * "* CAPABILITY", or the set of a [CAPABILITY] code). Fills *caps (zeroed
 * first). Unknown atoms are skipped; a list not made of atoms is -1.
 */
int	imap_parse_caps(const char *p, size_t n, struct imap_caps *caps);

/*
 * Next range of a sequence-set / uid-set without "*" (nz-numbers,
 * "a:b" in either order, comma-separated). *p and end bound what is left;
 * returns 1 with *lo <= *hi, 0 at the end, -1 if malformed.
 */
int	imap_seqset_next(const char **p, const char *end, uint32_t *lo,
	    uint32_t *hi);

/*
 * The numbers of "* SEARCH n n ..." (rest of the response): nz-numbers
 * in uint32 separated by single spaces, possibly none. Stores the first
 * max in out, sets *count to how many there were; -1 if malformed.
 */
int	imap_parse_search(const char *p, size_t n, uint32_t *out, size_t max,
	    size_t *count);

/* "* ESEARCH [(TAG "t")] [UID] *(SP name SP value)" (RFC 4731, 9051). */
struct imap_esearch {
	const char	*tag;		/* the correlator, NULL if none */
	size_t		 taglen;
	int		 uid;
	int		 has_min, has_max, has_count;
	uint32_t	 min, max, count;
	const char	*all;		/* sequence-set of ALL, NULL if none */
	size_t		 alllen;
};

int	imap_parse_esearch(const char *p, size_t n, struct imap_esearch *e);

/*
 * "* n FETCH (att SP value ...)": p/n is the rest after FETCH, nstreamed
 * the reader's count. Items we know: UID (nz-number), RFC822.SIZE
 * (number64), INTERNALDATE (date-time), BODY[] (nstring or literal: a
 * kept literal points into p, a streamed one sets body_streamed). Others
 * are skipped whatever their value. A duplicate known item, a bad value,
 * or junk is -1.
 */
struct imap_fetch {
	int		 has_uid, has_size, has_date, has_body;
	uint32_t	 uid;
	uint64_t	 size;
	time_t		 date;
	int		 zone;		/* minutes east of UTC */
	const char	*body;		/* NULL for NIL or streamed */
	size_t		 bodylen;
	int		 body_streamed;
};

int	imap_parse_fetch(const char *p, size_t n, unsigned nstreamed,
	    struct imap_fetch *f);

/*
 * date-time: DQUOTE date-day-fixed "-" date-month "-" date-year SP time
 * SP zone DQUOTE, "dd-Mon-yyyy hh:mm:ss +zzzz" with the day " 1" or
 * "01". IMAP_DATETIME_LEN counts the quotes.
 */
#define IMAP_DATETIME_LEN	28

/*
 * Write t as seen in zone (minutes east of UTC, -1439..1439) into out
 * (IMAP_DATETIME_LEN + 1 bytes, NUL-terminated), quotes included, the
 * day as two digits. -1 if the local year is outside 1..9999 or the
 * zone out of range.
 */
int	imap_format_datetime(time_t t, int zone, char *out);

/* Parse a quoted date-time; 0 with *t (UTC) and *zone, or -1. */
int	imap_parse_datetime(const char *p, size_t n, time_t *t, int *zone);

/* How a string can be sent as an astring (a mailbox name). */
enum imap_astr {
	IMAP_AS_ATOM,		/* as is: 1*ASTRING-CHAR */
	IMAP_AS_QUOTED,		/* as a quoted string */
	IMAP_AS_LITERAL		/* only as a literal: CR, LF, NUL, 8-bit */
};

enum imap_astr imap_astring_kind(const char *s, size_t n);

/*
 * Write s/n as an astring into out/outsize: as is, or quoted with "\"
 * before each DQUOTE and backslash. NUL-terminates; *outlen the length.
 * -1 if it needs a literal or does not fit.
 */
int	imap_quote(const char *s, size_t n, char *out, size_t outsize,
	    size_t *outlen);

/*
 * Encode folder (UTF-8) as modified UTF-7 into out/outsize, NUL
 * terminated; -1 if folder is not valid UTF-8 or out is too small.
 */
int	imap_utf7_encode(const char *folder, char *out, size_t outsize);

#endif
