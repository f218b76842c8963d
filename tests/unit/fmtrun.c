/*
 * fmtrun.c -- a format run through the pipeline's protocol, in a test
 * (fmtrun.h): the messages, the index modelled by a store, a batch and
 * a recovery as core/batch.c and core/run.c do them, and the steps.
 *
 * The steps: every call that changes the file tree (rename*, link*,
 * unlink*, rmdir, ftruncate, and mkdir* of a folder not there yet) is
 * one, whoever makes it, and so is each stage of the protocol here
 * (written, intent recorded, synced; recovered).
 * This file defines those functions itself, replacing the C library's
 * for the formats linked with it, and makes the system call. In a
 * child process told to crash at step N, the N-th never happens: the
 * process ends there with _exit(), as a kill -9 would end it. So the
 * process is killed between every two changes of the tree, and a format
 * needs no crash points of its own to be covered (write() is no step:
 * bytes written and not committed are what the stages leave anyway, and
 * recovery treats a part the same). fsync is no step: a killed process
 * loses nothing the kernel holds, so the states before and after one
 * are the same (power cuts, which lose what was not fsynced, are
 * tests/integration/test_durable.sh's); it is not even called, nor
 * sync_file_range, which would only make the test slow.
 *
 * The store lives in shared memory, so what a child recorded before it
 * was killed is there for the parent; the protocol changes it between
 * two steps, never during one, as one transaction would.
 */
#define _GNU_SOURCE		/* renameat2, sync_file_range */

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fmtrun.h"
#include "format.h"
#include "t.h"

/* ---- steps ------------------------------------------------------------- */

static long	steps, crash_at;	/* crash_at 0: never */

static void
step(void)
{
	if (++steps == crash_at)
		_exit(FR_CRASHED);
}

/* Not steps, and not called (see the top): a bad fd still fails. */
int
fsync(int fd)
{
	return fcntl(fd, F_GETFD) == -1 ? -1 : 0;
}

int
fdatasync(int fd)
{
	return fsync(fd);
}

int
sync_file_range(int fd, off64_t off, off64_t n, unsigned int flags)
{
	(void)off;
	(void)n;
	(void)flags;
	return fcntl(fd, F_GETFD) == -1 ? -1 : 0;
}

int
ftruncate(int fd, off_t len)
{
	step();
	return (int)syscall(SYS_ftruncate, fd, len);
}

int
renameat2(int ofd, const char *o, int nfd, const char *n, unsigned flags)
{
	step();
	return (int)syscall(SYS_renameat2, ofd, o, nfd, n, flags);
}

int
renameat(int ofd, const char *o, int nfd, const char *n)
{
	return renameat2(ofd, o, nfd, n, 0);
}

int
rename(const char *o, const char *n)
{
	return renameat2(AT_FDCWD, o, AT_FDCWD, n, 0);
}

int
linkat(int ofd, const char *o, int nfd, const char *n, int flags)
{
	step();
	return (int)syscall(SYS_linkat, ofd, o, nfd, n, flags);
}

int
link(const char *o, const char *n)
{
	return linkat(AT_FDCWD, o, AT_FDCWD, n, 0);
}

int
unlinkat(int dfd, const char *p, int flags)
{
	step();
	return (int)syscall(SYS_unlinkat, dfd, p, flags);
}

int
unlink(const char *p)
{
	return unlinkat(AT_FDCWD, p, 0);
}

int
rmdir(const char *p)
{
	return unlinkat(AT_FDCWD, p, AT_REMOVEDIR);
}

int
mkdirat(int dfd, const char *p, mode_t mode)
{
	struct stat	sb;

	/* One that will fail with EEXIST changes nothing. */
	if (fstatat(dfd, p, &sb, AT_SYMLINK_NOFOLLOW) == -1)
		step();
	return (int)syscall(SYS_mkdirat, dfd, p, mode);
}

int
mkdir(const char *p, mode_t mode)
{
	return mkdirat(AT_FDCWD, p, mode);
}

/* ---- messages ---------------------------------------------------------- */

struct fr_msg	fr_msgs[FR_NMSG];

struct tbuf {
	unsigned char	*p;
	size_t		 len, cap;
};

static void
tb_add(struct tbuf *b, const void *p, size_t n)
{
	unsigned char	*np;

	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		if ((np = realloc(b->p, b->cap)) == NULL) {
			perror("realloc");
			exit(2);
		}
		b->p = np;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
tb_str(struct tbuf *b, const char *s)
{
	tb_add(b, s, strlen(s));
}

/* Lines of text up to about n bytes, every 7th starting "From ". */
static void
tb_lines(struct tbuf *b, size_t n)
{
	char	line[80];
	size_t	i;

	for (i = 0; b->len < n; i++) {
		snprintf(line, sizeof line, "%sline %06zu of a long message, "
		    "with some text to fill it up\n", i % 7 == 3 ? "From " :
		    i % 11 == 5 ? ">From " : "", i);
		tb_str(b, line);
	}
}

static void
msg_set(int k, struct tbuf *b, int64_t clen, const char *sender)
{
	fr_msgs[k].p = b->p != NULL ? b->p : t_malloc(1);
	fr_msgs[k].len = b->len;
	fr_msgs[k].clen = clen;
	fr_msgs[k].sender = sender;
	if (EVP_Digest(fr_msgs[k].p, fr_msgs[k].len, fr_msgs[k].sha, NULL,
	    EVP_sha256(), NULL) != 1) {
		fprintf(stderr, "EVP_Digest failed\n");
		exit(2);
	}
}

static void
fr_messages(void)
{
	struct tbuf	b;
	int		i;

	memset(&b, 0, sizeof b);
	tb_str(&b, "Return-Path: <ann@example.org>\nFrom: ann@example.org\n"
	    "Subject: plain\n\nHello.\n");
	msg_set(M_PLAIN, &b, -1, "ann@example.org");

	memset(&b, 0, sizeof b);
	msg_set(M_EMPTY, &b, -1, NULL);

	memset(&b, 0, sizeof b);
	tb_str(&b, "Subject: from lines\n\nFrom here\n>From there\n"
	    ">>From further\nFrom \n\nFrom the last line, no newline");
	msg_set(M_FROM, &b, -1, NULL);

	memset(&b, 0, sizeof b);
	tb_str(&b, "Subject: every byte\r\n\r\n");
	for (i = 0; i < 256; i++) {
		unsigned char	c = (unsigned char)i;

		tb_add(&b, &c, 1);
	}
	tb_str(&b, "\r\n");
	msg_set(M_BINARY, &b, -1, NULL);

	/* The length points past the message's end: an mbox "trap". */
	memset(&b, 0, sizeof b);
	tb_str(&b, "Return-Path: <bob@example.org>\nContent-Length: 60\n"
	    "Subject: forged length\n\nshort\n");
	msg_set(M_CLEN, &b, 60, "bob@example.org");

	memset(&b, 0, sizeof b);
	tb_str(&b, "Subject: no newline\n\nno newline at the end");
	msg_set(M_NONL, &b, -1, NULL);

	memset(&b, 0, sizeof b);
	tb_str(&b, "Subject: big\n\n");
	tb_lines(&b, 70 * 1024);
	msg_set(M_BIG, &b, -1, NULL);

	memset(&b, 0, sizeof b);
	tb_str(&b, "Return-Path: <>\nFrom: ann@example.org\n"
	    "Subject: plain, again\n\nHello again.\n");
	msg_set(M_PLAIN2, &b, -1, "");

	memset(&b, 0, sizeof b);
	tb_str(&b, "\n");
	msg_set(M_NEWLINE, &b, -1, NULL);

	memset(&b, 0, sizeof b);
	tb_str(&b, "From nobody Thu Jan  1 00:00:00 1970\nSubject: "
	    "starts with From\n\nFrom\nFrom  \n");
	msg_set(M_FROM2, &b, -1, NULL);

	memset(&b, 0, sizeof b);
	tb_str(&b, "Subject: huge\n\n");
	tb_lines(&b, 300 * 1024);
	msg_set(M_HUGE, &b, -1, NULL);

	memset(&b, 0, sizeof b);
	tb_str(&b, "Subject: crlf\r\n\r\nFrom a line\r\n.\r\n..\r\nend");
	msg_set(M_CRLF, &b, -1, NULL);

	/*
	 * In an mbox batch written on DAY1 (From_ lines of 44 bytes), the
	 * Content-Length of A, then B, put A's trap exactly where the
	 * separator after B would go: the writer pads one line there.
	 * A's body starts 66 bytes after its From_ line, and the trap is
	 * body start + length + 1; B ends 44 + 27 + 1 + 44 + len(B) + 1
	 * bytes after A's From_ line: the length is len(B) + 50.
	 */
	memset(&b, 0, sizeof b);
	i = (int)strlen("Subject: lands on a trap, the message before it\n\n");
	{
		char	a[64];

		snprintf(a, sizeof a, "Content-Length: %04d\n\ntrap\n",
		    i + 50);
		tb_str(&b, a);
	}
	msg_set(M_TRAPA, &b, i + 50, NULL);
	memset(&b, 0, sizeof b);
	tb_str(&b, "Subject: lands on a trap, the message before it\n\n");
	msg_set(M_TRAPB, &b, -1, NULL);
}

/* ---- the index: a store in shared memory ------------------------------- */

struct fr_store	*fr_st;

static int
store_get(void *arg, const char *name, uint64_t *len, char *priv,
    size_t privlen)
{
	size_t	i;

	(void)arg;
	for (i = 0; i < fr_st->nvol; i++)
		if (strcmp(fr_st->vol[i].name, name) == 0) {
			*len = fr_st->vol[i].length;
			snprintf(priv, privlen, "%s", fr_st->vol[i].priv);
			return 1;
		}
	return 0;
}

static const struct fmt_committed committed = { store_get, NULL };

static void
store_set_vol(const struct fmt_vol *v)
{
	size_t	i;

	for (i = 0; i < fr_st->nvol; i++)
		if (strcmp(fr_st->vol[i].name, v->name) == 0)
			break;
	if (i == FR_NVOL) {
		fprintf(stderr, "store: too many volumes\n");
		_exit(2);
	}
	fr_st->vol[i] = *v;
	if (i == fr_st->nvol)
		fr_st->nvol++;
}

/* ---- one format, one compression --------------------------------------- */

/* Say why on stderr (for fr_fail and fr_bad). */
static void	say(const char *, va_list)
		    __attribute__((format(printf, 1, 0)));

static void
say(const char *fmt, va_list ap)
{
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int
fr_fail(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
	return -1;
}

int
fr_bad(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
	return 0;
}

struct fmt *
fr_open(const struct fr_case *tc)
{
	struct fmt_args	 a;
	struct fmt	*f;
	char		 err[512] = "";

	a.dir = tc->acct;
	a.compress = tc->comp;
	if ((f = tc->ops->open(&a, err, sizeof err)) == NULL)
		fr_fail("%s: open: %s", tc->name, err);
	return f;
}

/* Write message k as core/batch.c hands it over: chunks of odd sizes. */
int
fr_put(const struct fr_case *tc, struct fmt *f, int k, int64_t when, char *loc)
{
	static const size_t	 chunks[] = { 1, 2, 3, 7, 100, 4096, 65537 };
	const struct fr_msg	*m = &fr_msgs[k];
	struct fmt_msginfo	 mi;
	size_t			 off = 0, n, c = 0;

	memset(&mi, 0, sizeof mi);
	mi.size = m->len;
	mi.when = when;
	mi.content_length = -1;
	if (tc->ops->flags & FMT_F_NEEDS_SIZE) {
		mi.sender = m->sender;
		mi.sender_len = m->sender != NULL ? strlen(m->sender) : 0;
		mi.content_length = m->clen;
		mi.sha256 = m->sha;
	}
	if (f->ops->begin(f, &mi) == -1)
		return fr_fail("%s: begin: %s", tc->name, fmt_error(f));
	while (off < m->len) {
		n = chunks[c++ % NELEM(chunks)];
		if (n > m->len - off)
			n = m->len - off;
		if (f->ops->write(f, m->p + off, n) == -1)
			return fr_fail("%s: write: %s", tc->name,
			    fmt_error(f));
		off += n;
	}
	if (f->ops->end(f, loc, FR_LOCMAX) == -1)
		return fr_fail("%s: end: %s", tc->name, fmt_error(f));
	return 0;
}

int
fr_batch(const struct fr_case *tc, struct fmt *f, const int *ids, size_t n,
    int64_t when, int bno)
{
	const struct fmt_vol	*v;
	size_t			 i, nv, first = fr_st->nrow;
	struct fr_row		*r;

	if (fr_st->nrow + n > FR_NROW)
		return fr_fail("store: too many rows");
	for (i = 0; i < n; i++) {
		r = &fr_st->row[fr_st->nrow];
		memset(r, 0, sizeof *r);
		r->state = R_PENDING;
		r->msg = ids[i];
		r->batch = bno;
		fr_st->nrow++;
		if (fr_put(tc, f, ids[i], when, r->wrote) == -1)
			return -1;
	}
	step();
	for (i = first; i < fr_st->nrow; i++)
		memcpy(fr_st->row[i].loc, fr_st->row[i].wrote, FR_LOCMAX);
	step();
	if (f->ops->sync(f) == -1)
		return fr_fail("%s: sync: %s", tc->name, fmt_error(f));
	step();
	nv = f->ops->synced(f, &v);
	for (i = 0; i < nv; i++)
		store_set_vol(&v[i]);
	for (i = first; i < fr_st->nrow; i++)
		fr_st->row[i].state = R_ARCHIVED;
	return 0;
}

int
fr_recover(const struct fr_case *tc, struct fmt *f, int mark)
{
	enum fr_state	 now[FR_NROW];
	size_t		 i;

	if (f->ops->recover(f, &committed) == -1)
		return fr_fail("%s: recover: %s", tc->name, fmt_error(f));
	if (mark)
		step();
	for (i = 0; i < fr_st->nrow; i++) {
		now[i] = fr_st->row[i].state;
		if (now[i] != R_PENDING)
			continue;
		if (fr_st->row[i].loc[0] == '\0') {
			now[i] = R_DROPPED;
			continue;
		}
		switch (f->ops->check(f, fr_st->row[i].loc,
		    fr_msgs[fr_st->row[i].msg].sha)) {
		case FMT_PRESENT:
			now[i] = R_ARCHIVED;
			break;
		case FMT_ABSENT:
		case FMT_QUARANTINED:
			now[i] = R_DROPPED;
			break;
		default:
			return fr_fail("%s: check %s: %s", tc->name,
			    fr_st->row[i].loc, fmt_error(f));
		}
	}
	for (i = 0; i < fr_st->nrow; i++)
		fr_st->row[i].state = now[i];
	return 0;
}

static int
read_cb(void *arg, const void *p, size_t n)
{
	tb_add(arg, p, n);
	return 0;
}

/* The bytes at loc are exactly message k's. */
int
fr_reads_back(const struct fr_case *tc, struct fmt *f, const char *loc, int k)
{
	struct tbuf	b;
	int		ok;

	memset(&b, 0, sizeof b);
	if (f->ops->read(f, loc, read_cb, &b) == -1) {
		fprintf(stderr, "%s: read %s: %s\n", tc->name, loc,
		    fmt_error(f));
		free(b.p);
		return 0;
	}
	ok = b.len == fr_msgs[k].len && (b.len == 0 ||
	    memcmp(b.p, fr_msgs[k].p, b.len) == 0);
	if (!ok)
		fprintf(stderr, "%s: %s: %zu bytes read back, %zu written, "
		    "or other bytes\n", tc->name, loc, b.len, fr_msgs[k].len);
	free(b.p);
	return ok;
}

/* Nothing reads back at loc. */
int
fr_reads_nothing(struct fmt *f, const char *loc)
{
	struct tbuf	b;
	int		r;

	memset(&b, 0, sizeof b);
	r = f->ops->read(f, loc, read_cb, &b);
	free(b.p);
	return r == -1;
}

/*
 * verify() of every archived row: all ok. With wrong >= 0, that row is
 * given another message's hash, and must be the one altered.
 */
int
fr_verify_all(const struct fr_case *tc, struct fmt *f, int wrong)
{
	struct fmt_vitem	it[FR_NROW];
	size_t			i, n = 0;
	int			ok = 1, want;

	for (i = 0; i < fr_st->nrow; i++) {
		if (fr_st->row[i].state != R_ARCHIVED)
			continue;
		it[n].loc = fr_st->row[i].loc;
		memcpy(it[n].sha, fr_msgs[fr_st->row[i].msg].sha, HASH_LEN);
		if ((int)i == wrong)
			it[n].sha[0] ^= 0x5a;
		it[n].id = (int64_t)i;
		it[n].result = (enum fmt_vresult)0x5a5a;
		n++;
	}
	if (f->ops->verify(f, it, n) == -1) {
		fprintf(stderr, "%s: verify: %s\n", tc->name, fmt_error(f));
		return 0;
	}
	for (i = 0; i < n; i++) {
		want = it[i].id == wrong ? FMT_V_ALTERED : FMT_V_OK;
		if ((int)it[i].result != want) {
			fprintf(stderr, "%s: verify %s: %s, want %s\n",
			    tc->name, it[i].loc,
			    fmt_vresult_str(it[i].result),
			    fmt_vresult_str((enum fmt_vresult)want));
			ok = 0;
		}
	}
	return ok;
}

int
fr_setup(struct fr_case *tc)
{
	memset(fr_st, 0, sizeof *fr_st);
	if (t_tmpdir(tc->tdir, sizeof tc->tdir, "fmt") == -1)
		return -1;
	snprintf(tc->acct, sizeof tc->acct, "%s/acct", tc->tdir);
	if (mkdir(tc->acct, 0700) == -1) {
		perror(tc->acct);
		return -1;
	}
	return 0;
}

int
fr_in_child(const struct fr_case *tc, int (*fn)(const struct fr_case *), long n)
{
	pid_t	pid;
	int	status;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		perror("fork");
		return -1;
	}
	if (pid == 0) {
		steps = 0;
		crash_at = n;
		_exit(fn(tc) == 0 ? 0 : FR_CHILD_FAILED);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			perror("waitpid");
			return -1;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == FR_CRASHED)
		return FR_CRASHED;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	fprintf(stderr, "%s: child status %#x\n", tc->name, status);
	return -1;
}

int
fr_init(void)
{
	if ((fr_st = mmap(NULL, sizeof *fr_st, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED) {
		perror("mmap");
		fr_st = NULL;
		return -1;
	}
	fr_messages();
	return 0;
}

void
fr_fini(void)
{
	size_t	i;

	for (i = 0; i < FR_NMSG; i++)
		free(fr_msgs[i].p);
	if (fr_st != NULL)
		munmap(fr_st, sizeof *fr_st);
	fr_st = NULL;
}
