#!/usr/bin/env bash
# run.sh -- run every test: the C unit tests, then the integration
# scripts. Each prints "PASS name" / "FAIL name: why" lines; this script
# counts them, shows the output of anything that failed, and ends with
# the line "N passed, N failed". Exit status: 0 only if nothing failed.
#
# Environment: POPVAULT (the binary under test: the test build, with the
# hooks of core/util.h), POPVAULT_RELEASE (the binary "make install"
# installs, without them: for the tests of the release build), UNITDIR
# (built unit tests), ONLY (a substring: run only matching tests).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${POPVAULT:=$ROOT/build/popvault-test}"
: "${POPVAULT_RELEASE:=$(dirname "$POPVAULT")/popvault}"
: "${UNITDIR:=$ROOT/build/tests}"
export POPVAULT POPVAULT_RELEASE
passed=0
failed=0
log=$(mktemp "${TMPDIR:-/tmp}/popvault-run.XXXXXX")
trap 'rm -f "$log"' EXIT

run_one() {
	local name=$1; shift
	local p f rc start=$SECONDS
	case "$name" in *"${ONLY:-}"*) ;; *) return ;; esac
	"$@" >"$log" 2>&1 </dev/null
	rc=$?
	p=$(grep -c '^PASS ' "$log")
	f=$(grep -c '^FAIL ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# Died without saying what failed: count it as one failure.
		echo "FAIL $name: exit status $rc" >>"$log"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	printf '%-40s %3d passed, %d failed (%ds)\n' "$name" "$p" "$f" \
	    $((SECONDS - start))
	if [ "$f" -ne 0 ]; then
		sed 's/^/    /' "$log" | tail -n 60
	fi
	grep '^PASS \|^FAIL ' "$log" | sed 's/^/    /' >>"${TESTLOG:-/dev/null}"
}

for t in "$UNITDIR"/test_*; do
	[ -x "$t" ] || continue
	run_one "unit/$(basename "$t")" "$t"
done
for t in "$ROOT"/tests/integration/test_*.sh; do
	[ -f "$t" ] || continue
	run_one "integration/$(basename "$t" .sh)" bash "$t"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
