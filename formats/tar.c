/*
 * tar.c -- tar volumes through libarchive: pax format, compressed with
 * gzip, zstd, xz or not at all (the write sequence of libarchive's
 * examples/minitar).
 *
 * Volumes: ACCOUNT/tar/YYYYMMDDTHHMMSSZ-PID-N-RANDOM.tar[.gz|.zst|.xz]
 * (RANDOM: 16 hex digits), one per commit (the format asks for large
 * batches, so normally one per run). A volume is written as NAME.part,
 * closed, fsynced, renamed to NAME without ever replacing a file of that
 * name (rename_noreplace: a clash is an error), and the folder fsynced:
 * only then is it committed. A volume is never appended to (concatenated
 * compressed tars are not read whole by common readers). Recovery removes
 * unfinished .part volumes; their messages are still on the server and
 * are fetched again. A finished volume whose rows were not committed yet
 * is adopted member by member, by hash, once it and tar/ are fsynced.
 *
 * One member per message, named "YYYY-MM-DD/SHA256.eml" from the
 * archiving date (fmt_day()) and the message's hash, never from server
 * data; its content is exactly the stored message. A location is
 * "VOLUME:MEMBER".
 * tar needs each member's size before its data, so the pipeline hands
 * over whole messages (FMT_F_NEEDS_SIZE), spooled to disk when large.
 *
 * libarchive is linked (docs/decisions.md, "Libraries") and included only
 * here. Volumes are written and read by libarchive's own code for tar,
 * gzip, zstd and xz, never by an external program (tar_reader()).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "format.h"
#include "log.h"
#include "util.h"

#define TAR_RANDOM	8	/* random bytes in a volume's name */

struct tar_member {
	char		name[96];
	unsigned char	sha[HASH_LEN];
};

struct tarfmt {
	struct fmt		 base;
	int			 dirfd;		/* ACCOUNT/tar */
	enum fmt_compress	 comp;
	struct archive		*a;		/* the open volume */
	int			 fd;
	char			 name[128];	/* final name */
	char			 part[140];	/* NAME.part */
	unsigned long		 nvol;
	char			 member[128];	/* the current member */
	struct fmt_vol		 vol;
	int			 have_vol;
	/* check(): the hashes of one volume's members, read once. */
	char			 cvol[128];
	struct tar_member	*cm;
	size_t			 ncm;
	int			 csynced;	/* cvol fsynced, and tar/ */
	/*
	 * read(): the reader of the last volume read, left just past the
	 * member it gave, so that reading the members of a volume in their
	 * order (an export) scans it once instead of once per member.
	 */
	struct archive		*ra;
	int			 rfd;
	char			 rvol[128];
};

static const char *
tar_ext(enum fmt_compress c)
{
	switch (c) {
	case FMT_COMP_GZIP:
		return ".tar.gz";
	case FMT_COMP_ZSTD:
		return ".tar.zst";
	case FMT_COMP_XZ:
		return ".tar.xz";
	default:
		return ".tar";
	}
}

/*
 * A reader for the volumes popvault writes: the tar format with the none,
 * gzip, zstd and xz filters only. archive_read_support_filter_all() would
 * add filters that always run an external program (lrzip, lzop, grzip),
 * and a libarchive built without zlib, libzstd or liblzma reads gzip,
 * zstd or xz through the program of that name, saying so with
 * ARCHIVE_WARN: refused here, so that no volume is ever fed to a program.
 * Returns the reader, or NULL with the reason in f's error.
 */
static struct archive *
tar_reader(struct fmt *f)
{
	struct archive	*a;
	const char	*s;

	if ((a = archive_read_new()) == NULL) {
		fmt_fail(f, "tar: out of memory");
		return NULL;
	}
	if (archive_read_support_filter_none(a) != ARCHIVE_OK ||
	    archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
	    archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
	    archive_read_support_filter_xz(a) != ARCHIVE_OK ||
	    archive_read_support_format_tar(a) != ARCHIVE_OK) {
		s = archive_error_string(a);
		fmt_fail(f, "tar: libarchive cannot read tar, gzip, zstd and "
		    "xz itself: %s", s != NULL ? s : "unknown error");
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/*
 * Fails, before anything is archived, when this libarchive could not read
 * a volume back without an external program (tar_reader()); the writer
 * refuses one too (tar_new_volume()).
 */
static struct fmt *
tar_open(const struct fmt_args *a, char *err, size_t errlen)
{
	struct tarfmt	*t;
	struct archive	*r;
	char		 path[4200];

	t = xcalloc(1, sizeof *t);
	t->base.ops = &fmt_tar_ops;
	t->fd = -1;
	t->rfd = -1;
	t->comp = a->compress;
	if ((r = tar_reader(&t->base)) == NULL) {
		snprintf(err, errlen, "%s", t->base.err);
		free(t);
		return NULL;
	}
	archive_read_free(r);
	if (xsnprintf(path, sizeof path, "%s/tar", a->dir) == -1 ||
	    mkdir_sync(path) == -1 ||
	    (t->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "tar folder %s: %s", path,
		    strerror(errno));
		free(t);
		return NULL;
	}
	return &t->base;
}

static int
tar_recover(struct fmt *f, const struct fmt_committed *c)
{
	struct tarfmt	*t = (struct tarfmt *)f;
	struct dirent	*de;
	DIR		*d;
	size_t		 n;
	int		 fd, removed = 0, r = 0;

	(void)c;
	if ((fd = dup(t->dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return fmt_fail(f, "tar folder: %s", strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (de->d_name[0] == '.' || n < 6 ||
		    strcmp(de->d_name + n - 5, ".part") != 0)
			continue;
		if (unlinkat(t->dirfd, de->d_name, 0) == -1) {
			r = fmt_fail(f, "removing tar/%s: %s", de->d_name,
			    strerror(errno));
			break;
		}
		removed++;
	}
	closedir(d);
	if (r == 0 && removed > 0) {
		log_info("tar: removed %d unfinished volume%s", removed,
		    removed == 1 ? "" : "s");
		if (fsync(t->dirfd) == -1)
			r = fmt_fail(f, "fsync tar/: %s", strerror(errno));
	}
	return r;
}

/*
 * libarchive's message for a failed write() is only "Write error": add the
 * volume and the system's reason (EFBIG, ENOSPC, EIO) when it has one.
 */
static int
tar_aerr(struct tarfmt *t, const char *what)
{
	const char	*s = NULL;
	int		 e = 0;

	if (t->a != NULL) {
		s = archive_error_string(t->a);
		e = archive_errno(t->a);
	}
	if (s == NULL)
		s = "libarchive error";
	if (e > 0 && strstr(s, strerror(e)) == NULL)
		return fmt_fail(&t->base, "tar %s: tar/%s: %s: %s", what,
		    t->part, s, strerror(e));
	return fmt_fail(&t->base, "tar %s: tar/%s: %s", what, t->part, s);
}

static int
tar_new_volume(struct tarfmt *t)
{
	struct tm	tm;
	time_t		now = (time_t)wall_now();
	char		rnd[2 * TAR_RANDOM + 1];
	int		r = ARCHIVE_OK;

	/*
	 * Time and pid alone repeat: runs in containers often have the same
	 * pid, and clocks stand still or step back. The random part keeps
	 * another run's volume from having this name; if one has it all the
	 * same, tar_sync() refuses to replace it.
	 */
	gmtime_r(&now, &tm);
	random_hex(rnd, TAR_RANDOM);
	snprintf(t->name, sizeof t->name,
	    "%04d%02d%02dT%02d%02d%02dZ-%ld-%lu-%s%s",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (long)getpid(), ++t->nvol, rnd,
	    tar_ext(t->comp));
	snprintf(t->part, sizeof t->part, "%s.part", t->name);
	t->fd = openat(t->dirfd, t->part, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (t->fd == -1)
		return fmt_fail(&t->base, "tar/%s: %s", t->part,
		    strerror(errno));
	if ((t->a = archive_write_new()) == NULL)
		return fmt_fail(&t->base, "tar: out of memory");
	if (archive_write_set_format_pax_restricted(t->a) != ARCHIVE_OK)
		return tar_aerr(t, "format");
	switch (t->comp) {
	case FMT_COMP_GZIP:
		/* Level 1, as for mbox.gz: deflate is the bottleneck. */
		r = archive_write_add_filter_gzip(t->a);
		if (r == ARCHIVE_OK)
			r = archive_write_set_filter_option(t->a, "gzip",
			    "compression-level", "1");
		break;
	case FMT_COMP_ZSTD:
		r = archive_write_add_filter_zstd(t->a);
		break;
	case FMT_COMP_XZ:
		/* Level 1: ~10 MB of memory instead of ~100 (xz's 6). */
		r = archive_write_add_filter_xz(t->a);
		if (r == ARCHIVE_OK)
			r = archive_write_set_filter_option(t->a, "xz",
			    "compression-level", "1");
		break;
	default:
		break;
	}
	/*
	 * ARCHIVE_WARN too: a libarchive built without the compression
	 * library would pipe the volume through an external program.
	 */
	if (r != ARCHIVE_OK)
		return tar_aerr(t, "compression");
	/* No padding of the last block of a compressed stream. */
	if (t->comp != FMT_COMP_NONE)
		archive_write_set_bytes_in_last_block(t->a, 1);
	if (archive_write_open_fd(t->a, t->fd) != ARCHIVE_OK)
		return tar_aerr(t, "open");
	return 0;
}

static int
tar_begin(struct fmt *f, const struct fmt_msginfo *mi)
{
	struct tarfmt		*t = (struct tarfmt *)f;
	struct archive_entry	*e;
	time_t			 when = (time_t)mi->when;
	char			 hex[HASH_HEXLEN + 1], day[16];
	int			 r;

	if (mi->sha256 == NULL)
		return fmt_fail(f, "tar: the message hash is needed first");
	if (t->a == NULL && tar_new_volume(t) == -1)
		return -1;
	fmt_day(mi->when, day, sizeof day);
	hex_encode(mi->sha256, HASH_LEN, hex);
	snprintf(t->member, sizeof t->member, "%s/%s.eml", day, hex);
	if ((e = archive_entry_new()) == NULL)
		return fmt_fail(f, "tar: out of memory");
	archive_entry_set_pathname(e, t->member);
	archive_entry_set_size(e, (la_int64_t)mi->size);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0600);
	archive_entry_set_mtime(e, when, 0);
	r = archive_write_header(t->a, e);
	archive_entry_free(e);
	if (r != ARCHIVE_OK)
		return tar_aerr(t, "header");
	return 0;
}

static int
tar_write(struct fmt *f, const void *p, size_t n)
{
	struct tarfmt	*t = (struct tarfmt *)f;
	const char	*s = p;
	la_ssize_t	 w;

	while (n > 0) {
		w = archive_write_data(t->a, s, n);
		if (w <= 0)
			return tar_aerr(t, "write");
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
tar_end(struct fmt *f, char *loc, size_t loclen)
{
	struct tarfmt	*t = (struct tarfmt *)f;

	if (archive_write_finish_entry(t->a) != ARCHIVE_OK)
		return tar_aerr(t, "entry");
	if (xsnprintf(loc, loclen, "%s:%s", t->name, t->member) == -1)
		return fmt_fail(f, "tar: location too long");
	return 0;
}

static int
tar_discard(struct fmt *f)
{
	/* Whole messages only (FMT_F_NEEDS_SIZE): nothing half-written. */
	(void)f;
	return 0;
}

static void
tar_drop(struct tarfmt *t)
{
	if (t->a != NULL) {
		archive_write_free(t->a);
		t->a = NULL;
	}
	if (t->fd != -1) {
		close(t->fd);
		t->fd = -1;
	}
}

static int
tar_sync(struct fmt *f)
{
	struct tarfmt	*t = (struct tarfmt *)f;
	struct stat	 sb;

	t->have_vol = 0;
	if (t->a == NULL)
		return 0;
	if (archive_write_close(t->a) != ARCHIVE_OK) {
		tar_aerr(t, "close");
		goto fail;
	}
	archive_write_free(t->a);
	t->a = NULL;
	if (fsync(t->fd) == -1 || fstat(t->fd, &sb) == -1) {
		fmt_fail(f, "fsync tar/%s: %s", t->part, strerror(errno));
		goto fail;
	}
	close(t->fd);
	t->fd = -1;
	crash_point("tar-volume-closed");
	/* Never over another volume: a clash stops the run, nothing lost. */
	if (rename_noreplace(t->dirfd, t->part, t->dirfd, t->name) == -1) {
		if (errno == EEXIST)
			fmt_fail(f, "finishing tar/%s: a volume of that name "
			    "exists already; not replaced (this batch stays "
			    "in tar/%s until the next run's recovery removes "
			    "it, and its messages are fetched again)", t->name,
			    t->part);
		else
			fmt_fail(f, "finishing tar/%s: %s", t->name,
			    strerror(errno));
		goto fail;
	}
	if (fsync(t->dirfd) == -1) {
		fmt_fail(f, "finishing tar/%s: fsync tar/: %s", t->name,
		    strerror(errno));
		goto fail;
	}
	crash_point("tar-volume-renamed");
	snprintf(t->vol.name, sizeof t->vol.name, "%s", t->name);
	t->vol.length = (uint64_t)sb.st_size;
	t->vol.priv[0] = '\0';
	t->have_vol = 1;
	return 0;
fail:
	tar_drop(t);
	return -1;
}

static size_t
tar_synced(struct fmt *f, const struct fmt_vol **v)
{
	struct tarfmt	*t = (struct tarfmt *)f;

	*v = &t->vol;
	return t->have_vol ? 1 : 0;
}

/* "VOLUME:MEMBER" with a plain volume name and a relative member. */
static int
tar_parse_loc(const char *loc, char *vol, size_t vlen, const char **member)
{
	const char	*c = strchr(loc, ':');

	if (c == NULL || c == loc || (size_t)(c - loc) >= vlen)
		return -1;
	memcpy(vol, loc, (size_t)(c - loc));
	vol[c - loc] = '\0';
	if (vol[0] == '.' || strchr(vol, '/') != NULL || c[1] == '\0' ||
	    c[1] == '/' || strstr(c + 1, "..") != NULL)
		return -1;
	*member = c + 1;
	return 0;
}

/* Forget read()'s open volume. */
static void
tar_read_drop(struct tarfmt *t)
{
	if (t->ra != NULL)
		archive_read_free(t->ra);
	if (t->rfd != -1)
		close(t->rfd);
	t->ra = NULL;
	t->rfd = -1;
	t->rvol[0] = '\0';
}

/* Open volume vol from its start for read(). 0, or -1 with f's error. */
static int
tar_read_open(struct tarfmt *t, const char *vol)
{
	struct fmt	*f = &t->base;

	tar_read_drop(t);
	if ((t->rfd = openat(t->dirfd, vol, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return fmt_fail(f, "tar/%s: %s", vol, strerror(errno));
	if ((t->ra = tar_reader(f)) == NULL) {
		tar_read_drop(t);
		return -1;
	}
	if (archive_read_open_fd(t->ra, t->rfd, 65536) != ARCHIVE_OK) {
		fmt_fail(f, "tar/%s: %s", vol, archive_error_string(t->ra));
		tar_read_drop(t);
		return -1;
	}
	snprintf(t->rvol, sizeof t->rvol, "%s", vol);
	return 0;
}

/*
 * The member is looked for from where the last read() of the same volume
 * stopped, then, if it is not found before the end, from the start: in
 * order, one pass over the volume for all its members.
 */
static int
tar_read(struct fmt *f, const char *loc,
    int (*cb)(void *, const void *, size_t), void *arg)
{
	struct tarfmt		*t = (struct tarfmt *)f;
	struct archive_entry	*e;
	const char		*member;
	char			 vol[128], buf[65536];
	la_ssize_t		 n;
	int			 fresh, hr;

	if (tar_parse_loc(loc, vol, sizeof vol, &member) == -1)
		return fmt_fail(f, "bad tar location %s", loc);
	fresh = t->ra == NULL || strcmp(t->rvol, vol) != 0;
	if (fresh && tar_read_open(t, vol) == -1)
		return -1;
	for (;;) {
		hr = archive_read_next_header(t->ra, &e);
		if (hr == ARCHIVE_EOF && !fresh) {
			if (tar_read_open(t, vol) == -1)
				return -1;
			fresh = 1;
			continue;
		}
		if (hr != ARCHIVE_OK)
			break;
		if (strcmp(archive_entry_pathname(e), member) != 0)
			continue;
		for (;;) {
			n = archive_read_data(t->ra, buf, sizeof buf);
			if (n == 0)
				return 0;
			if (n < 0) {
				fmt_fail(f, "tar/%s: %s", vol,
				    archive_error_string(t->ra));
				tar_read_drop(t);
				return -1;
			}
			if (cb(arg, buf, (size_t)n) == -1) {
				fmt_fail(f, "reading %s: stopped", loc);
				tar_read_drop(t);
				return -1;
			}
		}
	}
	if (hr == ARCHIVE_EOF)
		fmt_fail(f, "tar/%s: no member %s", vol, member);
	else
		fmt_fail(f, "tar/%s: %s", vol, archive_error_string(t->ra));
	tar_read_drop(t);
	return -1;
}

static int
member_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tar_member *)a)->name,
	    ((const struct tar_member *)b)->name);
}

/* The scanned member called name, or NULL. */
static const struct tar_member *
member_find(struct tarfmt *t, const char *name)
{
	struct tar_member	key;

	if (t->ncm == 0 || strlen(name) >= sizeof key.name)
		return NULL;
	snprintf(key.name, sizeof key.name, "%s", name);
	return bsearch(&key, t->cm, t->ncm, sizeof *t->cm, member_cmp);
}

/* Hash every member of a volume once (sorted by name for lookups). */
static int
tar_scan(struct tarfmt *t, const char *vol)
{
	struct archive		*a;
	struct archive_entry	*e;
	struct hash		*h;
	char			 buf[65536];
	la_ssize_t		 n;
	size_t			 cap = 0;
	int			 fd, hr, r = -1;

	free(t->cm);
	t->cm = NULL;
	t->ncm = 0;
	t->csynced = 0;
	snprintf(t->cvol, sizeof t->cvol, "%s", vol);
	if ((fd = openat(t->dirfd, vol, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	if ((a = tar_reader(&t->base)) == NULL) {
		close(fd);
		return -1;
	}
	h = hash_new();
	if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK)
		goto out;
	while ((hr = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		if (t->ncm == cap) {
			cap = cap ? cap * 2 : 256;
			t->cm = xreallocarray(t->cm, cap, sizeof *t->cm);
		}
		snprintf(t->cm[t->ncm].name, sizeof t->cm[t->ncm].name, "%s",
		    archive_entry_pathname(e));
		hash_reset(h);
		while ((n = archive_read_data(a, buf, sizeof buf)) > 0)
			hash_update(h, buf, (size_t)n);
		if (n < 0)
			goto out;
		hash_final(h, t->cm[t->ncm++].sha);
	}
	if (hr == ARCHIVE_EOF)
		r = 0;
out:
	if (t->ncm > 0)
		qsort(t->cm, t->ncm, sizeof *t->cm, member_cmp);
	hash_free(h);
	archive_read_free(a);
	close(fd);
	return r;
}

/*
 * A member recovery adopts becomes "archived" in the index, and may then
 * be deleted on the server: fsync its volume and tar/ first (once per
 * volume), so that no power cut can take back a volume whose rename the
 * stopped run had not made durable. An error is a failure.
 */
static enum fmt_check
tar_adopt(struct tarfmt *t, const char *vol)
{
	int	fd, r;

	if (t->csynced)
		return FMT_PRESENT;
	if ((fd = openat(t->dirfd, vol, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		fmt_fail(&t->base, "adopting tar/%s: %s", vol,
		    strerror(errno));
		return FMT_CHECK_ERROR;
	}
	r = fsync(fd);
	if (r == 0)
		r = fsync(t->dirfd);
	if (r == -1)
		fmt_fail(&t->base, "adopting tar/%s: fsync: %s", vol,
		    strerror(errno));
	close(fd);
	if (r == -1)
		return FMT_CHECK_ERROR;
	t->csynced = 1;
	return FMT_PRESENT;
}

static enum fmt_check
tar_check(struct fmt *f, const char *loc, const unsigned char sha[HASH_LEN])
{
	struct tarfmt	*t = (struct tarfmt *)f;
	const struct tar_member *tm;
	char		 vol[128];
	const char	*member;

	/*
	 * A pending row points into a finished volume (crash between the
	 * rename and the commit: adopt it if its member is intact) or into
	 * a .part volume that recovery removed (absent: fetched again).
	 */
	if (tar_parse_loc(loc, vol, sizeof vol, &member) == -1)
		return FMT_ABSENT;
	if (strcmp(vol, t->cvol) != 0 && tar_scan(t, vol) == -1) {
		t->ncm = 0;
		return FMT_ABSENT;
	}
	if ((tm = member_find(t, member)) == NULL ||
	    memcmp(tm->sha, sha, HASH_LEN) != 0)
		return FMT_ABSENT;
	return tar_adopt(t, vol);
}

static int
vitem_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fmt_vitem *)a)->loc,
	    ((const struct fmt_vitem *)b)->loc);
}

/* One scan per volume: every member hashed once, then compared. */
static int
tar_verify(struct fmt *f, struct fmt_vitem *it, size_t n)
{
	struct tarfmt	*t = (struct tarfmt *)f;
	const struct tar_member *tm;
	struct stat	 sb;
	const char	*member;
	char		 vol[128];
	size_t		 i;
	int		 have = 0, scan_ok = 0;

	qsort(it, n, sizeof *it, vitem_cmp);
	t->cvol[0] = '\0';
	for (i = 0; i < n; i++) {
		if (tar_parse_loc(it[i].loc, vol, sizeof vol, &member) == -1) {
			it[i].result = FMT_V_UNREADABLE;
			continue;
		}
		if (!have || strcmp(vol, t->cvol) != 0) {
			have = 1;
			if (fstatat(t->dirfd, vol, &sb,
			    AT_SYMLINK_NOFOLLOW) == -1) {
				snprintf(t->cvol, sizeof t->cvol, "%s", vol);
				t->ncm = 0;
				scan_ok = -1;	/* no such volume */
			} else
				scan_ok = tar_scan(t, vol) == 0;
		}
		if (scan_ok == -1) {
			it[i].result = FMT_V_MISSING;
			continue;
		}
		if ((tm = member_find(t, member)) != NULL)
			it[i].result = memcmp(tm->sha, it[i].sha,
			    HASH_LEN) == 0 ? FMT_V_OK : FMT_V_ALTERED;
		else
			it[i].result = scan_ok ? FMT_V_MISSING :
			    FMT_V_UNREADABLE;
	}
	/* Later writes must not trust this cache. */
	t->cvol[0] = '\0';
	return 0;
}

/* A finished volume of ours: NAME.tar[.gz|.zst|.xz], not .part. */
static int
tar_is_volume(const char *name)
{
	static const char *const ext[] = { ".tar", ".tar.gz", ".tar.zst",
	    ".tar.xz" };
	size_t	n = strlen(name), i, e;

	if (name[0] == '.' || strchr(name, '/') != NULL)
		return 0;
	for (i = 0; i < sizeof ext / sizeof ext[0]; i++) {
		e = strlen(ext[i]);
		if (n > e && strcmp(name + n - e, ext[i]) == 0)
			return 1;
	}
	return 0;
}

/*
 * One volume of scan(): each member is a message. A volume is finished
 * (renamed from .part) only after it was closed and fsynced, so each is
 * whole; one that cannot be read to its end all the same (damage) gives
 * the members before the damage, and says so.
 */
static int
tar_scan_volume(struct tarfmt *t, const char *vol, const struct fmt_scan *s)
{
	struct archive		*a;
	struct archive_entry	*e;
	struct stat		 sb;
	struct fmt_vol		 v;
	char			 loc[300], what[400], buf[65536];
	la_ssize_t		 n;
	uint64_t		 size;
	int			 fd, hr, r = 0;

	if ((fd = openat(t->dirfd, vol, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || fstat(fd, &sb) == -1) {
		if (fd != -1)
			close(fd);
		snprintf(what, sizeof what, "tar/%s: %s", vol, strerror(errno));
		if (s->skip != NULL)
			s->skip(s->arg, what);
		return 0;
	}
	if ((a = tar_reader(&t->base)) == NULL) {
		close(fd);
		return -1;
	}
	if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
		hr = ARCHIVE_FATAL;
		goto out;
	}
	while ((hr = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		if (archive_entry_filetype(e) != AE_IFREG ||
		    xsnprintf(loc, sizeof loc, "%s:%s", vol,
		    archive_entry_pathname(e)) == -1) {
			snprintf(what, sizeof what, "tar/%s: member %s is not "
			    "a message", vol, archive_entry_pathname(e));
			if (s->skip != NULL)
				s->skip(s->arg, what);
			continue;
		}
		if (s->begin(s->arg) == -1) {
			r = -1;
			goto out;
		}
		size = 0;
		while ((n = archive_read_data(a, buf, sizeof buf)) > 0) {
			if (s->data(s->arg, buf, (size_t)n) == -1) {
				r = -1;
				goto out;
			}
			size += (uint64_t)n;
		}
		if (n < 0) {
			hr = ARCHIVE_FATAL;
			break;
		}
		if (s->end(s->arg, loc, size) == -1) {
			r = -1;
			goto out;
		}
	}
out:
	if (r == 0 && hr != ARCHIVE_EOF) {
		snprintf(what, sizeof what, "tar/%s: unreadable from there "
		    "on: %s", vol, archive_error_string(a) != NULL ?
		    archive_error_string(a) : "not a tar volume");
		if (s->skip != NULL)
			s->skip(s->arg, what);
	}
	archive_read_free(a);
	close(fd);
	if (r == -1)
		return -1;
	memset(&v, 0, sizeof v);
	snprintf(v.name, sizeof v.name, "%s", vol);
	v.length = (uint64_t)sb.st_size;
	return s->vol(s->arg, &v);
}

static int
tar_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every finished volume, by name (by time): .part ones never counted. */
static int
tar_scan_all(struct fmt *f, const struct fmt_scan *s)
{
	struct tarfmt	*t = (struct tarfmt *)f;
	struct dirent	*de;
	DIR		*d;
	char		**names = NULL;
	size_t		 n = 0, cap = 0, i;
	int		 fd, r = 0;

	if ((fd = dup(t->dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return fmt_fail(f, "tar folder: %s", strerror(errno));
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (!tar_is_volume(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			names = xreallocarray(names, cap, sizeof *names);
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof *names, tar_name_cmp);
	for (i = 0; i < n; i++) {
		if (r == 0)
			r = tar_scan_volume(t, names[i], s);
		free(names[i]);
	}
	free(names);
	return r;
}

static void
tar_close(struct fmt *f)
{
	struct tarfmt	*t = (struct tarfmt *)f;

	if (t == NULL)
		return;
	/* An unfinished volume stays .part for the next recovery. */
	tar_drop(t);
	tar_read_drop(t);
	close(t->dirfd);
	free(t->cm);
	free(t);
}

const struct fmt_ops fmt_tar_ops = {
	.name = "tar",
	.flags = FMT_F_NEEDS_SIZE,
	.comps = FMT_COMP_ALL,
	.batch_msgs = 10000,
	.batch_bytes = 1ULL << 30,
	.open = tar_open,
	.recover = tar_recover,
	.check = tar_check,
	.begin = tar_begin,
	.write = tar_write,
	.end = tar_end,
	.discard = tar_discard,
	.sync = tar_sync,
	.synced = tar_synced,
	.read = tar_read,
	.verify = tar_verify,
	.close = tar_close,
	.scan = tar_scan_all,
};
