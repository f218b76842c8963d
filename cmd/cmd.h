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
extern const struct cmd cmd_import;
extern const struct cmd cmd_index;
extern const struct cmd cmd_export;

/* The default vault: $XDG_DATA_HOME/popvault or ~/.local/share/popvault. */
void	cmd_default_vault(char *buf, size_t len);

struct idx;
struct opt_values;

/*
 * The command line of a command that takes the options of optcmd
 * (OPT_CMD_*, opt.h) into *o (opt_free() it), the default vault filled
 * in; *first is the first operand. Returns 0 to go on, 1 after --help
 * was printed (exit 0), -1 after a mistake was reported with usage
 * (exit 64).
 */
int	cmd_options(int argc, char **argv, unsigned optcmd,
	    void (*usage)(void), struct opt_values *o, int *first);

/*
 * The worse of two exit codes (util.h), for a command that runs several
 * parts: a failure beats a partial success, which beats success.
 */
int	cmd_exit_worse(int a, int b);

/* Open an existing vault's index (never creating one); NULL: reported. */
struct idx	*cmd_open_index(const char *vault);

#endif
