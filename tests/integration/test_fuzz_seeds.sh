#!/usr/bin/env bash
# test_fuzz_seeds.sh -- replay the fuzz seed corpora (docs/fuzzing.md).
#
# Every harness in tests/fuzz/ is built by "make check" with
# tests/fuzz/replay.c instead of libFuzzer, with the compiler and flags
# of the build under test (so "make asan" replays under ASan and UBSan).
# Each harness runs every seed corpus, its own and the others' (the
# regression seeds regress-* included): one PASS or FAIL per harness.
# No Dovecot and no network: the session harness talks over a
# socketpair.
#
# Environment: FUZZDIR, the built replay binaries (default: next to
# UNITDIR, i.e. BUILD/fuzz).
set -u
. "$(dirname "$0")/../lib/common.sh"

: "${FUZZDIR:=${UNITDIR:-$T_ROOT/build/tests}/../fuzz}"
CORPUS=$T_ROOT/tests/fuzz/corpus
T=$(t_tmpdir)

for src in "$T_ROOT"/tests/fuzz/fuzz_*.c; do
	h=$(basename "$src" .c)
	bin=$FUZZDIR/$h
	if [ ! -x "$bin" ]; then
		t_fail "$h" "$bin not built (make check builds it)"
		continue
	fi
	if [ ! -d "$CORPUS/$h" ]; then
		t_fail "$h" "no seed corpus $CORPUS/$h"
		continue
	fi
	# The mbox harness's archive goes under our temp folder.
	if FUZZ_TMPDIR=$T "$bin" "$CORPUS"/* >"$T/$h.out" 2>&1; then
		t_pass "$h ($(tail -n 1 "$T/$h.out"))"
	else
		t_fail "$h" "$(grep -m 1 'invariant\|ERROR\|runtime error' \
		    "$T/$h.out" || tail -n 1 "$T/$h.out")"
		sed 's/^/    /' "$T/$h.out" | tail -n 30
	fi
done
t_done
