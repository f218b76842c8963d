/*
 * fetch.c -- "popvault fetch": archive the new messages of an account.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "conn.h"
#include "format.h"
#include "log.h"
#include "run.h"
#include "url.h"
#include "util.h"

static void
fetch_usage(void)
{
	printf("usage: popvault fetch [OPTIONS] URL\n"
	    "\n"
	    "Archive every message of the account not archived before,\n"
	    "keeping all mail on the server. URL is pop3s://USER@HOST[:PORT]\n"
	    "(TLS from the start, port 995) or pop3://USER@HOST[:PORT]\n"
	    "(STLS required, port 110).\n"
	    "\n"
	    "Options:\n"
	    "  --vault DIR              index and archives (default:\n"
	    "                           $XDG_DATA_HOME/popvault)\n"
	    "  --format NAME            archive format: %s (default maildir)\n"
	    "  --compress none|gzip|zstd|xz\n"
	    "                           compression (mbox: gzip; tar: all)\n"
	    "  --password-command CMD   run CMD, use the first line it prints\n"
	    "                           (else $POPVAULT_PASSWORD, else a prompt)\n"
	    "  --auth user|apop         login method (default user: USER/PASS)\n"
	    "  --tls-ca FILE            trust the CA certificates in FILE\n"
	    "                           instead of the system's\n"
	    "  --tls-fingerprint sha256:HEX\n"
	    "                           accept only this certificate or key\n"
	    "  --insecure-plaintext     allow pop3:// without STLS, sending the\n"
	    "                           password in clear\n"
	    "  --timeout SECONDS        idle timeout, base of every deadline\n"
	    "                           (default 60)\n"
	    "  --max-message-size SIZE  largest message fetched (default 1G;\n"
	    "                           suffixes k, M, G)\n"
	    "  --batch N                messages per commit (default 200; tar:\n"
	    "                           10000, one volume per commit)\n"
	    "  -v, --verbose            show the POP3 conversation (twice: TLS)\n"
	    "  -q, --quiet              errors only\n"
	    "  -h, --help               this text\n", fmt_names());
}

static int
parse_size(const char *s, uint64_t *out)
{
	char			*end;
	unsigned long long	 v;
	uint64_t		 mul = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || s[0] == '-')
		return -1;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		mul = 1024;
		end++;
		break;
	case 'm': case 'M':
		mul = 1024 * 1024;
		end++;
		break;
	case 'g': case 'G':
		mul = 1024ULL * 1024 * 1024;
		end++;
		break;
	default:
		return -1;
	}
	if (*end != '\0' || v == 0 || v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

static void
on_signal(int sig)
{
	static volatile sig_atomic_t count;

	(void)sig;
	run_interrupt();
	/* A second signal stops blocked I/O too. */
	if (++count > 1)
		conn_interrupt();
}

static void
summary(const struct run_stats *st)
{
	double	secs = st->ms / 1000.0;

	printf("%-12s %llu\n", "listed", (unsigned long long)st->listed);
	printf("%-12s %llu\n", "new", (unsigned long long)st->fresh);
	printf("%-12s %llu\n", "archived", (unsigned long long)st->archived);
	if (st->dups)
		printf("%-12s %llu\n", "duplicates",
		    (unsigned long long)st->dups);
	if (st->collisions)
		printf("%-12s %llu\n", "collisions",
		    (unsigned long long)st->collisions);
	if (st->skipped)
		printf("%-12s %llu\n", "too large",
		    (unsigned long long)st->skipped);
	if (st->failed)
		printf("%-12s %llu\n", "failed",
		    (unsigned long long)st->failed);
	printf("%-12s %llu (%.1f MB/s)\n", "bytes",
	    (unsigned long long)st->bytes,
	    secs > 0 ? st->bytes / 1e6 / secs : 0.0);
	printf("%-12s %.2f s\n", "time", secs);
	if (st->where[0] != '\0')
		printf("%-12s %s\n", "archive", st->where);
}

enum {
	O_VAULT = 256, O_FORMAT, O_PWCMD, O_AUTH, O_TLSCA, O_TLSFP,
	O_INSECURE, O_TIMEOUT, O_MAXSIZE, O_BATCH, O_COMPRESS
};

static const struct option fetch_opts[] = {
	{ "vault", required_argument, NULL, O_VAULT },
	{ "format", required_argument, NULL, O_FORMAT },
	{ "compress", required_argument, NULL, O_COMPRESS },
	{ "password-command", required_argument, NULL, O_PWCMD },
	{ "auth", required_argument, NULL, O_AUTH },
	{ "tls-ca", required_argument, NULL, O_TLSCA },
	{ "tls-fingerprint", required_argument, NULL, O_TLSFP },
	{ "insecure-plaintext", no_argument, NULL, O_INSECURE },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "max-message-size", required_argument, NULL, O_MAXSIZE },
	{ "batch", required_argument, NULL, O_BATCH },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static int
fetch_main(int argc, char **argv)
{
	struct run_opts		 o;
	struct run_stats	 st;
	struct url		 u;
	struct sigaction	 sa;
	char			 vault[4096], err[256], account[600];
	char			*end;
	long			 v;
	int			 ch, verbosity = LOG_NORMAL, code;

	memset(&o, 0, sizeof o);
	o.format = fmt_find("maildir");
	o.compress = FMT_COMP_NONE;
	o.auth = POP3_AUTH_USER;
	o.pop3.connect_timeout_ms = 30000;
	o.pop3.timeout_ms = 60000;
	o.pop3.max_msg_size = 1ULL << 30;
	o.pop3.window = 32;
	cmd_default_vault(vault, sizeof vault);
	o.vault = vault;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "vqh", fetch_opts, NULL)) != -1) {
		switch (ch) {
		case O_VAULT:
			o.vault = optarg;
			break;
		case O_FORMAT:
			if ((o.format = fmt_find(optarg)) == NULL) {
				log_warnx("unknown format %s (have: %s)",
				    optarg, fmt_names());
				return EXIT_USAGE;
			}
			break;
		case O_COMPRESS:
			if (strcmp(optarg, "none") == 0)
				o.compress = FMT_COMP_NONE;
			else if (strcmp(optarg, "gzip") == 0)
				o.compress = FMT_COMP_GZIP;
			else if (strcmp(optarg, "zstd") == 0)
				o.compress = FMT_COMP_ZSTD;
			else if (strcmp(optarg, "xz") == 0)
				o.compress = FMT_COMP_XZ;
			else {
				log_warnx("--compress: none, gzip, zstd or xz");
				return EXIT_USAGE;
			}
			break;
		case O_PWCMD:
			o.password_command = optarg;
			break;
		case O_AUTH:
			if (strcmp(optarg, "user") == 0)
				o.auth = POP3_AUTH_USER;
			else if (strcmp(optarg, "apop") == 0)
				o.auth = POP3_AUTH_APOP;
			else {
				log_warnx("--auth: user or apop");
				return EXIT_USAGE;
			}
			break;
		case O_TLSCA:
			o.pop3.tlsopts.ca_file = optarg;
			break;
		case O_TLSFP:
			o.pop3.tlsopts.fingerprint = optarg;
			break;
		case O_INSECURE:
			o.pop3.insecure_plaintext = 1;
			break;
		case O_TIMEOUT:
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end != '\0' || v < 1 || v > 86400) {
				log_warnx("--timeout: 1 to 86400 seconds");
				return EXIT_USAGE;
			}
			o.pop3.timeout_ms = (int)v * 1000;
			o.pop3.connect_timeout_ms = (int)v * 1000;
			break;
		case O_MAXSIZE:
			if (parse_size(optarg, &o.pop3.max_msg_size) == -1) {
				log_warnx("--max-message-size: a size such as "
				    "50M");
				return EXIT_USAGE;
			}
			break;
		case O_BATCH:
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end != '\0' || v < 1 || v > 100000) {
				log_warnx("--batch: 1 to 100000");
				return EXIT_USAGE;
			}
			o.batch_msgs = (unsigned)v;
			break;
		case 'v':
			verbosity++;
			break;
		case 'q':
			verbosity = LOG_QUIET;
			break;
		case 'h':
			fetch_usage();
			return EXIT_OK;
		default:
			fetch_usage();
			return EXIT_USAGE;
		}
	}
	log_init(verbosity);
	if (o.compress != FMT_COMP_NONE &&
	    !(o.format->flags & FMT_F_COMPRESSES)) {
		log_warnx("the %s format is not compressed", o.format->name);
		return EXIT_USAGE;
	}
	if (argc - optind != 1) {
		log_warnx("fetch needs one URL (pop3s://USER@HOST)");
		return EXIT_USAGE;
	}
	if (url_parse(argv[optind], &u, err, sizeof err) == -1) {
		log_warnx("%s: %s", argv[optind], err);
		return EXIT_USAGE;
	}
	if (!u.implicit_tls && !o.pop3.insecure_plaintext)
		o.pop3.tls = POP3_TLS_STARTTLS;
	else if (!u.implicit_tls)
		o.pop3.tls = POP3_TLS_NONE;
	else
		o.pop3.tls = POP3_TLS_IMPLICIT;
	o.pop3.host = u.host;
	o.pop3.port = u.port;
	o.user = u.user;
	snprintf(account, sizeof account, "%s@%s:%s", u.user, u.host, u.port);
	o.account = account;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	code = run_account(&o, &st);
	if (verbosity >= LOG_NORMAL && (code == EXIT_OK ||
	    code == EXIT_PARTIAL || st.listed > 0))
		summary(&st);
	return code;
}

const struct cmd cmd_fetch = {
	.name = "fetch",
	.summary = "archive the new messages of an account",
	.usage = fetch_usage,
	.run = fetch_main,
};
