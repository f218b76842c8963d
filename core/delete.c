/*
 * delete.c -- the delete policy and the deletion protocol.
 *
 * Only a message whose archived copy has been verified (read back from
 * disk and matched against the hash taken while downloading) may be
 * deleted, and only when nothing in the account failed verification. The
 * protocol, through the source (source.h; POP3, RFC 1939: DELE marks,
 * QUIT's UPDATE state removes):
 *
 *   1. one transaction marks the chosen sightings "delete_pending"
 *   2. mark_delete (DELE n) for each, n from this session's listing
 *   3. commit (QUIT); only its success (+OK) makes the rows "deleted".
 *      A failure (-ERR, a lost connection) leaves them "delete_pending",
 *      and the next run reconciles them from its listing (run_merge).
 *
 * A UIDL listed more than once (two copies sharing it) is never deleted:
 * which copy a DELE removes cannot be tied to a verified archive copy.
 */
#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hdr.h"
#include "log.h"
#include "progress.h"
#include "run_int.h"
#include "stop.h"
#include "util.h"

/*
 * Choose what to delete. Returns the count (indexes into the listing in
 * *out, to be freed), or -1.
 */
static ssize_t
choose(struct run *run, size_t **out)
{
	const struct pop3_listing	*l = run->list.l;
	const struct run_opts		*o = run->ctx.o;
	size_t				*v, i, n = 0;
	int64_t				 now = wall_now(), t = 0, g;
	char				 day[16];
	int				 r;

	/* Without the index's facts every entry would look unverified. */
	if (!run->list.facts) {
		log_warnx("internal error: delete decided before the merge "
		    "with the index's facts");
		return -1;
	}
	v = xreallocarray(NULL, l->n ? l->n : 1, sizeof *v);
	for (i = 0; i < l->n; i++) {
		const struct lent	*e = &run->list.le[i];

		/*
		 * Only a proven sighting (its own bytes are stored) of a
		 * verified, undamaged copy; under a UIDL listed more than
		 * once, or an id that is not the server's UIDL, only the
		 * copies this session downloaded.
		 */
		if (e->shared || run->list.weak) {
			/*
			 * Listed more than once: deleted only on this session's
			 * proof of that very copy (its number), its bytes in
			 * a sound stored message.
			 */
			g = run->list.got != NULL ? run->list.got[i] : 0;
			if (g <= 0)
				continue;
			if ((r = idx_message_sound(run->ctx.idx, g)) == -1) {
				free(v);
				return -1;
			}
			if (r == 0)
				continue;
		} else if (!e->known || !e->verified || !e->proven || e->bad)
			continue;
		if (e->odd && !e->shared && !run->list.weak) {
			/* A download unlike LIST's size proved it. */
			log_warnx("UIDL %.*s: what the server sent was far from "
			    "the size it listed, so the archived copy may not be "
			    "its message; not deleting it", (int)l->e[i].uid_len,
			    POP3_UID(l, i));
			continue;
		}
		if (e->drift && !e->shared && !run->list.weak) {
			/* Content drift (docs/delete.md). */
			log_warnx("UIDL %.*s: the server's message changed size "
			    "since it was archived; not deleting it",
			    (int)l->e[i].uid_len, POP3_UID(l, i));
			continue;
		}
		if (o->del == DEL_OLDER) {
			t = e->age;
			if (t == 0 || now - t <= o->older_than)
				continue;
		}
		if (o->max_deletes != 0 && n == o->max_deletes)
			break;
		v[n++] = i;
		if (o->mode == RUN_DRY || log_level() >= LOG_VERBOSE) {
			if (o->del == DEL_OLDER) {
				fmt_day(t, day, sizeof day);
				printf("delete %.*s: verified, %s %s\n",
				    (int)l->e[i].uid_len, POP3_UID(l, i),
				    o->age_by_date ? "dated" : "first seen",
				    day);
			} else
				printf("delete %.*s: verified\n",
				    (int)l->e[i].uid_len, POP3_UID(l, i));
		}
	}
	*out = v;
	return (ssize_t)n;
}

static int
mark(struct run *run, const size_t *v, const unsigned char *ok, size_t n,
    enum idx_sstate yes, enum idx_sstate no)
{
	const struct pop3_listing	*l = run->list.l;
	struct idx			*idx = run->ctx.idx;
	size_t				 i;

	if (idx_begin(idx) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (idx_set_sighting_state(idx, run->ctx.acct,
		    POP3_UID(l, v[i]), l->e[v[i]].uid_len,
		    ok == NULL || ok[i] ? yes : no) == -1) {
			idx_rollback(idx);
			return -1;
		}
	}
	return idx_commit(idx);
}

/* TOP n 0 of the messages to check: each one's header hash. */
struct headchk {
	struct run		*run;
	struct hash_head	 hh;
	unsigned char		*same;		/* by listing index */
	unsigned char		*want;		/* HASH_LEN each, by place */
	unsigned char		*have;		/* ... known, by place */
	uint32_t		*place;		/* listing index -> place */
};

/* Reading an archived copy back: its header section's hash. */
struct headread {
	struct hdr_scan		 hs;
	struct hash_head	*hh;
};

static int
headread_cb(void *arg, const void *p, size_t n)
{
	struct headread	*hr = arg;
	size_t		 h;

	if (hr->hs.in_body)
		return 0;
	h = hdr_feed(&hr->hs, p, n);
	hash_head_update(hr->hh, p, h);
	return 0;
}

/*
 * The stored header hash of each message to check; a copy stored before
 * schema 5 has none: read back from the archive when it is the account's
 * own in this format, and recorded. Unknown otherwise (have 0).
 */
static int
head_wanted(struct run *run, struct headchk *hc, const size_t *chk,
    size_t n)
{
	const struct pop3_listing	*l = run->list.l;
	struct idx_head			 h;
	struct headread			 hr;
	size_t				 i;

	for (i = 0; i < n; i++) {
		if (idx_sighting_head(run->ctx.idx, run->ctx.acct,
		    POP3_UID(l, chk[i]), l->e[chk[i]].uid_len,
		    run->ctx.o->format->name, &h) == -1)
			return run_fail_idx(run);
		if (!h.have && h.readable) {
			hdr_init(&hr.hs);
			hr.hh = &hc->hh;
			hash_head_reset(&hc->hh);
			if (run->ctx.fmt->ops->read(run->ctx.fmt, h.location,
			    headread_cb, &hr) == 0) {
				hash_head_final(&hc->hh, h.head);
				h.have = 1;
				if (idx_set_head(run->ctx.idx, h.msg,
				    h.head) == -1)
					return run_fail_idx(run);
			}
		}
		hc->have[i] = (unsigned char)h.have;
		memcpy(hc->want + i * HASH_LEN, h.head, HASH_LEN);
	}
	return 0;
}

static int
head_begin(void *arg, size_t li)
{
	struct headchk	*hc = arg;

	hash_head_reset(&hc->hh);
	return 0;
}

static int
head_data(void *arg, const char *p, size_t n)
{
	struct headchk	*hc = arg;

	hash_head_update(&hc->hh, p, n);
	return 0;
}

static int
head_end(void *arg, size_t li)
{
	struct headchk	*hc = arg;
	unsigned char	 got[HASH_LEN];
	uint32_t	 k = hc->place[li];

	hash_head_final(&hc->hh, got);
	hc->same[li] = hc->have[k] &&
	    memcmp(got, hc->want + k * HASH_LEN, HASH_LEN) == 0;
	return 0;
}

static int
head_failed(void *arg, size_t li, const char *why)
{
	struct headchk	*hc = arg;

	log_verbose("TOP %u 0: %s", hc->run->list.l->e[li].num, why);
	return 0;
}

/*
 * A message chosen for deletion that this session did not download was
 * proven by an earlier download, and may have changed on the server
 * since without changing size (Mailutils rewrites a header in place):
 * its header section now (TOP n 0) must hash as the stored copy's.
 * Otherwise (or a stored copy without that hash, from before schema 5,
 * a TOP refused, a source that cannot) fetch downloads it now, stores
 * it if its bytes are new, and deletes it only on that proof; prune
 * keeps it and leaves it to the next fetch. Compacts v; returns the
 * count left, or -1 (the failure recorded).
 */
static ssize_t
confirm(struct run *run, size_t *v, size_t n)
{
	const struct pop3_listing	*l = run->list.l;
	const struct run_opts		*o = run->ctx.o;
	struct source			*src = run->ctx.src;
	struct source_sink		 sink;
	struct headchk			 hc;
	size_t				*chk, nchk = 0, i, k = 0, nbad = 0;
	int64_t				 g;
	int				 r = 0;

	chk = xreallocarray(NULL, n ? n : 1, sizeof *chk);
	for (i = 0; i < n; i++)
		if (run->list.got == NULL || run->list.got[v[i]] == 0)
			chk[nchk++] = v[i];
	if (nchk == 0) {
		free(chk);
		return (ssize_t)n;
	}
	memset(&hc, 0, sizeof hc);
	hc.run = run;
	hc.same = xcalloc(l->n ? l->n : 1, 1);
	hc.place = xcalloc(l->n ? l->n : 1, sizeof *hc.place);
	hc.want = xreallocarray(NULL, nchk, HASH_LEN);
	hc.have = xcalloc(nchk, 1);
	for (i = 0; i < nchk; i++)
		hc.place[chk[i]] = (uint32_t)i;
	if (head_wanted(run, &hc, chk, nchk) == -1) {
		r = -1;
		goto out;
	}
	if (src->ops->head != NULL) {
		memset(&sink, 0, sizeof sink);
		sink.begin = head_begin;
		sink.data = head_data;
		sink.end = head_end;
		sink.failed = head_failed;
		sink.arg = &hc;
		if (src->ops->head(src, l, chk, nchk, &sink) == -1) {
			r = run_fail(run, src->grade > FAIL_ACCOUNT ?
			    src->grade : FAIL_ACCOUNT, src->reason, o->account,
			    source_error(src));
			goto out;
		}
	}
	/* Those whose headers differ, or could not be compared. */
	for (i = k = 0; i < nchk; i++)
		if (!hc.same[chk[i]])
			chk[k++] = chk[i];
	nbad = k;
	/* Over the size limit: not downloaded, so not deleted. */
	for (i = k = 0; i < nbad; i++)
		if (l->e[chk[i]].size <= o->pop3.max_msg_size)
			chk[k++] = chk[i];
	nbad = k;
	if (nbad > 0 && o->mode == RUN_FETCH) {
		log_info("%s: %zu message(s) to delete not downloaded in this "
		    "run differ from, or cannot be compared with, the archived "
		    "copy's headers: downloaded again to prove them", o->account,
		    nbad);
		if (run->list.got == NULL)
			run->list.got = xcalloc(l->n, sizeof *run->list.got);
		run->ctx.st->reproved += nbad;
		if (run_fetch(run, chk, nbad) == -1) {
			r = -1;
			goto out;
		}
	}
	/* Keep the proven: headers as stored, or downloaded just now. */
	for (i = k = 0; i < n; i++) {
		if (run->list.got != NULL && (g = run->list.got[v[i]]) != 0) {
			if (g < 0)
				continue;
			if ((r = idx_message_sound(run->ctx.idx, g)) == -1) {
				run_fail_idx(run);
				goto out;
			}
			if (r == 0)
				continue;
		} else if (!hc.same[v[i]]) {
			log_warnx("UIDL %.*s: the server's message is not the "
			    "archived one (its headers differ); not deleted, "
			    "and fetched again by the next fetch",
			    (int)l->e[v[i]].uid_len, POP3_UID(l, v[i]));
			if (idx_unprove_sighting(run->ctx.idx, run->ctx.acct,
			    POP3_UID(l, v[i]), l->e[v[i]].uid_len) == -1) {
				r = run_fail_idx(run);
				goto out;
			}
			continue;
		}
		v[k++] = v[i];
	}
	r = 0;
out:
	hash_head_free(&hc.hh);
	free(hc.same);
	free(hc.place);
	free(hc.want);
	free(hc.have);
	free(chk);
	return r == -1 ? -1 : (ssize_t)k;
}

/*
 * A UIDL listed more than once stays "on the server" while a copy the
 * session did not delete is still there: its entries in ok are cleared
 * (ok says which sightings become "deleted").
 */
static void
still_listed(struct run *run, const size_t *v, unsigned char *ok, size_t n)
{
	const struct pop3_listing	*l = run->list.l;
	unsigned char			*gone;
	size_t				 i, j;

	gone = xcalloc(l->n ? l->n : 1, 1);
	for (i = 0; i < n; i++)
		gone[v[i]] = ok[i];
	for (i = 0; i < n; i++) {
		if (!ok[i] || !run->list.le[v[i]].shared)
			continue;
		for (j = 0; j < l->n; j++)
			if (!gone[j] && l->e[j].uid_len == l->e[v[i]].uid_len &&
			    memcmp(POP3_UID(l, j), POP3_UID(l, v[i]),
			    l->e[j].uid_len) == 0)
				ok[i] = 0;
	}
	free(gone);
}

int
delete_phase(struct run *run, int *committed)
{
	const struct run_opts	*o = run->ctx.o;
	struct run_stats	*st = run->ctx.st;
	struct source		*src = run->ctx.src;
	size_t			*v = NULL, i, sent = 0;
	unsigned char		*ok = NULL;
	ssize_t			 n;
	int			 r = 0;

	*committed = 0;
	if (o->del == DEL_NEVER || run->ctx.idx == NULL)
		return 0;	/* nothing archived: nothing to delete */
	if (st->verify_failed > 0 ||
	    idx_bad_count(run->ctx.idx, run->ctx.acct) != 0)
		return run_fail(run, FAIL_ACCOUNT, FAIL_R_VERIFY, o->account,
		    "refusing to delete anything: the index and the archive "
		    "disagree (run popvault verify)");
	if ((n = choose(run, &v)) == -1)
		return fail_note(&run->fail, FAIL_RUN, FAIL_R_SOFTWARE);
	if (n > 0 && o->mode != RUN_DRY && (n = confirm(run, v, (size_t)n)) ==
	    -1) {
		free(v);
		return -1;
	}
	st->planned = (uint64_t)n;
	if (n == 0 || o->mode == RUN_DRY)
		goto out;
	st->phase = RUN_PH_DELETE;
	progress_tick();
	/* 1. The intent, durable before any DELE. */
	if (mark(run, v, NULL, (size_t)n, IDX_S_DELETE_PENDING,
	    IDX_S_DELETE_PENDING) == -1) {
		r = run_fail_idx(run);
		goto out;
	}
	crash_point("delete-pending");
	/* 2. Marked (DELE), numbered from this session's listing. */
	ok = xcalloc((size_t)n, 1);
	for (i = 0; i < (size_t)n; i++) {
		if (stop_requested()) {
			r = run_fail(run, FAIL_RUN, FAIL_R_SIGNAL,
			    "interrupted", "no more deletions");
			break;
		}
		if (src->ops->mark_delete(src, run->list.l, v[i]) == -1) {
			if (src->grade != FAIL_MESSAGE) {
				/* The session is gone: nothing is removed. */
				st->unconfirmed = sent;
				r = run_fail(run, FAIL_ACCOUNT, FAIL_R_TEMP,
				    o->account, source_error(src));
				goto out;
			}
			/* Refused: it stays on the server, tried next run. */
			log_warnx("%s: %s", o->account, source_error(src));
			fail_note(&run->fail, FAIL_MESSAGE, FAIL_R_REFUSED);
			st->refused++;
			continue;
		}
		ok[i] = 1;
		sent++;
		crash_point("dele");
	}
	/* 3. Commit (QUIT): the marked messages are removed, or none. */
	*committed = 1;
	if (src->ops->commit(src) == -1) {
		log_warnx("%s: deletions not confirmed (%s); the next run "
		    "checks them", o->account, source_error(src));
		st->unconfirmed = sent;
		r = fail_note(&run->fail, FAIL_ACCOUNT, FAIL_R_TEMP);
		goto out;
	}
	crash_point("quit-ok");
	still_listed(run, v, ok, (size_t)n);
	if (mark(run, v, ok, (size_t)n, IDX_S_DELETED, IDX_S_ON_SERVER) ==
	    -1) {
		/* Still delete_pending: the next run sees them gone. */
		r = run_fail_idx(run);
		goto out;
	}
	st->deleted = sent;
out:
	if (n > 0 && o->mode != RUN_DRY)
		log_event("delete", "chosen=%zd sent=%zu confirmed=%llu",
		    n, sent, (unsigned long long)st->deleted);
	free(v);
	free(ok);
	return r;
}
