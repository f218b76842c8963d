/*
 * secret.c -- password sources; see secret.h.
 *
 * A password command runs as "/bin/sh -c CMD" in a process group of its
 * own, with every signal at its default disposition and none blocked
 * (whatever popvault inherited or set: SIGPIPE and SIGXFSZ ignored, a
 * handler for SIGINT), its standard output a pipe and nothing else
 * changed. popvault waits for end of file on the pipe, at most the
 * command timeout; past it the whole group is killed (SIGKILL) and
 * reaped, so a command that hangs leaves nothing running. When popvault
 * holds the terminal (it is in the foreground), the command's group is
 * given the terminal for its run, as a shell does for a job, so that a
 * command asking for a passphrase on /dev/tty is not stopped by
 * SIGTTIN; the terminal (and its modes, if the command was killed) are
 * taken back afterwards.
 */
#define _GNU_SOURCE	/* pipe2 */

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "netrc.h"
#include "secfile.h"
#include "secret.h"
#include "util.h"

static char	*env_secret;
static unsigned	 cmd_timeout = SECRET_TIMEOUT_DEFAULT; /* seconds */

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

void
secret_set_timeout(unsigned seconds)
{
	if (seconds > 0)
		cmd_timeout = seconds;
}

/* Hand the terminal to process group pgrp (ours or the command's). */
static void
tty_give(int tty, pid_t pgrp)
{
	sigset_t	ttou, old;

	/* From a background group tcsetpgrp() would raise SIGTTOU. */
	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, &old);
	(void)tcsetpgrp(tty, pgrp);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/*
 * The child: its own process group (with the terminal when tty is not
 * -1), out as standard output, default signal dispositions, an empty
 * signal mask, then the shell. Only async-signal-safe calls: popvault
 * may have threads.
 */
static void __attribute__((noreturn))
child_exec(const char *cmd, int out, int tty)
{
	struct sigaction	sa;
	sigset_t		set;
	int			sig;

	(void)setpgid(0, 0);
	if (tty != -1) {
		sigemptyset(&set);
		sigaddset(&set, SIGTTOU);
		sigprocmask(SIG_BLOCK, &set, NULL);
		(void)tcsetpgrp(tty, getpid());
	}
	if (dup2(out, STDOUT_FILENO) == -1)
		_exit(127);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	/* SIGKILL, SIGSTOP and the C library's own fail: nothing to do. */
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

/*
 * Read the command's output until end of file, keeping the first
 * SECRET_MAX bytes in buf (*len). Returns 0, 1 when the deadline
 * passed first, or -1 with errno.
 */
static int
read_output(int fd, char *buf, size_t *len, int64_t deadline)
{
	struct pollfd	 pfd;
	char		 junk[512];
	int64_t		 left;
	ssize_t		 n;
	int		 r, rc = 0;

	for (;;) {
		if ((left = deadline - now_ms()) <= 0) {
			rc = 1;
			break;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		r = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r == -1 && errno != EINTR) {
			rc = -1;
			break;
		}
		if (r <= 0)
			continue;
		if (*len < SECRET_MAX)
			n = read(fd, buf + *len, SECRET_MAX - *len);
		else
			n = read(fd, junk, sizeof junk);
		if (n == 0)
			break;
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			rc = -1;
			break;
		}
		if (*len < SECRET_MAX)
			*len += (size_t)n;
	}
	/* What went past SECRET_MAX may be a secret too. */
	explicit_bzero(junk, sizeof junk);
	return rc;
}

static char *
secret_cmd(const char *cmd, unsigned timeout, char *err, size_t errlen)
{
	struct termios	 modes;
	char		*buf = xcalloc(1, SECRET_MAX + 1);
	size_t		 len = 0, keep;
	int		 fds[2], status = 0, r, saved = 0, tty, fg = 0;
	int		 have_modes = 0, reaped;
	pid_t		 pid;

	if (timeout == 0)
		timeout = cmd_timeout;
	if (pipe2(fds, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		free(buf);
		return NULL;
	}
	/* The terminal goes to the command only if it is ours now. */
	if ((tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) != -1 &&
	    tcgetpgrp(tty) == getpgrp()) {
		fg = 1;
		have_modes = tcgetattr(tty, &modes) == 0;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		if (tty != -1)
			close(tty);
		free(buf);
		return NULL;
	}
	if (pid == 0)
		child_exec(cmd, fds[1], fg ? tty : -1);
	/* Both sides set the group, so neither waits for the other. */
	(void)setpgid(pid, pid);
	if (fg)
		tty_give(tty, pid);
	close(fds[1]);
	r = read_output(fds[0], buf, &len,
	    now_ms() + (int64_t)timeout * 1000);
	if (r == -1)
		saved = errno;
	close(fds[0]);
	if (r != 0) {
		/* The group first: the shell's children go too. */
		(void)kill(-pid, SIGKILL);
		(void)kill(pid, SIGKILL);
	}
	while ((reaped = waitpid(pid, &status, 0)) == -1 && errno == EINTR)
		;
	if (fg) {
		tty_give(tty, getpgrp());
		/* A killed command may have left echo off. */
		if (r != 0 && have_modes)
			(void)tcsetattr(tty, TCSANOW, &modes);
	}
	if (tty != -1)
		close(tty);
	buf[len] = '\0';
	if (r == 1)
		snprintf(err, errlen, "password command timed out after %u s "
		    "and was killed (password_command_timeout, "
		    "--password-command-timeout)", timeout);
	else if (r == -1)
		snprintf(err, errlen, "reading the password command's output: "
		    "%s", strerror(saved));
	else if (reaped == -1)
		snprintf(err, errlen, "password command: waitpid: %s",
		    strerror(errno));
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		snprintf(err, errlen, "password command failed (%s %d)",
		    WIFEXITED(status) ? "exit status" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) :
		    WTERMSIG(status));
	else {
		first_line(buf);
		/* The other lines the command printed may be secrets too. */
		keep = strlen(buf);
		explicit_bzero(buf + keep, len - keep);
		if (keep > 0)
			return buf;
		snprintf(err, errlen, "password command printed nothing");
	}
	explicit_bzero(buf, SECRET_MAX + 1);
	free(buf);
	return NULL;
}

static char *
secret_prompt(const char *what, char *err, size_t errlen)
{
	struct termios	 old, quiet;
	char		*buf, *iobuf;
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
	/* The stream's buffer holds what is typed: ours, to be wiped. */
	iobuf = xcalloc(1, BUFSIZ);
	setvbuf(tty, iobuf, _IOFBF, BUFSIZ);
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
	explicit_bzero(iobuf, BUFSIZ);
	free(iobuf);
	first_line(buf);
	return buf;
}

char *
secret_get(const char *cmd, const char *what, char *err, size_t errlen)
{
	if (cmd != NULL)
		return secret_cmd(cmd, 0, err, errlen);
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
		return secret_cmd(src->command, src->timeout, err, errlen);
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
