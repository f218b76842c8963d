/*
 * util.h -- small helpers: checked allocation, clocks, paths, fsync of
 * folders, hex, and the exit codes.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Exit codes (sysexits style; documented in popvault(1)). */
#define EXIT_OK		0	/* success, including "nothing new" */
#define EXIT_PARTIAL	1	/* some messages or accounts failed */
#define EXIT_USAGE	64	/* bad command line or configuration */
#define EXIT_DATAERR	65	/* the server's UIDLs changed: --remap */
#define EXIT_UNAVAIL	69	/* server unreachable or refused */
#define EXIT_SOFTWARE	70	/* internal error */
#define EXIT_IOERR	74	/* local I/O failure (disk, index) */
#define EXIT_TEMPFAIL	75	/* temporary server failure: retry later */
#define EXIT_PROTOCOL	76	/* server broke the protocol */
#define EXIT_AUTH	77	/* authentication failed */
#define EXIT_TLS	78	/* TLS failure (certificate, handshake, STLS) */
#define EXIT_VERIFY	79	/* archive verification failed */
#define EXIT_SIGNAL	80	/* interrupted by SIGINT/SIGTERM, state safe */

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);

/* Milliseconds on the monotonic clock. */
int64_t	 now_ms(void);
/*
 * Seconds since the epoch: time(3). In a test build POPVAULT_NOW, when
 * it holds a number, overrides it.
 */
int64_t	 wall_now(void);

/* snprintf into buf; returns -1 (errno ENAMETOOLONG) on truncation. */
int	 xsnprintf(char *buf, size_t sz, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * Folders made durable (docs/decisions.md, "Durable folders"): a folder
 * this process creates is fsynced, and so is the folder holding it,
 * before the call returns, so that nothing written into it can be
 * committed in the index while a power cut could still undo its entry.
 * A folder that existed already is left alone. An fsync error is a
 * failure: the caller stops (never retry-and-trust).
 *
 * mkdir_p: mode 0700 for every missing component of path; each created
 * component, and the parent of the first one created, fsynced.
 * 0, or -1 with errno.
 */
int	 mkdir_p(const char *path);
/* mkdir(path, 0700) durably; 1 created, 0 existed already, -1 errno. */
int	 mkdir_sync(const char *path);
/* mkdirat(dfd, name, 0700) durably (fsyncs dfd); as mkdir_sync. */
int	 mkdirat_sync(int dfd, const char *name);
/*
 * Move fromfd/from to tofd/to without ever replacing a file at to:
 * renameat2(RENAME_NOREPLACE), or, where the file system lacks it
 * (EINVAL, ENOSYS, EOPNOTSUPP), rename_by_link(). 0, or -1 with errno;
 * EEXIST: to exists, nothing was moved or replaced. The caller fsyncs
 * the folders.
 */
int	 rename_noreplace(int fromfd, const char *from, int tofd,
	    const char *to);
/*
 * The fallback: linkat() (which never replaces: EEXIST) then unlinkat()
 * of from. If the unlink fails the file has both names and -1 is
 * returned; both names hold the same bytes. Public for the unit test.
 */
int	 rename_by_link(int fromfd, const char *from, int tofd,
	    const char *to);
/* fsync a folder by path or by fd; 0 or -1 with errno. */
int	 fsync_dir(const char *path);
/* write all bytes, retrying on EINTR and short writes; 0 or -1. */
int	 write_all(int fd, const void *, size_t);

/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void	 hex_encode(const unsigned char *, size_t, char *out);

/*
 * 2*len lower-case hex digits of random bits (getrandom(2)) and a NUL
 * into out, for file names that must not collide with another run's
 * even when the clock and the pid are the same. Without entropy yet
 * (early boot) the bits come from the clocks, the pid and a counter:
 * names stay distinct within a process, and no rename relies on them
 * (rename_noreplace refuses to replace).
 */
void	 random_hex(char *out, size_t len);

/*
 * The test hooks. They act only in a test build: util.c compiled with
 * -DPOPVAULT_TEST_HOOKS, linked into build/popvault-test and the unit
 * tests (Makefile). In the binary "make" and "make install" produce they
 * return at once and read no environment, and wall_now() is time(3);
 * docs/decisions.md, "Test hooks".
 *
 * crash_point: for the torture tests. If the environment variable
 * POPVAULT_CRASH names this point ("NAME" or "NAME:N" for the Nth time
 * the point is reached), abort() there. Costs one string compare.
 *
 * test_pause: for tests that must change the archive at a precise moment
 * (between write and verify). If POPVAULT_TEST_PAUSE names a folder and
 * POPVAULT_TEST_PAUSE_AT equals name, create FOLDER/ready and wait (60 s
 * at most) until FOLDER/go exists.
 */
void	 crash_point(const char *name);
void	 test_pause(const char *name);

#endif
