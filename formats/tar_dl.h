/*
 * tar_dl.h -- libarchive, loaded when the tar format is first opened.
 *
 * libarchive brings libxml2, ICU and libstdc++ with it: about 2.8 MB of
 * resident memory and their start-up work in every process that links
 * it. Only the tar format needs it, so popvault does not link it: the
 * functions tar.c calls are looked up with dlopen(3)/dlsym(3) once, by
 * tar_dl_load(), and tar.c calls them through this table under their
 * own names (the prototypes come from <archive.h>, so every call is
 * type-checked as before). docs/decisions.md, "Libraries".
 */
#ifndef TAR_DL_H
#define TAR_DL_H

#include <stddef.h>

#include <archive.h>
#include <archive_entry.h>

#define TAR_DL_FUNCS(X)							\
	X(archive_entry_free)						\
	X(archive_entry_new)						\
	X(archive_entry_pathname)					\
	X(archive_entry_set_filetype)					\
	X(archive_entry_set_mtime)					\
	X(archive_entry_set_pathname)					\
	X(archive_entry_set_perm)					\
	X(archive_entry_set_size)					\
	X(archive_errno)						\
	X(archive_error_string)						\
	X(archive_read_data)						\
	X(archive_read_free)						\
	X(archive_read_new)						\
	X(archive_read_next_header)					\
	X(archive_read_open_fd)						\
	X(archive_read_support_filter_all)				\
	X(archive_read_support_format_tar)				\
	X(archive_write_add_filter_gzip)				\
	X(archive_write_add_filter_xz)					\
	X(archive_write_add_filter_zstd)				\
	X(archive_write_close)						\
	X(archive_write_data)						\
	X(archive_write_finish_entry)					\
	X(archive_write_free)						\
	X(archive_write_header)						\
	X(archive_write_new)						\
	X(archive_write_open_fd)					\
	X(archive_write_set_bytes_in_last_block)			\
	X(archive_write_set_filter_option)				\
	X(archive_write_set_format_pax_restricted)

#define TAR_DL_MEMBER(f)	__typeof__(f) *f;
struct tar_dl {
	TAR_DL_FUNCS(TAR_DL_MEMBER)
};
#undef TAR_DL_MEMBER

extern struct tar_dl tar_dl;

/* Load libarchive once; 0, or -1 with the reason in err. */
int	tar_dl_load(char *err, size_t errlen);

#ifndef TAR_DL_IMPL
#define archive_entry_free		(tar_dl.archive_entry_free)
#define archive_entry_new		(tar_dl.archive_entry_new)
#define archive_entry_pathname		(tar_dl.archive_entry_pathname)
#define archive_entry_set_filetype	(tar_dl.archive_entry_set_filetype)
#define archive_entry_set_mtime		(tar_dl.archive_entry_set_mtime)
#define archive_entry_set_pathname	(tar_dl.archive_entry_set_pathname)
#define archive_entry_set_perm		(tar_dl.archive_entry_set_perm)
#define archive_entry_set_size		(tar_dl.archive_entry_set_size)
#define archive_errno			(tar_dl.archive_errno)
#define archive_error_string		(tar_dl.archive_error_string)
#define archive_read_data		(tar_dl.archive_read_data)
#define archive_read_free		(tar_dl.archive_read_free)
#define archive_read_new		(tar_dl.archive_read_new)
#define archive_read_next_header	(tar_dl.archive_read_next_header)
#define archive_read_open_fd		(tar_dl.archive_read_open_fd)
#define archive_read_support_filter_all	\
	(tar_dl.archive_read_support_filter_all)
#define archive_read_support_format_tar	\
	(tar_dl.archive_read_support_format_tar)
#define archive_write_add_filter_gzip	(tar_dl.archive_write_add_filter_gzip)
#define archive_write_add_filter_xz	(tar_dl.archive_write_add_filter_xz)
#define archive_write_add_filter_zstd	(tar_dl.archive_write_add_filter_zstd)
#define archive_write_close		(tar_dl.archive_write_close)
#define archive_write_data		(tar_dl.archive_write_data)
#define archive_write_finish_entry	(tar_dl.archive_write_finish_entry)
#define archive_write_free		(tar_dl.archive_write_free)
#define archive_write_header		(tar_dl.archive_write_header)
#define archive_write_new		(tar_dl.archive_write_new)
#define archive_write_open_fd		(tar_dl.archive_write_open_fd)
#define archive_write_set_bytes_in_last_block \
	(tar_dl.archive_write_set_bytes_in_last_block)
#define archive_write_set_filter_option	\
	(tar_dl.archive_write_set_filter_option)
#define archive_write_set_format_pax_restricted \
	(tar_dl.archive_write_set_format_pax_restricted)
#endif

#endif
