/*
 * account.c -- what "fetch" and "prune" share: the options of an
 * account run, the run itself, and its summary.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "cmd.h"
#include "conn.h"
#include "format.h"
#include "log.h"
#include "progress.h"
#include "report.h"
#include "run.h"
#include "sasl.h"
#include "secret.h"
#include "stop.h"
#include "url.h"
#include "util.h"

void
account_usage(const char *cmd)
{
	int	fetch = strcmp(cmd, "fetch") == 0;

	if (fetch)
		printf("usage: popvault fetch [OPTIONS] URL\n"
		    "       popvault fetch [OPTIONS] [ACCOUNT...]\n"
		    "\n"
		    "Archive every message of the account not archived before,\n"
		    "verify what was written by reading it back, and (only if\n"
		    "asked) delete verified messages from the server. URL is\n"
		    "pop3s://USER@HOST[:PORT] (TLS from the start, port 995) or\n"
		    "pop3://USER@HOST[:PORT] (STLS required, port 110).\n"
		    "Without a URL, the named accounts of the config file (all\n"
		    "when none is named) are run.\n");
	else
		printf("usage: popvault prune --delete=POLICY [OPTIONS] URL\n"
		    "       popvault prune [OPTIONS] [ACCOUNT...]\n"
		    "\n"
		    "Apply a delete policy to the server without downloading:\n"
		    "only messages already archived and verified are deleted.\n");
	printf("\n"
	    "Options:\n"
	    "  --config FILE            accounts (default:\n"
	    "                           $XDG_CONFIG_HOME/popvault/config)\n"
	    "  -j, --jobs N             run up to N accounts at once\n"
	    "  --vault DIR              index and archives (default:\n"
	    "                           $XDG_DATA_HOME/popvault)\n");
	if (fetch)
		printf("  --format NAME            archive format: %s (default "
		    "maildir)\n"
		    "  --compress none|gzip|zstd|xz\n"
		    "                           compression (mbox: gzip; tar: "
		    "all)\n"
		    "  --max-message-size SIZE  largest message fetched "
		    "(default 1G;\n"
		    "                           suffixes k, M, G)\n"
		    "  --batch N                messages per commit (default "
		    "200; tar:\n"
		    "                           10000, one volume per commit)\n"
		    "  --dry-run                connect and list; say what would "
		    "be\n"
		    "                           archived and deleted; change "
		    "nothing\n", fmt_names());
	else
		printf("  --plan                   connect and list; say which "
		    "UIDLs would\n"
		    "                           be deleted and why; delete "
		    "nothing\n");
	printf("  --delete POLICY          never (default), verified, or\n"
	    "                           older-than=DURATION (30d, 12w, 6m, "
	    "1y)\n"
	    "  --age-by first-seen|date age from when popvault first saw "
	    "the\n"
	    "                           message (default) or its Date "
	    "header\n"
	    "  --max-deletes N          delete at most N messages per run\n"
	    "  --account-changed moved|new\n"
	    "                           the account's host, port or user "
	    "changed:\n"
	    "                           moved: the same mailbox, every UIDL\n"
	    "                           proven again by its bytes before "
	    "any\n"
	    "                           delete; new: start a fresh account,\n"
	    "                           keeping the old one under another "
	    "name\n"
	    "  --password-command CMD   run CMD, use the first line it "
	    "prints\n"
	    "                           (else $POPVAULT_PASSWORD, else a "
	    "prompt)\n"
	    "  --password-command-timeout SECONDS\n"
	    "                           kill the command if it has not "
	    "finished\n"
	    "                           by then (default 60)\n"
	    "  --auth METHOD            auto (the default: SCRAM-SHA-256,\n"
	    "                           SCRAM-SHA-1, PLAIN, LOGIN, the first\n"
	    "                           offered after TLS, else USER/PASS),\n"
	    "                           user (USER/PASS), apop, plain, login,\n"
	    "                           cram-md5, scram-sha-1, scram-sha-256,\n"
	    "                           xoauth2, oauthbearer (token from the\n"
	    "                           password source)\n"
	    "  --tls-ca FILE            trust the CA certificates in FILE\n"
	    "                           instead of the system's\n"
	    "  --tls-fingerprint sha256:HEX\n"
	    "                           accept only this certificate or "
	    "key\n"
	    "  --insecure-plaintext     pop3:// goes on in clear text, the "
	    "password\n"
	    "                           too, when the server offers no STLS "
	    "(STLS\n"
	    "                           is used whenever offered)\n"
	    "  --timeout SECONDS        idle timeout, base of every "
	    "deadline\n"
	    "                           (default 60)\n"
	    "  --json                   the report as one JSON document on\n"
	    "                           stdout (docs/json.md)\n"
	    "  --log FILE               append one line per event (connect,\n"
	    "                           login, batch, verify, delete, "
	    "warning)\n"
	    "  --progress               show progress even when stderr is "
	    "not\n"
	    "                           a terminal\n"
	    "  -v, --verbose            show the POP3 conversation (twice: "
	    "TLS)\n"
	    "  -q, --quiet              errors only, no progress, no report\n"
	    "  -h, --help               this text\n");
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
on_signal(int sig);

static void
install_signals(void)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void
on_signal(int sig)
{
	static volatile sig_atomic_t count;

	(void)sig;
	stop_request();
	/* A second signal stops blocked I/O too. */
	if (++count > 1)
		conn_interrupt();
}

static const struct option fetch_opts[] = {
	{ "vault", required_argument, NULL, O_VAULT },
	{ "format", required_argument, NULL, O_FORMAT },
	{ "compress", required_argument, NULL, O_COMPRESS },
	{ "password-command", required_argument, NULL, O_PWCMD },
	{ "password-command-timeout", required_argument, NULL, O_PWTIMEOUT },
	{ "auth", required_argument, NULL, O_AUTH },
	{ "tls-ca", required_argument, NULL, O_TLSCA },
	{ "tls-fingerprint", required_argument, NULL, O_TLSFP },
	{ "insecure-plaintext", no_argument, NULL, O_INSECURE },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "max-message-size", required_argument, NULL, O_MAXSIZE },
	{ "batch", required_argument, NULL, O_BATCH },
	{ "delete", required_argument, NULL, O_DELETE },
	{ "age-by", required_argument, NULL, O_AGEBY },
	{ "max-deletes", required_argument, NULL, O_MAXDEL },
	{ "dry-run", no_argument, NULL, O_DRYRUN },
	{ "plan", no_argument, NULL, O_PLAN },
	{ "config", required_argument, NULL, O_CONFIG },
	{ "jobs", required_argument, NULL, 'j' },
	{ "json", no_argument, NULL, O_JSON },
	{ "log", required_argument, NULL, O_LOG },
	{ "progress", no_argument, NULL, O_PROGRESS },
	{ "account-changed", required_argument, NULL, O_ACCTCHG },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

int
account_main(int argc, char **argv, enum run_mode mode)
{
	struct run_opts		 o;
	struct run_stats	 st;
	struct url		 u;
	char			 vault[4096], err[256], account[600];
	char			*end;
	long			 v;
	int			 ch, verbosity = LOG_NORMAL, code, jobs = 0;
	unsigned		 given = 0;
	const char		*config = NULL, *logfile = NULL, *name;
	int			 json = 0, progress = 0;
	int64_t			 started = wall_now();
	struct report_row	 row;

	memset(&o, 0, sizeof o);
	o.mode = mode;
	o.format = fmt_find("maildir");
	o.compress = FMT_COMP_NONE;
	o.auth = POP3_AUTH_USER;
	o.sasl = "auto";	/* docs/sasl.md, "Choosing" */
	o.pop3.connect_timeout_ms = 30000;
	o.pop3.timeout_ms = 60000;
	o.pop3.max_msg_size = 1ULL << 30;
	o.pop3.window = 32;
	cmd_default_vault(vault, sizeof vault);
	o.vault = vault;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "vqhj:", fetch_opts,
	    NULL)) != -1) {
		/* Options given here override the config file's values. */
		if (ch >= O_VAULT && ch - O_VAULT < 32)
			given |= 1u << (ch - O_VAULT);
		switch (ch) {
		case O_CONFIG:
			config = optarg;
			break;
		case O_JSON:
			json = 1;
			break;
		case O_LOG:
			logfile = optarg;
			break;
		case O_PROGRESS:
			progress = 1;
			break;
		case 'j':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end != '\0' || v < 1 || v > 64) {
				log_warnx("-j: 1 to 64");
				return EXIT_USAGE;
			}
			jobs = (int)v;
			break;
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
		case O_DELETE:
			if (run_parse_delete(optarg, &o.del,
			    &o.older_than) == -1) {
				log_warnx("--delete: never, verified or "
				    "older-than=DURATION (30d, 12w, 6m, 1y)");
				return EXIT_USAGE;
			}
			break;
		case O_AGEBY:
			if (strcmp(optarg, "first-seen") == 0)
				o.age_by_date = 0;
			else if (strcmp(optarg, "date") == 0)
				o.age_by_date = 1;
			else {
				log_warnx("--age-by: first-seen or date");
				return EXIT_USAGE;
			}
			break;
		case O_MAXDEL:
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end != '\0' || v < 1) {
				log_warnx("--max-deletes: a positive number");
				return EXIT_USAGE;
			}
			o.max_deletes = (uint64_t)v;
			break;
		case O_ACCTCHG:
			if (strcmp(optarg, "moved") == 0)
				o.identity = RUN_ID_MOVED;
			else if (strcmp(optarg, "new") == 0)
				o.identity = RUN_ID_NEW;
			else {
				log_warnx("--account-changed: moved or new");
				return EXIT_USAGE;
			}
			break;
		case O_DRYRUN:
			if (mode != RUN_FETCH)
				goto badopt;
			o.mode = RUN_DRY;
			break;
		case O_PLAN:
			if (mode != RUN_PRUNE)
				goto badopt;
			o.mode = RUN_DRY;
			break;
		case O_PWCMD:
			o.password_command = optarg;
			break;
		case O_PWTIMEOUT:
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end != '\0' || v < 1 || v > 86400) {
				log_warnx("--password-command-timeout: 1 to "
				    "86400 seconds");
				return EXIT_USAGE;
			}
			/* For every password command of this run. */
			secret_set_timeout((unsigned)v);
			break;
		case O_AUTH:
			o.sasl = NULL;
			if (strcmp(optarg, "user") == 0)
				o.auth = POP3_AUTH_USER;
			else if (strcmp(optarg, "apop") == 0)
				o.auth = POP3_AUTH_APOP;
			else if (strcmp(optarg, "auto") == 0 ||
			    sasl_mech_find(optarg) != -1)
				o.sasl = optarg;
			else {
				log_warnx("--auth: user, apop, auto, plain, "
				    "login, cram-md5, scram-sha-1, "
				    "scram-sha-256, xoauth2 or oauthbearer");
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
			account_usage(argv[0]);
			return EXIT_OK;
		default:
		badopt:
			fprintf(stderr, "usage: popvault %s [OPTIONS] URL | "
			    "[ACCOUNT...]; see popvault %s --help\n",
			    argv[0], argv[0]);
			return EXIT_USAGE;
		}
	}
	if (mode == RUN_PRUNE && o.del == DEL_NEVER) {
		log_warnx("prune needs --delete=verified or "
		    "--delete=older-than=DURATION");
		return EXIT_USAGE;
	}
	log_init(verbosity);
	progress_init(verbosity == LOG_QUIET, progress);
	if (logfile != NULL && log_event_open(logfile) == -1) {
		log_warn("--log %s", logfile);
		return EXIT_IOERR;
	}
	if (o.compress != FMT_COMP_NONE &&
	    !(o.format->flags & FMT_F_COMPRESSES)) {
		log_warnx("the %s format is not compressed", o.format->name);
		return EXIT_USAGE;
	}
	if (argc - optind != 1 || strstr(argv[optind], "://") == NULL) {
		/* Accounts by name from the config file (all if none). */
		install_signals();
		return accounts_run(&o, given, config, jobs, argv + optind,
		    argc - optind, json);
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

	install_signals();

	name = account;
	progress_watch(&st, &name, 1, 1);
	code = run_account(&o, &st);
	progress_finish(0);
	if (json) {
		row.name = account;
		row.host = u.host;
		row.user = u.user;
		row.st = &st;
		report_json(stdout, &row, 1, o.mode, started, code);
		if (fflush(stdout) == EOF && code == EXIT_OK)
			code = EXIT_IOERR;
	} else if (verbosity >= LOG_NORMAL && (code == EXIT_OK ||
	    code == EXIT_PARTIAL || st.listed > 0))
		report_block(stdout, NULL, &st, o.mode);
	return code;
}

