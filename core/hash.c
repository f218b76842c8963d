/*
 * hash.c -- EVP wrappers; see hash.h.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "log.h"
#include "util.h"

struct hash {
	EVP_MD_CTX	*ctx;
};

struct hash *
hash_new(void)
{
	struct hash	*h = xcalloc(1, sizeof *h);

	if ((h->ctx = EVP_MD_CTX_new()) == NULL)
		fatalx("EVP_MD_CTX_new");
	hash_reset(h);
	return h;
}

void
hash_reset(struct hash *h)
{
	if (EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
		fatalx("EVP_DigestInit_ex");
}

void
hash_update(struct hash *h, const void *p, size_t n)
{
	if (n > 0 && EVP_DigestUpdate(h->ctx, p, n) != 1)
		fatalx("EVP_DigestUpdate");
}

void
hash_final(struct hash *h, unsigned char out[HASH_LEN])
{
	unsigned int	len = 0;

	if (EVP_DigestFinal_ex(h->ctx, out, &len) != 1 || len != HASH_LEN)
		fatalx("EVP_DigestFinal_ex");
	hash_reset(h);
}

void
hash_head_reset(struct hash_head *hh)
{
	if (hh->h == NULL)
		hh->h = hash_new();
	else
		hash_reset(hh->h);
	hh->pend = 0;
}

void
hash_head_update(struct hash_head *hh, const char *p, size_t n)
{
	size_t	i, k;

	/* The last byte that is neither CR nor LF, if any. */
	for (k = n; k > 0 && (p[k - 1] == '\r' || p[k - 1] == '\n'); k--)
		;
	if (k > 0) {
		hash_update(hh->h, hh->buf, hh->pend);
		hh->pend = 0;
		hash_update(hh->h, p, k);
	}
	for (i = k; i < n; i++) {
		/* A long run of line ends: the same flush at the same byte. */
		if (hh->pend == sizeof hh->buf) {
			hash_update(hh->h, hh->buf, hh->pend);
			hh->pend = 0;
		}
		hh->buf[hh->pend++] = p[i];
	}
}

void
hash_head_final(struct hash_head *hh, unsigned char out[HASH_LEN])
{
	hash_final(hh->h, out);
	hh->pend = 0;
}

void
hash_head_free(struct hash_head *hh)
{
	hash_free(hh->h);
	hh->h = NULL;
}

void
hash_free(struct hash *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void
hash_sha256(const void *p, size_t n, unsigned char out[HASH_LEN])
{
	unsigned int	len = 0;

	if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1)
		fatalx("EVP_Digest");
}

void
hash_md5_hex(const void *p, size_t n, char out[33])
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	len = 0;

	if (EVP_Digest(p, n, md, &len, EVP_md5(), NULL) != 1 || len != 16)
		fatalx("EVP_Digest md5");
	hex_encode(md, 16, out);
	/* An APOP digest: as good as the password for this greeting. */
	explicit_bzero(md, sizeof md);
}

static const EVP_MD *
hash_evp(enum hash_md md)
{
	switch (md) {
	case HASH_MD5:
		return EVP_md5();
	case HASH_SHA1:
		return EVP_sha1();
	case HASH_SHA256:
		return EVP_sha256();
	}
	fatalx("hash_evp: bad digest %d", (int)md);
}

size_t
hash_md_len(enum hash_md md)
{
	switch (md) {
	case HASH_MD5:
		return 16;
	case HASH_SHA1:
		return 20;
	case HASH_SHA256:
		return 32;
	}
	fatalx("hash_md_len: bad digest %d", (int)md);
}

void
hash_digest(enum hash_md md, const void *p, size_t n, unsigned char *out)
{
	unsigned int	len = 0;

	if (EVP_Digest(p, n, out, &len, hash_evp(md), NULL) != 1 ||
	    len != hash_md_len(md))
		fatalx("EVP_Digest");
}

void
hash_hmac(enum hash_md md, const void *key, size_t keylen, const void *data,
    size_t len, unsigned char *out)
{
	unsigned int	olen = 0;

	if (keylen > INT_MAX)
		fatalx("hash_hmac: key too long");
	/* HMAC() is the one-shot form OpenSSL 3 keeps undeprecated. */
	if (HMAC(hash_evp(md), key, (int)keylen, data, len, out,
	    &olen) == NULL || olen != hash_md_len(md))
		fatalx("HMAC");
}

void
hash_pbkdf2(enum hash_md md, const void *pass, size_t passlen,
    const void *salt, size_t saltlen, unsigned iter, unsigned char *out,
    size_t outlen)
{
	if (passlen > INT_MAX || saltlen > INT_MAX || outlen > INT_MAX ||
	    iter == 0 || iter > INT_MAX)
		fatalx("hash_pbkdf2: argument out of range");
	if (PKCS5_PBKDF2_HMAC(pass, (int)passlen, salt, (int)saltlen,
	    (int)iter, hash_evp(md), (int)outlen, out) != 1)
		fatalx("PKCS5_PBKDF2_HMAC");
}

int
hash_random(void *p, size_t n)
{
	if (n > INT_MAX)
		return -1;
	return RAND_bytes(p, (int)n) == 1 ? 0 : -1;
}
