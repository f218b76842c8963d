/*
 * uidls.c -- "popvault import --uidls-from TOOL:FILE": the UIDLs other
 * fetchers recorded, into the index (idx_foreign_add()).
 */
#include "import.h"
#include "log.h"
#include "opt.h"
#include "util.h"

int
import_uidls(const struct opt_values *v)
{
	(void)v;
	log_warnx("--uidls-from: not built yet");
	return EXIT_SOFTWARE;
}
