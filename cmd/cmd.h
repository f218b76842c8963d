/*
 * cmd.h -- one descriptor per subcommand; main.c only dispatches.
 */
#ifndef CMD_H
#define CMD_H

struct cmd {
	const char	*name;
	const char	*summary;
	void		 (*usage)(void);
	int		 (*run)(int argc, char **argv);
};

extern const struct cmd cmd_fetch;

#endif
