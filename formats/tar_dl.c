/*
 * tar_dl.c -- load libarchive for the tar format (see tar_dl.h).
 */
#define TAR_DL_IMPL
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "tar_dl.h"

struct tar_dl	tar_dl;

/* The library's file name: its soname (3.x has kept .13). */
static const char *const tar_dl_names[] = {
	"libarchive.so.13",
	"libarchive.so",
};

int
tar_dl_load(char *err, size_t errlen)
{
	static int	 state;		/* 0 not tried, 1 loaded, -1 failed */
	static char	 why[512];
	void		*h = NULL;
	void		*sym;
	const char	*e = "";
	size_t		 i;

	if (state == 0) {
		for (i = 0; h == NULL && i < sizeof tar_dl_names /
		    sizeof tar_dl_names[0]; i++)
			if ((h = dlopen(tar_dl_names[i], RTLD_NOW |
			    RTLD_LOCAL)) == NULL)
				e = dlerror();
		state = h != NULL ? 1 : -1;
		if (h == NULL)
			snprintf(why, sizeof why, "the tar format needs "
			    "libarchive (Debian: libarchive13): %s",
			    e != NULL ? e : "not found");
#define TAR_DL_SYM(f)							\
		if (state == 1) {					\
			if ((sym = dlsym(h, #f)) == NULL) {		\
				snprintf(why, sizeof why, "libarchive "	\
				    "has no %s", #f);			\
				state = -1;				\
			} else						\
				memcpy(&tar_dl.f, &sym, sizeof sym);	\
		}
		TAR_DL_FUNCS(TAR_DL_SYM)
#undef TAR_DL_SYM
	}
	if (state == -1) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	return 0;
}
