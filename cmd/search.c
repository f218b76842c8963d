/*
 * search.c -- "popvault search": find archived messages in the index.
 */
#define _XOPEN_SOURCE 700	/* strptime */

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "idx.h"
#include "log.h"
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
	    "before it may be deleted; else \"-\"), separated by tabs. --from and --subject match substrings (any case for\n"
	    "ASCII); --since and --until bound the Date header (UTC days,\n"
	    "until excluded).\n");
}

static int
parse_day(const char *s, int64_t *out)
{
	struct tm	tm;
	char		*end;

	memset(&tm, 0, sizeof tm);
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
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

static const struct option search_opts[] = {
	{ "vault", required_argument, NULL, 'V' },
	{ "from", required_argument, NULL, 'f' },
	{ "subject", required_argument, NULL, 's' },
	{ "since", required_argument, NULL, 'S' },
	{ "until", required_argument, NULL, 'U' },
	{ "message-id", required_argument, NULL, 'm' },
	{ "account", required_argument, NULL, 'a' },
	{ "limit", required_argument, NULL, 'l' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static int
search_main(int argc, char **argv)
{
	struct idx_query	 q;
	struct idx		*x;
	char			 vault[4096], *end;
	const char		*v;
	int			 ch, r;

	memset(&q, 0, sizeof q);
	q.since = q.until = INT64_MIN;
	cmd_default_vault(vault, sizeof vault);
	v = vault;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", search_opts, NULL)) != -1) {
		switch (ch) {
		case 'V':
			v = optarg;
			break;
		case 'f':
			q.from = optarg;
			break;
		case 's':
			q.subject = optarg;
			break;
		case 'S':
		case 'U':
			if (parse_day(optarg, ch == 'S' ? &q.since :
			    &q.until) == -1) {
				log_warnx("--%s: a day as YYYY-MM-DD",
				    ch == 'S' ? "since" : "until");
				return EXIT_USAGE;
			}
			break;
		case 'm':
			q.message_id = optarg;
			break;
		case 'a':
			q.account = optarg;
			break;
		case 'l':
			errno = 0;
			q.limit = strtoll(optarg, &end, 10);
			if (errno || *end != '\0' || q.limit < 1) {
				log_warnx("--limit: a positive number");
				return EXIT_USAGE;
			}
			break;
		case 'h':
			search_usage();
			return EXIT_OK;
		default:
			search_usage();
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		search_usage();
		return EXIT_USAGE;
	}
	if ((x = cmd_open_index(v)) == NULL)
		return EXIT_USAGE;
	r = idx_search(x, &q, hit, NULL);
	if (r == -1)
		log_warnx("%s", idx_error(x));
	idx_close(x);
	return r == -1 ? EXIT_IOERR : EXIT_OK;
}

const struct cmd cmd_search = {
	.name = "search",
	.summary = "find archived messages by sender, subject, date, ID",
	.usage = search_usage,
	.run = search_main,
};
