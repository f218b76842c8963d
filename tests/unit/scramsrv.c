/*
 * scramsrv.c -- the server side of SCRAM-SHA-256 for unit tests; see
 * scramsrv.h.
 */
#include <stdio.h>
#include <string.h>

#include "hash.h"
#include "sasl.h"
#include "scramsrv.h"

static const char	salt[] = "NaCl-salt";

/* Decode the base64 b into out (NUL-terminated); -1 if not base64. */
static int
dec(const char *b, char *out, size_t cap)
{
	size_t	n;

	if (sasl_b64_decode(b, strlen(b), out, cap - 1, &n) == -1)
		return -1;
	out[n] = '\0';
	return 0;
}

int
scram_srv_first(struct scram_srv *ss, const char *cf64, char *out,
    size_t outsize)
{
	char	cf[1024], b64[64];

	if (dec(cf64, cf, sizeof cf) == -1 ||
	    strncmp(cf, "n,,n=user,r=", 12) != 0) {
		fprintf(stderr, "scram: bad client-first: %s\n", cf64);
		return -1;
	}
	snprintf(ss->cfbare, sizeof ss->cfbare, "%s", cf + 3);
	sasl_b64_encode(salt, sizeof salt - 1, b64);
	snprintf(ss->sf, sizeof ss->sf, "r=%sSRVNONCE,s=%s,i=4096", cf + 12,
	    b64);
	if (sasl_b64_enclen(strlen(ss->sf)) > outsize)
		return -1;
	sasl_b64_encode(ss->sf, strlen(ss->sf), out);
	hash_pbkdf2(HASH_SHA256, "pencil", 6, salt, sizeof salt - 1, 4096,
	    ss->salted, 32);
	return 0;
}

int
scram_srv_final(struct scram_srv *ss, const char *fin64, int badv,
    char *out, size_t outsize)
{
	char		 fin[1024], am[4096], b64[64], v[64], *p;
	unsigned char	 ck[32], sk[32], cs[32], pr[32], svk[32], sig[32];
	size_t		 i;

	if (dec(fin64, fin, sizeof fin) == -1 ||
	    (p = strstr(fin, ",p=")) == NULL) {
		fprintf(stderr, "scram: bad client-final: %s\n", fin64);
		return -1;
	}
	*p = '\0';
	snprintf(am, sizeof am, "%s,%s,%s", ss->cfbare, ss->sf, fin);
	hash_hmac(HASH_SHA256, ss->salted, 32, "Client Key", 10, ck);
	hash_digest(HASH_SHA256, ck, 32, sk);
	hash_hmac(HASH_SHA256, sk, 32, am, strlen(am), cs);
	for (i = 0; i < 32; i++)
		pr[i] = ck[i] ^ cs[i];
	sasl_b64_encode(pr, 32, b64);
	if (strcmp(p + 3, b64) != 0) {
		fprintf(stderr, "scram: wrong proof\n");
		return -1;
	}
	hash_hmac(HASH_SHA256, ss->salted, 32, "Server Key", 10, svk);
	hash_hmac(HASH_SHA256, svk, 32, am, strlen(am), sig);
	if (badv)
		sig[0] ^= 1;
	memcpy(v, "v=", 2);
	sasl_b64_encode(sig, 32, v + 2);
	if (sasl_b64_enclen(strlen(v)) > outsize)
		return -1;
	sasl_b64_encode(v, strlen(v), out);
	return 0;
}
