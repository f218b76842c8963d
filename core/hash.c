/*
 * hash.c -- EVP wrappers; see hash.h.
 */
#include <openssl/evp.h>

#include <stdlib.h>

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
}
