/*
 * idx_int.h -- what the files of the index (idx.c, idx_dest.c) share and
 * nothing else sees: the database handle, the statement cache of
 * idx_dest.c, the error setter. SQLite is included here and in idx*.c
 * only.
 */
#ifndef IDX_INT_H
#define IDX_INT_H

#include <sqlite3.h>

struct idx;

/* Statements idx_dest.c prepares once and idx_close() finalizes. */
#define IDX_DST_NSTMT	12

sqlite3		 *idx_db(struct idx *);
sqlite3_stmt	**idx_dst_stmts(struct idx *);
/* Set the index's error to "index: WHAT: sqlite's message"; returns -1. */
int		  idx_fail(struct idx *, const char *what);

#endif
