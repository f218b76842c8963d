/*
 * hash.h -- SHA-256 (streaming) and MD5 (APOP) through OpenSSL's EVP,
 * which uses the CPU's SHA extensions where there are some; and the
 * primitives SASL needs (core/sasl.c): digests, HMAC and PBKDF2 over
 * MD5, SHA-1 and SHA-256, and random bytes from OpenSSL's CSPRNG.
 */
#ifndef HASH_H
#define HASH_H

#include <stddef.h>

#define HASH_LEN	32
#define HASH_HEXLEN	64

struct hash;

struct hash	*hash_new(void);		/* fatal on OOM */
void		 hash_reset(struct hash *);
void		 hash_update(struct hash *, const void *, size_t);
void		 hash_final(struct hash *, unsigned char out[HASH_LEN]);
void		 hash_free(struct hash *);

/*
 * The SHA-256 of a message's header block as the run compares it with
 * what TOP n 0 gives (core/delete.c): the bytes of the header section,
 * without the CR and LF bytes that end it (the empty line, and what a
 * server adds or drops there). Fed in chunks of any split, the same
 * bytes give the same digest.
 */
struct hash_head {
	struct hash	*h;
	size_t		 pend;		/* CR/LF bytes held back */
	char		 buf[64];
};

void		 hash_head_reset(struct hash_head *);	/* h made if NULL */
void		 hash_head_update(struct hash_head *, const char *, size_t);
void		 hash_head_final(struct hash_head *, unsigned char out[HASH_LEN]);
void		 hash_head_free(struct hash_head *);

/* One-shot SHA-256. */
void		 hash_sha256(const void *, size_t, unsigned char out[HASH_LEN]);
/* One-shot MD5 as lower-case hex (APOP, RFC 1939 section 7). */
void		 hash_md5_hex(const void *, size_t, char out[33]);

/* Digests for SASL: CRAM-MD5 (RFC 2195), SCRAM (RFC 5802, 7677). */
enum hash_md {
	HASH_MD5,
	HASH_SHA1,
	HASH_SHA256
};
#define HASH_MD_MAX	32	/* the longest output: SHA-256 */

/* Output length in bytes: 16, 20 or 32. */
size_t		 hash_md_len(enum hash_md);
/* One-shot digest; out holds hash_md_len(md) bytes. */
void		 hash_digest(enum hash_md, const void *, size_t,
		    unsigned char *out);
/*
 * HMAC (RFC 2104) of data under key; out holds hash_md_len(md) bytes.
 * keylen must fit an int. fatal on a library failure (a bug or OOM).
 */
void		 hash_hmac(enum hash_md, const void *key, size_t keylen,
		    const void *data, size_t len, unsigned char *out);
/*
 * PBKDF2 (RFC 8018) with HMAC-md: outlen bytes into out. passlen and
 * saltlen must fit an int, iter be 1..INT_MAX. fatal on a library
 * failure.
 */
void		 hash_pbkdf2(enum hash_md, const void *pass, size_t passlen,
		    const void *salt, size_t saltlen, unsigned iter,
		    unsigned char *out, size_t outlen);
/* n bytes from the CSPRNG (RAND_bytes); 0, or -1 if it has no seed. */
int		 hash_random(void *, size_t n);

#endif
