#!/usr/bin/env bash
# test_servers.sh -- the server matrix (issue 15): the same checks
# (tests/lib/servers/matrix.sh: full fetch compared byte for byte with the
# server's own store, nothing new, kill and rerun, --delete=verified
# emptying the store) against every POP3 server implementation of
# tests/lib/servers/ (README.md there). A server that cannot be set up on
# this machine is a SKIP line saying why, never a pass. GNU Mailutils
# rewrites the messages it serves (SRV_REWRITES_ON_READ): for it the
# matrix reads the store again after each fetch and expects every
# version served to be archived (docs/servers/mailutils.md).
#
# Environment: SERVERS (names to run, default all), SRV_CACHE, MATRIX_N.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/pv.sh"
. "$T_ROOT/tests/lib/servers/matrix.sh"

# NAME:PREFIX of each server file.
ALL="dovecot:dc courier:cp popa3d:pa solid:sp mailutils:mu"
for s in ${SERVERS:-$ALL}; do
	case " $ALL " in
	*" $s:"*) s=$(printf '%s\n' $ALL | grep "^$s:") ;;
	esac
	matrix_run "${s%%:*}" "${s#*:}"
done
t_done
