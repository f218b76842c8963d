/*
 * uidls.c -- "popvault import --account NAME --uidls-from TOOL:FILE": the
 * UIDLs that mpop, getmail or fetchmail recorded as retrieved from an
 * account's server (core/uidstate.c reads their files) go into the index
 * as foreign UIDLs (idx_foreign_add()): the next fetch of that account
 * does not download them, and no delete takes them on that record
 * alone (a delete policy downloads each once to prove it first).
 *
 * The account is the one fetch runs: its server and user come from the
 * vault's index when the account exists there, else from the config
 * file's section of that name, else from a name of the form
 * USER@HOST:PORT (what fetch calls an account given as a URL). Only the
 * tool's UIDs for that host and user are taken.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "account.h"
#include "config.h"
#include "idx.h"
#include "import.h"
#include "log.h"
#include "opt.h"
#include "report.h"
#include "uidstate.h"
#include "util.h"

struct fuid {
	char	uid[UIDSTATE_UID_MAX + 1];
	int64_t	when;
};

struct fuids {
	struct fuid	*v;
	size_t		 n, cap;
};

static int
take(void *arg, const char *uid, size_t len, int64_t when)
{
	struct fuids	*f = arg;

	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 1024;
		f->v = xreallocarray(f->v, f->cap, sizeof *f->v);
	}
	memcpy(f->v[f->n].uid, uid, len);
	f->v[f->n].uid[len] = '\0';
	f->v[f->n].when = when;
	f->n++;
	return 0;
}

struct ident {
	char	host[256];
	char	port[32];
	char	user[256];
	char	vault[4096];	/* the config's, or "" */
};

/* The account's server and user from the config file: 1 found, 0, -1. */
static int
ident_from_config(const struct opt_values *v, const char *name,
    struct ident *id)
{
	const struct config_account	*ca;
	struct account_opts		*ao;
	struct config			 cfg;
	int				 r;

	if ((r = import_config(v, &cfg)) <= 0)
		return r;
	r = 0;
	if ((ca = config_find(&cfg, name)) != NULL) {
		/* Built as fetch builds it: the same identity. */
		ao = xcalloc(1, sizeof *ao);
		opt_defaults(&ao->v);
		opt_merge(&ao->v, &cfg.defaults.v);
		opt_merge(&ao->v, &ca->v);
		if (account_build(ao, RUN_FETCH, ca->name, 1) == 0 &&
		    ao->o.pop3.host != NULL && ao->o.user != NULL) {
			snprintf(id->host, sizeof id->host, "%s",
			    ao->o.pop3.host);
			snprintf(id->port, sizeof id->port, "%s",
			    ao->o.pop3.port);
			snprintf(id->user, sizeof id->user, "%s", ao->o.user);
			if (ao->v.vault != NULL)
				snprintf(id->vault, sizeof id->vault, "%s",
				    ao->v.vault);
			r = 1;
		} else {
			log_warnx("account %s of %s: no host or user", name,
			    cfg.path);
			r = -1;
		}
		opt_free(&ao->v);
		free(ao);
	}
	config_free(&cfg);
	return r;
}

/* USER@HOST:PORT, as fetch names an account given as a URL. */
static int
ident_from_name(const char *name, struct ident *id)
{
	const char	*at = strrchr(name, '@'), *colon;
	size_t		 k;

	if (at == NULL || at == name || (colon = strrchr(at, ':')) == NULL ||
	    colon == at + 1 || colon[1] == '\0' ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return 0;
	k = (size_t)(at - name);
	if (k >= sizeof id->user || (size_t)(colon - at - 1) >= sizeof id->host
	    || strlen(colon + 1) >= sizeof id->port)
		return 0;
	memcpy(id->user, name, k);
	id->user[k] = '\0';
	memcpy(id->host, at + 1, (size_t)(colon - at - 1));
	id->host[colon - at - 1] = '\0';
	snprintf(id->port, sizeof id->port, "%s", colon + 1);
	return 1;
}

static void
no_match(const char *spec, const struct ident *id,
    const struct uidstate_stats *st)
{
	char	seen[1200];
	size_t	i, k = 0;

	seen[0] = '\0';
	for (i = 0; i < st->npairs && k < sizeof seen; i++)
		k += (size_t)snprintf(seen + k, sizeof seen - k, "%s%s@%s",
		    i ? ", " : "", st->pairs[i].user, st->pairs[i].host);
	log_warnx("%s holds no UIDs of %s@%s%s%s%s", spec, id->user, id->host,
	    st->npairs > 0 ? " (it holds " : "", seen,
	    st->npairs > 0 ? (st->more_pairs ? ", ...)" : ")") : "");
}

int
import_uidls(const struct opt_values *v)
{
	enum uidstate_tool	 tool;
	struct uidstate_stats	 st;
	struct idx_ident	 have;
	struct ident		 id;
	struct fuids		 f;
	struct idx		*x = NULL;
	const char		*colon = strchr(v->uidls_from, ':'), *vault;
	char			 word[32], err[1200], path[4200], dir[128];
	int64_t			 acct, now = wall_now();
	size_t			 i, added = 0;
	int			 r, code = EXIT_OK;

	if (colon == NULL || colon == v->uidls_from ||
	    (size_t)(colon - v->uidls_from) >= sizeof word ||
	    colon[1] == '\0') {
		log_warnx("--uidls-from %s: expected TOOL:FILE (mpop:, "
		    "getmail: or fetchmail:)", v->uidls_from);
		return EXIT_USAGE;
	}
	memcpy(word, v->uidls_from, (size_t)(colon - v->uidls_from));
	word[colon - v->uidls_from] = '\0';
	if (uidstate_tool_find(word, &tool) == -1) {
		log_warnx("--uidls-from: unknown tool \"%s\" (mpop, getmail "
		    "or fetchmail)", word);
		return EXIT_USAGE;
	}
	memset(&id, 0, sizeof id);
	if ((r = ident_from_config(v, v->account, &id)) == -1)
		return EXIT_USAGE;
	if (r == 0 && !ident_from_name(v->account, &id)) {
		/* Known to the vault only: the index says. */
		id.host[0] = '\0';
	}
	vault = OPT_ISSET(v, OPT_VAULT) || id.vault[0] == '\0' ? v->vault :
	    id.vault;
	if (import_check_account(vault, v->account, 0) == -1)
		return EXIT_USAGE;
	if (xsnprintf(path, sizeof path, "%s/index.sqlite", vault) == -1) {
		log_warnx("vault path too long");
		return EXIT_USAGE;
	}
	if (mkdir_p(vault) == -1) {
		log_warn("vault %s", vault);
		return EXIT_IOERR;
	}
	if ((x = idx_open(path, err, sizeof err)) == NULL) {
		log_warnx("%s", err);
		return EXIT_IOERR;
	}
	r = idx_account_find(x, v->account, &acct, dir, sizeof dir);
	if (r == 0) {
		if (idx_identity(x, acct, &have) == -1)
			goto idxfail;
		if (id.host[0] != '\0' && (strcasecmp(have.host, id.host) != 0
		    || strcmp(have.port, id.port) != 0 ||
		    strcmp(have.user, id.user) != 0)) {
			log_warnx("account %s was archived from %s@%s:%s, and "
			    "the config says %s@%s:%s: run fetch once first "
			    "(with --account-changed as it says)", v->account,
			    have.user, have.host, have.port, id.user, id.host,
			    id.port);
			idx_close(x);
			return EXIT_USAGE;
		}
		snprintf(id.host, sizeof id.host, "%s", have.host);
		snprintf(id.port, sizeof id.port, "%s", have.port);
		snprintf(id.user, sizeof id.user, "%s", have.user);
	} else if (r == -1)
		goto idxfail;
	else if (id.host[0] == '\0') {
		log_warnx("account %s is neither in the vault nor in the "
		    "config file: name it as fetch does (the config file's "
		    "account, or USER@HOST:PORT for one given as a URL)",
		    v->account);
		idx_close(x);
		return EXIT_USAGE;
	}
	memset(&f, 0, sizeof f);
	r = uidstate_read_file(tool, colon + 1, id.host, id.user, take, &f,
	    &st, err, sizeof err);
	if (r != 0) {
		log_warnx("%s", err);
		free(f.v);
		idx_close(x);
		return EXIT_DATAERR;
	}
	if (f.n == 0) {
		if (st.npairs > 0)
			no_match(v->uidls_from, &id, &st);
		else
			log_warnx("%s holds no UIDs", v->uidls_from);
		free(f.v);
		idx_close(x);
		return EXIT_DATAERR;
	}
	if (idx_account(x, v->account, id.host, id.port, id.user,
	    &acct, dir, sizeof dir) == -1)
		goto idxfail_f;
	/* One transaction: all of the file's UIDs, or none. */
	if (idx_begin(x) == -1)
		goto idxfail_f;
	for (i = 0; i < f.n; i++) {
		r = idx_foreign_add(x, acct, f.v[i].uid, strlen(f.v[i].uid),
		    uidstate_tool_name(tool), colon + 1,
		    f.v[i].when > 0 ? f.v[i].when : now);
		if (r == -1) {
			idx_rollback(x);
			goto idxfail_f;
		}
		added += (size_t)r;
	}
	if (idx_commit(x) == -1) {
		idx_rollback(x);
		goto idxfail_f;
	}
	if (v->json) {
		printf("{\"command\":\"import\",\"account\":");
		report_json_str(stdout, v->account);
		printf(",\"uidls_from\":");
		report_json_str(stdout, v->uidls_from);
		printf(",\"read\":%zu,\"recorded\":%zu,\"known\":%zu,"
		    "\"skipped\":%zu,\"exit\":0}\n", f.n, added, f.n - added,
		    st.baduid + st.malformed);
	} else if (!v->quiet)
		printf("%s: %zu UIDLs of %s@%s read from %s, %zu recorded, "
		    "%zu known already; fetch does not download them again, "
		    "and deletes none before a download proves it stored\n",
		    v->account, f.n, id.user, id.host, v->uidls_from, added,
		    f.n - added);
	if (st.baduid + st.malformed > 0)
		log_info("%s: %zu lines skipped (%s)", v->uidls_from,
		    st.baduid + st.malformed, st.first_skip);
	free(f.v);
	idx_close(x);
	return code;
idxfail_f:
	free(f.v);
idxfail:
	log_warnx("%s", idx_error(x));
	idx_close(x);
	return EXIT_IOERR;
}
