/*
 * hdr.h -- a streaming scanner for the header section of a message.
 *
 * Fed the decoded message in chunks of any size, it finds where the
 * header section ends (the first empty line, RFC 5322 section 2.1) and
 * keeps the first Message-ID, Date, From, Subject, Return-Path and
 * Content-Length,
 * unfolded and cut at HDR_VALUE_MAX bytes. Memory is fixed: longer
 * lines and values are cut for the metadata only; the message itself is
 * never changed by this scanner. Pure: no I/O, no allocation.
 */
#ifndef HDR_H
#define HDR_H

#include <stddef.h>
#include <stdint.h>

#define HDR_VALUE_MAX	998
#define HDR_LINE_MAX	1024

enum hdr_field {
	HDR_MESSAGE_ID,
	HDR_DATE,
	HDR_FROM,
	HDR_SUBJECT,
	HDR_RETURN_PATH,
	HDR_CONTENT_LENGTH,
	HDR_NFIELDS
};

struct hdr_scan {
	int		in_body;
	int		cur;		/* field being continued, or -1 */
	size_t		linelen;	/* bytes kept of the current line */
	int		line_cut;	/* current line was longer */
	char		line[HDR_LINE_MAX];
	size_t		vlen[HDR_NFIELDS];
	int		have[HDR_NFIELDS];
	char		val[HDR_NFIELDS][HDR_VALUE_MAX];
};

void		 hdr_init(struct hdr_scan *);
/*
 * Feed n bytes. Returns how many of them belong to the header section
 * (the empty line that ends it included); the rest is body. Once the
 * body has started, every later call returns 0.
 */
size_t		 hdr_feed(struct hdr_scan *, const char *p, size_t n);
/* The kept value of a field (not NUL-terminated) or NULL if absent. */
const char	*hdr_get(const struct hdr_scan *, enum hdr_field, size_t *len);
/*
 * The Message-ID without surrounding space: the first "<...>" in the
 * value if there is one, else the trimmed value. NULL if absent or
 * empty.
 */
const char	*hdr_message_id(const struct hdr_scan *, size_t *len);

/*
 * Parse an RFC 5322 date ("Tue, 1 Jul 2003 10:52:37 +0200", with the
 * obsolete forms: no day name, two-digit years, zone names, no seconds)
 * into seconds since the epoch. Returns 0, or -1 if it is not a date.
 */
int		 hdr_parse_date(const char *s, size_t len, int64_t *out);

#endif
