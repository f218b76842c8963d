/*
 * stop.c -- the request to stop: one flag a signal handler sets and the
 * run reads (stop.h).
 */
#include <signal.h>

#include "stop.h"

static volatile sig_atomic_t stop_flag;

void
stop_request(void)
{
	stop_flag = 1;
}

int
stop_requested(void)
{
	return stop_flag != 0;
}
