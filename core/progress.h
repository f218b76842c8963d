/*
 * progress.h -- what a run shows while it works, on stderr.
 *
 * On a terminal (PROGRESS_TTY) one line per running account, redrawn
 * in place at most five times a second: phase, messages done / to do,
 * megabytes, rate and time left. Without a terminal (PROGRESS_LINES)
 * nothing is redrawn. In both, progress_finish() prints one line per
 * account when it is done. PROGRESS_OFF (-q): nothing at all.
 *
 * The figures come from the accounts' struct run_stats, which the runs
 * update as they go (with -j N they live in memory shared with the
 * children and the parent draws). Nothing here writes to stdout.
 */
#ifndef PROGRESS_H
#define PROGRESS_H

#include <stddef.h>

#include "stats.h"

enum progress_mode {
	PROGRESS_OFF,
	PROGRESS_LINES,
	PROGRESS_TTY
};

/* quiet: -q; force: --progress. Decides the mode from isatty(2). */
void	progress_init(int quiet, int force);
enum progress_mode progress_mode(void);

/*
 * The accounts to show: n slots with their names. self: this process
 * runs them and progress_tick() draws; 0: another process runs them
 * (-j) and the caller draws with progress_draw().
 */
void	progress_watch(struct run_stats *slots, const char *const *names,
	    size_t n, int self);

/* From the run, often and cheaply: draws when due (self only). */
void	progress_tick(void);
/* Draw now (force) or when due. */
void	progress_draw(int force);
/* Remove the live lines (before other output). */
void	progress_clear(void);
/* Account i is done: its one line (and the live lines redrawn). */
void	progress_finish(size_t i);

/* One line for an account; for tests and the finish line. */
void	progress_line(const struct run_stats *, const char *name, int done,
	    char *buf, size_t len);

#endif
