/*
 * secret.c -- password sources; see secret.h.
 */
#define _GNU_SOURCE	/* pipe2 */

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "netrc.h"
#include "secret.h"
#include "util.h"

static char	*env_secret;

void
secret_init(void)
{
	struct rlimit	 rl = { 0, 0 };
	const char	*e;

	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if ((e = getenv("POPVAULT_PASSWORD")) != NULL) {
		env_secret = xstrdup(e);
		/* Wipe the copy in the environment block, then drop it. */
		explicit_bzero((char *)(uintptr_t)e, strlen(e));
		unsetenv("POPVAULT_PASSWORD");
	}
}

void
secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* Cut at the first CR or LF. */
static void
first_line(char *s)
{
	s[strcspn(s, "\r\n")] = '\0';
}

static char *
secret_cmd(const char *cmd, char *err, size_t errlen)
{
	char	*buf = xcalloc(1, SECRET_MAX + 1), junk[512];
	size_t	 len = 0;
	ssize_t	 n;
	int	 fds[2], status, saved;
	pid_t	 pid;

	if (pipe2(fds, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		free(buf);
		return NULL;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		free(buf);
		return NULL;
	}
	if (pid == 0) {
		if (dup2(fds[1], STDOUT_FILENO) == -1)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		if (len < SECRET_MAX)
			n = read(fds[0], buf + len, SECRET_MAX - len);
		else
			n = read(fds[0], junk, sizeof junk);
		if (n == 0)
			break;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (len < SECRET_MAX)
			len += (size_t)n;
	}
	saved = errno;
	close(fds[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	buf[len] = '\0';
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(err, errlen, "password command failed (%s %d)",
		    WIFEXITED(status) ? "exit status" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) :
		    WTERMSIG(status));
		secret_free(buf);
		return NULL;
	}
	(void)saved;
	first_line(buf);
	if (buf[0] == '\0') {
		snprintf(err, errlen, "password command printed nothing");
		secret_free(buf);
		return NULL;
	}
	return buf;
}

static char *
secret_prompt(const char *what, char *err, size_t errlen)
{
	struct termios	 old, quiet;
	char		*buf;
	FILE		*tty;
	int		 fd, echo_off = 0;

	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC)) == -1 ||
	    (tty = fdopen(fd, "r+")) == NULL) {
		if (fd != -1)
			close(fd);
		snprintf(err, errlen, "no password: give --password-command, "
		    "set POPVAULT_PASSWORD, or run on a terminal");
		return NULL;
	}
	if (tcgetattr(fd, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		echo_off = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
	}
	fprintf(tty, "Password for %s: ", what);
	fflush(tty);
	buf = xcalloc(1, SECRET_MAX + 1);
	if (fgets(buf, SECRET_MAX, tty) == NULL)
		buf[0] = '\0';
	if (echo_off)
		tcsetattr(fd, TCSAFLUSH, &old);
	/* C11 7.21.5.3: a read and a write need a positioning call between. */
	fseek(tty, 0, SEEK_CUR);
	fputc('\n', tty);
	fclose(tty);
	first_line(buf);
	return buf;
}

char *
secret_get(const char *cmd, const char *what, char *err, size_t errlen)
{
	if (cmd != NULL)
		return secret_cmd(cmd, err, errlen);
	if (env_secret != NULL)
		return xstrdup(env_secret);
	return secret_prompt(what, err, errlen);
}

char *
secret_resolve(const struct secret_src *src, const char *what, char *err,
    size_t errlen)
{
	char		*pw = NULL;
	const char	*e;
	int		 r;

	if (src->command != NULL)
		return secret_cmd(src->command, err, errlen);
	if (src->literal != NULL)
		return xstrdup(src->literal);
	if (src->env != NULL) {
		if ((e = getenv(src->env)) == NULL || *e == '\0') {
			snprintf(err, errlen, "password_env: %s is not set",
			    src->env);
			return NULL;
		}
		/* The caller removes it once every account has read it. */
		return xstrdup(e);
	}
	if (src->netrc != NULL) {
		r = netrc_lookup(src->netrc, src->host, src->login, &pw, err,
		    errlen);
		if (r == 1)
			return pw;
		if (r == 0)
			snprintf(err, errlen, "%s has no password for %s on %s",
			    src->netrc, src->login ? src->login : "any login",
			    src->host);
		return NULL;
	}
	return secret_get(NULL, what, err, errlen);
}

void
secret_drop_env(const char *name)
{
	const char	*e;

	if ((e = getenv(name)) != NULL) {
		explicit_bzero((char *)(uintptr_t)e, strlen(e));
		unsetenv(name);
	}
}
