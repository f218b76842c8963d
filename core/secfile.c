/*
 * secfile.c -- is a file that holds a secret, or names a command, safe
 * from other users? (secfile.h)
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "secfile.h"

/* "alice (uid 1000)", or "uid 1000" for a uid without a name. */
static void
uid_name(uid_t uid, char *buf, size_t len)
{
	struct passwd	*pw = getpwuid(uid);

	if (pw != NULL && pw->pw_name != NULL)
		snprintf(buf, len, "%s (uid %lu)", pw->pw_name,
		    (unsigned long)uid);
	else
		snprintf(buf, len, "uid %lu", (unsigned long)uid);
}

/* The bare user name for a chown hint, else the number. */
static void
uid_word(uid_t uid, char *buf, size_t len)
{
	struct passwd	*pw = getpwuid(uid);

	if (pw != NULL && pw->pw_name != NULL)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "%lu", (unsigned long)uid);
}

int
secret_file_check(const char *path, const struct stat *st, int flags,
    const char *what, char *err, size_t errlen)
{
	struct stat	 lst;
	char		 target[PATH_MAX], owner[300], me[300], word[300];
	char		 subj[PATH_MAX + 64];
	const char	*t = path;
	uid_t		 euid = geteuid();
	int		 link = 0;

	if (flags == 0)
		return 0;
	if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
		link = 1;
		if (realpath(path, target) != NULL)
			t = target;
	}
	uid_name(euid, me, sizeof me);
	uid_word(euid, word, sizeof word);
	/* The link first: whoever owns it chooses what is read. */
	if (link && lst.st_uid != euid) {
		uid_name(lst.st_uid, owner, sizeof owner);
		snprintf(err, errlen, "%s: is a symbolic link owned by %s, "
		    "not by %s, who runs popvault, to %s, which %s; make the "
		    "link yourself (ln -sfn %s %s)", path, owner, me, t, what,
		    t, path);
		return -1;
	}
	if (link)
		snprintf(subj, sizeof subj, "is a symbolic link to %s, which",
		    t);
	else
		subj[0] = '\0';
	if (st->st_uid != euid) {
		uid_name(st->st_uid, owner, sizeof owner);
		snprintf(err, errlen, "%s: %s%s%s but belongs to %s, not to "
		    "%s, who runs popvault; such a file must be your own "
		    "(chown %s %s), or run popvault as its owner", path, subj,
		    link ? " " : "", what, owner, me, word, t);
		return -1;
	}
	if ((flags & SECRET_F_SECRET) && (st->st_mode & 077) != 0) {
		snprintf(err, errlen, "%s: %s%s%s, so it must not be readable "
		    "by others (chmod 600 %s)", path, subj, link ? " " : "",
		    what, t);
		return -1;
	}
	if ((st->st_mode & 022) != 0) {
		snprintf(err, errlen, "%s: %s%s%s, so it must not be writable "
		    "by group or others (chmod go-w %s)", path, subj,
		    link ? " " : "", what, t);
		return -1;
	}
	return 0;
}
