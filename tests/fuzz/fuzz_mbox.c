/*
 * fuzz_mbox.c -- the mboxrd writer (formats/mbox.c) and reader
 * (formats/mbox_read.c) round trip, through the format interface only.
 *
 * Input: one flags byte, then messages separated by three NULs (so a
 * message can hold one or two NULs in a row, not three):
 *
 *   bit 0      gzip
 *   bit 1      sync after every message (else one batch for all)
 *   bits 2-3   how message bytes reach write(): whole, one by one, or
 *              in two patterns of odd sizes (quoting state across calls)
 *   bits 4-5   months between messages (so batches change files)
 *   bit 6      with bit 1: close and reopen (recover) after each sync
 *   bit 7      the last part (after the last separator; there must be
 *              one) is not a message but location strings, one a line
 *              (arbitrary bytes but LF): see below
 *
 * Each message is given the sender and Content-Length the pipeline
 * would take from its header (core/batch.c), so Content-Length traps
 * and their padding happen. A small table plays the index: it keeps
 * what synced() reports and answers the format's get(). After the last
 * sync every message is read back through read() and must be exactly
 * the bytes written; verify() must find every message intact; nothing
 * may have gone to quarantine/. And since the reader goes by recorded
 * offsets, which would hide a line left unquoted, each file is also
 * read as any mbox reader would (zlib's gzread, plain or gzip): it must
 * have exactly one line starting with "From " per message in it.
 *
 * With bit 7, verify() runs a second time on the same number of items,
 * line k of the last part replacing the location of item k (mod the
 * number of messages), as a corrupted index row would: every item whose
 * location was kept must still be found intact, and every replaced one
 * must get a result of its own (whatever it is: a replacement may name
 * a real message), none left unset. read() of each replacement returns
 * 0 or -1. The same number of items, so that the reader's work array is
 * likely to reuse the first call's memory: a half-parsed location must
 * not pick up what an earlier call left there.
 *
 * The archive lives in one temporary folder per process (under
 * $FUZZ_TMPDIR, else /dev/shm if there is one, else $TMPDIR or /tmp),
 * emptied after every input and removed at exit.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "format.h"
#include "fuzz.h"
#include "hash.h"
#include "hdr.h"

#define MAXMSG		32
#define MAXVOL		64
#define SEP		"\0\0\0"
#define SEPLEN		3
#define LOCMAX		256
#define VUNSET		((enum fmt_vresult)0x5a5a)	/* no result yet */

struct msg {
	const uint8_t	*p;
	size_t		 len;
	char		 loc[LOCMAX];
};

/* The index's view: committed length and traps of each volume. */
static struct fmt_vol	vols[MAXVOL];
static size_t		nvols;

static char	root[512];	/* the per-process folder */
static char	acctdir[600];	/* root/acct */

/* The next separator in p..end, or NULL. */
static const uint8_t *
find_sep(const uint8_t *p, const uint8_t *end)
{
	for (; end - p >= SEPLEN; p++)
		if (memcmp(p, SEP, SEPLEN) == 0)
			return p;
	return NULL;
}

static int
vol_get(void *arg, const char *name, uint64_t *len, char *priv,
    size_t privlen)
{
	size_t	i;

	(void)arg;
	for (i = 0; i < nvols; i++) {
		if (strcmp(vols[i].name, name) != 0)
			continue;
		*len = vols[i].length;
		snprintf(priv, privlen, "%s", vols[i].priv);
		return 1;
	}
	return 0;
}

static void
vol_record(struct fmt *f)
{
	const struct fmt_vol	*v;
	size_t			 n, i, k;

	n = f->ops->synced(f, &v);
	for (k = 0; k < n; k++) {
		for (i = 0; i < nvols; i++)
			if (strcmp(vols[i].name, v[k].name) == 0)
				break;
		FUZZ_CHECK(i < MAXVOL);
		vols[i] = v[k];
		if (i == nvols)
			nvols++;
	}
}

/* Remove every entry of root/acct/NAME (files only), then NAME. */
static void
empty_dir(const char *name)
{
	char		 path[700];
	DIR		*d;
	struct dirent	*de;
	int		 fd;

	snprintf(path, sizeof path, "%s/%s", acctdir, name);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	rmdir(path);
}

static void
cleanup(void)
{
	empty_dir("mbox");
	empty_dir("quarantine");
	rmdir(acctdir);
	rmdir(root);
}

static void
setup(void)
{
	const char	*base = getenv("FUZZ_TMPDIR");
	struct stat	 sb;

	if (root[0] != '\0')
		return;
	if (base == NULL || *base == '\0') {
		if (stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) &&
		    access("/dev/shm", W_OK) == 0)
			base = "/dev/shm";
		else if ((base = getenv("TMPDIR")) == NULL || *base == '\0')
			base = "/tmp";
	}
	snprintf(root, sizeof root, "%s/popvault-fuzz.XXXXXX", base);
	if (mkdtemp(root) == NULL) {
		perror(root);
		abort();
	}
	snprintf(acctdir, sizeof acctdir, "%s/acct", root);
	if (mkdir(acctdir, 0700) == -1) {
		perror(acctdir);
		abort();
	}
	atexit(cleanup);
}

/* Content-Length as core/batch.c reads it: leading blanks, digits. */
static int64_t
content_length(const struct hdr_scan *h)
{
	const char	*v;
	size_t		 len = 0, i = 0;
	int64_t		 n = 0;

	if ((v = hdr_get(h, HDR_CONTENT_LENGTH, &len)) == NULL)
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

static struct fmt *
open_mbox(int gz)
{
	struct fmt_args		 a;
	struct fmt_committed	 c = { vol_get, NULL };
	struct fmt		*f;
	char			 err[512];

	a.dir = acctdir;
	a.compress = gz ? FMT_COMP_GZIP : FMT_COMP_NONE;
	if ((f = fmt_mbox_ops.open(&a, err, sizeof err)) == NULL) {
		fprintf(stderr, "mbox open: %s\n", err);
		abort();
	}
	if (f->ops->recover(f, &c) == -1) {
		fprintf(stderr, "mbox recover: %s\n", fmt_error(f));
		abort();
	}
	return f;
}

static void
put(struct fmt *f, struct msg *m, int64_t when, int chunking)
{
	static const size_t	 pat[2][5] = { { 1, 4, 5, 2, 64 },
				    { 7, 1, 1, 3, 300 } };
	struct fmt_msginfo	 mi;
	struct hdr_scan		*h;
	unsigned char		 sha[HASH_LEN];
	size_t			 pos = 0, n, k = 0;

	if ((h = malloc(sizeof *h)) == NULL)
		abort();
	hdr_init(h);
	hdr_feed(h, (const char *)m->p, m->len);
	hash_sha256(m->p, m->len, sha);
	memset(&mi, 0, sizeof mi);
	mi.size = m->len;
	mi.when = when;
	mi.sender = hdr_get(h, HDR_RETURN_PATH, &mi.sender_len);
	mi.content_length = content_length(h);
	mi.sha256 = sha;
	FUZZ_CHECK(f->ops->begin(f, &mi) == 0);
	free(h);
	while (pos < m->len) {
		switch (chunking) {
		case 0:
			n = m->len - pos;
			break;
		case 1:
			n = 1;
			break;
		default:
			n = pat[chunking - 2][k++ % 5];
			break;
		}
		if (n > m->len - pos)
			n = m->len - pos;
		FUZZ_CHECK(f->ops->write(f, m->p + pos, n) == 0);
		pos += n;
	}
	FUZZ_CHECK(f->ops->end(f, m->loc, sizeof m->loc) == 0);
}

/* Lines starting with "From " in the file of loc (uncompressed). */
static size_t
count_separators(const char *loc)
{
	char		 path[900], buf[65536];
	gzFile		 gz;
	size_t		 n = 0, k = 0, i;
	int		 r, bol = 1;

	snprintf(path, sizeof path, "%s/mbox/%.*s", acctdir,
	    (int)strcspn(loc, ":"), loc);
	if ((gz = gzopen(path, "rb")) == NULL)
		fuzz_fail(__FILE__, __LINE__, "cannot open the mbox file");
	/* k: how much of "From " the current line start has matched. */
	while ((r = gzread(gz, buf, sizeof buf)) > 0) {
		for (i = 0; i < (size_t)r; i++) {
			if (bol || k > 0) {
				if (buf[i] == "From "[k]) {
					if (++k == 5) {
						n++;
						k = 0;
					}
				} else
					k = 0;
			}
			bol = buf[i] == '\n';
		}
	}
	FUZZ_CHECK(r == 0);
	gzclose(gz);
	return n;
}

static int
rbuf_drop(void *arg, const void *p, size_t n)
{
	(void)arg;
	(void)p;
	(void)n;
	return 0;
}

/*
 * Verify the messages again with the locations of some replaced by the
 * lines of locs..end (bit 7).
 */
static void
bad_locations(struct fmt *f, const struct msg *m, size_t n,
    const uint8_t *locs, const uint8_t *end)
{
	static char		 alt[MAXMSG][LOCMAX];
	struct fmt_vitem	 items[MAXMSG];
	int			 replaced[MAXMSG];
	const uint8_t		*nl;
	size_t			 i, k, len;
	int			 r;

	memset(replaced, 0, sizeof replaced);
	for (i = 0; i < n; i++) {
		memset(&items[i], 0, sizeof items[i]);
		items[i].loc = m[i].loc;
		hash_sha256(m[i].p, m[i].len, items[i].sha);
		items[i].result = VUNSET;
		items[i].id = (int64_t)i;
	}
	for (k = 0; locs < end && k < 4 * MAXMSG; k++) {
		if ((nl = memchr(locs, '\n', (size_t)(end - locs))) == NULL)
			nl = end;
		len = (size_t)(nl - locs);
		if (len >= LOCMAX)
			len = LOCMAX - 1;
		i = k % n;
		/* NUL bytes cut the string short, as the index's TEXT would. */
		memcpy(alt[i], locs, len);
		alt[i][len] = '\0';
		items[i].loc = alt[i];
		replaced[i] = 1;
		locs = nl < end ? nl + 1 : end;
		/* Any string at all: read() must only say yes or no. */
		r = f->ops->read(f, alt[i], rbuf_drop, NULL);
		FUZZ_CHECK(r == 0 || r == -1);
	}
	FUZZ_CHECK(f->ops->verify(f, items, n) == 0);
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(items[i].id >= 0 && (size_t)items[i].id < n);
		k = (size_t)items[i].id;
		if (!replaced[k])
			FUZZ_CHECK(items[i].result == FMT_V_OK);
		else
			FUZZ_CHECK(items[i].result == FMT_V_OK ||
			    items[i].result == FMT_V_MISSING ||
			    items[i].result == FMT_V_ALTERED ||
			    items[i].result == FMT_V_UNREADABLE);
	}
}

/* Every file holds as many separators as messages. */
static void
check_separators(const struct msg *m, size_t n)
{
	size_t	i, j, want;
	size_t	nl;

	for (i = 0; i < n; i++) {
		nl = strcspn(m[i].loc, ":");
		for (j = 0; j < i; j++)
			if (strncmp(m[j].loc, m[i].loc, nl + 1) == 0)
				break;
		if (j < i)
			continue;	/* file counted already */
		for (want = 0, j = i; j < n; j++)
			if (strncmp(m[j].loc, m[i].loc, nl + 1) == 0)
				want++;
		FUZZ_CHECK(count_separators(m[i].loc) == want);
	}
}

struct rbuf {
	uint8_t	*p;
	size_t	 len, cap;
};

static int
rbuf_add(void *arg, const void *p, size_t n)
{
	struct rbuf	*b = arg;

	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			abort();
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

static void
sync_batch(struct fmt **f, int gz, int reopen)
{
	FUZZ_CHECK((*f)->ops->sync(*f) == 0);
	vol_record(*f);
	if (reopen) {
		(*f)->ops->close(*f);
		*f = open_mbox(gz);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct msg	 msgs[MAXMSG];
	struct fmt_vitem	 items[MAXMSG];
	struct fmt		*f;
	struct rbuf		 b;
	struct stat		 sb;
	const uint8_t		*p, *end, *sep, *locs = NULL;
	size_t			 nmsg = 0, i;
	int			 flags, gz, each, chunking, step, reopen;
	char			 qpath[700];

	if (size == 0)
		return 0;
	setup();
	flags = data[0];
	gz = flags & 1;
	each = (flags & 2) != 0;
	chunking = (flags >> 2) & 3;
	step = (flags >> 4) & 3;
	reopen = each && (flags & 0x40);
	p = data + 1;
	end = data + size;
	while (nmsg < MAXMSG) {
		sep = find_sep(p, end);
		msgs[nmsg].p = p;
		msgs[nmsg].len = (size_t)((sep != NULL ? sep : end) - p);
		nmsg++;
		if (sep == NULL)
			break;
		p = sep + SEPLEN;
	}
	/* Bit 7: the last part holds locations (one message at least). */
	if ((flags & 0x80) && nmsg >= 2 && msgs[nmsg - 1].p + msgs[nmsg - 1].len
	    == end) {
		nmsg--;
		locs = msgs[nmsg].p;
	}

	nvols = 0;
	f = open_mbox(gz);
	for (i = 0; i < nmsg; i++) {
		/* 1700000000 is 2023-11-14; a step of 1 is about a month. */
		put(f, &msgs[i], 1700000000 + (int64_t)i * step * 31 * 86400,
		    chunking);
		if (each)
			sync_batch(&f, gz, reopen);
	}
	if (!each)
		sync_batch(&f, gz, 0);

	memset(&b, 0, sizeof b);
	for (i = 0; i < nmsg; i++) {
		b.len = 0;
		if (f->ops->read(f, msgs[i].loc, rbuf_add, &b) != 0) {
			fprintf(stderr, "read %s: %s\n", msgs[i].loc,
			    fmt_error(f));
			fuzz_fail(__FILE__, __LINE__, "read failed");
		}
		FUZZ_CHECK(b.len == msgs[i].len);
		FUZZ_CHECK(b.len == 0 || memcmp(b.p, msgs[i].p, b.len) == 0);
		memset(&items[i], 0, sizeof items[i]);
		items[i].loc = msgs[i].loc;
		hash_sha256(msgs[i].p, msgs[i].len, items[i].sha);
		items[i].result = FMT_V_UNREADABLE;
		items[i].id = (int64_t)i;
	}
	free(b.p);
	FUZZ_CHECK(f->ops->verify(f, items, nmsg) == 0);
	for (i = 0; i < nmsg; i++)
		FUZZ_CHECK(items[i].result == FMT_V_OK);
	if (locs != NULL)
		bad_locations(f, msgs, nmsg, locs, end);
	f->ops->close(f);
	check_separators(msgs, nmsg);

	snprintf(qpath, sizeof qpath, "%s/quarantine", acctdir);
	FUZZ_CHECK(stat(qpath, &sb) == -1 && errno == ENOENT);
	empty_dir("mbox");
	return 0;
}
