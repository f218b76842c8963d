/*
 * source.h -- where messages come from: the message-source interface.
 *
 * The run (run.c, batch.c, delete.c) reads a mailbox only through these
 * operations and never learns what kind of source it reads. A source is
 * a struct source, or a larger struct that starts with one, whose first
 * member points to its operations and which carries the last error: a
 * one-line message, and its grade and reason (fail.h). POP3
 * (source_pop3.c) is the first source; each other source is one more
 * file of the same shape, exporting a constructor.
 *
 * Life of a source during one run:
 *
 *   connect      reach the mailbox. Anything the user must type is
 *                asked first (POP3: the password, then TCP, TLS,
 *                greeting, CAPA)
 *   login        authenticate; NULL when the source needs none
 *   list         every message once: its number in this session, its
 *                unique id, which names the same message in every
 *                session (POP3: the UIDL), and its size as a hint
 *   retrieve     stream chosen messages of the listing into a sink, in
 *                the order asked, each message's bytes exactly as the
 *                source holds them (POP3: RETR, dot-unstuffed)
 *   pending      is more of the retrieval at hand, so that the sink's
 *                next call will come without waiting?
 *   mark_delete  mark one listed message for deletion; nothing is
 *                removed before commit. NULL: the source cannot delete
 *                (a delete policy is then refused, EXIT_USAGE)
 *   commit       end the session; the marked messages are removed now,
 *                all or none (POP3: QUIT, and its +OK)
 *
 * After commit (or a failure) connect may start the next session of the
 * same run, with what was asked of the user the first time (the run
 * loops sessions when the listing is a window: Gmail).
 *   close        free everything, whatever state the session is in
 *
 * Every operation but pending and close returns 0 or -1; on -1 the
 * source's error says what failed (source_error(), src->grade and
 * src->reason). Only FAIL_MESSAGE leaves the session usable (one message
 * refused); after any other failure only close may follow.
 */
#ifndef SOURCE_H
#define SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "fail.h"
#include "pop3.h"

/*
 * The listing is struct pop3_listing (pop3.h), whatever the source:
 * e[i].num is the message's number in this session (what mark_delete
 * names), POP3_UID(l, i) and e[i].uid_len its unique id, e[i].size its
 * size (a hint: the bytes retrieved are what counts). A unique id is 1
 * to 70 characters 0x21 to 0x7E (RFC 1939's UIDL); numbers increase
 * along the listing. source_listing_add() builds one; a listing is freed
 * with pop3_listing_free().
 */

/*
 * Where retrieve streams the messages; i is the message's index in the
 * listing. begin() comes first, then data() with the bytes in any split,
 * then end(); or failed() alone, instead of the three, when the source
 * refuses that message (it may be gone): the retrieval goes on with the
 * next. idle(), if not NULL, is called each time the source is about to
 * wait for more input, and never otherwise (the run commits its open
 * index transaction there, so that no lock is held while a server takes
 * its time). A callback returning -1 stops the retrieval: retrieve
 * returns -1 at once, its error naming the message (grade FAIL_RUN,
 * reason FAIL_R_IO; the callback knows the real cause).
 */
struct source_sink {
	int	(*begin)(void *arg, size_t i);
	int	(*data)(void *arg, const char *p, size_t n);
	int	(*end)(void *arg, size_t i);
	int	(*failed)(void *arg, size_t i, const char *why);
	int	(*idle)(void *arg);
	void	 *arg;
};

struct source;

struct source_ops {
	const char	*name;		/* "pop3": for messages */
	int		 (*connect)(struct source *);
	int		 (*login)(struct source *);
	/* Fills l (freed by the caller, also after -1). */
	int		 (*list)(struct source *, struct pop3_listing *l);
	/*
	 * Stream l->e[which[k]] for k < n, in that order, into the sink.
	 * 0 when every message went to the sink or to failed().
	 */
	int		 (*retrieve)(struct source *,
			    const struct pop3_listing *l, const size_t *which,
			    size_t n, const struct source_sink *);
	/*
	 * As retrieve, the header section of each message only (POP3: TOP
	 * n 0), for the check before a delete (core/delete.c); NULL when the
	 * source cannot (every message to delete is then downloaded).
	 */
	int		 (*head)(struct source *,
			    const struct pop3_listing *l, const size_t *which,
			    size_t n, const struct source_sink *);
	/*
	 * Nonzero when more of the current retrieval is at hand without
	 * waiting (bytes buffered, or a source that never waits); 0 when
	 * the sink's next call may wait for a server.
	 */
	size_t		 (*pending)(struct source *);
	/*
	 * Mark l->e[i] for deletion at commit. -1 with FAIL_MESSAGE when
	 * the source refused that one (the session goes on, the message
	 * stays); any other grade: the session is lost, nothing marked will
	 * be removed.
	 */
	int		 (*mark_delete)(struct source *,
			    const struct pop3_listing *l, size_t i);
	/*
	 * End the session. 0: the source confirmed it, and every marked
	 * message is removed. -1: not confirmed; the marked messages may
	 * or may not be gone (the next session's listing tells).
	 */
	int		 (*commit)(struct source *);
	void		 (*close)(struct source *);
};

struct source {
	const struct source_ops	*ops;
	char			 err[512];
	enum fail_grade		 grade;
	enum fail_reason	 reason;
	/*
	 * Set by connect: the fewest seconds the source wants between two
	 * logins (POP3: LOGIN-DELAY, RFC 2449), or -1 when it says none.
	 */
	int			 login_delay;
	/*
	 * Set by list: the unique ids are not the server's own (POP3
	 * without UIDL: named by headers and size), so a message may be
	 * deleted only after its download in the same session.
	 */
	int			 weak_ids;
	/*
	 * Set by list: the listing names only part of what the account
	 * holds (an import of some files, an export of a selection), so
	 * a sighting it does not list is not gone: its state stays.
	 */
	int			 partial;
};

/* The last error's message ("" if none). */
const char	*source_error(const struct source *);
/* Set the source's error; returns -1. */
int		 source_fail(struct source *, enum fail_grade,
		    enum fail_reason, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
/*
 * Append one message to a listing (for sources other than POP3, whose
 * client fills its own). uid as the listing above wants it, num greater
 * than the last one's. 0, or -1 (nothing added) for a uid or num that
 * breaks those rules.
 */
int		 source_listing_add(struct pop3_listing *, uint32_t num,
		    const char *uid, size_t uidlen, uint64_t size);

/* The POP3 source (source_pop3.c). */
struct source_pop3_args {
	const struct pop3_opts	*pop3;		/* host, port, TLS, limits */
	const char		*account;	/* name, for messages */
	const char		*user;
	enum pop3_auth		 auth;		/* without sasl */
	const char		*sasl;		/* a mechanism, "auto" or NULL:
						 * as source_pop3_login() */
	const char		*password;	/* known already, or NULL: */
	const char		*password_command;	/* secret_get() */
	int			 keep;		/* keep mail on the server:
						 * warn of EXPIRE */
};

/*
 * A POP3 source; nothing on the wire before connect. The strings and
 * pop3 opts are the caller's, kept until close.
 */
struct source		*source_pop3_new(const struct source_pop3_args *);
/*
 * Log in on a connected session as fetch does: a SASL mechanism when
 * sasl names one (RFC 5034); "auto" the strongest the server offers
 * after TLS, or USER/PASS when it offers none of those (sasl_pick());
 * without sasl, USER/PASS or APOP as auth says. used (if not NULL) gets
 * what was tried: "USER/PASS", "APOP" or "AUTH MECH". pop3_login() and
 * pop3_auth() give the errors. For "popvault probe" too.
 */
int			 source_pop3_login(struct pop3 *, const char *user,
			    const char *pass, const char *sasl,
			    enum pop3_auth, char *used, size_t usedlen);
/* What kind of failure a POP3 session's failure class is. */
enum fail_reason	 source_pop3_reason(enum pop3_errclass);

/*
 * The import source (source_import.c): the messages of files and folder
 * trees (mbox, Maildir, .eml, compressed, archives), for "popvault
 * import". It cannot delete. Each of paths is a file or a folder, read
 * by content; what cannot be imported is given to item_error (and
 * counted), remarks on what is imported to notice; both may be NULL.
 */
struct source_import_args {
	const char *const	*paths;
	size_t			 npaths;
	size_t			 max_listing;	/* most messages; 0: 10^7 */
	uint64_t		 max_msg_size;	/* larger: an item error */
	void			(*item_error)(void *arg, const char *where,
				    const char *why);
	void			(*notice)(void *arg, const char *where,
				    const char *why);
	void			*arg;
};

struct source		*source_import_new(const struct source_import_args *);
/*
 * Listed message i (i < source_import_count()): its unique id (uid,
 * NUL-terminated), its file (*path), its position there ("OFFSET", or
 * "MEMBER@OFFSET" in an archive) and its Maildir flags (*flags, or
 * NULL). 0, or -1 for no such message. The strings are the source's,
 * until close.
 */
int			 source_import_origin(const struct source *, size_t i,
			    char uid[45], const char **path, char *pos,
			    size_t poslen, const char **flags);
size_t			 source_import_count(const struct source *);
/* How many items (files, members) could not be imported. */
uint64_t		 source_import_unreadable(const struct source *);

/*
 * The stored messages of a popvault vault (source_vault.c), read only:
 * those the sightings of the named accounts point at (accounts NULL:
 * every account of the vault), filtered by q as idx_select() does (q
 * NULL: all; q->account and q->limit unused), each distinct
 * whole-message SHA-256 once, sound copies only, in the order they were
 * stored. Unique ids "sha256-" and 56 hex digits of the hash; a partial
 * listing; cannot delete. The strings (vault, accounts, q's) are the
 * caller's, kept until close; q itself is copied. An account the vault
 * does not have fails list (FAIL_ACCOUNT, FAIL_R_USAGE).
 */
struct idx_query;
struct source		*source_vault_new(const char *vault,
			    const char *const *accounts, size_t naccounts,
			    const struct idx_query *q);
/*
 * After list: selected contents left out because their only copies
 * failed verification in the vault. 0 for any other source.
 */
size_t			 source_vault_unsound(const struct source *);
/*
 * After list: the whole SHA-256 of the listing's message i (its unique
 * id holds only 56 hex digits of it) and the index row of the copy that
 * retrieve reads. 0, or -1 for an i past the listing or another source.
 */
int			 source_vault_entry(const struct source *, size_t i,
			    unsigned char sha[32], int64_t *msg);

#endif
