/*
 * search.c -- "popvault search": find archived messages in the index.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "idx.h"
#include "log.h"
#include "opt.h"
#include "util.h"

static void
search_usage(void)
{
	printf("usage: popvault search [--vault DIR] [--from TEXT] "
	    "[--subject TEXT]\n"
	    "           [--since YYYY-MM-DD] [--until YYYY-MM-DD] "
	    "[--message-id ID]\n"
	    "           [--account NAME] [--limit N]\n"
	    "\n"
	    "Print one line per sighting of a matching message: account,\n"
	    "UIDL, Date, From, Subject, where it is stored and its kind\n"
	    "(\"variant\": same Message-ID and body as an earlier copy, other\n"
	    "headers, stored on its own; \",unproven\": to be fetched again\n"
	    "before it may be deleted; else \"-\"), separated by tabs.\n"
	    "\n"
	    "Options:\n");
	opt_help(stdout, OPT_CMD_SEARCH);
}

/* Print server text safely: no tabs or control characters. */
static void
field(const char *s)
{
	char	buf[512];

	if (s == NULL) {
		fputs("-", stdout);
		return;
	}
	log_escape(s, strlen(s), buf, sizeof buf);
	fputs(buf, stdout);
}

static int
hit(void *arg, const struct idx_hit *h)
{
	(void)arg;
	field(h->account);
	putchar('\t');
	field(h->uidl);
	putchar('\t');
	field(h->date);
	putchar('\t');
	field(h->from);
	putchar('\t');
	field(h->subject);
	/* The format's folder in the account: maildir/, mbox/, tar/. */
	printf("\taccounts/%s/%s/", h->dir ? h->dir : "?",
	    h->format ? h->format : "?");
	field(h->location);
	/* Lossless dedup: a variant is its own stored copy; an unproven
	 * sighting is fetched again before any delete. */
	printf("\t%s%s\n", h->variant ? "variant" : "-",
	    h->proven ? "" : ",unproven");
	return 0;
}

static int
search_main(int argc, char **argv)
{
	struct idx_query	 q;
	struct opt_values	 o;
	struct idx		*x;
	int			 first, r;

	if ((r = cmd_options(argc, argv, OPT_CMD_SEARCH, search_usage, &o,
	    &first)) == 0 && first != argc) {
		search_usage();
		r = -1;
	}
	if (r != 0) {
		opt_free(&o);
		return r == 1 ? EXIT_OK : EXIT_USAGE;
	}
	memset(&q, 0, sizeof q);
	q.from = o.from;
	q.subject = o.subject;
	q.since = OPT_ISSET(&o, OPT_SINCE) ? o.since : INT64_MIN;
	q.until = OPT_ISSET(&o, OPT_UNTIL) ? o.until : INT64_MIN;
	q.message_id = o.message_id;
	q.account = o.account;
	q.limit = (int64_t)o.limit;
	x = cmd_open_index(o.vault);
	if (x == NULL) {
		opt_free(&o);
		return EXIT_USAGE;
	}
	r = idx_search(x, &q, hit, NULL);
	if (r == -1)
		log_warnx("%s", idx_error(x));
	idx_close(x);
	opt_free(&o);
	return r == -1 ? EXIT_IOERR : EXIT_OK;
}

const struct cmd cmd_search = {
	.name = "search",
	.summary = "find archived messages by sender, subject, date, ID",
	.usage = search_usage,
	.run = search_main,
};
