/*
 * probe_infer.c -- the UIDL scheme of a listing, its duplicate UIDLs,
 * and a Gmail-like server, from what probe saw (probe_infer.h).
 *
 * The schemes are those of the servers docs/servers.md describes:
 * Dovecot's default pop3_uidl_format %08Xu%08Xv (docs/dovecot-notes.md),
 * Courier's UIDn-UIDVALIDITY (docs/servers/courier.md), GNU Mailutils'
 * md5.time.uid, popa3d's 16 hex digits and solid-pop3d's 32, both cut
 * from an MD5 of a few header lines (docs/servers/popa3d.md,
 * docs/servers/solid-pop3d.md). A scheme computed from headers gives
 * two messages with the same such headers one UIDL; the count of those
 * is what matters to the user, the name of the scheme is a hint.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "probe_infer.h"
#include "util.h"

#define F_DOVECOT	0x01
#define F_COURIER	0x02
#define F_QPOPPER	0x04
#define F_DECIMAL	0x08
#define F_HEX16		0x10
#define F_MD5		0x20
#define F_SHA1		0x40
#define F_ALL		0x7f

struct uid_ref {
	const char	*p;
	size_t		 len;
	size_t		 i;	/* index in the listing */
};

static int
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* The length of the run of characters of s that pass f. */
static size_t
span(const char *s, size_t len, int (*f)(char))
{
	size_t	k;

	for (k = 0; k < len && f(s[k]); k++)
		;
	return k;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* n digits as a number, or -1 past UINT32_MAX or for no digit. */
static int64_t
decimal(const char *s, size_t n)
{
	int64_t	v = 0;
	size_t	k;

	if (n == 0 || n > 10)
		return -1;
	for (k = 0; k < n; k++)
		v = v * 10 + (s[k] - '0');
	return v > UINT32_MAX ? -1 : v;
}

static uint32_t
hex32(const char *s)
{
	uint32_t	v = 0;
	size_t		k;

	for (k = 0; k < 8; k++)
		v = v << 4 | (uint32_t)(is_digit(s[k]) ? s[k] - '0' :
		    (s[k] | 0x20) - 'a' + 10);
	return v;
}

/*
 * The schemes one UIDL fits; *val gets the UIDVALIDITY it names
 * (Dovecot's, Courier's), else 0.
 */
static unsigned
uid_features(const char *s, size_t len, int64_t *val)
{
	unsigned	f = 0;
	size_t		h, d, d2;

	*val = 0;
	h = span(s, len, is_hex);
	if (h == len) {
		if (len == 16)
			f |= F_HEX16;
		else if (len == 32)
			f |= F_MD5;
		else if (len == 40)
			f |= F_SHA1;
	}
	/*
	 * Dovecot's %08Xu%08Xv is in lower case, as popa3d's 16 digits:
	 * a UID below 2^24 (a digest's starts "00" once in 256) and one
	 * UIDVALIDITY for the listing (probe_uidl_classify()) tell them
	 * apart.
	 */
	if (len == 16 && h == len && hex32(s) != 0 &&
	    hex32(s) < 0x1000000 && hex32(s + 8) != 0) {
		f |= F_DOVECOT;
		*val = hex32(s + 8);
	}
	if (span(s, len, is_digit) == len)
		f |= F_DECIMAL;
	if (len > 5 && memcmp(s, "UID", 3) == 0) {
		d = span(s + 3, len - 3, is_digit);
		if (d > 0 && 3 + d < len && s[3 + d] == '-' &&
		    span(s + 4 + d, len - 4 - d, is_digit) == len - 4 - d &&
		    len - 4 - d > 0) {
			f |= F_COURIER;
			*val = decimal(s + 4 + d, len - 4 - d);
		}
	}
	if (h == 32 && len > 35 && s[32] == '.') {
		d = span(s + 33, len - 33, is_digit);
		if (d > 0 && 33 + d + 1 < len && s[33 + d] == '.') {
			d2 = span(s + 34 + d, len - 34 - d, is_digit);
			if (d2 == len - 34 - d)
				f |= F_QPOPPER;
		}
	}
	return f;
}

static int
uid_cmp(const void *a, const void *b)
{
	const struct uid_ref	*x = a, *y = b;
	int			 c;

	c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);
	if (c != 0)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* Count the UIDLs listed more than once (sorting a copy). */
static void
uid_dups(const struct pop3_listing *l, struct uidl_info *ui)
{
	struct uid_ref	*r;
	size_t		 i, j, first = SIZE_MAX;

	r = xreallocarray(NULL, l->n, sizeof *r);
	for (i = 0; i < l->n; i++) {
		r[i].p = POP3_UID(l, i);
		r[i].len = l->e[i].uid_len;
		r[i].i = i;
	}
	qsort(r, l->n, sizeof *r, uid_cmp);
	for (i = 0; i < l->n; i = j) {
		for (j = i + 1; j < l->n && r[j].len == r[i].len &&
		    memcmp(r[j].p, r[i].p, r[i].len) == 0; j++)
			;
		ui->distinct++;
		if (j - i == 1)
			continue;
		ui->dup_uidls++;
		ui->dup_msgs += j - i;
		/* r[i] has the lowest index of its run. */
		if (first == SIZE_MAX || r[i].i < r[first].i)
			first = i;
	}
	if (first != SIZE_MAX) {
		memcpy(ui->dup_first, r[first].p, r[first].len);
		ui->dup_first[r[first].len] = '\0';
	}
	free(r);
}

void
probe_uidl_classify(const struct pop3_listing *l, struct uidl_info *ui)
{
	int64_t		val, dv = -1, cv = -1;
	unsigned	f = F_ALL;
	int		dv_same = 1, cv_same = 1;
	size_t		i;

	memset(ui, 0, sizeof *ui);
	ui->n = l->n;
	if (l->n == 0) {
		ui->scheme = UIDL_S_NONE;
		return;
	}
	for (i = 0; i < l->n && f != 0; i++) {
		f &= uid_features(POP3_UID(l, i), l->e[i].uid_len, &val);
		if (f & F_DOVECOT) {
			if (dv != -1 && val != dv)
				dv_same = 0;
			dv = val;
		}
		if (f & F_COURIER) {
			if (val == -1 || (cv != -1 && val != cv))
				cv_same = 0;
			cv = val;
		}
	}
	/* Dovecot's UIDVALIDITY is the mailbox's: one for the listing. */
	if ((f & F_DOVECOT) && dv_same) {
		ui->scheme = UIDL_S_DOVECOT;
		ui->uidvalidity = (uint32_t)dv;
	} else if (f & F_COURIER) {
		ui->scheme = UIDL_S_COURIER;
		ui->uidvalidity = cv_same && cv > 0 ? (uint32_t)cv : 0;
	} else if (f & F_QPOPPER)
		ui->scheme = UIDL_S_QPOPPER;
	else if (f & F_DECIMAL)
		ui->scheme = UIDL_S_DECIMAL;
	else if (f & F_HEX16)
		ui->scheme = UIDL_S_HEX16;
	else if (f & F_MD5)
		ui->scheme = UIDL_S_MD5;
	else if (f & F_SHA1)
		ui->scheme = UIDL_S_SHA1;
	else
		ui->scheme = UIDL_S_OPAQUE;
	uid_dups(l, ui);
}

/* 1 when s holds word, in any case. */
static int
has_word(const char *s, const char *word)
{
	size_t	n = strlen(word);

	for (; *s != '\0'; s++)
		if (strncasecmp(s, word, n) == 0)
			return 1;
	return 0;
}

int
probe_gmail_like(const char *greeting, const char *const *capa,
    size_t ncapa)
{
	const char	*v;
	size_t		 i;

	if (greeting != NULL && has_word(greeting, "Gpop"))
		return 1;
	for (i = 0; i < ncapa; i++) {
		if (strncasecmp(capa[i], "IMPLEMENTATION", 14) != 0 ||
		    (capa[i][14] != ' ' && capa[i][14] != '\0'))
			continue;
		v = capa[i] + 14;
		if (has_word(v, "Gpop") || has_word(v, "Gmail"))
			return 1;
	}
	return 0;
}
