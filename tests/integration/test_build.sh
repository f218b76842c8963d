#!/usr/bin/env bash
# test_build.sh -- the build and the binary it ships (docs/decisions.md,
# "Test hooks"):
#
#   release_*     the binary "make install" installs (into a scratch
#                 DESTDIR) holds none of the test hooks' variable names,
#                 and a run against the fake server with POPVAULT_CRASH,
#                 POPVAULT_NOW and POPVAULT_TEST_PAUSE set archives as if
#                 they were not; the same run of the test binary
#                 (POPVAULT) aborts, dates its tar volume 1970 and
#                 pauses, so the hooks are on that path.
#
# Environment: POPVAULT (the test binary), POPVAULT_RELEASE (the release
# binary; default: popvault beside POPVAULT). Needs make, python3 (the
# fake server) and strings.
set -u
. "$(dirname "$0")/../lib/common.sh"

if [ -z "${POPVAULT:-}" ] || [ ! -x "$POPVAULT" ]; then
	t_fail setup "POPVAULT must name the test binary"
	t_done
fi
BDIR=$(dirname "$POPVAULT")
REL=${POPVAULT_RELEASE:-$BDIR/popvault}
if [ ! -x "$REL" ]; then
	t_fail setup "no release binary $REL (POPVAULT_RELEASE)"
	t_done
fi
T=$(t_tmpdir) || { t_fail tmpdir "t_tmpdir failed"; t_done; }
. "$T_ROOT/tests/lib/fakepop.sh"

# --- release: installed binary without hooks ----------------------------
d=$T/destdir
if out=$(make -s -C "$T_ROOT" install DESTDIR="$d" PREFIX=/usr \
    BUILD="$BDIR" 2>&1) && cmp -s "$d/usr/bin/popvault" "$REL"; then
	t_pass release_installed_is_the_release_binary
else
	t_fail release_installed_is_the_release_binary "$out"
fi
INST=$d/usr/bin/popvault
[ -x "$INST" ] || INST=$REL
names=$(strings "$INST" | grep -E 'POPVAULT_(CRASH|NOW|TEST_PAUSE)' | head -3)
if [ -z "$names" ] &&
    strings "$POPVAULT" | grep -q 'POPVAULT_CRASH'; then
	t_pass release_has_no_hook_names
else
	t_fail release_has_no_hook_names "in the installed binary: ${names:-none}; in the test binary: $(strings "$POPVAULT" | grep -c 'POPVAULT_CRASH')"
fi

# One message; three sessions: the release run and two of the test binary.
printf '%s\n' '{"messages": [{"uidl": "u1", "text": "From: a@example.org\nMessage-ID: <1@example.org>\nSubject: hooks\n\nbody\n"}]}' \
    >"$T/fp.json"
if ! fp_start fp --mode plain --max-conns 3 --timeout 60; then
	t_fail release_fakepop "the fake server did not start"
	t_done
fi
URL="pop3://u@127.0.0.1:$FP_PORT"
# hooked_run NAME BINARY [VAR=VALUE...]: a tar fetch into $T/NAME.v with
# those variables; exit status in RC, output in $T/NAME.out.
hooked_run() {
	local name=$1 bin=$2
	shift 2
	env POPVAULT_PASSWORD=pw "$@" "$bin" fetch --vault "$T/$name.v" \
	    --format tar --insecure-plaintext "$URL" >"$T/$name.out" 2>&1
	RC=$?
}
volume() {	# NAME: the file names in the vault's tar folders
	find "$T/$1.v/accounts" -path '*/tar/*' -type f -printf '%f\n' 2>/dev/null
}
mkdir -p "$T/pause"
: >"$T/pause/go"	# a pause that happens returns at once
hooked_run rel "$INST" POPVAULT_CRASH=batch-committed POPVAULT_NOW=86400 \
    POPVAULT_TEST_PAUSE="$T/pause" POPVAULT_TEST_PAUSE_AT=verify
vol=$(volume rel)
if [ "$RC" -eq 0 ] && ! grep -q 'crash hook' "$T/rel.out" &&
    [ ! -e "$T/pause/ready" ] && [ -n "$vol" ] &&
    case "$vol" in 19700102T*) false ;; *) true ;; esac; then
	t_pass release_ignores_crash_now_and_pause_hooks
else
	t_fail release_ignores_crash_now_and_pause_hooks "rc=$RC volume=${vol:-none} ready=$([ -e "$T/pause/ready" ] && echo yes || echo no): $(tail -n 3 "$T/rel.out")"
fi
# The controls: the test binary reacts to each hook on that path.
hooked_run testnow "$POPVAULT" POPVAULT_NOW=86400 \
    POPVAULT_TEST_PAUSE="$T/pause" POPVAULT_TEST_PAUSE_AT=verify
rc_now=$RC
vol=$(volume testnow)
hooked_run testcrash "$POPVAULT" POPVAULT_CRASH=batch-committed
if grep -q 'crash hook: abort at batch-committed' "$T/testcrash.out" &&
    [ "$rc_now" -eq 0 ] && [ -e "$T/pause/ready" ] &&
    case "$vol" in 19700102T*) true ;; *) false ;; esac; then
	t_pass release_control_test_binary_hooks_act
else
	t_fail release_control_test_binary_hooks_act "crash: $(tail -n 1 "$T/testcrash.out"); now run rc=$rc_now volume=${vol:-none} ready=$([ -e "$T/pause/ready" ] && echo yes || echo no)"
fi

t_done
