/*
 * test_sasl.c -- unit tests for core/sasl.c, the SASL client mechanisms.
 *
 * Base64 first: the RFC 4648 section 10 vectors both ways, every byte
 * value and every length up to 64 round-tripped, then a table of
 * inputs the strict decoder must refuse (with the output length left
 * untouched) and the output bound at and around the exact size.
 *
 * Then each mechanism against published examples, byte for byte: PLAIN
 * (RFC 4616), CRAM-MD5 (RFC 2195), SCRAM-SHA-1 (RFC 5802 section 5),
 * SCRAM-SHA-256 (RFC 7677 section 3), XOAUTH2 (Google's example) and
 * OAUTHBEARER (RFC 7628 section 4.1). Challenges are written raw and
 * encoded here; responses are decoded here, so a table entry reads as
 * the protocol does. SCRAM is also fed a table of malformed server
 * messages, each of which must end the exchange with SASL_ERROR and no
 * response. Last, sasl_pick's order and the input checks.
 */

#include <stdlib.h>
#include <string.h>

#include "sasl.h"
#include "pop3parse.h"
#include "t.h"

#define B(s)	s, sizeof(s) - 1
/* out/n equals a string literal, embedded NULs included. */
#define T_LITEQ(out, n, lit) T_MEMEQ(out, n, lit, sizeof(lit) - 1)

/* Base64 of n raw bytes, malloc'd. */
static char *
enc(const char *raw, size_t n)
{
	char	*o = malloc(sasl_b64_enclen(n));

	sasl_b64_encode(raw, n, o);
	return o;
}

/*
 * One step with a raw challenge (NULL: the initial step). The response
 * is decoded into *out (malloc'd, NUL-terminated, *outlen bytes), or
 * *out is NULL when there was none.
 */
static int
step(struct sasl *s, const char *raw, size_t n, char **out, size_t *outlen)
{
	char	*c = raw != NULL ? enc(raw, n) : NULL;
	char	*r = (char *)1;
	int	 rc;
	size_t	 rl;

	rc = sasl_step(s, c, c != NULL ? strlen(c) : 0, &r);
	free(c);
	*out = NULL;
	*outlen = 0;
	if (r == NULL)
		return rc;
	rl = strlen(r);
	*out = malloc(SASL_B64_DECLEN(rl) + 1);
	if (sasl_b64_decode(r, rl, *out, SASL_B64_DECLEN(rl), outlen) == -1) {
		fprintf(stderr, "response is not base64: %s\n", r);
		*outlen = (size_t)-1;
	} else
		(*out)[*outlen] = '\0';
	sasl_resp_free(r);
	return rc;
}

/* ---- base64 -------------------------------------------------------- */

static const struct {
	const char	*raw, *b64;
} b64vec[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

static void
test_b64_rfc4648(void)
{
	char	out[16], dec[16];
	size_t	i, n;

	for (i = 0; i < NELEM(b64vec); i++) {
		T_CHECK(sasl_b64_enclen(strlen(b64vec[i].raw)) ==
		    strlen(b64vec[i].b64) + 1);
		sasl_b64_encode(b64vec[i].raw, strlen(b64vec[i].raw), out);
		T_CHECKF(strcmp(out, b64vec[i].b64) == 0, "%s", out);
		T_CHECK(sasl_b64_decode(b64vec[i].b64, strlen(b64vec[i].b64),
		    dec, sizeof dec, &n) == 0);
		T_MEMEQ(dec, n, b64vec[i].raw, strlen(b64vec[i].raw));
		/* Counting only. */
		n = 99;
		T_CHECK(sasl_b64_decode(b64vec[i].b64, strlen(b64vec[i].b64),
		    NULL, 0, &n) == 0 && n == strlen(b64vec[i].raw));
	}
}

static void
test_b64_roundtrip(void)
{
	unsigned char	in[256], dec[256];
	char		out[400];
	size_t		i, len, n;

	for (i = 0; i < sizeof in; i++)
		in[i] = (unsigned char)(255 - i);
	sasl_b64_encode(in, sizeof in, out);
	T_CHECK(strlen(out) == sasl_b64_enclen(sizeof in) - 1);
	T_CHECK(sasl_b64_decode(out, strlen(out), dec, sizeof dec, &n) == 0);
	T_MEMEQ(dec, n, in, sizeof in);
	for (len = 0; len <= 64; len++) {
		sasl_b64_encode(in + 7, len, out);
		T_CHECK(sasl_b64_decode(out, strlen(out), dec, len, &n) == 0);
		T_MEMEQ(dec, n, in + 7, len);
		/* Exactly the output size is enough; one less is not. */
		if (len > 0)
			T_CHECK(sasl_b64_decode(out, strlen(out), dec,
			    len - 1, &n) == -1);
	}
}

static const char *b64bad[] = {
	"Z", "Zg", "Zg=", "Zm9vY",	/* length not a multiple of 4 */
	"====", "Z===", "Zg=a", "Zm8=Zm8=", "=Zm9",	/* misplaced "=" */
	"Zh==", "Zm9=",			/* non-zero padding bits */
	"Zm 9", "Zm9v\r\n", " Zm9", "Zm9\t",	/* white space */
	"Zm9-", "Zm9_", "Zm9.", "Zm9\x80", "Zm9\xff",
};

static void
test_b64_bad(void)
{
	char	dec[16];
	size_t	i, n, len;

	for (i = 0; i < NELEM(b64bad); i++) {
		len = strlen(b64bad[i]);
		n = 12345;
		T_CHECKF(sasl_b64_decode(b64bad[i], len, dec, sizeof dec, &n)
		    == -1 && n == 12345, "entry %zu", i);
		T_CHECKF(sasl_b64_decode(b64bad[i], len, NULL, 0, &n) == -1 &&
		    n == 12345, "entry %zu (count only)", i);
	}
	/* Embedded NULs, spelled out. */
	T_CHECK(sasl_b64_decode("Zg==\0\0\0\0", 8, dec, sizeof dec, &n) == -1);
	T_CHECK(sasl_b64_decode("Zm\0v", 4, dec, sizeof dec, &n) == -1);
	/* Bounded output. */
	T_CHECK(sasl_b64_decode("Zm9vYmFy", 8, dec, 5, &n) == -1);
	T_CHECK(sasl_b64_decode("Zm9vYmFy", 8, dec, 6, &n) == 0 && n == 6);
	T_CHECK(sasl_b64_decode("Zm9vYmE=", 8, dec, 5, &n) == 0 && n == 5);
	T_CHECK(sasl_b64_decode("Zm9vYmE=", 8, dec, 4, &n) == -1);
}

/* ---- PLAIN, LOGIN, CRAM-MD5 ---------------------------------------- */

static void
test_plain(void)
{
	struct sasl	*s;
	char		*out, *r;
	size_t		 n;

	s = sasl_new(SASL_PLAIN, "tim", "tanstaaftanstaaf", NULL);
	T_CHECK(sasl_error(s) == NULL);
	T_CHECK(sasl_has_initial(s) == 1);
	/* RFC 4616 section 4, with the RFC 2195 credentials. */
	T_CHECK(sasl_step(s, NULL, 0, &r) == SASL_DONE);
	T_CHECK(r != NULL && strcmp(r, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm") == 0);
	sasl_resp_free(r);
	/* Nothing may follow. */
	T_CHECK(step(s, B(""), &out, &n) == SASL_ERROR && out == NULL);
	T_CHECK(sasl_error(s) != NULL);
	sasl_free(s);

	s = sasl_new(SASL_PLAIN, "tim", "tanstaaf", "admin");
	T_CHECK(step(s, NULL, 0, &out, &n) == SASL_DONE);
	T_LITEQ(out, n, ("admin\0tim\0tanstaaf"));
	free(out);
	sasl_free(s);

	/* An empty authzid is none; an empty password is carried. */
	s = sasl_new(SASL_PLAIN, "u", "", "");
	T_CHECK(step(s, NULL, 0, &out, &n) == SASL_DONE);
	T_LITEQ(out, n, ("\0u\0"));
	free(out);
	sasl_free(s);

	/* The prompt form: an empty first challenge gets the same IR. */
	s = sasl_new(SASL_PLAIN, "tim", "tanstaaf", NULL);
	T_CHECK(step(s, B(""), &out, &n) == SASL_DONE);
	T_LITEQ(out, n, ("\0tim\0tanstaaf"));
	free(out);
	T_CHECK(step(s, NULL, 0, &out, &n) == SASL_ERROR);
	sasl_free(s);
	/* ... but not a non-empty one. */
	s = sasl_new(SASL_PLAIN, "tim", "tanstaaf", NULL);
	T_CHECK(step(s, B("hello"), &out, &n) == SASL_ERROR && out == NULL);
	sasl_free(s);
}

static void
test_login(void)
{
	struct sasl	*s;
	char		*out, *r;
	size_t		 n;

	s = sasl_new(SASL_LOGIN, "tim", "tanstaaf", NULL);
	T_CHECK(sasl_has_initial(s) == 0);
	T_CHECK(step(s, B("Username:"), &out, &n) == SASL_CONTINUE);
	T_LITEQ(out, n, ("tim"));
	free(out);
	T_CHECK(step(s, B("Password:"), &out, &n) == SASL_DONE);
	T_LITEQ(out, n, ("tanstaaf"));
	free(out);
	T_CHECK(step(s, B("More?"), &out, &n) == SASL_ERROR && out == NULL);
	sasl_free(s);

	/* The prompts are not checked: any wording, even empty. */
	s = sasl_new(SASL_LOGIN, "tim", "tanstaaf", NULL);
	T_CHECK(sasl_step(s, "", 0, &r) == SASL_CONTINUE);
	T_CHECK(r != NULL && strcmp(r, "dGlt") == 0);
	sasl_resp_free(r);
	T_CHECK(step(s, B("user name"), &out, &n) == SASL_DONE);
	T_LITEQ(out, n, ("tanstaaf"));
	free(out);
	sasl_free(s);

	/* No initial response for LOGIN. */
	s = sasl_new(SASL_LOGIN, "tim", "tanstaaf", NULL);
	T_CHECK(step(s, NULL, 0, &out, &n) == SASL_ERROR && out == NULL);
	sasl_free(s);
}

static void
test_cram_md5(void)
{
	struct sasl	*s;
	char		*r;
	const char	*chal =
	    "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+";

	/* RFC 2195 section 2. */
	s = sasl_new(SASL_CRAM_MD5, "tim", "tanstaaftanstaaf", NULL);
	T_CHECK(sasl_has_initial(s) == 0);
	T_CHECK(sasl_step(s, chal, strlen(chal), &r) == SASL_DONE);
	T_CHECKF(r != NULL && strcmp(r,
	    "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw") == 0, "%s",
	    r ? r : "(null)");
	sasl_resp_free(r);
	sasl_free(s);

	s = sasl_new(SASL_CRAM_MD5, "tim", "x", NULL);
	T_CHECK(sasl_step(s, "", 0, &r) == SASL_ERROR && r == NULL);
	sasl_free(s);

	s = sasl_new(SASL_CRAM_MD5, "tim", "x", NULL);
	T_CHECK(sasl_step(s, "PDE4!", 5, &r) == SASL_ERROR && r == NULL);
	T_CHECK(sasl_error(s) != NULL && strstr(sasl_error(s), "base64"));
	/* Dead after an error. */
	T_CHECK(sasl_step(s, chal, strlen(chal), &r) == SASL_ERROR);
	sasl_free(s);
}

/* ---- SCRAM --------------------------------------------------------- */

#define S1_NONCE	"fyko+d2lbbFgONRv9qkxdawL"
#define S1_FIRST	"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j," \
			"s=QSXCR+Q6sek8bf92,i=4096"
#define S1_FINAL	"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j," \
			"p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
#define S1_V		"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="

#define S256_NONCE	"rOprNGfwEbeRWgbNEkqO"
#define S256_FIRST	"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0" \
			",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define S256_FINAL	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFI" \
			"lj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7A" \
			"ndVQ="
#define S256_V		"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

/* A SCRAM client at the server-first step of the RFC example. */
static struct sasl *
scram_at_first(enum sasl_mech m, const char *nonce)
{
	struct sasl	*s = sasl_new(m, "user", "pencil", NULL);
	char		*out;
	size_t		 n;

	T_CHECK(sasl_set_nonce(s, nonce) == 0);
	T_CHECK(step(s, NULL, 0, &out, &n) == SASL_CONTINUE);
	free(out);
	return s;
}

static void
scram_example(enum sasl_mech m, const char *nonce, const char *first,
    const char *final, const char *v)
{
	struct sasl	*s;
	char		*out, cf[64];
	size_t		 n;

	s = sasl_new(m, "user", "pencil", NULL);
	T_CHECK(sasl_has_initial(s) == 1);
	T_CHECK(sasl_set_nonce(s, nonce) == 0);
	T_CHECK(step(s, NULL, 0, &out, &n) == SASL_CONTINUE);
	snprintf(cf, sizeof cf, "n,,n=user,r=%s", nonce);
	T_MEMEQ(out, n, cf, strlen(cf));
	free(out);
	T_CHECK(sasl_set_nonce(s, "late") == -1);
	T_CHECK(step(s, first, strlen(first), &out, &n) == SASL_CONTINUE);
	T_CHECKF(out != NULL && n == strlen(final) && memcmp(out, final, n)
	    == 0, "%s", out ? out : "(null)");
	free(out);
	T_CHECK(step(s, v, strlen(v), &out, &n) == SASL_DONE);
	T_CHECK(out != NULL && n == 0);
	free(out);
	T_CHECK(sasl_error(s) == NULL);
	T_CHECK(step(s, v, strlen(v), &out, &n) == SASL_ERROR && out == NULL);
	sasl_free(s);

	/* A wrong server signature: one bit off, then another length. */
	s = scram_at_first(m, nonce);
	T_CHECK(step(s, first, strlen(first), &out, &n) == SASL_CONTINUE);
	free(out);
	{
		char	bad[128];

		snprintf(bad, sizeof bad, "%s", v);
		bad[2] = bad[2] == 'A' ? 'B' : 'A';
		T_CHECK(step(s, bad, strlen(bad), &out, &n) == SASL_ERROR);
		T_CHECK(out == NULL);
		T_CHECK(sasl_error(s) != NULL && strstr(sasl_error(s),
		    "server signature does not match") != NULL);
	}
	sasl_free(s);

	s = scram_at_first(m, nonce);
	T_CHECK(step(s, first, strlen(first), &out, &n) == SASL_CONTINUE);
	free(out);
	T_CHECK(step(s, B("v=AAAA"), &out, &n) == SASL_ERROR && !out);
	sasl_free(s);

	/* The server's error is reported; an empty answer is due. */
	s = scram_at_first(m, nonce);
	T_CHECK(step(s, first, strlen(first), &out, &n) == SASL_CONTINUE);
	free(out);
	T_CHECK(step(s, B("e=invalid-proof"), &out, &n) == SASL_REJECTED);
	T_CHECK(out != NULL && n == 0);
	free(out);
	T_CHECK(sasl_error(s) != NULL && strstr(sasl_error(s),
	    "invalid-proof") != NULL);
	T_CHECK(step(s, v, strlen(v), &out, &n) == SASL_ERROR);
	sasl_free(s);

	/* Server-final garbage. */
	s = scram_at_first(m, nonce);
	T_CHECK(step(s, first, strlen(first), &out, &n) == SASL_CONTINUE);
	free(out);
	T_CHECK(step(s, B("x=1"), &out, &n) == SASL_ERROR && !out);
	sasl_free(s);
}

static void
test_scram_sha1_rfc5802(void)
{
	scram_example(SASL_SCRAM_SHA_1, S1_NONCE, S1_FIRST, S1_FINAL, S1_V);
}

static void
test_scram_sha256_rfc7677(void)
{
	scram_example(SASL_SCRAM_SHA_256, S256_NONCE, S256_FIRST, S256_FINAL,
	    S256_V);
}

/* Each of these must end the exchange at the server-first step. */
static const struct {
	const char	*msg;
	size_t		 len;
	const char	*why;	/* a word of the message */
} scram_bad[] = {
	{ B(""), "nonce" },
	{ B("s=QSXCR+Q6sek8bf92,i=4096"), "nonce" },
	{ B("r=,s=QSXCR+Q6sek8bf92,i=4096"), "nonce" },
	{ B("r=XXXX+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=4096"),
	  "nonce" },
	{ B("r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096"),
	  "nonce" },			/* the server added nothing */
	{ B("r=fyko+d2lbbFgONRv9qkxdaw,s=QSXCR+Q6sek8bf92,i=4096"),
	  "nonce" },			/* ours, cut short */
	{ B("r=fyko+d2lbbFgONRv9qkxdawL3r c,s=QSXCR+Q6sek8bf92,i=4096"),
	  "nonce" },
	{ B("r=fyko+d2lbbFgONRv9qkxdawL3rfc,i=4096"), "salt" },
	{ B("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=,i=4096"), "salt" },
	{ B("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf9,i=4096"),
	  "salt" },
	{ B("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXC!+Q6sek8bf92,i=4096"),
	  "salt" },
	{ B("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92"),
	  "iteration" },
	{ B("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i="),
	  "iteration" },
	{ B("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=0"),
	  "iteration" },
	{ B("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=1"),
	  "iteration" },
	{ B("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=4095"),
	  "iteration" },
	{ B("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=1000001"),
	  "iteration" },
	{ B("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,"
	  "i=99999999999999999999999999"), "iteration" },
	{ B("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=04096"),
	  "iteration" },
	{ B("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=-4096"),
	  "iteration" },
	{ B("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=4096x"),
	  "iteration" },
	{ B("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=4096 "),
	  "iteration" },
	{ B("r=fyko+d2lbbFgONRv9qkxdawL3rfc,i=4096,s=QSXCR+Q6sek8bf92"),
	  "salt" },			/* wrong order */
	{ B("m=foo,r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,"
	  "i=4096"), "extension" },
	{ B("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=4096\0"),
	  "NUL" },
};

static void
test_scram_bad_server_first(void)
{
	struct sasl	*s;
	char		*out;
	size_t		 i, n;

	for (i = 0; i < NELEM(scram_bad); i++) {
		s = scram_at_first(SASL_SCRAM_SHA_1, S1_NONCE);
		T_CHECKF(step(s, scram_bad[i].msg, scram_bad[i].len, &out,
		    &n) == SASL_ERROR && out == NULL, "entry %zu", i);
		T_CHECKF(sasl_error(s) != NULL && strstr(sasl_error(s),
		    scram_bad[i].why) != NULL, "entry %zu: %s", i,
		    sasl_error(s) ? sasl_error(s) : "(none)");
		/* And nothing more from this object. */
		T_CHECK(step(s, B(S1_FIRST), &out, &n) == SASL_ERROR);
		sasl_free(s);
	}
	/* A base64 challenge that is not base64. */
	s = scram_at_first(SASL_SCRAM_SHA_256, S256_NONCE);
	T_CHECK(sasl_step(s, "cj1m=eWtv", 9, &out) == SASL_ERROR &&
	    out == NULL);
	sasl_free(s);
	/* Unknown trailing extensions are allowed (RFC 5802 section 7). */
	s = scram_at_first(SASL_SCRAM_SHA_1, S1_NONCE);
	T_CHECK(step(s, B(S1_FIRST ",x=whatever"), &out, &n) ==
	    SASL_CONTINUE);
	free(out);
	sasl_free(s);
}

static void
test_scram_names(void)
{
	struct sasl	*s;
	char		*out, *r, *r2;
	size_t		 n;

	/* saslname escaping and an authzid in the gs2 header. */
	s = sasl_new(SASL_SCRAM_SHA_256, "a,b=c", "pw", "ad=m,in");
	T_CHECK(sasl_set_nonce(s, "abc") == 0);
	T_CHECK(step(s, NULL, 0, &out, &n) == SASL_CONTINUE);
	T_CHECKF(out && strcmp(out, "n,a=ad=3Dm=2Cin,n=a=2Cb=3Dc,r=abc")
	    == 0, "%s", out ? out : "(null)");
	free(out);
	/* c= carries the gs2 header, base64. */
	T_CHECK(step(s, B("r=abcdef,s=QSXCR+Q6sek8bf92,i=4096"), &out, &n)
	    == SASL_CONTINUE);
	T_CHECKF(out && strncmp(out, "c=bixhPWFkPTNEbT0yQ2luLA==,r=abcdef,p=",
	    38) == 0, "%s", out ? out : "(null)");
	free(out);
	sasl_free(s);

	/* UTF-8 passes; control characters and broken UTF-8 do not. */
	s = sasl_new(SASL_SCRAM_SHA_1, "us\xc3\xa9r", "p\xc3\xa4ss", NULL);
	T_CHECK(sasl_error(s) == NULL);
	sasl_free(s);
	{
		static const char *bad[] = { "a\tb", "a\x7f", "\x01",
		    "a\xc2\x85" /* U+0085 */, "\xc3", "\xc0\xaf" /* overlong */,
		    "\xed\xa0\x80" /* surrogate */, "\xf4\x90\x80\x80",
		    "\xff" };
		size_t	i;

		for (i = 0; i < NELEM(bad); i++) {
			s = sasl_new(SASL_SCRAM_SHA_256, "user", bad[i], NULL);
			T_CHECKF(sasl_error(s) != NULL, "entry %zu", i);
			T_CHECK(sasl_step(s, NULL, 0, &r) == SASL_ERROR &&
			    r == NULL);
			sasl_free(s);
			s = sasl_new(SASL_SCRAM_SHA_1, bad[i], "pw", NULL);
			T_CHECKF(sasl_error(s) != NULL, "entry %zu", i);
			sasl_free(s);
		}
	}

	/* A random nonce: 32 base64 characters, different each time. */
	s = sasl_new(SASL_SCRAM_SHA_256, "user", "pencil", NULL);
	T_CHECK(sasl_step(s, NULL, 0, &r) == SASL_CONTINUE);
	sasl_free(s);
	s = sasl_new(SASL_SCRAM_SHA_256, "user", "pencil", NULL);
	T_CHECK(sasl_step(s, NULL, 0, &r2) == SASL_CONTINUE);
	sasl_free(s);
	T_CHECK(r != NULL && r2 != NULL && strcmp(r, r2) != 0);
	if (r != NULL) {
		char	dec[128];

		T_CHECK(sasl_b64_decode(r, strlen(r), dec, sizeof dec - 1,
		    &n) == 0);
		dec[n] = '\0';
		T_CHECKF(n == strlen("n,,n=user,r=") + 32 &&
		    strncmp(dec, "n,,n=user,r=", 12) == 0 &&
		    strchr(dec + 12, ',') == NULL, "%s", dec);
	}
	sasl_resp_free(r);
	sasl_resp_free(r2);

	/* Test-hook limits. */
	s = sasl_new(SASL_SCRAM_SHA_1, "user", "pencil", NULL);
	T_CHECK(sasl_set_nonce(s, "") == -1);
	T_CHECK(sasl_set_nonce(s, "a,b") == -1);
	T_CHECK(sasl_set_nonce(s, "a b") == -1);
	sasl_free(s);
}

/* ---- XOAUTH2, OAUTHBEARER ------------------------------------------ */

static void
test_xoauth2(void)
{
	struct sasl	*s;
	char		*r, *out;
	size_t		 n;
	const char	*json = "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVy"
	    "Iiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==";

	/* Google's example ("The SASL XOAUTH2 Mechanism"). */
	s = sasl_new(SASL_XOAUTH2, "someuser@example.com",
	    "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg", NULL);
	T_CHECK(sasl_has_initial(s) == 1);
	T_CHECK(sasl_step(s, NULL, 0, &r) == SASL_DONE);
	T_CHECK(r != NULL && strcmp(r, "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQ"
	    "FhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1"
	    "semRHRXVZMjl0Q2cBAQ==") == 0);
	sasl_resp_free(r);
	/* The error status: answer empty, report the JSON. */
	T_CHECK(sasl_step(s, json, strlen(json), &r) == SASL_REJECTED);
	T_CHECK(r != NULL && *r == '\0');
	sasl_resp_free(r);
	T_CHECK(sasl_error(s) != NULL && strstr(sasl_error(s),
	    "\"status\":\"401\"") != NULL);
	T_CHECK(sasl_step(s, json, strlen(json), &r) == SASL_ERROR);
	sasl_free(s);

	/* Two-step form: empty prompt, then the same response. */
	s = sasl_new(SASL_XOAUTH2, "u@example.com", "tok", NULL);
	T_CHECK(step(s, B(""), &out, &n) == SASL_DONE);
	T_LITEQ(out, n, ("user=u@example.com\001auth=Bearer tok\001\001"));
	free(out);
	sasl_free(s);

	/* Bad error challenge: not base64 is an error, not a rejection. */
	s = sasl_new(SASL_XOAUTH2, "u", "tok", NULL);
	T_CHECK(sasl_step(s, NULL, 0, &r) == SASL_DONE);
	sasl_resp_free(r);
	T_CHECK(sasl_step(s, "{}", 2, &r) == SASL_ERROR && r == NULL);
	sasl_free(s);

	/* Tokens and names that would break the framing. */
	s = sasl_new(SASL_XOAUTH2, "u", "to ken", NULL);
	T_CHECK(sasl_error(s) != NULL);
	sasl_free(s);
	s = sasl_new(SASL_XOAUTH2, "u", "", NULL);
	T_CHECK(sasl_error(s) != NULL);
	sasl_free(s);
	s = sasl_new(SASL_XOAUTH2, "u\001auth=x", "tok", NULL);
	T_CHECK(sasl_error(s) != NULL);
	sasl_free(s);
}

static void
test_oauthbearer(void)
{
	struct sasl	*s;
	char		*r, *out;
	size_t		 n;
	const char	*json = "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUi"
	    "OiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwc"
	    "zovL2V4YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW"
	    "9uIn0=";
	static const char want[] = "n,a=user@example.com,\001"
	    "host=server.example.com\001port=143\001"
	    "auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\001\001";

	/* RFC 7628 section 4.1. */
	s = sasl_new(SASL_OAUTHBEARER, "user@example.com",
	    "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==", NULL);
	sasl_set_host(s, "server.example.com", "143");
	T_CHECK(sasl_error(s) == NULL);
	T_CHECK(sasl_has_initial(s) == 1);
	T_CHECK(step(s, NULL, 0, &out, &n) == SASL_DONE);
	T_MEMEQ(out, n, want, sizeof want - 1);
	free(out);
	/* RFC 7628 section 4.3: error, answered with a lone ^A. */
	T_CHECK(sasl_step(s, json, strlen(json), &r) == SASL_REJECTED);
	T_CHECK(r != NULL && strcmp(r, "AQ==") == 0);
	sasl_resp_free(r);
	T_CHECK(sasl_error(s) && strstr(sasl_error(s), "invalid_token"));
	sasl_free(s);

	/* Without host and port; "," and "=" in the name escaped. */
	s = sasl_new(SASL_OAUTHBEARER, "a,b=c", "tok", NULL);
	T_CHECK(step(s, NULL, 0, &out, &n) == SASL_DONE);
	T_LITEQ(out, n, ("n,a=a=2Cb=3Dc,\001auth=Bearer tok\001\001"));
	free(out);
	sasl_free(s);

	/* Port canonical, bad host and port refused. */
	s = sasl_new(SASL_OAUTHBEARER, "u", "tok", NULL);
	sasl_set_host(s, "h", "0995");
	T_CHECK(step(s, NULL, 0, &out, &n) == SASL_DONE);
	T_LITEQ(out, n, ("n,a=u,\001host=h\001port=995\001auth=Bearer tok"
	    "\001\001"));
	free(out);
	sasl_free(s);
	s = sasl_new(SASL_OAUTHBEARER, "u", "tok", NULL);
	sasl_set_host(s, "h", "65536");
	T_CHECK(sasl_error(s) != NULL);
	sasl_free(s);
	s = sasl_new(SASL_OAUTHBEARER, "u", "tok", NULL);
	sasl_set_host(s, "h\001port=1", "110");
	T_CHECK(sasl_error(s) != NULL);
	sasl_free(s);
	/* Other mechanisms ignore the host. */
	s = sasl_new(SASL_PLAIN, "u", "pw", NULL);
	sasl_set_host(s, "h", "0");
	T_CHECK(sasl_error(s) == NULL);
	sasl_free(s);
}

/* ---- choice, names, limits ----------------------------------------- */

static const struct {
	unsigned	 caps;
	int		 oauth;
	int		 want;
} picks[] = {
	{ 0, 0, -1 },
	{ 0, 1, -1 },
	{ POP3_SASL_LOGIN, 0, SASL_LOGIN },
	{ POP3_SASL_LOGIN | POP3_SASL_PLAIN, 0, SASL_PLAIN },
	/* CRAM-MD5 only on request (docs/sasl.md, "Choosing"). */
	{ POP3_SASL_PLAIN | POP3_SASL_CRAM_MD5, 0, SASL_PLAIN },
	{ POP3_SASL_CRAM_MD5, 0, -1 },
	{ POP3_SASL_CRAM_MD5 | POP3_SASL_LOGIN, 0, SASL_LOGIN },
	{ POP3_SASL_CRAM_MD5 | POP3_SASL_SCRAM_SHA_1, 0, SASL_SCRAM_SHA_1 },
	{ POP3_SASL_SCRAM_SHA_1 | POP3_SASL_SCRAM_SHA_256, 0,
	  SASL_SCRAM_SHA_256 },
	{ 0x7f, 0, SASL_SCRAM_SHA_256 },
	{ POP3_SASL_XOAUTH2 | POP3_SASL_OAUTHBEARER, 0, -1 },
	{ POP3_SASL_XOAUTH2 | POP3_SASL_LOGIN, 0, SASL_LOGIN },
	{ POP3_SASL_XOAUTH2 | POP3_SASL_LOGIN, 1, SASL_XOAUTH2 },
	{ 0x7f, 1, SASL_OAUTHBEARER },
	{ POP3_SASL_PLAIN | POP3_SASL_SCRAM_SHA_256, 1, -1 },
};

static void
test_pick(void)
{
	size_t	i;

	for (i = 0; i < NELEM(picks); i++)
		T_CHECKF(sasl_pick(picks[i].caps, picks[i].oauth) ==
		    picks[i].want, "entry %zu", i);
}

static void
test_names(void)
{
	int	m;

	for (m = 0; m < SASL_NMECH; m++) {
		T_CHECK(sasl_mech_find(sasl_mech_name(m)) == m);
		T_CHECK(sasl_mech_flag(m) != 0);
	}
	T_CHECK(sasl_mech_find("scram-sha-256") == SASL_SCRAM_SHA_256);
	T_CHECK(sasl_mech_find("Cram-Md5") == SASL_CRAM_MD5);
	T_CHECK(sasl_mech_find("auto") == -1);
	T_CHECK(sasl_mech_find("SCRAM-SHA-256-PLUS") == -1);
	T_CHECK(sasl_mech_find("") == -1);
	T_CHECK(sasl_mech_flag(SASL_CRAM_MD5) == POP3_SASL_CRAM_MD5);
	T_CHECK(sasl_mech_is_oauth(SASL_XOAUTH2) &&
	    sasl_mech_is_oauth(SASL_OAUTHBEARER) &&
	    !sasl_mech_is_oauth(SASL_PLAIN));
}

static void
test_limits(void)
{
	struct sasl	*s;
	char		*big, *r;

	big = malloc(SASL_SECRET_MAX + 2);
	memset(big, 'a', SASL_SECRET_MAX + 1);
	big[SASL_SECRET_MAX + 1] = '\0';
	s = sasl_new(SASL_PLAIN, "u", big, NULL);
	T_CHECK(sasl_error(s) != NULL);
	T_CHECK(sasl_step(s, NULL, 0, &r) == SASL_ERROR && r == NULL);
	sasl_free(s);
	big[SASL_SECRET_MAX] = '\0';
	s = sasl_new(SASL_XOAUTH2, "u", big, NULL);
	T_CHECK(sasl_error(s) == NULL);
	T_CHECK(sasl_step(s, NULL, 0, &r) == SASL_DONE && r != NULL);
	sasl_resp_free(r);
	sasl_free(s);
	big[SASL_NAME_MAX + 1] = '\0';
	s = sasl_new(SASL_PLAIN, big, "pw", NULL);
	T_CHECK(sasl_error(s) != NULL);
	sasl_free(s);

	/* A challenge over the cap, even valid base64. */
	memset(big, 'A', SASL_CHALLENGE_MAX + 4);
	s = sasl_new(SASL_LOGIN, "u", "pw", NULL);
	T_CHECK(sasl_step(s, big, SASL_CHALLENGE_MAX + 4, &r) == SASL_ERROR);
	sasl_free(s);
	s = sasl_new(SASL_LOGIN, "u", "pw", NULL);
	T_CHECK(sasl_step(s, big, SASL_CHALLENGE_MAX, &r) == SASL_CONTINUE);
	sasl_resp_free(r);
	sasl_free(s);
	free(big);

	s = sasl_new(SASL_PLAIN, NULL, "pw", NULL);
	T_CHECK(sasl_error(s) != NULL);
	sasl_free(s);
	s = sasl_new((enum sasl_mech)99, "u", "pw", NULL);
	T_CHECK(sasl_error(s) != NULL);
	sasl_free(s);
	sasl_free(NULL);
	sasl_resp_free(NULL);
}

int
main(void)
{
	T_RUN(test_b64_rfc4648);
	T_RUN(test_b64_roundtrip);
	T_RUN(test_b64_bad);
	T_RUN(test_plain);
	T_RUN(test_login);
	T_RUN(test_cram_md5);
	T_RUN(test_scram_sha1_rfc5802);
	T_RUN(test_scram_sha256_rfc7677);
	T_RUN(test_scram_bad_server_first);
	T_RUN(test_scram_names);
	T_RUN(test_xoauth2);
	T_RUN(test_oauthbearer);
	T_RUN(test_pick);
	T_RUN(test_names);
	T_RUN(test_limits);
	return T_END();
}
