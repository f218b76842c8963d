/*
 * fuzz_uidstate.c -- the state-file parsers of mpop, getmail6 and
 * fetchmail, uidstate_parse().
 *
 * Input: a first byte (mod 3: mpop, getmail, fetchmail), a line "HOST
 * USER" (the account asked for; an empty line: any), then the file.
 * Checked, from uidstate.h: the result is 0, -1 with a message that
 * names the file and holds no control byte, or UIDSTATE_STOPPED only
 * when the callback stopped; every UID given is 1..70 characters
 * 0x21-0x7E, NUL-terminated at its length, and appears in the file;
 * when is -1 or more (and -1 but for getmail); the counts add up to the
 * UIDs of the accounts seen (when all fit in the stats); the outcome
 * does not depend on the account asked for (an error for one is an
 * error for any, and any account takes at least as much); the same
 * parse twice gives the same; a callback that stops at the k-th UID
 * stops there.
 */
#include <string.h>

#include "fuzz.h"
#include "uidstate.h"

#define NAME	"fuzz"

struct acc {
	const char	*buf;
	size_t		 len;
	size_t		 n;
	size_t		 stop_at;	/* 0: never */
	uint64_t	 sum;		/* of lengths and bytes: a fingerprint */
	int		 getmail;
};

static const void *
find(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	size_t	i;

	for (i = 0; i + nlen <= hlen; i++)
		if (memcmp(hay + i, needle, nlen) == 0)
			return hay + i;
	return NULL;
}

static int
cb(void *arg, const char *uid, size_t uidlen, int64_t when)
{
	struct acc	*a = arg;
	size_t		 i;

	FUZZ_CHECK(uidlen >= 1 && uidlen <= 70);
	FUZZ_CHECK(uid[uidlen] == '\0');
	for (i = 0; i < uidlen; i++)
		FUZZ_CHECK(uid[i] >= 0x21 && uid[i] <= 0x7e);
	FUZZ_CHECK(find(a->buf, a->len, uid, uidlen) != NULL);
	FUZZ_CHECK(when >= -1);
	if (!a->getmail)
		FUZZ_CHECK(when == -1);
	a->sum = a->sum * 31 + uidlen;
	for (i = 0; i < uidlen; i++)
		a->sum = a->sum * 131 + (unsigned char)uid[i];
	a->sum += (uint64_t)when;
	a->n++;
	return a->stop_at != 0 && a->n == a->stop_at;
}

static int
run(enum uidstate_tool tool, const char *buf, size_t len, const char *host,
    const char *user, size_t stop_at, struct acc *a,
    struct uidstate_stats *st)
{
	char	err[512];
	size_t	i, sum = 0;
	int	r;

	memset(a, 0, sizeof *a);
	a->buf = buf;
	a->len = len;
	a->stop_at = stop_at;
	a->getmail = tool == UIDSTATE_GETMAIL;
	err[0] = '\0';
	r = uidstate_parse(tool, NAME, buf, len, host, user, cb, a, st, err,
	    sizeof err);
	FUZZ_CHECK(r == 0 || r == -1 || r == UIDSTATE_STOPPED);
	if (r == -1) {
		FUZZ_CHECK(strncmp(err, NAME ":", sizeof NAME) == 0);
		for (i = 0; err[i] != '\0'; i++)
			FUZZ_CHECK((unsigned char)err[i] >= 0x20 &&
			    (unsigned char)err[i] < 0x7f);
		return r;
	}
	FUZZ_CHECK(err[0] == '\0');
	if (r == UIDSTATE_STOPPED) {
		FUZZ_CHECK(stop_at != 0 && a->n == stop_at);
		FUZZ_CHECK(st->taken == stop_at - 1);
		return r;
	}
	FUZZ_CHECK(st->taken == a->n);
	FUZZ_CHECK(stop_at == 0 || a->n < stop_at);
	FUZZ_CHECK(st->npairs <= UIDSTATE_NPAIRS);
	FUZZ_CHECK(st->more_pairs == 0 || st->npairs == UIDSTATE_NPAIRS);
	FUZZ_CHECK((st->baduid + st->malformed == 0) ==
	    (st->first_skip[0] == '\0'));
	if (tool == UIDSTATE_GETMAIL) {
		FUZZ_CHECK(st->npairs == 0 && st->other == 0);
		return r;
	}
	FUZZ_CHECK(st->malformed == 0 || tool == UIDSTATE_FETCHMAIL);
	for (i = 0; i < st->npairs; i++) {
		FUZZ_CHECK(strlen(st->pairs[i].host) <= UIDSTATE_NAME_MAX);
		FUZZ_CHECK(strlen(st->pairs[i].user) <= UIDSTATE_NAME_MAX);
		sum += st->pairs[i].uids;
	}
	if (!st->more_pairs)
		FUZZ_CHECK(sum == st->taken + st->other + st->baduid);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uidstate_stats	 st1, st2, sta;
	struct acc		 a1, a2, aa;
	enum uidstate_tool	 tool;
	const char		*text, *nl, *sp;
	char			 host[128], user[128];
	size_t			 qlen, hlen;
	int			 r1, r2, ra;

	if (size < 1)
		return 0;
	tool = (enum uidstate_tool)(data[0] % 3);
	text = (const char *)data + 1;
	size--;
	if ((nl = memchr(text, '\n', size)) == NULL)
		return 0;
	qlen = (size_t)(nl - text);
	if ((sp = memchr(text, ' ', qlen)) == NULL)
		sp = nl;
	hlen = (size_t)(sp - text);
	if (hlen >= sizeof host || qlen - hlen >= sizeof user)
		return 0;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	user[0] = '\0';
	if (sp < nl) {
		memcpy(user, sp + 1, qlen - hlen - 1);
		user[qlen - hlen - 1] = '\0';
	}
	text = nl + 1;
	size -= qlen + 1;

	r1 = run(tool, text, size, qlen > 0 ? host : NULL, qlen > 0 ? user :
	    NULL, 0, &a1, &st1);
	r2 = run(tool, text, size, qlen > 0 ? host : NULL, qlen > 0 ? user :
	    NULL, 0, &a2, &st2);
	FUZZ_CHECK(r1 == r2 && a1.n == a2.n && a1.sum == a2.sum);
	FUZZ_CHECK(memcmp(&st1, &st2, sizeof st1) == 0);
	/* Any account: the same verdict, at least as many UIDs. */
	ra = run(tool, text, size, NULL, NULL, 0, &aa, &sta);
	FUZZ_CHECK(ra == r1);
	if (ra == 0) {
		FUZZ_CHECK(sta.other == 0);
		FUZZ_CHECK(aa.n >= a1.n);
		FUZZ_CHECK(sta.taken + sta.baduid == st1.taken +
		    st1.baduid + st1.other);
	}
	/* Stopped at the last UID taken, or the first. */
	if (r1 == 0 && a1.n > 0) {
		FUZZ_CHECK(run(tool, text, size, qlen > 0 ? host : NULL,
		    qlen > 0 ? user : NULL, a1.n, &a2, &st2) ==
		    UIDSTATE_STOPPED);
		FUZZ_CHECK(run(tool, text, size, qlen > 0 ? host : NULL,
		    qlen > 0 ? user : NULL, 1, &a2, &st2) ==
		    UIDSTATE_STOPPED);
	}
	return 0;
}
