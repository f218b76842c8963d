/*
 * fuzz_netrc.c -- the netrc reader, netrc_lookup_buffer().
 *
 * Input: a first line "HOST" or "HOST LOGIN" (the question), then the
 * netrc text. The lookup runs with and without the login. Checked,
 * from netrc.h: 1 comes with a password (and has_password set), 0
 * without one, -1 with a message that names the file; a password
 * implies has_password, and the answer does not depend on being asked
 * twice. Buffers are given back with secret_free().
 */
#include <string.h>

#include "fuzz.h"
#include "netrc.h"
#include "secret.h"

#define NAME	"fuzz.netrc"

static int
lookup(const char *buf, size_t len, const char *host, const char *login,
    char **pw)
{
	char	err[256];
	int	r, has = -1;

	*pw = (char *)1;
	err[0] = '\0';
	r = netrc_lookup_buffer(NAME, buf, len, host, login, pw, &has, err,
	    sizeof err);
	FUZZ_CHECK(r == -1 || r == 0 || r == 1);
	if (r == 1)
		FUZZ_CHECK(*pw != NULL && *pw != (char *)1 && has == 1);
	if (r == 0)
		FUZZ_CHECK(*pw == NULL && (has == 0 || has == 1));
	if (r == -1) {
		FUZZ_CHECK(strncmp(err, NAME ":", sizeof NAME) == 0);
		FUZZ_CHECK(*pw == NULL);
	}
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*text = (const char *)data, *nl, *sp;
	char		 host[256], login[256], *pw1, *pw2;
	size_t		 qlen, hlen;
	int		 r1, r2;

	if ((nl = memchr(text, '\n', size)) == NULL)
		return 0;
	qlen = (size_t)(nl - text);
	if ((sp = memchr(text, ' ', qlen)) == NULL)
		sp = nl;
	hlen = (size_t)(sp - text);
	if (hlen >= sizeof host || qlen - hlen >= sizeof login)
		return 0;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	login[0] = '\0';
	if (sp < nl) {
		memcpy(login, sp + 1, qlen - hlen - 1);
		login[qlen - hlen - 1] = '\0';
	}
	text = nl + 1;
	size -= qlen + 1;

	r1 = lookup(text, size, host, login[0] != '\0' ? login : NULL, &pw1);
	r2 = lookup(text, size, host, login[0] != '\0' ? login : NULL, &pw2);
	FUZZ_CHECK(r1 == r2);
	if (r1 == 1)
		FUZZ_CHECK(strcmp(pw1, pw2) == 0);
	secret_free(pw1);
	secret_free(pw2);
	r1 = lookup(text, size, host, NULL, &pw1);
	secret_free(pw1);
	/* Malformed is malformed, whoever asks. */
	FUZZ_CHECK((r1 == -1) == (r2 == -1));
	return 0;
}
