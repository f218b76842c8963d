/*
 * export_to.h -- "popvault export --to": the upload to an IMAP mailbox
 * (export_to.c), reached from export.c.
 */
#ifndef EXPORT_TO_H
#define EXPORT_TO_H

struct opt_values;

/*
 * Upload the selection of cli (accounts, filters) from the vault (an
 * absolute path) to cli->to; prints the report. Returns an exit code.
 */
int	export_to(const struct opt_values *cli, const char *vault);

#endif
