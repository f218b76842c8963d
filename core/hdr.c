/*
 * hdr.c -- streaming header scanner; see hdr.h.
 */
#include <string.h>
#include <strings.h>

#include "hdr.h"

static const struct {
	const char	*name;
	size_t		 len;
} hdr_names[HDR_NFIELDS] = {
	[HDR_MESSAGE_ID] = { "message-id", 10 },
	[HDR_DATE] = { "date", 4 },
	[HDR_FROM] = { "from", 4 },
	[HDR_SUBJECT] = { "subject", 7 },
	[HDR_RETURN_PATH] = { "return-path", 11 },
	[HDR_CONTENT_LENGTH] = { "content-length", 14 },
};

void
hdr_init(struct hdr_scan *h)
{
	memset(h->vlen, 0, sizeof h->vlen);
	memset(h->have, 0, sizeof h->have);
	h->in_body = 0;
	h->cur = -1;
	h->linelen = 0;
	h->line_cut = 0;
}

static void
append(struct hdr_scan *h, int f, const char *p, size_t n)
{
	size_t	room = HDR_VALUE_MAX - h->vlen[f];

	if (n > room)
		n = room;
	memcpy(h->val[f] + h->vlen[f], p, n);
	h->vlen[f] += n;
}

/* One complete header line (its end stripped). */
static void
hdr_line(struct hdr_scan *h, const char *p, size_t n)
{
	const char	*colon, *v;
	size_t		 namelen, vlen;
	int		 f;

	if (n > 0 && (p[0] == ' ' || p[0] == '\t')) {
		/* Folded: RFC 5322 unfolding removes only the CRLF. */
		if (h->cur >= 0)
			append(h, h->cur, p, n);
		return;
	}
	h->cur = -1;
	if ((colon = memchr(p, ':', n)) == NULL)
		return;
	namelen = (size_t)(colon - p);
	while (namelen > 0 && (p[namelen - 1] == ' ' ||
	    p[namelen - 1] == '\t'))
		namelen--;
	for (f = 0; f < HDR_NFIELDS; f++) {
		if (namelen == hdr_names[f].len &&
		    strncasecmp(p, hdr_names[f].name, namelen) == 0)
			break;
	}
	if (f == HDR_NFIELDS || h->have[f])
		return;		/* not kept, or not the first one */
	h->have[f] = 1;
	h->cur = f;
	v = colon + 1;
	vlen = n - (size_t)(v - p);
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	append(h, f, v, vlen);
}

static void
line_add(struct hdr_scan *h, const char *p, size_t n)
{
	size_t	room = HDR_LINE_MAX - h->linelen;

	if (n > room) {
		n = room;
		h->line_cut = 1;
	}
	memcpy(h->line + h->linelen, p, n);
	h->linelen += n;
}

size_t
hdr_feed(struct hdr_scan *h, const char *p, size_t n)
{
	const char	*nl;
	size_t		 used = 0, seg, len;

	while (!h->in_body && used < n) {
		nl = memchr(p + used, '\n', n - used);
		if (nl == NULL) {
			line_add(h, p + used, n - used);
			return n;
		}
		seg = (size_t)(nl - (p + used));
		line_add(h, p + used, seg);
		used += seg + 1;
		len = h->linelen;
		if (!h->line_cut && len > 0 && h->line[len - 1] == '\r')
			len--;
		if (len == 0 && !h->line_cut)
			h->in_body = 1;
		else
			hdr_line(h, h->line, len);
		h->linelen = 0;
		h->line_cut = 0;
	}
	return used;
}

const char *
hdr_get(const struct hdr_scan *h, enum hdr_field f, size_t *len)
{
	if (!h->have[f])
		return NULL;
	*len = h->vlen[f];
	return h->val[f];
}

const char *
hdr_message_id(const struct hdr_scan *h, size_t *len)
{
	const char	*v, *lt, *gt;
	size_t		 n;

	if ((v = hdr_get(h, HDR_MESSAGE_ID, &n)) == NULL)
		return NULL;
	if ((lt = memchr(v, '<', n)) != NULL &&
	    (gt = memchr(lt, '>', n - (size_t)(lt - v))) != NULL) {
		*len = (size_t)(gt - lt) + 1;
		return lt;
	}
	while (n > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' ||
	    v[n - 1] == '\r'))
		n--;
	if (n == 0)
		return NULL;
	*len = n;
	return v;
}
