/*
 * fail.c -- failure grades and reasons, and their exit statuses
 * (fail.h).
 */
#include "fail.h"
#include "util.h"

int
fail_note(struct fail *f, enum fail_grade g, enum fail_reason why)
{
	if (g > f->grade || (g == f->grade && why > f->reason)) {
		f->grade = g;
		f->reason = why;
	}
	return -1;
}

int
fail_stops(const struct fail *f)
{
	return f->grade >= FAIL_ACCOUNT;
}

int
fail_exit(const struct fail *f)
{
	if (f->grade == FAIL_NONE)
		return EXIT_OK;
	if (f->grade == FAIL_MESSAGE)
		return EXIT_PARTIAL;
	switch (f->reason) {
	case FAIL_R_TOO_BIG:
	case FAIL_R_REFUSED:
		return EXIT_PARTIAL;
	case FAIL_R_NET:
		return EXIT_UNAVAIL;
	case FAIL_R_TIMEOUT:
	case FAIL_R_TEMP:
		return EXIT_TEMPFAIL;
	case FAIL_R_PROTO:
		return EXIT_PROTOCOL;
	case FAIL_R_TLS:
		return EXIT_TLS;
	case FAIL_R_AUTH:
		return EXIT_AUTH;
	case FAIL_R_REMAP:
		return EXIT_DATAERR;
	case FAIL_R_USAGE:
		return EXIT_USAGE;
	case FAIL_R_SIGNAL:
		return EXIT_SIGNAL;
	case FAIL_R_IO:
		return EXIT_IOERR;
	case FAIL_R_VERIFY:
		return EXIT_VERIFY;
	case FAIL_R_NONE:
	case FAIL_R_SOFTWARE:
	default:
		return EXIT_SOFTWARE;
	}
}

const char *
fail_outcome(const struct fail *f)
{
	switch (fail_exit(f)) {
	case EXIT_OK:
		return "ok";
	case EXIT_PARTIAL:
		return "partial";
	default:
		return "failed";
	}
}
