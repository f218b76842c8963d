#!/usr/bin/env bash
# test_format_crash.sh -- the crash matrix for the archive
# formats: for each format and each crash point, a fresh vault, a run that
# abort()s there (POPVAULT_CRASH=POINT[:N], exit 134), then a clean run
# (exit 0), then: the archive passes tests/lib/check_archive.py (every
# server message stored exactly once, byte-identical, readable by the
# independent readers: I1-I3), no row pending, PRAGMA integrity_check ok,
# every UIDL recorded, the server still holds every message (I4). A
# quarantine file may be left under ACCOUNT/quarantine/ (recovery moves
# uncommitted bytes there instead of destroying them); its count is shown.
#
# Points in RECOVERY_POINTS ("recovery", "mbox-quarantined") are reached
# only while recovering: first a crash at RECOVERY_FIRST leaves something
# to recover, then a run crashes at the point, then the clean run
# (a crash during recovery must itself be recoverable).
#
# A point given as POINT:N that is reached fewer than N times in a run
# (the run ends with 0) is retried in a fresh vault as POINT:1, with a
# note; a point never reached is a failure.
#
# The mailbox: CRASH_N (60) generated messages, every 20th 1.5 MB (so that
# retr-mid-body fires), plus the 15 tests/gen/mboxtraps.py messages unless
# CRASH_TRAPS=0 (their Content-Length mitigation state must survive
# recovery too; CRASH_TRAPS=0 separates crash bugs from trap bugs).
#
# Environment: CRASH_FORMATS, CRASH_POINTS, CRASH_POINTS_FORMAT,
# RECOVERY_POINTS, RECOVERY_FIRST (below), CRASH_N, CRASH_TRAPS,
# MBOX_CL_PADDING (default 1: accept the Content-Length padding lines
# popvault's mbox writer always writes; 0: strict. See test_formats.sh).
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

# Formats, as check_archive.py names them.
CRASH_FORMATS=${CRASH_FORMATS:-"mbox mbox.gz tar.gz maildir eml"}
# Crash points every format passes through.
CRASH_POINTS=${CRASH_POINTS-"retr-begin:30 retr-mid-body:2 before-intent-commit:2 intent-committed:2 archive-synced:2 verify:2 verified-committed:2 batch-committed:2 recovery"}
# Format-specific points, as FORMAT=POINT:N (add new ones here).
CRASH_POINTS_FORMAT=${CRASH_POINTS_FORMAT-"mbox=mbox-written:2 mbox=mbox-quarantined mbox.gz=mbox-written:2 mbox.gz=mbox-quarantined tar.gz=tar-volume-closed:1 tar.gz=tar-volume-renamed:1 maildir=maildir-files-synced:2 maildir=maildir-first-rename:2 eml=eml-files-synced:2 eml=eml-first-rename:2"}
# Points reached only during recovery, and the crash that leaves work for
# recovery before them.
RECOVERY_POINTS=${RECOVERY_POINTS-"recovery mbox-quarantined"}
RECOVERY_FIRST=${RECOVERY_FIRST:-archive-synced:2}
CRASH_N=${CRASH_N:-60}
CRASH_TRAPS=${CRASH_TRAPS:-1}
# popvault pads before a separator that lands on a forged Content-Length
# target (docs/formats.md); the checker accepts exactly that padding.
MBOX_CL_PADDING=${MBOX_CL_PADDING:-1}
BATCH=20

CHECK=$T_ROOT/tests/lib/check_archive.py
T=$(t_tmpdir)
PW=fcrash-pw
dv_start "$T/dv" || { t_fail dovecot_start "could not start Dovecot"; t_done; }
dv_adduser dora "$PW" || { t_fail adduser dora; t_done; }
python3 "$T_ROOT/tests/gen/genmail.py" --count "$CRASH_N" --seed 5 \
    --big-every 20 --big-size 1500000 "$(dv_maildir dora)" >/dev/null ||
    { t_fail generate "genmail failed"; t_done; }
if [ "$CRASH_TRAPS" = 1 ]; then
	python3 "$T_ROOT/tests/gen/mboxtraps.py" "$(dv_maildir dora)" >/dev/null ||
	    { t_fail generate "mboxtraps failed"; t_done; }
fi
dv_fix_perms dora
URL="pop3s://dora@localhost:$DV_POP3S_PORT"
dv_server_files dora >"$T/list"
N=$(wc -l <"$T/list")


run() {	# FORMAT VAULT [CRASH_SPEC]
	# shellcheck disable=SC2046
	POPVAULT_CRASH=${3:-} pv_fetch "$2" "$PW" $(pv_fmt_args "$1") \
	    --batch "$BATCH" --tls-ca "$DV_CA" "$URL"
}

# crash FORMAT VAULT SPEC: a run that must abort at SPEC's point. Sets WHY
# on failure; sets SKIPPED=1 if the point was reached too rarely (exit 0).
crash() {
	local f=$1 v=$2 spec=$3 point=${3%%:*}
	WHY='' SKIPPED=0
	run "$f" "$v" "$spec"
	if [ "$PV_RC" -eq 0 ]; then
		SKIPPED=1
		WHY="POPVAULT_CRASH=$spec: run ended normally (point not reached)"
	elif [ "$PV_RC" -ne 134 ] ||
	    ! printf '%s' "$PV_OUT" | grep -qF "crash hook: abort at $point"; then
		WHY="POPVAULT_CRASH=$spec: rc=$PV_RC (want 134 from the hook): $(printf '%s' "$PV_OUT" | tail -n 2)"
	fi
}

check_vault() {	# NAME FORMAT VAULT
	local name=$1 f=$2 v=$3 ad d why="" q opts
	d=$(pv_sql "$v" "select dir from accounts where name like 'dora@%'")
	ad=$v/accounts/$d
	if [ -z "$d" ] || [ ! -d "$ad" ]; then
		t_fail "$name" "no account folder"
		return
	fi
	opts=
	case "$f" in mbox*) [ "$MBOX_CL_PADDING" = 1 ] && opts=--cl-padding ;; esac
	# shellcheck disable=SC2086
	python3 "$CHECK" $opts "$f" "$ad" "$T/list" >"$T/check.out" 2>&1 ||
	    why="archive: $(head -n 12 "$T/check.out")"
	[ "$(pv_sql "$v" "select count(*) from messages where state = 'pending'")" = 0 ] ||
	    why="$why; pending rows left"
	[ "$(pv_sql "$v" "pragma integrity_check")" = ok ] || why="$why; integrity_check"
	[ "$(pv_sql "$v" "select count(*) from sightings")" = "$N" ] ||
	    why="$why; sightings $(pv_sql "$v" "select count(*) from sightings") != $N"
	[ "$(dv_server_files dora | wc -l)" = "$N" ] || why="$why; server lost mail"
	q=$(find "$ad/quarantine" -type f 2>/dev/null | wc -l)
	[ "$q" -eq 0 ] || echo "note: $name: $q quarantine file(s)"
	if [ -z "$why" ]; then t_pass "$name"; else t_fail "$name" "$why"; fi
}

case_one() {	# FORMAT SPEC
	local f=$1 spec=$2 point=${2%%:*} v name
	name="${f}_crash_at_${point}"
	v=$T/v-$f-$point
	if [[ " $RECOVERY_POINTS " == *" $point "* ]]; then
		crash "$f" "$v" "$RECOVERY_FIRST"
		if [ -n "$WHY" ] && [ "$SKIPPED" = 1 ] && [ "$RECOVERY_FIRST" != "${RECOVERY_FIRST%%:*}" ]; then
			rm -rf "$v"
			crash "$f" "$v" "${RECOVERY_FIRST%%:*}:1"
		fi
		[ -z "$WHY" ] || { t_fail "$name" "first crash: $WHY"; return; }
		crash "$f" "$v" "$spec"
		[ -z "$WHY" ] || { t_fail "$name" "$WHY"; return; }
	else
		crash "$f" "$v" "$spec"
		if [ "$SKIPPED" = 1 ] && [ "$spec" != "$point" ] && [ "$spec" != "$point:1" ]; then
			echo "note: $name: $spec not reached; crashing at $point:1"
			rm -rf "$v"
			crash "$f" "$v" "$point:1"
		fi
		[ -z "$WHY" ] || { t_fail "$name" "$WHY"; return; }
	fi
	run "$f" "$v"
	if [ "$PV_RC" -ne 0 ]; then
		t_fail "$name" "clean rerun rc=$PV_RC: $(printf '%s' "$PV_OUT" | tail -n 3)"
		return
	fi
	check_vault "$name" "$f" "$v"
}

for f in $CRASH_FORMATS; do
	points=$CRASH_POINTS
	for e in $CRASH_POINTS_FORMAT; do
		[ "${e%%=*}" = "$f" ] && points="$points ${e#*=}"
	done
	for spec in $points; do
		case_one "$f" "$spec"
	done
done

t_done
