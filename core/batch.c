/*
 * batch.c -- messages into the archive, a batch at a time.
 *
 * The commit protocol (../shared/DESIGN.md, RELIABILITY.md) per batch:
 *
 *   1. messages are streamed into the format (Maildir: files in tmp/),
 *      or held whole first for formats that need the size; hashed and
 *      scanned on the way; duplicates are dropped
 *   2. each message is claimed at once in a short transaction (see
 *      claim()): a duplicate becomes a sighting; a new message a
 *      "pending" row and a sighting, visible to parallel accounts
 *   3. one transaction (durable) records where each message went: the
 *      intent
 *   4. the format's sync makes the batch durable (the commit point)
 *   5. one transaction marks the rows "archived" and records the
 *      committed length of the volumes the batch grew
 *   6. the batch is read back from disk through the format's reader and
 *      each message hashed again, on a thread while the next batch
 *      downloads; one transaction marks the rows "verified", or notes
 *      why not (and then nothing is deleted), before the next batch's
 *      read-back starts and before the delete phase
 *
 * A crash before 3 leaves temp files or bytes past a committed length,
 * which recovery removes or moves aside, and pending rows without a
 * location, which it drops. A crash between 3 and 5 leaves
 * pending rows, which recovery resolves by hash (adopt or drop: a
 * dropped message is still on the server, since only verified messages
 * are ever deleted). A crash between 4 and 5 leaves archived rows, which
 * the next run verifies before anything else.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "log.h"
#include "progress.h"
#include "run_int.h"
#include "stop.h"
#include "util.h"

static int verify_entries(struct fetch *);
static int verify_collect(struct fetch *);
static int batch_verify_record(struct fetch *, struct fmt_vitem *,
    size_t);
static int claims_maybe_commit(struct fetch *);

int
fetch_fail(struct fetch *f, int code, const char *what, const char *why)
{
	log_warnx("%s: %s", what, why);
	f->failed = 1;
	f->exitcode = code;
	return -1;
}

void
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

/* Steps 3-6 of the commit protocol for the current batch. */
int
batch_flush(struct fetch *f)
{
	const struct fmt_vol *vols;
	size_t		 i, nv;
	int64_t		 now = wall_now();

	if (batch_claims_commit(f) == -1)
		return fetch_fail(f, EXIT_IOERR, "index", idx_error(f->idx));
	if (f->nb == 0)
		return 0;
	/* 3. The intent: where each claimed message is going. FULL. */
	if (idx_begin(f->idx) == -1)
		return fetch_fail(f, EXIT_IOERR, "index", idx_error(f->idx));
	for (i = 0; i < f->nb; i++)
		if (f->b[i].loc != NULL && idx_set_location(f->idx,
		    f->b[i].msg_id, f->b[i].loc) == -1)
			goto fail;
	crash_point("before-intent-commit");
	if (idx_commit(f->idx) == -1)
		goto fail;
	crash_point("intent-committed");
	/* 4. The commit point of the archive. */
	if (f->fmt->ops->sync(f->fmt) == -1)
		return fetch_fail(f, EXIT_IOERR, "archive",
		    fmt_error(f->fmt));
	crash_point("archive-synced");
	/* 5. Archived, with the volumes' committed lengths. */
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
	nv = 0;
	for (i = 0; i < f->nb; i++)
		if (f->b[i].loc != NULL) {
			f->st->archived++;
			nv++;
		}
	log_event("batch", "stored=%zu received=%zu", nv, f->nb);
	/* 6. Read back. */
	if (verify_entries(f) == -1)
		return -1;
	batch_clear(f);
	return 0;
fail:
	idx_rollback(f->idx);
	return fetch_fail(f, EXIT_IOERR, "index", idx_error(f->idx));
}

/*
 * Step 6 off the main thread. The read-back of a committed batch needs
 * nothing the download touches: a thread reads it through a second,
 * read-only instance of the format (as `popvault verify` does) while
 * the next batch downloads, and the main thread records the outcome
 * (its own transaction, as before) when it flushes that next batch, or
 * at the end of the download. One batch is in verification at a time.
 * Nothing is deleted before every batch's outcome is recorded; a batch
 * whose outcome never gets recorded (a crash) stays "archived", which
 * the next run verifies before anything else.
 */
struct vjob {
	struct fmt		*rfmt;		/* the reader instance */
	int			 rfmt_tried;
	pthread_t		 thr;
	int			 on;		/* a thread to join */
	struct fmt_vitem	*it;
	size_t			 n;
	int			 rc;
	char			 err[512];
};

static void *
verify_main(void *arg)
{
	struct vjob	*vj = arg;

	vj->rc = vj->rfmt->ops->verify(vj->rfmt, vj->it, vj->n);
	if (vj->rc == -1)
		snprintf(vj->err, sizeof vj->err, "%s", fmt_error(vj->rfmt));
	return NULL;
}

static void
vjob_items_free(struct vjob *vj)
{
	size_t	i;

	for (i = 0; i < vj->n; i++)
		free((char *)(uintptr_t)vj->it[i].loc);
	free(vj->it);
	vj->it = NULL;
	vj->n = 0;
}

/*
 * Open the reader instance, once per run: whether it is there (else the
 * batch is verified inline). The format copies what fmt_args points to.
 */
static int
verify_reader(struct fetch *f)
{
	struct fmt_args	fa;
	char		err[512];

	if (f->vj == NULL)
		f->vj = xcalloc(1, sizeof *f->vj);
	if (!f->vj->rfmt_tried) {
		f->vj->rfmt_tried = 1;
		fa.dir = f->st->where;
		fa.compress = f->o->compress;
		f->vj->rfmt = f->o->format->open(&fa, err, sizeof err);
		if (f->vj->rfmt == NULL)
			log_debug("verifying inline: %s", err);
	}
	return f->vj->rfmt != NULL;
}

/* Start reading back this batch; the previous one is collected. */
static int
verify_start(struct fetch *f, struct fmt_vitem *it, size_t n)
{
	struct vjob	*vj = f->vj;
	sigset_t	 all, old;
	size_t		 i;

	test_pause("verify");
	crash_point("verify");
	vj->it = it;
	vj->n = n;
	for (i = 0; i < n; i++)
		it[i].loc = xstrdup(it[i].loc);
	vj->rc = 0;
	vj->err[0] = '\0';
	/* Signals are the main thread's (poll deadlines, the stop request). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	vj->on = pthread_create(&vj->thr, NULL, verify_main, vj) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!vj->on)
		verify_main(vj);	/* no thread: now, here */
	return 0;
}

/* Wait for the batch in verification and record its outcome. */
static int
verify_collect(struct fetch *f)
{
	struct vjob	*vj = f->vj;
	int		 r;

	if (vj == NULL || (!vj->on && vj->it == NULL))
		return 0;
	if (vj->on) {
		pthread_join(vj->thr, NULL);
		vj->on = 0;
	}
	if (vj->rc == -1)
		r = fetch_fail(f, EXIT_IOERR, "verify", vj->err);
	else
		r = batch_verify_record(f, vj->it, vj->n);
	vjob_items_free(vj);
	return r;
}

int
batch_verify_finish(struct fetch *f)
{
	int	r;

	r = verify_collect(f);
	if (f->vj != NULL) {
		if (f->vj->rfmt != NULL)
			f->vj->rfmt->ops->close(f->vj->rfmt);
		free(f->vj);
		f->vj = NULL;
	}
	return r;
}

static int
verify_entries(struct fetch *f)
{
	struct fmt_vitem	*it;
	size_t			 i, n = 0;
	int			 r;

	/* The previous batch's outcome first: a failure stops here. */
	if (verify_collect(f) == -1)
		return -1;
	it = xreallocarray(NULL, f->nb ? f->nb : 1, sizeof *it);
	for (i = 0; i < f->nb; i++) {
		if (f->b[i].loc == NULL)
			continue;
		it[n].loc = f->b[i].loc;
		memcpy(it[n].sha, f->b[i].sha, HASH_LEN);
		it[n].id = f->b[i].msg_id;
		n++;
	}
	if (n > 0 && verify_reader(f))
		return verify_start(f, it, n);
	r = batch_verify(f, it, n);
	free(it);
	return r;
}

int
batch_verify(struct fetch *f, struct fmt_vitem *it, size_t n)
{
	if (n == 0)
		return 0;
	test_pause("verify");
	crash_point("verify");
	if (f->fmt->ops->verify(f->fmt, it, n) == -1)
		return fetch_fail(f, EXIT_IOERR, "verify", fmt_error(f->fmt));
	return batch_verify_record(f, it, n);
}

/* Record a read-back's results in one transaction. */
static int
batch_verify_record(struct fetch *f, struct fmt_vitem *it, size_t n)
{
	size_t	i, bad = 0;
	int64_t	now = wall_now();
	int	r;
	char	note[64];

	if (idx_begin(f->idx) == -1)
		return fetch_fail(f, EXIT_IOERR, "index", idx_error(f->idx));
	for (i = 0; i < n; i++) {
		if (it[i].result == FMT_V_OK) {
			if (idx_set_verified(f->idx, it[i].id, now) == -1)
				goto fail;
			f->st->verified++;
			/* A sound copy of damaged ones: they are repaired. */
			if (f->repairs == 0)
				continue;
			if ((r = idx_set_replaced(f->idx, it[i].id,
			    it[i].sha)) == -1)
				goto fail;
			f->st->repaired += (uint64_t)r;
			continue;
		}
		bad++;
		snprintf(note, sizeof note, "verify: %s",
		    fmt_vresult_str(it[i].result));
		log_warnx("verification failed: %s is %s", it[i].loc,
		    fmt_vresult_str(it[i].result));
		if (idx_mark_damaged(f->idx, it[i].id, note) == -1)
			goto fail;
	}
	if (idx_commit(f->idx) == -1)
		goto fail;
	crash_point("verified-committed");
	log_event("verify", "ok=%zu bad=%zu", n - bad, bad);
	if (bad > 0) {
		f->st->verify_failed += bad;
		f->verify_failed = 1;
		return fetch_fail(f, EXIT_VERIFY, "verify", "the archive does "
		    "not hold what was downloaded; nothing will be deleted");
	}
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
	f->st->cur_bytes = 0;
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
	f->st->cur_bytes = f->cursize;
	progress_tick();
	if (f->claim_open && claims_maybe_commit(f) == -1)
		return fetch_fail(f, EXIT_IOERR, "index", idx_error(f->idx));
	if (f->cursize > (1u << 20))
		crash_point("retr-mid-body");
	if (f->spool != NULL) {
		if (spool_add(f->spool, p, n) == -1) {
			char	why[4400];

			/* One line, with the cause (EFBIG, ENOSPC, ...). */
			snprintf(why, sizeof why, "cannot hold the message in "
			    "a spool file in %s: %s", f->st->where,
			    strerror(errno));
			return fetch_fail(f, EXIT_IOERR, "archive", why);
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

/*
 * Claims are grouped: one transaction holds the claims of the messages
 * that arrive back to back, and is committed as soon as popvault might
 * wait for the network (nothing left in the connection's buffer, and in
 * any case before the connection waits: run.c's wait hook), after
 * CLAIM_GROUP_MS or CLAIM_GROUP_MAX claims, and before the batch's own
 * transactions. Another process claiming at the same time waits at most
 * about CLAIM_GROUP_MS for the write lock, never for the network. One
 * commit per group instead of one per message: far fewer WAL pages.
 */
#define CLAIM_GROUP_MS	20
#define CLAIM_GROUP_MAX	64

int
batch_claims_commit(struct fetch *f)
{
	if (!f->claim_open)
		return 0;
	f->claim_open = 0;
	if (idx_commit(f->idx) == -1) {
		idx_rollback(f->idx);
		idx_durable(f->idx, 1);
		return -1;
	}
	return idx_durable(f->idx, 1);
}

static int
claims_maybe_commit(struct fetch *f)
{
	if (!f->claim_open)
		return 0;
	if (f->claim_n < CLAIM_GROUP_MAX && f->conn != NULL &&
	    conn_pending(f->conn) > 0 &&
	    now_ms() - f->claim_t0 < CLAIM_GROUP_MS)
		return 0;
	return batch_claims_commit(f);
}

/*
 * The claim (step 2): look for the content in the index and record the
 * outcome, so that another account running at the same time sees it
 * as soon as the group commits: a duplicate becomes a sighting of the
 * stored message; a new message becomes a pending row (location still
 * empty) with its sighting. NORMAL durability: the batch's FULL commit
 * makes it durable, and recovery drops a pending row without a location.
 */
static int
claim(struct fetch *f, struct bentry *e, int *dup)
{
	struct idx_msg	 m;
	struct idx_dedup d;
	const struct lent *le = &f->le[e->li];
	size_t		 len = 0;
	int64_t		 now = wall_now();
	int		 found = 0;
	char		 esc[256];

	*dup = 0;
	memset(&d, 0, sizeof d);
	if (!f->claim_open) {
		if (idx_durable(f->idx, 0) == -1 || idx_begin(f->idx) == -1)
			return -1;
		f->claim_open = 1;
		f->claim_n = 0;
		f->claim_t0 = now_ms();
	}
	f->claim_n++;
	/* Only the same whole-message hash is a duplicate (DESIGN.md). */
	if (f->o->dedup != RUN_DEDUP_NONE) {
		found = idx_dedup(f->idx, f->o->dedup == RUN_DEDUP_ACCOUNT ?
		    f->acct : 0, e->has_mid ? e->meta + e->mid_off : NULL,
		    e->mid_len, e->body, e->sha, &d);
		if (found == -1)
			goto fail;
		e->msg_id = d.dup;
	}
	if (!found) {
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
		m.location = "";
		m.first_seen = now;
		m.date_epoch = INT64_MIN;
		m.variant_of = d.variant_of;
		if (m.date != NULL)
			hdr_parse_date(m.date, m.date_len, &m.date_epoch);
		if (idx_add_message(f->idx, &m, &e->msg_id) == -1)
			goto fail;
	}
	/*
	 * The UIDL now stands for exactly these bytes (proven): a new
	 * sighting, or a known one fetched again because its content
	 * changed (drift: the earlier message stays in the archive), its
	 * proof was missing or its copy damaged, or the server reused the
	 * UIDL after our confirmed delete (a new message).
	 */
	if (idx_put_sighting(f->idx, f->acct, POP3_UID(f->l, e->li),
	    f->l->e[e->li].uid_len, e->msg_id, f->l->e[e->li].size, now,
	    le->reused) == -1)
		goto fail;
	*dup = found;
	if (d.damaged) {
		f->repairs++;
		log_info("UIDL %.*s: a fresh copy replaces a stored copy that "
		    "failed verification (the damaged one is kept)",
		    (int)f->l->e[e->li].uid_len, POP3_UID(f->l, e->li));
	}
	if (le->drift)
		f->st->collisions++;
	else if (d.variant_of != 0)
		f->st->variants++;
	else if (d.collision) {
		f->st->collisions++;
		log_warnx("Message-ID %s already stored with other content; "
		    "keeping both", log_escape(e->meta + e->mid_off,
		    e->mid_len, esc, sizeof esc));
	}
	return 0;
fail:
	/* The group's earlier claims go too: the run stops here. */
	f->claim_open = 0;
	idx_rollback(f->idx);
	idx_durable(f->idx, 1);
	return -1;
}

static int
sink_end(void *arg, size_t li)
{
	struct fetch	*f = arg;
	struct bentry	*e;
	char		 loc[512];
	int		 dup;

	if (f->nb == f->capb) {
		f->capb = f->capb ? f->capb * 2 : 64;
		f->b = xreallocarray(f->b, f->capb, sizeof *f->b);
	}
	e = &f->b[f->nb];
	memset(e, 0, sizeof *e);
	e->li = li;
	e->size = f->cursize;
	hash_final(f->hwhole, e->sha);
	hash_final(f->hbody, e->body);
	keep_meta(f, e);
	f->st->bytes += f->cursize;
	f->st->done++;
	f->st->done_bytes += f->l->e[li].size;
	f->st->cur_bytes = 0;
	progress_tick();
	if (claim(f, e, &dup) == -1) {
		free(e->meta);
		if (f->writing)
			f->fmt->ops->discard(f->fmt);
		f->writing = 0;
		return fetch_fail(f, EXIT_IOERR, "index", idx_error(f->idx));
	}
	if (dup) {
		/* Already stored (here or in another account): drop it. */
		if (f->writing && f->fmt->ops->discard(f->fmt) == -1) {
			free(e->meta);
			return fetch_fail(f, EXIT_IOERR, "archive",
			    fmt_error(f->fmt));
		}
		f->writing = 0;
		f->st->dups++;
	} else {
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
	if (claims_maybe_commit(f) == -1)
		return fetch_fail(f, EXIT_IOERR, "index", idx_error(f->idx));
	if (f->nb >= f->batch_msgs || f->bbytes >= f->batch_bytes ||
	    stop_requested()) {
		if (batch_flush(f) == -1)
			return -1;
	}
	if (stop_requested()) {
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
	f->st->done++;
	f->st->done_bytes += f->l->e[li].size;
	f->st->cur_bytes = 0;
	return 0;
}


void
batch_sink(struct fetch *f, struct pop3_sink *s)
{
	s->begin = sink_begin;
	s->data = sink_data;
	s->end = sink_end;
	s->failed = sink_failed;
	s->arg = f;
}
