#!/usr/bin/env bash
# test_jobs.sh -- config mode runs its accounts in forked children (-j N,
# cmd/accounts.c); what the children print and what they leave behind.
#
#  1. The plan of "fetch --dry-run" and "prune --plan" with -j 2 over two
#     Dovecot users reaches a pipe and a file whole: every line a run of
#     each account alone prints (a URL run, one process), and nothing
#     else. The children used to _exit() with their stdout buffer unsent.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

T=$(t_tmpdir)

# --- 1. plans of parallel accounts, to a pipe and to a file -----------------

dv_start "$T/dv" || { t_fail dovecot_start "could not start Dovecot"; t_done; }
dv_adduser alice pw-alice-1 || { t_fail adduser alice; t_done; }
dv_adduser bob pw-bob-2 || { t_fail adduser bob; t_done; }
python3 "$T_ROOT/tests/gen/genmail.py" --count 40 --seed 3 \
    "$(dv_maildir alice)" >/dev/null &&
    python3 "$T_ROOT/tests/gen/genmail.py" --count 30 --seed 4 \
    "$(dv_maildir bob)" >/dev/null ||
    { t_fail genmail "generator failed"; t_done; }
dv_fix_perms alice
dv_fix_perms bob
export PW_ALICE=pw-alice-1 PW_BOB=pw-bob-2
V=$T/vault
C=$T/config
(umask 077 && cat >"$C" <<EOF
[defaults]
host = localhost
port = $DV_POP3S_PORT
tls_ca = $DV_CA
vault = $V

[account alice]
user = alice
password_env = PW_ALICE

[account bob]
user = bob
password_env = PW_BOB
EOF
)

# The reference: each account alone, as a URL run (one process, whose
# exit() flushes). Same server, same UIDLs, same sizes.
for u in alice bob; do
	pw=PW_${u^^}
	POPVAULT_PASSWORD=${!pw} "$POPVAULT" fetch --vault "$T/ref-$u" \
	    --dry-run --tls-ca "$DV_CA" \
	    "pop3s://$u@localhost:$DV_POP3S_PORT" >"$T/ref-$u.out" 2>&1
done
grep '^archive ' "$T/ref-alice.out" "$T/ref-bob.out" -h | sort >"$T/want"
n=$(wc -l <"$T/want")
[ "$n" = 70 ] && t_pass reference_plan_has_70_lines ||
    t_fail reference_plan_has_70_lines "$n lines: $(head -c 300 "$T/ref-alice.out")"

# plan_check NAME FILE WANT: FILE's plan lines are exactly WANT's.
plan_check() {
	local got
	got=$(grep -E '^(archive|delete) ' "$2" | sort)
	if [ "$got" = "$(cat "$3")" ]; then
		t_pass "$1"
	else
		t_fail "$1" "$(printf '%s\n' "$got" | grep -c .) plan lines, want $(grep -c . "$3"); output: $(head -c 300 "$2" | tr '\n' '|')"
	fi
}

"$POPVAULT" fetch --config "$C" -j 2 --dry-run 2>"$T/dry-pipe.err" |
    cat >"$T/dry-pipe.out"
plan_check dry_run_j2_plan_through_a_pipe "$T/dry-pipe.out" "$T/want"
"$POPVAULT" fetch --config "$C" -j 2 --dry-run >"$T/dry-file.out" \
    2>"$T/dry-file.err"
plan_check dry_run_j2_plan_into_a_file "$T/dry-file.out" "$T/want"
[ ! -e "$V" ] && t_pass dry_runs_made_no_vault ||
    t_fail dry_runs_made_no_vault "$(find "$V" | head -5)"

"$POPVAULT" fetch --config "$C" -j 2 -q >"$T/fetch.out" 2>&1
rc=$?
[ "$rc" = 0 ] && t_pass fetch_j2 || t_fail fetch_j2 "exit $rc: $(head -c 300 "$T/fetch.out")"

sed 's/^archive \([^ ]*\) .*/delete \1: verified/' "$T/want" | sort >"$T/want-del"
"$POPVAULT" prune --config "$C" -j 2 --plan --delete=verified \
    2>"$T/plan-pipe.err" | cat >"$T/plan-pipe.out"
plan_check prune_plan_j2_through_a_pipe "$T/plan-pipe.out" "$T/want-del"
"$POPVAULT" prune --config "$C" -j 2 --plan --delete=verified \
    >"$T/plan-file.out" 2>"$T/plan-file.err"
plan_check prune_plan_j2_into_a_file "$T/plan-file.out" "$T/want-del"
n=$(dv_server_files alice | wc -l)
[ "$n" = 40 ] && t_pass plan_deleted_nothing ||
    t_fail plan_deleted_nothing "alice has $n of 40 messages"
t_done
