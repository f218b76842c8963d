/*
 * run.c -- the archiving run of one account; see run.h.
 *
 * The commit protocol (../shared/DESIGN.md, RELIABILITY.md) per batch:
 *
 *   1. messages are streamed into the format (Maildir: files in tmp/),
 *      hashed and scanned on the way; duplicates are discarded
 *   2. one transaction writes an intent row per stored message (state
 *      "pending", with its location) and a sighting per (account, UIDL)
 *   3. the format's sync makes the batch durable (the commit point)
 *   4. one transaction marks the rows "archived"
 *
 * A crash before 2 leaves only temp files, which recovery removes. A
 * crash between 2 and 4 leaves pending rows, which recovery resolves by
 * hash: the message is adopted if it is there intact, otherwise the row
 * is dropped and the next run fetches the message again (it is still
 * on the server: nothing here deletes).
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "hdr.h"
#include "idx.h"
#include "log.h"
#include "pop3.h"
#include "run.h"
#include "secret.h"
#include "spool.h"
#include "util.h"

static volatile sig_atomic_t run_stop;

void
run_interrupt(void)
{
	run_stop = 1;
}

/* One message of the current batch. */
struct bentry {
	size_t		 li;		/* index in the listing */
	unsigned char	 sha[HASH_LEN];
	unsigned char	 body[HASH_LEN];
	uint64_t	 size;
	int64_t		 dup_of;	/* stored message id, or -1 */
	long		 dup_in_batch;	/* batch index, or -1 */
	int64_t		 msg_id;	/* after the intent insert */
	char		*loc;		/* NULL for a duplicate */
	char		*meta;		/* header values, back to back */
	size_t		 mlen[HDR_NFIELDS];
	int		 mhave[HDR_NFIELDS];
	size_t		 mid_off, mid_len;	/* Message-ID key in meta */
	int		 has_mid;
};

struct fetch {
	const struct run_opts	*o;
	struct run_stats	*st;
	struct idx		*idx;
	struct fmt		*fmt;
	const struct pop3_listing *l;
	int64_t			 acct;
	struct hash		*hwhole, *hbody;
	struct hdr_scan		 hs;
	uint64_t		 cursize;
	int			 writing;	/* fmt has a message begun */
	struct spool		*spool;		/* for FMT_F_NEEDS_SIZE */
	struct bentry		*b;
	size_t			 nb, capb;
	uint64_t		 bbytes;
	int			 failed;	/* a local failure happened */
	unsigned		 batch_msgs;
	uint64_t		 batch_bytes;
	int			 exitcode;
};

static int
fetch_fail(struct fetch *f, int code, const char *what, const char *why)
{
	log_warnx("%s: %s", what, why);
	f->failed = 1;
	f->exitcode = code;
	return -1;
}

static void
batch_clear(struct fetch *f)
{
	size_t	i;

	for (i = 0; i < f->nb; i++) {
		free(f->b[i].loc);
		free(f->b[i].meta);
	}
	f->nb = 0;
	f->bbytes = 0;
}

static const char *
meta_field(const struct bentry *e, int k, size_t *len)
{
	size_t	off = 0;
	int	i;

	if (!e->mhave[k])
		return NULL;
	for (i = 0; i < k; i++)
		off += e->mlen[i];
	*len = e->mlen[k];
	return e->meta + off;
}

/* Steps 2-4 of the commit protocol for the current batch. */
static int
batch_flush(struct fetch *f)
{
	struct idx_msg	 m;
	struct bentry	*e;
	const struct fmt_vol *vols;
	size_t		 i, nv, len = 0;
	int64_t		 now = wall_now();
	const char	*uid;

	if (f->nb == 0)
		return 0;
	if (idx_begin(f->idx) == -1)
		return fetch_fail(f, EXIT_IOERR, "index", idx_error(f->idx));
	for (i = 0; i < f->nb; i++) {
		e = &f->b[i];
		if (e->loc == NULL)
			continue;
		memset(&m, 0, sizeof m);
		m.account_id = f->acct;
		memcpy(m.sha256, e->sha, HASH_LEN);
		memcpy(m.body_sha256, e->body, HASH_LEN);
		m.size = e->size;
		if (e->has_mid) {
			m.message_id = e->meta + e->mid_off;
			m.message_id_len = e->mid_len;
		}
		m.date = meta_field(e, HDR_DATE, &len);
		m.date_len = len;
		m.from = meta_field(e, HDR_FROM, &len);
		m.from_len = len;
		m.subject = meta_field(e, HDR_SUBJECT, &len);
		m.subject_len = len;
		m.return_path = meta_field(e, HDR_RETURN_PATH, &len);
		m.return_path_len = len;
		m.format = f->o->format->name;
		m.location = e->loc;
		m.first_seen = now;
		if (idx_add_message(f->idx, &m, &e->msg_id) == -1)
			goto fail;
	}
	for (i = 0; i < f->nb; i++) {
		e = &f->b[i];
		if (e->loc == NULL)
			e->msg_id = e->dup_in_batch >= 0 ?
			    f->b[e->dup_in_batch].msg_id : e->dup_of;
		uid = POP3_UID(f->l, e->li);
		if (idx_add_sighting(f->idx, f->acct, uid,
		    f->l->e[e->li].uid_len, e->msg_id, e->size, now) == -1)
			goto fail;
	}
	crash_point("before-intent-commit");
	if (idx_commit(f->idx) == -1)
		goto fail;
	crash_point("intent-committed");
	if (f->fmt->ops->sync(f->fmt) == -1)
		return fetch_fail(f, EXIT_IOERR, "archive",
		    fmt_error(f->fmt));
	crash_point("archive-synced");
	if (idx_begin(f->idx) == -1)
		return fetch_fail(f, EXIT_IOERR, "index", idx_error(f->idx));
	for (i = 0; i < f->nb; i++) {
		if (f->b[i].loc != NULL &&
		    idx_set_archived(f->idx, f->b[i].msg_id, now) == -1)
			goto fail;
	}
	nv = f->fmt->ops->synced(f->fmt, &vols);
	for (i = 0; i < nv; i++)
		if (idx_volume_set(f->idx, f->acct, vols[i].name,
		    vols[i].length, vols[i].traps) == -1)
			goto fail;
	if (idx_commit(f->idx) == -1)
		goto fail;
	crash_point("batch-committed");
	for (i = 0; i < f->nb; i++)
		if (f->b[i].loc != NULL)
			f->st->archived++;
	batch_clear(f);
	return 0;
fail:
	idx_rollback(f->idx);
	return fetch_fail(f, EXIT_IOERR, "index", idx_error(f->idx));
}

static int
sink_begin(void *arg, size_t li)
{
	struct fetch		*f = arg;
	struct fmt_msginfo	 mi;

	crash_point("retr-begin");
	hash_reset(f->hwhole);
	hash_reset(f->hbody);
	hdr_init(&f->hs);
	f->cursize = 0;
	if (f->spool != NULL) {
		/* The format wants the whole message first: hold it. */
		spool_reset(f->spool);
		return 0;
	}
	memset(&mi, 0, sizeof mi);
	mi.size = f->l->e[li].size;
	mi.when = wall_now();
	mi.content_length = -1;
	if (f->fmt->ops->begin(f->fmt, &mi) == -1)
		return fetch_fail(f, EXIT_IOERR, "archive",
		    fmt_error(f->fmt));
	f->writing = 1;
	return 0;
}

static int
sink_data(void *arg, const char *p, size_t n)
{
	struct fetch	*f = arg;
	size_t		 h = 0;

	hash_update(f->hwhole, p, n);
	if (!f->hs.in_body)
		h = hdr_feed(&f->hs, p, n);
	if (h < n)
		hash_update(f->hbody, p + h, n - h);
	f->cursize += n;
	if (f->cursize > (1u << 20))
		crash_point("retr-mid-body");
	if (f->spool != NULL) {
		if (spool_add(f->spool, p, n) == -1) {
			log_warn("spool");
			return fetch_fail(f, EXIT_IOERR, "archive",
			    "cannot hold the message for the archive");
		}
		return 0;
	}
	if (f->fmt->ops->write(f->fmt, p, n) == -1)
		return fetch_fail(f, EXIT_IOERR, "archive",
		    fmt_error(f->fmt));
	return 0;
}

/* Copy the kept header values of the scan into e->meta. */
static void
keep_meta(struct fetch *f, struct bentry *e)
{
	const char	*v, *mid;
	size_t		 len, total = 0, midlen = 0;
	int		 k;

	for (k = 0; k < HDR_NFIELDS; k++) {
		e->mhave[k] = hdr_get(&f->hs, k, &len) != NULL;
		e->mlen[k] = e->mhave[k] ? len : 0;
		total += e->mlen[k];
	}
	mid = hdr_message_id(&f->hs, &midlen);
	e->meta = xmalloc(total + midlen + 1);
	total = 0;
	for (k = 0; k < HDR_NFIELDS; k++) {
		if ((v = hdr_get(&f->hs, k, &len)) == NULL)
			continue;
		memcpy(e->meta + total, v, len);
		total += len;
	}
	e->has_mid = mid != NULL;
	if (mid != NULL)
		memcpy(e->meta + total, mid, midlen);
	e->mid_off = total;
	e->mid_len = midlen;
}

/* The value of a Content-Length header, or -1 (absent or not a number). */
static int64_t
content_length(const struct bentry *e)
{
	const char	*v;
	size_t		 len = 0, i = 0;
	int64_t		 n = 0;

	if ((v = meta_field(e, HDR_CONTENT_LENGTH, &len)) == NULL)
		return -1;
	while (i < len && (v[i] == ' ' || v[i] == '\t'))
		i++;
	if (i == len)
		return -1;
	for (; i < len && v[i] >= '0' && v[i] <= '9'; i++) {
		if (n > (INT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (v[i] - '0');
	}
	return n;
}

static int
spool_write_cb(void *arg, const void *p, size_t n)
{
	struct fmt	*fmt = arg;

	return fmt->ops->write(fmt, p, n);
}

/* A spooled message: begin with its size and sender, then its bytes. */
static int
write_spooled(struct fetch *f, struct bentry *e)
{
	struct fmt_msginfo	 mi;
	size_t			 len = 0;

	memset(&mi, 0, sizeof mi);
	mi.size = spool_size(f->spool);
	mi.when = wall_now();
	mi.sender = meta_field(e, HDR_RETURN_PATH, &len);
	mi.sender_len = len;
	mi.content_length = content_length(e);
	mi.sha256 = e->sha;
	if (f->fmt->ops->begin(f->fmt, &mi) == -1)
		return -1;
	f->writing = 1;
	if (spool_replay(f->spool, spool_write_cb, f->fmt) == -1) {
		if (f->fmt->err[0] == '\0')
			fmt_fail(f->fmt, "reading back the spool: %s",
			    strerror(errno));
		return -1;
	}
	return 0;
}

/* Same content key as an earlier message of this batch? */
static long
batch_dup(struct fetch *f, const struct bentry *e)
{
	size_t	i;

	for (i = 0; i < f->nb; i++) {
		const struct bentry	*o = &f->b[i];

		if (o->loc == NULL || o->has_mid != e->has_mid)
			continue;
		if (e->has_mid) {
			if (o->mid_len == e->mid_len &&
			    memcmp(o->meta + o->mid_off, e->meta + e->mid_off,
			    e->mid_len) == 0 &&
			    memcmp(o->body, e->body, HASH_LEN) == 0)
				return (long)i;
		} else if (memcmp(o->sha, e->sha, HASH_LEN) == 0)
			return (long)i;
	}
	return -1;
}

static int
sink_end(void *arg, size_t li)
{
	struct fetch	*f = arg;
	struct bentry	*e;
	char		 loc[512];
	int		 found, collision;

	if (f->nb == f->capb) {
		f->capb = f->capb ? f->capb * 2 : 64;
		f->b = xreallocarray(f->b, f->capb, sizeof *f->b);
	}
	e = &f->b[f->nb];
	memset(e, 0, sizeof *e);
	e->li = li;
	e->size = f->cursize;
	e->dup_of = -1;
	e->dup_in_batch = -1;
	hash_final(f->hwhole, e->sha);
	hash_final(f->hbody, e->body);
	keep_meta(f, e);
	f->st->bytes += f->cursize;
	f->writing = 0;
	e->dup_in_batch = batch_dup(f, e);
	found = 0;
	collision = 0;
	if (e->dup_in_batch < 0) {
		found = idx_find_dup(f->idx, e->has_mid ? e->meta + e->mid_off :
		    NULL, e->mid_len, e->body, e->sha, &e->dup_of, &collision);
		if (found == -1) {
			free(e->meta);
			f->fmt->ops->discard(f->fmt);
			return fetch_fail(f, EXIT_IOERR, "index",
			    idx_error(f->idx));
		}
	}
	if (found || e->dup_in_batch >= 0) {
		if (f->spool == NULL && f->fmt->ops->discard(f->fmt) == -1) {
			free(e->meta);
			return fetch_fail(f, EXIT_IOERR, "archive",
			    fmt_error(f->fmt));
		}
		f->st->dups++;
	} else {
		if (collision) {
			char	esc[256];

			f->st->collisions++;
			log_warnx("Message-ID %s already stored with other "
			    "content; keeping both",
			    log_escape(e->meta + e->mid_off, e->mid_len, esc,
			    sizeof esc));
		}
		if ((f->spool != NULL && write_spooled(f, e) == -1) ||
		    f->fmt->ops->end(f->fmt, loc, sizeof loc) == -1) {
			free(e->meta);
			return fetch_fail(f, EXIT_IOERR, "archive",
			    fmt_error(f->fmt));
		}
		f->writing = 0;
		e->loc = xstrdup(loc);
		f->bbytes += e->size;
	}
	f->nb++;
	if (f->nb >= f->batch_msgs || f->bbytes >= f->batch_bytes ||
	    run_stop) {
		if (batch_flush(f) == -1)
			return -1;
	}
	if (run_stop) {
		f->exitcode = EXIT_SIGNAL;
		f->failed = 1;
		log_warnx("interrupted: stopping after a committed batch");
		return -1;
	}
	return 0;
}

static int
sink_failed(void *arg, size_t li, const char *why)
{
	struct fetch	*f = arg;

	log_warnx("message %u (UIDL %.*s) not retrieved: %s",
	    f->l->e[li].num, (int)f->l->e[li].uid_len, POP3_UID(f->l, li),
	    why);
	f->st->failed++;
	return 0;
}

/* Merge join of the server's UIDLs with the index's, both sorted. */
struct merge {
	const struct pop3_listing	*l;
	const size_t			*order;
	size_t				 pos;
	unsigned char			*known;
};

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
	size_t	i = *(const size_t *)a, j = *(const size_t *)b;

	return uid_cmp(POP3_UID(sort_l, i), sort_l->e[i].uid_len,
	    POP3_UID(sort_l, j), sort_l->e[j].uid_len);
}

static int
merge_cb(void *arg, const char *uid, size_t len)
{
	struct merge	*m = arg;
	size_t		 i;
	int		 c;

	while (m->pos < m->l->n) {
		i = m->order[m->pos];
		c = uid_cmp(POP3_UID(m->l, i), m->l->e[i].uid_len, uid, len);
		if (c < 0) {
			m->pos++;
			continue;
		}
		if (c == 0) {
			/* Every copy sharing this UIDL is known. */
			m->known[i] = 1;
			m->pos++;
			continue;
		}
		break;
	}
	return 0;
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
	return 0;
fail:
	log_warnx("recovery: %s", idx_error(f->idx));
	return -1;
}

static int
pop3_exit(enum pop3_errclass ec)
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

/*
 * Open the vault's index and the account's folder, lock the account and
 * open its archive, recovering what an interrupted run left. Without
 * create, a vault or account that does not exist yet is not made (so a
 * run that fails to log in writes nothing): *ready stays 0.
 */
static int
open_vault(const struct run_opts *o, struct fetch *f, int *lockfd,
    int create, int *ready)
{
	struct fmt_args	fa;
	struct stat	sb;
	char		path[4200], dir[128], err[600];
	int		r;

	*ready = 0;
	if (xsnprintf(path, sizeof path, "%s/index.sqlite", o->vault) == -1) {
		log_warnx("vault path too long");
		return EXIT_USAGE;
	}
	if (!create && lstat(path, &sb) == -1 && errno == ENOENT)
		return EXIT_OK;
	if (create && mkdir_p(o->vault) == -1) {
		log_warn("vault %s", o->vault);
		return EXIT_IOERR;
	}
	if (f->idx == NULL &&
	    (f->idx = idx_open(path, err, sizeof err)) == NULL) {
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
	if (xsnprintf(f->st->where, sizeof f->st->where, "%s/accounts/%s",
	    o->vault, dir) == -1 || mkdir_p(f->st->where) == -1) {
		log_warn("account folder %s", f->st->where);
		return EXIT_IOERR;
	}
	if (xsnprintf(path, sizeof path, "%s/lock", f->st->where) == -1 ||
	    (*lockfd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) == -1) {
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
	fa.dir = f->st->where;
	fa.compress = o->compress;
	if ((f->fmt = o->format->open(&fa, err, sizeof err)) == NULL) {
		log_warnx("%s", err);
		return EXIT_IOERR;
	}
	if (recover(f) == -1)
		return EXIT_IOERR;
	*ready = 1;
	return EXIT_OK;
}

/* Which listed messages to fetch: new UIDLs within the size limit. */
static size_t *
plan(struct fetch *f, const struct pop3_listing *l, size_t *nwant)
{
	struct merge	 m;
	size_t		*order, *want, i, n = 0;

	order = xreallocarray(NULL, l->n, sizeof *order);
	for (i = 0; i < l->n; i++)
		order[i] = i;
	sort_l = l;
	qsort(order, l->n, sizeof *order, order_cmp);
	memset(&m, 0, sizeof m);
	m.l = l;
	m.order = order;
	m.known = xcalloc(l->n, 1);
	if (idx_known_uidls(f->idx, f->acct, merge_cb, &m) == -1) {
		log_warnx("%s", idx_error(f->idx));
		free(order);
		free(m.known);
		return NULL;
	}
	free(order);
	want = xreallocarray(NULL, l->n, sizeof *want);
	for (i = 0; i < l->n; i++) {
		if (m.known[i])
			continue;
		f->st->fresh++;
		if (l->e[i].size > f->o->pop3.max_msg_size) {
			log_warnx("message %u (UIDL %.*s) is %llu bytes, over "
			    "the maximum size; not fetched", l->e[i].num,
			    (int)l->e[i].uid_len, POP3_UID(l, i),
			    (unsigned long long)l->e[i].size);
			f->st->skipped++;
			continue;
		}
		want[n++] = i;
	}
	free(m.known);
	*nwant = n;
	return want;
}

int
run_account(const struct run_opts *o, struct run_stats *st)
{
	struct fetch		 f;
	struct pop3		*p = NULL;
	struct pop3_listing	 l;
	struct pop3_sink	 sink;
	size_t			*want = NULL, nwant = 0;
	char			 err[600], what[600];
	char			*pass = NULL;
	int			 lockfd = -1, code, ready = 0;
	int64_t			 t0 = now_ms();

	memset(st, 0, sizeof *st);
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
	if ((pass = secret_get(o->password_command, what, err,
	    sizeof err)) == NULL) {
		log_warnx("%s", err);
		code = EXIT_USAGE;
		goto out;
	}
	p = pop3_new(&o->pop3);
	if (pop3_connect(p) == -1 ||
	    pop3_login(p, o->user, pass, o->auth) == -1) {
		log_warnx("%s: %s", o->account, pop3_error(p));
		code = pop3_exit(pop3_errclass(p));
		goto out;
	}
	secret_free(pass);
	pass = NULL;
	if (pop3_listing(p, &l) == -1) {
		log_warnx("%s: %s", o->account, pop3_error(p));
		code = pop3_exit(pop3_errclass(p));
		goto out;
	}
	st->listed = l.n;
	if (!ready && (code = open_vault(o, &f, &lockfd, 1, &ready)) !=
	    EXIT_OK)
		goto out;
	if ((want = plan(&f, &l, &nwant)) == NULL) {
		code = EXIT_IOERR;
		goto out;
	}
	f.hwhole = hash_new();
	f.hbody = hash_new();
	if (o->format->flags & FMT_F_NEEDS_SIZE)
		f.spool = spool_new(st->where, 1 << 20);
	sink.begin = sink_begin;
	sink.data = sink_data;
	sink.end = sink_end;
	sink.failed = sink_failed;
	sink.arg = &f;
	if (pop3_retrieve(p, &l, want, nwant, &sink) == -1) {
		if (f.writing)
			f.fmt->ops->discard(f.fmt);
		if (!f.failed)
			log_warnx("%s: %s", o->account, pop3_error(p));
		/* Keep what was complete before the failure. */
		if (!f.failed || f.exitcode == EXIT_SIGNAL)
			batch_flush(&f);
		code = f.failed ? f.exitcode : pop3_exit(pop3_errclass(p));
		goto out;
	}
	if (batch_flush(&f) == -1) {
		code = f.exitcode;
		goto out;
	}
	/* Nothing was marked for deletion: QUIT only ends the session. */
	if (pop3_quit(p) == -1)
		log_warnx("%s: %s", o->account, pop3_error(p));
	code = (st->failed > 0 || st->skipped > 0) ? EXIT_PARTIAL : EXIT_OK;
out:
	st->ms = now_ms() - t0;
	if (f.idx != NULL && f.acct > 0)
		idx_account_done(f.idx, f.acct, code == EXIT_OK ? "ok" :
		    code == EXIT_PARTIAL ? "partial" : "failed",
		    st->listed ? (int64_t)st->listed : -1, wall_now());
	secret_free(pass);
	batch_clear(&f);
	free(f.b);
	free(want);
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
