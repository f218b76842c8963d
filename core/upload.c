/*
 * upload.c -- the hand-off of stored messages to an IMAP mailbox; the
 * steps are numbered in upload.h.
 *
 * What proves a message delivered: its bytes read back from the server
 * (UID FETCH BODY.PEEK[]), with CRLF turned into LF, hash to the same
 * SHA-256 as the stored bytes with CRLF turned into LF. For a message
 * stored with LF line ends (every message fetched from POP3, the
 * canonical form: docs/decisions.md) that is the index's own hash, so
 * the server holds exactly the archived message in IMAP's wire form.
 *
 * What keeps a message from arriving twice: before a message is sent,
 * every message of the folder that no delivery record names and that
 * has its wire size is read back and compared by that hash. The record
 * of a delivery is written only after the proof, so a kill between the
 * APPEND and the record leaves a message that the next run finds this
 * way (and records as found), instead of sending it again.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fail.h"
#include "hash.h"
#include "idx.h"
#include "imap.h"
#include "log.h"
#include "progress.h"
#include "source.h"
#include "spool.h"
#include "stop.h"
#include "upload.h"
#include "util.h"

#define UP_BATCH_DEFAULT	32
#define UP_BATCH_BYTES		(32ull * 1024 * 1024)	/* per APPEND batch */
#define UP_SPOOL_MEM		(256 * 1024)	/* per message, then a file */
#define UP_MID_MAX		998		/* RFC 5322 line length */
#define UP_CAND_MAX		512		/* destination UIDs per lookup */
#define UP_SEARCH_MAX		64
#define UP_RECENT_MAX		128	/* newest unrecorded UIDs read */
#define UP_FETCH_SLACK		(1024 * 1024)	/* over the size expected */
#define UP_DAY			86400
/* A Date header is sane from 1970-01-02 to a day past the clock. */
#define UP_DATE_MIN		86400

enum up_state {
	UM_NONE,	/* not read yet */
	UM_READ,	/* read from the vault, to look up or send */
	UM_UNREADABLE,	/* the vault could not give it */
	UM_NUL,		/* holds NUL: no IMAP literal carries it */
	UM_FOUND,	/* at the destination already */
	UM_SENT,	/* appended, not proven yet */
	UM_PROVEN,
	UM_INEXACT,	/* proven as far as CRLF lines carry it */
	UM_MISMATCH,	/* read back other bytes (recorded) */
	UM_ABSENT,	/* OK to APPEND, and nothing to read back */
	UM_REFUSED	/* NO to APPEND */
};

/* SHA-256 of a stream with each CRLF turned into LF. */
struct up_norm {
	struct hash	*h;
	int		 cr;		/* a CR held back */
};

struct up_msg {
	size_t		 li;		/* in the listing */
	int64_t		 row;
	unsigned char	 sha[HASH_LEN];	/* the index's */
	unsigned char	 norm[HASH_LEN];
	uint64_t	 wire;
	char		 prev;		/* last octet read, for wire */
	int		 nul;
	int		 exact;		/* norm is the index's hash */
	enum up_state	 state;
	time_t		 date;
	char		 mid[UP_MID_MAX + 1];
	uint32_t	 uid;
	int		 has_uid;
	struct spool	*sp;
};

/* A destination message no delivery names: a candidate for lookups. */
struct up_have {
	uint64_t	size;
	uint32_t	uid;
	int		claimed;
};

/* A body read back: its UID and normalized hash. */
struct up_got {
	uint32_t	uid;
	unsigned char	norm[HASH_LEN];
};

/* One of the newest unrecorded messages of the folder, read once. */
struct up_recent {
	size_t		have;		/* its entry in have */
	unsigned char	norm[HASH_LEN];
};

struct up {
	const struct upload_opts *o;
	struct upload_stats	*st;
	struct fail		 f;
	struct idx		*x;
	int64_t			 dest;
	uint32_t		 uv_recorded;
	struct source		*src;
	struct pop3_listing	 l;
	struct idx_delivery	*dl;		/* sorted by sha256 */
	size_t			 ndl, capdl;
	uint32_t		*duid;		/* UIDs delivered, sorted */
	size_t			 nduid;
	struct up_have		*have;		/* sorted by size, uid */
	size_t			 nhave, caphave;
	size_t			*todo;
	size_t			 ntodo;
	struct up_msg		*b;		/* the batch */
	size_t			 nb, capb, cur;
	struct up_norm		 zv;		/* vault stream */
	struct up_norm		 zf;		/* fetched stream */
	struct up_got		*got;
	size_t			 ngot, capgot;
	struct up_recent	*recent;
	size_t			 nrecent;
	struct imap		*s;
	struct imap_mailbox	 mb;
	uint32_t		 uid_floor;	/* no UID below is new */
	int64_t			 t0;		/* ms, for the rates */
	uint64_t		 rate_n, rate_b;	/* sent since t0 */
	uint64_t		 day_used;
	int			 stop;		/* 1: end after this batch */
	int			 lockfd;
};

static int
up_fail(struct up *u, enum fail_grade g, enum fail_reason r,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
up_fail(struct up *u, enum fail_grade g, enum fail_reason r,
    const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(u->st->err, sizeof u->st->err, fmt, ap);
	va_end(ap);
	log_warnx("%s", u->st->err);
	fail_note(&u->f, g, r);
	return -1;
}

static enum fail_reason
imap_reason(enum imap_errclass c)
{
	switch (c) {
	case IMAP_E_NET:
		return FAIL_R_NET;
	case IMAP_E_TIMEOUT:
		return FAIL_R_TIMEOUT;
	case IMAP_E_TEMP:
		return FAIL_R_TEMP;
	case IMAP_E_AUTH:
		return FAIL_R_AUTH;
	case IMAP_E_TLS:
		return FAIL_R_TLS;
	case IMAP_E_PROTO:
		return FAIL_R_PROTO;
	case IMAP_E_LOCAL:
		return FAIL_R_IO;
	case IMAP_E_INTR:
		return FAIL_R_SIGNAL;
	case IMAP_E_USAGE:
		return FAIL_R_USAGE;
	case IMAP_E_REFUSED:
		return FAIL_R_REFUSED;
	default:
		return FAIL_R_SOFTWARE;
	}
}

static int
imap_fail(struct up *u, const char *what)
{
	return up_fail(u, FAIL_ACCOUNT, imap_reason(imap_errclass(u->s)),
	    "%s: %s: %s", u->o->url, what, imap_error(u->s));
}

static int
idx_failed(struct up *u)
{
	return up_fail(u, FAIL_RUN, FAIL_R_IO, "%s", idx_error(u->x));
}

/* CRLF -> LF hashing. */
static void
norm_feed(struct up_norm *z, const char *p, size_t n)
{
	const char	*e = p + n, *q;

	while (p < e) {
		if (z->cr) {
			z->cr = 0;
			if (*p != '\n')
				hash_update(z->h, "\r", 1);
		}
		if ((q = memchr(p, '\r', (size_t)(e - p))) == NULL) {
			hash_update(z->h, p, (size_t)(e - p));
			return;
		}
		hash_update(z->h, p, (size_t)(q - p));
		z->cr = 1;
		p = q + 1;
	}
}

static void
norm_final(struct up_norm *z, unsigned char out[HASH_LEN])
{
	if (z->cr)
		hash_update(z->h, "\r", 1);
	z->cr = 0;
	hash_final(z->h, out);
}

uint64_t
upload_wire_extra(const char *p, size_t n, char *prev)
{
	const char	*e = p + n, *q;
	uint64_t	 extra = 0;
	char		 before = *prev;

	for (; p < e; p = q + 1) {
		if ((q = memchr(p, '\n', (size_t)(e - p))) == NULL)
			break;
		if ((q > p ? q[-1] : before) != '\r')
			extra++;
		before = '\n';
	}
	if (n > 0)
		*prev = e[-1];
	return extra;
}

int
upload_canon_url(int implicit_tls, const char *user, const char *host,
    const char *port, const char *folder, char *out, size_t len)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const char		*parts[2] = { user, folder };
	char			 enc[2][1024];
	size_t			 k, i, o;
	unsigned char		 c;

	for (k = 0; k < 2; k++) {
		for (i = o = 0; parts[k][i] != '\0'; i++) {
			c = (unsigned char)parts[k][i];
			if (o + 4 > sizeof enc[k])
				return -1;
			if (c <= 0x20 || c >= 0x7f || c == '%' || c == '@' ||
			    c == '?' || c == '#' || c == ':' ||
			    (k == 0 && c == '/')) {
				enc[k][o++] = '%';
				enc[k][o++] = hex[c >> 4];
				enc[k][o++] = hex[c & 15];
			} else
				enc[k][o++] = (char)c;
		}
		enc[k][o] = '\0';
	}
	return xsnprintf(out, len, "%s://%s@%s%s%s:%s/%s",
	    implicit_tls ? "imaps" : "imap", enc[0],
	    strchr(host, ':') != NULL ? "[" : "", host,
	    strchr(host, ':') != NULL ? "]" : "", port, enc[1]);
}

/* Sorting and searching. */
static int
dl_cmp(const void *a, const void *b)
{
	return memcmp(((const struct idx_delivery *)a)->sha256,
	    ((const struct idx_delivery *)b)->sha256, HASH_LEN);
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
have_cmp(const void *a, const void *b)
{
	const struct up_have	*x = a, *y = b;

	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static const struct idx_delivery *
dl_find(const struct up *u, const unsigned char sha[HASH_LEN])
{
	struct idx_delivery	key;

	memset(&key, 0, sizeof key);
	memcpy(key.sha256, sha, HASH_LEN);
	return u->ndl == 0 ? NULL : bsearch(&key, u->dl, u->ndl,
	    sizeof *u->dl, dl_cmp);
}

/* The first destination message of size size (or NULL). */
static struct up_have *
have_first(struct up *u, uint64_t size)
{
	size_t	lo = 0, hi = u->nhave, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (u->have[mid].size < size)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < u->nhave && u->have[lo].size == size ? &u->have[lo] :
	    NULL;
}

static int
dl_cb(void *arg, const struct idx_delivery *d)
{
	struct up	*u = arg;

	if (u->ndl == u->capdl) {
		u->capdl = u->capdl ? u->capdl * 2 : 256;
		u->dl = xreallocarray(u->dl, u->capdl, sizeof *u->dl);
	}
	u->dl[u->ndl++] = *d;
	return 0;
}

static int
have_cb(void *arg, uint32_t uid, uint64_t size)
{
	struct up	*u = arg;

	if (u->nduid > 0 && bsearch(&uid, u->duid, u->nduid, sizeof *u->duid,
	    u32_cmp) != NULL)
		return 0;
	if (u->nhave == u->caphave) {
		u->caphave = u->caphave ? u->caphave * 2 : 256;
		u->have = xreallocarray(u->have, u->caphave, sizeof *u->have);
	}
	u->have[u->nhave].size = size;
	u->have[u->nhave].uid = uid;
	u->have[u->nhave].claimed = 0;
	u->nhave++;
	return 0;
}

/* Step 1: the selection, less what is delivered (as the index says). */
static int
select_todo(struct up *u)
{
	const struct idx_delivery	*d;
	unsigned char			 sha[HASH_LEN];
	int64_t				 row;
	size_t				 i, earlier = 0;

	if (u->src->ops->connect(u->src) == -1 ||
	    u->src->ops->list(u->src, &u->l) == -1)
		return up_fail(u, FAIL_RUN, u->src->reason == FAIL_R_NONE ?
		    FAIL_R_IO : u->src->reason, "%s", source_error(u->src));
	u->st->unsound = source_vault_unsound(u->src);
	u->st->selected = u->l.n;
	u->todo = xcalloc(u->l.n + 1, sizeof *u->todo);
	for (i = 0; i < u->l.n; i++) {
		if (source_vault_entry(u->src, i, sha, &row) == -1)
			return up_fail(u, FAIL_RUN, FAIL_R_SOFTWARE,
			    "listing entry %zu", i);
		d = dl_find(u, sha);
		if (d == NULL || d->uidvalidity != u->mb.uidvalidity)
			u->todo[u->ntodo++] = i;
		else if (d->state == IDX_DLV_PROVEN)
			u->st->delivered++;
		else {
			/* Never hidden: counted again by every run. */
			if (d->state == IDX_DLV_MISMATCH)
				u->st->mismatch++;
			else
				u->st->inexact++;
			fail_note(&u->f, FAIL_MESSAGE, FAIL_R_VERIFY);
			earlier++;
		}
	}
	if (earlier > 0) {
		snprintf(u->st->err, sizeof u->st->err, "%zu message%s "
		    "recorded by an earlier run as held with other bytes at "
		    "the destination (not sent again)", earlier,
		    earlier == 1 ? " is" : "s are");
		log_warnx("%s: %s", u->o->url, u->st->err);
	}
	return 0;
}

/* Step 2: the mailbox; its UIDVALIDITY against the one recorded. */
static int
open_mailbox(struct up *u)
{
	const struct upload_opts	*o = u->o;
	size_t				 i;

	if ((u->s = imap_new(&o->imap)) == NULL)
		return up_fail(u, FAIL_RUN, FAIL_R_SOFTWARE, "imap_new");
	u->st->live.phase = RUN_PH_CONNECT;
	if (imap_connect(u->s) == -1)
		return imap_fail(u, "connect");
	if (imap_auth(u->s, o->mech, o->user, o->secret) == -1)
		return imap_fail(u, "login");
	if (imap_select(u->s, o->folder, !o->dry_run, o->dry_run, &u->mb) ==
	    -1) {
		if (o->dry_run && imap_errclass(u->s) == IMAP_E_REFUSED) {
			/* Missing: everything would be sent into it. */
			log_info("%s: the folder does not exist yet and would "
			    "be created", o->url);
			memset(&u->mb, 0, sizeof u->mb);
			return 0;
		}
		return imap_fail(u, "select");
	}
	u->st->created = u->mb.created;
	u->st->uidvalidity = u->mb.uidvalidity;
	u->uid_floor = u->mb.uidnext;
	if (u->uv_recorded != 0 && u->uv_recorded != u->mb.uidvalidity) {
		u->st->uidvalidity_changed = 1;
		log_warnx("%s: UIDVALIDITY changed from %u to %u: the UIDs of "
		    "the %zu earlier deliveries are void; each message is "
		    "looked up by content before anything is sent", o->url,
		    u->uv_recorded, u->mb.uidvalidity, u->ndl);
	}
	if (!o->dry_run && u->uv_recorded != u->mb.uidvalidity &&
	    idx_dest_set_uidvalidity(u->x, u->dest, u->mb.uidvalidity) == -1)
		return idx_failed(u);
	/* The UIDs the index names under this UIDVALIDITY. */
	u->duid = xcalloc(u->ndl + 1, sizeof *u->duid);
	for (i = 0; i < u->ndl; i++)
		if (u->dl[i].uidvalidity == u->mb.uidvalidity &&
		    u->dl[i].uid != 0)
			u->duid[u->nduid++] = u->dl[i].uid;
	qsort(u->duid, u->nduid, sizeof *u->duid, u32_cmp);
	return 0;
}

/* Step 3: what the folder holds that no delivery names. */
static int
list_mailbox(struct up *u)
{
	size_t	i, gone = 0, present = 0;

	if (u->mb.exists == 0)
		return 0;
	u->st->live.phase = RUN_PH_LIST;
	/* have_cb leaves the delivered out; count those still there. */
	if (imap_sizes(u->s, have_cb, u) == -1)
		return imap_fail(u, "listing the folder");
	if (u->nhave > 0)
		qsort(u->have, u->nhave, sizeof *u->have, have_cmp);
	present = u->mb.exists >= u->nhave ? u->mb.exists - u->nhave : 0;
	for (i = 0; i < u->ndl; i++)
		if (u->dl[i].uidvalidity == u->mb.uidvalidity &&
		    u->dl[i].uid != 0)
			gone++;
	gone = gone > present ? gone - present : 0;
	if (gone > 0)
		log_info("%s: %zu delivered message%s no longer in the "
		    "folder (deleted there?); not sent again", u->o->url, gone,
		    gone == 1 ? " is" : "s are");
	return 0;
}

/* The vault's messages into the batch (source sink). */
static struct up_msg *
cur_msg(struct up *u, size_t i)
{
	while (u->cur < u->nb && u->b[u->cur].li != i)
		u->cur++;
	return u->cur < u->nb ? &u->b[u->cur] : NULL;
}

static int
rd_begin(void *arg, size_t i)
{
	struct up	*u = arg;
	struct up_msg	*m;

	if ((m = cur_msg(u, i)) == NULL)
		return -1;
	spool_reset(m->sp);
	hash_reset(u->zv.h);
	u->zv.cr = 0;
	m->wire = 0;
	m->prev = 0;
	m->nul = 0;
	return 0;
}

static int
rd_data(void *arg, const char *p, size_t n)
{
	struct up	*u = arg;
	struct up_msg	*m = &u->b[u->cur];

	if (spool_add(m->sp, p, n) == -1)
		return up_fail(u, FAIL_RUN, FAIL_R_IO, "spooling a message: "
		    "%s", strerror(errno));
	norm_feed(&u->zv, p, n);
	m->wire += n + upload_wire_extra(p, n, &m->prev);
	if (memchr(p, '\0', n) != NULL)
		m->nul = 1;
	return 0;
}

static int
rd_end(void *arg, size_t i)
{
	struct up	*u = arg;
	struct up_msg	*m = &u->b[u->cur];

	(void)i;
	norm_final(&u->zv, m->norm);
	m->exact = memcmp(m->norm, m->sha, HASH_LEN) == 0;
	m->state = m->nul ? UM_NUL : UM_READ;
	return 0;
}

static int
rd_failed(void *arg, size_t i, const char *why)
{
	struct up	*u = arg;
	struct up_msg	*m;

	if ((m = cur_msg(u, i)) == NULL)
		return -1;
	m->state = UM_UNREADABLE;
	log_warnx("%s: a stored message cannot be read: %s", u->o->vault,
	    why);
	return 0;
}

/* Bodies read back (imap sink): each UID with its normalized hash. */
static int
fb_begin(void *arg, uint64_t size)
{
	struct up	*u = arg;

	(void)size;
	hash_reset(u->zf.h);
	u->zf.cr = 0;
	return 0;
}

static int
fb_data(void *arg, const char *p, size_t n)
{
	norm_feed(&((struct up *)arg)->zf, p, n);
	return 0;
}

static int
fb_end(void *arg, uint32_t uid)
{
	struct up	*u = arg;

	if (u->ngot == u->capgot) {
		u->capgot = u->capgot ? u->capgot * 2 : 64;
		u->got = xreallocarray(u->got, u->capgot, sizeof *u->got);
	}
	u->got[u->ngot].uid = uid;
	norm_final(&u->zf, u->got[u->ngot].norm);
	u->ngot++;
	return 0;
}

/*
 * Read back uids[0..n-1], the largest expected to be of expect octets:
 * a body the server announces as much larger is refused before it is
 * read (imap_set_max_msg_size()), so a server cannot hold the run with
 * a literal that never ends on the size it announces.
 */
static int
fetch_back(struct up *u, uint32_t *uids, size_t n, uint64_t expect)
{
	struct imap_sink	k = { fb_begin, fb_data, fb_end, u };

	u->ngot = 0;
	if (n == 0)
		return 0;
	imap_set_max_msg_size(u->s, expect * 2 + UP_FETCH_SLACK);
	if (imap_fetch(u->s, uids, n, &k) == -1)
		return imap_fail(u, "reading messages back");
	return 0;
}

static const struct up_got *
got_find(const struct up *u, uint32_t uid)
{
	size_t	i;

	for (i = 0; i < u->ngot; i++)
		if (u->got[i].uid == uid)
			return &u->got[i];
	return NULL;
}

/* The largest wire size of the batch's messages. */
static uint64_t
batch_wire_max(const struct up *u)
{
	uint64_t	max = 0;
	size_t		k;

	for (k = 0; k < u->nb; k++)
		if (u->b[k].wire > max)
			max = u->b[k].wire;
	return max;
}

static void
found_at(struct up *u, struct up_msg *m, struct up_have *h)
{
	h->claimed = 1;
	m->state = UM_FOUND;
	m->uid = h->uid;
	m->has_uid = 1;
	u->st->found++;
	if (!m->exact)
		u->st->inexact++;
	log_verbose("%s: already there as UID %u", u->o->url, h->uid);
}

/*
 * Step 3, the newest messages of the folder that no delivery names (at
 * most UP_RECENT_MAX, above the highest UID recorded), read once: where
 * a run killed after its APPEND left its messages. They are compared
 * with every message to send whatever size the server says they have,
 * for a server whose RFC822.SIZE is not the exact size of its
 * BODY[] (Exchange Online's is an estimate).
 */
struct up_pick {
	uint32_t	uid;
	size_t		idx;
};

static int
pick_desc(const void *a, const void *b)
{
	uint32_t	x = ((const struct up_pick *)a)->uid;
	uint32_t	y = ((const struct up_pick *)b)->uid;

	return x > y ? -1 : x < y;
}

static int
read_recent(struct up *u)
{
	struct up_pick	*p;
	uint32_t	 uids[UP_RECENT_MAX], maxuid = 0;
	size_t		 i, j, n = 0;
	uint64_t	 big = 0;
	int		 r = 0;

	for (i = 0; i < u->nduid; i++)
		if (u->duid[i] > maxuid)
			maxuid = u->duid[i];
	p = xcalloc(u->nhave + 1, sizeof *p);
	for (i = 0; i < u->nhave; i++)
		if (u->have[i].uid > maxuid) {
			p[n].uid = u->have[i].uid;
			p[n++].idx = i;
		}
	qsort(p, n, sizeof *p, pick_desc);
	if (n > UP_RECENT_MAX)
		n = UP_RECENT_MAX;
	for (i = 0; i < n; i++) {
		uids[i] = p[i].uid;
		if (u->have[p[i].idx].size > big)
			big = u->have[p[i].idx].size;
	}
	if (n > 0 && (r = fetch_back(u, uids, n, big)) == 0) {
		u->recent = xcalloc(u->ngot + 1, sizeof *u->recent);
		for (i = 0; i < u->ngot; i++)
			for (j = 0; j < n; j++)
				if (uids[j] == u->got[i].uid) {
					u->recent[u->nrecent].have = p[j].idx;
					memcpy(u->recent[u->nrecent].norm,
					    u->got[i].norm, HASH_LEN);
					u->nrecent++;
					break;
				}
	}
	free(p);
	return r;
}

/*
 * Step 4, lookup: each message read whose wire size an unclaimed
 * destination message has is compared with those by content; and with
 * the newest ones read by read_recent().
 */
static int
look_up(struct up *u)
{
	struct up_have		*h;
	const struct up_got	*g;
	uint32_t		 cand[UP_CAND_MAX];
	size_t			 k, n = 0, j;

	for (k = 0; k < u->nb; k++)
		for (j = 0; j < u->nrecent && u->b[k].state == UM_READ; j++) {
			h = &u->have[u->recent[j].have];
			if (!h->claimed && memcmp(u->recent[j].norm,
			    u->b[k].norm, HASH_LEN) == 0)
				found_at(u, &u->b[k], h);
		}
	for (k = 0; k < u->nb; k++) {
		if (u->b[k].state != UM_READ ||
		    (h = have_first(u, u->b[k].wire)) == NULL)
			continue;
		for (; h < u->have + u->nhave && h->size == u->b[k].wire &&
		    n < UP_CAND_MAX; h++) {
			if (h->claimed)
				continue;
			for (j = 0; j < n && cand[j] != h->uid; j++)
				;
			if (j == n)
				cand[n++] = h->uid;
		}
	}
	if (n == 0)
		return 0;
	if (fetch_back(u, cand, n, batch_wire_max(u)) == -1)
		return -1;
	for (k = 0; k < u->nb; k++) {
		if (u->b[k].state != UM_READ ||
		    (h = have_first(u, u->b[k].wire)) == NULL)
			continue;
		for (; h < u->have + u->nhave && h->size == u->b[k].wire;
		    h++) {
			if (h->claimed || (g = got_find(u, h->uid)) == NULL ||
			    memcmp(g->norm, u->b[k].norm, HASH_LEN) != 0)
				continue;
			found_at(u, &u->b[k], h);
			break;
		}
	}
	return 0;
}

/* Sleep up to ms, in steps a signal can cut short. 0, or -1 if stopped. */
static int
nap(int64_t ms)
{
	struct timespec	ts;
	int64_t		step;

	while (ms > 0) {
		if (stop_requested())
			return -1;
		step = ms > 100 ? 100 : ms;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)step * 1000000L;
		nanosleep(&ts, NULL);
		ms -= step;
	}
	return stop_requested() ? -1 : 0;
}

/* Wait until the rates allow what was sent so far. */
static int
pace(struct up *u)
{
	const struct upload_opts	*o = u->o;
	double				 need = 0, t;

	if (o->rate_msgs > 0)
		need = (double)u->rate_n / o->rate_msgs;
	if (o->rate_bytes > 0 && (t = (double)u->rate_b /
	    (double)o->rate_bytes) > need)
		need = t;
	return nap((int64_t)(need * 1000) - (now_ms() - u->t0));
}

/* A message's wire form on its way to imap_append()'s put(). */
struct up_emit {
	int	(*put)(void *, const char *, size_t);
	void	 *pa;
	char	  prev;		/* the last octet given */
};

static int
body_put(void *arg, const void *p, size_t n)
{
	struct up_emit	*em = arg;
	const char	*c = p, *e = c + n, *q;
	char		 before;

	while (c < e) {
		if ((q = memchr(c, '\n', (size_t)(e - c))) == NULL) {
			em->prev = e[-1];
			return em->put(em->pa, c, (size_t)(e - c));
		}
		before = q > c ? q[-1] : em->prev;
		if (before != '\r') {
			if (em->put(em->pa, c, (size_t)(q - c)) == -1 ||
			    em->put(em->pa, "\r\n", 2) == -1)
				return -1;
		} else if (em->put(em->pa, c, (size_t)(q - c) + 1) == -1)
			return -1;
		em->prev = '\n';
		c = q + 1;
	}
	return 0;
}

static int
body_cb(void *arg, int (*put)(void *, const char *, size_t), void *pa)
{
	struct up_msg	*m = arg;
	struct up_emit	 em;

	em.put = put;
	em.pa = pa;
	em.prev = 0;
	return spool_replay(m->sp, body_put, &em);
}

/* Step 4, send: APPEND the messages still to send. */
static int
send_batch(struct up *u)
{
	const struct upload_opts	*o = u->o;
	struct imap_msg			 im[IMAP_APPEND_MAX];
	struct imap_appended		 r[IMAP_APPEND_MAX];
	struct up_msg			*which[IMAP_APPEND_MAX];
	uint64_t			 bytes = 0;
	size_t				 k, n = 0;

	for (k = 0; k < u->nb && n < IMAP_APPEND_MAX; k++) {
		struct up_msg	*m = &u->b[k];

		if (m->state != UM_READ)
			continue;
		if (o->daily_bytes > 0 && m->wire > o->daily_bytes) {
			m->state = UM_REFUSED;
			u->st->refused++;
			fail_note(&u->f, FAIL_MESSAGE, FAIL_R_REFUSED);
			snprintf(u->st->err, sizeof u->st->err, "a message of "
			    "%llu octets is over the daily limit of %llu",
			    (unsigned long long)m->wire,
			    (unsigned long long)o->daily_bytes);
			log_warnx("%s: %s", o->url, u->st->err);
			continue;
		}
		if (o->daily_bytes > 0 && u->day_used + bytes + m->wire >
		    o->daily_bytes) {
			u->stop = 1;
			fail_note(&u->f, FAIL_ACCOUNT, FAIL_R_TEMP);
			snprintf(u->st->err, sizeof u->st->err, "the daily "
			    "limit of %llu octets is reached; the next run "
			    "goes on", (unsigned long long)o->daily_bytes);
			log_warnx("%s: %s", o->url, u->st->err);
			break;
		}
		if (o->dry_run) {
			u->st->sent++;
			continue;
		}
		which[n] = m;
		im[n].size = m->wire;
		im[n].flags = o->flags;
		im[n].date = m->date;
		im[n].body = body_cb;
		im[n].arg = m;
		bytes += m->wire;
		n++;
	}
	if (n == 0)
		return 0;
	if (pace(u) == -1)
		return 0;	/* stopped: the caller sees it */
	if (imap_append(u->s, im, n, r) == -1)
		return imap_fail(u, "append");
	u->rate_n += n;
	u->rate_b += bytes;
	u->day_used += bytes;
	for (k = 0; k < n; k++) {
		if (!r[k].ok) {
			which[k]->state = UM_REFUSED;
			u->st->refused++;
			fail_note(&u->f, FAIL_MESSAGE, FAIL_R_REFUSED);
			snprintf(u->st->err, sizeof u->st->err, "APPEND "
			    "refused: %s", r[k].text);
			log_warnx("%s: %s", o->url, u->st->err);
			continue;
		}
		which[k]->state = UM_SENT;
		u->st->sent++;
		u->st->bytes += which[k]->wire;
		if (r[k].has_uid && r[k].uidvalidity == u->mb.uidvalidity) {
			which[k]->uid = r[k].uid;
			which[k]->has_uid = 1;
			if (r[k].uid >= u->uid_floor)
				u->uid_floor = r[k].uid + 1;
		}
	}
	return 0;
}

/*
 * Without APPENDUID: the UIDs that may hold the messages sent: those
 * with their Message-ID, and for those without one, every UID from the
 * lowest that can be new.
 */
static int
search_sent(struct up *u, uint32_t *cand, size_t *n, size_t max)
{
	uint32_t	 found[UP_SEARCH_MAX];
	char		 q[UP_MID_MAX * 2 + 8], crit[sizeof q + 32];
	size_t		 k, c, j, qlen;
	int		 range = 0;

	for (k = 0; k < u->nb; k++) {
		struct up_msg	*m = &u->b[k];

		if (m->state != UM_SENT || m->has_uid)
			continue;
		if (m->mid[0] == '\0' || imap_quote(m->mid, strlen(m->mid), q,
		    sizeof q, &qlen) == -1) {
			range = 1;
			continue;
		}
		snprintf(crit, sizeof crit, "HEADER Message-ID %s", q);
		if (imap_search(u->s, crit, found, UP_SEARCH_MAX, &c) == -1)
			return imap_fail(u, "search");
		for (j = 0; j < c && j < UP_SEARCH_MAX && *n < max; j++)
			cand[(*n)++] = found[j];
	}
	if (range) {
		snprintf(crit, sizeof crit, "UID %u:*", u->uid_floor > 0 ?
		    u->uid_floor : 1);
		if (imap_search(u->s, crit, found, UP_SEARCH_MAX, &c) == -1)
			return imap_fail(u, "search");
		for (j = 0; j < c && j < UP_SEARCH_MAX && *n < max; j++)
			cand[(*n)++] = found[j];
	}
	return 0;
}

/* Is uid taken: delivered before, claimed, or another message's now. */
static int
uid_taken(const struct up *u, uint32_t uid, const struct up_msg *self)
{
	size_t	k;

	if (u->nduid > 0 && bsearch(&uid, u->duid, u->nduid, sizeof *u->duid,
	    u32_cmp) != NULL)
		return 1;
	for (k = 0; k < u->nb; k++)
		if (&u->b[k] != self && u->b[k].has_uid &&
		    u->b[k].uid == uid && (u->b[k].state == UM_PROVEN ||
		    u->b[k].state == UM_SENT || u->b[k].state == UM_FOUND))
			return 1;
	return 0;
}

/* Step 4, proof: read every message sent back and compare. */
static int
prove(struct up *u)
{
	uint32_t		 cand[UP_CAND_MAX];
	const struct up_got	*g;
	size_t			 k, n = 0, j;
	int			 search = 0;

	for (k = 0; k < u->nb; k++) {
		if (u->b[k].state != UM_SENT)
			continue;
		if (u->b[k].has_uid && n < UP_CAND_MAX)
			cand[n++] = u->b[k].uid;
		else if (!u->b[k].has_uid)
			search = 1;
	}
	if (search && search_sent(u, cand, &n, UP_CAND_MAX) == -1)
		return -1;
	if (fetch_back(u, cand, n, batch_wire_max(u)) == -1)
		return -1;
	for (k = 0; k < u->nb; k++) {
		struct up_msg	*m = &u->b[k];

		if (m->state != UM_SENT)
			continue;
		if (m->has_uid) {
			g = got_find(u, m->uid);
		} else {
			for (g = NULL, j = 0; j < u->ngot; j++)
				if (memcmp(u->got[j].norm, m->norm,
				    HASH_LEN) == 0 &&
				    !uid_taken(u, u->got[j].uid, m)) {
					g = &u->got[j];
					break;
				}
			if (g != NULL) {
				m->uid = g->uid;
				m->has_uid = 1;
			}
		}
		if (g == NULL) {
			m->state = UM_ABSENT;
			u->st->mismatch++;
			fail_note(&u->f, FAIL_MESSAGE, FAIL_R_VERIFY);
			snprintf(u->st->err, sizeof u->st->err, "the server "
			    "accepted a message%s but does not give it back; "
			    "not recorded, looked up again by the next run",
			    m->mid[0] != '\0' ? "" : " without Message-ID");
			log_warnx("%s: %s", u->o->url, u->st->err);
		} else if (memcmp(g->norm, m->norm, HASH_LEN) == 0 &&
		    m->exact) {
			m->state = UM_PROVEN;
			u->st->proven++;
		} else if (memcmp(g->norm, m->norm, HASH_LEN) == 0) {
			m->state = UM_INEXACT;
			u->st->inexact++;
			fail_note(&u->f, FAIL_MESSAGE, FAIL_R_VERIFY);
			snprintf(u->st->err, sizeof u->st->err, "UID %u holds "
			    "a message stored with CR LF inside, which IMAP's "
			    "CRLF lines cannot tell from its LF line ends: "
			    "equal but for those (recorded as inexact)",
			    m->uid);
			log_warnx("%s: %s", u->o->url, u->st->err);
		} else {
			m->state = UM_MISMATCH;
			u->st->mismatch++;
			fail_note(&u->f, FAIL_MESSAGE, FAIL_R_VERIFY);
			snprintf(u->st->err, sizeof u->st->err, "UID %u holds "
			    "other bytes than the message sent (the server "
			    "changed it); recorded as a mismatch, not sent "
			    "again", m->uid);
			log_warnx("%s: %s", u->o->url, u->st->err);
		}
	}
	return 0;
}

/* Step 4, record: what is proven, found or mismatched, in one commit. */
static int
record(struct up *u)
{
	struct idx_delivery	d;
	size_t			k;
	int			any = 0;

	if (u->o->dry_run)
		return 0;
	for (k = 0; k < u->nb; k++) {
		struct up_msg	*m = &u->b[k];

		if (m->state != UM_PROVEN && m->state != UM_FOUND &&
		    m->state != UM_MISMATCH && m->state != UM_INEXACT)
			continue;
		if (!any && idx_begin(u->x) == -1)
			return idx_failed(u);
		any = 1;
		memcpy(d.sha256, m->sha, HASH_LEN);
		d.uidvalidity = u->mb.uidvalidity;
		d.uid = m->has_uid ? m->uid : 0;
		d.state = m->state == UM_MISMATCH ? IDX_DLV_MISMATCH :
		    m->exact ? IDX_DLV_PROVEN : IDX_DLV_INEXACT;
		d.found = m->state == UM_FOUND;
		d.size = m->wire;
		d.when = wall_now();
		if (idx_delivery_put(u->x, u->dest, &d) == -1) {
			idx_rollback(u->x);
			return idx_failed(u);
		}
	}
	if (any && idx_commit(u->x) == -1) {
		idx_rollback(u->x);
		return idx_failed(u);
	}
	return 0;
}

/* The INTERNALDATE of a message (upload.h, step 4). */
static int
msg_meta(struct up *u, struct up_msg *m)
{
	int64_t	date, first;

	switch (idx_msg_meta(u->x, m->row, &date, &first, m->mid,
	    sizeof m->mid)) {
	case 0:
		break;
	case 1:
		date = INT64_MIN;
		first = 0;
		m->mid[0] = '\0';
		break;
	default:
		return idx_failed(u);
	}
	if (date != INT64_MIN && date >= UP_DATE_MIN &&
	    date <= wall_now() + UP_DAY)
		m->date = (time_t)date;
	else
		m->date = first > 0 ? (time_t)first : 0;
	return 0;
}

/* One batch: read, look up, send, prove, record. */
static int
batch(struct up *u, size_t from, size_t *next)
{
	struct source_sink	 sink = { rd_begin, rd_data, rd_end, rd_failed,
				    NULL, u };
	size_t			 which[IMAP_APPEND_MAX], k, n = 0;
	uint64_t		 bytes = 0;
	size_t			 max = u->o->batch > 0 ? u->o->batch :
				    UP_BATCH_DEFAULT;

	if (max > IMAP_APPEND_MAX)
		max = IMAP_APPEND_MAX;
	if (u->o->rate_msgs > 0 && (double)max > u->o->rate_msgs)
		max = u->o->rate_msgs >= 1 ? (size_t)u->o->rate_msgs : 1;
	while (from + n < u->ntodo && n < max && (n == 0 ||
	    bytes < UP_BATCH_BYTES)) {
		which[n] = u->todo[from + n];
		bytes += u->l.e[which[n]].size;
		n++;
	}
	*next = from + n;
	u->nb = n;
	for (k = 0; k < n; k++) {
		struct up_msg	*m = &u->b[k];

		m->li = which[k];
		m->state = UM_NONE;
		m->has_uid = 0;
		m->uid = 0;
		if (source_vault_entry(u->src, which[k], m->sha, &m->row) ==
		    -1)
			return up_fail(u, FAIL_RUN, FAIL_R_SOFTWARE,
			    "listing entry %zu", which[k]);
		if (msg_meta(u, m) == -1)
			return -1;
	}
	u->cur = 0;
	if (u->src->ops->retrieve(u->src, &u->l, which, n, &sink) == -1) {
		if (u->f.grade != FAIL_NONE)
			return -1;	/* the sink's failure, said */
		return up_fail(u, FAIL_RUN, u->src->reason == FAIL_R_NONE ?
		    FAIL_R_IO : u->src->reason, "%s", source_error(u->src));
	}
	for (k = 0; k < n; k++) {
		if (u->b[k].state == UM_NUL) {
			u->st->refused++;
			fail_note(&u->f, FAIL_MESSAGE, FAIL_R_REFUSED);
			snprintf(u->st->err, sizeof u->st->err, "a message "
			    "holds NUL octets, which IMAP cannot carry "
			    "(RFC 9051 section 4.3); not sent");
			log_warnx("%s: %s", u->o->url, u->st->err);
		} else if (u->b[k].state == UM_UNREADABLE) {
			u->st->left++;
			fail_note(&u->f, FAIL_MESSAGE, FAIL_R_IO);
		}
	}
	if (look_up(u) == -1 || send_batch(u) == -1)
		return -1;
	if (!u->o->dry_run && (prove(u) == -1 || record(u) == -1))
		return -1;
	for (k = 0; k < n; k++) {
		u->st->live.done++;
		u->st->live.done_bytes += u->l.e[which[k]].size;
		if (u->b[k].state == UM_READ && !u->o->dry_run)
			u->st->left++;	/* held back by the daily limit */
	}
	progress_tick();
	return 0;
}

static void
up_free(struct up *u)
{
	size_t	k;

	if (u->s != NULL)
		imap_free(u->s);
	if (u->src != NULL)
		u->src->ops->close(u->src);
	pop3_listing_free(&u->l);
	if (u->x != NULL)
		idx_close(u->x);
	for (k = 0; k < u->capb; k++)
		spool_free(u->b[k].sp);
	free(u->b);
	free(u->dl);
	free(u->duid);
	free(u->have);
	free(u->todo);
	free(u->got);
	free(u->recent);
	hash_free(u->zv.h);
	hash_free(u->zf.h);
	if (u->lockfd != -1)
		close(u->lockfd);
}

/*
 * One upload at a time to a mailbox: two would each find the other's
 * unrecorded messages missing and send them again. The lock is a file
 * of VAULT/destinations/, named by the hash of the mailbox's URL; a dry
 * run takes none (it sends nothing).
 */
static int
lock_dest(struct up *u)
{
	unsigned char	sha[HASH_LEN];
	char		dir[4200], path[4300], hex[HASH_HEXLEN + 1];

	if (u->o->dry_run)
		return 0;
	hash_sha256(u->o->url, strlen(u->o->url), sha);
	hex_encode(sha, HASH_LEN, hex);
	if (xsnprintf(dir, sizeof dir, "%s/destinations", u->o->vault) == -1 ||
	    xsnprintf(path, sizeof path, "%s/%.16s.lock", dir, hex) == -1)
		return up_fail(u, FAIL_RUN, FAIL_R_USAGE, "vault path too "
		    "long");
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return up_fail(u, FAIL_RUN, FAIL_R_IO, "%s: %s", dir,
		    strerror(errno));
	if ((u->lockfd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		return up_fail(u, FAIL_RUN, FAIL_R_IO, "%s: %s", path,
		    strerror(errno));
	if (flock(u->lockfd, LOCK_EX | LOCK_NB) == -1)
		return up_fail(u, FAIL_ACCOUNT, errno == EWOULDBLOCK ?
		    FAIL_R_TEMP : FAIL_R_IO, "%s: %s", u->o->url,
		    errno == EWOULDBLOCK ? "another popvault is uploading "
		    "to this mailbox" : strerror(errno));
	return 0;
}

static int
open_index(struct up *u)
{
	const struct upload_opts	*o = u->o;
	char				 path[4200], err[600];

	if (xsnprintf(path, sizeof path, "%s/index.sqlite", o->vault) == -1)
		return up_fail(u, FAIL_RUN, FAIL_R_USAGE, "vault path too "
		    "long");
	u->x = o->dry_run ? idx_open_ro(path, err, sizeof err) :
	    idx_open(path, err, sizeof err);
	if (u->x == NULL)
		return up_fail(u, FAIL_RUN, FAIL_R_IO, "%s", err);
	switch (idx_dest(u->x, o->url, !o->dry_run, &u->dest,
	    &u->uv_recorded)) {
	case 0:
		break;
	case 1:
		u->dest = -1;	/* dry run, never uploaded there */
		return 0;
	default:
		return idx_failed(u);
	}
	if (idx_deliveries(u->x, u->dest, dl_cb, u) == -1)
		return idx_failed(u);
	if (u->ndl > 0)
		qsort(u->dl, u->ndl, sizeof *u->dl, dl_cmp);
	if (o->daily_bytes > 0 && idx_dest_appended(u->x, u->dest,
	    wall_now() - UP_DAY, &u->day_used) == -1)
		return idx_failed(u);
	return 0;
}

int
upload_run(const struct upload_opts *o, struct upload_stats *st)
{
	struct up	 u;
	size_t		 at, next = 0, k;
	int64_t		 t0 = now_ms();

	memset(&u, 0, sizeof u);
	u.o = o;
	u.st = st;
	u.zv.h = hash_new();
	u.zf.h = hash_new();
	u.lockfd = -1;
	if (lock_dest(&u) == -1 || open_index(&u) == -1)
		goto out;
	if (o->daily_bytes > 0 && u.day_used >= o->daily_bytes) {
		up_fail(&u, FAIL_ACCOUNT, FAIL_R_TEMP, "%s: the daily limit "
		    "of %llu octets is reached; the next run goes on",
		    o->url, (unsigned long long)o->daily_bytes);
		goto out;
	}
	u.src = source_vault_new(o->vault, o->accounts, o->naccounts, o->q);
	if (open_mailbox(&u) == -1 || select_todo(&u) == -1)
		goto out;
	st->live.todo = u.ntodo;
	for (k = 0; k < u.ntodo; k++)
		st->live.todo_bytes += u.l.e[u.todo[k]].size;
	if (u.ntodo > 0 && (list_mailbox(&u) == -1 || read_recent(&u) == -1))
		goto out;
	u.capb = o->batch > 0 && o->batch < IMAP_APPEND_MAX ? o->batch :
	    IMAP_APPEND_MAX;
	u.b = xcalloc(u.capb, sizeof *u.b);
	for (k = 0; k < u.capb; k++)
		u.b[k].sp = spool_new(o->vault, UP_SPOOL_MEM);
	u.t0 = now_ms();
	st->live.phase = RUN_PH_FETCH;
	st->live.fetch_t0 = u.t0;
	for (at = 0; at < u.ntodo; at = next) {
		if (stop_requested()) {
			up_fail(&u, FAIL_ACCOUNT, FAIL_R_SIGNAL, "stopped");
			break;
		}
		if (batch(&u, at, &next) == -1 || u.stop)
			break;
	}
	if (at < u.ntodo) {
		/* What this run did not reach. */
		st->left += u.ntodo - (u.stop ? next : at);
	}
	if (u.s != NULL && u.f.grade < FAIL_ACCOUNT)
		(void)imap_logout(u.s);
out:
	st->live.phase = RUN_PH_DONE;
	st->live.ms = now_ms() - t0;
	up_free(&u);
	st->live.code = fail_exit(&u.f);
	return st->live.code;
}
