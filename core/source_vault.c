/*
 * source_vault.c -- the stored messages of a popvault vault as a message
 * source (source.h): what "popvault export" reads, and an import of
 * another vault's folders.
 *
 * The vault is only read: its index is opened read only (idx_open_ro(),
 * nothing written in its folder), each message is read through its
 * format's own reader (read() of formats/format.h) from the folder of
 * the account that holds the copy, which may be another account than
 * the one that saw it (dedup across the vault).
 *
 * The listing is a selection: the stored messages the sightings of the
 * chosen accounts point at, filtered as "popvault search" filters
 * (idx_select()), each distinct whole-message SHA-256 once (a copy that
 * failed verification is left out when no sound one holds its bytes;
 * source_vault_unsound() counts those), in the order they were stored.
 * A message's unique id is "sha256-" and the first 56 hex digits of its
 * hash (the 70 characters of a UIDL allow no more), so a rerun knows
 * what an earlier one took, and its size the stored size. The listing
 * is partial (src->partial): a message the selection no longer names is
 * not gone. Nothing can be deleted (mark_delete is NULL), and nothing is
 * ever waited for (pending is always nonzero).
 *
 * Retrieval is byte-exact: each message is hashed as it streams and
 * compared with the index's SHA-256; a copy that reads back other bytes
 * stops the account's run (FAIL_ACCOUNT, FAIL_R_VERIFY) before its end(),
 * so that the sink drops it. One that cannot be read at all is refused
 * alone (the sink's failed()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "hash.h"
#include "idx.h"
#include "source.h"
#include "util.h"

#define SV_UID_PREFIX	"sha256-"
#define SV_UID_HEX	(POP3_UIDL_MAX - (sizeof SV_UID_PREFIX - 1))

/* The archive of one (account folder, format) messages are read from. */
struct sv_store {
	char			*dir;		/* folder under accounts/ */
	char			 format[16];
	const struct fmt_ops	*ops;		/* NULL: unknown format */
	struct fmt		*f;		/* opened at the first read */
	int			 bad;		/* open failed */
};

struct sv_ent {
	int64_t		 id;
	unsigned char	 sha[HASH_LEN];
	uint64_t	 size;
	size_t		 store;
	size_t		 loc;		/* offset in locs */
	int		 sound;
};

struct source_vault {
	struct source		 src;
	const char		*vault;
	const char *const	*names;		/* NULL: every account */
	size_t			 nnames;
	struct idx_query	 q;
	int			 have_q;
	struct idx		*x;
	struct sv_ent		*ent;
	size_t			 nent, capent;
	struct sv_store		*st;
	size_t			 nst, capst;
	char			*locs;
	size_t			 loclen, loccap;
	size_t			 unsound;
	int64_t			*acct;		/* the accounts read */
	size_t			 nacct, capacct;
	char			 err[600];
};

/* The copy being streamed: what the read callback needs. */
struct sv_stream {
	const struct source_sink	*sink;
	size_t				 i;
	int				 begun;
	int				 sinkfail;
	struct hash			*h;
};

static int
sv_connect(struct source *s)
{
	struct source_vault	*sv = (struct source_vault *)s;
	char			 path[4200], err[600];

	if (sv->x != NULL)
		return 0;
	if (xsnprintf(path, sizeof path, "%s/index.sqlite", sv->vault) == -1)
		return source_fail(s, FAIL_ACCOUNT, FAIL_R_USAGE,
		    "vault %s: path too long", sv->vault);
	if ((sv->x = idx_open_ro(path, err, sizeof err)) == NULL)
		return source_fail(s, FAIL_ACCOUNT, FAIL_R_IO, "vault %s: %s",
		    sv->vault, err);
	return 0;
}

static void
add_acct(struct source_vault *sv, int64_t id)
{
	if (sv->nacct == sv->capacct) {
		sv->capacct = sv->capacct ? sv->capacct * 2 : 16;
		sv->acct = xreallocarray(sv->acct, sv->capacct,
		    sizeof *sv->acct);
	}
	sv->acct[sv->nacct++] = id;
}

static int
all_cb(void *arg, int64_t id, const char *name, const char *dir)
{
	(void)name;
	(void)dir;
	add_acct(arg, id);
	return 0;
}

/* The ids of the accounts to read: the named ones, or every one. */
static int
sv_accounts(struct source_vault *sv)
{
	char	dir[256];
	int64_t	id;
	size_t	k;
	int	r;

	sv->nacct = 0;
	if (sv->names == NULL) {
		if (idx_accounts(sv->x, all_cb, sv) == -1)
			return source_fail(&sv->src, FAIL_ACCOUNT, FAIL_R_IO,
			    "vault %s: %s", sv->vault, idx_error(sv->x));
		return 0;
	}
	for (k = 0; k < sv->nnames; k++) {
		r = idx_account_find(sv->x, sv->names[k], &id, dir,
		    sizeof dir);
		if (r == -1)
			return source_fail(&sv->src, FAIL_ACCOUNT, FAIL_R_IO,
			    "vault %s: %s", sv->vault, idx_error(sv->x));
		if (r == 1)
			return source_fail(&sv->src, FAIL_ACCOUNT,
			    FAIL_R_USAGE, "vault %s has no account %s",
			    sv->vault, sv->names[k]);
		add_acct(sv, id);
	}
	return 0;
}

/* The store of (dir, format), added if new. */
static size_t
sv_store(struct source_vault *sv, const char *dir, const char *format)
{
	struct sv_store	*st;
	size_t		 k;

	for (k = 0; k < sv->nst; k++)
		if (strcmp(sv->st[k].dir, dir) == 0 &&
		    strcmp(sv->st[k].format, format) == 0)
			return k;
	if (sv->nst == sv->capst) {
		sv->capst = sv->capst ? sv->capst * 2 : 8;
		sv->st = xreallocarray(sv->st, sv->capst, sizeof *sv->st);
	}
	st = &sv->st[sv->nst];
	memset(st, 0, sizeof *st);
	st->dir = xstrdup(dir);
	snprintf(st->format, sizeof st->format, "%s", format);
	st->ops = fmt_find(format);
	return sv->nst++;
}

static int
sel_cb(void *arg, const struct idx_sel *e)
{
	struct source_vault	*sv = arg;
	struct sv_ent		*en;
	size_t			 n = strlen(e->location) + 1;

	if (sv->nent == sv->capent) {
		sv->capent = sv->capent ? sv->capent * 2 : 256;
		sv->ent = xreallocarray(sv->ent, sv->capent, sizeof *sv->ent);
	}
	while (sv->loclen + n > sv->loccap) {
		sv->loccap = sv->loccap ? sv->loccap * 2 : 16384;
		sv->locs = xreallocarray(sv->locs, sv->loccap, 1);
	}
	en = &sv->ent[sv->nent++];
	en->id = e->id;
	memcpy(en->sha, e->sha256, HASH_LEN);
	en->size = e->size;
	en->store = sv_store(sv, e->dir, e->format);
	en->loc = sv->loclen;
	en->sound = e->sound;
	memcpy(sv->locs + sv->loclen, e->location, n);
	sv->loclen += n;
	return 0;
}

/* By hash, a sound copy first, then the oldest. */
static int
by_sha(const void *a, const void *b)
{
	const struct sv_ent	*x = a, *y = b;
	int			 c = memcmp(x->sha, y->sha, HASH_LEN);

	if (c != 0)
		return c;
	if (x->sound != y->sound)
		return y->sound - x->sound;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int
by_id(const void *a, const void *b)
{
	const struct sv_ent	*x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int
sv_list(struct source *s, struct pop3_listing *l)
{
	struct source_vault	*sv = (struct source_vault *)s;
	char			 uid[POP3_UIDL_MAX + 1], hex[HASH_HEXLEN + 1];
	size_t			 k, n;

	memset(l, 0, sizeof *l);
	sv->nent = 0;
	sv->loclen = 0;
	sv->unsound = 0;
	if (sv_accounts(sv) == -1)
		return -1;
	for (k = 0; k < sv->nacct; k++)
		if (idx_select(sv->x, sv->acct[k], sv->have_q ? &sv->q : NULL,
		    sel_cb, sv) == -1)
			return source_fail(s, FAIL_ACCOUNT, FAIL_R_IO,
			    "vault %s: %s", sv->vault, idx_error(sv->x));
	/* Each content once: a sound copy if there is one. */
	if (sv->nent > 0)
		qsort(sv->ent, sv->nent, sizeof *sv->ent, by_sha);
	for (k = n = 0; k < sv->nent; k++) {
		if (n > 0 && memcmp(sv->ent[n - 1].sha, sv->ent[k].sha,
		    HASH_LEN) == 0)
			continue;
		if (!sv->ent[k].sound) {
			sv->unsound++;
			/* Its later twins, if any, are no sounder. */
			while (k + 1 < sv->nent && memcmp(sv->ent[k + 1].sha,
			    sv->ent[k].sha, HASH_LEN) == 0)
				k++;
			continue;
		}
		sv->ent[n++] = sv->ent[k];
	}
	sv->nent = n;
	if (n > 0)
		qsort(sv->ent, n, sizeof *sv->ent, by_id);
	for (k = 0; k < n; k++) {
		hex_encode(sv->ent[k].sha, HASH_LEN, hex);
		snprintf(uid, sizeof uid, "%s%.*s", SV_UID_PREFIX,
		    (int)SV_UID_HEX, hex);
		if (source_listing_add(l, (uint32_t)k + 1, uid, strlen(uid),
		    sv->ent[k].size) == -1)
			return source_fail(s, FAIL_ACCOUNT, FAIL_R_SOFTWARE,
			    "vault %s: listing message %zu", sv->vault, k);
	}
	/* A selection: what it does not name is not gone. */
	s->partial = 1;
	return 0;
}

static int
sv_data(void *arg, const void *p, size_t n)
{
	struct sv_stream	*ss = arg;

	if (!ss->begun) {
		ss->begun = 1;
		if (ss->sink->begin(ss->sink->arg, ss->i) == -1) {
			ss->sinkfail = 1;
			return -1;
		}
	}
	hash_update(ss->h, p, n);
	if (ss->sink->data(ss->sink->arg, p, n) == -1) {
		ss->sinkfail = 1;
		return -1;
	}
	return 0;
}

/* The opened archive of a store, or NULL with why set. */
static struct fmt *
sv_fmt(struct source_vault *sv, struct sv_store *st, char *why, size_t len)
{
	struct fmt_args	 fa;
	char		 dir[4400];

	if (st->f != NULL)
		return st->f;
	if (st->ops == NULL) {
		snprintf(why, len, "format %s unknown to this popvault",
		    st->format);
		return NULL;
	}
	if (st->bad) {
		snprintf(why, len, "%s", sv->err);
		return NULL;
	}
	if (xsnprintf(dir, sizeof dir, "%s/accounts/%s", sv->vault,
	    st->dir) == -1) {
		snprintf(why, len, "path too long");
		return NULL;
	}
	fa.dir = dir;
	fa.compress = FMT_COMP_NONE;	/* readers find it themselves */
	if ((st->f = st->ops->open(&fa, sv->err, sizeof sv->err)) == NULL) {
		st->bad = 1;
		snprintf(why, len, "%s", sv->err);
	}
	return st->f;
}

static int
sv_retrieve(struct source *s, const struct pop3_listing *l,
    const size_t *which, size_t n, const struct source_sink *sink)
{
	struct source_vault	*sv = (struct source_vault *)s;
	struct sv_stream	 ss;
	struct sv_ent		*e;
	struct sv_store		*st;
	struct fmt		*f;
	unsigned char		 got[HASH_LEN];
	char			 why[700];
	const char		*loc;
	size_t			 k;
	int			 r = 0;

	memset(&ss, 0, sizeof ss);
	ss.sink = sink;
	ss.h = hash_new();
	for (k = 0; k < n && r == 0; k++) {
		ss.i = which[k];
		ss.begun = ss.sinkfail = 0;
		e = &sv->ent[l->e[ss.i].num - 1];
		st = &sv->st[e->store];
		loc = sv->locs + e->loc;
		hash_reset(ss.h);
		if ((f = sv_fmt(sv, st, why, sizeof why)) == NULL) {
			if (sink->failed(sink->arg, ss.i, why) == -1)
				r = source_fail(s, FAIL_RUN, FAIL_R_IO,
				    "message %s", loc);
			continue;
		}
		if (st->ops->read(f, loc, sv_data, &ss) == -1) {
			if (ss.sinkfail)
				r = source_fail(s, FAIL_RUN, FAIL_R_IO,
				    "message %s", loc);
			else if (ss.begun)
				r = source_fail(s, FAIL_ACCOUNT, FAIL_R_IO,
				    "accounts/%s/%s/%s: %s", st->dir,
				    st->format, loc, fmt_error(f));
			else if (sink->failed(sink->arg, ss.i,
			    fmt_error(f)) == -1)
				r = source_fail(s, FAIL_RUN, FAIL_R_IO,
				    "message %s", loc);
			continue;
		}
		/* An empty message: begin() was not called yet. */
		if (!ss.begun && sink->begin(sink->arg, ss.i) == -1) {
			r = source_fail(s, FAIL_RUN, FAIL_R_IO, "message %s",
			    loc);
			continue;
		}
		hash_final(ss.h, got);
		if (memcmp(got, e->sha, HASH_LEN) != 0) {
			/* Before end(): the sink drops what it got. */
			r = source_fail(s, FAIL_ACCOUNT, FAIL_R_VERIFY,
			    "accounts/%s/%s/%s reads back other bytes than "
			    "the index's SHA-256 (popvault verify --vault %s)",
			    st->dir, st->format, loc, sv->vault);
			continue;
		}
		if (sink->end(sink->arg, ss.i) == -1)
			r = source_fail(s, FAIL_RUN, FAIL_R_IO, "message %s",
			    loc);
	}
	hash_free(ss.h);
	return r;
}

static size_t
sv_pending(struct source *s)
{
	(void)s;
	return 1;	/* a local archive: never waits */
}

static int
sv_commit(struct source *s)
{
	(void)s;
	return 0;	/* nothing marked: nothing to remove */
}

static void
sv_close(struct source *s)
{
	struct source_vault	*sv = (struct source_vault *)s;
	size_t			 k;

	if (sv == NULL)
		return;
	for (k = 0; k < sv->nst; k++) {
		if (sv->st[k].f != NULL)
			sv->st[k].ops->close(sv->st[k].f);
		free(sv->st[k].dir);
	}
	free(sv->st);
	free(sv->ent);
	free(sv->locs);
	free(sv->acct);
	if (sv->x != NULL)
		idx_close(sv->x);
	free(sv);
}

static const struct source_ops sv_ops = {
	.name = "vault",
	.connect = sv_connect,
	.login = NULL,
	.list = sv_list,
	.retrieve = sv_retrieve,
	.head = NULL,
	.pending = sv_pending,
	.mark_delete = NULL,
	.commit = sv_commit,
	.close = sv_close,
};

struct source *
source_vault_new(const char *vault, const char *const *accounts,
    size_t naccounts, const struct idx_query *q)
{
	struct source_vault	*sv = xcalloc(1, sizeof *sv);

	sv->src.ops = &sv_ops;
	sv->src.login_delay = -1;
	sv->vault = vault;
	sv->names = accounts;
	sv->nnames = naccounts;
	if (q != NULL) {
		sv->q = *q;
		sv->have_q = 1;
	}
	return &sv->src;
}

size_t
source_vault_unsound(const struct source *s)
{
	return s->ops == &sv_ops ?
	    ((const struct source_vault *)s)->unsound : 0;
}

int
source_vault_entry(const struct source *s, size_t i,
    unsigned char sha[HASH_LEN], int64_t *msg)
{
	const struct source_vault	*sv = (const struct source_vault *)s;

	if (s->ops != &sv_ops || i >= sv->nent)
		return -1;
	memcpy(sha, sv->ent[i].sha, HASH_LEN);
	*msg = sv->ent[i].id;
	return 0;
}
