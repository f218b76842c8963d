/*
 * sasl.c -- SASL client mechanisms; see sasl.h for the interface and
 * docs/sasl.md for the decisions.
 *
 * Each mechanism is a short state machine driven by sasl_step(): the
 * step counter says which message comes next. Messages are built in a
 * small buffer that wipes what it held whenever it grows or is freed,
 * since most of them carry the password or a value derived from it.
 * Server text only ever reaches sasl_error() through log_escape().
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hash.h"
#include "log.h"
#include "pop3parse.h"
#include "sasl.h"
#include "util.h"

#define SCRAM_NONCE_BYTES	24	/* 32 base64 characters */
#define SCRAM_NONCE_MAX		64

struct sasl {
	enum sasl_mech	 mech;
	int		 step;		/* messages produced so far */
	int		 done;		/* 1 after DONE, 2 after an error */
	int		 failed;	/* err holds a message */
	char		*user;
	char		*secret;
	char		*authzid;	/* NULL: none */
	char		*host, *port;	/* OAUTHBEARER; NULL: left out */
	size_t		 secretlen;
	/* SCRAM */
	char		 nonce[SCRAM_NONCE_MAX + 1];
	char		*gs2;		/* "n,," or "n,a=AUTHZID," */
	char		*cfb;		/* client-first-message-bare */
	unsigned char	 ssig[HASH_MD_MAX];	/* expected from the server */
	char		 err[512];
};

static const struct mechdef {
	const char	*name;
	unsigned	 flag;
	int		 initial;
	int		 oauth;
} mechs[SASL_NMECH] = {
	[SASL_PLAIN] =		{ "PLAIN", POP3_SASL_PLAIN, 1, 0 },
	[SASL_LOGIN] =		{ "LOGIN", POP3_SASL_LOGIN, 0, 0 },
	[SASL_CRAM_MD5] =	{ "CRAM-MD5", POP3_SASL_CRAM_MD5, 0, 0 },
	[SASL_SCRAM_SHA_1] =	{ "SCRAM-SHA-1", POP3_SASL_SCRAM_SHA_1, 1, 0 },
	[SASL_SCRAM_SHA_256] =	{ "SCRAM-SHA-256", POP3_SASL_SCRAM_SHA_256,
				  1, 0 },
	[SASL_XOAUTH2] =	{ "XOAUTH2", POP3_SASL_XOAUTH2, 1, 1 },
	[SASL_OAUTHBEARER] =	{ "OAUTHBEARER", POP3_SASL_OAUTHBEARER, 1, 1 },
};

/* ---- base64 (RFC 4648 section 4) ----------------------------------- */

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
sasl_b64_enclen(size_t n)
{
	return (n + 2) / 3 * 4 + 1;
}

void
sasl_b64_encode(const void *in, size_t n, char *out)
{
	const unsigned char	*p = in;
	unsigned long		 v;
	size_t			 i;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8 |
		    p[i + 2];
		*out++ = b64chars[v >> 18 & 63];
		*out++ = b64chars[v >> 12 & 63];
		*out++ = b64chars[v >> 6 & 63];
		*out++ = b64chars[v & 63];
	}
	if (n - i == 1) {
		v = (unsigned long)p[i] << 16;
		*out++ = b64chars[v >> 18 & 63];
		*out++ = b64chars[v >> 12 & 63];
		*out++ = '=';
		*out++ = '=';
	} else if (n - i == 2) {
		v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8;
		*out++ = b64chars[v >> 18 & 63];
		*out++ = b64chars[v >> 12 & 63];
		*out++ = b64chars[v >> 6 & 63];
		*out++ = '=';
	}
	*out = '\0';
}

/* The value of a base64 character, or -1. */
static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
sasl_b64_decode(const char *in, size_t n, void *outv, size_t cap,
    size_t *outlen)
{
	unsigned char	*out = outv;
	size_t		 i, o = 0, pad = 0, k;
	unsigned long	 v;
	int		 d[4], j;

	if (n % 4 != 0)
		return -1;
	if (n > 0 && in[n - 1] == '=')
		pad = (n > 1 && in[n - 2] == '=') ? 2 : 1;
	for (i = 0; i < n; i += 4) {
		for (j = 0; j < 4; j++) {
			/* "=" is allowed only as the final padding. */
			if (i + (size_t)j >= n - pad) {
				if (in[i + j] != '=')
					return -1;
				d[j] = 0;
			} else if ((d[j] = b64val((unsigned char)in[i + j]))
			    == -1)
				return -1;
		}
		v = (unsigned long)d[0] << 18 | (unsigned long)d[1] << 12 |
		    (unsigned long)d[2] << 6 | (unsigned long)d[3];
		k = (i + 4 == n) ? 3 - pad : 3;
		/* RFC 4648 section 3.5: the padding's bits must be zero. */
		if ((k == 1 && (v & 0xffff) != 0) ||
		    (k == 2 && (v & 0xff) != 0))
			return -1;
		if (out != NULL) {
			if (o + k > cap)
				return -1;
			out[o] = (unsigned char)(v >> 16);
			if (k > 1)
				out[o + 1] = (unsigned char)(v >> 8);
			if (k > 2)
				out[o + 2] = (unsigned char)v;
		}
		o += k;
	}
	*outlen = o;
	return 0;
}

/* ---- a buffer that wipes what it held ------------------------------ */

struct sbuf {
	char	*p;
	size_t	 n, cap;
};

static void
sb_add(struct sbuf *b, const void *p, size_t n)
{
	char	*np;
	size_t	 ncap;

	if (b->n + n + 1 > b->cap) {
		ncap = b->cap ? b->cap : 128;
		while (b->n + n + 1 > ncap)
			ncap *= 2;
		/* Not realloc(): the old block would be freed unwiped. */
		np = xmalloc(ncap);
		if (b->n > 0)
			memcpy(np, b->p, b->n);
		if (b->p != NULL) {
			explicit_bzero(b->p, b->cap);
			free(b->p);
		}
		b->p = np;
		b->cap = ncap;
	}
	if (n > 0)
		memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void
sb_adds(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* RFC 5802 saslname: "," becomes "=2C" and "=" becomes "=3D". */
static void
sb_saslname(struct sbuf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == ',')
			sb_adds(b, "=2C");
		else if (*s == '=')
			sb_adds(b, "=3D");
		else
			sb_add(b, s, 1);
	}
}

static void
sb_wipe(struct sbuf *b)
{
	if (b->p != NULL) {
		explicit_bzero(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof *b);
}

/* Base64 of n bytes, malloc'd. */
static char *
b64_dup(const void *p, size_t n)
{
	char	*out = xmalloc(sasl_b64_enclen(n));

	sasl_b64_encode(p, n, out);
	return out;
}

/* The buffer's content as a base64 response; the buffer is wiped. */
static char *
sb_b64(struct sbuf *b)
{
	char	*out = b64_dup(b->p != NULL ? b->p : "", b->n);

	sb_wipe(b);
	return out;
}

/* ---- errors -------------------------------------------------------- */

static int
sasl_fail(struct sasl *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
sasl_fail(struct sasl *s, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof s->err, fmt, ap);
	va_end(ap);
	s->failed = 1;
	s->done = 2;
	return SASL_ERROR;
}

/* The server reported failure: keep its words, send resp, expect -ERR. */
static int
sasl_rejected(struct sasl *s, const char *what, const char *why, size_t len,
    const char *resp, char **out)
{
	char	esc[256];

	snprintf(s->err, sizeof s->err, "%s: %s", what,
	    log_escape(why, len, esc, sizeof esc));
	s->failed = 1;
	s->done = 2;
	*out = xstrdup(resp);
	return SASL_REJECTED;
}

/* ---- input checks -------------------------------------------------- */

/* 1 if s has no byte below 0x20 and no 0x7f. */
static int
no_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return 0;
	return 1;
}

/* 1 if s is 1..n printable ASCII octets (0x21..0x7e), as a bearer token. */
static int
printable(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/*
 * The simplified SASLprep (see sasl.h): valid UTF-8 (no overlong forms,
 * surrogates or values past U+10FFFF) without C0 or C1 controls or DEL.
 */
static int
prep_ok(const char *str)
{
	const unsigned char	*s = (const unsigned char *)str;
	unsigned long		 cp;
	int			 k, i;

	while (*s != '\0') {
		if (*s < 0x80) {
			if (*s < 0x20 || *s == 0x7f)
				return 0;
			s++;
			continue;
		}
		if (*s >= 0xc2 && *s <= 0xdf) {
			k = 1;
			cp = *s & 0x1f;
		} else if (*s >= 0xe0 && *s <= 0xef) {
			k = 2;
			cp = *s & 0x0f;
		} else if (*s >= 0xf0 && *s <= 0xf4) {
			k = 3;
			cp = *s & 0x07;
		} else
			return 0;
		for (i = 1; i <= k; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
		    (cp >= 0x80 && cp <= 0x9f))
			return 0;
		s += k + 1;
	}
	return 1;
}

static void
check_input(struct sasl *s)
{
	if (strlen(s->user) > SASL_NAME_MAX ||
	    (s->authzid != NULL && strlen(s->authzid) > SASL_NAME_MAX)) {
		sasl_fail(s, "user name too long");
		return;
	}
	if (s->secretlen > SASL_SECRET_MAX) {
		sasl_fail(s, "%s too long",
		    mechs[s->mech].oauth ? "token" : "password");
		return;
	}
	switch (s->mech) {
	case SASL_SCRAM_SHA_1:
	case SASL_SCRAM_SHA_256:
		if (!prep_ok(s->user) || !prep_ok(s->secret) ||
		    (s->authzid != NULL && !prep_ok(s->authzid)))
			sasl_fail(s, "user name or password is not valid "
			    "UTF-8 or has a control character");
		break;
	case SASL_XOAUTH2:
	case SASL_OAUTHBEARER:
		/* ^A separates the fields: it must not hide in a value. */
		if (!no_ctl(s->user) ||
		    (s->authzid != NULL && !no_ctl(s->authzid)))
			sasl_fail(s, "user name has a control character");
		else if (!printable(s->secret))
			sasl_fail(s, "the access token is empty or has a "
			    "space or control character");
		break;
	default:
		break;
	}
}

/* ---- the object ---------------------------------------------------- */

struct sasl *
sasl_new(enum sasl_mech mech, const char *user, const char *secret,
    const char *authzid)
{
	struct sasl	*s = xcalloc(1, sizeof *s);

	if ((unsigned)mech >= SASL_NMECH) {
		s->mech = SASL_PLAIN;
		s->user = xstrdup("");
		s->secret = xstrdup("");
		sasl_fail(s, "unknown SASL mechanism");
		return s;
	}
	s->mech = mech;
	s->user = xstrdup(user != NULL ? user : "");
	s->secret = xstrdup(secret != NULL ? secret : "");
	s->secretlen = strlen(s->secret);
	if (authzid != NULL && *authzid != '\0')
		s->authzid = xstrdup(authzid);
	if (user == NULL || secret == NULL)
		sasl_fail(s, "no user name or %s",
		    mechs[mech].oauth ? "token" : "password");
	else
		check_input(s);
	return s;
}

void
sasl_set_host(struct sasl *s, const char *host, const char *port)
{
	const char	*q;
	unsigned long	 v = 0;

	if (s->failed || s->mech != SASL_OAUTHBEARER)
		return;
	if (host == NULL || *host == '\0' || !no_ctl(host) ||
	    strlen(host) > SASL_NAME_MAX) {
		sasl_fail(s, "bad host name");
		return;
	}
	if (port == NULL || *port == '\0' || strlen(port) > 5) {
		sasl_fail(s, "bad port");
		return;
	}
	for (q = port; *q != '\0'; q++) {
		if (*q < '0' || *q > '9') {
			sasl_fail(s, "bad port");
			return;
		}
		v = v * 10 + (unsigned long)(*q - '0');
	}
	if (v == 0 || v > 65535) {
		sasl_fail(s, "bad port");
		return;
	}
	free(s->host);
	free(s->port);
	s->host = xstrdup(host);
	/* Canonical decimal: "0995" is sent as "995". */
	s->port = xmalloc(6);
	snprintf(s->port, 6, "%lu", v);
}

int
sasl_set_nonce(struct sasl *s, const char *nonce)
{
	size_t	n = strlen(nonce);

	if (n == 0 || n > SCRAM_NONCE_MAX || !printable(nonce) ||
	    strchr(nonce, ',') != NULL || s->step != 0)
		return -1;
	memcpy(s->nonce, nonce, n + 1);
	return 0;
}

int
sasl_has_initial(const struct sasl *s)
{
	return mechs[s->mech].initial;
}

const char *
sasl_error(const struct sasl *s)
{
	return s->failed ? s->err : NULL;
}

static void
wipe_str(char *p)
{
	if (p != NULL) {
		explicit_bzero(p, strlen(p));
		free(p);
	}
}

void
sasl_resp_free(char *r)
{
	wipe_str(r);
}

void
sasl_free(struct sasl *s)
{
	if (s == NULL)
		return;
	wipe_str(s->user);
	wipe_str(s->secret);
	wipe_str(s->authzid);
	wipe_str(s->host);
	wipe_str(s->port);
	wipe_str(s->gs2);
	wipe_str(s->cfb);
	explicit_bzero(s, sizeof *s);
	free(s);
}

/* ---- PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER ------------------ */

/* RFC 4616: [authzid] NUL authcid NUL passwd. */
static char *
plain_initial(struct sasl *s)
{
	struct sbuf	b = { NULL, 0, 0 };

	if (s->authzid != NULL)
		sb_adds(&b, s->authzid);
	sb_add(&b, "", 1);
	sb_adds(&b, s->user);
	sb_add(&b, "", 1);
	sb_add(&b, s->secret, s->secretlen);
	return sb_b64(&b);
}

/* RFC 2195: user SP lower-case hex of HMAC-MD5(secret, challenge). */
static char *
cram_response(struct sasl *s, const unsigned char *chal, size_t len)
{
	struct sbuf	b = { NULL, 0, 0 };
	unsigned char	mac[16];
	char		hex[33];

	hash_hmac(HASH_MD5, s->secret, s->secretlen, chal, len, mac);
	hex_encode(mac, sizeof mac, hex);
	sb_adds(&b, s->user);
	sb_add(&b, " ", 1);
	sb_adds(&b, hex);
	explicit_bzero(mac, sizeof mac);
	explicit_bzero(hex, sizeof hex);
	return sb_b64(&b);
}

/* user=U ^A auth=Bearer T ^A ^A (Google's XOAUTH2 protocol page). */
static char *
xoauth2_initial(struct sasl *s)
{
	struct sbuf	b = { NULL, 0, 0 };

	sb_adds(&b, "user=");
	sb_adds(&b, s->user);
	sb_adds(&b, "\001auth=Bearer ");
	sb_add(&b, s->secret, s->secretlen);
	sb_adds(&b, "\001\001");
	return sb_b64(&b);
}

/*
 * RFC 7628 section 3.1: gs2-header "n,a=U," then ^A-separated
 * key=value pairs, host and port when known, auth last, ^A^A.
 */
static char *
oauthbearer_initial(struct sasl *s)
{
	struct sbuf	b = { NULL, 0, 0 };

	sb_adds(&b, "n,a=");
	sb_saslname(&b, s->authzid != NULL ? s->authzid : s->user);
	sb_adds(&b, ",\001");
	if (s->host != NULL) {
		sb_adds(&b, "host=");
		sb_adds(&b, s->host);
		sb_adds(&b, "\001port=");
		sb_adds(&b, s->port);
		sb_adds(&b, "\001");
	}
	sb_adds(&b, "auth=Bearer ");
	sb_add(&b, s->secret, s->secretlen);
	sb_adds(&b, "\001\001");
	return sb_b64(&b);
}

/* ---- SCRAM (RFC 5802, 7677) ---------------------------------------- */

static enum hash_md
scram_md(const struct sasl *s)
{
	return s->mech == SASL_SCRAM_SHA_1 ? HASH_SHA1 : HASH_SHA256;
}

/* client-first-message: gs2-header client-first-message-bare. */
static int
scram_first(struct sasl *s, char **resp)
{
	struct sbuf	b = { NULL, 0, 0 };
	unsigned char	rnd[SCRAM_NONCE_BYTES];

	if (s->nonce[0] == '\0') {
		if (hash_random(rnd, sizeof rnd) == -1)
			return sasl_fail(s, "no random numbers for the nonce");
		/* Base64 is printable and has no ",": a valid nonce. */
		sasl_b64_encode(rnd, sizeof rnd, s->nonce);
	}
	/* No channel binding ("n"): TLS is checked by the caller. */
	sb_adds(&b, "n,");
	if (s->authzid != NULL) {
		sb_adds(&b, "a=");
		sb_saslname(&b, s->authzid);
	}
	sb_adds(&b, ",");
	s->gs2 = xstrdup(b.p);
	sb_wipe(&b);

	sb_adds(&b, "n=");
	sb_saslname(&b, s->user);
	sb_adds(&b, ",r=");
	sb_adds(&b, s->nonce);
	s->cfb = xstrdup(b.p);
	sb_wipe(&b);

	sb_adds(&b, s->gs2);
	sb_adds(&b, s->cfb);
	*resp = sb_b64(&b);
	return SASL_CONTINUE;
}

/* Length of the attribute value at p (up to "," or end). */
static size_t
attr_len(const char *p, const char *end)
{
	const char	*q = p;

	while (q < end && *q != ',')
		q++;
	return (size_t)(q - p);
}

/*
 * server-first-message = [reserved-mext ","] nonce "," salt ","
 * iteration-count ["," extensions]. Strict: each field checked against
 * RFC 5802 section 7 and our limits; unknown trailing extensions are
 * allowed, a mandatory one ("m=") is refused.
 */
static int
scram_server_first(struct sasl *s, const char *m, size_t n, char **resp)
{
	const char	*p = m, *end = m + n, *rn;
	enum hash_md	 md = scram_md(s);
	size_t		 hl = hash_md_len(md), rnlen, l, saltlen, cn, i;
	unsigned char	 salt[SASL_SCRAM_SALT_MAX];
	unsigned char	 salted[HASH_MD_MAX], ckey[HASH_MD_MAX];
	unsigned char	 stored[HASH_MD_MAX], csig[HASH_MD_MAX];
	unsigned char	 proof[HASH_MD_MAX], skey[HASH_MD_MAX];
	unsigned long	 iter = 0;
	struct sbuf	 cf = { NULL, 0, 0 }, am = { NULL, 0, 0 };
	char		*b64;

	if (memchr(m, '\0', n) != NULL)
		return sasl_fail(s, "NUL in the server's first message");
	if (n >= 2 && memcmp(p, "m=", 2) == 0)
		return sasl_fail(s, "server requires an extension (m=) "
		    "popvault does not know");
	if (n < 2 || memcmp(p, "r=", 2) != 0)
		return sasl_fail(s, "server's first message has no nonce "
		    "(r=)");
	p += 2;
	rn = p;
	rnlen = attr_len(p, end);
	for (i = 0; i < rnlen; i++)
		if ((unsigned char)rn[i] < 0x21 || (unsigned char)rn[i] > 0x7e)
			return sasl_fail(s, "bad character in the server "
			    "nonce");
	/* RFC 5802 section 5.1: the nonce is ours plus the server's. */
	cn = strlen(s->nonce);
	if (rnlen <= cn || memcmp(rn, s->nonce, cn) != 0)
		return sasl_fail(s, "server nonce does not extend the "
		    "client nonce");
	p += rnlen;

	if (end - p < 3 || memcmp(p, ",s=", 3) != 0)
		return sasl_fail(s, "server's first message has no salt "
		    "(s=)");
	p += 3;
	l = attr_len(p, end);
	if (sasl_b64_decode(p, l, salt, sizeof salt, &saltlen) == -1 ||
	    saltlen == 0)
		return sasl_fail(s, "salt (s=) is not base64 of 1 to %d "
		    "bytes", SASL_SCRAM_SALT_MAX);
	p += l;

	if (end - p < 3 || memcmp(p, ",i=", 3) != 0)
		return sasl_fail(s, "server's first message has no "
		    "iteration count (i=)");
	p += 3;
	l = attr_len(p, end);
	/* posit-number: no sign, no leading zero; stop early when huge. */
	if (l == 0 || *p < '1' || *p > '9')
		return sasl_fail(s, "bad iteration count (i=)");
	for (i = 0; i < l; i++) {
		if (p[i] < '0' || p[i] > '9')
			return sasl_fail(s, "bad iteration count (i=)");
		if (iter <= SASL_SCRAM_ITER_MAX)
			iter = iter * 10 + (unsigned long)(p[i] - '0');
	}
	if (iter < SASL_SCRAM_ITER_MIN || iter > SASL_SCRAM_ITER_MAX)
		return sasl_fail(s, "iteration count (i=) outside %d..%d",
		    SASL_SCRAM_ITER_MIN, SASL_SCRAM_ITER_MAX);
	/* Whatever follows is ",extensions", which we may ignore. */

	/* client-final-message-without-proof: "c=" gs2 ",r=" nonce. */
	b64 = b64_dup(s->gs2, strlen(s->gs2));
	sb_adds(&cf, "c=");
	sb_adds(&cf, b64);
	free(b64);
	sb_adds(&cf, ",r=");
	sb_add(&cf, rn, rnlen);

	/* AuthMessage = cfb "," server-first "," client-final-w/o-proof */
	sb_adds(&am, s->cfb);
	sb_add(&am, ",", 1);
	sb_add(&am, m, n);
	sb_add(&am, ",", 1);
	sb_add(&am, cf.p, cf.n);

	/* RFC 5802 section 3. */
	hash_pbkdf2(md, s->secret, s->secretlen, salt, saltlen,
	    (unsigned)iter, salted, hl);
	hash_hmac(md, salted, hl, "Client Key", 10, ckey);
	hash_digest(md, ckey, hl, stored);
	hash_hmac(md, stored, hl, am.p, am.n, csig);
	for (i = 0; i < hl; i++)
		proof[i] = ckey[i] ^ csig[i];
	hash_hmac(md, salted, hl, "Server Key", 10, skey);
	hash_hmac(md, skey, hl, am.p, am.n, s->ssig);

	b64 = b64_dup(proof, hl);
	sb_adds(&cf, ",p=");
	sb_adds(&cf, b64);
	explicit_bzero(b64, strlen(b64));
	free(b64);
	*resp = sb_b64(&cf);

	sb_wipe(&am);
	explicit_bzero(salted, sizeof salted);
	explicit_bzero(ckey, sizeof ckey);
	explicit_bzero(stored, sizeof stored);
	explicit_bzero(csig, sizeof csig);
	explicit_bzero(proof, sizeof proof);
	explicit_bzero(skey, sizeof skey);
	return SASL_CONTINUE;
}

/* Compare without an early exit, so timing tells nothing. */
static int
ct_equal(const unsigned char *a, const unsigned char *b, size_t n)
{
	unsigned char	d = 0;
	size_t		i;

	for (i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

/* server-final-message = (server-error / verifier) ["," extensions]. */
static int
scram_server_final(struct sasl *s, const char *m, size_t n, char **resp)
{
	size_t		 hl = hash_md_len(scram_md(s)), l, vlen;
	unsigned char	 v[HASH_MD_MAX];

	if (n >= 2 && memcmp(m, "e=", 2) == 0)
		return sasl_rejected(s, "server error", m + 2,
		    attr_len(m + 2, m + n), "", resp);
	if (n < 2 || memcmp(m, "v=", 2) != 0)
		return sasl_fail(s, "malformed final message from the server");
	l = attr_len(m + 2, m + n);
	if (sasl_b64_decode(m + 2, l, v, sizeof v, &vlen) == -1 || vlen != hl)
		return sasl_fail(s, "malformed server signature (v=)");
	if (!ct_equal(v, s->ssig, hl))
		return sasl_fail(s, "server signature does not match");
	/* RFC 5034 section 4: additional data is answered empty. */
	*resp = xstrdup("");
	return SASL_DONE;
}

/* ---- the driver ---------------------------------------------------- */

static int
initial(struct sasl *s, char **resp)
{
	switch (s->mech) {
	case SASL_PLAIN:
		*resp = plain_initial(s);
		return SASL_DONE;
	case SASL_SCRAM_SHA_1:
	case SASL_SCRAM_SHA_256:
		return scram_first(s, resp);
	case SASL_XOAUTH2:
		*resp = xoauth2_initial(s);
		return SASL_DONE;
	case SASL_OAUTHBEARER:
		*resp = oauthbearer_initial(s);
		return SASL_DONE;
	default:
		return sasl_fail(s, "no initial response for this mechanism");
	}
}

/* A challenge, decoded, for step number s->step. */
static int
challenge(struct sasl *s, const char *m, size_t n, char **resp)
{
	switch (s->mech) {
	case SASL_LOGIN:
		/* The prompts ("Username:", "Password:") are not checked:
		 * servers word them differently; only their order counts. */
		*resp = b64_dup(s->step == 0 ? s->user : s->secret,
		    s->step == 0 ? strlen(s->user) : s->secretlen);
		return s->step == 0 ? SASL_CONTINUE : SASL_DONE;
	case SASL_CRAM_MD5:
		if (n == 0)
			return sasl_fail(s, "empty challenge");
		*resp = cram_response(s, (const unsigned char *)m, n);
		return SASL_DONE;
	case SASL_SCRAM_SHA_1:
	case SASL_SCRAM_SHA_256:
		return s->step == 1 ? scram_server_first(s, m, n, resp) :
		    scram_server_final(s, m, n, resp);
	case SASL_XOAUTH2:
		/* An error status as JSON: answer empty, expect -ERR. */
		return sasl_rejected(s, "error status", m, n, "", resp);
	case SASL_OAUTHBEARER:
		/* RFC 7628 section 3.2.3: answer a lone ^A (base64). */
		return sasl_rejected(s, "error status", m, n, "AQ==", resp);
	default:
		return sasl_fail(s, "unexpected challenge");
	}
}

int
sasl_step(struct sasl *s, const char *chal, size_t len, char **resp)
{
	char		*m;
	size_t		 n;
	int		 rc, oauth_error;

	*resp = NULL;
	if (s->done == 2)
		return SASL_ERROR;
	if (chal == NULL) {
		if (s->step != 0 || !mechs[s->mech].initial)
			return sasl_fail(s, "no initial response here");
		rc = initial(s, resp);
		goto out;
	}
	if (len > SASL_CHALLENGE_MAX)
		return sasl_fail(s, "challenge longer than %d characters",
		    SASL_CHALLENGE_MAX);
	m = xmalloc(SASL_B64_DECLEN(len) + 1);
	if (sasl_b64_decode(chal, len, m, SASL_B64_DECLEN(len), &n) == -1) {
		free(m);
		return sasl_fail(s, "challenge is not valid base64");
	}
	m[n] = '\0';
	/*
	 * After DONE only an OAuth error status may come (as a challenge
	 * instead of -ERR); anything else means the server and we disagree
	 * about where the exchange is.
	 */
	oauth_error = mechs[s->mech].oauth && s->step == 1;
	if (s->done == 1 && !oauth_error)
		rc = sasl_fail(s, "challenge after the exchange completed");
	else if (s->step == 0 && mechs[s->mech].initial) {
		/* The prompt for a client-first message (RFC 4422 5). */
		if (n != 0)
			rc = sasl_fail(s, "server challenge where the "
			    "client speaks first");
		else
			rc = initial(s, resp);
	} else
		rc = challenge(s, m, n, resp);
	explicit_bzero(m, n);
	free(m);
out:
	if (rc == SASL_ERROR) {
		sasl_resp_free(*resp);
		*resp = NULL;
		return rc;
	}
	s->step++;
	if (rc == SASL_DONE)
		s->done = 1;
	return rc;
}

/* ---- names and choice ---------------------------------------------- */

const char *
sasl_mech_name(enum sasl_mech m)
{
	return (unsigned)m < SASL_NMECH ? mechs[m].name : "?";
}

int
sasl_mech_find(const char *name)
{
	int	i;

	for (i = 0; i < SASL_NMECH; i++)
		if (strcasecmp(name, mechs[i].name) == 0)
			return i;
	return -1;
}

unsigned
sasl_mech_flag(enum sasl_mech m)
{
	return (unsigned)m < SASL_NMECH ? mechs[m].flag : 0;
}

int
sasl_mech_is_oauth(enum sasl_mech m)
{
	return (unsigned)m < SASL_NMECH && mechs[m].oauth;
}

int
sasl_pick(unsigned caps, int have_oauth_token)
{
	/* CRAM-MD5 only on request: docs/sasl.md, "Choosing". */
	static const enum sasl_mech pw[] = { SASL_SCRAM_SHA_256,
	    SASL_SCRAM_SHA_1, SASL_PLAIN, SASL_LOGIN };
	static const enum sasl_mech oauth[] = { SASL_OAUTHBEARER,
	    SASL_XOAUTH2 };
	const enum sasl_mech	*v = have_oauth_token ? oauth : pw;
	size_t			 i, n = have_oauth_token ?
	    sizeof oauth / sizeof oauth[0] : sizeof pw / sizeof pw[0];

	for (i = 0; i < n; i++)
		if (caps & mechs[v[i]].flag)
			return (int)v[i];
	return -1;
}
