/*
 * hdr.c -- streaming header scanner; see hdr.h.
 */
#include <string.h>
#include <strings.h>
#include <time.h>

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

/* Read a run of digits (at most max) as a number; -1 if none. */
static long
num(const char **p, const char *end, int max, int *ndig)
{
	long	v = 0;
	int	n = 0;

	while (*p < end && **p >= '0' && **p <= '9' && n < max) {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	*ndig = n;
	return n == 0 ? -1 : v;
}

static void
skip_ws(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t' || **p == '\r' ||
	    **p == '\n'))
		(*p)++;
}

int
hdr_parse_date(const char *s, size_t len, int64_t *out)
{
	static const char	 months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	static const struct { const char *n; int off; } zones[] = {
		{ "UT", 0 }, { "GMT", 0 }, { "Z", 0 }, { "EST", -500 },
		{ "EDT", -400 }, { "CST", -600 }, { "CDT", -500 },
		{ "MST", -700 }, { "MDT", -600 }, { "PST", -800 },
		{ "PDT", -700 },
	};
	const char	*p = s, *end = s + len, *m;
	struct tm	 tm;
	long		 day, year, hh, mm, ss = 0, zone = 0;
	int		 nd, i, mon = -1, sign;
	time_t		 t;

	skip_ws(&p, end);
	/* Optional day name and comma. */
	if (p < end && ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))) {
		while (p < end && *p != ',' && *p != ' ')
			p++;
		if (p < end && *p == ',')
			p++;
		skip_ws(&p, end);
	}
	if ((day = num(&p, end, 2, &nd)) < 1 || day > 31)
		return -1;
	skip_ws(&p, end);
	if (end - p < 3)
		return -1;
	for (i = 0; i < 12; i++)
		if (strncasecmp(p, months + 3 * i, 3) == 0)
			mon = i;
	if (mon < 0)
		return -1;
	p += 3;
	while (p < end && *p != ' ' && *p != '\t')
		p++;	/* "July" */
	skip_ws(&p, end);
	if ((year = num(&p, end, 4, &nd)) < 0)
		return -1;
	if (nd == 2)
		year += year < 50 ? 2000 : 1900;
	else if (nd == 3)
		year += 1900;
	skip_ws(&p, end);
	if ((hh = num(&p, end, 2, &nd)) < 0 || hh > 23 || p >= end ||
	    *p++ != ':' || (mm = num(&p, end, 2, &nd)) < 0 || mm > 59)
		return -1;
	if (p < end && *p == ':') {
		p++;
		if ((ss = num(&p, end, 2, &nd)) < 0 || ss > 60)
			return -1;
	}
	skip_ws(&p, end);
	if (p < end && (*p == '+' || *p == '-')) {
		sign = *p++ == '-' ? -1 : 1;
		if ((zone = num(&p, end, 4, &nd)) < 0 || nd != 4 ||
		    zone % 100 > 59)
			return -1;
		zone *= sign;
	} else if (p < end) {
		for (m = p; m < end && ((*m >= 'A' && *m <= 'Z') ||
		    (*m >= 'a' && *m <= 'z')); m++)
			;
		for (i = 0; i < (int)(sizeof zones / sizeof zones[0]); i++)
			if ((size_t)(m - p) == strlen(zones[i].n) &&
			    strncasecmp(p, zones[i].n, (size_t)(m - p)) == 0)
				zone = zones[i].off;
	}
	memset(&tm, 0, sizeof tm);
	tm.tm_year = (int)year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = (int)day;
	tm.tm_hour = (int)hh;
	tm.tm_min = (int)mm;
	tm.tm_sec = (int)ss;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	*out = (int64_t)t - (zone / 100) * 3600 - (zone % 100) * 60;
	return 0;
}
