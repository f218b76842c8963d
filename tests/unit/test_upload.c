/*
 * test_upload.c -- unit tests for the pure parts of core/upload.c (the
 * IMAP upload): the size of a message's wire form, counted while it
 * streams, and the URL that names a destination in the index. The
 * upload itself is tested against real servers (test_upload.sh, Dovecot)
 * and a scripted one (test_upload_fake.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "upload.h"

/* The wire form by the rule, written out: each LF without CR before. */
static size_t
wire_len(const char *p, size_t n)
{
	size_t	i, len = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			len++;
		len++;
	}
	return len;
}

static const char *const msgs[] = {
	"",
	"\n",
	"\r\n",
	"a\nb\n",
	"a\r\nb\r\n",
	"a\r\r\nb\n\n",
	"no newline at all",
	"\n\n\n",
	"x\r",
	"\ry\n\r\n\n\r",
	"From: a\nSubject: b\n\nbody\r\nline\nlast",
};

/* The count is the same for every split of the input. */
static void
test_wire_extra_splits(void)
{
	size_t	i, a, b, n;
	char	prev;

	for (i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
		n = strlen(msgs[i]);
		for (a = 0; a <= n; a++)
			for (b = a; b <= n; b++) {
				uint64_t	extra = 0;

				prev = 0;
				extra += upload_wire_extra(msgs[i], a, &prev);
				extra += upload_wire_extra(msgs[i] + a, b - a,
				    &prev);
				extra += upload_wire_extra(msgs[i] + b, n - b,
				    &prev);
				T_CHECKF(n + extra == wire_len(msgs[i], n),
				    "message %zu split %zu/%zu: %llu, want %zu",
				    i, a, b, (unsigned long long)(n + extra),
				    wire_len(msgs[i], n));
			}
	}
}

static void
test_canon_url(void)
{
	char	out[256];

	T_CHECK(upload_canon_url(1, "me", "imap.example", "993", "Archive",
	    out, sizeof out) == 0);
	T_CHECK(strcmp(out, "imaps://me@imap.example:993/Archive") == 0);
	T_CHECK(upload_canon_url(0, "a@b.example", "::1", "143",
	    "Old Mail/2019", out, sizeof out) == 0);
	T_CHECKF(strcmp(out, "imap://a%40b.example@[::1]:143/Old%20Mail/2019")
	    == 0, "%s", out);
	/* Non-ASCII and the characters of the URL's syntax are encoded. */
	T_CHECK(upload_canon_url(1, "u", "h", "993", "\xc3\xa9t\xc3\xa9?#%",
	    out, sizeof out) == 0);
	T_CHECKF(strcmp(out, "imaps://u@h:993/%C3%A9t%C3%A9%3F%23%25") == 0,
	    "%s", out);
	/* Too small: refused, not cut. */
	T_CHECK(upload_canon_url(1, "me", "imap.example", "993", "Archive",
	    out, 20) == -1);
}

int
main(void)
{
	T_RUN(test_wire_extra_splits);
	T_RUN(test_canon_url);
	return T_END();
}
