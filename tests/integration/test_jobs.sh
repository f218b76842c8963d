#!/usr/bin/env bash
# test_jobs.sh -- config mode runs its accounts in forked children (-j N,
# cmd/accounts.c); what the children print and what they leave behind.
#
#  1. The plan of "fetch --dry-run" and "prune --plan" with -j 2 over two
#     Dovecot users reaches a pipe and a file whole: every line a run of
#     each account alone prints (a URL run, one process), and nothing
#     else. The children used to _exit() with their stdout buffer unsent.
#  2. kill -9 of the parent while both children wait for a slow server
#     (tests/lib/fakepop.py delays RETR): within a bounded wait no child
#     is left, and the next run succeeds (before, the orphans kept their
#     account locks and the next run stopped with "being archived by
#     another popvault process", exit 75).
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

T=$(t_tmpdir)
. "$T_ROOT/tests/lib/fakepop.sh"

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
dv_stop

# --- 2. kill -9 of the parent ends its children -----------------------------

# A server that holds every RETR of the first two sessions for 40 s (less
# than popvault's 60 s idle timeout: the children wait, they do not time
# out); sessions 3 and 4 answer at once.
python3 - "$T/slow.json" <<'EOF'
import json, sys
msgs = [{"uidl": "k%d" % i, "text": "From: a@example.org\nSubject: m%d\n"
         "Message-ID: <k%d@example.org>\n\nbody %d\n" % (i, i, i)}
        for i in range(1, 4)]
json.dump({"capa": ["UIDL", "USER", "PIPELINING"], "messages": msgs,
           "rules": [{"match": "RETR .*", "session": [1, 2], "delay": 40,
                      "builtin": True}]}, open(sys.argv[1], "w"))
EOF
fp_start slow --mode plain --max-conns 4 --timeout 120 ||
    { t_fail fakepop_start "fakepop did not start"; t_done; }
V2=$T/vault2
C2=$T/config2
(umask 077 && cat >"$C2" <<EOF
[defaults]
host = 127.0.0.1
port = $FP_PORT
tls = none
insecure_plaintext = yes
vault = $V2

[account k1]
user = k1
password_env = PW_ALICE

[account k2]
user = k2
password_env = PW_ALICE
EOF
)
"$POPVAULT" fetch --config "$C2" -j 2 >"$T/killed.out" 2>&1 &
parent=$!
kids=()
# Both children in RETR: the server logged a RETR from each session.
for i in $(seq 1 200); do
	[ "$(grep -cE '^S[12] C plain q=[0-9]+ RETR ' "$FP_LOG")" -ge 2 ] && break
	sleep 0.05
done
mapfile -t kids < <(pgrep -P "$parent")
# Whatever happens below, no orphan outlives the test.
t_on_exit 'for k in "${kids[@]}"; do kill -9 "$k" 2>/dev/null; done'
if [ "${#kids[@]}" = 2 ]; then
	t_pass two_children_waiting_for_the_server
else
	t_fail two_children_waiting_for_the_server "${#kids[@]} children: $(cat "$FP_LOG" | tail -5 | tr '\n' '|')"
fi
kill -9 "$parent"
wait "$parent" 2>/dev/null

# alive PID: a process that has not ended (a zombie has ended).
alive() {
	local st
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ]
}
left=()
for i in $(seq 1 100); do
	left=()
	for k in "${kids[@]}"; do alive "$k" && left+=("$k"); done
	[ "${#left[@]}" = 0 ] && break
	sleep 0.05
done
if [ "${#kids[@]}" -gt 0 ] && [ "${#left[@]}" = 0 ]; then
	t_pass children_end_with_their_parent
else
	t_fail children_end_with_their_parent "still running 5 s after kill -9 of the parent: ${left[*]}"
fi

"$POPVAULT" fetch --config "$C2" -j 2 >"$T/after.out" 2>&1
rc=$?
if [ "$rc" = 0 ] && ! grep -q 'being archived by another' "$T/after.out"; then
	t_pass next_run_succeeds
else
	t_fail next_run_succeeds "exit $rc: $(head -c 300 "$T/after.out" | tr '\n' '|')"
fi
n=$(sqlite3 "$V2/index.sqlite" "select count(*) from sightings" 2>&1)
[ "$n" = 6 ] && t_pass next_run_archives_both_accounts ||
    t_fail next_run_archives_both_accounts "$n sightings, want 6"

t_done
