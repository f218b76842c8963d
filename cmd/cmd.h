/*
 * cmd.h -- one descriptor per subcommand; main.c only dispatches.
 */
#ifndef CMD_H
#define CMD_H

#include <stddef.h>

struct cmd {
	const char	*name;
	const char	*summary;
	void		 (*usage)(void);
	int		 (*run)(int argc, char **argv);
};

extern const struct cmd cmd_fetch;
extern const struct cmd cmd_cat;
extern const struct cmd cmd_prune;
extern const struct cmd cmd_verify;
extern const struct cmd cmd_status;
extern const struct cmd cmd_search;
extern const struct cmd cmd_probe;

/* The default vault: $XDG_DATA_HOME/popvault or ~/.local/share/popvault. */
void	cmd_default_vault(char *buf, size_t len);

struct idx;

/* Open an existing vault's index (never creating one); NULL: reported. */
struct idx	*cmd_open_index(const char *vault);

#endif
