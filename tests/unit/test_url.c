/*
 * test_url.c -- unit tests for core/url.c, the account URL parser.
 *
 * Two tables: URLs that parse, with every field of the result, and URLs
 * that must be refused, with a word the message must contain. Refusals
 * also check that an error message was written and that nothing of a
 * half-parsed URL is usable (the struct is cleared first). Then the
 * length limits of user and host, at and around sizeof - 1.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "url.h"


static const struct good {
	const char	*in;
	int		 tls;
	const char	*user;
	const char	*host;
	const char	*port;
} goods[] = {
	{ "pop3s://alice@mail.example.org", 1, "alice", "mail.example.org",
	  "995" },
	{ "pop3://alice@mail.example.org", 0, "alice", "mail.example.org",
	  "110" },
	{ "pop3s://alice@mail.example.org:1995", 1, "alice",
	  "mail.example.org", "1995" },
	{ "pop3://alice@mail.example.org:995", 0, "alice", "mail.example.org",
	  "995" },
	{ "pop3s://bob@h:110", 1, "bob", "h", "110" },
	{ "pop3s://u@h:1", 1, "u", "h", "1" },
	{ "pop3s://u@h:65535", 1, "u", "h", "65535" },
	{ "pop3s://u@h:00110", 1, "u", "h", "110" },
	{ "pop3s://u@h/", 1, "u", "h", "995" },
	{ "pop3s://u@h:12/", 1, "u", "h", "12" },
	{ "pop3s://alice%40example.org@mail.example.org", 1,
	  "alice@example.org", "mail.example.org", "995" },
	{ "pop3s://a%2Bb%2bc@h", 1, "a+b+c", "h", "995" },
	{ "pop3s://alice@example.org@mail.example.org:995", 1,
	  "alice@example.org", "mail.example.org", "995" },
	{ "pop3s://a@b@c@host", 1, "a@b@c", "host", "995" },
	{ "pop3s://a%40b@c@host", 1, "a@b@c", "host", "995" },
	{ "pop3s://u@[::1]", 1, "u", "::1", "995" },
	{ "pop3s://u@[::1]:995", 1, "u", "::1", "995" },
	{ "pop3://u@[2001:db8::25]:1110", 0, "u", "2001:db8::25", "1110" },
	{ "pop3s://u@[::ffff:192.0.2.1]", 1, "u", "::ffff:192.0.2.1", "995" },
	{ "pop3s://u@[fe80::1%eth0]", 1, "u", "fe80::1%eth0", "995" },
	{ "pop3s://u@192.0.2.1:995", 1, "u", "192.0.2.1", "995" },
	{ "pop3s://user.name+tag@my-host_1.example", 1, "user.name+tag",
	  "my-host_1.example", "995" },
	{ "pop3s://U@HOST.Example", 1, "U", "HOST.Example", "995" },
	{ "pop3s://\xc3\xa9@h", 1, "\xc3\xa9", "h", "995" },
	{ "pop3s://%c3%A9@h", 1, "\xc3\xa9", "h", "995" },
};

static const struct bad {
	const char	*in;
	const char	*word;		/* in the error message */
} bads[] = {
	/* scheme */
	{ "", "pop3s://" },
	{ "pop3s:/u@h", "pop3s://" },
	{ "pop3s:u@h", "pop3s://" },
	{ "POP3S://u@h", "pop3s://" },
	{ "imaps://u@h", "pop3s://" },
	{ "pop3ss://u@h", "pop3s://" },
	{ "pop://u@h", "pop3s://" },
	{ " pop3s://u@h", "pop3s://" },
	{ "u@h", "pop3s://" },
	/* password */
	{ "pop3s://u:pw@h", "password" },
	{ "pop3s://u:@h", "password" },
	{ "pop3s://:pw@h", "password" },
	{ "pop3://alice:secret@mail.example.org:995", "password" },
	{ "pop3s://a@b:pw@h", "password" },
	/* user */
	{ "pop3s://h", "user" },
	{ "pop3s://h:995", "user" },
	{ "pop3s://@h", "user" },
	{ "pop3s://", "user" },
	{ "pop3s://u%4@h", "escape" },
	{ "pop3s://u%@h", "escape" },
	{ "pop3s://u%zz@h", "escape" },
	{ "pop3s://u%4g@h", "escape" },
	{ "pop3s://%00@h", "user" },
	{ "pop3s://a%00b@h", "user" },
	{ "pop3s://a%0d%0aQUIT@h", "user" },
	{ "pop3s://a%0aQUIT@h", "user" },
	{ "pop3s://a%20b@h", "user" },
	{ "pop3s://a b@h", "user" },
	{ "pop3s://a\rb@h", "user" },
	{ "pop3s://a\nb@h", "user" },
	/* host */
	{ "pop3s://u@", "host" },
	{ "pop3s://u@:995", "host" },
	{ "pop3s://u@h@", "host" },
	{ "pop3s://u@/", "host" },
	{ "pop3s://u@ho st", "host" },
	{ "pop3s://u@host ", "host" },
	{ "pop3s://u@ host", "host" },
	{ "pop3s://u@h\r\n", "host" },
	{ "pop3s://u@h%41", "host" },
	{ "pop3s://u@h\\x", "host" },
	{ "pop3s://u@h;x", "host" },
	{ "pop3s://u@[]", "host" },
	{ "pop3s://u@[]:995", "host" },
	{ "pop3s://u@[::1", "]" },
	{ "pop3s://u@[::1]x", "junk" },
	{ "pop3s://u@[::1]995", "junk" },
	{ "pop3s://u@[::1]]", "junk" },
	{ "pop3s://u@::1", "host" },
	{ "pop3s://u@[::1 ]", "host" },
	{ "pop3s://u@[ ::1]:995", "host" },
	{ "pop3s://u@[::1\r\nQUIT]", "host" },
	{ "pop3s://u@[::1\x01]", "host" },
	{ "pop3s://u@[[::1]]", "host" },
	{ "pop3s://u@h:995:1", "port" },
	/* port */
	{ "pop3s://u@h:", "port" },
	{ "pop3s://u@h:0", "port" },
	{ "pop3s://u@h:00000", "port" },
	{ "pop3s://u@h:65536", "port" },
	{ "pop3s://u@h:99999", "port" },
	{ "pop3s://u@h:123456", "port" },
	{ "pop3s://u@h:000995", "port" },
	{ "pop3s://u@h:4294967297", "port" },
	{ "pop3s://u@h:abc", "port" },
	{ "pop3s://u@h:99a", "port" },
	{ "pop3s://u@h:-1", "port" },
	{ "pop3s://u@h:+99", "port" },
	{ "pop3s://u@h: 99", "port" },
	{ "pop3s://u@h:99 ", "port" },
	{ "pop3s://u@h:0x1f", "port" },
	{ "pop3s://u@[::1]:", "port" },
	{ "pop3s://u@[::1]:0", "port" },
	{ "pop3s://u@[::1]:65536", "port" },
	{ "pop3s://u@[::1]:x", "port" },
	/* path, query, fragment */
	{ "pop3s://u@h/INBOX", "path" },
	{ "pop3s://u@h:995/x", "path" },
	{ "pop3s://u@h//", "path" },
	{ "pop3s://u@[::1]/x", "path" },
	{ "pop3s://u/x@h", "path" },
	{ "pop3s://u@h?auth=plain", "query" },
	{ "pop3s://u@h?", "query" },
	{ "pop3s://u@h#frag", "query" },
	{ "pop3s://u@h:995?x", "query" },
	{ "pop3s://u@h/?x", "path" },
	{ "pop3s://u?x@h", "query" },
};

static void
test_url_good(void)
{
	const struct good	*g;
	struct url		 u;
	char			 err[256];
	size_t			 i;
	int			 r;

	for (i = 0; i < NELEM(goods); i++) {
		g = &goods[i];
		memset(&u, 0xa5, sizeof u);
		strcpy(err, "untouched");
		r = url_parse(g->in, &u, err, sizeof err);
		T_CHECKF(r == 0, "\"%s\": refused: %s", g->in, err);
		if (r != 0)
			continue;
		T_CHECKF(u.implicit_tls == g->tls, "\"%s\": tls %d", g->in,
		    u.implicit_tls);
		T_CHECKF(memchr(u.user, '\0', sizeof u.user) != NULL &&
		    strcmp(u.user, g->user) == 0, "\"%s\": user \"%.*s\"",
		    g->in, (int)sizeof u.user, u.user);
		T_CHECKF(memchr(u.host, '\0', sizeof u.host) != NULL &&
		    strcmp(u.host, g->host) == 0, "\"%s\": host \"%.*s\"",
		    g->in, (int)sizeof u.host, u.host);
		T_CHECKF(memchr(u.port, '\0', sizeof u.port) != NULL &&
		    strcmp(u.port, g->port) == 0, "\"%s\": port \"%.*s\"",
		    g->in, (int)sizeof u.port, u.port);
	}
}

static void
test_url_bad(void)
{
	const struct bad	*b;
	struct url		 u;
	char			 err[256];
	size_t			 i;

	for (i = 0; i < NELEM(bads); i++) {
		b = &bads[i];
		memset(err, 0, sizeof err);
		T_CHECKF(url_parse(b->in, &u, err, sizeof err) == -1,
		    "\"%s\": accepted: user \"%s\" host \"%s\" port \"%s\"",
		    b->in, u.user, u.host, u.port);
		T_CHECKF(err[0] != '\0' && strstr(err, b->word) != NULL,
		    "\"%s\": message \"%s\" lacks \"%s\"", b->in, err,
		    b->word);
	}
}

/* A password never shows up in the error message. */
static void
test_url_password_not_echoed(void)
{
	struct url	u;
	char		err[256];

	T_CHECK(url_parse("pop3s://alice:Sekr1tPw@h", &u, err,
	    sizeof err) == -1);
	T_CHECK(strstr(err, "Sekr1tPw") == NULL);
	T_CHECK(strstr(u.user, "Sekr1tPw") == NULL);
}

/* A small error buffer is cut, not overrun (ASan watches the malloc). */
static void
test_url_small_err(void)
{
	struct url	 u;
	char		*err;
	size_t		 n;

	for (n = 1; n < 8; n++) {
		if ((err = malloc(n)) == NULL)
			return;
		T_CHECK(url_parse("pop3s://u:p@h", &u, err, n) == -1);
		T_CHECK(strlen(err) == n - 1);
		free(err);
	}
}

/* Build "pop3s://" + user of ulen 'u's + "@" + host of hlen 'h's. */
static int
parse_sized(size_t ulen, size_t hlen, int v6, struct url *u, char *err,
    size_t errlen)
{
	char	*s, *p;
	int	 r;

	if ((s = malloc(ulen + hlen + 32)) == NULL)
		return -2;
	p = s + sprintf(s, "pop3s://");
	memset(p, 'u', ulen);
	p += ulen;
	*p++ = '@';
	if (v6)
		*p++ = '[';
	memset(p, v6 ? ':' : 'h', hlen);
	p += hlen;
	if (v6)
		*p++ = ']';
	strcpy(p, ":995");
	r = url_parse(s, u, err, errlen);
	free(s);
	return r;
}

static void
test_url_lengths(void)
{
	struct url	u;
	char		err[256];
	size_t		n;

	/* sizeof - 1 fits, one more does not; %-escapes count decoded. */
	T_CHECK(parse_sized(sizeof u.user - 1, 5, 0, &u, err,
	    sizeof err) == 0);
	T_CHECK(strlen(u.user) == sizeof u.user - 1);
	T_CHECK(parse_sized(sizeof u.user, 5, 0, &u, err, sizeof err) == -1);
	T_CHECK(strstr(err, "long") != NULL);
	T_CHECK(parse_sized(100000, 5, 0, &u, err, sizeof err) == -1);

	T_CHECK(parse_sized(3, sizeof u.host - 1, 0, &u, err,
	    sizeof err) == 0);
	T_CHECK(strlen(u.host) == sizeof u.host - 1);
	T_CHECK(parse_sized(3, sizeof u.host, 0, &u, err, sizeof err) == -1);
	T_CHECK(parse_sized(3, 100000, 0, &u, err, sizeof err) == -1);

	T_CHECK(parse_sized(3, sizeof u.host - 1, 1, &u, err,
	    sizeof err) == 0);
	T_CHECK(strlen(u.host) == sizeof u.host - 1);
	T_CHECK(parse_sized(3, sizeof u.host, 1, &u, err, sizeof err) == -1);
	T_CHECK(parse_sized(3, 100000, 1, &u, err, sizeof err) == -1);

	/* 255 escapes decode to 255 bytes: fits; 256 do not. */
	for (n = 255; n <= 256; n++) {
		char	*s = malloc(n * 3 + 16), *p;
		size_t	 k;

		if (s == NULL)
			return;
		p = s + sprintf(s, "pop3s://");
		for (k = 0; k < n; k++)
			p += sprintf(p, "%%41");
		strcpy(p, "@h");
		T_CHECKF(url_parse(s, &u, err, sizeof err) == (n == 255 ?
		    0 : -1), "%zu escapes", n);
		if (n == 255)
			T_CHECK(strlen(u.user) == 255 && u.user[0] == 'A');
		free(s);
	}
}

/* Parsing again overwrites every field: nothing of the last URL stays. */
static void
test_url_reuse(void)
{
	struct url	u;
	char		err[256];

	T_CHECK(url_parse("pop3s://longusername@long.host.name:1234", &u, err,
	    sizeof err) == 0);
	T_CHECK(url_parse("pop3://a@b", &u, err, sizeof err) == 0);
	T_CHECK(u.implicit_tls == 0 && strcmp(u.user, "a") == 0 &&
	    strcmp(u.host, "b") == 0 && strcmp(u.port, "110") == 0);
	T_CHECK(url_parse("pop3s://a@b:x", &u, err, sizeof err) == -1);
}

/* IMAP mailbox URLs (export --to): the folder, and its defaults. */
static void
test_url_imap(void)
{
	static const struct {
		const char	*in;
		int		 ok, tls;
		const char	*user, *host, *port, *folder;
	} t[] = {
		{ "imaps://me@imap.example/Archive", 1, 1, "me",
		  "imap.example", "993", "Archive" },
		{ "imaps://me@imap.example", 1, 1, "me", "imap.example", "993",
		  "INBOX" },
		{ "imaps://me@imap.example/", 1, 1, "me", "imap.example",
		  "993", "INBOX" },
		{ "imap://me@h:1143/A/B", 1, 0, "me", "h", "1143", "A/B" },
		{ "imaps://a%40b.example@[::1]:9993/Old%20Mail", 1, 1,
		  "a@b.example", "::1", "9993", "Old Mail" },
		{ "imaps://me@h/%C3%A9t%C3%A9", 1, 1, "me", "h", "993",
		  "\xc3\xa9t\xc3\xa9" },
		{ "pop3s://me@h/x", 0, 0, NULL, NULL, NULL, NULL },
		{ "imaps://h/x", 0, 0, NULL, NULL, NULL, NULL },
		{ "imaps://me:pw@h/x", 0, 0, NULL, NULL, NULL, NULL },
		{ "imaps://me@h/x?y", 0, 0, NULL, NULL, NULL, NULL },
		{ "imaps://me@h/a%0Db", 0, 0, NULL, NULL, NULL, NULL },
		{ "imaps://me@h/a%2", 0, 0, NULL, NULL, NULL, NULL },
		{ "imaps://me@h:0/x", 0, 0, NULL, NULL, NULL, NULL },
	};
	struct url	u;
	char		err[256], folder[64], small[4];
	size_t		i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		err[0] = '\0';
		if (!t[i].ok) {
			T_CHECK(url_parse_imap(t[i].in, &u, folder,
			    sizeof folder, err, sizeof err) == -1);
			T_CHECK(err[0] != '\0');
			continue;
		}
		T_CHECK(url_parse_imap(t[i].in, &u, folder, sizeof folder, err,
		    sizeof err) == 0);
		T_CHECK(u.implicit_tls == t[i].tls);
		T_CHECK(strcmp(u.user, t[i].user) == 0);
		T_CHECK(strcmp(u.host, t[i].host) == 0);
		T_CHECK(strcmp(u.port, t[i].port) == 0);
		T_CHECK(strcmp(folder, t[i].folder) == 0);
	}
	/* A folder name longer than the buffer is refused, not cut. */
	T_CHECK(url_parse_imap("imaps://me@h/Archive", &u, small,
	    sizeof small, err, sizeof err) == -1);
	/* And the POP3 parser still refuses a path. */
	T_CHECK(url_parse("pop3s://me@h/x", &u, err, sizeof err) == -1);
}

int
main(void)
{
	T_RUN(test_url_good);
	T_RUN(test_url_bad);
	T_RUN(test_url_password_not_echoed);
	T_RUN(test_url_small_err);
	T_RUN(test_url_lengths);
	T_RUN(test_url_reuse);
	T_RUN(test_url_imap);
	return T_END();
}
