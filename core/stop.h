/*
 * stop.h -- the request to stop, set from a signal handler.
 *
 * SIGINT and SIGTERM (cmd/account.c) call stop_request(); the run looks
 * at stop_requested() where stopping is safe: after a committed batch
 * (core/batch.c) and before each DELE (core/delete.c). A second signal
 * also interrupts blocked I/O (conn_interrupt(), conn.h).
 */
#ifndef STOP_H
#define STOP_H

/* Ask the run to stop; async-signal-safe. */
void	stop_request(void);
/* 1 once stop_request() was called, else 0. */
int	stop_requested(void);

#endif
