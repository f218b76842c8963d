/*
 * run.c -- the run of one account, in order; see run.h. The batches and
 * their commit protocol are in batch.c, the deletions in delete.c; the
 * mailbox is reached only through the source's operations (source.h).
 *
 *   lock and recover the archive (before connecting; an interrupted run
 *   left temp files, uncommitted bytes or unverified rows) ->
 *   connect, log in -> list -> one merge against the index (what is
 *   new; what vanished or was deleted since) -> retrieve the new
 *   messages, batch by batch -> the delete policy -> commit (QUIT)
 *
 * Every failure is recorded where it happens, graded (fail.h); the
 * exit status is chosen once, when run_source() returns.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "acctfile.h"
#include "log.h"
#include "progress.h"
#include "run_int.h"
#include "stop.h"
#include "verify.h"
#include "util.h"

static int
uid_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int	c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static const struct pop3_listing *sort_l;

static int
order_cmp(const void *a, const void *b)
{
	uint32_t	i = *(const uint32_t *)a, j = *(const uint32_t *)b;

	return uid_cmp(POP3_UID(sort_l, i), sort_l->e[i].uid_len,
	    POP3_UID(sort_l, j), sort_l->e[j].uid_len);
}

/* A sighting whose state the merge changes. */
struct change {
	uint32_t	off;		/* in the arena */
	uint8_t		len;
	uint8_t		to;		/* enum idx_sstate */
	uint8_t		unprove;	/* and its proof is withdrawn */
};

/* Merge join of the server's UIDLs with the index's, both sorted. */
struct merge {
	struct run	*run;
	uint32_t	*order;		/* listing indexes (< max_listing) */
	size_t		 pos;
	struct change	*ch;
	size_t		 nch, capch;
	char		*arena;
	size_t		 alen, acap;
	int64_t		*gone;		/* sizes of unlisted sightings */
	size_t		 ngone, capgone;
};

/* to of a struct change: a foreign UIDL no longer listed, dropped. */
#define CH_FOREIGN_GONE	255

static void
merge_note(struct merge *m, const char *uidl, size_t len, int to,
    int unprove)
{
	if (m->nch == m->capch) {
		m->capch = m->capch ? m->capch * 2 : 64;
		m->ch = xreallocarray(m->ch, m->capch, sizeof *m->ch);
	}
	while (m->alen + len > m->acap) {
		m->acap = m->acap ? m->acap * 2 : 4096;
		m->arena = xreallocarray(m->arena, m->acap, 1);
	}
	memcpy(m->arena + m->alen, uidl, len);
	m->ch[m->nch].off = (uint32_t)m->alen;
	m->ch[m->nch].len = (uint8_t)len;
	m->ch[m->nch].to = (uint8_t)to;
	m->ch[m->nch].unprove = (uint8_t)unprove;
	m->nch++;
	m->alen += len;
}

static void
merge_change(struct merge *m, const struct idx_sighting *g,
    enum idx_sstate to, int unprove)
{
	merge_note(m, g->uidl, g->uidl_len, (int)to, unprove);
}

static int
merge_cb(void *arg, const struct idx_sighting *g)
{
	struct merge			*m = arg;
	struct run			*run = m->run;
	const struct pop3_listing	*l = run->list.l;
	struct lent			*e;
	size_t				 i;
	int64_t				 age;
	int				 c, listed = 0;

	while (m->pos < l->n) {
		i = m->order[m->pos];
		c = uid_cmp(POP3_UID(l, i), l->e[i].uid_len, g->uidl,
		    g->uidl_len);
		if (c < 0) {
			m->pos++;
			continue;
		}
		if (c > 0)
			break;
		/* Every copy sharing this UIDL gets the same facts. */
		e = &run->list.le[i];
		e->known = 1;
		e->verified = g->verified != 0;
		e->bad = g->bad != 0;
		/*
		 * Listed again after it was gone or its DELE was sent: the
		 * same message, or another one the server put under the
		 * UIDL. Either way only a fresh download proves its bytes.
		 */
		e->proven = g->proven != 0 &&
		    g->state == IDX_S_ON_SERVER && !run->list.all_unproven;
		e->odd = g->odd_size != 0;
		age = run->ctx.o->age_by_date ? g->date_epoch : g->first_seen;
		e->age = age <= 0 || age > (int64_t)UINT32_MAX ? 0 :
		    (uint32_t)age;
		/* Same UIDL, other size: not the message we archived. */
		e->drift = g->listed_size >= 0 &&
		    (uint64_t)g->listed_size != l->e[i].size;
		/*
		 * Listed again after our confirmed delete: RFC 1939 lets a
		 * server reuse a UIDL once its message is gone, so this is
		 * a new message (fetched, stored, deleted on its own proof).
		 */
		if (g->state == IDX_S_DELETED) {
			e->known = 0;
			e->reused = 1;
			e->drift = 0;
			e->age = 0;
		}
		listed = 1;
		m->pos++;
	}
	/* A partial listing (an import) says nothing of the others. */
	if (!listed && run->ctx.src->partial)
		return 0;
	/*
	 * RFC 1939: DELE takes effect only at QUIT; the listing tells. A
	 * deleted UIDL listed again stays "deleted" until the new message
	 * under it is stored (the claim points it at its content).
	 */
	if (!listed && g->state != IDX_S_DELETED && g->listed_size >= 0) {
		if (m->ngone == m->capgone) {
			m->capgone = m->capgone ? m->capgone * 2 : 64;
			m->gone = xreallocarray(m->gone, m->capgone,
			    sizeof *m->gone);
		}
		m->gone[m->ngone++] = g->listed_size;
	}
	if (listed && (g->state == IDX_S_DELETE_PENDING ||
	    g->state == IDX_S_GONE))
		merge_change(m, g, IDX_S_ON_SERVER, 1);
	else if (!listed && g->state == IDX_S_DELETE_PENDING)
		merge_change(m, g, IDX_S_DELETED, 0);
	else if (!listed && g->state == IDX_S_ON_SERVER)
		merge_change(m, g, IDX_S_GONE, 0);
	return 0;
}

/*
 * A UIDL another fetcher recorded (idx_foreign_uidls(), in the same
 * order): known, so not downloaded under a keep policy, but proven by
 * nothing. A sighting of popvault's own, or a UIDL reused after a
 * delete, wins: the record is of an older time. A mailbox that moved
 * (all_unproven) takes nothing from the record. One the server no
 * longer lists is dropped (reconcile): the server may reuse its UIDL
 * for a new message, which must then be fetched.
 */
static int
foreign_cb(void *arg, const char *uidl, size_t len, int64_t first_seen)
{
	struct merge			*m = arg;
	struct run			*run = m->run;
	const struct pop3_listing	*l = run->list.l;
	struct lent			*e;
	size_t				 i;
	int				 c, listed = 0;

	while (m->pos < l->n) {
		i = m->order[m->pos];
		c = uid_cmp(POP3_UID(l, i), l->e[i].uid_len, uidl, len);
		if (c < 0) {
			m->pos++;
			continue;
		}
		if (c > 0)
			break;
		listed = 1;
		e = &run->list.le[i];
		if (!e->known && !e->reused && !run->list.all_unproven) {
			e->known = 1;
			e->foreign = 1;
			e->age = run->ctx.o->age_by_date || first_seen <= 0 ||
			    first_seen > (int64_t)UINT32_MAX ? 0 :
			    (uint32_t)first_seen;
		}
		m->pos++;
	}
	if (!listed && !run->ctx.src->partial)
		merge_note(m, uidl, len, CH_FOREIGN_GONE, 0);
	return 0;
}

static int
i64_cmp(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

int
run_merge(struct run *run, int reconcile, int facts)
{
	const struct pop3_listing	*l = run->list.l;
	struct lent			*le = run->list.le;
	struct idx			*idx = run->ctx.idx;
	int64_t				 acct = run->ctx.acct;
	struct merge			 m;
	size_t				 i;
	int				 r = 0;

	memset(&m, 0, sizeof m);
	m.run = run;
	m.order = xreallocarray(NULL, l->n ? l->n : 1, sizeof *m.order);
	for (i = 0; i < l->n; i++) {
		m.order[i] = (uint32_t)i;
		memset(&le[i], 0, sizeof le[i]);
	}
	sort_l = l;
	qsort(m.order, l->n, sizeof *m.order, order_cmp);
	for (i = 1; i < l->n; i++)
		if (uid_cmp(POP3_UID(l, m.order[i]),
		    l->e[m.order[i]].uid_len, POP3_UID(l, m.order[i - 1]),
		    l->e[m.order[i - 1]].uid_len) == 0)
			le[m.order[i]].shared = le[m.order[i - 1]].shared = 1;
	if (idx != NULL && acct > 0 &&
	    idx_sightings(idx, acct, facts, merge_cb, &m) == -1)
		r = -1;
	m.pos = 0;
	if (r == 0 && idx != NULL && acct > 0 &&
	    idx_foreign_uidls(idx, acct, foreign_cb, &m) == -1)
		r = -1;
	run->list.facts = r == 0 && facts;
	if (r == 0 && reconcile && m.nch > 0) {
		if (idx_begin(idx) == -1)
			r = -1;
		for (i = 0; r == 0 && i < m.nch; i++) {
			if (m.ch[i].to == CH_FOREIGN_GONE) {
				r = idx_foreign_drop(idx, acct,
				    m.arena + m.ch[i].off, m.ch[i].len);
				continue;
			}
			if (m.ch[i].to == IDX_S_DELETED)
				run->ctx.st->deleted++;
			r = idx_set_sighting_state(idx, acct,
			    m.arena + m.ch[i].off, m.ch[i].len, m.ch[i].to);
			if (r == 0 && m.ch[i].unprove)
				r = idx_unprove_sighting(idx, acct,
				    m.arena + m.ch[i].off, m.ch[i].len);
		}
		if (r == 0)
			r = idx_commit(idx);
		else
			idx_rollback(idx);
	}
	free(m.order);
	free(m.ch);
	free(m.arena);
	free(run->list.gone_sizes);
	run->list.gone_sizes = m.gone;
	run->list.ngone = m.ngone;
	if (m.ngone > 1)
		qsort(m.gone, m.ngone, sizeof *m.gone, i64_cmp);
	return r == -1 ? run_fail_idx(run) : 0;
}

/*
 * A server that moved to new software often gives every message a new
 * UIDL: the listing is then mostly unknown UIDLs whose sizes are those of
 * archived messages it no longer lists under the old ones. Fetching
 * "everything new" would download the whole mailbox again without
 * saying why; stop and say it instead, unless --remap asks for exactly
 * that: every unknown UIDL downloaded and proven by its whole-message
 * hash, those whose bytes are stored relinked to the stored copy
 * (lossless dedup: nothing stored twice), the others archived as new.
 * Nothing is ever matched by size alone. Returns 0 to go on, -1 with
 * the failure recorded (FAIL_R_REMAP: exit 65).
 */
#define REMAP_MIN	5	/* unknown UIDLs below this: not a migration */

static int
remap_check(struct run *run)
{
	const struct pop3_listing	*l = run->list.l;
	const struct run_opts		*o = run->ctx.o;
	const int64_t			*g = run->list.gone_sizes;
	unsigned char			*used;
	size_t				 i, lo, hi, mid, unknown = 0, sized = 0;
	int64_t				 sz;

	for (i = 0; i < l->n; i++)
		if (!run->list.le[i].known && !run->list.le[i].reused)
			unknown++;
	if (unknown < REMAP_MIN || unknown * 2 <= l->n || run->list.ngone == 0)
		return 0;
	/* Each unknown UIDL matched to one unlisted size at most. */
	used = xcalloc(run->list.ngone, 1);
	for (i = 0; i < l->n; i++) {
		if (run->list.le[i].known || run->list.le[i].reused)
			continue;
		sz = (int64_t)l->e[i].size;
		lo = 0;
		hi = run->list.ngone;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (g[mid] < sz)
				lo = mid + 1;
			else
				hi = mid;
		}
		while (lo < run->list.ngone && g[lo] == sz && used[lo])
			lo++;
		if (lo < run->list.ngone && g[lo] == sz) {
			used[lo] = 1;
			sized++;
		}
	}
	free(used);
	if (sized * 2 <= unknown)
		return 0;
	if (o->remap) {
		log_info("%s: the server's UIDLs changed (%zu of %zu unknown, "
		    "%zu with the size of an archived message it no longer "
		    "lists): --remap: each is downloaded and proven by its "
		    "hash; those already stored are relinked, not stored "
		    "again", o->account, unknown, l->n, sized);
		run->remap.active = 1;
		return 0;
	}
	log_warnx("%s: the server's UIDLs changed (a migrated server?): %zu "
	    "of the %zu listed UIDLs are unknown, and %zu of those have the "
	    "size of an archived message the server no longer lists under "
	    "its old UIDL. Nothing was fetched or deleted. Run once with "
	    "--remap to download each, prove it by its hash and relink the "
	    "ones already archived (nothing is stored twice)", o->account,
	    unknown, l->n, sized);
	return fail_note(&run->fail, FAIL_ACCOUNT, FAIL_R_REMAP);
}

int
run_fail(struct run *run, enum fail_grade g, enum fail_reason r,
    const char *what, const char *why)
{
	log_warnx("%s: %s", what, why);
	return fail_note(&run->fail, g, r);
}

int
run_fail_io(struct run *run, const char *what, const char *text)
{
	return run_fail(run, FAIL_RUN, FAIL_R_IO, what, text);
}

int
run_fail_idx(struct run *run)
{
	/* The index's messages start with "index: ". */
	log_warnx("%s", idx_error(run->ctx.idx));
	return fail_note(&run->fail, FAIL_RUN, FAIL_R_IO);
}

int
run_exit_of(enum pop3_errclass ec)
{
	struct fail	f = { FAIL_NONE, FAIL_R_NONE };

	fail_note(&f, FAIL_ACCOUNT, source_pop3_reason(ec));
	return fail_exit(&f);
}

/*
 * A failed source operation: said, and recorded as the source graded
 * it; it stops the account at least (only mark_delete may fail for one
 * message, and delete.c handles that).
 */
static int
run_fail_src(struct run *run)
{
	struct source	*src = run->ctx.src;

	return run_fail(run, src->grade > FAIL_ACCOUNT ? src->grade :
	    FAIL_ACCOUNT, src->reason, run->ctx.o->account,
	    source_error(src));
}

struct recov {
	struct run	*run;
	int		 adopted, dropped;
};

static int
recover_cb(void *arg, int64_t id, const char *loc,
    const unsigned char *sha)
{
	struct recov	*r = arg;
	struct fmt	*fmt = r->run->ctx.fmt;
	struct idx	*idx = r->run->ctx.idx;

	/* Claimed but never written (no location yet): fetch again. */
	if (loc == NULL || *loc == '\0') {
		r->dropped++;
		return idx_drop_message(idx, id);
	}
	switch (fmt->ops->check(fmt, loc, sha)) {
	case FMT_PRESENT:
		r->adopted++;
		return idx_set_archived(idx, id, wall_now());
	case FMT_ABSENT:
	case FMT_QUARANTINED:
		r->dropped++;
		return idx_drop_message(idx, id);
	default:
		log_warnx("recovery: %s", fmt_error(fmt));
		return -1;
	}
}

static int
committed_cb(void *arg, const char *name, uint64_t *len, char *priv,
    size_t privlen)
{
	struct run	*run = arg;

	return idx_volume_get(run->ctx.idx, run->ctx.acct, name, len, priv,
	    privlen);
}

/*
 * Rows archived but never verified (a run stopped between the commit
 * and the read-back): verify them now, before anything can be deleted.
 */
static int
verify_unverified(struct run *run)
{
	struct vlist	v;
	int		r;

	if (vlist_load(&v, run->ctx.idx, run->ctx.acct,
	    run->ctx.o->format->name, 1, 0, INT64_MAX) == -1)
		return run_fail_idx(run);
	if (v.n > 0)
		log_info("verifying %zu archived message%s not verified yet",
		    v.n, v.n == 1 ? "" : "s");
	r = batch_verify(run, v.it, v.n);
	vlist_free(&v);
	return r;
}

/*
 * Resolve what an interrupted run left behind; before connecting.
 * 0, or -1 with the failure recorded.
 */
static int
recover(struct run *run)
{
	struct recov		r = { run, 0, 0 };
	struct fmt_committed	c = { committed_cb, run };
	struct idx		*idx = run->ctx.idx;

	if (run->ctx.fmt->ops->recover(run->ctx.fmt, &c) == -1)
		return run_fail_io(run, "recovery", fmt_error(run->ctx.fmt));
	crash_point("recovery");
	if (idx_begin(idx) == -1)
		return run_fail_io(run, "recovery", idx_error(idx));
	if (idx_pending(idx, run->ctx.acct, recover_cb, &r) == -1) {
		idx_rollback(idx);
		return run_fail_io(run, "recovery", idx_error(idx));
	}
	if (idx_commit(idx) == -1)
		return run_fail_io(run, "recovery", idx_error(idx));
	if (r.adopted + r.dropped > 0)
		log_info("recovery: %d message%s of an interrupted run kept, "
		    "%d to fetch again", r.adopted, r.adopted == 1 ? "" : "s",
		    r.dropped);
	return verify_unverified(run);
}

/* The server and user of this run, as the index records them. */
static int
same_identity(const struct run_opts *o, const struct idx_ident *id)
{
	return strcasecmp(id->host, o->pop3.host) == 0 &&
	    strcmp(id->port, o->pop3.port) == 0 &&
	    strcmp(id->user, o->user) == 0;
}

/*
 * An account a rebuilt index restored without its server (a vault from
 * before account files; docs/decisions.md, "Rebuilding the index") has
 * no recorded identity. With no sightings either, no UIDL of it could
 * be taken for another server's: it takes this run's identity. 1 when
 * adopted, 0 when not such an account, -1 after saying why.
 */
static int
adopt_identity(const struct run_opts *o, struct run *run,
    const struct idx_ident *id)
{
	struct idx_acctinfo	a;

	if (id->host[0] != '\0' || id->port[0] != '\0' || id->user[0] != '\0')
		return 0;
	if (idx_account_info(run->ctx.idx, run->ctx.acct, &a) == -1)
		return run_fail_idx(run);
	if (a.sightings)
		return 0;
	log_info("account %s: its server was not recorded (a rebuilt "
	    "index); it is %s@%s:%s from now on", o->account, o->user,
	    o->pop3.host, o->pop3.port);
	if (o->mode != RUN_DRY && idx_set_identity(run->ctx.idx,
	    run->ctx.acct, o->pop3.host, o->pop3.port, o->user) == -1)
		return run_fail_idx(run);
	return 1;
}

/*
 * The account file (core/acctfile.h) says what the index says of the
 * account: its name and server, for a rebuild. Written when that
 * changes (a new account, a rename, a moved mailbox); never by a dry
 * run. A failure to write it is said, and the run goes on.
 */
static void
account_file(struct run *run, int64_t acct)
{
	struct idx_acctinfo	a;
	char			dir[4400];

	if (run->ctx.o->mode == RUN_DRY || acct <= 0)
		return;
	if (idx_account_info(run->ctx.idx, acct, &a) == -1) {
		log_warnx("%s", idx_error(run->ctx.idx));
		return;
	}
	if (xsnprintf(dir, sizeof dir, "%s/accounts/%s", run->ctx.o->vault,
	    a.dir) == -1 || acctfile_write(dir, a.name, &a.id) == -1)
		log_warn("writing %s/%s", dir, ACCTFILE_NAME);
	/* The first fetch after a rebuild: what it is about to do. */
	if (a.rebuilt && acct == run->ctx.acct &&
	    run->ctx.o->mode == RUN_FETCH)
		log_info("%s: rebuilt index: every message is downloaded once "
		    "to relink its UIDL; nothing is stored twice",
		    run->ctx.o->account);
}

/*
 * An account is its server and user, not only its name: a new server can
 * reuse UIDL strings, which would look archived (and, with an equal LIST
 * size, be deleted unseen). An account whose host, port or user changed
 * runs only when told what it is: the same mailbox moved (every UIDL is
 * proven again by its bytes before any delete), or a new account (the
 * old one keeps its folder and history under another name). Returns 0,
 * with *fresh set when a new account must be made, or -1 after saying
 * why (recorded in run->fail).
 */
static int
check_identity(const struct run_opts *o, struct run *run, int create,
    int *fresh)
{
	struct idx		*idx = run->ctx.idx;
	struct idx_ident	 id;
	char			 old[900], name[1700];
	int			 r;

	*fresh = 0;
	if (idx_identity(idx, run->ctx.acct, &id) == -1)
		return run_fail_idx(run);
	if (same_identity(o, &id))
		return 0;
	if ((r = adopt_identity(o, run, &id)) != 0)
		return r == 1 ? 0 : -1;
	snprintf(old, sizeof old, "%s@%s:%s", id.user, id.host, id.port);
	switch (o->identity) {
	case RUN_ID_MOVED:
		log_warnx("account %s: was %s, now %s@%s:%s; the same mailbox, "
		    "moved: every message is fetched again and proven by its "
		    "bytes before any delete", o->account, old, o->user,
		    o->pop3.host, o->pop3.port);
		/* A dry run writes nothing: it only acts as if. */
		if (o->mode == RUN_DRY) {
			run->list.all_unproven = 1;
			return 0;
		}
		if (idx_begin(idx) == -1)
			return run_fail_idx(run);
		r = idx_unprove_account(idx, run->ctx.acct);
		/* Another tool's record of the old server says nothing. */
		if (r == 0)
			r = idx_foreign_drop(idx, run->ctx.acct, NULL, 0);
		if (r == 0)
			r = idx_set_identity(idx, run->ctx.acct, o->pop3.host,
			    o->pop3.port, o->user);
		if (r == 0 && idx_commit(idx) == 0)
			return 0;
		r = run_fail_idx(run);
		idx_rollback(idx);
		return r;
	case RUN_ID_NEW:
		*fresh = 1;
		/* Renamed only once logged in, and never by a dry run. */
		if (!create || o->mode == RUN_DRY)
			return 0;
		snprintf(name, sizeof name, "%s (%s until %lld)", o->account,
		    old, (long long)wall_now());
		if (idx_account_rename(idx, run->ctx.acct, name) == -1)
			return run_fail_idx(run);
		log_warnx("account %s: was %s, now %s@%s:%s; a new account "
		    "starts, the old one is kept as \"%s\"", o->account, old,
		    o->user, o->pop3.host, o->pop3.port, name);
		run->ctx.acct = 0;
		return 0;
	default:
		log_warnx("account %s was archived from %s, and is now "
		    "%s@%s:%s: its UIDLs may stand for other messages there. "
		    "If it is the same mailbox, moved, run once with "
		    "--account-changed=moved (every message is fetched again "
		    "and proven by its bytes before any delete); to start a "
		    "fresh account and keep the old one under another name, "
		    "--account-changed=new", o->account, old, o->user,
		    o->pop3.host, o->pop3.port);
		return fail_note(&run->fail, FAIL_ACCOUNT, FAIL_R_USAGE);
	}
}

/* A local failure that errno explains: said, and recorded. */
static int
run_fail_errno(struct run *run, const char *what, const char *name)
{
	log_warn("%s %s", what, name);
	return fail_note(&run->fail, FAIL_RUN, FAIL_R_IO);
}

/* Take the account's lock (its file in the account's folder). */
static int
lock_account(const struct run_opts *o, struct run *run, int *lockfd,
    int *ready)
{
	char	path[4200];

	if (xsnprintf(path, sizeof path, "%s/lock", run->ctx.st->where) == -1 ||
	    (*lockfd = open(path, o->mode == RUN_DRY ? O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC : O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) ==
	    -1) {
		if (o->mode == RUN_DRY && errno == ENOENT) {
			*ready = 1;	/* nothing there to lock */
			return 0;
		}
		return run_fail_errno(run, "lock file", path);
	}
	if (flock(*lockfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK) {
			log_warnx("account %s is being archived by another "
			    "popvault process", o->account);
			return fail_note(&run->fail, FAIL_ACCOUNT, FAIL_R_TEMP);
		}
		return run_fail_errno(run, "lock", path);
	}
	return 0;
}

/*
 * Open the vault's index and the account's folder, lock the account and
 * open its archive, recovering what an interrupted run left. Without
 * create, a vault or account that does not exist yet is not made (so a
 * run that fails to log in writes nothing): *ready stays 0. Returns 0,
 * or -1 with the failure recorded.
 *
 * A dry run writes nothing at all: the index is opened read only
 * (idx_open_ro()), no folder, lock file or archive is made, the lock is
 * taken only if its file exists, and the archive is not opened (the
 * plan needs the index alone).
 */
static int
open_vault(const struct run_opts *o, struct run *run, int *lockfd,
    int create, int *ready)
{
	struct run_ctx	*c = &run->ctx;
	struct fmt_args	 fa;
	struct stat	 sb;
	char		 path[4200], dir[128], err[600];
	int64_t		 old;
	int		 r, fresh;

	*ready = 0;
	if (xsnprintf(path, sizeof path, "%s/index.sqlite", o->vault) == -1) {
		log_warnx("vault path too long");
		return fail_note(&run->fail, FAIL_ACCOUNT, FAIL_R_USAGE);
	}
	if (!create && lstat(path, &sb) == -1 && errno == ENOENT)
		return 0;
	if (o->mode == RUN_DRY && !create && lstat(path, &sb) == -1)
		return 0;
	if (create && mkdir_p(o->vault) == -1)
		return run_fail_errno(run, "vault", o->vault);
	if (c->idx == NULL && (c->idx = o->mode == RUN_DRY ?
	    idx_open_ro(path, err, sizeof err) :
	    idx_open(path, err, sizeof err)) == NULL) {
		log_warnx("%s", err);
		return fail_note(&run->fail, FAIL_RUN, FAIL_R_IO);
	}
	r = create ? idx_account(c->idx, o->account, o->pop3.host,
	    o->pop3.port, o->user, &c->acct, dir, sizeof dir) :
	    idx_account_find(c->idx, o->account, &c->acct, dir, sizeof dir);
	if (r == -1)
		return run_fail_idx(run);
	if (r == 1)
		return 0;		/* not created yet */
	old = c->acct;
	if (check_identity(o, run, create, &fresh) == -1)
		return -1;
	if (fresh) {
		/* A fresh account under the name, made once logged in. */
		if (!create || o->mode == RUN_DRY) {
			c->acct = 0;
			return 0;
		}
		if (idx_account(c->idx, o->account, o->pop3.host,
		    o->pop3.port, o->user, &c->acct, dir, sizeof dir) == -1)
			return run_fail_idx(run);
	}
	if (xsnprintf(c->st->where, sizeof c->st->where, "%s/accounts/%s",
	    o->vault, dir) == -1 || (o->mode != RUN_DRY &&
	    mkdir_p(c->st->where) == -1))
		return run_fail_errno(run, "account folder", c->st->where);
	if (lock_account(o, run, lockfd, ready) == -1 || *ready)
		return fail_stops(&run->fail) ? -1 : 0;
	if (o->mode == RUN_DRY) {
		*ready = 1;
		return 0;
	}
	if (fresh && old != c->acct)
		account_file(run, old);		/* renamed, kept */
	account_file(run, c->acct);
	fa.dir = c->st->where;
	fa.compress = o->compress;
	if ((c->fmt = o->format->open(&fa, err, sizeof err)) == NULL) {
		log_warnx("%s", err);
		return fail_note(&run->fail, FAIL_RUN, FAIL_R_IO);
	}
	if (recover(run) == -1)
		return -1;
	*ready = 1;
	return 0;
}

/*
 * Which listed messages to fetch: new UIDLs within the size limit. One
 * over it is a failure of that message (the run goes on without it).
 */
static size_t *
want_list(struct run *run, size_t *nwant)
{
	const struct pop3_listing	*l = run->list.l;
	const struct run_opts		*o = run->ctx.o;
	struct run_stats		*st = run->ctx.st;
	const struct lent		*e;
	size_t				*want = NULL, i, n = 0, cap = 0;

	for (i = 0; i < l->n; i++) {
		e = &run->list.le[i];
		if ((e->shared || (run->list.weak && o->del != DEL_NEVER)) &&
		    o->mode == RUN_FETCH) {
			/*
			 * Listed more than once: one sighting cannot tell the
			 * copies apart, so each is downloaded every run (stored
			 * nothing twice) and is deleted, if at all, on that
			 * session's proof (delete.c).
			 */
			log_verbose("UIDL %.*s is listed more than once, or "
			    "not the server's: message %u fetched to be proven "
			    "in this session",
			    (int)l->e[i].uid_len, POP3_UID(l, i), l->e[i].num);
			if (!e->known)
				st->fresh++;
		} else if (e->known && !e->drift && e->proven) {
			st->known++;
			continue;
		} else if (e->foreign && o->del == DEL_NEVER) {
			/* Another fetcher got it; nothing asks for proof. */
			st->known++;
			continue;
		} else if (e->foreign) {
			log_verbose("UIDL %.*s: retrieved by another program "
			    "before, not by popvault: fetched once to prove "
			    "its bytes before any delete",
			    (int)l->e[i].uid_len, POP3_UID(l, i));
			st->reproved++;
		} else if (e->known && !e->drift) {
			/* Its bytes are not proven stored: fetch again. */
			log_verbose("UIDL %.*s: not proven archived (an older "
			    "index, a damaged copy or an unconfirmed delete); "
			    "fetching it again", (int)l->e[i].uid_len,
			    POP3_UID(l, i));
			st->reproved++;
		} else if (e->reused) {
			log_warnx("UIDL %.*s: deleted from the server before "
			    "and listed again: the server reused it for a new "
			    "message; fetching it", (int)l->e[i].uid_len,
			    POP3_UID(l, i));
			st->fresh++;
		} else if (e->drift)
			/* Content drift (docs/delete.md): both kept. */
			log_warnx("UIDL %.*s: the server's message changed "
			    "size since it was archived; fetching it again, "
			    "both versions are kept", (int)l->e[i].uid_len,
			    POP3_UID(l, i));
		else
			st->fresh++;
		if (l->e[i].size > o->pop3.max_msg_size) {
			log_warnx("message %u (UIDL %.*s) is %llu bytes, over "
			    "the maximum size; not fetched", l->e[i].num,
			    (int)l->e[i].uid_len, POP3_UID(l, i),
			    (unsigned long long)l->e[i].size);
			fail_note(&run->fail, FAIL_MESSAGE, FAIL_R_TOO_BIG);
			st->skipped++;
			continue;
		}
		if (o->mode == RUN_DRY)
			printf("archive %.*s (%llu bytes)\n",
			    (int)l->e[i].uid_len, POP3_UID(l, i),
			    (unsigned long long)l->e[i].size);
		/* Grown as needed: a run with little new holds little. */
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			want = xreallocarray(want, cap, sizeof *want);
		}
		want[n++] = i;
		st->todo_bytes += l->e[i].size;
	}
	st->todo += n;
	*nwant = n;
	return want;
}

/*
 * Download what is new, batch by batch (batch.c). 0, or -1 when a
 * failure stopped the account (recorded in run->fail); what was
 * complete before the source failed is committed and verified.
 */
int
run_fetch(struct run *run, const size_t *want, size_t nwant)
{
	const struct run_opts	*o = run->ctx.o;
	struct run_stats	*st = run->ctx.st;
	struct source		*src = run->ctx.src;
	struct source_sink	 sink;
	int			 r, ours;

	st->phase = RUN_PH_FETCH;
	if (st->fetch_t0 == 0)
		st->fetch_t0 = now_ms();
	progress_tick();
	if (run->msg.whole == NULL) {
		run->msg.whole = hash_new();
		run->msg.body = hash_new();
	}
	if ((o->format->flags & FMT_F_NEEDS_SIZE) && run->msg.spool == NULL)
		run->msg.spool = spool_new(st->where, 1 << 20);
	batch_sink(run, &sink);
	r = src->ops->retrieve(src, run->list.l, want, nwant, &sink);
	if (r == -1) {
		/* Stopped by a failure of ours (recorded), or the source's? */
		ours = fail_stops(&run->fail);
		if (run->msg.writing)
			run->ctx.fmt->ops->discard(run->ctx.fmt);
		/* Claims of a batch that is not flushed: recovery's. */
		if (batch_claims_commit(run) == -1)
			log_warnx("%s", idx_error(run->ctx.idx));
		if (!ours)
			run_fail_src(run);
		/* Keep what was complete before the failure. */
		if (!ours || run->fail.reason == FAIL_R_SIGNAL)
			(void)batch_flush(run);
	} else
		(void)batch_flush(run);
	/* The last batch's read-back: recorded before any delete. */
	(void)batch_verify_finish(run);
	return fail_stops(&run->fail) ? -1 : 0;
}

static int
fetch_new(struct run *run)
{
	const struct run_opts	*o = run->ctx.o;
	size_t			*want, nwant = 0;
	int			 r;

	want = want_list(run, &nwant);
	log_event("listing", "listed=%zu new=%zu", run->list.l->n, nwant);
	if (o->mode != RUN_FETCH) {
		free(want);
		return 0;
	}
	r = run_fetch(run, want, nwant);
	free(want);
	return r;
}

/*
 * The server's LOGIN-DELAY (RFC 2449), as the index keeps it from the
 * last run: a login before the time it allows is refused by a server
 * that enforces it, so the account is skipped with a line saying when
 * to come back (a temporary failure: exit 75, or "partial" beside
 * accounts that ran). login_delay = ignore: for servers that announce
 * it without enforcing it (Courier).
 */
static int
login_delay_due(struct run *run)
{
	const struct run_opts	*o = run->ctx.o;
	int64_t			 when, now = wall_now();
	char			 at[32];
	struct tm		 tm;
	time_t			 t;

	if (o->ignore_login_delay || run->ctx.idx == NULL ||
	    run->ctx.acct <= 0)
		return 0;
	if (idx_next_login(run->ctx.idx, run->ctx.acct, &when) == -1)
		return run_fail_idx(run);
	if (when <= now)
		return 0;
	t = (time_t)when;
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(at, sizeof at, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(at, sizeof at, "%lld", (long long)when);
	log_warnx("%s: the server allows the next login at %s, in %lld s "
	    "(LOGIN-DELAY): skipped; run again after that, or set "
	    "login_delay = ignore if the server does not enforce it",
	    o->account, at, (long long)(when - now));
	return fail_note(&run->fail, FAIL_ACCOUNT, FAIL_R_TEMP);
}

/* Every listed UIDL was unknown before this session. */
static int
listing_all_new(const struct run *run)
{
	size_t	i;

	for (i = 0; i < run->list.l->n; i++)
		if (run->list.le[i].known || run->list.le[i].reused)
			return 0;
	return run->list.l->n > 0;
}

/*
 * One session: connect, log in, list, merge, fetch, delete, commit.
 * Session k > 1 (a window: run_source()) reuses the open vault. Returns
 * 0, -1 with the failure recorded in run->fail, or 1 when session k > 1
 * could not start (the server refused another connection or login): no
 * failure, the next run gets the rest.
 */
static int
run_session(struct run *run, struct pop3_listing *l, int *lockfd,
    int *ready, unsigned k)
{
	const struct run_opts	*o = run->ctx.o;
	struct run_stats	*st = run->ctx.st;
	struct source		*src = run->ctx.src;
	int			 committed = 0;

	st->phase = RUN_PH_CONNECT;
	if (src->ops->connect(src) == -1 || (src->ops->login != NULL &&
	    src->ops->login(src) == -1)) {
		if (k > 1 && src->grade != FAIL_RUN) {
			log_info("%s: could not open session %u (%s); the next "
			    "run gets the rest", o->account, k,
			    source_error(src));
			return 1;
		}
		run_fail_src(run);
		return -1;
	}
	run->sess.login_at = wall_now();
	run->sess.login_delay = src->login_delay;
	st->phase = RUN_PH_LIST;
	progress_tick();
	if (src->ops->list(src, l) == -1) {
		run_fail_src(run);
		return -1;
	}
	if (k == 1)
		st->listed = l->n;
	run->list.weak = src->weak_ids;
	if (!*ready && o->mode == RUN_FETCH &&
	    open_vault(o, run, lockfd, 1, ready) == -1)
		return -1;
	run->list.le = xcalloc(l->n ? l->n : 1, sizeof *run->list.le);
	/*
	 * What deletes need (verified, bad, age) comes from the merge after
	 * the download; only a run that deletes without downloading needs
	 * it now. Without it the merge reads the sightings alone.
	 */
	if (run_merge(run, o->mode != RUN_DRY && *ready,
	    o->del != DEL_NEVER && o->mode != RUN_FETCH) == -1)
		return -1;
	run->sess.all_new = listing_all_new(run);
	if (k == 1 && o->mode != RUN_PRUNE && remap_check(run) == -1) {
		/* Nothing was asked of the mailbox: end the session. */
		(void)src->ops->commit(src);
		return -1;
	}
	if (fetch_new(run) == -1)
		return -1;
	if (o->del != DEL_NEVER) {
		/* What was just archived and verified counts too. */
		if (o->mode == RUN_FETCH && run_merge(run, 0, 1) == -1)
			return -1;
		if ((*ready || o->mode == RUN_DRY) &&
		    delete_phase(run, &committed) == -1)
			return -1;
	}
	if (!committed && src->ops->commit(src) == -1)
		log_warnx("%s: %s", o->account, source_error(src));
	return 0;
}

/* Sleep ms, or less if asked to stop; -1 when stopped. */
static int
pause_ms(int64_t ms)
{
	struct timespec	ts;
	int64_t		end = now_ms() + ms;

	while (!stop_requested()) {
		if (now_ms() >= end)
			return 0;
		ts.tv_sec = 0;
		ts.tv_nsec = 100 * 1000000L;
		nanosleep(&ts, NULL);
	}
	return -1;
}

/*
 * The longest LOGIN-DELAY one run waits out between its sessions; a
 * server that wants more gets one session per run (the next run, which
 * login_delay_due() holds back, gets the rest).
 */
#define RUN_SESSION_WAIT_MAX	300
/*
 * A first listing shorter than this is not taken for a window (Gmail's
 * are about 250): a run that fetches a few new messages, as each run of
 * download-and-delete does, costs no second login.
 */
#define RUN_WINDOW_MIN		100
#define RUN_SESSION_PAUSE_MS	1000

/*
 * Whether to open session k + 1, after session k went well. Some servers
 * (Gmail) list only part of the mailbox per session, the oldest messages
 * not yet downloaded, and show the next part to the next session. That
 * cannot be known before trying: session 2 is opened only after a first
 * session that fetched something and whose whole listing was new and at
 * least RUN_WINDOW_MIN long, and
 * the loop goes on while each session brings new messages, up to
 * max_sessions. A refused reconnection ends the run as it is
 * (run_session() returns 1), so a server that takes one connection at a
 * time keeps working. The pause between sessions honours LOGIN-DELAY.
 */
static int
next_session(struct run *run, unsigned k, uint64_t got)
{
	const struct run_opts	*o = run->ctx.o;
	/*
	 * The second session only looks (an ordinary server then lists
	 * nothing new): at once. Between the sessions of a window, a pause.
	 */
	int64_t			 wait_ms = k == 1 ? 0 : RUN_SESSION_PAUSE_MS, left;

	if (o->mode != RUN_FETCH || fail_stops(&run->fail) ||
	    stop_requested() || got == 0)
		return 0;
	if (k == 1 && (!run->sess.all_new ||
	    run->list.l->n < RUN_WINDOW_MIN))
		return 0;
	if (k >= o->max_sessions) {
		if (k > 1 || o->max_sessions > 1)
			log_warnx("%s: the server listed new messages in each "
			    "of %u sessions (max_sessions); the next run gets "
			    "the rest", o->account, k);
		return 0;
	}
	if (run->sess.login_delay > 0 && !o->ignore_login_delay) {
		if (run->sess.login_delay > RUN_SESSION_WAIT_MAX) {
			log_info("%s: the server allows one login every %d s "
			    "(LOGIN-DELAY): not looking for more in this run",
			    o->account, run->sess.login_delay);
			return 0;
		}
		left = (run->sess.login_at + run->sess.login_delay -
		    wall_now()) * 1000;
		if (left > wait_ms)
			wait_ms = left;
	}
	log_verbose("%s: session %u brought new messages; session %u in "
	    "%lld ms looks for more (a server that lists part of the "
	    "mailbox per session)", o->account, k, k + 1,
	    (long long)wait_ms);
	if (pause_ms(wait_ms) == -1) {
		fail_note(&run->fail, FAIL_RUN, FAIL_R_SIGNAL);
		return 0;
	}
	return 1;
}

/*
 * The steps of the run, in order (the top of this file); each failure is
 * recorded in run->fail, and the first one that stops the account ends
 * the run. l (run->list.l) and *lockfd are run_source()'s to free.
 */
static void
run_steps(struct run *run, struct pop3_listing *l, int *lockfd)
{
	const struct run_opts	*o = run->ctx.o;
	struct run_stats	*st = run->ctx.st;
	struct source		*src = run->ctx.src;
	uint64_t		 got, listed, fresh, known;
	unsigned		 k;
	int			 ready = 0, r;

	if (o->del != DEL_NEVER && src->ops->mark_delete == NULL) {
		log_warnx("%s: a %s source cannot delete messages: use the "
		    "delete policy \"never\"", o->account, src->ops->name);
		fail_note(&run->fail, FAIL_ACCOUNT, FAIL_R_USAGE);
		return;
	}
	/* An existing archive is recovered before connecting. */
	if (open_vault(o, run, lockfd, 0, &ready) == -1 ||
	    login_delay_due(run) == -1)
		return;
	for (k = 1;; k++) {
		if (k > 1) {
			/* The previous session's listing is done with. */
			free(run->list.le);
			run->list.le = NULL;
			free(run->list.got);
			run->list.got = NULL;
			run->list.facts = 0;
			pop3_listing_free(l);
			memset(l, 0, sizeof *l);
		}
		listed = st->listed;
		fresh = st->fresh;
		known = st->known;
		got = st->archived + st->dups;
		r = run_session(run, l, lockfd, &ready, k);
		if (k > 1) {
			/* The run's figures: each message once. */
			st->listed = listed + (st->fresh - fresh);
			st->known = known;
		}
		if (r != 0)
			break;
		run->sess.sessions = k;
		if (k > 1 && st->archived + st->dups > got)
			run->sess.window = 1;
		if (!next_session(run, k, st->archived + st->dups - got))
			break;
	}
	if (run->sess.window)
		log_info("%s: %u sessions (the server lists part of the "
		    "mailbox per session)", o->account, run->sess.sessions);
	if (run->remap.active)
		log_info("%s: --remap: %llu new UIDLs relinked to stored "
		    "messages with the same bytes, %llu stored as new",
		    o->account, (unsigned long long)st->dups,
		    (unsigned long long)st->archived);
}

/* After the run: when the server's LOGIN-DELAY allows the next login. */
static void
login_delay_record(struct run *run)
{
	const struct run_opts	*o = run->ctx.o;

	if (run->ctx.idx == NULL || run->ctx.acct <= 0 ||
	    o->mode == RUN_DRY || run->sess.login_at == 0)
		return;
	if (idx_set_next_login(run->ctx.idx, run->ctx.acct,
	    run->sess.login_delay > 0 ? run->sess.login_at +
	    run->sess.login_delay : 0) == -1)
		log_warnx("%s", idx_error(run->ctx.idx));
}

/*
 * One run of an account: as many sessions as the server needs to show
 * all its messages (run_steps()), then the account's record.
 */
int
run_source(const struct run_opts *o, struct source *src,
    struct run_stats *st)
{
	struct run		 run;
	struct pop3_listing	 l;
	int			 lockfd = -1, code;
	int64_t			 t0 = now_ms();

	memset(st, 0, sizeof *st);
	st->phase = RUN_PH_CONNECT;
	log_last_reset();
	log_account(o->account);
	log_event("start", "mode=%s", o->mode == RUN_FETCH ? "fetch" :
	    o->mode == RUN_PRUNE ? "prune" : "dry-run");
	memset(&run, 0, sizeof run);
	memset(&l, 0, sizeof l);
	run.ctx.o = o;
	run.ctx.st = st;
	run.ctx.src = src;
	run.batch.max_msgs = o->batch_msgs ? o->batch_msgs :
	    o->format->batch_msgs ? o->format->batch_msgs : 200;
	run.batch.max_bytes = o->batch_bytes ? o->batch_bytes :
	    o->format->batch_bytes ? o->format->batch_bytes : 32ULL << 20;
	run.list.l = &l;
	run_steps(&run, &l, &lockfd);
	login_delay_record(&run);
	/* The edge: the failures become the exit status here, once. */
	code = fail_exit(&run.fail);
	st->ms = now_ms() - t0;
	st->code = code;
	snprintf(st->err, sizeof st->err, "%s", code == EXIT_OK ? "" :
	    log_last());
	st->phase = RUN_PH_DONE;
	log_event("done", "exit=%d archived=%llu verified=%llu deleted=%llu",
	    code, (unsigned long long)st->archived,
	    (unsigned long long)st->verified,
	    (unsigned long long)st->deleted);
	log_account(NULL);
	if (run.ctx.idx != NULL && run.ctx.acct > 0 && o->mode != RUN_DRY)
		idx_account_done(run.ctx.idx, run.ctx.acct,
		    fail_outcome(&run.fail),
		    st->listed ? (int64_t)st->listed : -1, wall_now());
	if (run.vj != NULL)
		(void)batch_verify_finish(&run);
	batch_clear(&run);
	free(run.batch.e);
	free(run.list.le);
	free(run.list.gone_sizes);
	free(run.list.got);
	pop3_listing_free(&l);
	hash_free(run.msg.whole);
	hash_free(run.msg.body);
	hash_head_free(&run.msg.head);
	spool_free(run.msg.spool);
	if (run.ctx.fmt != NULL)
		run.ctx.fmt->ops->close(run.ctx.fmt);
	idx_close(run.ctx.idx);
	if (lockfd != -1)
		close(lockfd);
	return code;
}

int
run_account(const struct run_opts *o, struct run_stats *st)
{
	struct source_pop3_args	 a;
	struct source		*src;
	int			 code;

	memset(&a, 0, sizeof a);
	a.pop3 = &o->pop3;
	a.account = o->account;
	a.user = o->user;
	a.auth = o->auth;
	a.sasl = o->sasl;
	a.password = o->password;
	a.password_command = o->password_command;
	a.keep = o->del == DEL_NEVER;
	src = source_pop3_new(&a);
	code = run_source(o, src, st);
	src->ops->close(src);
	return code;
}
