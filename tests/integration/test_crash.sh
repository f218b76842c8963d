#!/usr/bin/env bash
# test_crash.sh -- kill popvault (abort() through the crash hook
# POPVAULT_CRASH=POINT[:N]) at every point of the Maildir commit
# protocol, then run it again to completion, and check: every server
# message archived exactly once and byte-identical (I1, I3), no row left
# pending, the index's integrity check ok (I4), tmp/ empty.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

T=$(t_tmpdir)
PW=crash-pw
dv_start "$T/dv" || { t_fail dovecot_start "could not start Dovecot"; t_done; }
dv_adduser carol "$PW" || { t_fail adduser carol; t_done; }
python3 "$T_ROOT/tests/gen/genmail.py" --count 120 --seed 3 \
    --big-every 40 --big-size 2500000 "$(dv_maildir carol)" >/dev/null
dv_fix_perms carol
URL="pop3s://carol@localhost:$DV_POP3S_PORT"
N=$(dv_server_files carol | wc -l)

check_vault() {
	local name=$1 v=$2 md why=""
	md=$(pv_account_dir "$v")/maildir
	pv_compare carol "$md" >"$T/cmp" 2>&1 || why="archive differs: $(tail -2 "$T/cmp")"
	[ "$(pv_sql "$v" "select count(*) from messages where state = 'pending'")" = 0 ] ||
	    why="$why; pending rows left"
	[ "$(pv_sql "$v" "pragma integrity_check")" = ok ] || why="$why; integrity"
	[ "$(pv_sql "$v" "select count(*) from sightings")" = "$N" ] ||
	    why="$why; sightings != $N"
	[ -z "$(ls -A "$md/tmp")" ] || why="$why; tmp/ not empty"
	[ "$(dv_server_files carol | wc -l)" = "$N" ] || why="$why; server lost mail"
	if [ -z "$why" ]; then t_pass "$name"; else t_fail "$name" "$why"; fi
}

for point in retr-begin:30 retr-mid-body:2 before-intent-commit:2 \
    intent-committed:2 maildir-files-synced:2 maildir-first-rename:2 \
    archive-synced:2 batch-committed:2; do
	v=$T/v-${point%%:*}
	POPVAULT_CRASH=$point pv_fetch "$v" "$PW" --batch 25 --tls-ca "$DV_CA" "$URL"
	if [ "$PV_RC" -ne 134 ]; then
		t_fail "crash_at_${point%%:*}" "crash hook did not fire: rc=$PV_RC"
		continue
	fi
	pv_fetch "$v" "$PW" --batch 25 --tls-ca "$DV_CA" "$URL"
	if [ "$PV_RC" -ne 0 ]; then
		t_fail "crash_at_${point%%:*}" "rerun rc=$PV_RC: $PV_OUT"
		continue
	fi
	check_vault "crash_at_${point%%:*}" "$v"
done

# A crash inside recovery, then a clean run: same end state.
v=$T/v-recovery
POPVAULT_CRASH=maildir-first-rename:2 pv_fetch "$v" "$PW" --batch 25 \
    --tls-ca "$DV_CA" "$URL"
POPVAULT_CRASH=recovery pv_fetch "$v" "$PW" --batch 25 --tls-ca "$DV_CA" "$URL"
rc1=$PV_RC
pv_fetch "$v" "$PW" --batch 25 --tls-ca "$DV_CA" "$URL"
if [ "$rc1" -eq 134 ] && [ "$PV_RC" -eq 0 ]; then
	check_vault crash_in_recovery "$v"
else
	t_fail crash_in_recovery "rc=$rc1 then $PV_RC"
fi

# A file in new/ that does not match its pending row is quarantined, not
# deleted, and the message fetched again.
v=$T/v-quarantine
POPVAULT_CRASH=archive-synced:1 pv_fetch "$v" "$PW" --batch 25 \
    --tls-ca "$DV_CA" "$URL"
md=$(pv_account_dir "$v")/maildir
f=$(ls "$md/new" | head -1)
printf 'garbage' >>"$md/new/$f"
pv_fetch "$v" "$PW" --batch 25 --tls-ca "$DV_CA" "$URL"
q=$(ls "$(pv_account_dir "$v")/quarantine" 2>/dev/null | wc -l)
if [ "$PV_RC" -eq 0 ] && [ "$q" -eq 1 ]; then
	check_vault altered_pending_file_quarantined "$v"
else
	t_fail altered_pending_file_quarantined "rc=$PV_RC quarantined=$q"
fi

t_done
