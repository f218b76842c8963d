/*
 * probe_infer.h -- what "popvault probe" infers from what it saw, as
 * pure functions (tests/unit/test_probe_infer.c): the UIDL scheme of a
 * listing and its duplicate UIDLs, and whether the server looks like
 * Gmail, whose listing is a window.
 */
#ifndef PROBE_INFER_H
#define PROBE_INFER_H

#include <stddef.h>
#include <stdint.h>

#include "pop3.h"

/* In the order they are tried: the first that fits every UIDL wins. */
enum uidl_scheme {
	UIDL_S_NONE,		/* an empty listing */
	UIDL_S_DOVECOT,		/* %08Xu%08Xv: UID (below 2^24), then
				 * UIDVALIDITY (one for the listing) */
	UIDL_S_COURIER,		/* UID<n>-<uidvalidity> */
	UIDL_S_QPOPPER,		/* <32 hex>.<time>.<n>: GNU Mailutils */
	UIDL_S_DECIMAL,		/* digits only */
	UIDL_S_HEX16,		/* 16 hex digits otherwise: popa3d */
	UIDL_S_MD5,		/* 32 hex digits: solid-pop3d */
	UIDL_S_SHA1,		/* 40 hex digits */
	UIDL_S_OPAQUE		/* none of these, or a mix */
};

struct uidl_info {
	enum uidl_scheme scheme;
	uint32_t	 uidvalidity;	/* DOVECOT; COURIER when one for all */
	size_t		 n;		/* UIDLs listed */
	size_t		 distinct;	/* different UIDLs among them */
	size_t		 dup_uidls;	/* UIDLs listed more than once */
	size_t		 dup_msgs;	/* messages listed under those */
	char		 dup_first[POP3_UIDL_MAX + 1]; /* the one of the
					 * lowest message number, raw */
};

void	probe_uidl_classify(const struct pop3_listing *, struct uidl_info *);

/*
 * 1 when the greeting, or a CAPA line "IMPLEMENTATION ...", names
 * Gmail's POP server ("Gpop", "Gmail"), in any case.
 */
int	probe_gmail_like(const char *greeting, const char *const *capa,
	    size_t ncapa);

#endif
