/*
 * imapenc.c -- pure encodings of IMAP values that the grammar of a
 * response does not need, declared in imapparse.h with the parsers:
 * date-time both ways (RFC 3501 date-time, the INTERNALDATE of APPEND),
 * and mailbox names in modified UTF-7 (RFC 3501 section 5.1.3). No
 * I/O, no allocation.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "imapparse.h"

static const char *const months[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

/* ---- date-time ------------------------------------------------------ */

static int
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int64_t y, int m)
{
	static const int dm[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	return dm[m] + (m == 1 && is_leap(y));
}

/* Days from 1970-01-01 to 1 January of y (y >= 1). */
static int64_t
days_before_year(int64_t y)
{
	int64_t	p = y - 1;

	return 365 * p + p / 4 - p / 100 + p / 400 - 719162;
}

int
imap_format_datetime(time_t t, int zone, char *out)
{
	int64_t	 s, d, y, rem;
	int	 m, az;

	/* Outside years 1..9999 whatever the zone; no overflow below. */
	if (zone < -1439 || zone > 1439 || (int64_t)t < -62135683200 ||
	    (int64_t)t > 253402387200)
		return -1;
	s = (int64_t)t + (int64_t)zone * 60;
	d = s / 86400;
	rem = s % 86400;
	if (rem < 0) {
		rem += 86400;
		d--;
	}
	y = 1970 + d / 366;
	if (y < 1)
		y = 1;
	while (y > 1 && days_before_year(y) > d)
		y--;
	while (days_before_year(y + 1) <= d)
		y++;
	if (days_before_year(y) > d || y > 9999)
		return -1;
	d -= days_before_year(y);
	for (m = 0; d >= days_in_month(y, m); m++)
		d -= days_in_month(y, m);
	az = zone < 0 ? -zone : zone;
	out[0] = '"';
	out[1] = (char)('0' + (d + 1) / 10);
	out[2] = (char)('0' + (d + 1) % 10);
	out[3] = '-';
	memcpy(out + 4, months[m], 3);
	out[7] = '-';
	out[8] = (char)('0' + y / 1000);
	out[9] = (char)('0' + y / 100 % 10);
	out[10] = (char)('0' + y / 10 % 10);
	out[11] = (char)('0' + y % 10);
	out[12] = ' ';
	out[13] = (char)('0' + rem / 36000);
	out[14] = (char)('0' + rem / 3600 % 10);
	out[15] = ':';
	out[16] = (char)('0' + rem % 3600 / 600);
	out[17] = (char)('0' + rem % 3600 / 60 % 10);
	out[18] = ':';
	out[19] = (char)('0' + rem % 60 / 10);
	out[20] = (char)('0' + rem % 10);
	out[21] = ' ';
	out[22] = zone < 0 ? '-' : '+';
	out[23] = (char)('0' + az / 600);
	out[24] = (char)('0' + az / 60 % 10);
	out[25] = (char)('0' + az % 60 / 10);
	out[26] = (char)('0' + az % 10);
	out[27] = '"';
	out[28] = '\0';
	return 0;
}

/* n digits at p as a number, or -1. */
static int
digits(const char *p, int n)
{
	int	v = 0;

	while (n-- > 0) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p++ - '0');
	}
	return v;
}

int
imap_parse_datetime(const char *p, size_t n, time_t *t, int *zone)
{
	int	day, m, y, hh, mm, ss, zh, zm, z;
	int64_t	v;

	if (n != IMAP_DATETIME_LEN || p[0] != '"' || p[27] != '"' ||
	    p[3] != '-' || p[7] != '-' || p[12] != ' ' || p[15] != ':' ||
	    p[18] != ':' || p[21] != ' ' || (p[22] != '+' && p[22] != '-'))
		return -1;
	day = p[1] == ' ' ? digits(p + 2, 1) : digits(p + 1, 2);
	for (m = 0; m < 12; m++)
		if (strncasecmp(p + 4, months[m], 3) == 0)
			break;
	y = digits(p + 8, 4);
	hh = digits(p + 13, 2);
	mm = digits(p + 16, 2);
	ss = digits(p + 19, 2);
	zh = digits(p + 23, 2);
	zm = digits(p + 25, 2);
	if (m == 12 || y < 1 || day < 1 || day > days_in_month(y, m) ||
	    hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60 ||
	    zh < 0 || zh > 23 || zm < 0 || zm > 59)
		return -1;
	z = zh * 60 + zm;
	if (p[22] == '-')
		z = -z;
	v = days_before_year(y);
	while (m-- > 0)
		v += days_in_month(y, m);
	v = (v + day - 1) * 86400 + hh * 3600 + mm * 60 + ss - (int64_t)z * 60;
	if ((int64_t)(time_t)v != v)
		return -1;
	*t = (time_t)v;
	*zone = z;
	return 0;
}

/* ---- modified UTF-7 (RFC 3501 section 5.1.3) ------------------------ */

/* One code point from UTF-8 at *p (advanced); -1 if not valid. */
static int32_t
utf8_next(const unsigned char **p)
{
	const unsigned char	*s = *p;
	int32_t			 cp;
	int			 n, i;

	if (s[0] < 0x80) {
		*p = s + 1;
		return s[0];
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		cp = s[0] & 0x1f;
		n = 1;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		cp = s[0] & 0x0f;
		n = 2;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		cp = s[0] & 0x07;
		n = 3;
	} else
		return -1;
	for (i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*p = s + n + 1;
	return cp;
}

int
imap_utf7_encode(const char *folder, char *out, size_t outsize)
{
	static const char	 b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+,";
	const unsigned char	*p = (const unsigned char *)folder;
	size_t			 o = 0;
	uint32_t		 bits = 0;
	int			 nbits = 0, in64 = 0, k, nu;
	int32_t			 cp;
	uint16_t		 u[2];

#define PUT(ch) do {							\
	if (o + 1 >= outsize)						\
		return -1;						\
	out[o++] = (ch);						\
} while (0)
	if (outsize == 0)
		return -1;
	while (*p != '\0') {
		if ((cp = utf8_next(&p)) == -1)
			return -1;
		if (cp >= 0x20 && cp <= 0x7e) {
			if (in64) {
				if (nbits > 0)
					PUT(b64[(bits << (6 - nbits)) & 0x3f]);
				PUT('-');
				in64 = 0;
				bits = 0;
				nbits = 0;
			}
			PUT((char)cp);
			if (cp == '&')
				PUT('-');
			continue;
		}
		if (!in64) {
			PUT('&');
			in64 = 1;
		}
		if (cp >= 0x10000) {
			u[0] = (uint16_t)(0xd800 + ((cp - 0x10000) >> 10));
			u[1] = (uint16_t)(0xdc00 + ((cp - 0x10000) & 0x3ff));
			nu = 2;
		} else {
			u[0] = (uint16_t)cp;
			nu = 1;
		}
		for (k = 0; k < nu; k++) {
			bits = (bits << 16) | u[k];
			nbits += 16;
			while (nbits >= 6) {
				nbits -= 6;
				PUT(b64[(bits >> nbits) & 0x3f]);
			}
			bits &= (1u << nbits) - 1;
		}
	}
	if (in64) {
		if (nbits > 0)
			PUT(b64[(bits << (6 - nbits)) & 0x3f]);
		PUT('-');
	}
#undef PUT
	out[o] = '\0';
	return 0;
}
