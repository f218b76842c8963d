/*
 * config_int.h -- what config.c (the file: lines, sections, merging,
 * checks) and config_value.c (the keys: names, values, copies) share.
 * Not for other callers: use config.h.
 */
#ifndef CONFIG_INT_H
#define CONFIG_INT_H

#include <stddef.h>

#include "config.h"

/* The key called name (len bytes, not NUL-terminated), or -1. */
int	config_key_lookup(const char *name, size_t len);
/* 1 for dedup and jobs, which only [defaults] may hold. */
int	config_key_defaults_only(enum config_key);
/* 1 for password_command, netrc, password and password_env. */
int	config_key_is_source(enum config_key);

/*
 * Check value (NUL-terminated, non-empty, quotes removed) for key k
 * and store it in a (defaults-only keys in cfg); sets k's bit in
 * a->set and a->own. Returns 0, or -1 with why saying what is
 * expected ("a number from 1 to 65535"). A string already there is
 * replaced (freed).
 */
int	config_set_value(struct config *cfg, struct config_account *a,
	    enum config_key k, const char *value, char *why, size_t whylen);

/* Copy key k's value from d to a (strings duplicated); sets a->set. */
void	config_inherit(struct config_account *a,
	    const struct config_account *d, enum config_key k);

/* Free a's strings (the password wiped) and zero it. */
void	config_account_clear(struct config_account *a);

/* The user's home folder ($HOME, else the password file): 0 or -1. */
int	config_home(char *buf, size_t len);

#endif
