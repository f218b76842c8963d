/*
 * policy.c -- parsing the delete policy (policy.h). What the policy
 * deletes, and how, is delete.c's business.
 */
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int
policy_parse_delete(const char *s, enum run_delete *d, int64_t *secs)
{
	char		*end;
	long long	 n;
	int64_t		 unit;

	*secs = 0;
	if (strcmp(s, "never") == 0) {
		*d = DEL_NEVER;
		return 0;
	}
	if (strcmp(s, "verified") == 0) {
		*d = DEL_VERIFIED;
		return 0;
	}
	if (strncmp(s, "older-than=", 11) != 0)
		return -1;
	s += 11;
	if (*s < '0' || *s > '9')
		return -1;
	n = strtoll(s, &end, 10);
	switch (*end) {
	case 'd':
		unit = 86400;
		break;
	case 'w':
		unit = 7 * 86400;
		break;
	case 'm':
		unit = 30 * 86400;
		break;
	case 'y':
		unit = 365 * 86400;
		break;
	default:
		return -1;
	}
	if (end[1] != '\0' || n <= 0 || n > 1000 * 365)
		return -1;
	*d = DEL_OLDER;
	*secs = n * unit;
	return 0;
}
