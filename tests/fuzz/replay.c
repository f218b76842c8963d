/*
 * replay.c -- run a fuzz harness over saved inputs, without libFuzzer.
 *
 *   fuzz_NAME [-v] PATH...
 *
 * Each PATH is a file or a folder; a folder's regular files are run in
 * name order (not recursively, dot files skipped). The empty input is
 * run first, as libFuzzer does. Each input is copied into a buffer of
 * exactly its size, so a sanitizer catches a read one byte past it.
 * A broken invariant or a sanitizer report aborts the program; exit
 * status 0 means every input ran clean. Linked instead of
 * -fsanitize=fuzzer, it lets the harnesses build with any compiler and
 * run in "make check" (and under "make asan" with its sanitizers).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static int	verbose;
static size_t	nrun;

/* Read the file at path into a buffer of its exact size; run it. */
static int
run_file(const char *path)
{
	struct stat	 sb;
	uint8_t		*buf;
	size_t		 off = 0;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return 0;
	}
	/* malloc(0) may return NULL; the harness gets a valid pointer. */
	if ((buf = malloc(sb.st_size > 0 ? (size_t)sb.st_size : 1)) == NULL) {
		fprintf(stderr, "replay: out of memory\n");
		exit(2);
	}
	while (off < (size_t)sb.st_size) {
		n = read(fd, buf + off, (size_t)sb.st_size - off);
		if (n <= 0) {
			fprintf(stderr, "replay: %s: %s\n", path,
			    n == 0 ? "short read" : strerror(errno));
			free(buf);
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	close(fd);
	if (verbose)
		fprintf(stderr, "replay: %s (%zu bytes)\n", path, off);
	LLVMFuzzerTestOneInput(buf, off);
	free(buf);
	nrun++;
	return 0;
}

static int
names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
run_dir(const char *path)
{
	DIR		 *d;
	struct dirent	 *de;
	char		**names = NULL, *p;
	size_t		  n = 0, cap = 0, i, len;
	int		  r = 0;

	if ((d = opendir(path)) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((names = realloc(names, cap * sizeof *names)) ==
			    NULL) {
				fprintf(stderr, "replay: out of memory\n");
				exit(2);
			}
		}
		len = strlen(path) + 1 + strlen(de->d_name) + 1;
		if ((p = malloc(len)) == NULL) {
			fprintf(stderr, "replay: out of memory\n");
			exit(2);
		}
		snprintf(p, len, "%s/%s", path, de->d_name);
		names[n++] = p;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof *names, names_cmp);
	for (i = 0; i < n; i++) {
		if (run_file(names[i]) == -1)
			r = -1;
		free(names[i]);
	}
	free(names);
	return r;
}

int
main(int argc, char *argv[])
{
	struct stat	sb;
	uint8_t		empty[1] = { 0 };
	int		i, r = 0;

	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		verbose = 1;
		argv++;
		argc--;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: %s [-v] file-or-folder...\n",
		    argv[0]);
		return 2;
	}
	LLVMFuzzerTestOneInput(empty, 0);
	nrun++;
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &sb) == -1) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
			    strerror(errno));
			r = -1;
		} else if (S_ISDIR(sb.st_mode)) {
			if (run_dir(argv[i]) == -1)
				r = -1;
		} else if (run_file(argv[i]) == -1)
			r = -1;
	}
	printf("%zu inputs\n", nrun);
	return r == 0 ? 0 : 1;
}
