/*
 * progress.c -- the progress display; see progress.h.
 */
#include <sys/ioctl.h>

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "progress.h"
#include "util.h"

#define PROGRESS_EVERY_MS	200
#define PROGRESS_MAXLINES	64

static enum progress_mode	  pmode = PROGRESS_OFF;
static struct run_stats		 *pslots;
static const char *const	 *pnames;
static size_t			  pn;
static int			  pself;
static int			  pdrawn;	/* live lines on screen */
static int64_t			  pnext;	/* next draw, ms */
static int			  pphase;	/* of slot 0, when self */

static int64_t
mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
put(const char *s, size_t n)
{
	ssize_t	w;

	while (n > 0) {
		if ((w = write(STDERR_FILENO, s, n)) <= 0)
			return;		/* a display: nothing to recover */
		s += w;
		n -= (size_t)w;
	}
}

static void
clear_hook(void)
{
	progress_clear();
}

void
progress_init(int quiet, int force)
{
	if (quiet)
		pmode = PROGRESS_OFF;
	else if (force || isatty(STDERR_FILENO))
		pmode = PROGRESS_TTY;
	else
		pmode = PROGRESS_LINES;
	log_set_hook(pmode == PROGRESS_TTY ? clear_hook : NULL);
}

enum progress_mode
progress_mode(void)
{
	return pmode;
}

void
progress_watch(struct run_stats *slots, const char *const *names, size_t n,
    int self)
{
	pslots = slots;
	pnames = names;
	pn = n;
	pself = self;
	pnext = 0;
	pphase = -1;
	pdrawn = 0;	/* a child does not own its parent's lines */
}

static const char *
phase_name(int ph)
{
	switch (ph) {
	case RUN_PH_CONNECT:
		return "connecting";
	case RUN_PH_LIST:
		return "listing";
	case RUN_PH_FETCH:
		return "fetching";
	case RUN_PH_DELETE:
		return "deleting";
	case RUN_PH_DONE:
		return "done";
	default:
		return "waiting";
	}
}

static void
fmt_secs(int64_t s, char *buf, size_t len)
{
	if (s >= 3600)
		snprintf(buf, len, "%lld:%02lld:%02lld", (long long)(s / 3600),
		    (long long)(s / 60 % 60), (long long)(s % 60));
	else
		snprintf(buf, len, "%lld:%02lld", (long long)(s / 60),
		    (long long)(s % 60));
}

void
progress_line(const struct run_stats *st, const char *name, int done,
    char *buf, size_t len)
{
	uint64_t	 got, todo = st->todo, n = st->done;
	double		 secs, rate = 0;
	char		 eta[32];

	if (done) {
		if (todo == 0 && st->code == EXIT_OK) {
			snprintf(buf, len, "%s: nothing new (%llu on the "
			    "server), %llu deleted, %.1f s", name,
			    (unsigned long long)st->listed,
			    (unsigned long long)st->deleted, st->ms / 1000.0);
			return;
		}
		snprintf(buf, len, "%s: %s: %llu/%llu fetched, %llu archived, "
		    "%llu duplicates, %llu deleted, %.1f MB in %.1f s%s",
		    name, st->code == EXIT_OK ? "done" : "incomplete",
		    (unsigned long long)n, (unsigned long long)todo,
		    (unsigned long long)st->archived,
		    (unsigned long long)st->dups,
		    (unsigned long long)st->deleted, st->bytes / 1e6,
		    st->ms / 1000.0, st->code == EXIT_OK ? "" :
		    st->code == EXIT_PARTIAL ? " (some messages skipped)" :
		    " (stopped early)");
		return;
	}
	if (st->phase != RUN_PH_FETCH) {
		snprintf(buf, len, "%-16s %s", name, phase_name(st->phase));
		return;
	}
	got = st->done_bytes + st->cur_bytes;
	secs = (now_ms() - st->fetch_t0) / 1000.0;
	if (secs > 0.2)
		rate = got / secs;
	if (rate > 0 && st->todo_bytes > got)
		fmt_secs((int64_t)((st->todo_bytes - got) / rate), eta,
		    sizeof eta);
	else
		snprintf(eta, sizeof eta, "-");
	snprintf(buf, len, "%-16s fetching %llu/%llu  %.1f/%.1f MB  "
	    "%.1f MB/s  ETA %s", name, (unsigned long long)n,
	    (unsigned long long)todo, got / 1e6, st->todo_bytes / 1e6,
	    rate / 1e6, eta);
}

static int
term_width(void)
{
	struct winsize	ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

void
progress_draw(int force)
{
	char	 out[PROGRESS_MAXLINES * 260 + 32], line[256];
	size_t	 o = 0, i, l;
	int	 n = 0, w;
	int64_t	 now;

	if (pmode != PROGRESS_TTY || pslots == NULL)
		return;
	now = mono_ms();
	if (!force && now < pnext)
		return;
	pnext = now + PROGRESS_EVERY_MS;
	w = term_width() - 1;
	if (w > (int)sizeof line - 1)
		w = (int)sizeof line - 1;
	if (pdrawn > 0)
		o += (size_t)snprintf(out, sizeof out, "\033[%dA", pdrawn);
	for (i = 0; i < pn && n < PROGRESS_MAXLINES; i++) {
		if (pslots[i].phase == RUN_PH_WAIT ||
		    pslots[i].phase == RUN_PH_DONE)
			continue;
		progress_line(&pslots[i], pnames[i], 0, line, sizeof line);
		/* Never wider than the terminal: a wrapped line would
		 * break the cursor movement. */
		l = strlen(line);
		if (l > (size_t)w)
			l = (size_t)w;
		memcpy(out + o, "\r\033[K", 4);
		o += 4;
		memcpy(out + o, line, l);
		o += l;
		out[o++] = '\n';
		n++;
	}
	if (n == 0 && pdrawn == 0)
		return;
	memcpy(out + o, "\033[J", 3);
	o += 3;
	put(out, o);
	pdrawn = n;
}

void
progress_tick(void)
{
	const struct run_stats	*st;
	int			 force = 0;

	if (pmode != PROGRESS_TTY || !pself || pslots == NULL)
		return;
	st = &pslots[0];
	/* A new phase, or the last message: show it even if early. */
	if (st->phase != pphase || (st->phase == RUN_PH_FETCH &&
	    st->done == st->todo && st->cur_bytes == 0))
		force = 1;
	pphase = st->phase;
	progress_draw(force);
}

void
progress_clear(void)
{
	char	buf[32];
	int	n;

	if (pmode != PROGRESS_TTY || pdrawn == 0)
		return;
	n = snprintf(buf, sizeof buf, "\033[%dA\033[J", pdrawn);
	put(buf, (size_t)n);
	pdrawn = 0;
	pnext = 0;
}

void
progress_finish(size_t i)
{
	char	line[1024];
	size_t	l;

	if (pmode == PROGRESS_OFF || pslots == NULL || i >= pn)
		return;
	/* An account that failed before listing: its error said it all. */
	if (pslots[i].code != EXIT_OK && pslots[i].code != EXIT_PARTIAL &&
	    pslots[i].listed == 0) {
		progress_clear();
		progress_draw(1);
		return;
	}
	progress_clear();
	progress_line(&pslots[i], pnames[i], 1, line, sizeof line);
	l = strlen(line);
	line[l++] = '\n';
	put(line, l);
	progress_draw(1);
}
