/*
 * test_pop3auth.c -- pop3_auth() (core/pop3.c) against a scripted server.
 *
 * Each test forks a tiny POP3 server on 127.0.0.1 that plays a script:
 * "S:text" sends a line, "C:text" expects exactly that line from the
 * client, "C?" any line, and "SCRAM:mode" plays the server side of
 * SCRAM-SHA-256 (computing the proof it expects and the signature it
 * sends from the password "pencil"). After the script the server
 * expects end of file: a client that sends anything more fails. The
 * server's exit status is its number of mismatches.
 *
 * The client runs at -v with stderr captured, so every test also
 * checks that neither the secret nor its base64 form (as PLAIN would
 * carry it) reaches the log.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pop3.h"
#include "sasl.h"
#include "scramsrv.h"
#include "t.h"

#define LINE_MAX_T	(64 * 1024)

/* ---- the server (child side) ----------------------------------------- */

static int
srv_line(FILE *in, char *buf, size_t cap)
{
	size_t	n;

	if (fgets(buf, (int)cap, in) == NULL)
		return -1;
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return 0;
}

static void
srv_send(FILE *out, const char *s)
{
	fprintf(out, "%s\r\n", s);
	fflush(out);
}

/*
 * The server side of SCRAM-SHA-256 (scramsrv.h) for user "user",
 * password "pencil". mode "ok": verify the proof, send v=, expect the
 * empty answer, +OK. "early": +OK right after the client's proof.
 * "badv": a wrong v=, expect "*", then -ERR.
 */
static int
srv_scram(FILE *in, FILE *out, const char *mode)
{
	static const char	 pre[] = "AUTH SCRAM-SHA-256 ";
	struct scram_srv	 ss;
	char			 line[4096], b64[2048];

	if (srv_line(in, line, sizeof line) == -1 ||
	    strncmp(line, pre, sizeof pre - 1) != 0 ||
	    scram_srv_first(&ss, line + sizeof pre - 1, b64,
	    sizeof b64) == -1)
		return 1;
	fprintf(out, "+ %s\r\n", b64);
	fflush(out);
	if (srv_line(in, line, sizeof line) == -1 ||
	    scram_srv_final(&ss, line, strcmp(mode, "badv") == 0, b64,
	    sizeof b64) == -1)
		return 1;
	if (strcmp(mode, "early") == 0) {
		srv_send(out, "+OK");
		return 0;
	}
	fprintf(out, "+ %s\r\n", b64);
	fflush(out);
	if (srv_line(in, line, sizeof line) == -1 ||
	    strcmp(line, strcmp(mode, "badv") == 0 ? "*" : "") != 0) {
		fprintf(stderr, "scram: bad answer to v=: %s\n", line);
		return 1;
	}
	srv_send(out, strcmp(mode, "badv") == 0 ? "-ERR cancelled" : "+OK");
	return 0;
}

/*
 * "I:MECH raw": expect "AUTH MECH " and the base64 of raw, where "%P"
 * in raw stands for the server's port (known only here).
 */
static int
srv_initial(int fd, FILE *in, const char *spec, char *line)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof sin;
	const char		*sp = strchr(spec, ' '), *pp;
	char			 raw[1024], want[2048], port[8];
	char			*e;

	getsockname(fd, (struct sockaddr *)&sin, &sl);
	snprintf(port, sizeof port, "%u", ntohs(sin.sin_port));
	pp = strstr(sp + 1, "%P");
	snprintf(raw, sizeof raw, "%.*s%s%s", (int)(pp - sp - 1), sp + 1,
	    port, pp + 2);
	e = malloc(sasl_b64_enclen(strlen(raw)));
	sasl_b64_encode(raw, strlen(raw), e);
	snprintf(want, sizeof want, "AUTH %.*s %s", (int)(sp - spec), spec, e);
	free(e);
	if (srv_line(in, line, LINE_MAX_T) == -1 || strcmp(line, want) != 0) {
		fprintf(stderr, "server: got \"%.200s\", expected \"%.200s\"\n",
		    line, want);
		return 1;
	}
	return 0;
}

static int
srv_run(int fd, const char *capa, char *const *script)
{
	FILE	*in = fdopen(fd, "r"), *out = fdopen(dup(fd), "w");
	char	*line = malloc(LINE_MAX_T);
	int	 bad = 0;
	size_t	 i;

	srv_send(out, "+OK test server ready");
	if (srv_line(in, line, LINE_MAX_T) == -1 || strcmp(line, "CAPA")) {
		fprintf(stderr, "server: expected CAPA\n");
		return 1;
	}
	srv_send(out, "+OK");
	srv_send(out, "USER");
	if (capa != NULL) {
		fprintf(out, "SASL %s\r\n", capa);
		fflush(out);
	}
	srv_send(out, ".");
	for (i = 0; script[i] != NULL && bad == 0; i++) {
		const char *s = script[i];

		if (strncmp(s, "S:", 2) == 0)
			srv_send(out, s + 2);
		else if (strncmp(s, "SCRAM:", 6) == 0)
			bad += srv_scram(in, out, s + 6);
		else if (strncmp(s, "I:", 2) == 0)
			bad += srv_initial(fd, in, s + 2, line);
		else if (srv_line(in, line, LINE_MAX_T) == -1) {
			fprintf(stderr, "server: EOF, expected %s\n", s);
			bad++;
		} else if (strcmp(s, "C?") != 0 && strcmp(line, s + 2) != 0) {
			fprintf(stderr, "server: got \"%.100s\", expected "
			    "\"%.100s\"\n", line, s + 2);
			bad++;
		}
	}
	if (bad == 0 && srv_line(in, line, LINE_MAX_T) == 0) {
		fprintf(stderr, "server: unexpected \"%.100s\"\n", line);
		bad++;
	}
	free(line);
	return bad;
}

/* ---- the client (parent side) -------------------------------------- */

struct result {
	int			 rc;
	enum pop3_errclass	 ec;
	char			 err[768];
	char			 log[8192];
	int			 server_bad;
};

/* Read all of fd (from the start) into buf, NUL-terminated. */
static void
slurp(int fd, char *buf, size_t cap)
{
	ssize_t	n;
	size_t	len = 0;

	lseek(fd, 0, SEEK_SET);
	while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
}

static void
run(const char *capa, char *const *script, const char *mech,
    const char *user, const char *secret, struct result *res)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof sin;
	struct pop3_opts	 o;
	struct pop3		*p;
	char			 port[16], logpath[] = "/tmp/pvauthXXXXXX";
	int			 lfd, cfd, st, saved, logfd;
	pid_t			 pid;

	memset(res, 0, sizeof *res);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd == -1 || bind(lfd, (struct sockaddr *)&sin, sizeof sin) ||
	    listen(lfd, 1) || getsockname(lfd, (struct sockaddr *)&sin, &sl)) {
		perror("listen");
		exit(2);
	}
	snprintf(port, sizeof port, "%u", ntohs(sin.sin_port));
	fflush(NULL);
	if ((pid = fork()) == -1) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		cfd = accept(lfd, NULL, NULL);
		close(lfd);
		_exit(cfd == -1 ? 99 : srv_run(cfd, capa, script));
	}
	close(lfd);

	memset(&o, 0, sizeof o);
	o.host = "127.0.0.1";
	o.port = port;
	o.tls = POP3_TLS_NONE;
	o.insecure_plaintext = 1;
	o.connect_timeout_ms = 5000;
	o.timeout_ms = 5000;
	o.max_msg_size = 1 << 20;
	p = pop3_new(&o);

	/* Capture -v output. */
	logfd = mkstemp(logpath);
	unlink(logpath);
	saved = dup(2);
	dup2(logfd, 2);
	log_init(LOG_VERBOSE);
	if (pop3_connect(p) == -1) {
		res->rc = -2;
		snprintf(res->err, sizeof res->err, "connect: %s",
		    pop3_error(p));
	} else {
		res->rc = pop3_auth(p, mech, user, secret);
		res->ec = pop3_errclass(p);
		snprintf(res->err, sizeof res->err, "%s", pop3_error(p));
	}
	log_init(LOG_NORMAL);
	dup2(saved, 2);
	close(saved);
	slurp(logfd, res->log, sizeof res->log);
	close(logfd);
	pop3_free(p);

	if (waitpid(pid, &st, 0) == -1 || !WIFEXITED(st))
		res->server_bad = 100;
	else
		res->server_bad = WEXITSTATUS(st);
	if (res->server_bad != 0 || res->rc == -2 ||
	    getenv("TEST_POP3AUTH_LOG") != NULL)
		fprintf(stderr, "server mismatches %d; client: %s\n--- log\n%s"
		    "---\n", res->server_bad, res->err, res->log);
}

static char *
b64(const char *raw, size_t n)
{
	char	*o = malloc(sasl_b64_enclen(n));

	sasl_b64_encode(raw, n, o);
	return o;
}

/* "prefix" + base64(raw), malloc'd. */
static char *
line_b64(const char *prefix, const char *raw, size_t n)
{
	char	*e = b64(raw, n), *l = malloc(strlen(prefix) + strlen(e) + 1);

	strcpy(l, prefix);
	strcat(l, e);
	free(e);
	return l;
}

/* The secret must not be in the log, nor its PLAIN base64. */
static void
check_log_clean(const struct result *r, const char *user, const char *secret)
{
	char	raw[1024], *e;
	size_t	n;

	T_CHECKF(strstr(r->log, secret) == NULL, "secret in the log:\n%s",
	    r->log);
	n = (size_t)snprintf(raw, sizeof raw, "%c%s%c%s", 0, user, 0, secret);
	if (n < sizeof raw) {
		e = b64(raw, n);
		T_CHECK(strstr(r->log, e) == NULL);
		free(e);
	}
}

/* ---- tests --------------------------------------------------------- */

static void
test_plain_inline(void)
{
	struct result	r;
	char		*script[] = { "C:AUTH PLAIN AGFsaWNlAHMzY3JldA==",
	    "S:+OK logged in", NULL };

	run("PLAIN LOGIN", script, "auto", "alice", "s3cret", &r);
	T_CHECKF(r.rc == 0 && r.server_bad == 0, "%s", r.err);
	T_CHECK(strstr(r.log, "> AUTH PLAIN ****") != NULL);
	check_log_clean(&r, "alice", "s3cret");
}

/*
 * "AUTH PLAIN " is 11 octets and CRLF 2: a 240-character response
 * (180 bytes: "\0u\0" and 177 of password) fits 255, the next size
 * (244 characters) does not and waits for the "+ " prompt.
 */
static void
test_plain_255(void)
{
	struct result	 r;
	char		 pw[400], raw[440];
	char		*script[5];
	size_t		 len;

	for (len = 177; len <= 178; len++) {
		memset(pw, 'x', len);
		pw[len] = '\0';
		memcpy(raw, "\0u\0", 3);
		memcpy(raw + 3, pw, len);
		if (len == 177) {
			script[0] = line_b64("C:AUTH PLAIN ", raw, len + 3);
			T_CHECK(strlen(script[0]) - 2 + 2 == 253);
			script[1] = "S:+OK";
			script[2] = NULL;
		} else {
			script[0] = "C:AUTH PLAIN";
			script[1] = "S:+ ";
			script[2] = line_b64("C:", raw, len + 3);
			script[3] = "S:+OK";
			script[4] = NULL;
		}
		run("PLAIN", script, "plain", "u", pw, &r);
		T_CHECKF(r.rc == 0 && r.server_bad == 0, "len %zu: %s", len,
		    r.err);
		check_log_clean(&r, "u", pw);
		free(len == 177 ? script[0] : script[2]);
	}
	/*
	 * Exactly 255 octets: "AUTH XOAUTH2 " (13), 240 characters (180
	 * bytes: "user=u^Aauth=Bearer ", 159 of token, ^A^A) and CRLF.
	 * One more token byte needs 244 characters: two steps.
	 */
	for (len = 159; len <= 160; len++) {
		memset(pw, 'T', len);
		pw[len] = '\0';
		snprintf(raw, sizeof raw, "user=u\001auth=Bearer %s\001\001",
		    pw);
		if (len == 159) {
			script[0] = line_b64("C:AUTH XOAUTH2 ", raw, len + 21);
			T_CHECK(strlen(script[0]) - 2 + 2 == 255);
			script[1] = "S:+OK";
			script[2] = NULL;
		} else {
			script[0] = "C:AUTH XOAUTH2";
			script[1] = "S:+ ";
			script[2] = line_b64("C:", raw, len + 21);
			script[3] = "S:+OK";
			script[4] = NULL;
		}
		run("XOAUTH2", script, "xoauth2", "u", pw, &r);
		T_CHECKF(r.rc == 0 && r.server_bad == 0, "len %zu: %s", len,
		    r.err);
		T_CHECK(strstr(r.log, pw) == NULL);
		free(len == 159 ? script[0] : script[2]);
	}

	/* A much longer one, and a bare "+" as the prompt. */
	memset(pw, 'y', 300);
	pw[300] = '\0';
	memcpy(raw, "\0u\0", 3);
	memcpy(raw + 3, pw, 300);
	script[0] = "C:AUTH PLAIN";
	script[1] = "S:+";
	script[2] = line_b64("C:", raw, 303);
	script[3] = "S:+OK";
	script[4] = NULL;
	run("PLAIN", script, "PLAIN", "u", pw, &r);
	T_CHECKF(r.rc == 0 && r.server_bad == 0, "%s", r.err);
	T_CHECK(strstr(r.log, "> AUTH PLAIN\n") != NULL);
	check_log_clean(&r, "u", pw);
	free(script[2]);
}

static void
test_login_and_cram(void)
{
	struct result	r;
	char		*login[] = { "C:AUTH LOGIN", "S:+ VXNlcm5hbWU6",
	    "C:YWxpY2U=", "S:+ UGFzc3dvcmQ6", "C:czNjcmV0", "S:+OK", NULL };
	char		*cram[] = { "C:AUTH CRAM-MD5",
	    "S:+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+",
	    "C:dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw", "S:+OK",
	    NULL };

	run("LOGIN", login, "auto", "alice", "s3cret", &r);
	T_CHECKF(r.rc == 0 && r.server_bad == 0, "%s", r.err);
	T_CHECK(strstr(r.log, "> AUTH LOGIN\n") != NULL);
	T_CHECK(strstr(r.log, "czNjcmV0") == NULL);
	check_log_clean(&r, "alice", "s3cret");

	run("PLAIN CRAM-MD5", cram, "cram-md5", "tim", "tanstaaftanstaaf",
	    &r);
	T_CHECKF(r.rc == 0 && r.server_bad == 0, "%s", r.err);
	check_log_clean(&r, "tim", "tanstaaftanstaaf");
}

/*
 * auto: SCRAM, then PLAIN and LOGIN; CRAM-MD5 only on request, so a
 * server offering CRAM-MD5 and PLAIN gets PLAIN, and one offering
 * CRAM-MD5 alone (or only OAuth, or no SASL at all) gets USER/PASS.
 */
static void
test_auto_order(void)
{
	struct result	r;
	char		*plain[] = { "C:AUTH PLAIN AHRpbQB0YW5zdGFhZg==",
	    "S:+OK", NULL };
	char		*user[] = { "C:USER tim", "S:+OK", "C:PASS tanstaaf",
	    "S:-ERR [AUTH] wrong", NULL };

	run("CRAM-MD5 PLAIN", plain, "auto", "tim", "tanstaaf", &r);
	T_CHECKF(r.rc == 0 && r.server_bad == 0, "%s", r.err);
	run("CRAM-MD5", user, "auto", "tim", "tanstaaf", &r);
	T_CHECKF(r.rc == -1 && r.server_bad == 0 && r.ec == POP3_E_AUTH &&
	    strstr(r.err, "PASS") != NULL, "%s", r.err);
	T_CHECK(strstr(r.log, "> PASS ****") != NULL);
	check_log_clean(&r, "tim", "tanstaaf");
	run("XOAUTH2 OAUTHBEARER", user, "auto", "tim", "tanstaaf", &r);
	T_CHECKF(r.rc == -1 && r.server_bad == 0 && r.ec == POP3_E_AUTH,
	    "%s", r.err);
	run(NULL, user, "auto", "tim", "tanstaaf", &r);
	T_CHECKF(r.rc == -1 && r.server_bad == 0 && r.ec == POP3_E_AUTH,
	    "%s", r.err);
}

/* fetchmail CVE-2012-3482: a bad challenge gets "*", never data. */
static void
test_bad_challenge(void)
{
	struct result	r;
	char		*notb64[] = { "C:AUTH LOGIN", "S:+ not base64!", "C:*",
	    "S:-ERR authentication cancelled", NULL };
	char		*okcancel[] = { "C:AUTH LOGIN", "S:+ ===", "C:*",
	    "S:+OK whatever", NULL };
	char		*prompt[] = { "C:AUTH PLAIN", "S:+ aGVsbG8=", "C:*",
	    "S:-ERR cancelled", NULL };
	char		*after[] = { "C:AUTH PLAIN AHUAcA==", "S:+ aGVsbG8=",
	    "C:*", "S:-ERR cancelled", NULL };
	char		 pw[300];

	run("LOGIN", notb64, "login", "alice", "s3cret", &r);
	T_CHECK(r.rc == -1 && r.server_bad == 0);
	T_CHECKF(r.ec == POP3_E_PROTO && strstr(r.err, "base64"), "%s",
	    r.err);

	run("LOGIN", okcancel, "login", "alice", "s3cret", &r);
	T_CHECK(r.rc == -1 && r.server_bad == 0 && r.ec == POP3_E_PROTO);

	/* The prompt for an initial response must be empty. */
	memset(pw, 'z', 299);
	pw[299] = '\0';
	run("PLAIN", prompt, "plain", "u", pw, &r);
	T_CHECKF(r.rc == -1 && r.server_bad == 0 && r.ec == POP3_E_PROTO,
	    "%s", r.err);

	/* A challenge after PLAIN's only message. */
	run("PLAIN", after, "plain", "u", "p", &r);
	T_CHECKF(r.rc == -1 && r.server_bad == 0 && r.ec == POP3_E_AUTH,
	    "%s", r.err);
}

static const struct {
	char			*reply;
	enum pop3_errclass	 ec;
} rcodes[] = {
	{ "S:-ERR [AUTH] invalid credentials", POP3_E_AUTH },
	{ "S:-ERR [SYS/PERM] account disabled", POP3_E_AUTH },
	{ "S:-ERR [SYS/TEMP] try later", POP3_E_TEMP },
	{ "S:-ERR [IN-USE] mailbox locked", POP3_E_TEMP },
	{ "S:-ERR [LOGIN-DELAY] too soon", POP3_E_TEMP },
	{ "S:-ERR no", POP3_E_AUTH },
	{ "S:garbage", POP3_E_PROTO },
};

static void
test_rcodes(void)
{
	struct result	r;
	char		*script[3];
	size_t		 i;

	for (i = 0; i < NELEM(rcodes); i++) {
		script[0] = "C:AUTH PLAIN AGFsaWNlAHMzY3JldA==";
		script[1] = rcodes[i].reply;
		script[2] = NULL;
		run("PLAIN", script, "plain", "alice", "s3cret", &r);
		T_CHECKF(r.rc == -1 && r.server_bad == 0 &&
		    r.ec == rcodes[i].ec, "entry %zu: class %d: %s", i,
		    (int)r.ec, r.err);
	}
}

static void
test_scram(void)
{
	struct result	r;
	char		*ok[] = { "SCRAM:ok", NULL };
	char		*early[] = { "SCRAM:early", NULL };
	char		*badv[] = { "SCRAM:badv", NULL };
	char		*nonce[] = { "C?",
	    "S:+ cj1ub3RvdXJzLHM9UVNYQ1IrUTZzZWs4"
	    "YmY5MixpPTQwOTY=", "C:*", "S:-ERR cancelled", NULL };

	run("PLAIN SCRAM-SHA-1 SCRAM-SHA-256", ok, "auto", "user", "pencil",
	    &r);
	T_CHECKF(r.rc == 0 && r.server_bad == 0, "%s", r.err);
	T_CHECK(strstr(r.log, "> AUTH SCRAM-SHA-256 ****") != NULL);
	check_log_clean(&r, "user", "pencil");

	/* +OK without the server's signature is not accepted. */
	run("SCRAM-SHA-256", early, "scram-sha-256", "user", "pencil", &r);
	T_CHECKF(r.rc == -1 && r.server_bad == 0 && r.ec == POP3_E_AUTH,
	    "%s", r.err);

	run("SCRAM-SHA-256", badv, "scram-sha-256", "user", "pencil", &r);
	T_CHECKF(r.rc == -1 && r.server_bad == 0 && r.ec == POP3_E_AUTH &&
	    strstr(r.err, "server signature does not match"), "%s", r.err);

	/* r=notours,s=...,i=4096 */
	run("SCRAM-SHA-256", nonce, "scram-sha-256", "user", "pencil", &r);
	T_CHECKF(r.rc == -1 && r.server_bad == 0 && r.ec == POP3_E_AUTH &&
	    strstr(r.err, "nonce"), "%s", r.err);
}

static void
test_oauth(void)
{
	struct result	 r;
	char		 tok[400], raw[512];
	char		*inl[] = { NULL, "S:+OK", NULL };
	char		*twostep[] = { "C:AUTH XOAUTH2", "S:+ ", NULL,
	    "S:+ eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJo"
	    "dHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==", "C:",
	    "S:-ERR [AUTH] invalid token", NULL };
	char		*bearer[] = { "I:OAUTHBEARER n,a=u,\001host=127.0.0.1"
	    "\001port=%P\001auth=Bearer tok456\001\001",
	    "S:+ eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2V"
	    "uIn0=", "C:AQ==", "S:-ERR denied", NULL };
	int		 n;

	n = snprintf(raw, sizeof raw, "user=u@example.com\001auth=Bearer "
	    "tok123\001\001");
	inl[0] = line_b64("C:AUTH XOAUTH2 ", raw, (size_t)n);
	run("XOAUTH2", inl, "xoauth2", "u@example.com", "tok123", &r);
	T_CHECKF(r.rc == 0 && r.server_bad == 0, "%s", r.err);
	T_CHECK(strstr(r.log, "> AUTH XOAUTH2 ****") != NULL);
	T_CHECK(strstr(r.log, "tok123") == NULL);
	free(inl[0]);

	/* A long token: the Microsoft 365 two-step form, then an error. */
	memset(tok, 'T', 350);
	tok[350] = '\0';
	n = snprintf(raw, sizeof raw, "user=u@example.com\001auth=Bearer "
	    "%s\001\001", tok);
	twostep[2] = line_b64("C:", raw, (size_t)n);
	run("XOAUTH2", twostep, "XOAUTH2", "u@example.com", tok, &r);
	T_CHECKF(r.rc == -1 && r.server_bad == 0 && r.ec == POP3_E_AUTH &&
	    strstr(r.err, "401") != NULL, "%s", r.err);
	T_CHECK(strstr(r.log, tok) == NULL);
	free(twostep[2]);

	/* OAUTHBEARER carries host and port from the options. */
	run("OAUTHBEARER", bearer, "oauthbearer", "u", "tok456", &r);
	T_CHECKF(r.rc == -1 && r.server_bad == 0 && r.ec == POP3_E_AUTH &&
	    strstr(r.err, "invalid_token") != NULL, "%s", r.err);
	T_CHECK(strstr(r.log, "tok456") == NULL);
}

static void
test_refusals(void)
{
	struct result	r;
	char		*none[] = { NULL };

	/* An unknown mechanism: nothing is sent. */
	run("PLAIN", none, "digest-md5", "u", "pw", &r);
	T_CHECK(r.rc == -1 && r.server_bad == 0 && r.ec == POP3_E_USAGE);
	/* A token that would break XOAUTH2's framing. */
	run("XOAUTH2", none, "xoauth2", "u", "a b", &r);
	T_CHECK(r.rc == -1 && r.server_bad == 0 && r.ec == POP3_E_USAGE);
	run("SCRAM-SHA-1", none, "scram-sha-1", "u", "p\x01w", &r);
	T_CHECK(r.rc == -1 && r.server_bad == 0 && r.ec == POP3_E_USAGE);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	T_RUN(test_plain_inline);
	T_RUN(test_plain_255);
	T_RUN(test_login_and_cram);
	T_RUN(test_auto_order);
	T_RUN(test_bad_challenge);
	T_RUN(test_rcodes);
	T_RUN(test_scram);
	T_RUN(test_oauth);
	T_RUN(test_refusals);
	return T_END();
}
