#!/usr/bin/env bash
# test_rename_clash.sh -- no rename replaces an archive file (issue 13,
# item 4; docs/decisions.md "No rename replaces an archive file").
#
# The scenario: popvault in a container, run by cron. In its own PID
# namespace it is always the same pid (1 here, under
# "unshare --pid --fork --mount-proc"), and the clock stands still
# (POPVAULT_NOW: a host whose clock stopped or stepped back, or just two
# runs within the same second). A tar volume used to be named from the
# time and the pid alone and renamed from NAME.part over whatever was
# there: the second run's volume silently replaced the first one, whose
# messages the first run had already verified and deleted on the server.
# The runs are sequential and take the account lock in turn: no lock can
# prevent this.
#
#   same_pid_same_clock          both runs are pid 1 with the same time:
#                                their volume names differ in nothing else
#   both_volumes_survive         after two --delete=verified runs, each with
#                                new mail, every message the server ever
#                                held is in the tar folder, byte for byte
#                                (tests/lib/check_archive.py), and
#                                "popvault verify" finds every one
#   clash_stops_run_nothing_lost the random part of the name forced equal
#                                too (an LD_PRELOAD getrandom() that
#                                returns zeros): the second run refuses to
#                                replace the volume, exits 74 with the
#                                reason, deletes nothing; the first volume
#                                is intact; a later run archives the rest
#                                and the archive holds every message
#
# On main before the fix the first two fail (the second volume replaces
# the first; a third of the messages are gone from server and archive);
# the third fails because the second run replaces the volume and exits 0.
#
# Needs root (unshare --pid); skipped with a note otherwise. The third case
# needs a C compiler for the shim; skipped with a note without one.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

if [ "$(id -u)" -ne 0 ] || ! unshare --pid --fork --mount-proc true 2>/dev/null; then
	t_skip rename_clash "needs root and unshare --pid"
	t_done
fi

CHECK=$T_ROOT/tests/lib/check_archive.py
EXPECT=$T_ROOT/tests/lib/expect.py
NOW=1790000000		# 2026-09-21T14:13:20Z, for every run
T=$(t_tmpdir)
PW=clash-pw
dv_start "$T/dv" || { t_fail dovecot_start "could not start Dovecot"; t_done; }
URLBASE="localhost:$DV_POP3S_PORT"

# deliver USER SEED START COUNT: new mail; its expected hashes go to
# $T/want-USER (taken now: the runs delete the files).
deliver() {
	local u=$1 md
	md=$(dv_maildir "$u") || return 1
	dv_server_files "$u" | sort >"$T/before-$u"
	python3 "$T_ROOT/tests/gen/genmail.py" --count "$4" --seed "$2" \
	    --start "$3" "$md" >/dev/null || return 1
	dv_fix_perms "$u"
	dv_server_files "$u" | sort | comm -13 "$T/before-$u" - |
	    tr '\n' '\0' | xargs -0 -r python3 "$EXPECT" sha256 \
	    >>"$T/want-$u" || return 1
	[ "$(grep -c . "$T/want-$u")" -ge "$4" ]
}

# nsrun USER VAULT [PRELOAD]: one fetch --delete=verified as pid 1 of a
# new PID namespace, clock frozen; PV_OUT, PV_RC.
nsrun() {
	local u=$1 v=$2 pre=${3:-}
	PV_OUT=$(unshare --pid --fork --mount-proc env \
	    ${pre:+LD_PRELOAD=$pre} POPVAULT_NOW=$NOW \
	    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
	    POPVAULT_PASSWORD=$PW "$POPVAULT" fetch --vault "$v" \
	    --format tar --compress gzip --delete verified \
	    --tls-ca "$DV_CA" "pop3s://$u@$URLBASE" 2>&1)
	PV_RC=$?
}

# The volumes the index points at, one per line.
volumes() {
	pv_sql "$1" "select distinct substr(location, 1, instr(location, ':') - 1)
	    from messages where location is not null order by 1"
}

# archive_has_all USER VAULT: prints why not.
archive_has_all() {
	local ad
	ad=$(pv_account_dir "$2") || { echo "no account folder"; return 1; }
	if ! python3 "$CHECK" tar.gz "$ad" "$T/want-$1" >"$T/check.out" 2>&1; then
		echo "$(grep -c . "$T/want-$1") messages were on the server; the tar folder ($(ls "$ad/tar" | tr '\n' ' ')): $(head -n 4 "$T/check.out" | tr '\n' ' ')"
		return 1
	fi
}

# --- 1. two runs, same pid, same clock ------------------------------------
dv_adduser rex "$PW" || { t_fail adduser rex; t_done; }
: >"$T/want-rex"
V=$T/vault-rex
deliver rex 41 0 6 || { t_fail deliver "genmail"; t_done; }
nsrun rex "$V"
rc1=$PV_RC out1=$PV_OUT
deliver rex 41 6 6 || { t_fail deliver "genmail"; t_done; }
nsrun rex "$V"
rc2=$PV_RC out2=$PV_OUT
if [ "$rc1" -ne 0 ] || [ "$rc2" -ne 0 ]; then
	t_fail two_runs "exit $rc1 then $rc2: $(printf '%s\n%s' "$out1" "$out2" | tail -n 4)"
fi

vols=$(volumes "$V")
stems=$(printf '%s\n' "$vols" | sed -E 's/^([0-9]{8}T[0-9]{6}Z-[0-9]+-[0-9]+).*/\1/' | sort -u)
if [ "$stems" = "$(date -u -d "@$NOW" +%Y%m%dT%H%M%SZ)-1-1" ]; then
	t_pass same_pid_same_clock
else
	t_fail same_pid_same_clock "volume names not from pid 1 at the frozen time: $vols"
fi

why=$(archive_has_all rex "$V") || true
[ "$(dv_server_files rex | wc -l)" -eq 0 ] || why="$why; the server still holds mail (want all deleted)"
vout=$("$POPVAULT" verify --vault "$V" 2>&1)
vrc=$?
[ "$vrc" -eq 0 ] || why="$why; popvault verify exit $vrc: $(printf '%s' "$vout" | head -n 3 | tr '\n' ' ')"
if [ -z "$why" ]; then
	t_pass both_volumes_survive
else
	t_fail both_volumes_survive "${why#; }"
fi

# --- 2. the whole name forced equal: the clash is refused -----------------
if ! command -v cc >/dev/null 2>&1; then
	t_skip clash_stops_run_nothing_lost "no C compiler for the getrandom shim"
	t_done
fi
cat >"$T/zero_random.c" <<'EOF'
/* getrandom(2) that gives zeros: every "random" name part is the same. */
#include <string.h>
#include <sys/types.h>

ssize_t
getrandom(void *buf, size_t len, unsigned int flags)
{
	(void)flags;
	memset(buf, 0, len);
	return (ssize_t)len;
}
EOF
if ! cc -shared -fPIC -o "$T/zero_random.so" "$T/zero_random.c" 2>"$T/cc.err"; then
	t_fail clash_stops_run_nothing_lost "cannot build the shim: $(head -n 2 "$T/cc.err")"
	t_done
fi

dv_adduser sam "$PW" || { t_fail adduser sam; t_done; }
: >"$T/want-sam"
V=$T/vault-sam
why=
deliver sam 43 0 5 || { t_fail deliver "genmail"; t_done; }
nsrun sam "$V" "$T/zero_random.so"
[ "$PV_RC" -eq 0 ] || why="first run: exit $PV_RC: $(printf '%s' "$PV_OUT" | tail -n 2)"
ad=$(pv_account_dir "$V")
first=$(volumes "$V")
sum1=$(sha256sum "$ad/tar/$first" 2>/dev/null | cut -d' ' -f1)
deliver sam 43 5 5 || { t_fail deliver "genmail"; t_done; }
nsrun sam "$V" "$T/zero_random.so"
if [ "$PV_RC" -ne 74 ]; then
	why="$why; the clashing run: exit $PV_RC, want 74: $(printf '%s' "$PV_OUT" | tail -n 2)"
elif ! printf '%s' "$PV_OUT" | grep -q "exists already; not replaced"; then
	why="$why; the clashing run does not say why: $(printf '%s' "$PV_OUT" | tail -n 2)"
fi
[ "$(dv_server_files sam | wc -l)" -eq 5 ] ||
    why="$why; the clashing run deleted mail: $(dv_server_files sam | wc -l) of 5 left on the server"
[ -n "$sum1" ] && [ "$(sha256sum "$ad/tar/$first" 2>/dev/null | cut -d' ' -f1)" = "$sum1" ] ||
    why="$why; the first volume ($first) changed or vanished"
# The next run, without the shim, recovers and archives the rest.
nsrun sam "$V"
[ "$PV_RC" -eq 0 ] || why="$why; the run after: exit $PV_RC: $(printf '%s' "$PV_OUT" | tail -n 2)"
w=$(archive_has_all sam "$V") || why="$why; $w"
[ "$(dv_server_files sam | wc -l)" -eq 0 ] || why="$why; mail left on the server after the last run"
if [ -z "$why" ]; then
	t_pass clash_stops_run_nothing_lost
else
	t_fail clash_stops_run_nothing_lost "${why#; }"
fi

t_done
