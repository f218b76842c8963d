/*
 * report.h -- the run report of fetch, prune and export: a block for one
 * account, a table for several, or one JSON document (--json; the
 * schema is docs/json.md).
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdio.h>

#include "run.h"

struct report_row {
	const char		*name;
	const char		*host;
	const char		*user;
	const struct run_stats	*st;
	/* export only: the folder the messages went to (else NULL), and
	 * the selected contents left out as damaged in the origin */
	const char		*files;
	uint64_t		 unsound;
};

/* Problems of an account: failed RETR, too large, verification
 * failures, and the run itself when it did not finish. */
unsigned long long report_errors(const struct run_stats *);

void	report_block(FILE *, const char *name, const struct run_stats *,
	    enum run_mode);
void	report_table(FILE *, const struct report_row *, size_t n);
void	report_json(FILE *, const struct report_row *, size_t n,
	    enum run_mode, int64_t started, int code);
/* The same document for command ("export"). */
void	report_json_cmd(FILE *, const char *command,
	    const struct report_row *, size_t n, int64_t started, int code);

/* s as a JSON string (UTF-8 kept, the rest escaped); NULL: null. */
void	report_json_str(FILE *, const char *s);

#endif
