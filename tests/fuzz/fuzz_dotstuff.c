/*
 * fuzz_dotstuff.c -- the multi-line response decoder, dot_feed(),
 * against a reference written to be obviously right rather than fast.
 *
 * Input: chunk sizes (fuzz.h), then the bytes after a RETR's "+OK"
 * line. dot_feed() is fed the bytes cut at the chosen sizes, each call
 * with an output buffer of exactly the input's size (its documented
 * bound, so a sanitizer sees one byte too many). The reference,
 * fuzz_dotref() in fuzz.h, takes the whole input one byte at a time and
 * works on lines.
 *
 * Checked: the same end (whether and where the terminator was
 * consumed) and, when it ends, the same output bytes. Without a
 * terminator the decoder may owe one byte (a CR that might start CRLF,
 * or a byte held for lack of room), so its output must be the
 * reference's, or the reference's minus its last byte. Per call:
 * consumed <= inlen, everything consumed when 0 is returned, and after
 * the end every call returns 1 having consumed and written nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "pop3parse.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_chunks	 ch;
	struct dot_state	 ds;
	struct fuzz_dotref	 ref;
	unsigned char		*got, *out;
	size_t			 pos = 0, glen = 0, n, olen, used;
	int			 done = 0, rc;
	char			 dummy[1];

	if (fuzz_chunks_init(&ch, &data, &size) == -1)
		return 0;
	if ((ref.out = malloc(size + 1)) == NULL ||
	    (got = malloc(size + 1)) == NULL)
		abort();
	fuzz_dotref(data, size, &ref);

	dot_init(&ds);
	while (pos < size && !done) {
		n = fuzz_chunk_next(&ch, size - pos);
		/* Exactly n bytes of room: the documented bound. */
		if ((out = malloc(n)) == NULL && n > 0)
			abort();
		olen = used = (size_t)-1;
		rc = dot_feed(&ds, (const char *)data + pos, n, (char *)out,
		    &olen, &used);
		FUZZ_CHECK(rc == 0 || rc == 1);
		FUZZ_CHECK(used <= n && olen <= n);
		if (rc == 0)
			FUZZ_CHECK(used == n);
		FUZZ_CHECK(glen + olen <= size);
		if (olen > 0)
			memcpy(got + glen, out, olen);
		glen += olen;
		pos += used;
		done = rc;
		free(out);
	}

	FUZZ_CHECK(done == ref.done);
	if (done) {
		FUZZ_CHECK(pos == ref.used);
		FUZZ_CHECK(glen == ref.olen &&
		    memcmp(got, ref.out, glen) == 0);
		/* Finished: nothing more is taken or given. */
		olen = used = 1;
		FUZZ_CHECK(dot_feed(&ds, "x\r\n", 3, dummy, &olen, &used) ==
		    1 && olen == 0 && used == 0);
	} else {
		FUZZ_CHECK(pos == size);
		FUZZ_CHECK(glen == ref.olen || glen + 1 == ref.olen);
		FUZZ_CHECK(memcmp(got, ref.out, glen) == 0);
	}
	free(ref.out);
	free(got);
	return 0;
}
