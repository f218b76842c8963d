#!/usr/bin/env bash
# test_dryrun.sh -- "fetch --dry-run" and "prune --plan" write nothing at
# all (issue 13, section 7): no schema migration, no folder, no lock file,
# no row, no checkpoint, no side file of SQLite's. Before and after each
# dry run, every entry of the vault tree is listed with its type, mode
# and size, and every file hashed (the index and its -wal and -shm files
# included); the two listings must be equal. The plan itself is checked
# too, so that "nothing written" never comes from "nothing read".
#
#   1. no vault yet (URL and config mode): nothing is created
#   2. a vault made by a real fetch, 10 of 20 messages archived, its
#      lock file removed by hand: the plan says 10 to archive, 10 to
#      delete; no lock file, no mbox folder for --format mbox
#   3. the same in config mode; prune takes the policy from the file
#      when --delete is not given, and refuses an account without one
#   4. an index at schema version 2 (older than this popvault's): the dry
#      run works on a migrated copy; the file stays at version 2
#   5. a newer schema: refused (exit 74), nothing changed
#   6. a write-ahead log left by a crash (with its -shm file): read, not
#      checkpointed (the plan sees a change that is only in the log)
#   7. a write-ahead log without its -shm file: refused with a clear
#      message (exit 74), nothing changed
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

T=$(t_tmpdir)
PW=pw-alice-dry
dv_start "$T/dv" || { t_fail dovecot_start "could not start Dovecot"; t_done; }
dv_adduser alice "$PW" || { t_fail adduser alice; t_done; }
MD=$(dv_maildir alice)
python3 "$T_ROOT/tests/gen/genmail.py" --count 10 --seed 9 "$MD" >/dev/null ||
    { t_fail genmail "generator failed"; t_done; }
dv_fix_perms alice
URL="pop3s://alice@localhost:$DV_POP3S_PORT"
export PW_ALICE=$PW

# snap DIR: every entry below DIR (type, mode, size, name) and the SHA-256
# of every file; "absent" when DIR does not exist.
snap() {
	[ -e "$1" ] || { echo absent; return; }
	(cd "$1" && find . -printf '%y %m %s %p\n' | sort &&
	    find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}

# dry NAME VAULT CMD [ARGS...]: run popvault CMD on VAULT (URL mode) with
# ARGS and the URL; output in $T/NAME.out, exit status in $RC.
dry() {
	local name=$1 vault=$2 cmd=$3
	shift 3
	POPVAULT_PASSWORD=$PW "$POPVAULT" "$cmd" --vault "$vault" \
	    --tls-ca "$DV_CA" "$@" "$URL" >"$T/$name.out" 2>&1
	RC=$?
}

# cfg FILE VAULT: a config file with the one account "alice".
cfg() {
	(umask 077 && printf '[defaults]\nhost = localhost\nport = %s\ntls_ca = %s\nvault = %s\n\n[account alice]\nuser = alice\npassword_env = PW_ALICE\n' \
	    "$DV_POP3S_PORT" "$DV_CA" "$2" >"$1")
}

# dry_cfg NAME CONFIG CMD [ARGS...]: the same in config mode.
dry_cfg() {
	local name=$1 conf=$2 cmd=$3
	shift 3
	"$POPVAULT" "$cmd" --config "$conf" "$@" >"$T/$name.out" 2>&1
	RC=$?
}

# unchanged NAME VAULT BEFORE [WANT_RC [ARCHIVE_LINES [DELETE_LINES]]]:
# the vault is as BEFORE (a snap), the last run exited WANT_RC (default
# 0) and planned that many archive and delete lines (unless "" or not
# given; prune --plan says what a fetch would archive too).
unchanged() {
	local name=$1 v=$2 before=$3 want=${4:-0} na=${5:-} nd=${6:-} why=""
	local a d
	[ "$(snap "$v")" = "$before" ] ||
		why="vault changed: $(diff <(printf '%s\n' "$before") <(snap "$v") | grep '^[<>]' | head -4 | tr '\n' '|')"
	[ "$RC" = "$want" ] || why="$why exit $RC, want $want;"
	a=$(grep -c '^archive [^ ]* (' "$T/$name.out")
	d=$(grep -c '^delete [^ ]*: ' "$T/$name.out")
	[ -z "$na" ] || [ "$a" = "$na" ] || why="$why $a archive lines, want $na;"
	[ -z "$nd" ] || [ "$d" = "$nd" ] || why="$why $d delete lines, want $nd;"
	if [ -z "$why" ]; then
		t_pass "$name"
	else
		t_fail "$name" "$why output: $(head -c 300 "$T/$name.out" | tr '\n' '|')"
	fi
}

# --- 1. no vault yet --------------------------------------------------------

V1=$T/none
dry no_vault_fetch_dry_run "$V1" fetch --dry-run
unchanged no_vault_fetch_dry_run "$V1" absent 0 10 0
dry no_vault_prune_plan "$V1" prune --plan --delete=verified
unchanged no_vault_prune_plan "$V1" absent 0 "" 0
cfg "$T/c1" "$T/none-cfg"
dry_cfg no_vault_config_fetch_dry_run "$T/c1" fetch --dry-run -j 2
unchanged no_vault_config_fetch_dry_run "$T/none-cfg" absent 0 10 0
dry_cfg no_vault_config_prune_plan "$T/c1" prune --plan --delete=verified
unchanged no_vault_config_prune_plan "$T/none-cfg" absent 0 "" 0

# --- 2. a vault made by a real fetch ----------------------------------------

V=$T/vault
pv_fetch "$V" "$PW" --tls-ca "$DV_CA" "$URL"
[ "$PV_RC" = 0 ] && [ "$(pv_field archived)" = 10 ] &&
    t_pass real_fetch_of_10 ||
    t_fail real_fetch_of_10 "exit $PV_RC: $PV_OUT"
python3 "$T_ROOT/tests/gen/genmail.py" --count 10 --seed 9 --start 10 \
    "$MD" >/dev/null
dv_fix_perms alice
rm -f "$(pv_account_dir "$V")/lock"
before=$(snap "$V")
dry existing_fetch_dry_run "$V" fetch --dry-run
unchanged existing_fetch_dry_run "$V" "$before" 0 10 0
dry existing_fetch_dry_run_mbox "$V" fetch --dry-run --format mbox
unchanged existing_fetch_dry_run_mbox "$V" "$before" 0 10 0
dry existing_fetch_dry_run_delete "$V" fetch --dry-run --delete=verified
unchanged existing_fetch_dry_run_delete "$V" "$before" 0 10 10
dry existing_prune_plan "$V" prune --plan --delete=verified
unchanged existing_prune_plan "$V" "$before" 0 "" 10
dry existing_prune_plan_older "$V" prune --plan \
    --delete=older-than=1d --age-by=date
unchanged existing_prune_plan_older "$V" "$before" 0
n=$(dv_server_files alice | wc -l)
[ "$n" = 20 ] && t_pass server_untouched || t_fail server_untouched "$n of 20"
# Keep a copy with its lock file for the cases below.
pv_fetch "$T/vault-base" "$PW" --tls-ca "$DV_CA" "$URL"

# --- 3. config mode -----------------------------------------------------

VC=$T/vault-cfg
cfg "$T/c3" "$VC"
"$POPVAULT" fetch --config "$T/c3" -q >"$T/c3fetch.out" 2>&1 ||
    t_fail config_real_fetch "$(head -c 300 "$T/c3fetch.out")"
python3 "$T_ROOT/tests/gen/genmail.py" --count 5 --seed 9 --start 20 \
    "$MD" >/dev/null
dv_fix_perms alice
before=$(snap "$VC")
dry_cfg config_fetch_dry_run "$T/c3" fetch --dry-run -j 2
unchanged config_fetch_dry_run "$VC" "$before" 0 5 0
dry_cfg config_prune_plan "$T/c3" prune --plan --delete=verified -j 2
unchanged config_prune_plan "$VC" "$before" 0 "" 20
# The policy may come from the file instead of --delete (popvault(1));
# an account left without one is refused before anything is read.
cp "$T/c3" "$T/c3del" && printf 'delete = verified\n' >>"$T/c3del"
dry_cfg config_prune_plan_policy_from_file "$T/c3del" prune --plan -j 2
unchanged config_prune_plan_policy_from_file "$VC" "$before" 0 "" 20
dry_cfg config_prune_plan_no_policy "$T/c3" prune --plan
unchanged config_prune_plan_no_policy "$VC" "$before" 64 "" 0
grep -q 'account alice: prune needs a delete policy' \
    "$T/config_prune_plan_no_policy.out" &&
    t_pass config_prune_no_policy_says_why ||
    t_fail config_prune_no_policy_says_why "$(head -c 300 "$T/config_prune_plan_no_policy.out")"

# --- 4. an older schema -------------------------------------------------

V4=$T/vault-v2
cp -a "$T/vault-base" "$V4"
sqlite3 "$V4/index.sqlite" "ALTER TABLE messages DROP COLUMN date_epoch;
    ALTER TABLE messages DROP COLUMN variant_of;
    ALTER TABLE messages DROP COLUMN replaced_by;
    ALTER TABLE sightings DROP COLUMN proven;
    ALTER TABLE sightings DROP COLUMN odd_size;
    ALTER TABLE messages DROP COLUMN head_sha256;
    DROP TABLE origins; DROP TABLE foreign_uidls;
    DROP TABLE deliveries; DROP TABLE destinations;
    ALTER TABLE accounts DROP COLUMN next_login_at;
    PRAGMA user_version = 2;" || t_fail schema_v2 "sqlite3 failed"
before=$(snap "$V4")
dry old_schema_fetch_dry_run "$V4" fetch --dry-run
unchanged old_schema_fetch_dry_run "$V4" "$before" 0 5 0
dry old_schema_prune_plan "$V4" prune --plan --delete=older-than=1d \
    --age-by=date
unchanged old_schema_prune_plan "$V4" "$before" 0 "" 0
dry old_schema_prune_plan_verified "$V4" prune --plan --delete=verified
unchanged old_schema_prune_plan_verified "$V4" "$before" 0 "" 20
v=$(sqlite3 "$V4/index.sqlite" "PRAGMA user_version")
[ "$v" = 2 ] && t_pass old_schema_not_migrated ||
    t_fail old_schema_not_migrated "user_version $v"

# --- 5. a newer schema --------------------------------------------------

V5=$T/vault-v99
cp -a "$T/vault-base" "$V5"
sqlite3 "$V5/index.sqlite" "PRAGMA user_version = 99"
before=$(snap "$V5")
dry newer_schema_refused "$V5" fetch --dry-run
unchanged newer_schema_refused "$V5" "$before" 74
grep -q 'newer than this popvault' "$T/newer_schema_refused.out" &&
    t_pass newer_schema_says_why ||
    t_fail newer_schema_says_why "$(head -c 300 "$T/newer_schema_refused.out")"

# --- 6. a write-ahead log left by a crash -------------------------------

# crash_log VAULT: a committed change (one sighting forgotten) that is
# only in the log: the writer dies without closing, as with kill -9.
crash_log() {
	python3 - "$1/index.sqlite" <<'EOF'
import os, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA wal_autocheckpoint = 0")
db.execute("DELETE FROM sightings WHERE uidl = (SELECT min(uidl) FROM sightings)")
db.commit()
os._exit(0)
EOF
}
V6=$T/vault-wal
cp -a "$T/vault-base" "$V6"
crash_log "$V6"
if [ -s "$V6/index.sqlite-wal" ] && [ -e "$V6/index.sqlite-shm" ]; then
	t_pass crash_left_a_log
else
	t_fail crash_left_a_log "$(ls -l "$V6")"
fi
before=$(snap "$V6")
dry leftover_log_fetch_dry_run "$V6" fetch --dry-run
# 5 new, and the one whose sighting only the log forgot.
unchanged leftover_log_fetch_dry_run "$V6" "$before" 0 6 0
dry leftover_log_prune_plan "$V6" prune --plan --delete=verified
unchanged leftover_log_prune_plan "$V6" "$before" 0 "" 19

# --- 7. a log without its shared-memory file ----------------------------

V7=$T/vault-wal-noshm
cp -a "$T/vault-base" "$V7"
crash_log "$V7"
rm -f "$V7/index.sqlite-shm"
before=$(snap "$V7")
dry log_without_shm_refused "$V7" fetch --dry-run
unchanged log_without_shm_refused "$V7" "$before" 74
grep -q 'shared-memory file' "$T/log_without_shm_refused.out" &&
    t_pass log_without_shm_says_why ||
    t_fail log_without_shm_says_why "$(head -c 300 "$T/log_without_shm_refused.out")"

t_done
