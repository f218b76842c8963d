/*
 * fuzz.h -- what the harnesses in tests/fuzz/ share.
 *
 * Each fuzz_*.c defines LLVMFuzzerTestOneInput() and nothing else
 * public. Linked with -fsanitize=fuzzer it is a libFuzzer target ("make
 * fuzz"); linked with replay.c it is a plain program that runs the
 * files named on its command line once each ("make check", any
 * compiler). A harness reports a broken invariant with FUZZ_CHECK(),
 * which aborts, so both drivers see it as a crash.
 *
 * Splitting: harnesses of streaming code take their chunk sizes from
 * the front of the input (fuzz_chunks_init()), so the fuzzer chooses
 * where the input is cut and a saved input replays the same cuts.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <sys/socket.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static inline void __attribute__((noreturn))
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
	abort();
}

#define FUZZ_CHECK(c) do {						\
	if (!(c))							\
		fuzz_fail(__FILE__, __LINE__, #c);			\
} while (0)

/*
 * Chunk sizes: the first byte of the input, mod 16, is how many size
 * bytes follow it. Each size byte is one chunk, cycled: 1..254 is that
 * many bytes, 255 the whole rest, and 0 an empty call (then one byte,
 * so that the input always advances). No size bytes: one call with
 * everything.
 */
struct fuzz_chunks {
	const uint8_t	*sz;
	size_t		 nsz, k;
	int		 zero;		/* the last chunk was empty */
};

/* Take the sizes off the front of *data; 0, or -1 if it is too short. */
static inline int
fuzz_chunks_init(struct fuzz_chunks *c, const uint8_t **data, size_t *len)
{
	size_t	n;

	c->k = 0;
	c->zero = 0;
	c->nsz = 0;
	c->sz = NULL;
	if (*len == 0)
		return -1;
	n = (*data)[0] % 16;
	if (*len < 1 + n)
		return -1;
	c->sz = *data + 1;
	c->nsz = n;
	*data += 1 + n;
	*len -= 1 + n;
	return 0;
}

/* The size of the next chunk when left bytes remain (left > 0). */
static inline size_t
fuzz_chunk_next(struct fuzz_chunks *c, size_t left)
{
	size_t	n;

	if (c->nsz == 0)
		return left;
	n = c->sz[c->k++ % c->nsz];
	if (n == 0 && !c->zero) {
		c->zero = 1;
		return 0;
	}
	c->zero = 0;
	if (n == 0)
		n = 1;
	else if (n == 255)
		n = left;
	return n < left ? n : left;
}

/*
 * The reference for dot_feed() (core/pop3parse.c), for the dot-stuffing
 * and session harnesses: written to be obviously right, not fast. It
 * takes the bytes after a multi-line "+OK" line one at a time:
 *
 *   a line is everything up to and including the next CRLF; only CRLF
 *   ends a line (RFC 1939 section 3). A line that is exactly ".CRLF"
 *   ends the response. Otherwise a leading "." is removed and the CRLF
 *   becomes LF; every other byte (bare CR, bare LF, NUL) is kept.
 *
 * The caller gives out, room for len bytes. Afterwards olen bytes of it
 * are the message; done says whether the terminator came, and used how
 * many input bytes up to and including it (len if it did not). Without
 * a terminator, the unfinished last line is in out too.
 */
struct fuzz_dotref {
	unsigned char	*out;
	size_t		 olen;
	int		 done;
	size_t		 used;
};

static inline void
fuzz_dotref(const unsigned char *in, size_t len, struct fuzz_dotref *r)
{
	unsigned char	*line;
	size_t		 n = 0, i, start;

	r->olen = 0;
	r->done = 0;
	r->used = len;
	if ((line = malloc(len + 1)) == NULL)
		abort();
	for (i = 0; i < len; i++) {
		line[n++] = in[i];
		if (n < 2 || line[n - 2] != '\r' || line[n - 1] != '\n')
			continue;
		/* A whole line, CRLF included. */
		if (n == 3 && line[0] == '.') {
			r->done = 1;
			r->used = i + 1;
			break;
		}
		start = line[0] == '.' ? 1 : 0;
		memcpy(r->out + r->olen, line + start, n - 2 - start);
		r->olen += n - 2 - start;
		r->out[r->olen++] = '\n';
		n = 0;
	}
	if (!r->done && n > 0) {
		/* An unfinished line: what the decoder can give so far. */
		start = line[0] == '.' ? 1 : 0;
		memcpy(r->out + r->olen, line + start, n - start);
		r->olen += n - start;
	}
	free(line);
}

/*
 * For the session harnesses' server threads: send all of p/n on the
 * socket fd (no SIGPIPE); 0, or -1 when the peer has gone.
 */
static inline int
fuzz_send_all(int fd, const char *p, size_t n)
{
	ssize_t	w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

#endif
