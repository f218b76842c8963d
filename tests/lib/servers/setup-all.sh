#!/usr/bin/env bash
# setup-all.sh -- unpack every POP3 server of the matrix into the cache
# (SRV_CACHE, default build/servers) ahead of the tests: "make deps" runs
# it, so that .ci/run sets them all up and the tests do not download.
# A server that cannot be set up is said on one line; never an error
# (test_servers.sh then reports it as a SKIP with the same reason).
set -u
T_ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
cache=${SRV_CACHE:-$T_ROOT/build/servers}
mkdir -p "$cache"
for s in courier:cp popa3d:pa solid:sp mailutils:mu; do
	name=${s%%:*}
	# shellcheck disable=SC1090
	( . "$T_ROOT/tests/lib/servers/$name.sh" &&
	  if why=$("${s#*:}_setup" "$cache" 2>&1); then
		echo "servers: $name ready"
	  else
		echo "servers: $name cannot be set up here: $why"
	  fi )
done
exit 0
