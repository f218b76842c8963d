#!/bin/sh
# run-fuzz.sh -- run every libFuzzer harness for a while ("make fuzz").
#
#   tests/fuzz/run-fuzz.sh BUILD SECONDS [HARNESS...]
#
# For each harness (default: every tests/fuzz/fuzz_*.c) whose binary is
# BUILD/fuzz/NAME: copy tests/fuzz/corpus/NAME/ into the working corpus
# BUILD/corpus/NAME/ (kept between runs; new inputs go there, never into
# tests/), run libFuzzer for SECONDS with tests/fuzz/NAME.dict if there
# is one, keep its output in BUILD/logs/NAME.log and anything it finds
# in BUILD/artifacts/NAME/. One summary line per harness; exit status 1
# if any harness found something (or did not run), else 0.
#
# FUZZ_FLAGS adds libFuzzer options (for example "-jobs=2").
set -u
if [ $# -lt 2 ]; then
	echo "usage: $0 build-dir seconds [harness...]" >&2
	exit 2
fi
build=$1
secs=$2
shift 2
if [ $# -eq 0 ]; then
	for src in tests/fuzz/fuzz_*.c; do
		set -- "$@" "$(basename "$src" .c)"
	done
fi

# A unit slower than this is a finding too; leaks are (LSan is on).
timeout=10
failed=0
mkdir -p "$build/logs"
# fuzz_mbox's archives: in memory if we can (it fsyncs a lot), in a
# folder of this run's own, removed after each harness (libFuzzer may
# end a process in the middle of an input, so the harness cannot).
shm=${TMPDIR:-/tmp}
[ -d /dev/shm ] && [ -w /dev/shm ] && shm=/dev/shm
printf '%-14s %12s %9s %6s %7s  %s\n' harness execs exec/s cov corpus result
for h in "$@"; do
	bin=$build/fuzz/$h
	work=$build/corpus/$h
	art=$build/artifacts/$h
	log=$build/logs/$h.log
	mkdir -p "$work" "$art"
	if [ -d "tests/fuzz/corpus/$h" ]; then
		cp -p tests/fuzz/corpus/"$h"/* "$work"/ 2>/dev/null
	fi
	dict=
	[ -f "tests/fuzz/$h.dict" ] && dict=-dict=tests/fuzz/$h.dict
	if [ ! -x "$bin" ]; then
		printf '%-14s %s\n' "$h" "FAIL: $bin not built"
		failed=1
		continue
	fi
	tmp=$(mktemp -d "$shm/popvault-fuzz-run.XXXXXX") || exit 1
	# shellcheck disable=SC2086
	FUZZ_TMPDIR=$tmp "$bin" -max_total_time="$secs" \
	    -timeout="$timeout" -print_final_stats=1 \
	    -artifact_prefix="$art/" $dict ${FUZZ_FLAGS:-} "$work" \
	    >"$log" 2>&1
	rc=$?
	rm -rf "$tmp"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" |
	    tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" |
	    tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | sed 's/cov: //')
	ninputs=$(find "$work" -type f | wc -l)
	found=$(find "$art" -type f | wc -l)
	if [ "$rc" -eq 0 ] && [ "$found" -eq 0 ]; then
		result="no findings"
	else
		result="FAIL (exit $rc, $found artifacts in $art, log $log)"
		failed=1
	fi
	printf '%-14s %12s %9s %6s %7s  %s\n' "$h" "${execs:-?}" \
	    "${rate:-?}" "${cov:-?}" "$ninputs" "$result"
	if [ "$rc" -ne 0 ]; then
		grep -m 1 -A 12 'ERROR:\|invariant broken\|runtime error' \
		    "$log" | sed 's/^/    /'
	fi
done
exit $failed
