/*
 * test_mboxloc.c -- mbox verification of items whose stored location does
 * not parse (issue 13, section 7), through the format interface only
 * (fmt_mbox_ops).
 *
 * An archive of two files is written: 2024-01.mbox with one short
 * message, 2024-02.mbox with a long one and a short one. Then verify()
 * is given all three items, once as written and then with the location
 * of one replaced by each string of a table of broken ones (as a
 * corrupted index row would give): the broken item must be reported
 * unreadable, the two others still intact.
 *
 * The table starts with the case that the verifier once got wrong: a
 * location naming the second file whose numbers do not parse. Its
 * half-parsed entry kept whatever the work array held before (here, from
 * the previous verify() of the same size, the long message's offsets),
 * sorted next to the short message and made the verifier take the first
 * file's reader for it: the short message was reported unreadable too.
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

#include "format.h"
#include "hash.h"
#include "t.h"

#define LOCMAX	256
#define JAN	1704067200	/* 2024-01-01 00:00 UTC */
#define FEB	1706745600	/* 2024-02-01 00:00 UTC */

static char	tdir[64];
static char	acctdir[128];

struct msg {
	char	*p;
	size_t	 len;
	char	 loc[LOCMAX];
};

static struct msg	msgs[3];

/* The index's view: what synced() reported, given back to recover(). */
static struct fmt_vol	vols[4];
static size_t		nvols;

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

static int
sync_record(struct fmt *f)
{
	const struct fmt_vol	*v;
	size_t			 n, k, i;

	if (f->ops->sync(f) == -1)
		return -1;
	n = f->ops->synced(f, &v);
	for (k = 0; k < n; k++) {
		for (i = 0; i < nvols; i++)
			if (strcmp(vols[i].name, v[k].name) == 0)
				break;
		if (i == NELEM(vols))
			return -1;
		vols[i] = v[k];
		if (i == nvols)
			nvols++;
	}
	return 0;
}

static struct fmt *
open_mbox(void)
{
	struct fmt_args		 a;
	struct fmt_committed	 c = { vol_get, NULL };
	struct fmt		*f;
	char			 err[512];

	a.dir = acctdir;
	a.compress = FMT_COMP_NONE;
	if ((f = fmt_mbox_ops.open(&a, err, sizeof err)) == NULL) {
		fprintf(stderr, "mbox open: %s\n", err);
		exit(2);
	}
	if (f->ops->recover(f, &c) == -1) {
		fprintf(stderr, "mbox recover: %s\n", fmt_error(f));
		exit(2);
	}
	return f;
}

/* Write m as one message of the batch, arriving at when. */
static int
put(struct fmt *f, struct msg *m, int64_t when)
{
	struct fmt_msginfo	mi;
	unsigned char		sha[HASH_LEN];

	hash_sha256(m->p, m->len, sha);
	memset(&mi, 0, sizeof mi);
	mi.size = m->len;
	mi.when = when;
	mi.content_length = -1;
	mi.sha256 = sha;
	if (f->ops->begin(f, &mi) == -1 ||
	    f->ops->write(f, m->p, m->len) == -1 ||
	    f->ops->end(f, m->loc, sizeof m->loc) == -1) {
		fprintf(stderr, "mbox write: %s\n", fmt_error(f));
		return -1;
	}
	return 0;
}

static int
setup(void)
{
	struct fmt	*f;
	size_t		 i, n = 40000;
	int		 r;

	if (t_tmpdir(tdir, sizeof tdir, "mbl") == -1)
		return -1;
	snprintf(acctdir, sizeof acctdir, "%s/acct", tdir);
	if (mkdir(acctdir, 0700) == -1) {
		perror(acctdir);
		return -1;
	}
	msgs[0].p = strdup("From: a@example.org\nSubject: short\n\nA.\n");
	msgs[2].p = strdup("From: c@example.org\nSubject: short\n\nC.\n");
	/* Longer than the whole first file, so that its offset is past it. */
	if ((msgs[1].p = malloc(n + 64)) == NULL)
		return -1;
	r = snprintf(msgs[1].p, 64, "From: b@example.org\nSubject: long\n\n");
	for (i = (size_t)r; i < n; i++)
		msgs[1].p[i] = i % 64 == 63 ? '\n' : 'b';
	msgs[1].p[n - 1] = '\n';
	msgs[1].len = n;
	msgs[0].len = strlen(msgs[0].p);
	msgs[2].len = strlen(msgs[2].p);
	f = open_mbox();
	r = put(f, &msgs[0], JAN) == -1 || sync_record(f) == -1 ||
	    put(f, &msgs[1], FEB) == -1 || put(f, &msgs[2], FEB) == -1 ||
	    sync_record(f) == -1 ? -1 : 0;
	f->ops->close(f);
	return r;
}

/* Verify the three messages, item k's location replaced by loc. */
static void
verify_with(struct fmt *f, int k, const char *loc,
    enum fmt_vresult res[3])
{
	struct fmt_vitem	items[3];
	int			i;

	for (i = 0; i < 3; i++) {
		memset(&items[i], 0, sizeof items[i]);
		items[i].loc = i == k ? loc : msgs[i].loc;
		hash_sha256(msgs[i].p, msgs[i].len, items[i].sha);
		items[i].result = (enum fmt_vresult)0x5a5a;
		items[i].id = i;
	}
	T_CHECK(f->ops->verify(f, items, 3) == 0);
	for (i = 0; i < 3; i++)
		res[items[i].id] = items[i].result;
}

static void
test_bad_location_is_that_items_failure(void)
{
	static const char *const bad[] = {
		"2024-02.mbox:0:x:1:-",		/* numbers that do not parse */
		"2024-02.mbox",			/* no fields */
		"garbage",			/* no colon */
		"",				/* a pending row's */
		":0:0:10:-",			/* no file */
		"2024-02.mbox:0:0:40038:x",	/* bad flag */
		"2024-02.mbox:0:0:1:-",		/* shorter than a message */
		"2024-02.mbox:0:0:99999999999999999999:-",	/* overflow */
		"2024-02.mbox:-1:0:10:-",	/* sign */
		"../2024-02.mbox:0:0:10:-",	/* not a name of ours */
		".2024-02.mbox:0:0:10:-",
		"2024-02.txt:0:0:10:-",
		"2024-02.mbox:0:0:10:n:extra",
		"2024-02.mbox:0:0:10",
		"2024-02.mbox::0:10:-",
		"2024-02.mbox:0: 0:10:-",
	};
	struct fmt		*f = open_mbox();
	enum fmt_vresult	 res[3];
	size_t			 b;
	int			 k, i;

	/* As written: all intact (and the work array filled once). */
	verify_with(f, -1, NULL, res);
	for (i = 0; i < 3; i++)
		T_CHECKF(res[i] == FMT_V_OK, "message %d: %s", i,
		    fmt_vresult_str(res[i]));
	for (b = 0; b < NELEM(bad); b++) {
		for (k = 0; k < 3; k++) {
			/* Refill the work array with valid entries first. */
			verify_with(f, -1, NULL, res);
			verify_with(f, k, bad[b], res);
			for (i = 0; i < 3; i++)
				T_CHECKF(res[i] == (i == k ?
				    FMT_V_UNREADABLE : FMT_V_OK),
				    "\"%s\" as message %d's location: message "
				    "%d %s", bad[b], k, i,
				    fmt_vresult_str(res[i]));
		}
	}
	f->ops->close(f);
}

static void
test_two_bad_locations(void)
{
	struct fmt_vitem	 items[3];
	struct fmt		*f = open_mbox();
	int			 i;

	for (i = 0; i < 3; i++) {
		memset(&items[i], 0, sizeof items[i]);
		items[i].loc = i == 1 ? msgs[i].loc : i == 0 ? "junk" : "x";
		hash_sha256(msgs[i].p, msgs[i].len, items[i].sha);
		items[i].result = (enum fmt_vresult)0x5a5a;
	}
	T_CHECK(f->ops->verify(f, items, 3) == 0);
	T_CHECK(items[0].result == FMT_V_UNREADABLE);
	T_CHECK(items[1].result == FMT_V_OK);
	T_CHECK(items[2].result == FMT_V_UNREADABLE);
	f->ops->close(f);
}

static void
test_read_bad_location(void)
{
	struct fmt	*f = open_mbox();

	T_CHECK(f->ops->read(f, "2024-02.mbox:0:x:1:-", NULL, NULL) == -1);
	T_CHECK(strstr(fmt_error(f), "bad mbox location") != NULL);
	f->ops->close(f);
}

int
main(void)
{
	int	i;

	if (setup() == -1) {
		fprintf(stderr, "setup failed\n");
		t_rmrf(tdir);
		return 2;
	}
	T_RUN(test_bad_location_is_that_items_failure);
	T_RUN(test_two_bad_locations);
	T_RUN(test_read_bad_location);
	t_rmrf(tdir);
	for (i = 0; i < 3; i++)
		free(msgs[i].p);
	return T_END();
}
