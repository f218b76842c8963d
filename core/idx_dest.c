/*
 * idx_dest.c -- the index's record of uploads to IMAP mailboxes
 * (destinations, deliveries: schema 7); see idx.h. Apart from idx.c so
 * that the file of the archive's own tables does not grow past reading.
 */
#include <stdio.h>
#include <string.h>

#include "idx.h"
#include "idx_int.h"
#include "util.h"

enum {
	D_GET, D_ADD, D_SET_UV, D_LIST, D_PUT, D_BYTES, D_META,
	D_N
};

static const char *const dst_sql[D_N] = {
	[D_GET] = "SELECT id, coalesce(uidvalidity, 0) FROM destinations "
	    "WHERE url = ?1",
	[D_ADD] = "INSERT INTO destinations(url, created_at) VALUES (?1, ?2)",
	[D_SET_UV] = "UPDATE destinations SET uidvalidity = ?2 WHERE id = ?1",
	[D_LIST] = "SELECT sha256, uidvalidity, uid, (state = 'mismatch') + "
	    "2 * (state = 'inexact'), "
	    "how = 'found', size, delivered_at FROM deliveries WHERE "
	    "dest_id = ?1",
	[D_PUT] = "INSERT OR REPLACE INTO deliveries(dest_id, sha256, "
	    "uidvalidity, uid, state, how, size, delivered_at) VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[D_BYTES] = "SELECT coalesce(sum(size), 0) FROM deliveries WHERE "
	    "dest_id = ?1 AND how = 'appended' AND delivered_at >= ?2",
	[D_META] = "SELECT date_epoch, first_seen, message_id FROM messages "
	    "WHERE id = ?1",
};

_Static_assert(D_N <= IDX_DST_NSTMT, "IDX_DST_NSTMT too small");

static sqlite3_stmt *
dstmt(struct idx *x, int which)
{
	sqlite3_stmt	**c = idx_dst_stmts(x), *s = c[which];

	if (s == NULL) {
		if (sqlite3_prepare_v3(idx_db(x), dst_sql[which], -1,
		    SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
			idx_fail(x, "prepare");
			return NULL;
		}
		c[which] = s;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

static int
done(struct idx *x, sqlite3_stmt *s, const char *what)
{
	int	r = sqlite3_step(s);

	sqlite3_reset(s);
	return r == SQLITE_DONE ? 0 : idx_fail(x, what);
}

int
idx_dest(struct idx *x, const char *url, int create, int64_t *id,
    uint32_t *uidvalidity)
{
	sqlite3_stmt	*s;
	int		 r;

	if ((s = dstmt(x, D_GET)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, url, -1, SQLITE_STATIC);
	if ((r = sqlite3_step(s)) == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		*uidvalidity = (uint32_t)sqlite3_column_int64(s, 1);
		sqlite3_reset(s);
		return 0;
	}
	sqlite3_reset(s);
	if (r != SQLITE_DONE)
		return idx_fail(x, "looking up a destination");
	if (!create)
		return 1;
	if ((s = dstmt(x, D_ADD)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, url, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, wall_now());
	if (done(x, s, "adding a destination") == -1)
		return -1;
	*id = sqlite3_last_insert_rowid(idx_db(x));
	*uidvalidity = 0;
	return 0;
}

int
idx_dest_set_uidvalidity(struct idx *x, int64_t dest, uint32_t uidvalidity)
{
	sqlite3_stmt	*s;

	if ((s = dstmt(x, D_SET_UV)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, dest);
	sqlite3_bind_int64(s, 2, uidvalidity);
	return done(x, s, "recording a UIDVALIDITY");
}

int
idx_deliveries(struct idx *x, int64_t dest,
    int (*cb)(void *, const struct idx_delivery *), void *arg)
{
	struct idx_delivery	 d;
	sqlite3_stmt		*s;
	int			 r;

	if ((s = dstmt(x, D_LIST)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, dest);
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(s, 0) != HASH_LEN)
			continue;
		memcpy(d.sha256, sqlite3_column_blob(s, 0), HASH_LEN);
		d.uidvalidity = (uint32_t)sqlite3_column_int64(s, 1);
		d.uid = (uint32_t)sqlite3_column_int64(s, 2);
		d.state = sqlite3_column_int(s, 3);
		d.found = sqlite3_column_int(s, 4);
		d.size = (uint64_t)sqlite3_column_int64(s, 5);
		d.when = sqlite3_column_int64(s, 6);
		if (cb(arg, &d) == -1)
			break;
	}
	sqlite3_reset(s);
	if (r != SQLITE_DONE && r != SQLITE_ROW)
		return idx_fail(x, "listing deliveries");
	return r == SQLITE_ROW ? -1 : 0;
}

int
idx_delivery_put(struct idx *x, int64_t dest, const struct idx_delivery *d)
{
	sqlite3_stmt	*s;

	if ((s = dstmt(x, D_PUT)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, dest);
	sqlite3_bind_blob(s, 2, d->sha256, HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, d->uidvalidity);
	sqlite3_bind_int64(s, 4, d->uid);
	sqlite3_bind_text(s, 5, d->state == IDX_DLV_MISMATCH ? "mismatch" :
	    d->state == IDX_DLV_INEXACT ? "inexact" : "proven", -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(s, 6, d->found ? "found" : "appended", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(s, 7, (int64_t)d->size);
	sqlite3_bind_int64(s, 8, d->when);
	return done(x, s, "recording a delivery");
}

int
idx_dest_appended(struct idx *x, int64_t dest, int64_t since,
    uint64_t *bytes)
{
	sqlite3_stmt	*s;
	int		 r;

	if ((s = dstmt(x, D_BYTES)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, dest);
	sqlite3_bind_int64(s, 2, since);
	if ((r = sqlite3_step(s)) == SQLITE_ROW)
		*bytes = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return r == SQLITE_ROW ? 0 : idx_fail(x, "summing deliveries");
}

int
idx_msg_meta(struct idx *x, int64_t msg, int64_t *date, int64_t *first_seen,
    char *mid, size_t midlen)
{
	sqlite3_stmt		*s;
	const unsigned char	*t;
	int			 r, n;

	if ((s = dstmt(x, D_META)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, msg);
	if ((r = sqlite3_step(s)) != SQLITE_ROW) {
		sqlite3_reset(s);
		return r == SQLITE_DONE ? 1 : idx_fail(x, "reading a message");
	}
	*date = sqlite3_column_type(s, 0) == SQLITE_NULL ? INT64_MIN :
	    sqlite3_column_int64(s, 0);
	*first_seen = sqlite3_column_int64(s, 1);
	mid[0] = '\0';
	t = sqlite3_column_text(s, 2);
	n = sqlite3_column_bytes(s, 2);
	if (t != NULL && n > 0 && (size_t)n < midlen) {
		memcpy(mid, t, (size_t)n);
		mid[n] = '\0';
	}
	sqlite3_reset(s);
	return 0;
}
