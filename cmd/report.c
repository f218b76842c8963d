/*
 * report.c -- the run report; see report.h and docs/json.md.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "report.h"
#include "util.h"

unsigned long long
report_errors(const struct run_stats *st)
{
	return (unsigned long long)(st->failed + st->skipped +
	    st->verify_failed) + (st->code != EXIT_OK &&
	    st->code != EXIT_PARTIAL);
}

void
report_block(FILE *out, const char *name, const struct run_stats *st,
    enum run_mode mode)
{
	double	secs = st->ms / 1000.0;

	if (name != NULL)
		fprintf(out, "%-12s %s\n", "account", name);
	fprintf(out, "%-12s %llu\n", "listed", (unsigned long long)st->listed);
	fprintf(out, "%-12s %llu\n", "new", (unsigned long long)st->fresh);
	if (st->known)
		fprintf(out, "%-12s %llu\n", "known",
		    (unsigned long long)st->known);
	fprintf(out, "%-12s %llu\n", "archived", (unsigned long long)st->archived);
	if (st->verified || st->verify_failed)
		fprintf(out, "%-12s %llu\n", "verified",
		    (unsigned long long)st->verified);
	if (st->verify_failed)
		fprintf(out, "%-12s %llu\n", "bad",
		    (unsigned long long)st->verify_failed);
	if (mode == RUN_DRY || st->planned)
		fprintf(out, "%-12s %llu\n", mode == RUN_DRY ? "would delete" :
		    "to delete", (unsigned long long)st->planned);
	if (st->deleted)
		fprintf(out, "%-12s %llu\n", "deleted",
		    (unsigned long long)st->deleted);
	if (st->unconfirmed)
		fprintf(out, "%-12s %llu\n", "unconfirmed",
		    (unsigned long long)st->unconfirmed);
	if (st->dups)
		fprintf(out, "%-12s %llu\n", "duplicates",
		    (unsigned long long)st->dups);
	if (st->collisions)
		fprintf(out, "%-12s %llu\n", "collisions",
		    (unsigned long long)st->collisions);
	if (st->skipped)
		fprintf(out, "%-12s %llu\n", "too large",
		    (unsigned long long)st->skipped);
	if (st->failed)
		fprintf(out, "%-12s %llu\n", "failed",
		    (unsigned long long)st->failed);
	fprintf(out, "%-12s %llu (%.1f MB/s)\n", "bytes",
	    (unsigned long long)st->bytes,
	    secs > 0 ? st->bytes / 1e6 / secs : 0.0);
	fprintf(out, "%-12s %.2f s\n", "time", secs);
	if (st->where[0] != '\0')
		fprintf(out, "%-12s %s\n", "archive", st->where);
}


/* Several accounts: one row each, and the totals. */
void
report_table(FILE *out, const struct report_row *r, size_t n)
{
	struct run_stats	t;
	size_t			i, w = 7;
	double			secs;

	memset(&t, 0, sizeof t);
	for (i = 0; i < n; i++)
		if (strlen(r[i].name) > w)
			w = strlen(r[i].name);
	if (w > 32)
		w = 32;
	fprintf(out, "%-*s %7s %6s %8s %6s %6s %6s %8s %7s %6s %9s %7s\n",
	    (int)w, "ACCOUNT", "listed", "new", "archived", "known",
	    "dups", "collis", "verified", "deleted", "errors", "MB",
	    "time");
	for (i = 0; i <= n; i++) {
		const struct run_stats	*st = i < n ? r[i].st : &t;

		if (i < n) {
			t.listed += st->listed;
			t.fresh += st->fresh;
			t.archived += st->archived;
			t.known += st->known;
			t.dups += st->dups;
			t.collisions += st->collisions;
			t.verified += st->verified;
			t.deleted += st->deleted;
			t.failed += report_errors(st);
			t.bytes += st->bytes;
			if (st->ms > t.ms)
				t.ms = st->ms;
		}
		secs = st->ms / 1000.0;
		fprintf(out, "%-*.*s %7llu %6llu %8llu %6llu %6llu %6llu %8llu "
		    "%7llu %6llu %9.1f %6.1fs\n", (int)w, (int)w,
		    i < n ? r[i].name : "TOTAL",
		    (unsigned long long)st->listed,
		    (unsigned long long)st->fresh,
		    (unsigned long long)st->archived,
		    (unsigned long long)st->known,
		    (unsigned long long)st->dups,
		    (unsigned long long)st->collisions,
		    (unsigned long long)st->verified,
		    (unsigned long long)st->deleted,
		    i < n ? report_errors(st) : (unsigned long long)st->failed,
		    st->bytes / 1e6, secs);
	}
}

/* A JSON string: UTF-8 kept, anything else escaped or replaced. */
static void
json_str(FILE *out, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, k, n;

	if (s == NULL) {
		fputs("null", out);
		return;
	}
	putc('"', out);
	for (i = 0; p[i] != '\0'; i++) {
		if (p[i] == '"' || p[i] == '\\')
			fprintf(out, "\\%c", p[i]);
		else if (p[i] < 0x20 || p[i] == 0x7f)
			fprintf(out, "\\u%04x", p[i]);
		else if (p[i] < 0x80)
			putc(p[i], out);
		else {
			/* A well-formed UTF-8 sequence, or U+FFFD. */
			n = p[i] >= 0xf0 && p[i] <= 0xf4 ? 3 :
			    p[i] >= 0xe0 ? (p[i] < 0xf0 ? 2 : 0) :
			    p[i] >= 0xc2 ? 1 : 0;
			for (k = 1; n > 0 && k <= n; k++)
				if ((p[i + k] & 0xc0) != 0x80)
					n = 0;
			if (n == 2 && ((p[i] == 0xe0 && p[i + 1] < 0xa0) ||
			    (p[i] == 0xed && p[i + 1] >= 0xa0)))
				n = 0;	/* overlong, or a surrogate */
			if (n == 3 && ((p[i] == 0xf0 && p[i + 1] < 0x90) ||
			    (p[i] == 0xf4 && p[i + 1] >= 0x90)))
				n = 0;	/* overlong, or over U+10FFFF */
			if (n == 0)
				fputs("\\ufffd", out);
			else {
				fwrite(p + i, 1, n + 1, out);
				i += n;
			}
		}
	}
	putc('"', out);
}

static void
json_counts(FILE *out, const struct run_stats *st, unsigned long long errors,
    const char *ind)
{
	fprintf(out, "%s\"listed\": %llu,\n", ind,
	    (unsigned long long)st->listed);
	fprintf(out, "%s\"new\": %llu,\n", ind, (unsigned long long)st->fresh);
	fprintf(out, "%s\"known\": %llu,\n", ind,
	    (unsigned long long)st->known);
	fprintf(out, "%s\"archived\": %llu,\n", ind,
	    (unsigned long long)st->archived);
	fprintf(out, "%s\"duplicates\": %llu,\n", ind,
	    (unsigned long long)st->dups);
	fprintf(out, "%s\"collisions\": %llu,\n", ind,
	    (unsigned long long)st->collisions);
	fprintf(out, "%s\"too_large\": %llu,\n", ind,
	    (unsigned long long)st->skipped);
	fprintf(out, "%s\"failed\": %llu,\n", ind,
	    (unsigned long long)st->failed);
	fprintf(out, "%s\"verified\": %llu,\n", ind,
	    (unsigned long long)st->verified);
	fprintf(out, "%s\"verify_failed\": %llu,\n", ind,
	    (unsigned long long)st->verify_failed);
	fprintf(out, "%s\"planned_deletes\": %llu,\n", ind,
	    (unsigned long long)st->planned);
	fprintf(out, "%s\"deleted\": %llu,\n", ind,
	    (unsigned long long)st->deleted);
	fprintf(out, "%s\"unconfirmed_deletes\": %llu,\n", ind,
	    (unsigned long long)st->unconfirmed);
	fprintf(out, "%s\"errors\": %llu,\n", ind, errors);
	fprintf(out, "%s\"bytes\": %llu,\n", ind,
	    (unsigned long long)st->bytes);
	fprintf(out, "%s\"seconds\": %.3f", ind, st->ms / 1000.0);
}

void
report_json(FILE *out, const struct report_row *r, size_t n,
    enum run_mode mode, int64_t started, int code)
{
	struct run_stats	t;
	struct tm		tm;
	time_t			secs = (time_t)started;
	size_t			i;
	unsigned long long	errs = 0;

	memset(&t, 0, sizeof t);
	gmtime_r(&secs, &tm);
	fprintf(out, "{\n  \"version\": 1,\n  \"program\": \"popvault\",\n"
	    "  \"program_version\": \"%s\",\n  \"command\": \"%s\",\n"
	    "  \"started\": \"%04d-%02d-%02dT%02d:%02d:%02dZ\",\n"
	    "  \"exit\": %d,\n  \"accounts\": [", POPVAULT_VERSION,
	    mode == RUN_FETCH ? "fetch" : mode == RUN_PRUNE ? "prune" :
	    "dry-run", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, code);
	for (i = 0; i < n; i++) {
		const struct run_stats	*st = r[i].st;

		fprintf(out, "%s\n    {\n      \"name\": ", i ? "," : "");
		json_str(out, r[i].name);
		fputs(",\n      \"host\": ", out);
		json_str(out, r[i].host);
		fputs(",\n      \"user\": ", out);
		json_str(out, r[i].user);
		fprintf(out, ",\n      \"exit\": %d,\n      \"error\": ",
		    st->code);
		json_str(out, st->err[0] != '\0' ? st->err : NULL);
		fputs(",\n      \"archive\": ", out);
		json_str(out, st->where[0] != '\0' ? st->where : NULL);
		fputs(",\n", out);
		json_counts(out, st, report_errors(st), "      ");
		fputs("\n    }", out);
		t.listed += st->listed;
		t.fresh += st->fresh;
		t.known += st->known;
		t.archived += st->archived;
		t.dups += st->dups;
		t.collisions += st->collisions;
		t.skipped += st->skipped;
		t.failed += st->failed;
		t.verified += st->verified;
		t.verify_failed += st->verify_failed;
		t.planned += st->planned;
		t.deleted += st->deleted;
		t.unconfirmed += st->unconfirmed;
		t.bytes += st->bytes;
		if (st->ms > t.ms)
			t.ms = st->ms;
	}
	fprintf(out, "\n  ],\n  \"totals\": {\n    \"accounts\": %zu,\n", n);
	for (i = 0; i < n; i++)
		errs += report_errors(r[i].st);
	json_counts(out, &t, errs, "    ");
	fputs("\n  }\n}\n", out);
}
