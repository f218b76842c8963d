/*
 * account.h -- the shared body of "fetch" and "prune" (account.c).
 */
#ifndef ACCOUNT_H
#define ACCOUNT_H

#include "run.h"

void	account_usage(const char *cmd);
int	account_main(int argc, char **argv, enum run_mode mode);

#endif
