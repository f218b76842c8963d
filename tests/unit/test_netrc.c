/*
 * test_netrc.c -- unit tests for core/netrc.c.
 *
 * A table of netrc texts, each asked for a host (and maybe a login),
 * with the answer: the password, "not found", or an error with a word
 * its message must hold. Then real files: permissions, a missing
 * file, a folder, and a file over the size limit.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netrc.h"
#include "secret.h"
#include "t.h"


static const char	basic[] =
    "machine pop.example.org login alice password apw\n"
    "machine pop.example.org login bob password bpw\n"
    "machine other.example login carol\n"
    "machine nologin.example password npw\n"
    "default login anon password dpw\n";

static const struct lookup {
	const char	*text;
	const char	*host;
	const char	*login;		/* or NULL */
	int		 r;		/* 1, 0 or -1 */
	const char	*want;		/* password, or a word of err */
} lookups[] = {
	/* machine and login matching */
	{ basic, "pop.example.org", NULL, 1, "apw" },
	{ basic, "pop.example.org", "alice", 1, "apw" },
	{ basic, "pop.example.org", "bob", 1, "bpw" },
	{ basic, "POP.Example.ORG", "bob", 1, "bpw" },
	/* Bob: no such login, and the default's login is anon */
	{ basic, "pop.example.org", "Bob", 0, NULL },
	{ basic, "pop.example.org", "anon", 1, "dpw" },
	{ basic, "elsewhere", NULL, 1, "dpw" },
	{ basic, "elsewhere", "anon", 1, "dpw" },
	{ basic, "elsewhere", "zed", 0, NULL },
	/* the first match decides, even without a password */
	{ basic, "other.example", NULL, 0, NULL },
	{ basic, "other.example", "carol", 0, NULL },
	/* with a login asked, an entry without one does not match */
	{ basic, "nologin.example", NULL, 1, "npw" },
	{ basic, "nologin.example", "x", 0, NULL },
	{ basic, "pop.example", NULL, 1, "dpw" },
	{ "machine a password p\n", "b", NULL, 0, NULL },
	{ "", "a", NULL, 0, NULL },
	{ "\n\n  \t\n", "a", NULL, 0, NULL },
	/* any whitespace separates; order within an entry is free */
	{ "machine\ta\n\tpassword\n p  login\tu", "a", "u", 1, "p" },
	{ "machine a password p1 password p2", "a", NULL, 1, "p1" },
	{ "machine a login u1 login u2 password p", "a", "u1", 1, "p" },
	{ "machine a login u1 login u2 password p", "a", "u2", 0, NULL },
	{ "machine a\r\npassword p\r\n", "a", NULL, 1, "p" },
	/* default anywhere; machines win over it */
	{ "default password d\nmachine a password p\n", "a", NULL, 1, "p" },
	{ "default password d1\ndefault password d2\n", "a", NULL, 1, "d1" },
	{ "default login u password d\n", "a", "v", 0, NULL },
	/* login/password before any entry belong to none */
	{ "login u password p\n", "a", NULL, 0, NULL },
	/* machine names are tokens: "default" as a name is a name */
	{ "machine default password p\n", "default", NULL, 1, "p" },
	{ "machine default password p\n", "a", NULL, 0, NULL },
	/* account is read and ignored; unknown keywords skipped */
	{ "machine a account acct password p", "a", NULL, 1, "p" },
	{ "machine a port 995 password p", "a", NULL, 1, "p" },
	/* quoted tokens */
	{ "machine a password \"p w\"", "a", NULL, 1, "p w" },
	{ "machine a password \"say \\\"hi\\\"\"", "a", NULL, 1,
	  "say \"hi\"" },
	{ "machine a password \"back\\\\slash\"", "a", NULL, 1,
	  "back\\slash" },
	{ "machine a password \"\\x\\y\"", "a", NULL, 1, "xy" },
	{ "machine a password \"\"", "a", NULL, 1, "" },
	{ "machine \"a\" login \"u s\" password \"#not\"", "a", "u s", 1,
	  "#not" },
	{ "machine a password p\\q", "a", NULL, 1, "p\\q" },
	{ "machine a password p\"q\"", "a", NULL, 1, "p\"q\"" },
	/* comments at the start of a token */
	{ "# machine a password bad\nmachine a password p", "a", NULL, 1,
	  "p" },
	{ "machine a # password bad\npassword p", "a", NULL, 1, "p" },
	{ "machine a password p#q # comment", "a", NULL, 1, "p#q" },
	{ "machine a password \"#q\"", "a", NULL, 1, "#q" },
	{ "machine a password p #", "a", NULL, 1, "p" },
	/* macdef: skipped through the next empty line */
	{ "macdef init\nmachine a password bad\nquit\n\nmachine a password p",
	  "a", NULL, 1, "p" },
	{ "machine b password q\nmacdef m machine a password bad\n"
	  "\nmachine a password p", "a", NULL, 1, "p" },
	{ "macdef init\r\nmachine a password bad\r\n\r\n"
	  "machine a password p", "a", NULL, 1, "p" },
	{ "macdef init\nmachine a password bad\n", "a", NULL, 0, NULL },
	{ "macdef init\n  \nmachine a password bad\n", "a", NULL, 0, NULL },
	{ "macdef init\n\nmachine a password p", "a", NULL, 1, "p" },
	/* errors, with the line */
	{ "machine a password \"p", "a", NULL, -1, "t.netrc:1: unterminated" },
	{ "\nmachine a password \"p\nq\"", "a", NULL, -1,
	  "t.netrc:2: unterminated" },
	{ "machine a password \"p\\", "a", NULL, -1, "unterminated" },
	{ "machine a password", "a", NULL, -1, "without its value" },
	{ "machine a\n\nlogin", "a", NULL, -1, "t.netrc:3: keyword" },
	{ "machine", "a", NULL, -1, "without its value" },
	{ "machine a password # p", "a", NULL, -1, "without its value" },
	{ "macdef", "a", NULL, -1, "without its value" },
	/* an error after the match still counts */
	{ "machine a password p\nmachine b password \"x", "a", NULL, -1,
	  "unterminated" },
};

static void
test_lookups(void)
{
	const struct lookup	*l;
	char			 err[256], *pw;
	size_t			 i;
	int			 r, secret;

	for (i = 0; i < NELEM(lookups); i++) {
		l = &lookups[i];
		err[0] = '\0';
		pw = (char *)1;
		r = netrc_lookup_buffer("t.netrc", l->text, strlen(l->text),
		    l->host, l->login, &pw, &secret, err, sizeof err);
		T_CHECKF(r == l->r, "%zu: got %d, want %d (%s)", i, r, l->r,
		    err);
		if (r == 1) {
			T_CHECKF(pw != NULL && l->want != NULL &&
			    strcmp(pw, l->want) == 0, "%zu: got [%s]", i,
			    pw ? pw : "(null)");
			T_CHECK(secret == 1);
		} else
			T_CHECKF(pw == NULL, "%zu: password set", i);
		if (r == -1 && l->r == -1)
			T_CHECKF(strstr(err, l->want) != NULL, "%zu: \"%s\" "
			    "lacks \"%s\"", i, err, l->want);
		if (r == 1)
			secret_free(pw);
	}
}

/* has_password: any password token at all, matched or not. */
static void
test_has_password(void)
{
	static const struct {
		const char	*text;
		int		 secret;
	} t[] = {
		{ "machine a login u", 0 },
		{ "machine b password x", 1 },
		{ "password x", 1 },
		{ "# password x\nmachine a", 0 },
		{ "macdef m\npassword x\n\nmachine a", 0 },
		{ "machine a login password", 0 },
	};
	char	err[256], *pw;
	size_t	i;
	int	secret;

	for (i = 0; i < NELEM(t); i++) {
		secret = -1;
		T_CHECK(netrc_lookup_buffer("t", t[i].text, strlen(t[i].text),
		    "a", NULL, &pw, &secret, err, sizeof err) == 0);
		T_CHECKF(secret == t[i].secret, "%zu: %d", i, secret);
	}
}

/* Token length: 4096 bytes fit, 4097 do not (quoted or not). */
static void
test_token_limit(void)
{
	char	*text, *p, err[256], *pw;
	size_t	 n, q;
	int	 r, secret;

	for (q = 0; q < 2; q++)
		for (n = NETRC_TOKEN_MAX - 1; n <= NETRC_TOKEN_MAX + 1; n++) {
			if ((text = malloc(n + 64)) == NULL)
				return;
			p = text + sprintf(text, "machine a password %s",
			    q ? "\"" : "");
			memset(p, 'x', n);
			strcpy(p + n, q ? "\"" : "");
			r = netrc_lookup_buffer("t", text, strlen(text), "a",
			    NULL, &pw, &secret, err, sizeof err);
			if (n <= NETRC_TOKEN_MAX) {
				T_CHECKF(r == 1 && strlen(pw) == n, "%zu %zu",
				    q, n);
				if (r == 1)
					secret_free(pw);
			} else
				T_CHECKF(r == -1 && strstr(err, "longer") !=
				    NULL, "%zu %zu: %d %s", q, n, r, err);
			free(text);
		}
	/* A NUL byte is refused, not a silent cut. */
	T_CHECK(netrc_lookup_buffer("t", "machine a password p\0q", 22, "a",
	    NULL, &pw, &secret, err, sizeof err) == -1);
	T_CHECK(strstr(err, "NUL") != NULL);
	/* Over 1 MiB in memory. */
	T_CHECK(netrc_lookup_buffer("t", "", NETRC_FILE_MAX + 1, "a", NULL,
	    &pw, &secret, err, sizeof err) == -1);
}

/* Every prefix of a netrc parses without overread (ASan). */
static void
test_truncations(void)
{
	static const char	text[] =
	    "machine a login \"u\\\"x\" password p # c\n"
	    "macdef m\nx\n\n"
	    "default password d\n";
	char			err[256], *pw, *copy;
	size_t			n;
	int			r, secret;

	for (n = 0; n < sizeof text; n++) {
		if ((copy = malloc(n ? n : 1)) == NULL)
			return;
		memcpy(copy, text, n);
		r = netrc_lookup_buffer("t", copy, n, "a", NULL, &pw, &secret,
		    err, sizeof err);
		T_CHECK(r >= -1 && r <= 1);
		if (r == 1)
			secret_free(pw);
		free(copy);
	}
}

static void
test_files(void)
{
	char	dir[64];
	char	path[256], link[256], err[1024], *pw;
	FILE	*fp;
	size_t	i;

	if (t_tmpdir(dir, sizeof dir, "netrc") == -1) {
		T_CHECK(0);
		return;
	}
	snprintf(path, sizeof path, "%s/netrc", dir);

	T_CHECK(t_write_file(path, basic, 0600) == 0);
	T_CHECK(netrc_lookup(path, "pop.example.org", "bob", &pw, err,
	    sizeof err) == 1);
	T_CHECK(pw != NULL && strcmp(pw, "bpw") == 0);
	secret_free(pw);
	T_CHECK(netrc_lookup(path, "x", "zed", &pw, err, sizeof err) == 0);
	T_CHECK(pw == NULL);

	/* Readable by others and holding a password: refused. */
	T_CHECK(chmod(path, 0644) == 0);
	T_CHECK(netrc_lookup(path, "pop.example.org", NULL, &pw, err,
	    sizeof err) == -1);
	T_CHECK(pw == NULL);
	T_CHECK(strstr(err, path) != NULL && strstr(err, "chmod 600") !=
	    NULL);
	/* Even when the host is not in it. */
	T_CHECK(netrc_lookup(path, "x", "zed", &pw, err, sizeof err) == -1);
	T_CHECK(chmod(path, 0640) == 0);
	T_CHECK(netrc_lookup(path, "x", NULL, &pw, err, sizeof err) == -1);
	T_CHECK(chmod(path, 0601) == 0);
	T_CHECK(netrc_lookup(path, "x", NULL, &pw, err, sizeof err) == -1);

	/* Through a link: the target's mode counts, and it is named. */
	snprintf(link, sizeof link, "%s/link", dir);
	T_CHECK(symlink(path, link) == 0);
	T_CHECK(netrc_lookup(link, "x", NULL, &pw, err, sizeof err) == -1);
	T_CHECK(strncmp(err, link, strlen(link)) == 0 &&
	    strstr(err, "symbolic link to") != NULL &&
	    strstr(err, path) != NULL && strstr(err, "chmod 600") != NULL);
	T_CHECK(chmod(path, 0600) == 0);
	T_CHECK(netrc_lookup(link, "pop.example.org", "bob", &pw, err,
	    sizeof err) == 1);
	secret_free(pw);
	/*
	 * Another user's file, or a link of another user, holding a
	 * password: refused, root included (issue 13).
	 */
	if (geteuid() == 0) {
		T_CHECK(chown(path, 65534, 65534) == 0);
		T_CHECK(netrc_lookup(path, "pop.example.org", "bob", &pw, err,
		    sizeof err) == -1);
		T_CHECK(pw == NULL);
		T_CHECKF(strstr(err, "belongs to") != NULL &&
		    strstr(err, "chown root") != NULL, "%s", err);
		T_CHECK(netrc_lookup(link, "pop.example.org", "bob", &pw, err,
		    sizeof err) == -1);
		T_CHECK(chown(path, 0, 0) == 0);
		T_CHECK(lchown(link, 65534, 65534) == 0);
		T_CHECK(netrc_lookup(link, "pop.example.org", "bob", &pw, err,
		    sizeof err) == -1);
		T_CHECKF(strstr(err, "symbolic link owned by") != NULL &&
		    strstr(err, "ln -sfn") != NULL, "%s", err);
		T_CHECK(netrc_lookup(path, "pop.example.org", "bob", &pw, err,
		    sizeof err) == 1);
		secret_free(pw);
	} else
		printf("test_files: not root: the other-owner cases need "
		    "chown, not run\n");
	unlink(link);

	/* No password in it: its mode does not matter. */
	T_CHECK(t_write_file(path, "machine a login u\n", 0644) == 0);
	T_CHECK(netrc_lookup(path, "a", NULL, &pw, err, sizeof err) == 0);
	/* Nor its owner. */
	if (geteuid() == 0) {
		T_CHECK(chown(path, 65534, 65534) == 0);
		T_CHECK(netrc_lookup(path, "a", NULL, &pw, err,
		    sizeof err) == 0);
	}

	/* Missing, a folder, too large. */
	T_CHECK(unlink(path) == 0);
	T_CHECK(netrc_lookup(path, "a", NULL, &pw, err, sizeof err) == -1);
	T_CHECK(strstr(err, path) != NULL &&
	    strstr(err, strerror(ENOENT)) != NULL);
	T_CHECK(netrc_lookup(dir, "a", NULL, &pw, err, sizeof err) == -1);
	T_CHECK(strstr(err, "regular") != NULL);
	if ((fp = fopen(path, "w")) != NULL) {
		for (i = 0; i < NETRC_FILE_MAX / 16 + 1; i++)
			fputs("# padding......\n", fp);
		fclose(fp);
		chmod(path, 0600);
		T_CHECK(netrc_lookup(path, "a", NULL, &pw, err,
		    sizeof err) == -1);
		T_CHECK(strstr(err, "larger") != NULL);
		unlink(path);
	} else
		T_CHECK(0);
	t_rmrf(dir);
}

int
main(void)
{
	T_RUN(test_lookups);
	T_RUN(test_has_password);
	T_RUN(test_token_limit);
	T_RUN(test_truncations);
	T_RUN(test_files);
	return T_END();
}
