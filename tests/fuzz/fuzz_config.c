/*
 * fuzz_config.c -- the popvault.conf(5) parser, config_parse_buffer().
 *
 * Input: a config file. Checked, from config.h: 0 comes with no
 * messages and -1 with at least one and an emptied config; messages
 * name the file, are sorted by line, stay within CONFIG_ERRORS_MAX
 * (plus the "too many errors" line and file-wide ones) and hold no
 * control characters (file bytes are escaped); accounts are at most
 * CONFIG_ACCOUNTS_MAX, their names valid and unique (config_find()
 * finds each one), and a key given in a section counts as set.
 * config_free() and config_errors_free() must leave nothing behind.
 */
#include <string.h>

#include "config.h"
#include "fuzz.h"

#define NAME	"fuzz.conf"

static void
check_errors(const struct config_errors *errs)
{
	const unsigned char	*m;
	size_t			 i;

	FUZZ_CHECK(errs->n <= CONFIG_ERRORS_MAX + 3);
	for (i = 0; i < errs->n; i++) {
		FUZZ_CHECK(strncmp(errs->v[i].msg, NAME ":",
		    sizeof NAME) == 0);
		if (i > 0)
			FUZZ_CHECK(errs->v[i - 1].line <= errs->v[i].line);
		for (m = (const unsigned char *)errs->v[i].msg; *m != '\0';
		    m++)
			FUZZ_CHECK(*m >= 0x20 && *m != 0x7f);
	}
}

static void
check_account(const struct config *cfg, const struct config_account *a)
{
	size_t	len = strnlen(a->name, sizeof a->name);

	FUZZ_CHECK(len > 0 && len <= CONFIG_NAME_MAX);
	FUZZ_CHECK(config_find(cfg, a->name) == a);
	FUZZ_CHECK((a->own & ~a->v.set) == 0);
	FUZZ_CHECK((a->v.set >> OPT_COUNT) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config		cfg;
	struct config_errors	errs;
	size_t			i;
	int			r;

	r = config_parse_buffer(NAME, (const char *)data, size, &cfg, &errs);
	FUZZ_CHECK(r == 0 || r == -1);
	check_errors(&errs);
	if (r == -1) {
		FUZZ_CHECK(errs.n > 0);
		FUZZ_CHECK(cfg.nacct == 0 && cfg.acct == NULL);
	} else {
		FUZZ_CHECK(errs.n == 0);
		FUZZ_CHECK(cfg.nacct <= CONFIG_ACCOUNTS_MAX);
		FUZZ_CHECK(cfg.path != NULL && strcmp(cfg.path, NAME) == 0);
		for (i = 0; i < cfg.nacct; i++)
			check_account(&cfg, &cfg.acct[i]);
	}
	config_free(&cfg);
	config_free(&cfg);	/* harmless twice */
	config_errors_free(&errs);
	return 0;
}
