/*
 * import_list.c -- the listing of the import source (source_import.c
 * says what the source is): walking files and folder trees, telling
 * what each file holds by its content, reading each once to find its
 * messages (mboxparse.c) and to name them.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "import_int.h"
#include "mboxparse.h"
#include "util.h"

/* ---- reporting -------------------------------------------------------- */

void
imp_item_error(struct isrc *s, const char *path, const char *member,
    const char *fmt, ...)
{
	char	why[600], where[4400];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	if (member != NULL)
		snprintf(where, sizeof where, "%s (member %s)", path, member);
	else
		snprintf(where, sizeof where, "%s", path);
	s->unreadable++;
	if (s->a.item_error != NULL)
		s->a.item_error(s->a.arg, where, why);
}

/* ---- the listing: files and their messages ---------------------------- */

static uint32_t
add_cont(struct isrc *s, const char *path, const struct stat *sb, int ar)
{
	struct icont	*c;

	if (s->nc == s->capc) {
		s->capc = s->capc ? s->capc * 2 : 64;
		s->c = xreallocarray(s->c, s->capc, sizeof *s->c);
	}
	c = &s->c[s->nc];
	memset(c, 0, sizeof *c);
	c->path = xstrdup(path);
	c->dev = sb->st_dev;
	c->ino = sb->st_ino;
	c->size = sb->st_size;
	c->mtime = sb->st_mtim;
	c->ar = ar;
	return (uint32_t)s->nc++;
}

static uint32_t
add_item(struct isrc *s, uint32_t cont, uint32_t member, const char *name,
    const char *flags, int mbox)
{
	struct iitem	*it;

	if (s->nit == s->capit) {
		s->capit = s->capit ? s->capit * 2 : 64;
		s->it = xreallocarray(s->it, s->capit, sizeof *s->it);
	}
	it = &s->it[s->nit];
	memset(it, 0, sizeof *it);
	it->cont = cont;
	it->member = member;
	it->name = name != NULL ? xstrdup(name) : NULL;
	it->flags = flags != NULL ? xstrdup(flags) : NULL;
	it->mbox = (uint8_t)mbox;
	it->unquote = (uint8_t)mbox;
	return (uint32_t)s->nit++;
}

/* The unique id of a message (the top of this file). */
static void
make_uid(const struct isrc *s, struct imsg *m,
    const unsigned char raw[HASH_LEN])
{
	const struct iitem	*it = &s->it[m->item];
	const struct icont	*c = &s->c[it->cont];
	struct hash		*h = hash_new();
	unsigned char		 d[HASH_LEN];
	char			 num[64];

	hash_update(h, c->path, strlen(c->path) + 1);
	snprintf(num, sizeof num, "%u:%llu", it->member,
	    (unsigned long long)m->sep);
	if (it->name != NULL)
		hash_update(h, it->name, strlen(it->name));
	hash_update(h, "", 1);
	hash_update(h, num, strlen(num) + 1);
	hash_update(h, raw, HASH_LEN);
	hash_final(h, d);
	hash_free(h);
	memcpy(m->uid, d, sizeof m->uid);
}

void
imp_uid_text(const struct imsg *m, char uid[45])
{
	memcpy(uid, "imp-", 4);
	hex_encode(m->uid, sizeof m->uid, uid + 4);
	uid[44] = '\0';
}

static int
add_msg(struct isrc *s, struct pop3_listing *l, const struct imsg *m,
    const unsigned char raw[HASH_LEN])
{
	char	uid[45];

	if (s->a.max_msg_size > 0 && m->len > s->a.max_msg_size) {
		const struct iitem	*it = &s->it[m->item];

		imp_item_error(s, s->c[it->cont].path, it->name, "the message at "
		    "byte %llu is %llu bytes, over the maximum size "
		    "(--max-message-size): not imported",
		    (unsigned long long)m->sep, (unsigned long long)m->len);
		return 0;
	}
	if (s->nm >= s->a.max_listing) {
		source_fail(&s->src, FAIL_ACCOUNT, FAIL_R_IO, "more than %zu "
		    "messages in the paths given (max_listing): import them "
		    "in parts", s->a.max_listing);
		return -1;
	}
	if (s->nm == s->capm) {
		s->capm = s->capm ? s->capm * 2 : 256;
		s->m = xreallocarray(s->m, s->capm, sizeof *s->m);
	}
	s->m[s->nm] = *m;
	make_uid(s, &s->m[s->nm], raw);
	imp_uid_text(&s->m[s->nm], uid);
	if (source_listing_add(l, (uint32_t)s->nm + 1, uid, 44,
	    m->len) == -1)
		return source_fail(&s->src, FAIL_RUN, FAIL_R_IO,
		    "listing: too many messages");
	s->nm++;
	return 0;
}

/*
 * The scan of one mbox stream: the scanner's callbacks record each
 * message's region and hash its raw bytes; Content-Length values are
 * kept to tell a Content-Length mbox at the end.
 */
struct pmsg {
	uint64_t	sep, off, end, body;
	int64_t		clen;
	unsigned char	raw[HASH_LEN];
};

struct scan {
	struct isrc	*s;
	uint32_t	 item;
	struct pmsg	*p;
	size_t		 np, capp;
	struct hash	*h;
	int		 want_eol;	/* inside a From_ line */
	uint64_t	 pos;
	unsigned char	 tail[4];	/* the last bytes seen */
	size_t		 ntail;
	const char	*path, *member;
};

/* How many bytes the empty line just before pos takes: 0, 1 or 2. */
static size_t
blank_len(const struct scan *sc)
{
	const unsigned char	*t = sc->tail;
	size_t			 n = sc->ntail;

	if (n >= 3 && t[n - 1] == '\n' && t[n - 2] == '\r' && t[n - 3] == '\n')
		return 2;
	if (n >= 2 && t[n - 1] == '\n' && t[n - 2] == '\n')
		return 1;
	if (n == 2 && t[0] == '\r' && t[1] == '\n')
		return 2;
	if (n == 1 && t[0] == '\n')
		return 1;
	return 0;
}

static void
scan_close(struct scan *sc, uint64_t end)
{
	struct pmsg	*p;

	if (sc->np == 0)
		return;
	p = &sc->p[sc->np - 1];
	p->end = end;
	hash_final(sc->h, p->raw);
}

static void
sc_sep(void *arg, uint64_t off, int blank)
{
	struct scan	*sc = arg;
	struct pmsg	*p;
	size_t		 drop = blank ? blank_len(sc) : 0;

	scan_close(sc, off >= drop ? off - drop : off);
	if (sc->np == sc->capp) {
		sc->capp = sc->capp ? sc->capp * 2 : 64;
		sc->p = xreallocarray(sc->p, sc->capp, sizeof *sc->p);
	}
	p = &sc->p[sc->np++];
	memset(p, 0, sizeof *p);
	p->sep = off;
	p->off = off;
	p->clen = -1;
	hash_reset(sc->h);
	sc->want_eol = 1;
}

static void
sc_bytes(void *arg, const char *b, size_t n)
{
	struct scan	*sc = arg;
	const char	*q;
	size_t		 k;

	if (sc->np > 0)
		hash_update(sc->h, b, n);
	if (sc->want_eol && sc->np > 0) {
		q = memchr(b, '\n', n);
		sc->p[sc->np - 1].off = sc->pos + (q != NULL ?
		    (uint64_t)(q - b) + 1 : n);
		if (q != NULL)
			sc->want_eol = 0;
	}
	sc->pos += n;
	/* The last bytes, for the empty line before a separator. */
	for (k = n > 4 ? n - 4 : 0; k < n; k++) {
		if (sc->ntail == sizeof sc->tail) {
			memmove(sc->tail, sc->tail + 1, sizeof sc->tail - 1);
			sc->ntail--;
		}
		sc->tail[sc->ntail++] = (unsigned char)b[k];
	}
}

static void
sc_clen(void *arg, uint64_t v)
{
	struct scan	*sc = arg;

	if (sc->np > 0 && sc->p[sc->np - 1].clen < 0)
		sc->p[sc->np - 1].clen = (int64_t)v;
}

static void
sc_body(void *arg, uint64_t off)
{
	struct scan	*sc = arg;

	if (sc->np > 0)
		sc->p[sc->np - 1].body = off;
}

static void
sc_bad_from(void *arg, uint64_t off)
{
	struct scan	*sc = arg;

	/* Said, not counted: the line stays in its message. */
	if (sc->s->a.notice != NULL) {
		char	why[200];

		snprintf(why, sizeof why, "a \"From \" line at byte %llu "
		    "has no date: not a separator, kept inside its message",
		    (unsigned long long)off);
		sc->s->a.notice(sc->s->a.arg, sc->path, why);
	}
}

/*
 * Does message k's Content-Length end it exactly where a separator (or
 * the end) is? The index of the first message after it, or 0.
 */
static size_t
clen_next(const struct scan *sc, size_t k, uint64_t total)
{
	const struct pmsg	*p = &sc->p[k];
	uint64_t		 end;
	size_t			 j;

	if (p->clen < 0 || p->body == 0)
		return 0;
	end = p->body + (uint64_t)p->clen;
	for (j = k + 1; j < sc->np; j++) {
		if (sc->p[j].sep > end + 2)
			return 0;
		if (end == sc->p[j - 1].end)
			return j;
	}
	return end == total || end == sc->p[sc->np - 1].end ? sc->np : 0;
}

/*
 * The scan is over: messages into the listing. A file whose first
 * message carries a Content-Length that ends it at a separator is a
 * Content-Length mbox (mboxcl2): each message with such a header ends
 * where it says (a "From " line inside is body); one whose header spans
 * such a line is not unquoted (its writer did not quote: the line would
 * not be a separator else), the others are, as any mbox. After a read
 * error (!open) nothing from a message whose Content-Length reaches
 * past what was read is listed: it may be cut.
 */
static int
scan_finish(struct scan *sc, struct pop3_listing *l, uint64_t total,
    int open)
{
	struct isrc	*s = sc->s;
	struct imsg	 m;
	struct hash	*h;
	size_t		 k, j;
	int		 cl2;

	/* The last message ends at the end, but for an mbox's empty line. */
	if (open)
		scan_close(sc, total - (s->it[sc->item].mbox ?
		    blank_len(sc) : 0));
	cl2 = sc->np > 0 && clen_next(sc, 0, total) > 0;
	h = hash_new();
	for (k = 0; k < sc->np; k = j) {
		if (!open && sc->p[k].clen >= 0 && sc->p[k].body +
		    (uint64_t)sc->p[k].clen > total)
			break;
		j = cl2 ? clen_next(sc, k, total) : 0;
		if (j <= k)
			j = k + 1;
		memset(&m, 0, sizeof m);
		m.raw = j > k + 1;
		m.item = sc->item;
		m.sep = sc->p[k].sep;
		m.off = sc->p[k].off;
		m.len = sc->p[j - 1].end > m.off ? sc->p[j - 1].end - m.off : 0;
		if (j > k + 1) {
			/* One message over several regions. */
			size_t	x;

			hash_reset(h);
			for (x = k; x < j; x++)
				hash_update(h, sc->p[x].raw, HASH_LEN);
			hash_final(h, sc->p[k].raw);
		}
		if (add_msg(s, l, &m, sc->p[k].raw) == -1) {
			hash_free(h);
			return -1;
		}
	}
	hash_free(h);
	return 0;
}

/* Kind of an opened file from its first bytes. */
static int
magic_archive(const unsigned char *b, size_t n)
{
	static const unsigned char	gz[] = { 0x1f, 0x8b },
					Z[] = { 0x1f, 0x9d },
					xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0 },
					zst[] = { 0x28, 0xb5, 0x2f, 0xfd },
					sz[] = { '7', 'z', 0xbc, 0xaf, 0x27,
					    0x1c };

	return (n >= 2 && memcmp(b, gz, 2) == 0) ||
	    (n >= 2 && memcmp(b, Z, 2) == 0) ||
	    (n >= 3 && memcmp(b, "BZh", 3) == 0) ||
	    (n >= 6 && memcmp(b, xz, 6) == 0) ||
	    (n >= 4 && memcmp(b, zst, 4) == 0) ||
	    (n >= 6 && memcmp(b, sz, 6) == 0) ||
	    (n >= 4 && memcmp(b, "PK\003\004", 4) == 0) ||
	    (n >= 6 && memcmp(b, "07070", 5) == 0) ||
	    (n >= 262 && memcmp(b + 257, "ustar", 5) == 0);
}

/* Reads of one stream during the listing: a plain fd or an archive. */
struct rd {
	int		 fd;
	struct imp_ar	*ar;
};

static ssize_t
rd_read(struct rd *r, char *b, size_t n)
{
	ssize_t	k;

	if (r->ar != NULL)
		return imp_ar_read(r->ar, b, n);
	do
		k = read(r->fd, b, n);
	while (k == -1 && errno == EINTR);
	return k;
}

static const char *
rd_error(struct rd *r)
{
	return r->ar != NULL ? imp_ar_error(r->ar) : strerror(errno);
}

/*
 * One stream (a plain file, a decompressed file, a member) into the
 * listing. head holds its first nhead bytes, read already. 0, or -1 on
 * a failure of the whole listing (too many messages); a stream that
 * cannot be read is an item error.
 */
static int
list_stream(struct isrc *s, struct pop3_listing *l, uint32_t cont,
    uint32_t member, const char *name, const char *flags, int maildir,
    struct rd *r, const char *head, size_t nhead, const struct stat *sb)
{
	const char		*path = s->c[cont].path;
	enum mbox_kind		 k = mbox_sniff(head, nhead);
	struct mboxscan		 ms;
	struct mboxscan_cb	 cb;
	struct scan		 sc;
	struct imsg		 m;
	unsigned char		 raw[HASH_LEN];
	ssize_t			 n;
	uint64_t		 total = nhead;
	int			 r2 = 0, failed = 0;

	if (k == MBOX_KIND_NONE) {
		imp_item_error(s, path, name, "not a mail file (neither an mbox "
		    "nor a message): skipped");
		return 0;
	}
	/* A Maildir file is one message, even one that starts "From ". */
	if (maildir)
		k = MBOX_KIND_MESSAGE;
	if (k == MBOX_KIND_MESSAGE && r->ar == NULL) {
		/* One message in a file: named by its size and stamp. */
		struct hash	*h = hash_new();
		char		 st[128];

		memset(&m, 0, sizeof m);
		m.item = add_item(s, cont, member, name, flags, 0);
		s->it[m.item].crlf = (uint8_t)mbox_crlf(head, nhead);
		m.len = (uint64_t)sb->st_size;
		snprintf(st, sizeof st, "%llu:%llu:%lld.%09ld",
		    (unsigned long long)sb->st_size,
		    (unsigned long long)sb->st_ino,
		    (long long)sb->st_mtim.tv_sec, sb->st_mtim.tv_nsec);
		hash_update(h, st, strlen(st));
		hash_final(h, raw);
		hash_free(h);
		return add_msg(s, l, &m, raw);
	}
	memset(&sc, 0, sizeof sc);
	sc.s = s;
	sc.path = path;
	sc.member = name;
	sc.h = hash_new();
	sc.item = add_item(s, cont, member, name, flags, k == MBOX_KIND_MBOX);
	s->it[sc.item].crlf = (uint8_t)mbox_crlf(head, nhead);
	if (k == MBOX_KIND_MESSAGE) {
		/* One message (in an archive): a region from byte 0. */
		sc_sep(&sc, 0, 0);
		sc.want_eol = 0;
		sc.p[0].off = 0;
	}
	memset(&cb, 0, sizeof cb);
	cb.sep = sc_sep;
	cb.bytes = sc_bytes;
	cb.clen = sc_clen;
	cb.body = sc_body;
	cb.bad_from = sc_bad_from;
	cb.arg = &sc;
	mboxscan_init(&ms, &cb);
	if (k == MBOX_KIND_MBOX)
		mboxscan_feed(&ms, head, nhead);
	else
		sc_bytes(&sc, head, nhead);
	for (;;) {
		n = rd_read(r, s->buf, IMP_BUF);
		if (n == 0)
			break;
		if (n < 0) {
			imp_item_error(s, path, name, "%s at byte %llu: the "
			    "messages after the last whole one are not "
			    "imported", rd_error(r),
			    (unsigned long long)total);
			failed = 1;
			break;
		}
		total += (uint64_t)n;
		if (k == MBOX_KIND_MBOX)
			mboxscan_feed(&ms, s->buf, (size_t)n);
		else
			sc_bytes(&sc, s->buf, (size_t)n);
	}
	/* After an error the line held is no line: it was cut. */
	if (k == MBOX_KIND_MBOX && !failed)
		mboxscan_end(&ms);
	if (failed && sc.np > 0) {
		/*
		 * The last message may be cut: not listed. Those before it
		 * were closed at its separator.
		 */
		sc.np--;
		total = sc.p[sc.np].sep;
	}
	if (sc.np > 0)
		r2 = scan_finish(&sc, l, total, !failed);
	hash_free(sc.h);
	free(sc.p);
	return r2;
}

/* Maildir metadata, never mail: skipped without a word. */
static int
maildir_meta(const char *name)
{
	static const char *const meta[] = {
		"dovecot-uidlist", "dovecot-keywords", "dovecot-uidvalidity",
		"dovecot.index", "dovecot.list.index", "dovecot.mailbox.log",
		"maildirfolder", "maildirsize", "subscriptions",
		"courierimapuiddb", "courierimapkeywords",
		"courierimapacl", "courierpop3dsizelist",
	};
	size_t	i;

	for (i = 0; i < sizeof meta / sizeof meta[0]; i++)
		if (strncmp(name, meta[i], strlen(meta[i])) == 0)
			return 1;
	return 0;
}

/* The Maildir flags of a file name ("...:2,FS"), or NULL. */
static const char *
maildir_flags(const char *name)
{
	const char	*p = strrchr(name, ':');

	if (p == NULL)
		p = strrchr(name, '!');	/* ':' on file systems without it */
	return p != NULL && p[1] == '2' && p[2] == ',' ? p + 3 : NULL;
}

/* A member named .../cur/NAME or .../new/NAME: a Maildir's file. */
static int
in_maildir(const char *name)
{
	const char	*b = strrchr(name, '/'), *p;

	if (b == NULL)
		return 0;
	for (p = b; p > name && p[-1] != '/'; p--)
		;
	return (b - p == 3 && (strncmp(p, "cur", 3) == 0 ||
	    strncmp(p, "new", 3) == 0));
}

static int
list_archive(struct isrc *s, struct pop3_listing *l, uint32_t cont, int fd)
{
	struct imp_ar	*ar;
	struct rd	 r;
	const char	*name, *base, *path = s->c[cont].path;
	char		 err[600], *nm;
	int64_t		 size;
	uint32_t	 member;
	ssize_t		 n;
	size_t		 have;
	int		 x, reg;

	if ((ar = imp_ar_open(fd, 1, err, sizeof err)) == NULL) {
		imp_item_error(s, path, NULL, "%s", err);
		return 0;
	}
	r.fd = -1;
	r.ar = ar;
	for (member = 0;; member++) {
		x = imp_ar_next(ar, &name, &reg, &size);
		if (x == 0)
			break;
		if (x == -1) {
			imp_item_error(s, path, NULL, "%s: the members after it "
			    "are not imported", imp_ar_error(ar));
			break;
		}
		if (!reg)
			continue;
		base = strrchr(name, '/');
		base = base != NULL ? base + 1 : name;
		if (base[0] == '.' || maildir_meta(base) ||
		    strstr(name, "/tmp/") != NULL ||
		    strncmp(name, "tmp/", 4) == 0)
			continue;
		nm = xstrdup(name);
		for (have = 0; have < IMP_SNIFF; have += (size_t)n) {
			n = imp_ar_read(ar, s->buf + have, IMP_SNIFF - have);
			if (n <= 0)
				break;
		}
		if (n < 0) {
			imp_item_error(s, path, nm, "%s", imp_ar_error(ar));
			free(nm);
			break;
		}
		x = list_stream(s, l, cont, member, imp_ar_raw(ar) ? NULL : nm,
		    maildir_flags(nm), in_maildir(nm), &r, s->buf, have, NULL);
		free(nm);
		if (x == -1) {
			imp_ar_close(ar);
			return -1;
		}
	}
	imp_ar_close(ar);
	return 0;
}

/*
 * One file: an archive or compressed file through libarchive, else an
 * mbox or a one-message file read directly.
 */
static int
list_file(struct isrc *s, struct pop3_listing *l, const char *path,
    int top, const char *flags, int maildir)
{
	struct stat	 sb;
	struct rd	 r;
	uint32_t	 cont;
	size_t		 have = 0;
	ssize_t		 n;
	int		 fd, x;
	char		*head = s->buf;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
	    (top ? 0 : O_NOFOLLOW));
	if (fd == -1) {
		imp_item_error(s, path, NULL, "cannot open: %s", strerror(errno));
		return 0;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		imp_item_error(s, path, NULL, "not a regular file: skipped");
		close(fd);
		return 0;
	}
	(void)fcntl(fd, F_SETFL, 0);
	while (have < IMP_SNIFF) {
		n = read(fd, head + have, IMP_SNIFF - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	if (magic_archive((const unsigned char *)head, have)) {
		if (lseek(fd, 0, SEEK_SET) == -1) {
			imp_item_error(s, path, NULL, "cannot read: %s",
			    strerror(errno));
			close(fd);
			return 0;
		}
		cont = add_cont(s, path, &sb, 1);
		return list_archive(s, l, cont, fd);
	}
	cont = add_cont(s, path, &sb, 0);
	r.fd = fd;
	r.ar = NULL;
	/* The head is copied: the scan reads into s->buf. */
	head = xmalloc(have ? have : 1);
	memcpy(head, s->buf, have);
	x = list_stream(s, l, cont, 0, NULL, flags, maildir, &r, head, have,
	    &sb);
	free(head);
	close(fd);
	return x;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A folder's entries but "." and "..", sorted; NULL and *n = 0 on error. */
static char **
read_names(const char *dir, size_t *n, int *err)
{
	DIR		*d;
	struct dirent	*e;
	char		**v = NULL;
	size_t		 cap = 0;

	*n = 0;
	*err = 0;
	if ((d = opendir(dir)) == NULL) {
		*err = errno;
		return NULL;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			v = xreallocarray(v, cap, sizeof *v);
		}
		v[(*n)++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (*n > 1)
		qsort(v, *n, sizeof *v, name_cmp);
	return v;
}

static void
free_names(char **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int	walk(struct isrc *, struct pop3_listing *, const char *, int,
		    int);

static int
is_dir(const char *dir, const char *sub)
{
	char		p[PATH_MAX];
	struct stat	sb;

	return xsnprintf(p, sizeof p, "%s/%s", dir, sub) != -1 &&
	    lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* A Maildir: its new/ and cur/ messages, then its subfolders. */
static int
walk_maildir(struct isrc *s, struct pop3_listing *l, const char *dir,
    int depth)
{
	static const char *const subs[] = { "new", "cur" };
	char		**v, p[PATH_MAX], sub[PATH_MAX];
	struct stat	 sb;
	size_t		 n, i, k;
	int		 err;

	for (k = 0; k < 2; k++) {
		if (xsnprintf(sub, sizeof sub, "%s/%s", dir, subs[k]) == -1)
			continue;
		v = read_names(sub, &n, &err);
		if (err != 0)
			imp_item_error(s, sub, NULL, "cannot read the folder: %s",
			    strerror(err));
		for (i = 0; i < n; i++) {
			if (v[i][0] == '.' || xsnprintf(p, sizeof p, "%s/%s",
			    sub, v[i]) == -1 || lstat(p, &sb) == -1)
				continue;
			if (!S_ISREG(sb.st_mode)) {
				imp_item_error(s, p, NULL, "not a regular file "
				    "in a Maildir: skipped");
				continue;
			}
			if (list_file(s, l, p, 0, maildir_flags(v[i]), 1) ==
			    -1) {
				free_names(v, n);
				return -1;
			}
		}
		free_names(v, n);
	}
	v = read_names(dir, &n, &err);
	for (i = 0; i < n; i++) {
		if (strcmp(v[i], "new") == 0 || strcmp(v[i], "cur") == 0 ||
		    strcmp(v[i], "tmp") == 0 ||
		    xsnprintf(p, sizeof p, "%s/%s", dir, v[i]) == -1 ||
		    lstat(p, &sb) == -1 || !S_ISDIR(sb.st_mode))
			continue;	/* metadata files are no mail */
		if (walk(s, l, p, depth + 1, 0) == -1) {
			free_names(v, n);
			return -1;
		}
	}
	free_names(v, n);
	return 0;
}

/*
 * A path: a file, or a folder walked in name order. Symlinks are
 * followed only where the user named them (top): inside a tree a link
 * may loop or lead out of it.
 */
static int
walk(struct isrc *s, struct pop3_listing *l, const char *path, int depth,
    int top)
{
	struct stat	 sb;
	char		**v, p[PATH_MAX];
	size_t		 n, i;
	int		 err, r = 0;

	if ((top ? stat(path, &sb) : lstat(path, &sb)) == -1) {
		imp_item_error(s, path, NULL, "%s", strerror(errno));
		return 0;
	}
	if (S_ISLNK(sb.st_mode)) {
		imp_item_error(s, path, NULL, "a symbolic link inside a folder: "
		    "not followed (name its target to import it)");
		return 0;
	}
	if (S_ISREG(sb.st_mode))
		return list_file(s, l, path, top, NULL, 0);
	if (!S_ISDIR(sb.st_mode)) {
		imp_item_error(s, path, NULL, "not a file or a folder: skipped");
		return 0;
	}
	if (depth > IMP_DEPTH_MAX) {
		imp_item_error(s, path, NULL, "more than %d folder levels: not "
		    "read", IMP_DEPTH_MAX);
		return 0;
	}
	if (is_dir(path, "cur") && is_dir(path, "new"))
		return walk_maildir(s, l, path, depth);
	v = read_names(path, &n, &err);
	if (err != 0)
		imp_item_error(s, path, NULL, "cannot read the folder: %s",
		    strerror(err));
	for (i = 0; i < n && r == 0; i++) {
		/* Hidden files are other programs' state, not mail. */
		if (v[i][0] == '.' && !is_dir(path, v[i]))
			continue;
		if (xsnprintf(p, sizeof p, "%s/%s", path, v[i]) == -1) {
			imp_item_error(s, path, v[i], "path too long");
			continue;
		}
		r = walk(s, l, p, depth + 1, 0);
	}
	free_names(v, n);
	return r;
}

int
imp_list_paths(struct isrc *s, struct pop3_listing *l)
{
	size_t		 i;

	char		 real[PATH_MAX];
	int		 r = 0;

	char		**done;
	size_t		 ndone = 0, k, n;

	/*
	 * Absolute paths: the ids and origins do not depend on the cwd. A
	 * path given twice, or inside a folder given before, is read once
	 * (its messages would have the same ids twice).
	 */
	done = xreallocarray(NULL, s->a.npaths ? s->a.npaths : 1,
	    sizeof *done);
	for (i = 0; r == 0 && i < s->a.npaths; i++) {
		if (realpath(s->a.paths[i], real) == NULL) {
			imp_item_error(s, s->a.paths[i], NULL, "%s",
			    strerror(errno));
			continue;
		}
		for (k = 0; k < ndone; k++) {
			n = strlen(done[k]);
			if (strncmp(real, done[k], n) == 0 && (real[n] == '\0' ||
			    real[n] == '/' || (n == 1 && done[k][0] == '/')))
				break;
		}
		if (k < ndone) {
			if (s->a.notice != NULL)
				s->a.notice(s->a.arg, s->a.paths[i], "read "
				    "already (given before, or inside a folder "
				    "given before)");
			continue;
		}
		done[ndone++] = xstrdup(real);
		r = walk(s, l, real, 0, 1);
	}
	for (k = 0; k < ndone; k++)
		free(done[k]);
	free(done);
	return r;
}
