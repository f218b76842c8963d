/*
 * sasl.h -- SASL client mechanisms for POP3 AUTH (RFC 4422, 5034).
 *
 * Pure: no I/O, no logging. pop3_auth() (core/pop3.c) carries the
 * messages; this file turns each server challenge into the next client
 * response. Everything crossing this interface is base64 text, exactly
 * as it travels on the wire after "+ " or "AUTH MECH ".
 *
 *   s = sasl_new(mech, user, secret, authzid)
 *   if (sasl_error(s) != NULL)      bad input; nothing was sent
 *   if (sasl_has_initial(s))        rc = sasl_step(s, NULL, 0, &resp)
 *   for each "+ challenge":         rc = sasl_step(s, chal, len, &resp)
 *   sasl_free(s)                    secrets wiped
 *
 * Mechanisms: PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login),
 * CRAM-MD5 (RFC 2195), SCRAM-SHA-1 and SCRAM-SHA-256 without channel
 * binding (RFC 5802, 7677), XOAUTH2 (Google's and Microsoft's
 * documentation) and OAUTHBEARER (RFC 7628).
 *
 * Limits, all documented in docs/sasl.md:
 *  - SCRAM's SASLprep (RFC 4013) is simplified: user, password and
 *    authzid must be valid UTF-8 without control characters (ASCII
 *    0x00-0x1F, 0x7F, and U+0080-U+009F); they are then used as they
 *    are, without NFKC normalisation or the mapping of non-ASCII
 *    spaces. For ASCII this is exactly SASLprep; a non-ASCII password
 *    that SASLprep would change fails to authenticate (never anything
 *    worse).
 *  - SCRAM accepts an iteration count in SASL_SCRAM_ITER_MIN..MAX, a
 *    salt of 1..SASL_SCRAM_SALT_MAX bytes, and refuses any mandatory
 *    extension ("m=").
 *  - Challenges longer than SASL_CHALLENGE_MAX base64 characters are
 *    refused; user, authzid and host at most SASL_NAME_MAX bytes, the
 *    secret (a password or an OAuth token) at most SASL_SECRET_MAX.
 */
#ifndef SASL_H
#define SASL_H

#include <stddef.h>

enum sasl_mech {
	SASL_PLAIN,
	SASL_LOGIN,
	SASL_CRAM_MD5,
	SASL_SCRAM_SHA_1,
	SASL_SCRAM_SHA_256,
	SASL_XOAUTH2,
	SASL_OAUTHBEARER
};
#define SASL_NMECH		7

#define SASL_NAME_MAX		1024
#define SASL_SECRET_MAX		32768
#define SASL_CHALLENGE_MAX	8192	/* base64 characters */
#define SASL_SCRAM_ITER_MIN	4096	/* RFC 5802 section 5.1, 7677 */
#define SASL_SCRAM_ITER_MAX	1000000	/* about a second of SHA-256 */
#define SASL_SCRAM_SALT_MAX	256	/* bytes, decoded */

/*
 * What sasl_step() returns. With CONTINUE, DONE and REJECTED, *resp is
 * the response to send (base64, possibly ""); with ERROR it is NULL.
 *
 *   SASL_CONTINUE  send it; the mechanism needs another challenge, so a
 *                  +OK now would be premature (for SCRAM: the server
 *                  would not have proved it knows the password).
 *   SASL_DONE      send it; the mechanism is complete (for SCRAM, the
 *                  server's signature was verified); expect +OK/-ERR.
 *   SASL_REJECTED  the server reported a failure inside the mechanism
 *                  (XOAUTH2 or OAUTHBEARER JSON status, SCRAM "e=");
 *                  send the response the mechanism prescribes (an empty
 *                  one, or "AQ==" for OAUTHBEARER, RFC 7628 section
 *                  3.2.3) and expect -ERR. sasl_error() has the
 *                  server's reason, escaped.
 *   SASL_ERROR     the challenge is malformed or fails a check; cancel
 *                  the exchange ("*", RFC 5034 section 4) and expect
 *                  -ERR. sasl_error() says why.
 */
enum sasl_rc {
	SASL_ERROR = -1,
	SASL_CONTINUE = 0,
	SASL_DONE = 1,
	SASL_REJECTED = 2
};

struct sasl;

/*
 * A client for one exchange. user and secret are required (secret is
 * the password, or the OAuth 2.0 access token for XOAUTH2 and
 * OAUTHBEARER); authzid may be NULL or "" for none (PLAIN and SCRAM use
 * it; OAUTHBEARER puts user in its a= field, as RFC 7628's examples
 * do). Copies are taken. Never returns NULL (fatal on out-of-memory);
 * bad input (too long, a control character where the mechanism cannot
 * carry one, an unknown mech) leaves the object failed: sasl_error()
 * says why and every sasl_step() returns SASL_ERROR.
 */
struct sasl	*sasl_new(enum sasl_mech, const char *user,
		    const char *secret, const char *authzid);

/*
 * OAUTHBEARER's host= and port= (RFC 7628 section 3.1): the server the
 * client connected to. Optional: without a call they are left out.
 * Ignored by the other mechanisms. A host with a control character or
 * longer than SASL_NAME_MAX, or a port that is not 1..65535 in decimal,
 * fails the object as sasl_new() does.
 */
void		 sasl_set_host(struct sasl *, const char *host,
		    const char *port);

/* 1 if the mechanism is client-first (has an initial response). */
int		 sasl_has_initial(const struct sasl *);

/*
 * One step. chal/len is the base64 text after "+ " (len 0 for an
 * empty challenge), or NULL for the initial response, which must then
 * be the first call and only for sasl_has_initial() mechanisms. A
 * client-first mechanism also accepts, instead, an empty first
 * challenge (RFC 4422 section 5: the server's prompt when the AUTH
 * line carried no initial response) and answers it with the initial
 * response. The challenge is decoded strictly (sasl_b64_decode).
 * Returns an enum sasl_rc; see there for *resp, which the caller frees
 * with sasl_resp_free(). After SASL_ERROR or SASL_REJECTED every later
 * step returns SASL_ERROR.
 */
int		 sasl_step(struct sasl *, const char *chal, size_t len,
		    char **resp);

/* Wipe and free a response from sasl_step(); NULL is fine. */
void		 sasl_resp_free(char *);

/*
 * NULL while all is well; else why the object failed or why the last
 * step returned SASL_ERROR or SASL_REJECTED: one line, server text
 * escaped, without the mechanism's name (the caller adds it). Valid
 * until the next call on s.
 */
const char	*sasl_error(const struct sasl *);

/* Wipe the secrets and free; NULL is fine. */
void		 sasl_free(struct sasl *);

/*
 * Mechanism names as POP3 CAPA and AUTH spell them ("SCRAM-SHA-256").
 * sasl_mech_find() is case-insensitive and returns the mechanism or -1.
 * sasl_mech_flag() is the mechanism's POP3_SASL_* bit (pop3parse.h).
 */
const char	*sasl_mech_name(enum sasl_mech);
int		 sasl_mech_find(const char *name);
unsigned	 sasl_mech_flag(enum sasl_mech);
/* 1 for XOAUTH2 and OAUTHBEARER, whose secret is a bearer token. */
int		 sasl_mech_is_oauth(enum sasl_mech);

/*
 * For "auth = auto": the strongest mechanism in caps_sasl (POP3_SASL_*
 * bits from CAPA), or -1 if none fits (pop3_auth() then uses USER/PASS).
 * Without an OAuth token the order is SCRAM-SHA-256, SCRAM-SHA-1,
 * PLAIN, LOGIN; CRAM-MD5 and the OAuth mechanisms are never chosen.
 * With have_oauth_token the secret is a bearer token, which no password
 * mechanism can use: OAUTHBEARER (the standard), then XOAUTH2, and
 * nothing else.
 */
int		 sasl_pick(unsigned caps_sasl, int have_oauth_token);

/*
 * Strict base64 (RFC 4648 section 4, the standard alphabet, padding
 * required). sasl_b64_enclen() is the encoded size of n bytes plus the
 * NUL. sasl_b64_encode() writes that many bytes to out.
 * sasl_b64_decode() accepts only a length that is a multiple of 4,
 * characters of the alphabet, "=" only as the last one or two, and
 * zero bits in the padding (RFC 4648 section 3.5); no white space. It
 * writes at most cap bytes; out may be NULL (with cap 0) to validate
 * and count only. Returns 0 with *outlen set, or -1 for bad input or
 * output longer than cap (out's contents then unspecified; outlen
 * untouched). SASL_B64_DECLEN(n) bounds the output of n characters.
 */
#define SASL_B64_DECLEN(n)	((n) / 4 * 3)
size_t		 sasl_b64_enclen(size_t n);
void		 sasl_b64_encode(const void *in, size_t n, char *out);
int		 sasl_b64_decode(const char *in, size_t n, void *out,
		    size_t cap, size_t *outlen);

/*
 * Tests only: use nonce (printable ASCII without ",", 1..64 octets) as
 * SCRAM's client nonce instead of 24 random bytes, so the RFC 5802 and
 * 7677 examples can be replayed. Call before the first step. Returns 0,
 * or -1 for an unacceptable nonce.
 */
int		 sasl_set_nonce(struct sasl *, const char *nonce);

#endif
