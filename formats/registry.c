/*
 * registry.c -- the list of archive formats, the words of the
 * compressions, and the helpers the formats share.
 *
 * Every format is one line of FMT_REGISTRY below, naming the struct
 * fmt_ops fmt_NAME_ops that its own file defines; nothing else in
 * popvault lists formats. The command line and the configuration find a
 * format here by name (fmt_find), print the names from here
 * (fmt_names), and check here that the format takes the compression
 * asked for (fmt_accepts), before anything connects. docs/HACKING.md,
 * "Adding a format".
 *
 * A test build (-DPOPVAULT_TEST_HOOKS, Makefile HOOK_SRC) can add one
 * more format, from the test tree (fmt_register_for_tests), so that the
 * all-formats unit test (tests/unit/test_formats.c) shows that a format
 * registered in one line gets the same coverage.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "format.h"
#include "hash.h"

/* The formats, in the order of fmt_at() and fmt_names(). */
#define FMT_REGISTRY(F)							\
	F(maildir)							\
	F(mbox)								\
	F(tar)								\
	F(eml)

#define FMT_DECLARE(name)	extern const struct fmt_ops fmt_##name##_ops;
#define FMT_ENTRY(name)		&fmt_##name##_ops,

FMT_REGISTRY(FMT_DECLARE)

static const struct fmt_ops *const fmt_builtin[] = {
	FMT_REGISTRY(FMT_ENTRY)
};
#define FMT_NBUILTIN	(sizeof fmt_builtin / sizeof fmt_builtin[0])

/* The words of --compress and compress =, by enum fmt_compress. */
static const char *const comp_words[FMT_COMP_COUNT] = {
	[FMT_COMP_NONE] = "none",
	[FMT_COMP_GZIP] = "gzip",
	[FMT_COMP_ZSTD] = "zstd",
	[FMT_COMP_XZ] = "xz",
};

#ifdef POPVAULT_TEST_HOOKS
static const struct fmt_ops	*fmt_extra;

int
fmt_register_for_tests(const struct fmt_ops *ops)
{
	if (fmt_extra != NULL || ops == NULL || ops->name == NULL ||
	    fmt_find(ops->name) != NULL)
		return -1;
	fmt_extra = ops;
	return 0;
}
#else
int
fmt_register_for_tests(const struct fmt_ops *ops)
{
	(void)ops;
	return -1;
}
#endif

const struct fmt_ops *
fmt_at(size_t i)
{
	if (i < FMT_NBUILTIN)
		return fmt_builtin[i];
#ifdef POPVAULT_TEST_HOOKS
	if (i == FMT_NBUILTIN)
		return fmt_extra;
#endif
	return NULL;
}

const struct fmt_ops *
fmt_find(const char *name)
{
	const struct fmt_ops	*ops;
	size_t			 i;

	for (i = 0; (ops = fmt_at(i)) != NULL; i++)
		if (strcmp(ops->name, name) == 0)
			return ops;
	return NULL;
}

/* Append word number i (of a list, last or not) as in "a, b or c". */
static void
add_word(char *buf, size_t len, size_t i, int last, const char *w)
{
	size_t	o = strlen(buf);

	snprintf(buf + o, len - o, "%s%s", i == 0 ? "" : last ? " or " :
	    ", ", w);
}

const char *
fmt_names(void)
{
	static char		 buf[512];
	const struct fmt_ops	*ops;
	size_t			 i;

	buf[0] = '\0';
	for (i = 0; (ops = fmt_at(i)) != NULL; i++)
		add_word(buf, sizeof buf, i, fmt_at(i + 1) == NULL, ops->name);
	return buf;
}

int
fmt_accepts(const struct fmt_ops *ops, enum fmt_compress c)
{
	if ((unsigned)c >= FMT_COMP_COUNT)
		return 0;
	return (ops->comps & FMT_COMP_BIT(c)) != 0;
}

const char *
fmt_comp_name(enum fmt_compress c)
{
	if ((unsigned)c >= FMT_COMP_COUNT)
		return "?";
	return comp_words[c];
}

int
fmt_comp_find(const char *word, enum fmt_compress *c)
{
	unsigned	i;

	for (i = 0; i < FMT_COMP_COUNT; i++)
		if (strcmp(comp_words[i], word) == 0) {
			*c = (enum fmt_compress)i;
			return 0;
		}
	return -1;
}

const char *
fmt_comp_list(unsigned set)
{
	static char	buf[64];
	unsigned	i, n = 0, left = 0;

	for (i = 0; i < FMT_COMP_COUNT; i++)
		if (set & FMT_COMP_BIT(i))
			left++;
	buf[0] = '\0';
	for (i = 0; i < FMT_COMP_COUNT; i++)
		if (set & FMT_COMP_BIT(i)) {
			add_word(buf, sizeof buf, n, n + 1 == left,
			    comp_words[i]);
			n++;
		}
	return buf;
}

void
fmt_day(int64_t t, char *buf, size_t len)
{
	struct tm	tm;
	time_t		tt = (time_t)t;

	if ((int64_t)tt != t || gmtime_r(&tt, &tm) == NULL)
		/* "????-??-??" (escaped: no trigraphs) */
		snprintf(buf, len, "?\?\?\?-\?\?-\?\?");
	else
		snprintf(buf, len, "%04d-%02d-%02d", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday);
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

static int
vhash_cb(void *arg, const void *p, size_t n)
{
	hash_update(arg, p, n);
	return 0;
}

int
fmt_verify_each(struct fmt *f, struct fmt_vitem *it, size_t n)
{
	struct hash	*h = hash_new();
	unsigned char	 got[HASH_LEN];
	size_t		 i;

	for (i = 0; i < n; i++) {
		hash_reset(h);
		errno = 0;
		if (f->ops->read(f, it[i].loc, vhash_cb, h) == -1) {
			it[i].result = errno == ENOENT ? FMT_V_MISSING :
			    FMT_V_UNREADABLE;
			continue;
		}
		hash_final(h, got);
		it[i].result = memcmp(got, it[i].sha, HASH_LEN) == 0 ?
		    FMT_V_OK : FMT_V_ALTERED;
	}
	hash_free(h);
	return 0;
}

const char *
fmt_vresult_str(enum fmt_vresult r)
{
	switch (r) {
	case FMT_V_OK:
		return "ok";
	case FMT_V_MISSING:
		return "missing";
	case FMT_V_ALTERED:
		return "altered";
	default:
		return "unreadable";
	}
}
