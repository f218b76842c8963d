/*
 * registry.c -- the list of archive formats, and their shared helpers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "format.h"

static const struct fmt_ops *const fmt_all[] = {
	&fmt_maildir_ops,
	&fmt_mbox_ops,
	&fmt_tar_ops,
};

const struct fmt_ops *
fmt_find(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof fmt_all / sizeof fmt_all[0]; i++)
		if (strcmp(fmt_all[i]->name, name) == 0)
			return fmt_all[i];
	return NULL;
}

const char *
fmt_names(void)
{
	return "maildir, mbox, tar";
}

const char *
fmt_error(struct fmt *f)
{
	return f->err;
}

int
fmt_fail(struct fmt *f, const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	vsnprintf(f->err, sizeof f->err, fmt, ap);
	va_end(ap);
	errno = saved;
	return -1;
}

int
fmt_loc_volume(const char *loc, char *out, size_t len)
{
	size_t	n = strcspn(loc, ":");

	if (n == 0 || n >= len)
		return -1;
	memcpy(out, loc, n);
	out[n] = '\0';
	return 0;
}
