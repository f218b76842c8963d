/*
 * report.c -- the run report; see report.h and docs/json.md.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "report.h"
#include "util.h"

unsigned long long
report_errors(const struct run_stats *st)
{
	return (unsigned long long)(st->failed + st->skipped +
	    st->verify_failed + st->refused) + (st->code != EXIT_OK &&
	    st->code != EXIT_PARTIAL);
}

static void
kv(FILE *out, const char *k, uint64_t v)
{
	fprintf(out, "%-12s %llu\n", k, (unsigned long long)v);
}

void
report_block(FILE *out, const char *name, const struct run_stats *st,
    enum run_mode mode)
{
	double	secs = st->ms / 1000.0;

	if (name != NULL)
		fprintf(out, "%-12s %s\n", "account", name);
	kv(out, "listed", st->listed);
	kv(out, "new", st->fresh);
	if (st->known)
		kv(out, "known", st->known);
	kv(out, "archived", st->archived);
	if (st->verified || st->verify_failed)
		kv(out, "verified", st->verified);
	if (st->verify_failed)
		kv(out, "bad", st->verify_failed);
	if (mode == RUN_DRY || st->planned)
		kv(out, mode == RUN_DRY ? "would delete" : "to delete",
		    st->planned);
	if (st->deleted)
		kv(out, "deleted", st->deleted);
	if (st->unconfirmed)
		kv(out, "unconfirmed", st->unconfirmed);
	if (st->dups)
		kv(out, "duplicates", st->dups);
	if (st->variants)
		kv(out, "variants", st->variants);
	if (st->reproved)
		kv(out, "re-proved", st->reproved);
	if (st->repaired)
		kv(out, "repaired", st->repaired);
	if (st->refused)
		kv(out, "refused", st->refused);
	if (st->collisions)
		kv(out, "collisions", st->collisions);
	if (st->skipped)
		kv(out, "too large", st->skipped);
	if (st->failed)
		kv(out, "failed", st->failed);
	fprintf(out, "%-12s %llu (%.1f MB/s)\n", "bytes",
	    (unsigned long long)st->bytes,
	    secs > 0 ? st->bytes / 1e6 / secs : 0.0);
	fprintf(out, "%-12s %.2f s\n", "time", secs);
	if (st->where[0] != '\0')
		fprintf(out, "%-12s %s\n", "archive", st->where);
}

/* The counts of the JSON report, in its order (docs/json.md). */
static const struct {
	const char	*name;
	size_t		 off;
} counts[] = {
	{ "listed",		offsetof(struct run_stats, listed) },
	{ "new",		offsetof(struct run_stats, fresh) },
	{ "known",		offsetof(struct run_stats, known) },
	{ "archived",		offsetof(struct run_stats, archived) },
	{ "duplicates",		offsetof(struct run_stats, dups) },
	{ "variants",		offsetof(struct run_stats, variants) },
	{ "collisions",		offsetof(struct run_stats, collisions) },
	{ "reproved",		offsetof(struct run_stats, reproved) },
	{ "repaired",		offsetof(struct run_stats, repaired) },
	{ "too_large",		offsetof(struct run_stats, skipped) },
	{ "failed",		offsetof(struct run_stats, failed) },
	{ "verified",		offsetof(struct run_stats, verified) },
	{ "verify_failed",	offsetof(struct run_stats, verify_failed) },
	{ "planned_deletes",	offsetof(struct run_stats, planned) },
	{ "deleted",		offsetof(struct run_stats, deleted) },
	{ "unconfirmed_deletes", offsetof(struct run_stats, unconfirmed) },
	{ "refused_deletes",	offsetof(struct run_stats, refused) },
	{ "bytes",		offsetof(struct run_stats, bytes) },
};

static uint64_t *
count_at(struct run_stats *st, size_t i)
{
	return (uint64_t *)(void *)((char *)st + counts[i].off);
}

static uint64_t
count_of(const struct run_stats *st, size_t i)
{
	uint64_t	v;

	memcpy(&v, (const char *)st + counts[i].off, sizeof v);
	return v;
}

/* Add an account's counts to the totals; the time is the longest. */
static void
stats_add(struct run_stats *t, const struct run_stats *st)
{
	size_t	i;

	for (i = 0; i < sizeof counts / sizeof counts[0]; i++)
		*count_at(t, i) += count_of(st, i);
	if (st->ms > t->ms)
		t->ms = st->ms;
}

/* Several accounts: one row each, and the totals. */
void
report_table(FILE *out, const struct report_row *r, size_t n)
{
	struct run_stats	t;
	size_t			i, w = 7;
	double			secs;
	unsigned long long	errs = 0;

	memset(&t, 0, sizeof t);
	for (i = 0; i < n; i++)
		if (strlen(r[i].name) > w)
			w = strlen(r[i].name);
	if (w > 32)
		w = 32;
	fprintf(out, "%-*s %7s %6s %8s %6s %6s %6s %6s %8s %7s %6s %9s "
	    "%7s\n", (int)w, "ACCOUNT", "listed", "new", "archived", "known",
	    "dups", "varnts", "collis", "verified", "deleted", "errors", "MB",
	    "time");
	for (i = 0; i <= n; i++) {
		const struct run_stats	*st = i < n ? r[i].st : &t;

		if (i < n) {
			stats_add(&t, st);
			errs += report_errors(st);
		}
		secs = st->ms / 1000.0;
		fprintf(out, "%-*.*s %7llu %6llu %8llu %6llu %6llu %6llu %6llu "
		    "%8llu %7llu %6llu %9.1f %6.1fs\n", (int)w, (int)w,
		    i < n ? r[i].name : "TOTAL",
		    (unsigned long long)st->listed,
		    (unsigned long long)st->fresh,
		    (unsigned long long)st->archived,
		    (unsigned long long)st->known,
		    (unsigned long long)st->dups,
		    (unsigned long long)st->variants,
		    (unsigned long long)st->collisions,
		    (unsigned long long)st->verified,
		    (unsigned long long)st->deleted,
		    i < n ? report_errors(st) : errs,
		    st->bytes / 1e6, secs);
	}
}

/* A JSON string: UTF-8 kept, anything else escaped or replaced. */
void
report_json_str(FILE *out, const char *s)
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
	size_t	i;

	for (i = 0; i < sizeof counts / sizeof counts[0]; i++)
		fprintf(out, "%s\"%s\": %llu,\n", ind, counts[i].name,
		    (unsigned long long)count_of(st, i));
	fprintf(out, "%s\"errors\": %llu,\n", ind, errors);
	fprintf(out, "%s\"seconds\": %.3f", ind, st->ms / 1000.0);
}

void
report_json(FILE *out, const struct report_row *r, size_t n,
    enum run_mode mode, int64_t started, int code)
{
	report_json_cmd(out, mode == RUN_FETCH ? "fetch" : mode == RUN_PRUNE ?
	    "prune" : "dry-run", r, n, started, code);
}

void
report_json_cmd(FILE *out, const char *command, const struct report_row *r,
    size_t n, int64_t started, int code)
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
	    command, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, code);
	for (i = 0; i < n; i++) {
		const struct run_stats	*st = r[i].st;

		fprintf(out, "%s\n    {\n      \"name\": ", i ? "," : "");
		report_json_str(out, r[i].name);
		fputs(",\n      \"host\": ", out);
		report_json_str(out, r[i].host);
		fputs(",\n      \"user\": ", out);
		report_json_str(out, r[i].user);
		fprintf(out, ",\n      \"exit\": %d,\n      \"error\": ",
		    st->code);
		report_json_str(out, st->err[0] != '\0' ? st->err : NULL);
		fputs(",\n      \"archive\": ", out);
		report_json_str(out, st->where[0] != '\0' ? st->where : NULL);
		fputs(",\n", out);
		if (r[i].files != NULL) {
			fputs("      \"files\": ", out);
			report_json_str(out, r[i].files);
			fprintf(out, ",\n      \"unsound\": %llu,\n",
			    (unsigned long long)r[i].unsound);
		}
		json_counts(out, st, report_errors(st), "      ");
		fputs("\n    }", out);
		stats_add(&t, st);
	}
	fprintf(out, "\n  ],\n  \"totals\": {\n    \"accounts\": %zu,\n", n);
	for (i = 0; i < n; i++)
		errs += report_errors(r[i].st);
	json_counts(out, &t, errs, "    ");
	fputs("\n  }\n}\n", out);
}
