/*
 * imap_int.h -- what the files of the IMAP session share and nothing
 * else sees: imap.c (the session: reading, sending, waiting, deadlines,
 * connection, mailboxes, LOGOUT, the public steps), imap_auth.c (LOGIN,
 * AUTHENTICATE), imap_append.c (APPEND) and imap_fetch.c (sizes, bodies
 * streamed to a sink, SEARCH). The session's struct, and the helpers of
 * imap.c the others use, named ims_ so that they are not taken for the
 * API of imap.h. Internal to core/: callers use imap.h.
 */
#ifndef IMAP_INT_H
#define IMAP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "imap.h"
#include "imapparse.h"

/* The write buffer of APPEND (command lines and message octets). */
#define IMAP_WBUF	(64 * 1024)
/* Non-synchronizing literals under LITERAL- (RFC 7888 section 5). */
#define IMAP_LITMINUS_MAX	4096

struct imap {
	struct imap_opts	 o;
	struct conn		*c;
	struct imap_caps	 caps;
	int			 got_caps;	/* CAPABILITY seen since reset */
	int			 preauth;
	int			 logout;	/* a BYE is expected */
	int			 bye;		/* a BYE was read */
	unsigned		 tagno;
	char			 tag[16];	/* of the command in flight */
	char			 mbox[1024];	/* selected mailbox, as sent */
	int			 selected;
	/* From the untagged responses of the selected mailbox. */
	uint32_t		 exists, uidvalidity, uidnext;
	int			 have_exists;
	struct imap_reader	 rd;
	char			*rbuf;
	struct imap_resp	 resp;		/* the last response read */
	int			 mask_cont;	/* "+" lines logged as "****" */
	char			*wbuf;		/* IMAP_WBUF octets */
	size_t			 wlen;
	/* Literal streaming during imap_fetch(). */
	const struct imap_sink	*sink;
	int			 lit_sink;	/* this literal goes to sink */
	int			 resp_body;	/* a body streamed in resp */
	int			 cbfail;	/* a literal callback failed */
	int			 dead;		/* a step lost the session */
	int64_t			 deadline;
	char			 greeting[IMAP_TEXT_MAX];
	enum imap_errclass	 eclass;
	enum imap_code		 code;
	char			 err[768];
};

/* imap.c: errors */
/* Set the session's error class and message (code none); returns -1. */
int	ims_fail(struct imap *, enum imap_errclass, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
/* The connection's failure as the session's, "during: why"; -1. */
int	ims_connfail(struct imap *, const char *during);
/* A NO, BAD or BYE in s->resp to what as the session's error; -1. */
int	ims_refused(struct imap *, const char *what, enum imap_errclass dflt);
/* A NO or BAD that asks to come back later (IMAP_E_TEMP)? */
int	ims_is_temp(const struct imap_resp *);
/* The text of a status response, escaped into buf[IMAP_TEXT_MAX]. */
const char *ims_resp_text(const struct imap_resp *, char *buf);

/* imap.c: the command's deadline, timeout_ms and octets from now */
void	ims_deadline_start(struct imap *, uint64_t octets);
/* imap.c: progress; at least timeout_ms away, and octets more allowed */
void	ims_deadline_more(struct imap *, uint64_t octets);

/* imap.c: reading */
/* The next response into s->resp. */
int	ims_read(struct imap *, const char *what);
/* The untagged responses any command may meet (BYE, CAPABILITY, ...). */
int	ims_untagged(struct imap *, const char *what);
/* Learn the capabilities from the list p/n. */
int	ims_set_caps(struct imap *, const char *p, size_t n);
/* Is the response's tag this one? */
int	ims_tag_is(const struct imap_resp *, const char *tag);
/* Read up to the tagged answer of s->tag, untagged ones to fn first. */
int	ims_wait(struct imap *, const char *what,
	    int (*fn)(struct imap *, void *), void *arg);
/* Wait for a "+": 1 when it came, 0 when answered instead, -1. */
int	ims_wait_cont(struct imap *, const char *what);

/* imap.c: writing */
/* A new tag in s->tag. */
void	ims_next_tag(struct imap *);
/* Send "TAG cmd" CRLF, -v showing logcmd (NULL: cmd); wiped. */
int	ims_send(struct imap *, const char *cmd, const char *logcmd);
/* CAPABILITY asked again, what was known forgotten. */
int	ims_capability(struct imap *);
/* A simple command: sent, its responses read; 0 on OK, else refused. */
int	ims_simple(struct imap *, const char *cmd, const char *what,
	    enum imap_errclass dflt, int (*fn)(struct imap *, void *),
	    void *arg);

/* imap_auth.c: the step of imap_auth() (imap.h). */
int	ims_auth(struct imap *, const char *mechname, const char *user,
	    const char *secret);

/* imap_append.c: the step of imap_append() (imap.h). */
int	ims_append(struct imap *, const struct imap_msg *, size_t n,
	    struct imap_appended *);

/* imap_fetch.c: the reader's callback for literals over IMAP_LIT_KEEP. */
int	ims_lit_cb(void *, enum imap_lit_ev, const char *, size_t,
	    uint64_t);
/* imap_fetch.c: the steps of imap_sizes(), imap_fetch(), imap_search(). */
int	ims_sizes(struct imap *, int (*cb)(void *, uint32_t, uint64_t),
	    void *arg);
int	ims_fetch(struct imap *, const uint32_t *uids, size_t n,
	    const struct imap_sink *);
int	ims_search(struct imap *, const char *criteria, uint32_t *out,
	    size_t max, size_t *count);

#endif
