/*
 * mbox_read.c -- reading messages back from mboxrd files, plain or
 * gzip, for "cat" and for verification. See mbox.c for the layout and
 * the location format ("FILE:MEMBER:OFFSET:LENGTH:FLAGS").
 *
 * A reader (struct mrd) gives the uncompressed bytes of one file from a
 * position: for a plain file that is the file itself, for a .gz file one
 * member and whatever follows (zlib is restarted at each member end, as
 * gzip -d does). The unquoter (struct mbox_unq, mbox.h) turns the bytes of a stored
 * message back into the message: it skips the From_ line and removes
 * one '>' from every line matching ^>+From .
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "format.h"
#include "hash.h"
#include "mbox.h"
#include "util.h"

int
mbox_is_ours(const char *name)
{
	size_t	n = strlen(name);

	return name[0] != '.' && strchr(name, '/') == NULL &&
	    ((n > 5 && strcmp(name + n - 5, ".mbox") == 0) ||
	    (n > 8 && strcmp(name + n - 8, ".mbox.gz") == 0));
}

struct mloc {
	char		name[128];
	uint64_t	member, off, len;
	int		added, gz;
};

/*
 * Parse a location into *l: 0, or -1 when it is not one the writer makes
 * (then *l is all zeros, never half filled: the verifier sorts it).
 */
static int
parse_loc(const char *loc, struct mloc *l)
{
	const char		*c;
	char			*end;
	unsigned long long	 v[3];
	size_t			 n;
	int			 i;

	memset(l, 0, sizeof *l);
	if (loc == NULL || (c = strchr(loc, ':')) == NULL || c == loc ||
	    (size_t)(c - loc) >= sizeof l->name)
		return -1;
	memcpy(l->name, loc, (size_t)(c - loc));
	l->name[c - loc] = '\0';
	if (!mbox_is_ours(l->name))
		goto bad;
	for (i = 0; i < 3; i++) {
		if (c[1] < '0' || c[1] > '9')
			goto bad;
		errno = 0;
		v[i] = strtoull(c + 1, &end, 10);
		if (errno != 0 || *end != ':')
			goto bad;
		c = end;
	}
	if (strcmp(c + 1, "n") != 0 && strcmp(c + 1, "-") != 0)
		goto bad;
	/* The range holds at least the From_ line end and the trailer. */
	if (v[2] < 2u + (c[1] == 'n'))
		goto bad;
	l->member = v[0];
	l->off = v[1];
	l->len = v[2];
	l->added = c[1] == 'n';
	n = strlen(l->name);
	l->gz = n > 3 && strcmp(l->name + n - 3, ".gz") == 0;
	return 0;
bad:
	memset(l, 0, sizeof *l);
	return -1;
}

/* Sequential reader of uncompressed bytes. */
struct mrd {
	int		 fd;
	int		 gz;
	z_stream	 zs;
	int		 zopen;
	uint64_t	 fpos;		/* next file offset to read */
	uint64_t	 upos;		/* uncompressed position */
	unsigned char	 in[65536];
	int		 eof;
	int		 in_member;	/* inside a gzip member */
};

static int
mrd_open(struct mrd *r, int dirfd, const struct mloc *l)
{
	memset(r, 0, sizeof *r);
	r->fd = openat(dirfd, l->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (r->fd == -1)
		return -1;
	r->gz = l->gz;
	if (r->gz) {
		if (inflateInit2(&r->zs, 15 + 16) != Z_OK) {
			close(r->fd);
			errno = ENOMEM;
			return -1;
		}
		r->zopen = 1;
		r->fpos = l->member;
		r->upos = 0;
	} else {
		r->fpos = l->off;
		r->upos = l->off;
	}
	return 0;
}

static void
mrd_close(struct mrd *r)
{
	if (r->zopen)
		inflateEnd(&r->zs);
	close(r->fd);
}

/*
 * Read up to n uncompressed bytes. Returns the count, 0 at the end of
 * the data, -1 on a read or decoding error (errno EIO for corrupt data).
 */
static ssize_t
mrd_read(struct mrd *r, unsigned char *out, size_t n)
{
	ssize_t	k;
	int	zr;

	if (!r->gz) {
		do {
			k = pread(r->fd, out, n, (off_t)r->fpos);
		} while (k == -1 && errno == EINTR);
		if (k > 0) {
			r->fpos += (uint64_t)k;
			r->upos += (uint64_t)k;
		}
		return k;
	}
	for (;;) {
		if (r->zs.avail_in == 0 && !r->eof) {
			do {
				k = pread(r->fd, r->in, sizeof r->in,
				    (off_t)r->fpos);
			} while (k == -1 && errno == EINTR);
			if (k == -1)
				return -1;
			if (k == 0)
				r->eof = 1;
			r->fpos += (uint64_t)k;
			r->zs.next_in = r->in;
			r->zs.avail_in = (uInt)k;
		}
		if (r->eof && r->zs.avail_in == 0) {
			if (r->in_member) {
				errno = EIO;	/* the file ends mid-member */
				return -1;
			}
			return 0;
		}
		r->zs.next_out = out;
		r->zs.avail_out = (uInt)n;
		r->in_member = 1;
		zr = inflate(&r->zs, Z_NO_FLUSH);
		k = (ssize_t)(n - r->zs.avail_out);
		if (zr == Z_STREAM_END) {
			/* A next member, if any, continues the stream. */
			r->in_member = 0;
			if (inflateReset(&r->zs) != Z_OK) {
				errno = EIO;
				return -1;
			}
		} else if (zr != Z_OK && zr != Z_BUF_ERROR) {
			errno = EIO;
			return -1;
		}
		r->upos += (uint64_t)k;
		if (k > 0)
			return k;
	}
}

/* Skip to uncompressed position pos (not backwards). */
static int
mrd_seek(struct mrd *r, uint64_t pos)
{
	unsigned char	buf[65536];
	ssize_t		k;

	if (pos < r->upos) {
		errno = EINVAL;
		return -1;
	}
	if (!r->gz) {
		r->fpos += pos - r->upos;
		r->upos = pos;
		return 0;
	}
	while (r->upos < pos) {
		k = mrd_read(r, buf, pos - r->upos < sizeof buf ?
		    (size_t)(pos - r->upos) : sizeof buf);
		if (k <= 0) {
			if (k == 0)
				errno = EIO;
			return -1;
		}
	}
	return 0;
}

static int
unq_emit(struct mbox_unq *u, const void *p, size_t n)
{
	if (n > 0 && !u->err && u->cb(u->arg, p, n) == -1)
		u->err = 1;
	return u->err ? -1 : 0;
}

int
mbox_unq_feed(struct mbox_unq *u, const unsigned char *s, size_t n)
{
	static const char	 from[] = "From ";
	const unsigned char	*run = s, *nl;
	size_t			 i = 0;

	while (i < n) {
		unsigned char	c = s[i];

		switch (u->state) {
		case 0:
			nl = memchr(s + i, '\n', n - i);
			i = nl ? (size_t)(nl - s) + 1 : n;
			run = s + i;
			if (nl)
				u->state = 1;
			continue;
		case 5:
			nl = memchr(s + i, '\n', n - i);
			if (nl == NULL) {
				i = n;
				continue;
			}
			i = (size_t)(nl - s) + 1;
			u->state = 1;
			continue;
		case 1:
			if (c == '>') {
				/* Hold this '>' until the line shows. */
				if (unq_emit(u, run, (size_t)(s + i - run)))
					return -1;
				run = s + ++i;
				u->state = 2;
			} else {
				u->state = c == '\n' ? 1 : 5;
				i++;
			}
			continue;
		case 2:
		case 3:
			if (c == '>') {
				i++;
				u->state = 3;
			} else if (c == 'F') {
				if (unq_emit(u, run, (size_t)(s + i - run)))
					return -1;
				run = s + ++i;
				u->k = 1;
				u->state = 4;
			} else {
				/* No match: the held '>' goes out. */
				if (unq_emit(u, ">", 1))
					return -1;
				u->state = 5;
			}
			continue;
		case 4:
			if (c == (unsigned char)from[u->k]) {
				run = s + ++i;
				if (++u->k == 5) {
					/* Matched: the held '>' is dropped. */
					if (unq_emit(u, from, 5))
						return -1;
					u->state = 5;
				}
				continue;
			}
			if (unq_emit(u, ">", 1) || unq_emit(u, from,
			    (size_t)u->k))
				return -1;
			u->state = 5;
			continue;
		}
	}
	return unq_emit(u, run, (size_t)(s + n - run));
}

int
mbox_unq_finish(struct mbox_unq *u)
{
	static const char	from[] = "From ";

	if (u->state == 2 || u->state == 3)
		return unq_emit(u, ">", 1);
	if (u->state == 4)
		return unq_emit(u, ">", 1) || unq_emit(u, from,
		    (size_t)u->k) ? -1 : 0;
	return 0;
}

/*
 * Give the message at l to cb, reading from r (positioned at or before
 * its From_ line). Returns 0, -1 with errno (EIO: data ends early or is
 * corrupt; ECANCELED: cb stopped).
 */
static int
read_one(struct mrd *r, const struct mloc *l,
    int (*cb)(void *, const void *, size_t), void *arg)
{
	unsigned char	buf[65536];
	struct mbox_unq	u;
	uint64_t	left;
	ssize_t		k;

	if (mrd_seek(r, l->off) == -1)
		return -1;
	memset(&u, 0, sizeof u);
	u.cb = cb;
	u.arg = arg;
	/* The range minus the trailer: the empty line, maybe one more. */
	left = l->len - 1 - (unsigned)l->added;
	while (left > 0) {
		k = mrd_read(r, buf, left < sizeof buf ? (size_t)left :
		    sizeof buf);
		if (k <= 0) {
			if (k == 0)
				errno = EIO;
			return -1;
		}
		left -= (uint64_t)k;
		if (mbox_unq_feed(&u, buf, (size_t)k) == -1) {
			errno = ECANCELED;
			return -1;
		}
	}
	/* Skip the trailer, checking it is what the writer put there. */
	k = mrd_read(r, buf, 1u + (unsigned)l->added);
	if (u.state == 0 || k != (ssize_t)(1 + l->added) || buf[0] != '\n' ||
	    (l->added && buf[1] != '\n')) {
		errno = EIO;
		return -1;
	}
	if (mbox_unq_finish(&u) == -1) {
		errno = ECANCELED;
		return -1;
	}
	return 0;
}

int
mbox_read(int dirfd, const char *loc,
    int (*cb)(void *, const void *, size_t), void *arg, struct fmt *f)
{
	struct mloc	l;
	struct mrd	r;
	int		ret;

	if (parse_loc(loc, &l) == -1) {
		errno = EINVAL;
		return fmt_fail(f, "bad mbox location %s", loc);
	}
	if (mrd_open(&r, dirfd, &l) == -1)
		return fmt_fail(f, "mbox/%s: %s", l.name, strerror(errno));
	ret = read_one(&r, &l, cb, arg);
	if (ret == -1)
		fmt_fail(f, "mbox/%s: %s at %s", l.name, errno == ECANCELED ?
		    "reading stopped" : errno == EIO ?
		    "truncated or corrupt" : strerror(errno), loc);
	mrd_close(&r);
	return ret;
}

/*
 * A gzip reader kept between two reads of the same member: reading the
 * messages of a member in their order (an export) inflates it once, not
 * once per message.
 */
struct mbox_rcache {
	struct mrd	r;
	char		name[128];
	uint64_t	member;
};

void
mbox_rcache_free(struct mbox_rcache *c)
{
	if (c == NULL)
		return;
	mrd_close(&c->r);
	free(c);
}

int
mbox_read_cached(struct mbox_rcache **cp, int dirfd, const char *loc,
    int (*cb)(void *, const void *, size_t), void *arg, struct fmt *f)
{
	struct mbox_rcache	*c = *cp;
	struct mloc		 l;
	int			 ret;

	if (parse_loc(loc, &l) == -1 || !l.gz)
		return mbox_read(dirfd, loc, cb, arg, f);
	if (c != NULL && (strcmp(c->name, l.name) != 0 ||
	    c->member != l.member || c->r.upos > l.off)) {
		mbox_rcache_free(c);
		*cp = c = NULL;
	}
	if (c == NULL) {
		c = xcalloc(1, sizeof *c);
		if (mrd_open(&c->r, dirfd, &l) == -1) {
			free(c);
			return fmt_fail(f, "mbox/%s: %s", l.name,
			    strerror(errno));
		}
		snprintf(c->name, sizeof c->name, "%s", l.name);
		c->member = l.member;
		*cp = c;
	}
	ret = read_one(&c->r, &l, cb, arg);
	if (ret == -1) {
		fmt_fail(f, "mbox/%s: %s at %s", l.name, errno == ECANCELED ?
		    "reading stopped" : errno == EIO ?
		    "truncated or corrupt" : strerror(errno), loc);
		mbox_rcache_free(c);
		*cp = NULL;
	}
	return ret;
}

struct vsort {
	struct fmt_vitem	*it;
	struct mloc		 l;
	int			 bad;
};

/* Locations that do not parse first, then by file, member and offset. */
static int
vsort_cmp(const void *a, const void *b)
{
	const struct vsort	*x = a, *y = b;
	int			 c;

	if (x->bad != y->bad)
		return x->bad ? -1 : 1;
	if ((c = strcmp(x->l.name, y->l.name)) != 0)
		return c;
	if (x->l.member != y->l.member)
		return x->l.member < y->l.member ? -1 : 1;
	if (x->l.off != y->l.off)
		return x->l.off < y->l.off ? -1 : 1;
	return 0;
}

static int
vhash_cb(void *arg, const void *p, size_t n)
{
	hash_update(arg, p, n);
	return 0;
}

/*
 * An item whose location does not parse is that item's failure
 * (unreadable), reported like any other; the others are verified as if
 * it were not there.
 */
int
mbox_verify(int dirfd, struct fmt_vitem *it, size_t n)
{
	struct vsort		*v = xreallocarray(NULL, n, sizeof *v);
	struct hash		*h = hash_new();
	struct mrd		 r;
	const struct mloc	*cur = NULL;	/* what r was opened for */
	unsigned char		 got[HASH_LEN];
	size_t			 i;
	int			 open = 0;

	for (i = 0; i < n; i++) {
		v[i].it = &it[i];
		v[i].bad = parse_loc(it[i].loc, &v[i].l) == -1;
	}
	qsort(v, n, sizeof *v, vsort_cmp);
	for (i = 0; i < n; i++) {
		if (v[i].bad) {
			v[i].it->result = FMT_V_UNREADABLE;
			continue;
		}
		/* One reader per file and gzip member, read in order. */
		if (!open || strcmp(v[i].l.name, cur->name) != 0 ||
		    v[i].l.member != cur->member || v[i].l.off < r.upos) {
			if (open)
				mrd_close(&r);
			open = mrd_open(&r, dirfd, &v[i].l) == 0;
			cur = &v[i].l;
			if (!open) {
				v[i].it->result = errno == ENOENT ?
				    FMT_V_MISSING : FMT_V_UNREADABLE;
				continue;
			}
		}
		hash_reset(h);
		if (read_one(&r, &v[i].l, vhash_cb, h) == -1) {
			v[i].it->result = FMT_V_UNREADABLE;
			/* The stream is unusable past this point. */
			mrd_close(&r);
			open = 0;
			continue;
		}
		hash_final(h, got);
		v[i].it->result = memcmp(got, v[i].it->sha, HASH_LEN) == 0 ?
		    FMT_V_OK : FMT_V_ALTERED;
	}
	if (open)
		mrd_close(&r);
	hash_free(h);
	free(v);
	return 0;
}
