/*
 * batch.c -- messages into the archive, a batch at a time.
 *
 * The commit protocol per batch (docs/decisions.md, "Commit protocol"):
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
 * location, which it drops. A crash between 3 and 5 leaves pending rows
 * with a location, which recovery resolves by hash (adopt or drop: a
 * dropped message is still on the server, since only verified messages
 * are ever deleted). A crash after 5, before the outcome of 6 is
 * recorded, leaves archived rows, which the next run verifies before
 * anything else.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "progress.h"
#include "run_int.h"
#include "stop.h"
#include "util.h"

static int verify_entries(struct run *);
static int verify_collect(struct run *);
static int batch_verify_record(struct run *, struct fmt_vitem *,
    size_t);
static int claims_maybe_commit(struct run *);

void
batch_clear(struct run *run)
{
	struct run_batch	*b = &run->batch;
	size_t			 i;

	for (i = 0; i < b->n; i++) {
		free(b->e[i].loc);
		free(b->e[i].meta);
	}
	b->n = 0;
	b->bytes = 0;
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
batch_flush(struct run *run)
{
	struct run_batch	*b = &run->batch;
	struct idx		*idx = run->ctx.idx;
	struct fmt		*fmt = run->ctx.fmt;
	const struct fmt_vol	*vols;
	size_t			 i, nv;
	int64_t			 now = wall_now();

	if (batch_claims_commit(run) == -1)
		return run_fail_idx(run);
	if (b->n == 0)
		return 0;
	/* 3. The intent: where each claimed message is going. FULL. */
	if (idx_begin(idx) == -1)
		return run_fail_idx(run);
	for (i = 0; i < b->n; i++)
		if (b->e[i].loc != NULL && idx_set_location(idx,
		    b->e[i].msg_id, b->e[i].loc) == -1)
			goto fail;
	crash_point("before-intent-commit");
	if (idx_commit(idx) == -1)
		goto fail;
	crash_point("intent-committed");
	/* 4. The commit point of the archive. */
	if (fmt->ops->sync(fmt) == -1)
		return run_fail_io(run, "archive", fmt_error(fmt));
	crash_point("archive-synced");
	/* 5. Archived, with the volumes' committed lengths. */
	if (idx_begin(idx) == -1)
		return run_fail_idx(run);
	for (i = 0; i < b->n; i++) {
		if (b->e[i].loc != NULL &&
		    idx_set_archived(idx, b->e[i].msg_id, now) == -1)
			goto fail;
	}
	nv = fmt->ops->synced(fmt, &vols);
	for (i = 0; i < nv; i++)
		if (idx_volume_set(idx, run->ctx.acct, vols[i].name,
		    vols[i].length, vols[i].priv) == -1)
			goto fail;
	if (idx_commit(idx) == -1)
		goto fail;
	crash_point("batch-committed");
	nv = 0;
	for (i = 0; i < b->n; i++)
		if (b->e[i].loc != NULL) {
			run->ctx.st->archived++;
			nv++;
		}
	log_event("batch", "stored=%zu received=%zu", nv, b->n);
	/* 6. Read back. */
	if (verify_entries(run) == -1)
		return -1;
	batch_clear(run);
	return 0;
fail:
	idx_rollback(idx);
	return run_fail_idx(run);
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
verify_reader(struct run *run)
{
	struct fmt_args	 fa;
	struct vjob	*vj;
	char		 err[512];

	if (run->vj == NULL)
		run->vj = xcalloc(1, sizeof *run->vj);
	vj = run->vj;
	if (!vj->rfmt_tried) {
		vj->rfmt_tried = 1;
		fa.dir = run->ctx.st->where;
		fa.compress = run->ctx.o->compress;
		vj->rfmt = run->ctx.o->format->open(&fa, err, sizeof err);
		if (vj->rfmt == NULL)
			log_debug("verifying inline: %s", err);
	}
	return vj->rfmt != NULL;
}

/* Start reading back this batch; the previous one is collected. */
static int
verify_start(struct run *run, struct fmt_vitem *it, size_t n)
{
	struct vjob	*vj = run->vj;
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
verify_collect(struct run *run)
{
	struct vjob	*vj = run->vj;
	int		 r;

	if (vj == NULL || (!vj->on && vj->it == NULL))
		return 0;
	if (vj->on) {
		pthread_join(vj->thr, NULL);
		vj->on = 0;
	}
	if (vj->rc == -1)
		r = run_fail_io(run, "verify", vj->err);
	else
		r = batch_verify_record(run, vj->it, vj->n);
	vjob_items_free(vj);
	return r;
}

int
batch_verify_finish(struct run *run)
{
	int	r;

	r = verify_collect(run);
	if (run->vj != NULL) {
		if (run->vj->rfmt != NULL)
			run->vj->rfmt->ops->close(run->vj->rfmt);
		free(run->vj);
		run->vj = NULL;
	}
	return r;
}

static int
verify_entries(struct run *run)
{
	const struct run_batch	*b = &run->batch;
	struct fmt_vitem	*it;
	size_t			 i, n = 0;
	int			 r;

	/* The previous batch's outcome first: a failure stops here. */
	if (verify_collect(run) == -1)
		return -1;
	it = xreallocarray(NULL, b->n ? b->n : 1, sizeof *it);
	for (i = 0; i < b->n; i++) {
		if (b->e[i].loc == NULL)
			continue;
		it[n].loc = b->e[i].loc;
		memcpy(it[n].sha, b->e[i].sha, HASH_LEN);
		it[n].id = b->e[i].msg_id;
		n++;
	}
	if (n > 0 && verify_reader(run))
		return verify_start(run, it, n);
	r = batch_verify(run, it, n);
	free(it);
	return r;
}

int
batch_verify(struct run *run, struct fmt_vitem *it, size_t n)
{
	if (n == 0)
		return 0;
	test_pause("verify");
	crash_point("verify");
	if (run->ctx.fmt->ops->verify(run->ctx.fmt, it, n) == -1)
		return run_fail_io(run, "verify", fmt_error(run->ctx.fmt));
	return batch_verify_record(run, it, n);
}

/* Record a read-back's results in one transaction. */
static int
batch_verify_record(struct run *run, struct fmt_vitem *it, size_t n)
{
	struct idx		*idx = run->ctx.idx;
	struct run_stats	*st = run->ctx.st;
	size_t			 i, bad = 0;
	int64_t			 now = wall_now();
	int			 r;
	char			 note[64];

	if (idx_begin(idx) == -1)
		return run_fail_idx(run);
	for (i = 0; i < n; i++) {
		if (it[i].result == FMT_V_OK) {
			if (idx_set_verified(idx, it[i].id, now) == -1)
				goto fail;
			st->verified++;
			/* A sound copy of damaged ones: they are repaired. */
			if (run->batch.repairs == 0)
				continue;
			if ((r = idx_set_replaced(idx, it[i].id,
			    it[i].sha)) == -1)
				goto fail;
			st->repaired += (uint64_t)r;
			continue;
		}
		bad++;
		snprintf(note, sizeof note, "verify: %s",
		    fmt_vresult_str(it[i].result));
		log_warnx("verification failed: %s is %s", it[i].loc,
		    fmt_vresult_str(it[i].result));
		if (idx_mark_damaged(idx, it[i].id, note) == -1)
			goto fail;
	}
	if (idx_commit(idx) == -1)
		goto fail;
	crash_point("verified-committed");
	log_event("verify", "ok=%zu bad=%zu", n - bad, bad);
	if (bad > 0) {
		st->verify_failed += bad;
		return run_fail(run, FAIL_RUN, FAIL_R_VERIFY, "verify", "the "
		    "archive does not hold what was downloaded; nothing will "
		    "be deleted");
	}
	return 0;
fail:
	idx_rollback(idx);
	return run_fail_idx(run);
}

static int
sink_begin(void *arg, size_t li)
{
	struct run		*run = arg;
	struct run_msg		*m = &run->msg;
	struct fmt_msginfo	 mi;

	crash_point("retr-begin");
	hash_reset(m->whole);
	hash_reset(m->body);
	hash_head_reset(&m->head);
	hdr_init(&m->hs);
	m->size = 0;
	run->ctx.st->cur_bytes = 0;
	if (m->spool != NULL) {
		/* The format wants the whole message first: hold it. */
		spool_reset(m->spool);
		return 0;
	}
	memset(&mi, 0, sizeof mi);
	mi.size = run->list.l->e[li].size;
	mi.when = wall_now();
	mi.content_length = -1;
	if (run->ctx.fmt->ops->begin(run->ctx.fmt, &mi) == -1)
		return run_fail_io(run, "archive", fmt_error(run->ctx.fmt));
	m->writing = 1;
	return 0;
}

static int
sink_data(void *arg, const char *p, size_t n)
{
	struct run	*run = arg;
	struct run_msg	*m = &run->msg;
	size_t		 h = 0;

	hash_update(m->whole, p, n);
	if (!m->hs.in_body) {
		h = hdr_feed(&m->hs, p, n);
		hash_head_update(&m->head, p, h);
	}
	if (h < n)
		hash_update(m->body, p + h, n - h);
	m->size += n;
	run->ctx.st->cur_bytes = m->size;
	progress_tick();
	if (run->claims.open && claims_maybe_commit(run) == -1)
		return run_fail_idx(run);
	if (m->size > (1u << 20))
		crash_point("retr-mid-body");
	if (m->spool != NULL) {
		if (spool_add(m->spool, p, n) == -1) {
			char	why[4400];

			/* One line, with the cause (EFBIG, ENOSPC, ...). */
			snprintf(why, sizeof why, "cannot hold the message in "
			    "a spool file in %s: %s", run->ctx.st->where,
			    strerror(errno));
			return run_fail_io(run, "archive", why);
		}
		return 0;
	}
	if (run->ctx.fmt->ops->write(run->ctx.fmt, p, n) == -1)
		return run_fail_io(run, "archive", fmt_error(run->ctx.fmt));
	return 0;
}

/* Copy the kept header values of the scan into e->meta. */
static void
keep_meta(struct run *run, struct bentry *e)
{
	const char	*v, *mid;
	size_t		 len, total = 0, midlen = 0;
	int		 k;

	for (k = 0; k < HDR_NFIELDS; k++) {
		e->mhave[k] = hdr_get(&run->msg.hs, k, &len) != NULL;
		e->mlen[k] = e->mhave[k] ? len : 0;
		total += e->mlen[k];
	}
	mid = hdr_message_id(&run->msg.hs, &midlen);
	e->meta = xmalloc(total + midlen + 1);
	total = 0;
	for (k = 0; k < HDR_NFIELDS; k++) {
		if ((v = hdr_get(&run->msg.hs, k, &len)) == NULL)
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
write_spooled(struct run *run, struct bentry *e)
{
	struct fmt_msginfo	 mi;
	size_t			 len = 0;

	memset(&mi, 0, sizeof mi);
	mi.size = spool_size(run->msg.spool);
	mi.when = wall_now();
	mi.sender = meta_field(e, HDR_RETURN_PATH, &len);
	mi.sender_len = len;
	mi.content_length = content_length(e);
	mi.sha256 = e->sha;
	if (run->ctx.fmt->ops->begin(run->ctx.fmt, &mi) == -1)
		return -1;
	run->msg.writing = 1;
	if (spool_replay(run->msg.spool, spool_write_cb, run->ctx.fmt) == -1) {
		if (run->ctx.fmt->err[0] == '\0')
			fmt_fail(run->ctx.fmt, "reading back the spool: %s",
			    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Claims are grouped: one transaction holds the claims of the messages
 * that arrive back to back, and is committed as soon as popvault might
 * wait for the network (nothing more at hand in the source, and in any
 * case before the source waits: sink_idle()), after
 * CLAIM_GROUP_MS or CLAIM_GROUP_MAX claims, and before the batch's own
 * transactions. Another process claiming at the same time waits at most
 * about CLAIM_GROUP_MS for the write lock, never for the network. One
 * commit per group instead of one per message: far fewer WAL pages.
 */
#define CLAIM_GROUP_MS	20
#define CLAIM_GROUP_MAX	64

int
batch_claims_commit(struct run *run)
{
	struct idx	*idx = run->ctx.idx;

	if (!run->claims.open)
		return 0;
	run->claims.open = 0;
	if (idx_commit(idx) == -1) {
		idx_rollback(idx);
		idx_durable(idx, 1);
		return -1;
	}
	return idx_durable(idx, 1);
}

static int
claims_maybe_commit(struct run *run)
{
	struct run_claims	*c = &run->claims;

	if (!c->open)
		return 0;
	if (c->n < CLAIM_GROUP_MAX &&
	    run->ctx.src->ops->pending(run->ctx.src) > 0 &&
	    now_ms() - c->t0 < CLAIM_GROUP_MS)
		return 0;
	return batch_claims_commit(run);
}

/*
 * The sink's idle(): the claims of messages already received are
 * committed before the source waits for more input (a server may be
 * slow to send the rest), so that the index's write lock is never held
 * for the network's sake (parallel accounts claim too). A commit that
 * fails stops the run.
 */
static int
sink_idle(void *arg)
{
	struct run	*run = arg;

	if (batch_claims_commit(run) == -1)
		return run_fail_idx(run);
	return 0;
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
claim(struct run *run, struct bentry *e, int *dup)
{
	const struct run_opts		*o = run->ctx.o;
	const struct pop3_listing	*l = run->list.l;
	const struct lent		*le = &run->list.le[e->li];
	struct idx			*idx = run->ctx.idx;
	struct idx_msg			 m;
	struct idx_dedup		 d;
	size_t				 len = 0;
	int64_t				 now = wall_now();
	int				 found = 0;
	char				 esc[256];

	*dup = 0;
	memset(&d, 0, sizeof d);
	if (!run->claims.open) {
		if (idx_durable(idx, 0) == -1 || idx_begin(idx) == -1)
			return -1;
		run->claims.open = 1;
		run->claims.n = 0;
		run->claims.t0 = now_ms();
	}
	run->claims.n++;
	/*
	 * Only the same whole-message hash is a duplicate (docs/decisions.md,
	 * "Deduplication (lossless)").
	 */
	if (o->dedup != RUN_DEDUP_NONE) {
		found = idx_dedup(idx, o->dedup == RUN_DEDUP_ACCOUNT ?
		    run->ctx.acct : 0, e->has_mid ? e->meta + e->mid_off : NULL,
		    e->mid_len, e->body, e->sha, &d);
		if (found == -1)
			goto fail;
		e->msg_id = d.dup;
	}
	if (!found) {
		memset(&m, 0, sizeof m);
		m.account_id = run->ctx.acct;
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
		m.format = o->format->name;
		m.location = "";
		m.first_seen = now;
		m.date_epoch = INT64_MIN;
		m.variant_of = d.variant_of;
		m.head_sha256 = e->head;
		if (m.date != NULL)
			hdr_parse_date(m.date, m.date_len, &m.date_epoch);
		if (idx_add_message(idx, &m, &e->msg_id) == -1)
			goto fail;
	}
	/*
	 * The UIDL now stands for exactly these bytes (proven): a new
	 * sighting, or a known one fetched again because its content
	 * changed (drift: the earlier message stays in the archive), its
	 * proof was missing or its copy damaged, or the server reused the
	 * UIDL after our confirmed delete (a new message).
	 */
	if (idx_put_sighting(idx, run->ctx.acct, POP3_UID(l, e->li),
	    l->e[e->li].uid_len, e->msg_id, l->e[e->li].size, now,
	    le->reused, e->odd) == -1)
		goto fail;
	*dup = found;
	if (d.damaged) {
		run->batch.repairs++;
		log_info("UIDL %.*s: a fresh copy replaces a stored copy that "
		    "failed verification (the damaged one is kept)",
		    (int)l->e[e->li].uid_len, POP3_UID(l, e->li));
	}
	if (le->drift)
		run->ctx.st->collisions++;
	else if (d.variant_of != 0)
		run->ctx.st->variants++;
	else if (d.collision) {
		run->ctx.st->collisions++;
		log_warnx("Message-ID %s already stored with other content; "
		    "keeping both", log_escape(e->meta + e->mid_off,
		    e->mid_len, esc, sizeof esc));
	}
	return 0;
fail:
	/* The group's earlier claims go too: the run stops here. */
	run->claims.open = 0;
	idx_rollback(idx);
	idx_durable(idx, 1);
	return -1;
}

static int
sink_end(void *arg, size_t li)
{
	struct run		*run = arg;
	struct run_batch	*b = &run->batch;
	struct run_stats	*st = run->ctx.st;
	struct fmt		*fmt = run->ctx.fmt;
	struct bentry		*e;
	char			 loc[512];
	int			 dup;

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->e = xreallocarray(b->e, b->cap, sizeof *b->e);
	}
	e = &b->e[b->n];
	memset(e, 0, sizeof *e);
	e->li = li;
	e->size = run->msg.size;
	if (!pop3_size_plausible(run->list.l->e[li].size, e->size)) {
		/*
		 * Not what LIST described: perhaps a notice the server made
		 * in its place (docs/servers.md, Courier). Stored as always;
		 * never deleted on this download's proof (delete.c).
		 */
		e->odd = 1;
		log_warnx("message %u (UIDL %.*s): the server sent %llu bytes "
		    "where LIST said %llu; archived, but never deleted from "
		    "the server on the strength of this download",
		    run->list.l->e[li].num, (int)run->list.l->e[li].uid_len,
		    POP3_UID(run->list.l, li),
		    (unsigned long long)e->size,
		    (unsigned long long)run->list.l->e[li].size);
	}
	hash_final(run->msg.whole, e->sha);
	hash_final(run->msg.body, e->body);
	hash_head_final(&run->msg.head, e->head);
	keep_meta(run, e);
	st->bytes += run->msg.size;
	st->done++;
	st->done_bytes += run->list.l->e[li].size;
	st->cur_bytes = 0;
	progress_tick();
	if (claim(run, e, &dup) == -1) {
		free(e->meta);
		if (run->msg.writing)
			fmt->ops->discard(fmt);
		run->msg.writing = 0;
		return run_fail_idx(run);
	}
	if (run->list.le[li].shared || run->list.weak ||
	    run->ctx.o->del != DEL_NEVER) {
		if (run->list.got == NULL)
			run->list.got = xcalloc(run->list.l->n,
			    sizeof *run->list.got);
		run->list.got[li] = e->odd ? -1 : e->msg_id;
	}
	if (dup) {
		/* Already stored (here or in another account): drop it. */
		if (run->msg.writing && fmt->ops->discard(fmt) == -1) {
			free(e->meta);
			return run_fail_io(run, "archive", fmt_error(fmt));
		}
		run->msg.writing = 0;
		st->dups++;
	} else {
		if ((run->msg.spool != NULL && write_spooled(run, e) == -1) ||
		    fmt->ops->end(fmt, loc, sizeof loc) == -1) {
			free(e->meta);
			return run_fail_io(run, "archive", fmt_error(fmt));
		}
		run->msg.writing = 0;
		e->loc = xstrdup(loc);
		b->bytes += e->size;
	}
	b->n++;
	if (claims_maybe_commit(run) == -1)
		return run_fail_idx(run);
	if (b->n >= b->max_msgs || b->bytes >= b->max_bytes ||
	    stop_requested()) {
		if (batch_flush(run) == -1)
			return -1;
	}
	if (stop_requested())
		return run_fail(run, FAIL_RUN, FAIL_R_SIGNAL, "interrupted",
		    "stopping after a committed batch");
	return 0;
}

/* The server refused this message: the run goes on without it. */
static int
sink_failed(void *arg, size_t li, const char *why)
{
	struct run			*run = arg;
	const struct pop3_listing	*l = run->list.l;

	log_warnx("message %u (UIDL %.*s) not retrieved: %s", l->e[li].num,
	    (int)l->e[li].uid_len, POP3_UID(l, li), why);
	fail_note(&run->fail, FAIL_MESSAGE, FAIL_R_REFUSED);
	run->ctx.st->failed++;
	run->ctx.st->done++;
	run->ctx.st->done_bytes += l->e[li].size;
	run->ctx.st->cur_bytes = 0;
	return 0;
}

void
batch_sink(struct run *run, struct source_sink *s)
{
	s->begin = sink_begin;
	s->data = sink_data;
	s->end = sink_end;
	s->failed = sink_failed;
	s->idle = sink_idle;
	s->arg = run;
}
