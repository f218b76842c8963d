#!/usr/bin/env bash
# run.sh -- the mutation check ("make mutants"): for each mutant of
# tests/mutants/mutants.txt (a guard of the delete path, recovery,
# verification or deduplication turned off), apply it to a copy of the
# tree, rebuild, run the tests named for it, and report
#
#   KILLED    a named test failed: the guard is tested
#   SURVIVED  every named test passed without the guard
#   STALE     the guard is not in the code exactly once as written
#   BROKEN    the mutated tree does not build
#
# The real sources are never touched: the working tree (with uncommitted
# changes, without ignored files) is copied to MUTANTS_DIR/tree and built
# there from scratch; each mutant edits one file of that copy and the
# file is put back afterwards. First the named tests run on the unmutated
# copy: a test that fails there would kill every mutant, so the check
# stops. Exit status 0 only if every mutant was KILLED.
#
# Environment: MUTANTS (names to run, space-separated; default all),
# MUTANTS_LIST (default tests/mutants/mutants.txt), MUTANTS_DIR (default
# build-mutants), MUTANTS_BASELINE=0 (skip the unmutated run),
# MUTANT_TIMEOUT (seconds per mutant's tests, default 7200: a mutant
# that makes a test hang counts as killed, "timed out"), MAKE_JOBS
# (default 2), JOBS (passed on to tests/run.sh), FAILFAST (default 1: a
# mutant's tests stop at the first failure, which kills it; 0 runs them
# all, to see every test that notices it). Logs: MUTANTS_DIR/NAME.log.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LIST=${MUTANTS_LIST:-$ROOT/tests/mutants/mutants.txt}
OUT=${MUTANTS_DIR:-$ROOT/build-mutants}
MUT="python3 $ROOT/tests/mutants/mutate.py"
TREE=$OUT/tree
: "${MAKE_JOBS:=2}"
: "${MUTANT_TIMEOUT:=7200}"

names=$($MUT list "$LIST") || exit 2
if [ -n "${MUTANTS:-}" ]; then
	for m in $MUTANTS; do
		printf '%s\n' "$names" | grep -qx -- "$m" ||
		    { echo "mutants: no mutant named $m in $LIST" >&2; exit 2; }
	done
	names=$MUTANTS
fi

# A fresh copy of the working tree: tracked and untracked files, not the
# ignored ones (build folders).
mkdir -p "$OUT" || exit 2
rm -rf "$TREE"
mkdir -p "$TREE" || exit 2
# shellcheck disable=SC2016  # the inner sh expands $f
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
    xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
    tar --null -T - -cf -) | tar -xf - -C "$TREE" ||
    { echo "mutants: cannot copy the tree to $TREE" >&2; exit 2; }

build() {	# LOG: build the binary, unit tests and fuzz replayers of TREE
	make -C "$TREE" -j"$MAKE_JOBS" build/popvault build/popvault-test \
	    unit fuzz-bin \
	    >>"$1" 2>&1
}
runtests() {	# LOG LIMIT TESTS...: tests/run.sh of TREE on those tests,
	# stopped after LIMIT seconds
	local log=$1 limit=$2
	shift 2
	POPVAULT=$TREE/build/popvault-test \
	    POPVAULT_RELEASE=$TREE/build/popvault UNITDIR=$TREE/build/tests \
	    TIMES=$OUT/test-times TESTS="$*" FAILFAST=${FAILFAST:-1} \
	    timeout -k 30 "$limit" "$TREE/tests/run.sh" >>"$log" 2>&1
}

stale=0
for m in $names; do
	$MUT check "$LIST" "$TREE" "$m" | grep '^STALE' && stale=$((stale + 1))
done

echo "mutants: building $TREE"
: >"$OUT/build.log"
if ! build "$OUT/build.log"; then
	echo "mutants: the unmutated tree does not build (see $OUT/build.log)"
	tail -n 20 "$OUT/build.log"
	exit 1
fi

all=""
for m in $names; do
	all="$all $($MUT get "$LIST" "$m" tests)"
done
# shellcheck disable=SC2086  # split into names
all=$(printf '%s\n' $all | sort -u | tr '\n' ' ')
if [ "${MUTANTS_BASELINE:-1}" != 0 ]; then
	echo "mutants: the tests on the unmutated tree: $all"
	: >"$OUT/baseline.log"
	# shellcheck disable=SC2086
	# No time limit but the tests' own: nothing is mutated here.
	if ! FAILFAST=0 runtests "$OUT/baseline.log" 86400 $all; then
		echo "mutants: the tests fail without any mutant; fix that first:"
		grep -E '^(integration|unit)/|^    FAIL ' "$OUT/baseline.log" |
		    grep -v ' 0 failed' | head -n 20
		exit 1
	fi
	tail -n 1 "$OUT/baseline.log"
fi

killed=0 survived=0 broken=0
for m in $names; do
	log=$OUT/$m.log
	: >"$log"
	file=$($MUT get "$LIST" "$m" file)
	tests=$($MUT get "$LIST" "$m" tests)
	if $MUT check "$LIST" "$TREE" "$m" | grep -q "^STALE"; then
		echo "STALE     $m"
		continue
	fi
	cp -p "$TREE/$file" "$OUT/saved" || exit 2
	$MUT apply "$LIST" "$TREE" "$m" >>"$log" 2>&1 || exit 2
	{ echo "mutant $m: $file"; diff -u "$OUT/saved" "$TREE/$file"; } >>"$log"
	if ! build "$log"; then
		echo "BROKEN    $m (does not build: $log)"
		broken=$((broken + 1))
	else
		# shellcheck disable=SC2086
		runtests "$log" "$MUTANT_TIMEOUT" $tests
		rc=$?
		if [ "$rc" -eq 0 ]; then
			echo "SURVIVED  $m: $tests all pass ($($MUT get "$LIST" "$m" why))"
			survived=$((survived + 1))
		elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			echo "KILLED    $m: timed out after $MUTANT_TIMEOUT s"
			killed=$((killed + 1))
		else
			by=$(grep -E '^(integration|unit)/.* [1-9][0-9]* failed' \
			    "$log" | awk '{ print $1 }' | tr '\n' ' ')
			echo "KILLED    $m: by ${by:-?}"
			killed=$((killed + 1))
		fi
	fi
	# Put the file back, newer than the mutant's objects.
	cat "$OUT/saved" >"$TREE/$file" && touch "$TREE/$file" || exit 2
done
echo "$killed killed, $survived survived, $stale stale, $broken broken"
[ "$survived" -eq 0 ] && [ "$stale" -eq 0 ] && [ "$broken" -eq 0 ]
