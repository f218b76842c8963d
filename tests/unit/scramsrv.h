/*
 * scramsrv.h -- the server side of SCRAM-SHA-256 (RFC 5802, 7677) for
 * the scripted servers of the unit tests (test_pop3auth, test_imap):
 * user "user", password "pencil", salt "NaCl-salt", 4096 iterations.
 * It checks the client's proof with the hash primitives of core/hash.h
 * and computes the signature it sends, so the client under test is
 * judged by the RFC's arithmetic, not by sasl.c's own.
 *
 * Everything crossing this interface is base64, as on the wire.
 */
#ifndef SCRAMSRV_H
#define SCRAMSRV_H

#include <stddef.h>

struct scram_srv {
	char	cfbare[1024];		/* client-first-message-bare */
	char	sf[1400];		/* server-first-message */
	unsigned char salted[32];
};

/*
 * The client's first message (base64): into out the server-first
 * message (base64). 0, or -1 with a reason on stderr.
 */
int	scram_srv_first(struct scram_srv *, const char *cf64, char *out,
	    size_t outsize);
/*
 * The client's final message (base64): checks the proof; into out the
 * "v=" server-final message (base64), with a wrong signature when badv.
 * 0, or -1 with a reason on stderr (a wrong proof).
 */
int	scram_srv_final(struct scram_srv *, const char *fin64, int badv,
	    char *out, size_t outsize);

#endif
