#!/usr/bin/env bash
# run.sh -- run every test: the C unit tests, then the integration
# scripts. Each prints "PASS name", "FAIL name: why" and "SKIP name: why"
# lines; this script counts them, shows the output of anything that
# failed and every skip with its reason, and ends with the line
# "N passed, N failed, N skipped". Exit status: 0 only if nothing failed.
#
# Tests run side by side, JOBS at a time, each with its output in its own
# log; results are printed in the fixed order below (unit tests, then the
# scripts by name) whatever order they finish in, so the output and the
# counts are those of a run one at a time. Scripts share nothing: each
# has its own temporary folders, its own Dovecot or fake server on ports
# picked free, its own XDG folders (tests/lib/common.sh). The longest
# tests start first (by the times of the last run, kept in TIMES, or
# else by tests/durations).
#
# A SKIP line must give its reason ("SKIP name: reason"); one that does
# not counts as a failure. A script that exits non-zero without a FAIL
# line counts as one failure.
#
# Environment: POPVAULT (the binary under test: the test build, with the
# hooks of core/util.h), POPVAULT_RELEASE (the binary "make install"
# installs, without them: for the tests of the release build), UNITDIR
# (built unit tests), ONLY (a substring: run only matching tests), TESTS (names to
# run, space-separated, exactly as printed: "unit/test_idx
# integration/test_signals"), JOBS (tests at once; default: the number of
# processors plus one, at least 2), TIMES (durations of the last run;
# default UNITDIR/../test-times), TESTLOG (append every PASS, FAIL and SKIP
# line there), FAILFAST=1 (once a test fails, stop the running ones and
# start no more; those are listed as not run: for "make mutants", where
# one failure is the answer).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${POPVAULT:=$ROOT/build/popvault-test}"
: "${POPVAULT_RELEASE:=$(dirname "$POPVAULT")/popvault}"
: "${UNITDIR:=$ROOT/build/tests}"
: "${TIMES:=$UNITDIR/../test-times}"
export POPVAULT POPVAULT_RELEASE
if [ -z "${JOBS:-}" ]; then
	JOBS=$(( $(nproc 2>/dev/null || echo 1) + 1 ))
	[ "$JOBS" -ge 2 ] || JOBS=2
fi
case "$JOBS" in ''|*[!0-9]*|0) echo "run.sh: bad JOBS '$JOBS'" >&2; exit 2 ;; esac

# The tests, in the order their results are printed.
names=()
paths=()
want() {
	case "$1" in *"${ONLY:-}"*) ;; *) return 1 ;; esac
	[ -z "${TESTS:-}" ] && return 0
	case " $TESTS " in *" $1 "*) return 0 ;; esac
	return 1
}
for t in "$UNITDIR"/test_*; do
	[ -x "$t" ] || continue
	want "unit/$(basename "$t")" || continue
	names+=("unit/$(basename "$t")")
	paths+=("$t")
done
for t in "$ROOT"/tests/integration/test_*.sh; do
	[ -f "$t" ] || continue
	want "integration/$(basename "$t" .sh)" || continue
	names+=("integration/$(basename "$t" .sh)")
	paths+=("$t")
done
n=${#names[@]}
if [ -n "${TESTS:-}" ]; then
	for w in $TESTS; do
		case " ${names[*]} " in *" $w "*) ;; *)
			echo "run.sh: no test named $w" >&2; exit 2 ;;
		esac
	done
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/popvault-run.XXXXXX") || exit 2
# Stop the running tests: SIGTERM to each test process (its traps clean
# up: Dovecot, fake servers, temporary folders), then wait for them.
kill_running() {
	local f
	for f in "$dir"/*.pid; do
		[ -e "$f" ] || continue
		[ -e "${f%.pid}.rc" ] && continue
		kill -TERM "$(cat "$f")" 2>/dev/null
		touch "${f%.pid}.stopped"
	done
	wait
}
stop() {
	kill_running
	rm -rf "$dir"
	exit "$1"
}
trap 'rm -rf "$dir"' EXIT
# Background jobs of a script ignore SIGINT: pass a stop on as SIGTERM
# (the scripts then clean up through their own traps).
trap 'stop 130' INT
trap 'stop 143' TERM

# python3 as the interpreter itself, not a version manager's shim: see
# tests/lib/common.sh.
if [ -z "${T_PYTHON_DIR:-}" ]; then
	py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
	if [ -n "$py" ] && [ -x "$py" ] && mkdir -p "$dir/bin" &&
	    ln -s "$py" "$dir/bin/python3"; then
		export T_PYTHON_DIR=$dir/bin PATH=$dir/bin:$PATH
	fi
fi

# Start order: the longest first, by the times of the last run (TIMES)
# or else tests/durations; tests in neither first of all; ties in
# printing order.
order=$(for ((i = 0; i < n; i++)); do
	s=$(awk -v k="${names[i]}" '$1 == k { print $2; exit }' \
	    "$TIMES" 2>/dev/null)
	[ -n "$s" ] || s=$(awk -v k="${names[i]}" '$1 == k { print $2; exit }' \
	    "$ROOT/tests/durations" 2>/dev/null)
	printf '%s %d\n' "${s:-100000}" "$i"
done | sort -k1,1nr -k2,2n | awk '{ print $2 }')
# shellcheck disable=SC2206
order=($order)

start_one() {
	local i=$1
	(
		t0=$SECONDS
		# Simple commands, so that $! is the test's own process.
		if [ "${names[i]#unit/}" != "${names[i]}" ]; then
			"${paths[i]}" >"$dir/$i.log" 2>&1 </dev/null &
		else
			bash "${paths[i]}" >"$dir/$i.log" 2>&1 </dev/null &
		fi
		echo $! >"$dir/$i.pid"
		wait $!
		rc=$?
		echo "$rc $((SECONDS - t0))" >"$dir/$i.tmp"
		mv "$dir/$i.tmp" "$dir/$i.rc"
	) &
}

# failed_yet: has a finished test failed (FAIL line or exit status)?
failed_yet() {
	local f rc
	for f in "$dir"/*.rc; do
		[ -e "$f" ] || continue
		[ -e "${f%.rc}.stopped" ] && continue
		read -r rc _ <"$f"
		[ "$rc" != 0 ] && return 0
		grep -q '^FAIL ' "${f%.rc}.log" && return 0
	done
	return 1
}

passed=0
failed=0
skipped=0
skips=""
report() {
	local i=$1 log=$dir/$1.log rc secs p f s bad
	if [ -e "$dir/$i.stopped" ]; then
		printf '%-40s not run: stopped after a failure (FAILFAST)\n' \
		    "${names[i]}"
		return
	fi
	read -r rc secs <"$dir/$i.rc"
	p=$(grep -c '^PASS ' "$log")
	f=$(grep -c '^FAIL ' "$log")
	s=$(grep -c '^SKIP ' "$log")
	bad=$(grep '^SKIP ' "$log" | grep -vE '^SKIP [^ :]+: .*[^ ]')
	if [ -n "$bad" ]; then
		printf '%s\n' "$bad" |
		    sed 's/^SKIP \(.*\)$/FAIL \1: skipped without a reason/' \
		    >>"$log"
		f=$((f + $(printf '%s\n' "$bad" | wc -l)))
		s=$((s - $(printf '%s\n' "$bad" | wc -l)))
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# Died without saying what failed: count it as one failure.
		echo "FAIL ${names[i]}: exit status $rc" >>"$log"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	printf '%-40s %3d passed, %d failed, %d skipped (%ds)\n' \
	    "${names[i]}" "$p" "$f" "$s" "$secs"
	if [ "$f" -ne 0 ]; then
		# Every FAIL line, then the end of the rest (notes, errors).
		grep '^FAIL ' "$log" | sed 's/^/    /'
		grep -v '^PASS \|^FAIL ' "$log" | sed 's/^/    /' | tail -n 40
	elif [ "$s" -ne 0 ]; then
		grep '^SKIP ' "$log" | sed 's/^/    /'
	fi
	[ "$s" -gt 0 ] && skips="$skips$(grep -E '^SKIP [^ :]+: .*[^ ]' "$log" |
	    sed "s|^SKIP |    ${names[i]}: |")"$'\n'
	grep '^PASS \|^FAIL \|^SKIP ' "$log" | sed 's/^/    /' \
	    >>"${TESTLOG:-/dev/null}"
	echo "${names[i]} $secs" >>"$dir/times"
}

started=0
printed=0
while [ "$printed" -lt "$n" ]; do
	if [ "${FAILFAST:-0}" = 1 ] && [ "$started" -le "$n" ] && failed_yet
	then
		kill_running
		for ((; started < n; started++)); do
			touch "$dir/${order[started]}.stopped"
			echo "0 0" >"$dir/${order[started]}.rc"
		done
		started=$((n + 1))
	fi
	while [ "$started" -lt "$n" ] &&
	    [ $((started - $(find "$dir" -name '*.rc' | wc -l))) -lt "$JOBS" ]; do
		start_one "${order[started]}"
		started=$((started + 1))
	done
	while [ "$printed" -lt "$n" ] && [ -e "$dir/$printed.rc" ]; do
		report "$printed"
		printed=$((printed + 1))
	done
	[ "$printed" -lt "$n" ] && wait -n 2>/dev/null
done
wait

if [ -s "$dir/times" ] && [ -d "$(dirname "$TIMES")" ]; then
	# Keep the times of tests that did not run this time.
	awk 'NR == FNR { seen[$1] = 1; print; next } !($1 in seen)' \
	    "$dir/times" "$TIMES" 2>/dev/null >"$dir/times.new" ||
	    cp "$dir/times" "$dir/times.new"
	cp "$dir/times.new" "$TIMES" 2>/dev/null
fi
if [ -n "$skips" ]; then
	echo "skipped:"
	printf '%s' "$skips"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
