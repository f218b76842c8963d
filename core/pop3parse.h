/*
 * pop3parse.h -- pure parsers for POP3 responses (RFC 1939, 2449).
 *
 * Nothing here does I/O or allocates: every function takes bytes and
 * returns a verdict, so unit tests and fuzzers can reach each one alone.
 * Server data is untrusted: every number is range-checked and every
 * string is length-checked; a malformed line is an error, never a guess.
 */
#ifndef POP3PARSE_H
#define POP3PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Caps on line lengths, CRLF included. RFC 1939 section 3 allows 512
 * octets for a status line; listing lines are "n SP uid" (uid <= 70). */
#define POP3_STATUS_MAX		512
#define POP3_LISTING_MAX	128
#define POP3_UIDL_MAX		70
/* Highest message number we accept from a server. */
#define POP3_MSGNUM_MAX		100000000u

/* RFC 2449 / 3206 response codes we act on. */
enum pop3_rcode {
	POP3_RC_NONE = 0,
	POP3_RC_IN_USE,		/* [IN-USE] */
	POP3_RC_LOGIN_DELAY,	/* [LOGIN-DELAY] */
	POP3_RC_SYS_TEMP,	/* [SYS/TEMP] */
	POP3_RC_SYS_PERM,	/* [SYS/PERM] */
	POP3_RC_AUTH,		/* [AUTH] */
	POP3_RC_OTHER		/* a bracketed code we do not know */
};

struct pop3_status {
	int		 ok;	/* 1 for +OK, 0 for -ERR */
	enum pop3_rcode	 rcode;	/* only meaningful for -ERR; always
				 * POP3_RC_NONE for +OK */
	const char	*text;	/* points into the caller's line, after the
				 * status word and one space; not
				 * NUL-terminated; may be empty; a
				 * response code stays in it */
	size_t		 textlen;
};

/*
 * Parse a status line. line/len is the line without its CRLF (a bare LF
 * or CR has already been stripped by the caller too). Returns 0 and
 * fills *st on "+OK" or "-ERR" (followed by end of line or a space);
 * returns -1 on anything else (garbage, "+OKAY", empty line), leaving
 * *st untouched. Status words are case-sensitive as in RFC 1939.
 * For -ERR, a response code (RFC 2449 section 8, RFC 3206) at the very
 * start of the text sets rcode, case-insensitively and ignoring deeper
 * levels we do not know ("[SYS/TEMP/X]" is POP3_RC_SYS_TEMP); a
 * well-formed code we do not know is POP3_RC_OTHER; a malformed one
 * ("[IN-USE" unterminated, "[]", "[A B]") is POP3_RC_NONE. The length
 * cap (POP3_STATUS_MAX) is the line reader's job, not checked here.
 */
int	pop3_parse_status(const char *line, size_t len, struct pop3_status *st);

/*
 * Parse one UIDL listing line "n SP uid" (RFC 1939 section 7): exactly
 * one space, n a decimal in 1..POP3_MSGNUM_MAX (digits only: no sign,
 * no space, no leading zero), uid 1..70 octets of 0x21..0x7E and
 * nothing after it. Returns 0 with *num set and *uid and *uidlen
 * pointing into line; -1 if the line is malformed in any way (outputs
 * untouched).
 */
int	pop3_parse_uidl(const char *line, size_t len, uint32_t *num,
	    const char **uid, size_t *uidlen);

/*
 * Parse one LIST listing line "n SP size". n as for UIDL, size a decimal
 * (same rules, "0" allowed) up to 2^63-1. RFC 1939 section 5 "makes no
 * requirement on what follows the message size", so a space and any
 * text after size are allowed and ignored; anything else directly after
 * the digits ("1 200x", "1 200<TAB>") is rejected. Returns 0 or -1
 * (outputs untouched).
 */
int	pop3_parse_list(const char *line, size_t len, uint32_t *num,
	    uint64_t *size);

/*
 * Parse a "+OK n m" reply to STAT. text/len is the status text of that
 * line (struct pop3_status text/textlen, i.e. "n SP m"), not the whole
 * line. n is a count in 0..POP3_MSGNUM_MAX and m a size up to 2^63-1,
 * both with the rules of pop3_parse_uidl(); as for LIST, a space and
 * any text after m are ignored (RFC 1939 section 5). Returns 0 or -1
 * (outputs untouched).
 */
int	pop3_parse_stat(const char *text, size_t len, uint32_t *count,
	    uint64_t *size);

/*
 * Whether got, the bytes RETR gave after unstuffing (each CRLF one LF),
 * fits listed, the size LIST announced (RFC 1939: octets on the wire,
 * but servers count LF-only files, add or drop a final CRLF, add their
 * own headers). Generous both ways: 256 octets plus an eighth of got
 * below it, twice got plus that above it; a LIST size saturated at
 * UINT32_MAX fits any got of at least half that. 0 flags a download
 * that is probably not the message LIST described (Courier's notice
 * for an 8-bit header: 30 listed, 720 received).
 */
int	pop3_size_plausible(uint64_t listed, uint64_t got);

/* Capabilities learnt from CAPA (RFC 2449). Unknown tags are ignored. */
#define POP3_CAP_UIDL		0x0001
#define POP3_CAP_TOP		0x0002
#define POP3_CAP_USER		0x0004
#define POP3_CAP_STLS		0x0008
#define POP3_CAP_PIPELINING	0x0010
#define POP3_CAP_SASL		0x0020
#define POP3_CAP_RESP_CODES	0x0040
#define POP3_CAP_EXPIRE		0x0080
#define POP3_CAP_LOGIN_DELAY	0x0100
#define POP3_CAP_AUTH_RESP_CODE	0x0200
#define POP3_CAP_UTF8		0x0400	/* RFC 6856 */

/* SASL mechanisms seen in a "SASL" capability line. */
#define POP3_SASL_PLAIN		0x0001
#define POP3_SASL_LOGIN		0x0002
#define POP3_SASL_CRAM_MD5	0x0004
#define POP3_SASL_SCRAM_SHA_1	0x0008
#define POP3_SASL_SCRAM_SHA_256	0x0010
#define POP3_SASL_XOAUTH2	0x0020
#define POP3_SASL_OAUTHBEARER	0x0040

struct pop3_caps {
	unsigned	flags;		/* POP3_CAP_* */
	unsigned	sasl;		/* POP3_SASL_* */
	int		expire_days;	/* -1 NEVER, 0.. days; valid with
					 * POP3_CAP_EXPIRE */
	int		login_delay;	/* seconds; valid with
					 * POP3_CAP_LOGIN_DELAY */
};

/*
 * Fold one CAPA listing line (without CRLF) into *caps; the caller zeroes
 * *caps first. Tags and arguments are case-insensitive. Malformed
 * arguments of known tags (EXPIRE abc) make the tag be ignored, never an
 * error: CAPA is advisory. Tags that take no argument still count when
 * one follows. EXPIRE takes "NEVER" or days, LOGIN-DELAY seconds, each
 * in 0..INT_MAX and optionally followed by " USER" (RFC 2449 sections
 * 6.5, 6.7). Unknown SASL mechanisms are skipped. Always returns 0.
 */
int	pop3_parse_capa_line(const char *line, size_t len,
	    struct pop3_caps *caps);

/*
 * Streaming decoder for a multi-line response body (RFC 1939 section 3).
 *
 * Input is the raw bytes after the status line's CRLF. Output is the
 * message with dot-stuffing removed and every CRLF turned into LF; a
 * bare CR or a bare LF is kept as is; NUL and 8-bit bytes are kept.
 * Only the sequence CRLF "." CRLF ends the response, where the first
 * CRLF belongs to the last line (so the decoded message always ends in
 * "\n" unless it is empty). A line is "at its start" only after CRLF
 * (and at the start of the body). A line starting with "." loses that
 * dot unless the line is exactly ".", which is the terminator.
 *
 * dot_init() before each response. dot_feed() consumes up to inlen bytes
 * from in, writes at most inlen bytes to out (out may not overlap in),
 * and sets *outlen and *consumed. Returns 1 when the terminator was
 * consumed (bytes after it are not consumed and belong to the next
 * response; later calls consume and write nothing and return 1), 0 when
 * more input is needed, in which case *consumed is always inlen.
 *
 * The state carries across calls, so input may be split at any byte.
 * Because a CR can only be judged by the byte after it, the state may
 * owe one byte of output to the next call (the output can lag the input
 * by that one byte); everything is written by the time 1 is returned,
 * and the output of a whole response does not depend on the splitting.
 */
struct dot_state {
	int	st;
};

void	dot_init(struct dot_state *);
int	dot_feed(struct dot_state *, const char *in, size_t inlen,
	    char *out, size_t *outlen, size_t *consumed);

/*
 * Streaming reader for listing lines (UIDL, LIST, CAPA bodies) is done
 * by the caller with a capped line reader; these helpers only parse.
 * pop3_is_terminator() returns 1 for a line (without CRLF) that is
 * exactly ".", else 0. pop3_unstuff_line() strips one leading "." from a
 * listing line: if line/len starts with ".", it advances *line by one
 * and returns len - 1; otherwise it returns len. Check for the
 * terminator first: pop3_unstuff_line() turns "." into an empty line.
 */
int	pop3_is_terminator(const char *line, size_t len);
size_t	pop3_unstuff_line(const char **line, size_t len);

/*
 * Check an APOP timestamp in a greeting (RFC 1939 section 7: a msg-id,
 * "<" ... "@" ... ">", printable ASCII, no spaces). A stamp here is "<",
 * octets of 0x21..0x7E other than "<" and ">" holding exactly one "@"
 * that is neither first nor last, then ">"; other bracketed text is
 * skipped. Returns 0 and points *ts and *tslen at it (brackets
 * included) if the greeting text holds exactly one such stamp; -1 if it
 * holds none or several (outputs untouched).
 */
int	pop3_apop_stamp(const char *text, size_t len, const char **ts,
	    size_t *tslen);

#endif
