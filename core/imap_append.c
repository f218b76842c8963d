/*
 * imap_append.c -- APPEND for the IMAP session (imap_append() of
 * imap.h): a batch of messages into the selected mailbox, one APPEND
 * each, pipelined with non-synchronizing literals when the server allows
 * them (LITERAL+, or LITERAL- up to IMAP_LITMINUS_MAX octets: RFC 7888),
 * else each literal sent after its "+"; answers matched to messages by
 * tag. Or, when offered, one MULTIAPPEND (RFC 3502) for the batch, its
 * APPENDUID uid-set given to the messages in order (RFC 4315). A message
 * over the server's APPENDLIMIT (RFC 7889) is not sent. Command lines
 * and message octets go out through the session's write buffer
 * (IMAP_WBUF); reading and waiting are imap.c's (imap_int.h).
 */
#include <stdio.h>
#include <string.h>

#include "imap.h"
#include "imap_int.h"
#include "log.h"
#include "util.h"

/* ---- the write buffer ----------------------------------------------- */

static int
wflush(struct imap *s)
{
	size_t	n = s->wlen;

	s->wlen = 0;
	if (n > 0 && conn_write(s->c, s->wbuf, n) == -1)
		return ims_connfail(s, "APPEND");
	return 0;
}

static int
wput(struct imap *s, const char *p, size_t n)
{
	size_t	k;

	if (n >= IMAP_WBUF) {
		if (wflush(s) == -1)
			return -1;
		if (conn_write(s->c, p, n) == -1)
			return ims_connfail(s, "APPEND");
		return 0;
	}
	while (n > 0) {
		k = IMAP_WBUF - s->wlen;
		if (k > n)
			k = n;
		memcpy(s->wbuf + s->wlen, p, k);
		s->wlen += k;
		p += k;
		n -= k;
		if (s->wlen == IMAP_WBUF && wflush(s) == -1)
			return -1;
	}
	return 0;
}

/* ---- APPEND --------------------------------------------------------- */

/* A flag list: atoms or "\" atoms, separated by single spaces. */
static int
flags_ok(const char *f)
{
	const char	*p = f;
	int		 start = 1;

	for (; *p != '\0'; p++) {
		if (*p == ' ') {
			if (start || p[1] == '\0')
				return 0;
			start = 1;
			continue;
		}
		if (*p == '\\' && start) {
			start = 0;
			if (p[1] == ' ' || p[1] == '\0')
				return 0;
			continue;
		}
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("(){%*\"\\]", *p) != NULL)
			return 0;
		start = 0;
	}
	return 1;
}

struct put_ctx {
	struct imap	*s;
	uint64_t	 left;
	int		 over, failed;
};

static int
body_put(void *arg, const char *p, size_t n)
{
	struct put_ctx	*pc = arg;

	if (n > pc->left) {
		pc->over = 1;
		return -1;
	}
	pc->left -= n;
	if (wput(pc->s, p, n) == -1) {
		pc->failed = 1;
		return -1;
	}
	return 0;
}

/*
 * Write " (flags) "date" {N+}" CRLF, or "{N}", for message m (k in the
 * batch); *sync says which. prefix (may be NULL) goes before, and in
 * the -v line.
 */
static int
msg_head(struct imap *s, const char *prefix, const struct imap_msg *m,
    size_t k, int *sync)
{
	char	date[IMAP_DATETIME_LEN + 2] = "", lit[32];
	int	plus;

	plus = (s->caps.flags & IMAP_CAP_LITERALPLUS) ||
	    ((s->caps.flags & IMAP_CAP_LITERALMINUS) &&
	    m->size <= IMAP_LITMINUS_MAX);
	*sync = !plus;
	if (m->date > 0 && imap_format_datetime(m->date, 0, date + 1) == 0)
		date[0] = ' ';
	snprintf(lit, sizeof lit, " {%llu%s}", (unsigned long long)m->size,
	    plus ? "+" : "");
	log_verbose("> %s%s%s%s%s%s (message %zu)", prefix ? prefix : "",
	    m->flags && *m->flags ? " (" : "", m->flags ? m->flags : "",
	    m->flags && *m->flags ? ")" : "", date, lit, k);
	if ((prefix != NULL && wput(s, prefix, strlen(prefix)) == -1) ||
	    (m->flags != NULL && *m->flags != '\0' && (wput(s, " (", 2) ==
	    -1 || wput(s, m->flags, strlen(m->flags)) == -1 ||
	    wput(s, ")", 1) == -1)) ||
	    wput(s, date, strlen(date)) == -1 ||
	    wput(s, lit, strlen(lit)) == -1 || wput(s, "\r\n", 2) == -1)
		return -1;
	return 0;
}

/* Write the octets of m (then checked against its size). */
static int
msg_body(struct imap *s, const struct imap_msg *m, size_t k)
{
	struct put_ctx	pc;

	pc.s = s;
	pc.left = m->size;
	pc.over = pc.failed = 0;
	if (m->body(m->arg, body_put, &pc) == -1) {
		if (pc.failed)
			return -1;	/* the connection's failure */
		return ims_fail(s, IMAP_E_LOCAL, "APPEND: message %zu %s", k,
		    pc.over ? "gave more octets than its size" :
		    "could not be read");
	}
	if (pc.left != 0)
		return ims_fail(s, IMAP_E_LOCAL, "APPEND: message %zu gave "
		    "fewer octets than its size", k);
	return 0;
}

/* The tagged answer s->resp for message k into r[k]. */
static void
append_answer(struct imap *s, struct imap_appended *r)
{
	const struct imap_resp	*a = &s->resp;
	char			 esc[IMAP_TEXT_MAX];

	r->ok = a->status == IMAP_S_OK;
	r->code = a->code;
	snprintf(r->text, sizeof r->text, "%s", ims_resp_text(a, esc));
	if (r->ok && a->code == IMAP_C_APPENDUID && a->set == NULL) {
		r->has_uid = 1;
		r->uidvalidity = a->n1;
		r->uid = a->n2;
	}
}

/*
 * Which message of the batch a tagged answer is for: tags are "P" and
 * the numbers first..first+n-1. -1 if none (or already answered).
 */
static int
batch_index(const struct imap_resp *r, unsigned first, size_t n,
    const unsigned char *answered)
{
	unsigned long	v = 0;
	size_t		i;

	if (r->taglen < 2 || r->taglen > 11 || r->tag[0] != 'P')
		return -1;
	for (i = 1; i < r->taglen; i++) {
		if (r->tag[i] < '0' || r->tag[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(r->tag[i] - '0');
	}
	if (v < first || v - first >= n || answered[v - first])
		return -1;
	return (int)(v - first);
}

struct batch {
	const struct imap_msg	*m;
	size_t			 n;
	struct imap_appended	*r;
	unsigned		 first;		/* tag number of m[0] */
	unsigned char		 answered[IMAP_APPEND_MAX];
	size_t			 nanswered;
	int			 temp;		/* a temp NO was met */
	char			 temperr[768];
	enum imap_code		 tempcode;
};

/*
 * Read one response during a batch. Returns 2 for a "+", 1 after a
 * tagged answer was recorded (its index in *idx), 0 for an untagged
 * response dealt with, -1 on failure.
 */
static int
batch_read(struct imap *s, struct batch *b, int *idx)
{
	const struct imap_resp	*r = &s->resp;
	char			 esc[64], what[32];
	int			 k;

	if (ims_read(s, "APPEND") == -1)
		return -1;
	if (r->kind == IMAP_K_CONT)
		return 2;
	if (r->kind == IMAP_K_UNTAGGED)
		return ims_untagged(s, "APPEND") == -1 ? -1 : 0;
	if ((k = batch_index(r, b->first, b->n, b->answered)) == -1)
		return ims_fail(s, IMAP_E_PROTO, "APPEND: answer to a "
		    "command not sent (tag %s)", log_escape(r->tag, r->taglen,
		    esc, sizeof esc));
	b->answered[k] = 1;
	b->nanswered++;
	*idx = k;
	append_answer(s, &b->r[k]);
	if (r->status == IMAP_S_BAD || (r->status == IMAP_S_NO &&
	    ims_is_temp(r))) {
		snprintf(what, sizeof what, "APPEND of message %d", k);
		ims_refused(s, what, IMAP_E_REFUSED);
		if (r->status == IMAP_S_BAD)
			return -1;
		if (!b->temp) {
			b->temp = 1;
			snprintf(b->temperr, sizeof b->temperr, "%s", s->err);
			b->tempcode = s->code;
		}
	}
	return 1;
}

/* Is m larger than the server says it takes (APPENDLIMIT, RFC 7889)? */
static int
over_limit(const struct imap *s, const struct imap_msg *m)
{
	return (s->caps.flags & IMAP_CAP_APPENDLIMIT) &&
	    m->size > s->caps.appendlimit;
}

/* One APPEND command per message, pipelined where literals allow. */
static int
append_each(struct imap *s, struct batch *b)
{
	char		 pre[sizeof s->mbox + 32];
	size_t		 k;
	int		 sync, x, idx;

	b->first = s->tagno + 1;
	for (k = 0; k < b->n; k++) {
		if (b->temp)
			break;		/* come back later: send no more */
		ims_next_tag(s);
		if (over_limit(s, &b->m[k])) {
			/* RFC 7889: not sent; its tag number goes unused. */
			b->answered[k] = 1;
			b->nanswered++;
			snprintf(b->r[k].text, sizeof b->r[k].text, "larger "
			    "than the server's APPENDLIMIT (%u octets); not "
			    "sent", s->caps.appendlimit);
			log_verbose("message %zu: %s", k, b->r[k].text);
			continue;
		}
		snprintf(pre, sizeof pre, "%s APPEND %s", s->tag, s->mbox);
		if (msg_head(s, pre, &b->m[k], k, &sync) == -1)
			return -1;
		if (sync) {
			if (wflush(s) == -1)
				return -1;
			/* Earlier answers may come before the "+". */
			for (;;) {
				if ((x = batch_read(s, b, &idx)) == -1)
					return -1;
				if (x == 2 || (x == 1 && idx == (int)k))
					break;
			}
			if (x == 1)
				continue;	/* refused before the octets */
		}
		if (msg_body(s, &b->m[k], k) == -1 || wput(s, "\r\n", 2) == -1)
			return -1;
	}
	if (wflush(s) == -1)
		return -1;
	/* The messages not sent after a temporary refusal. */
	while (b->nanswered < k) {
		if ((x = batch_read(s, b, &idx)) == -1)
			return -1;
		if (x == 2)
			return ims_fail(s, IMAP_E_PROTO, "APPEND: "
			    "continuation request nobody asked for");
	}
	return 0;
}

/* Map APPENDUID's uid-set to the messages in order (RFC 4315 sec. 3). */
static void
multi_uids(struct imap *s, struct batch *b)
{
	const struct imap_resp	*a = &s->resp;
	const char		*p, *end;
	uint32_t		 lo, hi, v;
	size_t			 k = 0;

	if (a->code != IMAP_C_APPENDUID || a->set == NULL)
		return;
	p = a->set;
	end = a->set + a->setlen;
	/* Count first: a set that does not name n UIDs is not used. */
	while (imap_seqset_next(&p, end, &lo, &hi) == 1) {
		if ((uint64_t)hi - lo + 1 > b->n - k)
			return;
		k += hi - lo + 1;
	}
	if (k != b->n)
		return;
	p = a->set;
	k = 0;
	while (imap_seqset_next(&p, end, &lo, &hi) == 1)
		for (v = lo; ; v++) {
			b->r[k].has_uid = 1;
			b->r[k].uidvalidity = a->n1;
			b->r[k++].uid = v;
			if (v == hi)
				break;
		}
}

/* One MULTIAPPEND command for the whole batch (RFC 3502). */
static int
append_multi(struct imap *s, struct batch *b)
{
	char	pre[sizeof s->mbox + 32];
	size_t	k;
	int	sync, x;

	ims_next_tag(s);
	snprintf(pre, sizeof pre, "%s APPEND %s", s->tag, s->mbox);
	for (k = 0; k < b->n; k++) {
		/* After a literal the line goes on with the next. */
		if (msg_head(s, k == 0 ? pre : NULL, &b->m[k], k,
		    &sync) == -1)
			return -1;
		if (sync) {
			if (wflush(s) == -1 ||
			    (x = ims_wait_cont(s, "APPEND")) == -1)
				return -1;
			if (x == 0)
				goto answered;
		}
		if (msg_body(s, &b->m[k], k) == -1)
			return -1;
	}
	if (wput(s, "\r\n", 2) == -1 || wflush(s) == -1 ||
	    ims_wait(s, "APPEND", NULL, NULL) == -1)
		return -1;
answered:
	if (s->resp.status == IMAP_S_OK && k < b->n)
		return ims_fail(s, IMAP_E_PROTO, "APPEND: OK before every "
		    "message was sent");
	if (s->resp.status == IMAP_S_BAD)
		return ims_refused(s, "APPEND", IMAP_E_PROTO);
	for (k = 0; k < b->n; k++)
		append_answer(s, &b->r[k]);
	for (k = 0; k < b->n; k++)
		b->r[k].has_uid = 0;
	if (s->resp.status == IMAP_S_OK)
		multi_uids(s, b);
	else if (ims_is_temp(&s->resp))
		return ims_refused(s, "APPEND", IMAP_E_REFUSED);
	return 0;
}

int
ims_append(struct imap *s, const struct imap_msg *m, size_t n,
    struct imap_appended *r)
{
	struct batch	b;
	uint64_t	total = 0;
	size_t		k;
	int		multi, ret;

	if (n == 0)
		return 0;
	if (n > IMAP_APPEND_MAX)
		return ims_fail(s, IMAP_E_USAGE, "APPEND: %zu messages in "
		    "one batch (at most %d)", n, IMAP_APPEND_MAX);
	if (!s->selected)
		return ims_fail(s, IMAP_E_USAGE, "APPEND: no mailbox "
		    "selected");
	for (k = 0; k < n; k++) {
		if (m[k].flags != NULL && !flags_ok(m[k].flags))
			return ims_fail(s, IMAP_E_USAGE, "APPEND: bad flag "
			    "list for message %zu", k);
		total += m[k].size + 128;
	}
	memset(r, 0, n * sizeof *r);
	memset(&b, 0, sizeof b);
	b.m = m;
	b.n = n;
	b.r = r;
	multi = n > 1 && (s->caps.flags & IMAP_CAP_MULTIAPPEND);
	for (k = 0; k < n && multi; k++)
		if (over_limit(s, &m[k]))
			multi = 0;	/* the others go one by one */
	s->wlen = 0;
	ims_deadline_start(s, total);
	ret = multi ? append_multi(s, &b) : append_each(s, &b);
	s->wlen = 0;
	if (ret == 0 && b.temp) {
		ims_fail(s, IMAP_E_TEMP, "%s", b.temperr);
		s->code = b.tempcode;
		return -1;
	}
	return ret;
}
