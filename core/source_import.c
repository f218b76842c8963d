/*
 * source_import.c -- messages in files, as a message source (source.h),
 * for "popvault import": mbox files (mboxrd, mboxo, Content-Length
 * mboxes), Maildirs (new/ and cur/, with their flags), folder trees of
 * .eml files, any of those compressed whole (gzip, bzip2, xz, zstd) or
 * inside an archive libarchive reads (import_ar.c). What a file holds
 * is told by its content, not its name (mboxparse.h, mbox_sniff()).
 *
 * list walks the paths and reads every file once: the separators of
 * each mbox (mboxparse.c), and a SHA-256 of each message's raw bytes
 * for its unique id. retrieve reads the chosen messages again, in
 * listing order, and streams them back to their stored form (From_ line
 * off, unquoted, a CR LF file's line ends made LF). No message is held
 * whole: a list entry
 * is an offset and a length in its file (or in its archive member, read
 * forward), 32 bytes.
 *
 * A message's unique id is "imp-" and 40 hex digits of the SHA-256 of
 * its file's path, its member, its offset and the hash of its raw bytes
 * (of a one-message file: its size, inode and modification time, so
 * that the file is read once): importing the same files again finds
 * every id known and reads nothing more, a file that grew adds only its
 * new messages, and a message whose bytes changed is a new one.
 *
 * What cannot be read is reported per item (the caller's callback) and
 * skipped; nothing else stops: a file that is not mail, a truncated
 * compressed file (the messages before the cut are imported), a symlink
 * inside a tree (never followed: no loops), a file that changed between
 * the listing and the reading (its messages are refused: the next
 * import gets them).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "import_int.h"
#include "mboxparse.h"
#include "util.h"

/* ---- the source operations -------------------------------------------- */

static int
imp_connect(struct source *src)
{
	struct isrc	*s = (struct isrc *)src;

	src->partial = 1;
	if (s->buf == NULL)
		s->buf = xmalloc(IMP_BUF);
	return 0;
}

static int
imp_list(struct source *src, struct pop3_listing *l)
{
	return imp_list_paths((struct isrc *)src, l);
}

static void
reader_close(struct isrc *s)
{
	if (s->r_ar != NULL)
		imp_ar_close(s->r_ar);	/* closes r_fd */
	else if (s->r_fd != -1)
		close(s->r_fd);
	s->r_ar = NULL;
	s->r_fd = -1;
	s->r_item = -1;
}

/*
 * Open the stream of item k, positioned at its start. 0; 1 when the
 * file changed since it was listed (its messages are refused); -1 with
 * why set when it cannot be read.
 */
static int
reader_open(struct isrc *s, uint32_t k, char *why, size_t len)
{
	const struct iitem	*it = &s->it[k];
	struct icont		*c = &s->c[it->cont];
	struct stat		 sb;
	const char		*name;
	int64_t			 size;
	int			 fd, reg, x;

	/* The next member of the archive that is open: read on. */
	if (s->r_ar != NULL && s->r_item >= 0 &&
	    s->it[s->r_item].cont == it->cont && it->member >= s->r_member)
		goto members;
	reader_close(s);
	if (c->bad)
		return 1;
	if ((fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		snprintf(why, len, "%s: cannot open: %s", c->path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1 || sb.st_dev != c->dev ||
	    sb.st_ino != c->ino || sb.st_size != c->size ||
	    sb.st_mtim.tv_sec != c->mtime.tv_sec ||
	    sb.st_mtim.tv_nsec != c->mtime.tv_nsec) {
		close(fd);
		c->bad = 1;
		return 1;
	}
	(void)fcntl(fd, F_SETFL, 0);
	s->r_fd = fd;
	s->r_pos = 0;
	if (!c->ar) {
		s->r_item = k;
		return 0;
	}
	if ((s->r_ar = imp_ar_open(fd, 1, why, len)) == NULL) {
		s->r_fd = -1;
		return -1;
	}
	s->r_member = 0;
members:
	for (;;) {
		x = imp_ar_next(s->r_ar, &name, &reg, &size);
		if (x != 1) {
			snprintf(why, len, "%s: %s", c->path, x == 0 ?
			    "the archive ended early" : imp_ar_error(s->r_ar));
			reader_close(s);
			return -1;
		}
		if (s->r_member++ == it->member)
			break;
	}
	s->r_item = k;
	s->r_pos = 0;
	return 0;
}

static ssize_t
reader_read(struct isrc *s, char *b, size_t n)
{
	ssize_t	k;

	if (s->r_ar != NULL)
		k = imp_ar_read(s->r_ar, b, n);
	else
		do
			k = read(s->r_fd, b, n);
		while (k == -1 && errno == EINTR);
	if (k > 0)
		s->r_pos += (uint64_t)k;
	return k;
}

/* Move the open stream forward to off. 0, or -1. */
static int
reader_skip(struct isrc *s, uint64_t off)
{
	ssize_t	k;
	size_t	want;

	if (s->r_ar == NULL) {
		if (lseek(s->r_fd, (off_t)off, SEEK_SET) == -1)
			return -1;
		s->r_pos = off;
		return 0;
	}
	while (s->r_pos < off) {
		want = off - s->r_pos < IMP_BUF ? (size_t)(off - s->r_pos) :
		    IMP_BUF;
		if ((k = reader_read(s, s->buf, want)) <= 0)
			return -1;
	}
	return 0;
}

/*
 * The filter's output gathered into large pieces for the sink: the
 * filter gives a line at a time, and the run does per call what is
 * worth doing per 64 KiB (hashing setup, the format's write, progress).
 */
#define IMP_OUT		(64 * 1024)

struct sinkout {
	const struct source_sink	*sk;
	char				*buf;
	size_t				 n;
};

static int
out_flush(struct sinkout *so)
{
	size_t	n = so->n;

	so->n = 0;
	return n > 0 ? so->sk->data(so->sk->arg, so->buf, n) : 0;
}

static int
to_sink(void *arg, const char *p, size_t n)
{
	struct sinkout	*so = arg;

	if (so->n + n > IMP_OUT && out_flush(so) == -1)
		return -1;
	if (n >= IMP_OUT)
		return so->sk->data(so->sk->arg, p, n);
	memcpy(so->buf + so->n, p, n);
	so->n += n;
	return 0;
}

static int
imp_retrieve(struct source *src, const struct pop3_listing *l,
    const size_t *which, size_t n, const struct source_sink *sk)
{
	struct isrc		*s = (struct isrc *)src;
	const struct imsg	*m;
	struct mboxunq		 u;
	struct sinkout		 so;
	char			 why[1200];
	uint64_t		 left;
	size_t			 k, want;
	ssize_t			 got;
	int			 x;

	so.sk = sk;
	so.n = 0;
	if (s->obuf == NULL)
		s->obuf = xmalloc(IMP_OUT);
	so.buf = s->obuf;
	for (k = 0; k < n; k++) {
		m = &s->m[which[k]];
		x = 0;
		if (s->r_item != (long)m->item || s->r_pos > m->off)
			x = reader_open(s, m->item, why, sizeof why);
		if (x == 0 && reader_skip(s, m->off) == -1) {
			snprintf(why, sizeof why, "%s: cannot read to byte "
			    "%llu", s->c[s->it[m->item].cont].path,
			    (unsigned long long)m->off);
			x = -1;
		}
		if (x != 0) {
			if (x == 1)
				snprintf(why, sizeof why, "%s changed since it "
				    "was listed: its messages are imported by "
				    "the next run",
				    s->c[s->it[m->item].cont].path);
			reader_close(s);
			if (sk->failed(sk->arg, which[k], why) == -1)
				return source_fail(src, FAIL_RUN, FAIL_R_IO,
				    "message %zu: stopped", which[k]);
			continue;
		}
		if (sk->begin(sk->arg, which[k]) == -1)
			return source_fail(src, FAIL_RUN, FAIL_R_IO,
			    "message %zu: stopped", which[k]);
		mboxunq_init(&u, s->it[m->item].unquote && !m->raw,
		    s->it[m->item].crlf, to_sink, &so);
		for (left = m->len; left > 0; left -= (uint64_t)got) {
			want = left < IMP_BUF ? (size_t)left : IMP_BUF;
			got = reader_read(s, s->buf, want);
			if (got <= 0) {
				/* Cut after begin: this run stops here. */
				const char *e = got < 0 ? (s->r_ar != NULL ?
				    imp_ar_error(s->r_ar) : strerror(errno)) :
				    "the file is shorter than when it was "
				    "listed";

				source_fail(src, FAIL_ACCOUNT, FAIL_R_IO,
				    "%s: %s (it changed while it was read?)",
				    s->c[s->it[m->item].cont].path, e);
				reader_close(s);
				return -1;
			}
			if (mboxunq_feed(&u, s->buf, (size_t)got) == -1)
				return source_fail(src, FAIL_RUN, FAIL_R_IO,
				    "message %zu: stopped", which[k]);
		}
		if (mboxunq_end(&u) == -1 || out_flush(&so) == -1 ||
		    sk->end(sk->arg, which[k]) == -1)
			return source_fail(src, FAIL_RUN, FAIL_R_IO,
			    "message %zu: stopped", which[k]);
	}
	return 0;
}

static size_t
imp_pending(struct source *src)
{
	return 1;	/* files: the next bytes never wait for a server */
}

static int
imp_commit(struct source *src)
{
	reader_close((struct isrc *)src);
	return 0;
}

static void
imp_close(struct source *src)
{
	struct isrc	*s = (struct isrc *)src;
	size_t		 i;

	if (s == NULL)
		return;
	reader_close(s);
	for (i = 0; i < s->nc; i++)
		free(s->c[i].path);
	for (i = 0; i < s->nit; i++) {
		free(s->it[i].name);
		free(s->it[i].flags);
	}
	free(s->c);
	free(s->it);
	free(s->m);
	free(s->buf);
	free(s->obuf);
	free(s);
}

static const struct source_ops import_ops = {
	.name = "import",
	.connect = imp_connect,
	.login = NULL,
	.list = imp_list,
	.retrieve = imp_retrieve,
	.head = NULL,
	.pending = imp_pending,
	.mark_delete = NULL,
	.commit = imp_commit,
	.close = imp_close,
};

struct source *
source_import_new(const struct source_import_args *a)
{
	struct isrc	*s = xcalloc(1, sizeof *s);

	s->src.ops = &import_ops;
	s->src.login_delay = -1;
	s->src.partial = 1;
	s->a = *a;
	if (s->a.max_listing == 0)
		s->a.max_listing = 10000000;
	s->r_item = -1;
	s->r_fd = -1;
	return &s->src;
}

int
source_import_origin(const struct source *src, size_t i, char uid[45],
    const char **path, char *pos, size_t poslen, const char **flags)
{
	const struct isrc	*s = (const struct isrc *)src;
	const struct imsg	*m;
	const struct iitem	*it;

	if (i >= s->nm)
		return -1;
	m = &s->m[i];
	it = &s->it[m->item];
	imp_uid_text(m, uid);
	*path = s->c[it->cont].path;
	*flags = it->flags;
	if (it->name != NULL)
		snprintf(pos, poslen, "%s@%llu", it->name,
		    (unsigned long long)m->sep);
	else
		snprintf(pos, poslen, "%llu", (unsigned long long)m->sep);
	return 0;
}

uint64_t
source_import_unreadable(const struct source *src)
{
	return ((const struct isrc *)src)->unreadable;
}

size_t
source_import_count(const struct source *src)
{
	return ((const struct isrc *)src)->nm;
}
