/*
 * run.c -- the run of one account, in order; see run.h. The batches and
 * their commit protocol are in batch.c, the deletions in delete.c.
 *
 *   lock and recover the archive (before connecting; an interrupted run
 *   left temp files, uncommitted bytes or unverified rows) ->
 *   connect, log in -> UIDL + LIST -> one merge against the index
 *   (what is new; what vanished or was deleted since) -> RETR the new
 *   messages, batch by batch -> the delete policy -> QUIT
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "progress.h"
#include "run_int.h"
#include "secret.h"
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
	struct fetch	*f;
	uint32_t	*order;		/* listing indexes (< max_listing) */
	size_t		 pos;
	struct change	*ch;
	size_t		 nch, capch;
	char		*arena;
	size_t		 alen, acap;
};

static void
merge_change(struct merge *m, const struct idx_sighting *g,
    enum idx_sstate to, int unprove)
{
	if (m->nch == m->capch) {
		m->capch = m->capch ? m->capch * 2 : 64;
		m->ch = xreallocarray(m->ch, m->capch, sizeof *m->ch);
	}
	while (m->alen + g->uidl_len > m->acap) {
		m->acap = m->acap ? m->acap * 2 : 4096;
		m->arena = xreallocarray(m->arena, m->acap, 1);
	}
	memcpy(m->arena + m->alen, g->uidl, g->uidl_len);
	m->ch[m->nch].off = (uint32_t)m->alen;
	m->ch[m->nch].len = (uint8_t)g->uidl_len;
	m->ch[m->nch].to = (uint8_t)to;
	m->ch[m->nch].unprove = (uint8_t)unprove;
	m->nch++;
	m->alen += g->uidl_len;
}

static int
merge_cb(void *arg, const struct idx_sighting *g)
{
	struct merge			*m = arg;
	const struct pop3_listing	*l = m->f->l;
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
		m->f->le[i].known = 1;
		m->f->le[i].verified = g->verified != 0;
		m->f->le[i].bad = g->bad != 0;
		/*
		 * Listed again after it was gone or its DELE was sent: the
		 * same message, or another one the server put under the
		 * UIDL. Either way only a fresh download proves its bytes.
		 */
		m->f->le[i].proven = g->proven != 0 &&
		    g->state == IDX_S_ON_SERVER && !m->f->all_unproven;
		age = m->f->o->age_by_date ? g->date_epoch : g->first_seen;
		m->f->le[i].age = age <= 0 || age > (int64_t)UINT32_MAX ? 0 :
		    (uint32_t)age;
		/* Same UIDL, other size: not the message we archived. */
		m->f->le[i].drift = g->listed_size >= 0 &&
		    (uint64_t)g->listed_size != l->e[i].size;
		/*
		 * Listed again after our confirmed delete: RFC 1939 lets a
		 * server reuse a UIDL once its message is gone, so this is
		 * a new message (fetched, stored, deleted on its own proof).
		 */
		if (g->state == IDX_S_DELETED) {
			m->f->le[i].known = 0;
			m->f->le[i].reused = 1;
			m->f->le[i].drift = 0;
			m->f->le[i].age = 0;
		}
		listed = 1;
		m->pos++;
	}
	/*
	 * RFC 1939: DELE takes effect only at QUIT; the listing tells. A
	 * deleted UIDL listed again stays "deleted" until the new message
	 * under it is stored (the claim points it at its content).
	 */
	if (listed && (g->state == IDX_S_DELETE_PENDING ||
	    g->state == IDX_S_GONE))
		merge_change(m, g, IDX_S_ON_SERVER, 1);
	else if (!listed && g->state == IDX_S_DELETE_PENDING)
		merge_change(m, g, IDX_S_DELETED, 0);
	else if (!listed && g->state == IDX_S_ON_SERVER)
		merge_change(m, g, IDX_S_GONE, 0);
	return 0;
}

int
run_merge(struct fetch *f, int reconcile, int facts)
{
	const struct pop3_listing	*l = f->l;
	struct merge			 m;
	size_t				 i;
	int				 r = 0;

	memset(&m, 0, sizeof m);
	m.f = f;
	m.order = xreallocarray(NULL, l->n ? l->n : 1, sizeof *m.order);
	for (i = 0; i < l->n; i++) {
		m.order[i] = (uint32_t)i;
		memset(&f->le[i], 0, sizeof f->le[i]);
	}
	sort_l = l;
	qsort(m.order, l->n, sizeof *m.order, order_cmp);
	for (i = 1; i < l->n; i++)
		if (uid_cmp(POP3_UID(l, m.order[i]),
		    l->e[m.order[i]].uid_len, POP3_UID(l, m.order[i - 1]),
		    l->e[m.order[i - 1]].uid_len) == 0)
			f->le[m.order[i]].shared =
			    f->le[m.order[i - 1]].shared = 1;
	if (f->idx != NULL && f->acct > 0 &&
	    idx_sightings(f->idx, f->acct, facts, merge_cb, &m) == -1) {
		log_warnx("%s", idx_error(f->idx));
		r = -1;
	}
	f->le_facts = r == 0 && facts;
	if (r == 0 && reconcile && m.nch > 0) {
		if (idx_begin(f->idx) == -1)
			r = -1;
		for (i = 0; r == 0 && i < m.nch; i++) {
			if (m.ch[i].to == IDX_S_DELETED)
				f->st->deleted++;
			r = idx_set_sighting_state(f->idx, f->acct,
			    m.arena + m.ch[i].off, m.ch[i].len, m.ch[i].to);
			if (r == 0 && m.ch[i].unprove)
				r = idx_unprove_sighting(f->idx, f->acct,
				    m.arena + m.ch[i].off, m.ch[i].len);
		}
		if (r == 0)
			r = idx_commit(f->idx);
		else
			idx_rollback(f->idx);
		if (r == -1)
			log_warnx("%s", idx_error(f->idx));
	}
	free(m.order);
	free(m.ch);
	free(m.arena);
	return r;
}

/* A session failure as an exit status (util.h). */
int
run_exit_of(enum pop3_errclass ec)
{
	switch (ec) {
	case POP3_E_TIMEOUT:
	case POP3_E_TEMP:
		return EXIT_TEMPFAIL;
	case POP3_E_AUTH:
		return EXIT_AUTH;
	case POP3_E_TLS:
		return EXIT_TLS;
	case POP3_E_PROTO:
		return EXIT_PROTOCOL;
	case POP3_E_LOCAL:
		return EXIT_IOERR;
	case POP3_E_INTR:
		return EXIT_SIGNAL;
	case POP3_E_USAGE:
		return EXIT_USAGE;
	case POP3_E_NET:
	default:
		return EXIT_UNAVAIL;
	}
}

struct recov {
	struct fetch	*f;
	int		 adopted, dropped;
};

static int
recover_cb(void *arg, int64_t id, const char *loc,
    const unsigned char *sha)
{
	struct recov	*r = arg;
	struct fmt	*fmt = r->f->fmt;

	/* Claimed but never written (no location yet): fetch again. */
	if (loc == NULL || *loc == '\0') {
		r->dropped++;
		return idx_drop_message(r->f->idx, id);
	}
	switch (fmt->ops->check(fmt, loc, sha)) {
	case FMT_PRESENT:
		r->adopted++;
		return idx_set_archived(r->f->idx, id, wall_now());
	case FMT_ABSENT:
	case FMT_QUARANTINED:
		r->dropped++;
		return idx_drop_message(r->f->idx, id);
	default:
		log_warnx("recovery: %s", fmt_error(fmt));
		return -1;
	}
}

static int
committed_cb(void *arg, const char *name, uint64_t *len, char *traps,
    size_t trapslen)
{
	struct fetch	*f = arg;

	return idx_volume_get(f->idx, f->acct, name, len, traps, trapslen);
}

/*
 * Rows archived but never verified (a run stopped between the commit
 * and the read-back): verify them now, before anything can be deleted.
 */
static int
verify_unverified(struct fetch *f)
{
	struct vlist	v;
	int		r;

	if (vlist_load(&v, f->idx, f->acct, f->o->format->name, 1, 0,
	    INT64_MAX) == -1) {
		log_warnx("%s", idx_error(f->idx));
		return -1;
	}
	if (v.n > 0)
		log_info("verifying %zu archived message%s not verified yet",
		    v.n, v.n == 1 ? "" : "s");
	r = batch_verify(f, v.it, v.n);
	vlist_free(&v);
	return r;
}

/*
 * Log in: a SASL mechanism when asked (RFC 5034); "auto" picks the
 * strongest the server offers after TLS, and USER/PASS when it offers
 * none; else USER/PASS or APOP.
 */
static int
login(struct pop3 *p, const struct run_opts *o, const char *pass)
{
	if (o->sasl == NULL || (strcmp(o->sasl, "auto") == 0 &&
	    pop3_caps(p)->sasl == 0))
		return pop3_login(p, o->user, pass, o->sasl != NULL ?
		    POP3_AUTH_USER : o->auth);
	return pop3_auth(p, o->sasl, o->user, pass);
}

/* RFC 2449 EXPIRE contradicting keep-on-server is worth a warning. */
static void
expire_warning(struct pop3 *p, const struct run_opts *o)
{
	const struct pop3_caps	*c = pop3_caps(p);

	if (!(c->flags & POP3_CAP_EXPIRE) || o->del != DEL_NEVER)
		return;
	if (c->expire_days == 0)
		log_warnx("%s: the server announces EXPIRE 0: it deletes "
		    "messages once retrieved, whatever popvault asks; mail "
		    "cannot be kept on this server", o->account);
	else if (c->expire_days > 0)
		log_info("%s: the server keeps retrieved messages for %d days "
		    "only (EXPIRE)", o->account, c->expire_days);
}

/*
 * RFC 2449 LOGIN-DELAY: the server refuses logins closer together than
 * this. Said once per run, so that whoever schedules popvault (cron)
 * can space the runs; after a [LOGIN-DELAY] refusal it says when to
 * come back.
 */
static void
login_delay_note(struct pop3 *p, const struct run_opts *o, int refused)
{
	const struct pop3_caps	*c = pop3_caps(p);

	if (refused) {
		if (c->flags & POP3_CAP_LOGIN_DELAY)
			log_warnx("%s: logged in too soon: the server allows "
			    "one login every %d seconds (LOGIN-DELAY); try "
			    "again later", o->account, c->login_delay);
		else
			log_warnx("%s: logged in too soon (LOGIN-DELAY); try "
			    "again later", o->account);
	} else if ((c->flags & POP3_CAP_LOGIN_DELAY) && c->login_delay > 0)
		log_info("%s: the server allows one login every %d seconds "
		    "(LOGIN-DELAY); schedule runs no closer together",
		    o->account, c->login_delay);
}

/* Resolve what an interrupted run left behind; before connecting. */
static int
recover(struct fetch *f)
{
	struct recov		r = { f, 0, 0 };
	struct fmt_committed	c = { committed_cb, f };

	if (f->fmt->ops->recover(f->fmt, &c) == -1) {
		log_warnx("recovery: %s", fmt_error(f->fmt));
		return -1;
	}
	crash_point("recovery");
	if (idx_begin(f->idx) == -1)
		goto fail;
	if (idx_pending(f->idx, f->acct, recover_cb, &r) == -1) {
		idx_rollback(f->idx);
		goto fail;
	}
	if (idx_commit(f->idx) == -1)
		goto fail;
	if (r.adopted + r.dropped > 0)
		log_info("recovery: %d message%s of an interrupted run kept, "
		    "%d to fetch again", r.adopted, r.adopted == 1 ? "" : "s",
		    r.dropped);
	return verify_unverified(f);
fail:
	log_warnx("recovery: %s", idx_error(f->idx));
	return -1;
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
 * An account is its server and user, not only its name: a new server can
 * reuse UIDL strings, which would look archived (and, with an equal LIST
 * size, be deleted unseen). An account whose host, port or user changed
 * runs only when told what it is: the same mailbox moved (every UIDL is
 * proven again by its bytes before any delete), or a new account (the
 * old one keeps its folder and history under another name). Returns
 * EXIT_OK, with *fresh set when a new account must be made, or an exit
 * code after saying why.
 */
static int
check_identity(const struct run_opts *o, struct fetch *f, int create,
    int *fresh)
{
	struct idx_ident	 id;
	char			 old[900], name[1700];
	int			 r;

	*fresh = 0;
	if (idx_identity(f->idx, f->acct, &id) == -1) {
		log_warnx("%s", idx_error(f->idx));
		return EXIT_IOERR;
	}
	if (same_identity(o, &id))
		return EXIT_OK;
	snprintf(old, sizeof old, "%s@%s:%s", id.user, id.host, id.port);
	switch (o->identity) {
	case RUN_ID_MOVED:
		log_warnx("account %s: was %s, now %s@%s:%s; the same mailbox, "
		    "moved: every message is fetched again and proven by its "
		    "bytes before any delete", o->account, old, o->user,
		    o->pop3.host, o->pop3.port);
		/* A dry run writes nothing: it only acts as if. */
		if (o->mode == RUN_DRY) {
			f->all_unproven = 1;
			return EXIT_OK;
		}
		if (idx_begin(f->idx) == -1)
			break;
		r = idx_unprove_account(f->idx, f->acct);
		if (r == 0)
			r = idx_set_identity(f->idx, f->acct, o->pop3.host,
			    o->pop3.port, o->user);
		if (r == 0 && idx_commit(f->idx) == 0)
			return EXIT_OK;
		idx_rollback(f->idx);
		break;
	case RUN_ID_NEW:
		*fresh = 1;
		/* Renamed only once logged in, and never by a dry run. */
		if (!create || o->mode == RUN_DRY)
			return EXIT_OK;
		snprintf(name, sizeof name, "%s (%s until %lld)", o->account,
		    old, (long long)wall_now());
		if (idx_account_rename(f->idx, f->acct, name) == -1)
			break;
		log_warnx("account %s: was %s, now %s@%s:%s; a new account "
		    "starts, the old one is kept as \"%s\"", o->account, old,
		    o->user, o->pop3.host, o->pop3.port, name);
		f->acct = 0;
		return EXIT_OK;
	default:
		log_warnx("account %s was archived from %s, and is now "
		    "%s@%s:%s: its UIDLs may stand for other messages there. "
		    "If it is the same mailbox, moved, run once with "
		    "--account-changed=moved (every message is fetched again "
		    "and proven by its bytes before any delete); to start a "
		    "fresh account and keep the old one under another name, "
		    "--account-changed=new", o->account, old, o->user,
		    o->pop3.host, o->pop3.port);
		return EXIT_USAGE;
	}
	log_warnx("%s", idx_error(f->idx));
	return EXIT_IOERR;
}

/*
 * Open the vault's index and the account's folder, lock the account and
 * open its archive, recovering what an interrupted run left. Without
 * create, a vault or account that does not exist yet is not made (so a
 * run that fails to log in writes nothing): *ready stays 0.
 *
 * A dry run writes nothing at all: the index is opened read only
 * (idx_open_ro()), no folder, lock file or archive is made, the lock is
 * taken only if its file exists, and the archive is not opened (the
 * plan needs the index alone).
 */
static int
open_vault(const struct run_opts *o, struct fetch *f, int *lockfd,
    int create, int *ready)
{
	struct fmt_args	fa;
	struct stat	sb;
	char		path[4200], dir[128], err[600];
	int		r, code, fresh;

	*ready = 0;
	if (xsnprintf(path, sizeof path, "%s/index.sqlite", o->vault) == -1) {
		log_warnx("vault path too long");
		return EXIT_USAGE;
	}
	if (!create && lstat(path, &sb) == -1 && errno == ENOENT)
		return EXIT_OK;
	if (o->mode == RUN_DRY && !create && lstat(path, &sb) == -1)
		return EXIT_OK;
	if (create && mkdir_p(o->vault) == -1) {
		log_warn("vault %s", o->vault);
		return EXIT_IOERR;
	}
	if (f->idx == NULL && (f->idx = o->mode == RUN_DRY ?
	    idx_open_ro(path, err, sizeof err) :
	    idx_open(path, err, sizeof err)) == NULL) {
		log_warnx("%s", err);
		return EXIT_IOERR;
	}
	r = create ? idx_account(f->idx, o->account, o->pop3.host,
	    o->pop3.port, o->user, &f->acct, dir, sizeof dir) :
	    idx_account_find(f->idx, o->account, &f->acct, dir, sizeof dir);
	if (r == -1) {
		log_warnx("%s", idx_error(f->idx));
		return EXIT_IOERR;
	}
	if (r == 1)
		return EXIT_OK;		/* not created yet */
	if ((code = check_identity(o, f, create, &fresh)) != EXIT_OK)
		return code;
	if (fresh) {
		/* A fresh account under the name, made once logged in. */
		if (!create || o->mode == RUN_DRY) {
			f->acct = 0;
			return EXIT_OK;
		}
		if (idx_account(f->idx, o->account, o->pop3.host,
		    o->pop3.port, o->user, &f->acct, dir, sizeof dir) == -1) {
			log_warnx("%s", idx_error(f->idx));
			return EXIT_IOERR;
		}
	}
	if (xsnprintf(f->st->where, sizeof f->st->where, "%s/accounts/%s",
	    o->vault, dir) == -1 || (o->mode != RUN_DRY &&
	    mkdir_p(f->st->where) == -1)) {
		log_warn("account folder %s", f->st->where);
		return EXIT_IOERR;
	}
	if (xsnprintf(path, sizeof path, "%s/lock", f->st->where) == -1 ||
	    (*lockfd = open(path, o->mode == RUN_DRY ? O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC : O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) ==
	    -1) {
		if (o->mode == RUN_DRY && errno == ENOENT) {
			*ready = 1;	/* nothing there to lock */
			return EXIT_OK;
		}
		log_warn("lock file %s", path);
		return EXIT_IOERR;
	}
	if (flock(*lockfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK) {
			log_warnx("account %s is being archived by another "
			    "popvault process", o->account);
			return EXIT_TEMPFAIL;
		}
		log_warn("lock %s", path);
		return EXIT_IOERR;
	}
	if (o->mode == RUN_DRY) {
		*ready = 1;
		return EXIT_OK;
	}
	fa.dir = f->st->where;
	fa.compress = o->compress;
	if ((f->fmt = o->format->open(&fa, err, sizeof err)) == NULL) {
		log_warnx("%s", err);
		return EXIT_IOERR;
	}
	if (recover(f) == -1)
		return f->failed ? f->exitcode : EXIT_IOERR;
	*ready = 1;
	return EXIT_OK;
}

/* Which listed messages to fetch: new UIDLs within the size limit. */
static size_t *
want_list(struct fetch *f, size_t *nwant)
{
	const struct pop3_listing	*l = f->l;
	size_t				*want = NULL, i, n = 0, cap = 0;

	for (i = 0; i < l->n; i++) {
		if (f->le[i].known && !f->le[i].drift && f->le[i].proven) {
			f->st->known++;
			continue;
		}
		if (f->le[i].known && !f->le[i].drift) {
			/* Its bytes are not proven stored: fetch again. */
			log_verbose("UIDL %.*s: not proven archived (an older "
			    "index, a damaged copy or an unconfirmed delete); "
			    "fetching it again", (int)l->e[i].uid_len,
			    POP3_UID(l, i));
			f->st->reproved++;
		} else if (f->le[i].reused) {
			log_warnx("UIDL %.*s: deleted from the server before "
			    "and listed again: the server reused it for a new "
			    "message; fetching it", (int)l->e[i].uid_len,
			    POP3_UID(l, i));
			f->st->fresh++;
		} else if (f->le[i].drift)
			/* RELIABILITY 29: fetched again, both versions kept. */
			log_warnx("UIDL %.*s: the server's message changed "
			    "size since it was archived; fetching it again, "
			    "both versions are kept", (int)l->e[i].uid_len,
			    POP3_UID(l, i));
		else
			f->st->fresh++;
		if (l->e[i].size > f->o->pop3.max_msg_size) {
			log_warnx("message %u (UIDL %.*s) is %llu bytes, over "
			    "the maximum size; not fetched", l->e[i].num,
			    (int)l->e[i].uid_len, POP3_UID(l, i),
			    (unsigned long long)l->e[i].size);
			f->st->skipped++;
			continue;
		}
		if (f->o->mode == RUN_DRY)
			printf("archive %.*s (%llu bytes)\n",
			    (int)l->e[i].uid_len, POP3_UID(l, i),
			    (unsigned long long)l->e[i].size);
		/* Grown as needed: a run with little new holds little. */
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			want = xreallocarray(want, cap, sizeof *want);
		}
		want[n++] = i;
		f->st->todo_bytes += l->e[i].size;
	}
	f->st->todo = n;
	*nwant = n;
	return want;
}

/*
 * The connection's wait hook during RETR: the claims of messages already
 * received are committed before popvault waits for the server, which
 * may be slow to send the rest, so that the index's write lock is never
 * held for the network's sake (parallel accounts claim too). A commit
 * that fails stops the run, as it would in batch.c.
 */
static int
claims_before_wait(void *arg)
{
	struct fetch	*f = arg;

	if (batch_claims_commit(f) == -1)
		return fetch_fail(f, EXIT_IOERR, "index", idx_error(f->idx));
	return 0;
}

static int
fetch_new(struct fetch *f, struct pop3 *p)
{
	struct pop3_sink	 sink;
	size_t			*want, nwant = 0;
	int			 code = EXIT_OK, r;

	want = want_list(f, &nwant);
	log_event("listing", "listed=%zu new=%zu", f->l->n, nwant);
	if (f->o->mode != RUN_FETCH) {
		free(want);
		return EXIT_OK;
	}
	f->st->phase = RUN_PH_FETCH;
	f->st->fetch_t0 = now_ms();
	progress_tick();
	f->hwhole = hash_new();
	f->hbody = hash_new();
	if (f->o->format->flags & FMT_F_NEEDS_SIZE)
		f->spool = spool_new(f->st->where, 1 << 20);
	batch_sink(f, &sink);
	f->conn = pop3_conn(p);
	conn_set_wait_hook(f->conn, claims_before_wait, f);
	r = pop3_retrieve(p, f->l, want, nwant, &sink);
	conn_set_wait_hook(f->conn, NULL, NULL);
	if (r == -1) {
		if (f->writing)
			f->fmt->ops->discard(f->fmt);
		/* Claims of a batch that is not flushed: recovery's. */
		if (batch_claims_commit(f) == -1)
			log_warnx("%s", idx_error(f->idx));
		if (!f->failed)
			log_warnx("%s: %s", f->o->account, pop3_error(p));
		/* Keep what was complete before the failure. */
		if (!f->failed || f->exitcode == EXIT_SIGNAL)
			batch_flush(f);
		code = f->failed ? f->exitcode : run_exit_of(pop3_errclass(p));
	} else if (batch_flush(f) == -1)
		code = f->exitcode;
	/* The last batch's read-back: recorded before any delete. */
	if (batch_verify_finish(f) == -1 && (code == EXIT_OK ||
	    f->verify_failed))
		code = f->exitcode;
	free(want);
	return code;
}

/*
 * One session per run. Servers that list only part of the mailbox per
 * session (Gmail, RELIABILITY 16) show the rest to the next run; looking
 * again within one run is not done yet (see docs/reliability-coverage.md).
 */
int
run_account(const struct run_opts *o, struct run_stats *st)
{
	struct fetch		 f;
	struct pop3		*p = NULL;
	struct pop3_listing	 l;
	char			 err[600], what[600];
	char			*pass = NULL;
	int			 lockfd = -1, code, ready = 0, quit_done = 0;
	int64_t			 t0 = now_ms();

	memset(st, 0, sizeof *st);
	st->phase = RUN_PH_CONNECT;
	log_last_reset();
	log_account(o->account);
	log_event("start", "mode=%s", o->mode == RUN_FETCH ? "fetch" :
	    o->mode == RUN_PRUNE ? "prune" : "dry-run");
	memset(&f, 0, sizeof f);
	memset(&l, 0, sizeof l);
	f.o = o;
	f.st = st;
	f.batch_msgs = o->batch_msgs ? o->batch_msgs :
	    o->format->batch_msgs ? o->format->batch_msgs : 200;
	f.batch_bytes = o->batch_bytes ? o->batch_bytes :
	    o->format->batch_bytes ? o->format->batch_bytes : 32ULL << 20;
	f.l = &l;
	f.exitcode = EXIT_OK;
	/* An existing archive is recovered before connecting. */
	if ((code = open_vault(o, &f, &lockfd, 0, &ready)) != EXIT_OK)
		goto out;
	snprintf(what, sizeof what, "%s@%s", o->user, o->pop3.host);
	if (o->password != NULL)
		pass = xstrdup(o->password);
	else if ((pass = secret_get(o->password_command, what, err,
	    sizeof err)) == NULL) {
		log_warnx("%s", err);
		code = EXIT_USAGE;
		goto out;
	}
	p = pop3_new(&o->pop3);
	progress_tick();
	if (pop3_connect(p) == -1)
		goto loginfail;
	log_event("connect", "host=%s port=%s tls=%s",
	    log_event_value(o->pop3.host, strlen(o->pop3.host), err, 300),
	    o->pop3.port, conn_is_tls(pop3_conn(p)) ? "yes" : "no");
	if (login(p, o, pass) == -1) {
loginfail:
		log_warnx("%s: %s", o->account, pop3_error(p));
		if (pop3_rcode(p) == POP3_RC_LOGIN_DELAY)
			login_delay_note(p, o, 1);
		code = run_exit_of(pop3_errclass(p));
		goto out;
	}
	secret_free(pass);
	pass = NULL;
	log_event("login", "user=%s", log_event_value(o->user,
	    strlen(o->user), err, sizeof err));
	expire_warning(p, o);
	login_delay_note(p, o, 0);
	st->phase = RUN_PH_LIST;
	progress_tick();
	if (pop3_listing(p, &l) == -1) {
		log_warnx("%s: %s", o->account, pop3_error(p));
		code = run_exit_of(pop3_errclass(p));
		goto out;
	}
	st->listed = l.n;
	if (!ready && o->mode == RUN_FETCH &&
	    (code = open_vault(o, &f, &lockfd, 1, &ready)) != EXIT_OK)
		goto out;
	f.le = xcalloc(l.n ? l.n : 1, sizeof *f.le);
	/*
	 * What deletes need (verified, bad, age) comes from the merge after
	 * the download; only a run that deletes without downloading needs
	 * it now. Without it the merge reads the sightings alone.
	 */
	if (run_merge(&f, o->mode != RUN_DRY && ready,
	    o->del != DEL_NEVER && o->mode != RUN_FETCH) == -1) {
		code = EXIT_IOERR;
		goto out;
	}
	if ((code = fetch_new(&f, p)) != EXIT_OK)
		goto out;
	if (o->del != DEL_NEVER) {
		/* What was just archived and verified counts too. */
		if (o->mode == RUN_FETCH && run_merge(&f, 0, 1) == -1) {
			code = EXIT_IOERR;
			goto out;
		}
		if (ready || o->mode == RUN_DRY)
			code = delete_phase(&f, p, &quit_done);
		if (code != EXIT_OK)
			goto out;
	}
	if (!quit_done && pop3_quit(p) == -1)
		log_warnx("%s: %s", o->account, pop3_error(p));
	code = (st->failed > 0 || st->skipped > 0 || st->refused > 0) ?
	    EXIT_PARTIAL : EXIT_OK;
out:
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
	if (f.idx != NULL && f.acct > 0 && o->mode != RUN_DRY)
		idx_account_done(f.idx, f.acct, code == EXIT_OK ? "ok" :
		    code == EXIT_PARTIAL ? "partial" : "failed",
		    st->listed ? (int64_t)st->listed : -1, wall_now());
	secret_free(pass);
	if (f.vj != NULL)
		(void)batch_verify_finish(&f);
	batch_clear(&f);
	free(f.b);
	free(f.le);
	pop3_listing_free(&l);
	pop3_free(p);
	hash_free(f.hwhole);
	hash_free(f.hbody);
	spool_free(f.spool);
	if (f.fmt != NULL)
		f.fmt->ops->close(f.fmt);
	idx_close(f.idx);
	if (lockfd != -1)
		close(lockfd);
	return code;
}
