/*
 * probe.h -- "popvault probe": what probe.c learns from a server, and
 * how probe_print.c shows it.
 */
#ifndef PROBE_H
#define PROBE_H

#include <stdint.h>
#include <stdio.h>

#include "conn.h"
#include "opt.h"
#include "pop3.h"
#include "probe_infer.h"
#include "url.h"

#define PROBE_CAPA_MAX	64	/* CAPA lines kept per session phase */

/* The CAPA listing of one phase, escaped for printing. */
struct probe_capa {
	char	*line[PROBE_CAPA_MAX];
	size_t	 n;
	size_t	 dropped;	/* lines past PROBE_CAPA_MAX */
	int	 seen;		/* CAPA was answered */
	int	 refused;	/* ... with -ERR */
};

struct probe {
	/* Asked for, on the command line. */
	struct url		 u;
	int			 have_user;	/* the URL named one */
	struct opt_values	 v;		/* merged, as fetch's */
	struct pop3_opts	 o;		/* from v */
	char			 port[8];
	int			 login;
	int			 quiet;
	int			 verbose;	/* how many -v */
	int			 timeout_s;	/* --timeout; 0: not given */
	const char		*password_command;
	const char		*sasl;		/* as run_opts.sasl */
	enum pop3_auth		 auth;

	/* Learnt. capa[0]: in clear text; capa[1]: under TLS. */
	struct probe_capa	 capa[2];
	char			 greeting[POP3_STATUS_MAX + 1];
	struct pop3_caps	 caps;		/* the last CAPA's */
	struct conn_cert	 cert;
	int			 have_cert;
	int			 connected;	/* pop3_connect() succeeded */
	int			 tls_failed;	/* TLS refused the server */
	int			 no_stls;	/* pop3:// but no STLS */
	int			 logged_in;
	int			 listed;	/* UIDL and LIST worked */
	int			 pipe_tried, pipe_ok;
	int			 utf8_on;	/* UTF8 accepted (RFC 6856) */
	int			 gmail;		/* the listing may be a window */
	struct uidl_info	 uidl;		/* with listed */
	size_t			 nmsg;
	uint64_t		 total;		/* bytes, by LIST */
	char			 auth_used[64];
	char			 connect_why[768];
	char			 tls_why[512];	/* the TLS layer's own word */
	char			 login_why[768];
	char			 uidl_why[768];
	char			 pipe_why[256];
};

/* The human-readable report (probe_print.c). */
void	probe_report(const struct probe *, FILE *);
/*
 * "Suggested configuration:" and a popvault.conf(5) section that
 * parses as it is; nothing insecure in it is left uncommented.
 */
void	probe_suggest(const struct probe *, FILE *);

#endif
