/*
 * test_probe_infer.c -- unit tests for cmd/probe_infer.c: the UIDL
 * scheme of a listing, its duplicate UIDLs, and a Gmail-like server.
 *
 * cmd/ is not in the test library (only core/ and formats/ are), so
 * the file under test is compiled into this test by including it.
 *
 * The UIDLs are the servers' own, as docs/dovecot-notes.md and
 * docs/servers/ record them: Dovecot's %08Xu%08Xv, Courier's
 * UIDn-UIDVALIDITY, Mailutils' md5.time.uid, popa3d's 16 hex digits,
 * solid-pop3d's MD5, with the duplicates popa3d and solid-pop3d list.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "source.h"
#include "../../cmd/probe_infer.c"

#define END	NULL

/* A listing of the UIDLs given, numbered 1, 2, ... */
static void
listing(struct pop3_listing *l, const char *const *uids)
{
	size_t	i;

	memset(l, 0, sizeof *l);
	for (i = 0; uids[i] != NULL; i++)
		T_CHECK(source_listing_add(l, (uint32_t)i + 1, uids[i],
		    strlen(uids[i]), 100) == 0);
}

static void
classify(const char *const *uids, struct uidl_info *ui)
{
	struct pop3_listing	l;

	listing(&l, uids);
	probe_uidl_classify(&l, ui);
	pop3_listing_free(&l);
}

static const struct scheme_case {
	const char		*name;
	enum uidl_scheme	 want;
	uint32_t		 uidvalidity;
	const char		*uids[6];
} schemes[] = {
	/* As Dovecot 2.3 sends them: in lower case. */
	{ "dovecot", UIDL_S_DOVECOT, 0x6b08168a, { "000000016b08168a",
	    "000000026b08168a", "0000000a6b08168a", END } },
	{ "dovecot upper", UIDL_S_DOVECOT, 0x6b08168a, { "000000016B08168A",
	    "00FFFFFF6B08168A", END } },
	/* All digits: still Dovecot's (one UIDVALIDITY). */
	{ "dovecot digits", UIDL_S_DOVECOT, 0x12345678, {
	    "0000000112345678", "0000000212345678", END } },
	{ "dovecot one", UIDL_S_DOVECOT, 0x6B08168A, { "000000FF6B08168A",
	    END } },
	/* Two UIDVALIDITYs: not one mailbox's. */
	{ "16 hex, upper, mixed", UIDL_S_HEX16, 0, { "000000016B08168A",
	    "000000026B08168B", END } },
	{ "popa3d", UIDL_S_HEX16, 0, { "fd0c5b6d3c75ef6b",
	    "d98c1dd404b2008f", "d98c1dd404b2008f", END } },
	/* One of popa3d's: a "UID" of 2^24 or more is no Dovecot's. */
	{ "popa3d one", UIDL_S_HEX16, 0, { "fd0c5b6d3c75ef6b", END } },
	{ "uid 2^24", UIDL_S_HEX16, 0, { "010000006b08168a", END } },
	{ "uid 0", UIDL_S_HEX16, 0, { "000000006B08168A", END } },
	{ "uidvalidity 0", UIDL_S_HEX16, 0, { "0000000a00000000", END } },
	/* Small UIDs of popa3d's, but no shared UIDVALIDITY. */
	{ "popa3d small", UIDL_S_HEX16, 0, { "00000001fd0c5b6d",
	    "00000002d98c1dd4", END } },
	{ "courier", UIDL_S_COURIER, 1796286653u, { "UID1-1796286653",
	    "UID2-1796286653", "UID10-1796286653", END } },
	{ "courier two validities", UIDL_S_COURIER, 0, { "UID1-1796286653",
	    "UID2-1796286964", END } },
	{ "mailutils", UIDL_S_QPOPPER, 0, {
	    "61bb5f29d0b40040d8eef17bf0108ede.1796286695.1",
	    "61bb5f29d0b40040d8eef17bf0108edf.1796286695.2", END } },
	{ "decimal", UIDL_S_DECIMAL, 0, { "1", "2", "300", END } },
	{ "solid md5", UIDL_S_MD5, 0, { "150790eb1275a344a08386450ba24463",
	    "d41d8cd98f00b204e9800998ecf8427e", END } },
	{ "md5 upper", UIDL_S_MD5, 0, { "D41D8CD98F00B204E9800998ECF8427E",
	    END } },
	{ "sha1", UIDL_S_SHA1, 0, {
	    "da39a3ee5e6b4b0d3255bfef95601890afd80709", END } },
	/* A mix of schemes, or none. */
	{ "md5 and sha1", UIDL_S_OPAQUE, 0, {
	    "d41d8cd98f00b204e9800998ecf8427e",
	    "da39a3ee5e6b4b0d3255bfef95601890afd80709", END } },
	{ "decimal and courier", UIDL_S_OPAQUE, 0, { "1", "UID2-17",
	    END } },
	{ "gmail", UIDL_S_OPAQUE, 0, { "GmailId17a3b4c5d6e7f809", END } },
	{ "courier, no validity", UIDL_S_OPAQUE, 0, { "UID1-", END } },
	{ "courier, no uid", UIDL_S_OPAQUE, 0, { "UID-17", END } },
	{ "mailutils, cut", UIDL_S_OPAQUE, 0, {
	    "61bb5f29d0b40040d8eef17bf0108ede.1796286695.", END } },
	{ "15 digits", UIDL_S_DECIMAL, 0, { "123456789012345", END } },
	{ "15 hex digits", UIDL_S_OPAQUE, 0, { "abcdef789012345", END } },
	{ "empty", UIDL_S_NONE, 0, { END } },
};

static void
test_schemes(void)
{
	const struct scheme_case	*c;
	struct uidl_info		 ui;
	size_t				 k;

	for (k = 0; k < NELEM(schemes); k++) {
		c = &schemes[k];
		classify(c->uids, &ui);
		T_CHECKF(ui.scheme == c->want, "%s: scheme %d, want %d",
		    c->name, (int)ui.scheme, (int)c->want);
		T_CHECKF(ui.uidvalidity == c->uidvalidity, "%s: uidvalidity "
		    "%u, want %u", c->name, ui.uidvalidity, c->uidvalidity);
	}
}

static const struct dup_case {
	const char	*name;
	size_t		 n, distinct, dup_uidls, dup_msgs;
	const char	*first;
	const char	*uids[8];
} dups[] = {
	{ "none", 3, 3, 0, 0, "", { "a", "b", "c", END } },
	{ "empty", 0, 0, 0, 0, "", { END } },
	{ "one", 1, 1, 0, 0, "", { "a", END } },
	/* popa3d: messages 3 and 4 without any of its headers. */
	{ "popa3d", 4, 3, 1, 2, "d98c1dd404b2008f", { "fd0c5b6d3c75ef6b",
	    "02898abcc626b0a3", "d98c1dd404b2008f", "d98c1dd404b2008f",
	    END } },
	/* The first by message number, not by sort order. */
	{ "two groups", 6, 3, 2, 5, "zz", { "zz", "aa", "aa", "zz", "aa",
	    "q", END } },
	/* A prefix is another UIDL. */
	{ "prefix", 3, 3, 0, 0, "", { "ab", "a", "abc", END } },
	{ "all one", 3, 1, 1, 3, "x", { "x", "x", "x", END } },
	{ "case", 2, 2, 0, 0, "", { "AbC", "abc", END } },
};

static void
test_duplicates(void)
{
	const struct dup_case	*c;
	struct uidl_info	 ui;
	size_t			 k;

	for (k = 0; k < NELEM(dups); k++) {
		c = &dups[k];
		classify(c->uids, &ui);
		T_CHECKF(ui.n == c->n && ui.distinct == c->distinct &&
		    ui.dup_uidls == c->dup_uidls && ui.dup_msgs == c->dup_msgs,
		    "%s: n %zu distinct %zu dup %zu/%zu", c->name, ui.n,
		    ui.distinct, ui.dup_uidls, ui.dup_msgs);
		T_CHECKF(strcmp(ui.dup_first, c->first) == 0,
		    "%s: first '%s', want '%s'", c->name, ui.dup_first,
		    c->first);
	}
}

/* A UIDL of 70 characters, the longest, kept whole as the first. */
static void
test_long_uidl(void)
{
	struct uidl_info	ui;
	char			u[POP3_UIDL_MAX + 1];
	const char		*uids[3] = { u, u, END };

	memset(u, 'x', POP3_UIDL_MAX);
	u[POP3_UIDL_MAX] = '\0';
	classify(uids, &ui);
	T_CHECK(ui.scheme == UIDL_S_OPAQUE);
	T_CHECK(ui.dup_uidls == 1 && ui.dup_msgs == 2);
	T_CHECK(strcmp(ui.dup_first, u) == 0);
}

/* Many UIDLs: the sort, and one duplicate among them. */
static void
test_many(void)
{
	struct pop3_listing	l;
	struct uidl_info	ui;
	char			u[32];
	uint32_t		i, n = 20000;

	memset(&l, 0, sizeof l);
	for (i = 1; i <= n; i++) {
		snprintf(u, sizeof u, "%08X6B08168A", i == n ? 7 : i);
		T_CHECK(source_listing_add(&l, i, u, strlen(u), 1) == 0);
	}
	probe_uidl_classify(&l, &ui);
	T_CHECK(ui.scheme == UIDL_S_DOVECOT && ui.uidvalidity == 0x6B08168A);
	T_CHECK(ui.n == n && ui.distinct == n - 1 && ui.dup_uidls == 1 &&
	    ui.dup_msgs == 2);
	T_CHECK(strcmp(ui.dup_first, "000000076B08168A") == 0);
	pop3_listing_free(&l);
}

static void
test_gmail(void)
{
	const char	*capa_impl[] = { "USER", "IMPLEMENTATION Gpop 2.0" };
	const char	*capa_gmail[] = { "implementation gmail-2" };
	const char	*capa_courier[] = { "UIDL",
	    "IMPLEMENTATION Courier Mail Server" };
	const char	*capa_other[] = { "X-GPOP-NOTE Gpop", "IMPLEMENTATIONS "
	    "Gmail" };

	T_CHECK(probe_gmail_like("Gpop ready for requests from 127.0.0.1 "
	    "x1mb", NULL, 0));
	T_CHECK(probe_gmail_like("GPOP ready", NULL, 0));
	T_CHECK(!probe_gmail_like("Dovecot ready.", NULL, 0));
	T_CHECK(!probe_gmail_like("", NULL, 0));
	T_CHECK(!probe_gmail_like(NULL, NULL, 0));
	T_CHECK(!probe_gmail_like("Gpo", NULL, 0));
	T_CHECK(probe_gmail_like("Hello", capa_impl, NELEM(capa_impl)));
	T_CHECK(probe_gmail_like(NULL, capa_gmail, NELEM(capa_gmail)));
	T_CHECK(!probe_gmail_like("Hello there.", capa_courier,
	    NELEM(capa_courier)));
	/* Only the IMPLEMENTATION line names the implementation. */
	T_CHECK(!probe_gmail_like("Hello", capa_other, NELEM(capa_other)));
}

int
main(void)
{
	T_RUN(test_schemes);
	T_RUN(test_duplicates);
	T_RUN(test_long_uidl);
	T_RUN(test_many);
	T_RUN(test_gmail);
	return T_END();
}
