/*
 * hash.h -- SHA-256 (streaming) and MD5 (APOP) through OpenSSL's EVP,
 * which uses the CPU's SHA extensions where there are some.
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

/* One-shot SHA-256. */
void		 hash_sha256(const void *, size_t, unsigned char out[HASH_LEN]);
/* One-shot MD5 as lower-case hex (APOP, RFC 1939 section 7). */
void		 hash_md5_hex(const void *, size_t, char out[33]);

#endif
