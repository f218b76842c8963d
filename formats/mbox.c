/*
 * mbox.c -- mboxrd archive, plain or gzip (qmail mbox(5), RFC 4155).
 *
 * Files: ACCOUNT/mbox/YYYY-MM.mbox or YYYY-MM.mbox.gz, one per month of
 * archiving (UTC), so no file grows forever. Each message is written as
 *
 *   From SENDER DATE\n     SENDER from Return-Path, else MAILER-DAEMON;
 *                          DATE in asctime form, UTC, day space-padded
 *   the message            every line matching ^>*From  gets one more >
 *   \n                     an empty line; a message whose last line had
 *                          no newline gets one first (flag "n")
 *
 * gzip: each committed batch is one complete gzip member appended to the
 * file, so readers of concatenated members see one stream. The index
 * keeps each file's committed length; recovery moves bytes past it to
 * ACCOUNT/quarantine/ (fsynced) and cuts the file back.
 *
 * A location is "FILE:MEMBER:OFFSET:LENGTH:FLAGS": MEMBER is the byte
 * offset of the gzip member (0 for plain files), OFFSET the offset of the
 * From_ line in the member's uncompressed bytes (in the file for plain
 * files), LENGTH the bytes from the From_ line to the end of the empty
 * line, FLAGS "n" if a newline was added, else "-".
 *
 * Content-Length: mutt trusts a message's Content-Length when a "From "
 * line sits at that offset. A forged one could make mutt skip later
 * messages. popvault records every Content-Length target that points
 * past the message's own end (a "trap", kept with the file's committed
 * length in the index: the volume's priv string, "u=TOTAL t=OFF,..."),
 * and when a separator would land on a trap it writes one more empty
 * line first, so mutt finds no "From " there and ignores the header;
 * likewise when the file would end on one (mutt trusts a
 * Content-Length that ends exactly at the end of the file). Such a
 * padding line shows as one more empty line at the end of the message
 * before it to readers that ignore the recorded offsets (Python's
 * mailbox); popvault's own reader gives back the exact bytes. See
 * docs/formats.md.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "format.h"
#include "mbox.h"
#include "log.h"
#include "util.h"

#define MB_OBUF		(256 * 1024)
#define MB_NTRAPS	MBOX_NTRAPS
#define MB_GZLEVEL	1	/* fast: see docs/formats.md */
#define MB_QRANDOM	8	/* random bytes in a quarantine name */

/* Quoting state at the start of a line ("From " matched so far: k). */
enum { Q_BOL, Q_GT, Q_MATCH, Q_MID };

struct mbox {
	struct fmt	 base;
	char		 acct[4096];	/* account folder */
	int		 dirfd;		/* ACCOUNT/mbox */
	struct mbox_rcache *rcache;	/* read(): a gzip member's reader */
	int		 gz;
	/* The file written in this batch. */
	int		 fd;
	char		 name[64];
	int		 created;
	uint64_t	 start;		/* file length at open (committed) */
	uint64_t	 ubase;		/* uncompressed bytes before member */
	uint64_t	 uoff;		/* uncompressed bytes in this member
					 * (plain: offset in the file) */
	z_stream	 zs;
	int		 zopen;
	int		 zstrat;	/* the deflate strategy in use */
	/* The deflate thread (mb_zmain) and what it shares, under zmu. */
	pthread_t	 zthr;
	int		 zthr_on;
	pthread_mutex_t	 zmu;
	pthread_cond_t	 zcv;
	unsigned char	*zin;		/* the chunk it compresses */
	size_t		 zinlen;
	int		 zbusy, zfinish, zquit, zerr;
	unsigned char	*obuf;		/* pending uncompressed output */
	size_t		 olen;
	unsigned char	*zbuf;
	/* The message being written. */
	int		 q, qk;
	int		 last;		/* last byte of the message or -1 */
	int		 in_hdr;	/* before the end of its header */
	uint64_t	 msg_off;	/* From_ line offset (uoff scale) */
	int64_t		 clen;		/* Content-Length or -1 */
	size_t		 cur_trap;	/* 1 + index of its trap, or 0 */
	/* Traps: absolute uncompressed offsets. */
	uint64_t	 traps[MB_NTRAPS];
	size_t		 ntraps;
	/* After sync. */
	struct fmt_vol	 vol;
	int		 have_vol;
	struct fmt_committed committed;	/* copied at recover() */
};

static void	mb_zstart(struct mbox *);
static void	mb_b64_init(void);

static struct fmt *
mb_open(const struct fmt_args *a, char *err, size_t errlen)
{
	struct mbox	*m = xcalloc(1, sizeof *m);
	char		 path[4200];

	m->base.ops = &fmt_mbox_ops;
	m->fd = -1;
	m->gz = a->compress == FMT_COMP_GZIP;
	if (a->compress != FMT_COMP_NONE && !m->gz) {
		snprintf(err, errlen, "mbox: only gzip compression");
		free(m);
		return NULL;
	}
	snprintf(m->acct, sizeof m->acct, "%s", a->dir);
	if (xsnprintf(path, sizeof path, "%s/mbox", a->dir) == -1 ||
	    mkdir_sync(path) == -1 ||
	    (m->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "mbox folder %s: %s", path,
		    strerror(errno));
		free(m);
		return NULL;
	}
	m->obuf = xmalloc(MB_OBUF);
	m->zbuf = xmalloc(MB_OBUF);
	if (m->gz) {
		mb_b64_init();
		m->zin = xmalloc(MB_OBUF);
		pthread_mutex_init(&m->zmu, NULL);
		pthread_cond_init(&m->zcv, NULL);
	}
	return &m->base;
}

/* traps string: "u=UNCOMPRESSED_TOTAL t=OFF,OFF,..." (mbox.h) */
static void
traps_parse(struct mbox *m, const char *s)
{
	m->ntraps = mbox_traps_parse(s, m->traps, &m->ubase);
}

static void
traps_format(struct mbox *m, uint64_t utotal, char *out, size_t len)
{
	mbox_traps_format(m->traps, m->ntraps, utotal, out, len);
}

/* Copy bytes past the committed length aside, then cut the file back. */
static int
mb_cut(struct mbox *m, const char *name, uint64_t keep, uint64_t size)
{
	char	qdir[4200], qname[160], buf[65536];
	char	rnd[2 * MB_QRANDOM + 1];
	int	fd, qd = -1, qf = -1, r = -1;
	off_t	off = (off_t)keep;
	ssize_t	n;
	int	i;

	if ((fd = openat(m->dirfd, name, O_RDWR | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return fmt_fail(&m->base, "%s: %s", name, strerror(errno));
	if (xsnprintf(qdir, sizeof qdir, "%s/quarantine", m->acct) == -1 ||
	    mkdir_sync(qdir) == -1 ||
	    (qd = open(qdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		fmt_fail(&m->base, "quarantine folder: %s", strerror(errno));
		goto out;
	}
	/*
	 * A recovery that crashed after writing its quarantine file, run
	 * again within the same second (or with the clock stopped), would
	 * find a time-only name taken: random bits make a new name, and
	 * O_EXCL never lets a name that is taken all the same be
	 * overwritten.
	 */
	for (i = 0; i < 8; i++) {
		random_hex(rnd, MB_QRANDOM);
		snprintf(qname, sizeof qname, "%s.%" PRIu64 ".%lld.%s.tail",
		    name, keep, (long long)wall_now(), rnd);
		qf = openat(qd, qname, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (qf != -1 || errno != EEXIST)
			break;
	}
	if (qf == -1) {
		fmt_fail(&m->base, "quarantine/%s: %s", qname,
		    strerror(errno));
		goto out;
	}
	while ((n = pread(fd, buf, sizeof buf, off)) > 0) {
		if (write_all(qf, buf, (size_t)n) == -1)
			break;
		off += n;
	}
	if (n != 0 || fsync(qf) == -1 || fsync(qd) == -1) {
		fmt_fail(&m->base, "quarantine/%s: %s", qname,
		    strerror(errno));
		goto out;
	}
	crash_point("mbox-quarantined");
	if (ftruncate(fd, (off_t)keep) == -1 || fsync(fd) == -1) {
		fmt_fail(&m->base, "cutting %s back: %s", name,
		    strerror(errno));
		goto out;
	}
	log_warnx("mbox: %s had %" PRIu64 " uncommitted bytes; moved to "
	    "quarantine/%s", name, size - keep, qname);
	r = 0;
out:
	if (qf != -1)
		close(qf);
	if (qd != -1)
		close(qd);
	close(fd);
	return r;
}

static int
mb_recover(struct fmt *f, const struct fmt_committed *c)
{
	struct mbox	*m = (struct mbox *)f;
	struct stat	 sb;
	struct dirent	*de;
	DIR		*d;
	uint64_t	 len;
	char		 traps[512];
	int		 fd, r = 0, known;

	/* Files may be cut back: no reader of before. */
	mbox_rcache_free(m->rcache);
	m->rcache = NULL;

	m->committed = *c;
	if ((fd = dup(m->dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return fmt_fail(f, "mbox folder: %s", strerror(errno));
	}
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (!mbox_is_ours(de->d_name))
			continue;
		if (fstatat(m->dirfd, de->d_name, &sb,
		    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(sb.st_mode)) {
			r = fmt_fail(f, "mbox/%s: not a regular file",
			    de->d_name);
			break;
		}
		known = c->get(c->arg, de->d_name, &len, traps, sizeof traps);
		if (known == -1) {
			r = fmt_fail(f, "index: cannot read volume %s",
			    de->d_name);
			break;
		}
		if (!known)
			len = 0;
		if ((uint64_t)sb.st_size < len) {
			r = fmt_fail(f, "mbox/%s is shorter (%lld bytes) than "
			    "its committed length (%" PRIu64 "); refusing to "
			    "write to it", de->d_name, (long long)sb.st_size,
			    len);
			break;
		}
		if ((uint64_t)sb.st_size > len)
			r = mb_cut(m, de->d_name, len, (uint64_t)sb.st_size);
		if (r == 0 && len == 0) {
			/* Never committed: nothing of it is ours to keep. */
			if (unlinkat(m->dirfd, de->d_name, 0) == -1 ||
			    fsync(m->dirfd) == -1)
				r = fmt_fail(f, "removing mbox/%s: %s",
				    de->d_name, strerror(errno));
		}
	}
	closedir(d);
	return r;
}

/* Pick and open this batch's file: the month of `when`, UTC. */
static int
mb_open_file(struct mbox *m, int64_t when)
{
	struct stat	sb;
	struct tm	tm;
	time_t		t = (time_t)when;
	uint64_t	len;
	char		traps[512] = "";
	int		known;

	gmtime_r(&t, &tm);
	snprintf(m->name, sizeof m->name, "%04d-%02d.mbox%s",
	    tm.tm_year + 1900, tm.tm_mon + 1, m->gz ? ".gz" : "");
	m->fd = openat(m->dirfd, m->name, O_WRONLY | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (m->fd == -1 || fstat(m->fd, &sb) == -1)
		return fmt_fail(&m->base, "mbox/%s: %s", m->name,
		    strerror(errno));
	known = m->committed.get != NULL ? m->committed.get(
	    m->committed.arg, m->name, &len, traps, sizeof traps) : 0;
	if (known == -1)
		return fmt_fail(&m->base, "index: cannot read volume");
	if (!known)
		len = 0;
	if ((uint64_t)sb.st_size != len)
		return fmt_fail(&m->base, "mbox/%s is %lld bytes but %" PRIu64
		    " are committed", m->name, (long long)sb.st_size, len);
	m->created = sb.st_size == 0;
	m->start = (uint64_t)sb.st_size;
	traps_parse(m, traps);
	if (!m->gz)
		m->ubase = 0;
	if (lseek(m->fd, (off_t)m->start, SEEK_SET) == -1)
		return fmt_fail(&m->base, "mbox/%s: %s", m->name,
		    strerror(errno));
	m->uoff = m->gz ? 0 : m->start;
	if (m->gz) {
		memset(&m->zs, 0, sizeof m->zs);
		if (deflateInit2(&m->zs, MB_GZLEVEL, Z_DEFLATED, 15 + 16, 8,
		    Z_DEFAULT_STRATEGY) != Z_OK)
			return fmt_fail(&m->base, "zlib: deflateInit2 failed");
		m->zopen = 1;
		m->zstrat = Z_DEFAULT_STRATEGY;
		mb_zstart(m);
	}
	return 0;
}

/*
 * The deflate strategy for a chunk of output. Most of the bytes of a
 * mailbox are attachments: base64 of data that is already compressed
 * (JPEG, PDF, ZIP, DOCX). Level 1's string matching finds almost nothing
 * there and costs most of the time; Huffman coding alone captures the
 * 6-bit alphabet as well and is about three times faster
 * (docs/formats.md). A chunk whose bytes are mostly in base64 lines
 * gets Z_HUFFMAN_ONLY; text keeps level 1's matching.
 */
static unsigned char	b64[256];

/* Filled by mb_open(), before any deflate thread reads it. */
static void
mb_b64_init(void)
{
	size_t	i;

	for (i = 0; i < 256; i++)
		b64[i] = (i >= 'A' && i <= 'Z') || (i >= 'a' && i <= 'z') ||
		    (i >= '0' && i <= '9') || i == '+' || i == '/' || i == '=';
}

static int
mb_chunk_strategy(const unsigned char *p, size_t n)
{
	size_t	i, line = 0, inb64 = 0;
	int	ok = 1;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n') {
			if (ok && line >= 40)
				inb64 += line + 1;
			line = 0;
			ok = 1;
			continue;
		}
		line++;
		ok &= b64[p[i]];
	}
	return inb64 * 4 >= n * 3 ? Z_HUFFMAN_ONLY : Z_DEFAULT_STRATEGY;
}

/*
 * The gzip side works in errno values, not fmt_fail(), because it runs
 * on the deflate thread: 0, the errno of a failed write, or MB_EZLIB.
 */
#define MB_EZLIB	(-1)

/* Write out what deflate produced into zbuf. */
static int
mb_zwrite(struct mbox *m)
{
	return write_all(m->fd, m->zbuf, MB_OBUF - m->zs.avail_out) == -1 ?
	    (errno ? errno : EIO) : 0;
}

/* Switch the strategy between chunks; deflate ends the block first. */
static int
mb_zstrategy(struct mbox *m, int strat)
{
	int	zr, e;

	if (strat == m->zstrat)
		return 0;
	m->zs.avail_in = 0;
	do {
		m->zs.next_out = m->zbuf;
		m->zs.avail_out = MB_OBUF;
		zr = deflateParams(&m->zs, MB_GZLEVEL, strat);
		if (zr != Z_OK && zr != Z_BUF_ERROR)
			return MB_EZLIB;
		if ((e = mb_zwrite(m)) != 0)
			return e;
	} while (zr == Z_BUF_ERROR && m->zs.avail_out == 0);
	if (zr == Z_OK)
		m->zstrat = strat;
	return 0;
}

/* Compress one chunk into the file; `finish` ends the gzip member. */
static int
mb_zchunk(struct mbox *m, const unsigned char *p, size_t n, int finish)
{
	int	zr, e;

	if (n > 0 && (e = mb_zstrategy(m, mb_chunk_strategy(p, n))) != 0)
		return e;
	m->zs.next_in = (unsigned char *)(uintptr_t)p;
	m->zs.avail_in = (uInt)n;
	do {
		m->zs.next_out = m->zbuf;
		m->zs.avail_out = MB_OBUF;
		zr = deflate(&m->zs, finish ? Z_FINISH : Z_NO_FLUSH);
		if (zr == Z_STREAM_ERROR)
			return MB_EZLIB;
		if ((e = mb_zwrite(m)) != 0)
			return e;
	} while (m->zs.avail_out == 0 || (finish && zr != Z_STREAM_END));
	return 0;
}

/*
 * The deflate thread: one per gzip member, started when the batch's file
 * is opened, joined at sync. The writer fills one buffer while the
 * thread compresses and writes the other, so deflate (the slowest step
 * of mbox.gz) runs beside TLS, parsing and hashing. Everything it writes
 * is past the committed length until sync, as before.
 */
static void *
mb_zmain(void *arg)
{
	struct mbox	*m = arg;
	int		 fin, e;

	pthread_mutex_lock(&m->zmu);
	for (;;) {
		while (!m->zbusy && !m->zquit)
			pthread_cond_wait(&m->zcv, &m->zmu);
		if (!m->zbusy)
			break;
		fin = m->zfinish;
		e = m->zerr;
		pthread_mutex_unlock(&m->zmu);
		if (e == 0)
			e = mb_zchunk(m, m->zin, m->zinlen, fin);
		pthread_mutex_lock(&m->zmu);
		m->zerr = e;
		m->zbusy = 0;
		pthread_cond_broadcast(&m->zcv);
		if (fin)
			break;
	}
	pthread_mutex_unlock(&m->zmu);
	return NULL;
}

static void
mb_zstart(struct mbox *m)
{
	sigset_t	all, old;

	m->zbusy = m->zfinish = m->zquit = m->zerr = 0;
	/* Signals are for the main thread (its poll deadlines). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	m->zthr_on = pthread_create(&m->zthr, NULL, mb_zmain, m) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Wait for the thread to finish its chunk (and stop, with quit). */
static int
mb_zwait(struct mbox *m, int quit)
{
	int	e;

	pthread_mutex_lock(&m->zmu);
	if (quit) {
		m->zquit = 1;
		pthread_cond_broadcast(&m->zcv);
	}
	while (m->zbusy)
		pthread_cond_wait(&m->zcv, &m->zmu);
	e = m->zerr;
	pthread_mutex_unlock(&m->zmu);
	return e;
}

static int
mb_zfail(struct mbox *m, int e)
{
	if (e == MB_EZLIB)
		return fmt_fail(&m->base, "zlib: deflate failed");
	return fmt_fail(&m->base, "writing mbox/%s: %s", m->name,
	    strerror(e));
}

/* Push pending output to the file (through deflate for gzip). */
static int
mb_flush(struct mbox *m, int finish)
{
	unsigned char	*t;
	int		 e;

	if (!m->gz) {
		if (m->olen > 0 && write_all(m->fd, m->obuf, m->olen) == -1)
			return fmt_fail(&m->base, "writing mbox/%s: %s",
			    m->name, strerror(errno));
		m->olen = 0;
		return 0;
	}
	if (!m->zthr_on) {
		if ((e = mb_zchunk(m, m->obuf, m->olen, finish)) != 0)
			return mb_zfail(m, e);
		m->olen = 0;
		return 0;
	}
	/* Hand this buffer over and take the one the thread is done with. */
	if ((e = mb_zwait(m, 0)) != 0)
		return mb_zfail(m, e);
	pthread_mutex_lock(&m->zmu);
	t = m->zin;
	m->zin = m->obuf;
	m->obuf = t;
	m->zinlen = m->olen;
	m->zfinish = finish;
	m->zbusy = 1;
	pthread_cond_broadcast(&m->zcv);
	pthread_mutex_unlock(&m->zmu);
	m->olen = 0;
	if (!finish)
		return 0;
	e = mb_zwait(m, 0);
	pthread_join(m->zthr, NULL);
	m->zthr_on = 0;
	return e != 0 ? mb_zfail(m, e) : 0;
}

static int
mb_out(struct mbox *m, const void *p, size_t n)
{
	const char	*s = p;
	size_t		 k;

	while (n > 0) {
		k = MB_OBUF - m->olen;
		if (k > n)
			k = n;
		memcpy(m->obuf + m->olen, s, k);
		m->olen += k;
		m->uoff += k;
		s += k;
		n -= k;
		if (m->olen == MB_OBUF && mb_flush(m, 0) == -1)
			return -1;
	}
	return 0;
}

static int
mb_is_trap(struct mbox *m, uint64_t abs)
{
	size_t	i;

	for (i = 0; i < m->ntraps; i++)
		if (m->traps[i] == abs)
			return 1;
	return 0;
}

/* The sender of the From_ line: no spaces or control characters. */
static void
mb_sender(const struct fmt_msginfo *mi, char *out, size_t len)
{
	const char	*s = mi->sender;
	size_t		 n = mi->sender_len, i, o = 0;
	const char	*lt, *gt;

	if (s != NULL && (lt = memchr(s, '<', n)) != NULL &&
	    (gt = memchr(lt, '>', n - (size_t)(lt - s))) != NULL) {
		s = lt + 1;
		n = (size_t)(gt - lt) - 1;
	}
	while (s != NULL && n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (s != NULL && n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == '\r'))
		n--;
	if (s == NULL || n == 0) {
		snprintf(out, len, "MAILER-DAEMON");
		return;
	}
	for (i = 0; i < n && o + 1 < len && o < 254; i++) {
		unsigned char	c = (unsigned char)s[i];

		out[o++] = (c <= 0x20 || c == 0x7f) ? '-' : (char)c;
	}
	out[o] = '\0';
}

static int
mb_begin(struct fmt *f, const struct fmt_msginfo *mi)
{
	struct mbox	*m = (struct mbox *)f;
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed",
	    "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm	 tm;
	time_t		 t = (time_t)mi->when;
	char		 line[400], sender[256];
	int		 n;

	if (m->fd == -1 && mb_open_file(m, mi->when) == -1)
		return -1;
	/* A separator on a Content-Length trap: shift it by one line. */
	if (mb_is_trap(m, m->ubase + m->uoff) && mb_out(m, "\n", 1) == -1)
		return -1;
	gmtime_r(&t, &tm);
	mb_sender(mi, sender, sizeof sender);
	/* asctime form, day space-padded (RFC 4155, mbox(5)). */
	n = snprintf(line, sizeof line, "From %s %s %s %2d %02d:%02d:%02d "
	    "%d\n", sender, days[tm.tm_wday % 7], months[tm.tm_mon % 12],
	    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
	if (n < 0 || (size_t)n >= sizeof line)
		return fmt_fail(f, "mbox: From_ line too long");
	m->msg_off = m->uoff;
	if (mb_out(m, line, (size_t)n) == -1)
		return -1;
	m->q = Q_BOL;
	m->qk = 0;
	m->last = -1;
	m->in_hdr = 1;
	m->clen = mi->content_length;
	m->cur_trap = 0;
	return 0;
}

/*
 * mboxrd: a line matching ^>*From  gets one more '>'. The '>' is put
 * just before "From ", which gives the same bytes as putting it first,
 * so nothing but the constant "From " prefix is ever held back: m->qk
 * counts how much of it has been matched and not yet written.
 */
static int
mb_write(struct fmt *f, const void *p, size_t n)
{
	struct mbox		*m = (struct mbox *)f;
	static const char	 from[] = "From ";
	const unsigned char	*s = p, *run = p, *nl;
	size_t			 i = 0;

	while (i < n) {
		unsigned char	c = s[i];

		switch (m->q) {
		case Q_MID:
			nl = memchr(s + i, '\n', n - i);
			if (nl == NULL) {
				i = n;
				continue;
			}
			i = (size_t)(nl - s) + 1;
			m->q = Q_BOL;
			continue;
		case Q_BOL:
			if (c == '\n' && m->in_hdr) {
				/* The empty line ending the header: mutt's
				 * Content-Length counts from after it. */
				m->in_hdr = 0;
				if (m->clen > 0 && m->ntraps == MB_NTRAPS)
					log_warnx("mbox: too many forged "
					    "Content-Length headers to defuse; "
					    "mutt may misread mbox/%s", m->name);
				else if (m->clen > 0) {
					m->traps[m->ntraps++] = m->ubase +
					    m->uoff + (uint64_t)(s + i - run) +
					    1 + (uint64_t)m->clen + 1;
					m->cur_trap = m->ntraps;
				}
			}
			/* FALLTHROUGH */
		case Q_GT:
			if (c == '>') {
				m->q = Q_GT;
				i++;
			} else if (c == 'F') {
				if (mb_out(m, run, (size_t)(s + i - run)) == -1)
					return -1;
				m->q = Q_MATCH;
				m->qk = 1;
				run = s + ++i;
			} else {
				m->q = c == '\n' ? Q_BOL : Q_MID;
				i++;
			}
			continue;
		case Q_MATCH:
			if (c == (unsigned char)from[m->qk]) {
				run = s + ++i;
				if (++m->qk == 5) {
					if (mb_out(m, ">From ", 6) == -1)
						return -1;
					m->qk = 0;
					m->q = Q_MID;
				}
				continue;
			}
			/* No match: write the held prefix, re-examine c. */
			if (mb_out(m, from, (size_t)m->qk) == -1)
				return -1;
			m->qk = 0;
			m->q = Q_MID;
			continue;
		}
	}
	if (n > 0)
		m->last = s[n - 1];
	return mb_out(m, run, (size_t)(s + n - run));
}

static int
mb_end(struct fmt *f, char *loc, size_t loclen)
{
	struct mbox	*m = (struct mbox *)f;
	int		 added = 0;
	size_t		 i, k;
	uint64_t	 here;

	/* A prefix of "From " still held at the very end is just text. */
	if (m->q == Q_MATCH && mb_out(m, "From ", (size_t)m->qk) == -1)
		return -1;
	m->qk = 0;
	if (m->last != -1 && m->last != '\n') {
		if (mb_out(m, "\n", 1) == -1)
			return -1;
		added = 1;
	}
	if (mb_out(m, "\n", 1) == -1)
		return -1;
	/*
	 * Traps behind us are harmless now; so is this message's own trap
	 * if it points at the very next separator (an honest length). A
	 * trap of an earlier message at the next separator stays: begin()
	 * pads before writing a separator there.
	 */
	here = m->ubase + m->uoff;
	for (i = 0, k = 0; i < m->ntraps; i++)
		if (m->traps[i] > here || (m->traps[i] == here &&
		    i + 1 != m->cur_trap))
			m->traps[k++] = m->traps[i];
	m->ntraps = k;
	m->cur_trap = 0;
	if (m->gz)
		return xsnprintf(loc, loclen, "%s:%" PRIu64 ":%" PRIu64 ":%"
		    PRIu64 ":%s", m->name, m->start, m->msg_off,
		    m->uoff - m->msg_off, added ? "n" : "-") == -1 ?
		    fmt_fail(f, "mbox: location too long") : 0;
	return xsnprintf(loc, loclen, "%s:0:%" PRIu64 ":%" PRIu64 ":%s",
	    m->name, m->msg_off, m->uoff - m->msg_off, added ? "n" : "-") ==
	    -1 ? fmt_fail(f, "mbox: location too long") : 0;
}

static int
mb_discard(struct fmt *f)
{
	/*
	 * Messages reach this format whole (FMT_F_NEEDS_SIZE), so a
	 * duplicate is dropped before begin(). After a failure mid-message
	 * the bytes written are past the committed length, and the next
	 * recovery moves them aside.
	 */
	(void)f;
	return 0;
}

static void
mb_close_file(struct mbox *m)
{
	if (m->zthr_on) {
		/* A failed batch: whatever the thread writes is uncommitted. */
		(void)mb_zwait(m, 1);
		pthread_join(m->zthr, NULL);
		m->zthr_on = 0;
	}
	if (m->zopen) {
		deflateEnd(&m->zs);
		m->zopen = 0;
	}
	if (m->fd != -1)
		close(m->fd);
	m->fd = -1;
	m->olen = 0;
}

static int
mb_sync(struct fmt *f)
{
	struct mbox	*m = (struct mbox *)f;
	struct stat	 sb;

	m->have_vol = 0;
	if (m->fd == -1)
		return 0;
	/*
	 * mutt also trusts a Content-Length that ends exactly at the end of
	 * the file: never let the file end on a trap.
	 */
	if (mb_is_trap(m, m->ubase + m->uoff) && mb_out(m, "\n", 1) == -1)
		goto fail;
	if (mb_flush(m, 1) == -1)
		goto fail;
	crash_point("mbox-written");
	if (fsync(m->fd) == -1) {
		fmt_fail(f, "fsync mbox/%s: %s", m->name, strerror(errno));
		goto fail;
	}
	if (m->created && fsync(m->dirfd) == -1) {
		fmt_fail(f, "fsync mbox/: %s", strerror(errno));
		goto fail;
	}
	if (fstat(m->fd, &sb) == -1) {
		fmt_fail(f, "mbox/%s: %s", m->name, strerror(errno));
		goto fail;
	}
	snprintf(m->vol.name, sizeof m->vol.name, "%s", m->name);
	m->vol.length = (uint64_t)sb.st_size;
	traps_format(m, m->gz ? m->ubase + m->uoff : m->uoff, m->vol.priv,
	    sizeof m->vol.priv);
	m->have_vol = 1;
	mb_close_file(m);
	return 0;
fail:
	mb_close_file(m);
	return -1;
}

static size_t
mb_synced(struct fmt *f, const struct fmt_vol **v)
{
	struct mbox	*m = (struct mbox *)f;

	*v = &m->vol;
	return m->have_vol ? 1 : 0;
}

static int
mb_read(struct fmt *f, const char *loc,
    int (*cb)(void *, const void *, size_t), void *arg)
{
	struct mbox	*m = (struct mbox *)f;

	return mbox_read_cached(&m->rcache, m->dirfd, loc, cb, arg, f);
}

static int
mb_verify(struct fmt *f, struct fmt_vitem *it, size_t n)
{
	struct mbox	*m = (struct mbox *)f;

	return mbox_verify(m->dirfd, it, n);
}

static enum fmt_check
mb_check(struct fmt *f, const char *loc, const unsigned char sha[HASH_LEN])
{
	/*
	 * Pending rows of an mbox batch point past the committed length,
	 * which recovery has just cut away: such a message is absent, and
	 * is fetched again.
	 */
	(void)f;
	(void)loc;
	(void)sha;
	return FMT_ABSENT;
}

static int
mb_scan(struct fmt *f, const struct fmt_scan *s)
{
	struct mbox	*m = (struct mbox *)f;

	return mbox_scan(m->dirfd, s, f);
}

static void
mb_close(struct fmt *f)
{
	struct mbox	*m = (struct mbox *)f;

	if (m == NULL)
		return;
	mb_close_file(m);
	mbox_rcache_free(m->rcache);
	close(m->dirfd);
	free(m->obuf);
	free(m->zbuf);
	if (m->gz) {
		free(m->zin);
		pthread_mutex_destroy(&m->zmu);
		pthread_cond_destroy(&m->zcv);
	}
	free(m);
}

const struct fmt_ops fmt_mbox_ops = {
	.name = "mbox",
	.flags = FMT_F_NEEDS_SIZE,
	.comps = FMT_COMP_BIT(FMT_COMP_NONE) | FMT_COMP_BIT(FMT_COMP_GZIP),
	.open = mb_open,
	.recover = mb_recover,
	.check = mb_check,
	.begin = mb_begin,
	.write = mb_write,
	.end = mb_end,
	.discard = mb_discard,
	.sync = mb_sync,
	.synced = mb_synced,
	.read = mb_read,
	.verify = mb_verify,
	.close = mb_close,
	.scan = mb_scan,
};
