/*
 * fuzz_sasl.c -- the SASL client (core/sasl.c): strict base64 and what
 * each mechanism does with a server's challenges.
 *
 * The first byte, mod 8, picks a mode; the rest is its input. Server
 * messages are given decoded (this harness encodes them) except in
 * mode 6, so the fuzzer works on what the mechanisms parse.
 *
 *   0  sasl_b64_decode() of the input: accepted text must be the
 *      canonical encoding of what it decodes to (strict decoding means
 *      one spelling), the count must be exact (one byte less room
 *      fails); and encode-then-decode of the raw input gives it back.
 *   1  SCRAM-SHA-256, 2 SCRAM-SHA-1: a client with a fixed nonce (the
 *      RFC 7677 and RFC 5802 examples') steps its initial response,
 *      then the input up to the first NUL is the server-first message
 *      and, if that is accepted, the rest is the server-final one. The
 *      client-final must echo the server's nonce.
 *   3  CRAM-MD5: the input is the challenge; the response is
 *      "user SP 32 lower-case hex digits".
 *   4  XOAUTH2 and OAUTHBEARER: the input is the server's error status
 *      after the initial response.
 *   5  credentials: the input is "user NUL secret NUL authzid" and a
 *      mechanism byte; whatever sasl_new() accepts must step cleanly,
 *      PLAIN's response must decode to exactly authzid NUL user NUL
 *      secret, and SCRAM's client-first must carry user and authzid as
 *      RFC 5802 saslnames ("," as "=2C", "=" as "=3D") that decode back.
 *   6  raw challenges: the input, NUL-separated, goes to sasl_step() as
 *      base64 text as it is, for CRAM-MD5 and SCRAM-SHA-256.
 *   7  LOGIN: the input, NUL-separated, is the server's prompts.
 *
 * Everywhere: the return codes and *resp follow sasl.h (a response with
 * CONTINUE, DONE, REJECTED, none with ERROR), responses are strict
 * base64, sasl_error() is set after ERROR and REJECTED, every step after
 * those returns ERROR, and nothing leaks.
 *
 * SCRAM's iteration count costs PBKDF2 rounds: server-first messages
 * asking for more than 8192 (but not more than the 1000000 the client
 * accepts) are skipped, so the fuzzer spends its time on parsing.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sasl.h"

#define S256_NONCE	"rOprNGfwEbeRWgbNEkqO"
#define S1_NONCE	"fyko+d2lbbFgONRv9qkxdawL"
#define ITER_FUZZ_MAX	8192

/* Base64 of n bytes, NUL-terminated; free() it. */
static char *
enc(const void *p, size_t n)
{
	char	*s;

	if ((s = malloc(sasl_b64_enclen(n))) == NULL)
		abort();
	sasl_b64_encode(p, n, s);
	return s;
}

/*
 * Decode a response (which must be strict base64) into a new buffer,
 * NUL-terminated; *n is its length.
 */
static char *
dec(const char *resp, size_t *n)
{
	size_t	len = strlen(resp);
	char	*out;

	if ((out = malloc(SASL_B64_DECLEN(len) + 1)) == NULL)
		abort();
	FUZZ_CHECK(sasl_b64_decode(resp, len, out, SASL_B64_DECLEN(len),
	    n) == 0);
	out[*n] = '\0';
	return out;
}

/* One step, with the invariants of sasl.h. */
static int
step(struct sasl *s, const char *chal, size_t len, char **resp)
{
	char	*r = (char *)1;
	size_t	 n;
	int	 rc;

	rc = sasl_step(s, chal, len, &r);
	FUZZ_CHECK(rc == SASL_ERROR || rc == SASL_CONTINUE ||
	    rc == SASL_DONE || rc == SASL_REJECTED);
	if (rc == SASL_ERROR) {
		FUZZ_CHECK(r == NULL && sasl_error(s) != NULL);
		*resp = NULL;
		return rc;
	}
	FUZZ_CHECK(r != NULL && r != (char *)1);
	FUZZ_CHECK(sasl_b64_decode(r, strlen(r), NULL, 0, &n) == 0);
	if (rc == SASL_REJECTED)
		FUZZ_CHECK(sasl_error(s) != NULL);
	*resp = r;
	return rc;
}

/* Step with raw bytes, encoded here. */
static int
step_raw(struct sasl *s, const void *p, size_t n, char **resp)
{
	char	*b = enc(p, n);
	int	 rc;

	rc = step(s, b, strlen(b), resp);
	free(b);
	return rc;
}

/* Do n bytes, encoded, fit in a challenge? */
static int
fits(size_t n)
{
	return sasl_b64_enclen(n) - 1 <= SASL_CHALLENGE_MAX;
}

/* After ERROR, REJECTED or DONE, nothing more is accepted. */
static void
check_finished(struct sasl *s)
{
	char	*r;

	FUZZ_CHECK(step(s, "", 0, &r) == SASL_ERROR);
	FUZZ_CHECK(step(s, "eA==", 4, &r) == SASL_ERROR);
}

static void
mode_b64(const uint8_t *p, size_t n)
{
	char	*out, *again;
	size_t	 len = 99, len2;

	if (sasl_b64_decode((const char *)p, n, NULL, 0, &len) == 0) {
		FUZZ_CHECK(len == n / 4 * 3 - (n > 0 && p[n - 1] == '=') -
		    (n > 1 && p[n - 2] == '='));
		if ((out = malloc(len + 1)) == NULL)
			abort();
		FUZZ_CHECK(sasl_b64_decode((const char *)p, n, out, len,
		    &len2) == 0 && len2 == len);
		if (len > 0)
			FUZZ_CHECK(sasl_b64_decode((const char *)p, n, out,
			    len - 1, &len2) == -1);
		again = enc(out, len);
		FUZZ_CHECK(strlen(again) == n && memcmp(again, p, n) == 0);
		free(again);
		free(out);
	} else
		FUZZ_CHECK(len == 99);

	/* Any bytes: encode, decode, same bytes. */
	again = enc(p, n);
	FUZZ_CHECK(strlen(again) + 1 == sasl_b64_enclen(n));
	out = dec(again, &len);
	FUZZ_CHECK(len == n && memcmp(out, p, n) == 0);
	free(out);
	free(again);
}

/* The i= value of a server-first message, roughly; 0 if none. */
static unsigned long
iter_of(const uint8_t *p, size_t n)
{
	unsigned long	v = 0;
	size_t		i;

	for (i = 0; i + 3 <= n; i++)
		if (memcmp(p + i, ",i=", 3) == 0)
			break;
	for (i += 3; i < n && p[i] >= '0' && p[i] <= '9'; i++)
		if (v <= SASL_SCRAM_ITER_MAX)
			v = v * 10 + (unsigned long)(p[i] - '0');
	return v;
}

/* Would base64 text c, as a server-first message, cost much PBKDF2? */
static int
costly(const char *c)
{
	size_t		 n = strlen(c), dl;
	uint8_t		*d;
	unsigned long	 it;
	int		 r = 0;

	if ((d = malloc(SASL_B64_DECLEN(n) + 1)) == NULL)
		abort();
	if (sasl_b64_decode(c, n, d, SASL_B64_DECLEN(n), &dl) == 0) {
		it = iter_of(d, dl);
		r = it > ITER_FUZZ_MAX && it <= SASL_SCRAM_ITER_MAX;
	}
	free(d);
	return r;
}

static void
mode_scram(enum sasl_mech m, const uint8_t *p, size_t n)
{
	const char	*nonce;
	const uint8_t	*nul;
	struct sasl	*s;
	char		*r, *d;
	size_t		 first, dl, rl;
	unsigned long	 it;
	int		 rc;

	nonce = m == SASL_SCRAM_SHA_1 ? S1_NONCE : S256_NONCE;
	nul = memchr(p, '\0', n);
	first = nul != NULL ? (size_t)(nul - p) : n;
	it = iter_of(p, first);
	if (it > ITER_FUZZ_MAX && it <= SASL_SCRAM_ITER_MAX)
		return;

	s = sasl_new(m, "user", "pencil", NULL);
	FUZZ_CHECK(sasl_set_nonce(s, nonce) == 0);
	FUZZ_CHECK(step(s, NULL, 0, &r) == SASL_CONTINUE);
	d = dec(r, &dl);
	FUZZ_CHECK(strncmp(d, "n,,n=user,r=", 12) == 0 &&
	    strcmp(d + 12, nonce) == 0);
	free(d);
	sasl_resp_free(r);

	rc = step_raw(s, p, first, &r);
	FUZZ_CHECK(rc == SASL_CONTINUE || rc == SASL_ERROR);
	if (rc == SASL_ERROR) {
		check_finished(s);
		sasl_free(s);
		return;
	}
	/* client-final: "c=biws,r=" the server's nonce ",p=" proof. */
	d = dec(r, &dl);
	sasl_resp_free(r);
	FUZZ_CHECK(strncmp(d, "c=biws,r=", 9) == 0);
	for (rl = 2; rl < first && p[rl] != ','; rl++)
		;
	FUZZ_CHECK(dl > 9 + rl - 2 && memcmp(d + 9, p + 2, rl - 2) == 0 &&
	    strncmp(d + 9 + rl - 2, ",p=", 3) == 0);
	free(d);

	if (nul != NULL) {
		rc = step_raw(s, nul + 1, n - first - 1, &r);
		FUZZ_CHECK(rc != SASL_CONTINUE);
	} else
		rc = step(s, "", 0, &r);
	if (rc == SASL_DONE)
		FUZZ_CHECK(r[0] == '\0');
	sasl_resp_free(r);
	check_finished(s);
	sasl_free(s);
}

static void
mode_cram(const uint8_t *p, size_t n)
{
	struct sasl	*s = sasl_new(SASL_CRAM_MD5, "user", "secret", NULL);
	char		*r, *d;
	size_t		 dl, i;
	int		 rc;

	rc = step_raw(s, p, n, &r);
	if (n == 0 || !fits(n))
		FUZZ_CHECK(rc == SASL_ERROR);
	else {
		FUZZ_CHECK(rc == SASL_DONE);
		d = dec(r, &dl);
		FUZZ_CHECK(dl == 5 + 32 && memcmp(d, "user ", 5) == 0);
		for (i = 5; i < dl; i++)
			FUZZ_CHECK((d[i] >= '0' && d[i] <= '9') ||
			    (d[i] >= 'a' && d[i] <= 'f'));
		free(d);
		sasl_resp_free(r);
	}
	check_finished(s);
	sasl_free(s);
}

static void
mode_oauth(enum sasl_mech m, const uint8_t *p, size_t n)
{
	struct sasl	*s = sasl_new(m, "user@example.com", "ya29.token",
			    NULL);
	char		*r;
	int		 rc;

	if (m == SASL_OAUTHBEARER)
		sasl_set_host(s, "pop.example.com", "995");
	FUZZ_CHECK(sasl_error(s) == NULL);
	FUZZ_CHECK(step(s, NULL, 0, &r) == SASL_DONE);
	sasl_resp_free(r);
	rc = step_raw(s, p, n, &r);
	if (fits(n)) {
		FUZZ_CHECK(rc == SASL_REJECTED);
		FUZZ_CHECK(strcmp(r, m == SASL_OAUTHBEARER ? "AQ==" : "") ==
		    0);
		sasl_resp_free(r);
	} else
		FUZZ_CHECK(rc == SASL_ERROR);
	check_finished(s);
	sasl_free(s);
}

/* The next NUL-terminated part of p..end as a new string. */
static char *
part(const uint8_t **p, const uint8_t *end)
{
	const uint8_t	*nul = memchr(*p, '\0', (size_t)(end - *p));
	size_t		 n = (size_t)((nul != NULL ? nul : end) - *p);
	char		*s;

	if ((s = malloc(n + 1)) == NULL)
		abort();
	memcpy(s, *p, n);
	s[n] = '\0';
	*p = nul != NULL ? nul + 1 : end;
	return s;
}

/*
 * Undo RFC 5802 saslname escaping of p up to the next "," into a new
 * string, checking it was escaped right; *p moves past it.
 */
static char *
unsaslname(const char **p)
{
	const char	*s = *p;
	char		*out, *o;

	if ((out = malloc(strlen(s) + 1)) == NULL)
		abort();
	for (o = out; *s != '\0' && *s != ','; s++) {
		if (*s != '=') {
			*o++ = *s;
			continue;
		}
		FUZZ_CHECK(strncmp(s, "=2C", 3) == 0 ||
		    strncmp(s, "=3D", 3) == 0);
		*o++ = s[1] == '2' ? ',' : '=';
		s += 2;
	}
	*o = '\0';
	*p = s;
	return out;
}

/* client-first: "n," ["a=" authzid] ",n=" user ",r=" nonce. */
static void
check_scram_first(const char *resp, const char *user, const char *authzid)
{
	const char	*p;
	char		*d, *v;
	size_t		 dl;

	d = dec(resp, &dl);
	FUZZ_CHECK(strlen(d) == dl && strncmp(d, "n,", 2) == 0);
	p = d + 2;
	if (*authzid != '\0') {
		FUZZ_CHECK(strncmp(p, "a=", 2) == 0);
		p += 2;
		v = unsaslname(&p);
		FUZZ_CHECK(strcmp(v, authzid) == 0);
		free(v);
	}
	FUZZ_CHECK(strncmp(p, ",n=", 3) == 0);
	p += 3;
	v = unsaslname(&p);
	FUZZ_CHECK(strcmp(v, user) == 0);
	free(v);
	FUZZ_CHECK(strncmp(p, ",r=", 3) == 0 && strlen(p + 3) > 0 &&
	    strchr(p + 3, ',') == NULL);
	free(d);
}

static void
mode_creds(const uint8_t *p, size_t n)
{
	const uint8_t	*end = p + n;
	enum sasl_mech	 m;
	struct sasl	*s;
	char		*user, *secret, *authzid, *r, *d;
	size_t		 dl, k;
	int		 rc;

	if (n == 0)
		return;
	m = (enum sasl_mech)(p[0] % SASL_NMECH);
	p++;
	user = part(&p, end);
	secret = part(&p, end);
	authzid = part(&p, end);
	s = sasl_new(m, user, secret, authzid);
	if (m == SASL_OAUTHBEARER)
		sasl_set_host(s, (const char *)p < (const char *)end ?
		    "pop.example.com" : "", "995");
	if (sasl_error(s) != NULL) {
		check_finished(s);
		goto out;
	}
	if (!sasl_has_initial(s)) {
		/* LOGIN and CRAM-MD5: one prompt each. */
		rc = step_raw(s, "Username:", 9, &r);
		FUZZ_CHECK(rc == SASL_CONTINUE || rc == SASL_DONE);
		sasl_resp_free(r);
		goto out;
	}
	rc = step(s, NULL, 0, &r);
	if (m == SASL_PLAIN) {
		FUZZ_CHECK(rc == SASL_DONE);
		d = dec(r, &dl);
		k = *authzid != '\0' ? strlen(authzid) : 0;
		FUZZ_CHECK(dl == k + 1 + strlen(user) + 1 + strlen(secret));
		FUZZ_CHECK(memcmp(d, authzid, k) == 0 && d[k] == '\0' &&
		    strcmp(d + k + 1, user) == 0 &&
		    memcmp(d + k + 1 + strlen(user) + 1, secret,
		    strlen(secret)) == 0);
		free(d);
	} else if (m == SASL_SCRAM_SHA_1 || m == SASL_SCRAM_SHA_256) {
		FUZZ_CHECK(rc == SASL_CONTINUE);
		check_scram_first(r, user, authzid);
	} else
		FUZZ_CHECK(rc == SASL_DONE);
	sasl_resp_free(r);
out:
	sasl_free(s);
	free(user);
	free(secret);
	free(authzid);
}

static void
mode_raw(const uint8_t *p, size_t n)
{
	const uint8_t	*end = p + n;
	struct sasl	*s;
	char		*c, *r;
	int		 rc;

	s = sasl_new(SASL_CRAM_MD5, "user", "secret", NULL);
	c = part(&p, end);
	rc = step(s, c, strlen(c), &r);
	sasl_resp_free(r);
	free(c);
	if (rc != SASL_ERROR)
		check_finished(s);
	sasl_free(s);

	s = sasl_new(SASL_SCRAM_SHA_256, "user", "pencil", NULL);
	FUZZ_CHECK(sasl_set_nonce(s, S256_NONCE) == 0);
	FUZZ_CHECK(step(s, NULL, 0, &r) == SASL_CONTINUE);
	sasl_resp_free(r);
	while (p < end) {
		c = part(&p, end);
		/* Skip the expensive iteration counts (see the top). */
		if (costly(c)) {
			free(c);
			break;
		}
		rc = step(s, c, strlen(c), &r);
		sasl_resp_free(r);
		free(c);
		if (rc == SASL_ERROR)
			break;
	}
	sasl_free(s);
}

static void
mode_login(const uint8_t *p, size_t n)
{
	const uint8_t	*end = p + n, *q;
	struct sasl	*s = sasl_new(SASL_LOGIN, "user", "secret", NULL);
	char		*r;
	size_t		 len;
	int		 rc, k = 0;

	do {
		q = memchr(p, '\0', (size_t)(end - p));
		len = (size_t)((q != NULL ? q : end) - p);
		rc = step_raw(s, p, len, &r);
		FUZZ_CHECK(k < 2 || rc == SASL_ERROR);
		if (!fits(len))
			FUZZ_CHECK(rc == SASL_ERROR);
		else if (k == 0)
			FUZZ_CHECK(rc == SASL_CONTINUE &&
			    strcmp(r, "dXNlcg==") == 0);
		if (k == 1)
			FUZZ_CHECK(rc == SASL_DONE &&
			    strcmp(r, "c2VjcmV0") == 0);
		sasl_resp_free(r);
		k++;
		p = q != NULL ? q + 1 : end;
	} while (p < end && rc != SASL_ERROR);
	sasl_free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 8) {
	case 0:
		mode_b64(data + 1, size - 1);
		break;
	case 1:
		mode_scram(SASL_SCRAM_SHA_256, data + 1, size - 1);
		break;
	case 2:
		mode_scram(SASL_SCRAM_SHA_1, data + 1, size - 1);
		break;
	case 3:
		mode_cram(data + 1, size - 1);
		break;
	case 4:
		mode_oauth(size > 1 && (data[1] & 1) ? SASL_OAUTHBEARER :
		    SASL_XOAUTH2, data + 1, size - 1);
		break;
	case 5:
		mode_creds(data + 1, size - 1);
		break;
	case 6:
		mode_raw(data + 1, size - 1);
		break;
	default:
		mode_login(data + 1, size - 1);
		break;
	}
	return 0;
}
