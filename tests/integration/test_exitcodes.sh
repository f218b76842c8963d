#!/usr/bin/env bash
# test_exitcodes.sh -- every exit status of popvault(1) EXIT STATUS, each
# caused for real through the binary: against a private Dovecot, and
# tests/lib/fakepop.py only for what Dovecot will not do (a server that
# speaks no POP3, [IN-USE]). One named test per case, "exit_N_what"; where
# it is cheap, a test also checks that the run did what its code promises
# (75 and 77 change no vault row, 80 loses nothing and the next run
# finishes the job, 74 deletes nothing). --json is checked for 1 and 77:
# the top-level "exit" is the process status, each account's "exit" its own.
#
# Last, exit_codes_all_documented_codes_tested reads the EXIT STATUS list
# of docs/popvault.1 and fails when a code listed there has no test here,
# or a code tested here is not listed there.
#
# Environment: KEEP=1 keeps the temp folder.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

GENMAIL=$T_ROOT/tests/gen/genmail.py
MAN=$T_ROOT/docs/popvault.1
T=$(t_tmpdir)
PW=exit-Pw-4
START=$SECONDS

# --- helpers ----------------------------------------------------------------

# ck NAME RC [WHY]: PASS when RC is the N of NAME (exit_N_...) and WHY is
# empty. Records N as tested, pass or fail.
TESTED=" "
ck() {
	local name=$1 rc=$2 why=${3:-} want
	want=${name#exit_}
	want=${want%%_*}
	case "$TESTED" in *" $want "*) ;; *) TESTED="$TESTED$want " ;; esac
	[ "$rc" = "$want" ] || why="exit status $rc, want $want${why:+; $why}"
	if [ -z "$why" ]; then
		t_pass "$name"
	else
		t_fail "$name" "$why"
	fi
}

# run NAME CMD...: run CMD (stdin closed, at most 30 s); stdout in
# $T/NAME.out, stderr in $T/NAME.err, status in RC.
RC=
run() {
	local name=$1
	shift
	timeout -k 5 30 "$@" >"$T/$name.out" 2>"$T/$name.err" </dev/null
	RC=$?
}

# said NAME: what a run printed, on one line, for failure messages.
said() {
	cat "$T/$1.out" "$T/$1.err" 2>/dev/null | tr '\n\r\033' '|??' | tail -c 300
}

# snap VAULT: the index's message and sighting rows and the archive's files.
snap() {
	pv_sql "$1" "select id, lower(hex(sha256)), state from messages order by id;
	    select * from sightings order by 1" 2>&1
	(cd "$1" && find accounts -type f ! -name lock -printf '%p %s\n' | LC_ALL=C sort)
}

# jcheck FILE TOP NAME=EXIT...: the --json document in FILE has "exit" TOP
# and exactly these accounts with these "exit"s; prints what differs.
jcheck() {
	python3 - "$@" <<'EOF'
import json, sys
path, top, want = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
try:
    d = json.load(open(path))
except (OSError, ValueError) as e:
    sys.exit("not JSON: %s" % e)
bad = []
if d.get("exit") != top:
    bad.append('top-level "exit" is %r, want %d' % (d.get("exit"), top))
got = {a.get("name"): a.get("exit") for a in d.get("accounts", [])}
exp = {w.rsplit("=", 1)[0]: int(w.rsplit("=", 1)[1]) for w in want}
if got != exp:
    bad.append("account exits %r, want %r" % (got, exp))
# A failed run names its last warning; a child killed by a signal (70)
# is named by the parent ("killed by signal N").
for a in d.get("accounts", []):
    if a.get("exit") not in (0, None) and not a.get("error"):
        bad.append('account %s: "exit" %r but no "error"' % (a.get("name"), a.get("exit")))
    if a.get("exit") == 70 and "killed by signal" not in (a.get("error") or ""):
        bad.append('account %s: exit 70, error %r' % (a.get("name"), a.get("error")))
if bad:
    sys.exit("; ".join(bad))
EOF
}

# --- fakepop ---------------------------------------------------------------

. "$T_ROOT/tests/lib/fakepop.sh"

# fp NAME JSON: start fakepop (plain POP3, one connection) on this script.
# Sets FP_PORT, FP_LOG, FP_PID.
fp() {
	local name=$1
	printf '%s\n' "$2" >"$T/$name.json"
	fp_start "$name" --mode plain --timeout 20
}
fp_end() {
	kill "$FP_PID" 2>/dev/null
	wait "$FP_PID" 2>/dev/null
	return 0
}
CREDS='USER|PASS|APOP|AUTH'

# --- Dovecot and its users ----------------------------------------------------

dv_start "$T/dv" || { t_fail dovecot_start "could not start Dovecot"; t_done; }
for u in zero partial disk sig crash1 crash2 empty; do
	dv_adduser "$u" "$PW" || { t_fail adduser "$u"; t_done; }
done
gen() {	# USER COUNT SEED [genmail options]
	local u=$1 n=$2 s=$3
	shift 3
	python3 "$GENMAIL" --count "$n" --seed "$s" "$@" "$(dv_maildir "$u")" >/dev/null &&
	    dv_fix_perms "$u"
}
gen zero 5 41 && gen sig 30 42 && gen crash1 3 43 && gen crash2 3 44 &&
    gen disk 4 45 --big-every 2 --big-size 400000 ||
    { t_fail genmail "generator failed"; t_done; }
# partial: three small messages and one of 300 kB.
gen partial 3 46 || { t_fail genmail "generator failed"; t_done; }
MDP=$(dv_maildir partial)
{
	printf 'From: big@example.com\nTo: partial@example.org\n'
	printf 'Subject: too large\nMessage-ID: <big.1@example.com>\n\n'
	head -c 300000 /dev/zero | tr '\0' 'x' | fold -w 76
} >"$MDP/new/1700000000.M1P1.toolarge"
dv_fix_perms partial

HOST=localhost:$DV_POP3S_PORT
url() { printf 'pop3s://%s@%s\n' "$1" "$HOST"; }
# fetch NAME VAULT [options] URL: popvault fetch, with the right password.
fetch() {
	local name=$1 v=$2
	shift 2
	run "$name" env POPVAULT_PASSWORD=$PW "$POPVAULT" fetch --vault "$v" \
	    --timeout 10 "$@"
}

# A configuration file: conf FILE VAULT "NAME USER PASSWORD"...
conf() {
	local f=$1 v=$2 a n u p
	shift 2
	{
		printf '[defaults]\nhost = localhost\nport = %s\ntls_ca = %s\nvault = %s\ntimeout = 10\n' \
		    "$DV_POP3S_PORT" "$DV_CA" "$v"
		for a in "$@"; do
			read -r n u p <<<"$a"
			printf '\n[account %s]\nuser = %s\npassword_command = echo %s\n' "$n" "$u" "$p"
		done
	} >"$f"
	chmod 600 "$f"
}

# --- 0 ----------------------------------------------------------------------

V0=$T/v0
fetch first "$V0" --tls-ca "$DV_CA" "$(url zero)"
first_rc=$RC
before=$(snap "$V0")
fetch again "$V0" --tls-ca "$DV_CA" "$(url zero)"
why=
[ "$first_rc" = 0 ] || why="first run exit $first_rc: $(said first)"
[ "$(awk '$1 == "new" { print $2; exit }' "$T/again.out")" = 0 ] || why="$why; new is not 0"
[ "$before" = "$(snap "$V0")" ] || why="$why; the vault changed"
[ "$(pv_sql "$V0" "select count(*) from messages where state = 'verified'")" = 5 ] ||
    why="$why; not 5 verified rows"
ck exit_0_nothing_new "$RC" "${why#; }${why:+: $(said again)}"

# --- 1 ----------------------------------------------------------------------

V1=$T/v1
fetch partial "$V1" --max-message-size 100k --tls-ca "$DV_CA" "$(url partial)"
why=
n=$(pv_sql "$V1" "select count(*) from messages where state = 'verified'" 2>&1)
[ "$n" = 3 ] || why="$n verified rows, want the 3 small ones"
grep -q 'over the maximum size' "$T/partial.err" || why="$why; no 'over the maximum size' warning"
ck exit_1_partial_message_too_large "$RC" "${why#; }${why:+: $(said partial)}"

# Config mode: one account archives, the other has a wrong password.
conf "$T/mixed.conf" "$T/v1m" "good zero $PW" "bad zero wrong-$PW"
run mixed "$POPVAULT" fetch --config "$T/mixed.conf" -j 2
why=
[ "$(grep -c '^popvault: .*bad' "$T/mixed.err")" -ge 1 ] || why="no error naming account bad"
[ "$(pv_sql "$T/v1m" "select count(*) from messages where state = 'verified'" 2>&1)" = 5 ] ||
    why="$why; account good did not archive its 5 messages"
ck exit_1_partial_one_account_failed "$RC" "${why#; }${why:+: $(said mixed)}"
run mixedj "$POPVAULT" fetch --config "$T/mixed.conf" -j 2 --json
ck exit_1_json_exit_fields "$RC" "$(jcheck "$T/mixedj.out" "$RC" good=0 bad=77 2>&1)"

# Config mode, one of two accounts crashes (its child abort()s at the
# first RETR; the empty account never gets there): 70 and 0 make 1.
conf "$T/onecrash.conf" "$T/v1c" "crash1 crash1 $PW" "empty empty $PW"
run onecrash env POPVAULT_CRASH=retr-begin "$POPVAULT" fetch --config "$T/onecrash.conf" -j 2 --json
ck exit_1_one_of_two_children_crashed "$RC" "$(jcheck "$T/onecrash.out" "$RC" crash1=70 empty=0 2>&1)"

# --- 64 ---------------------------------------------------------------------

run badopt "$POPVAULT" fetch --no-such-option --vault "$T/v64" "$(url zero)"
why=
grep -q 'unrecognized option' "$T/badopt.err" || why="no 'unrecognized option' error"
cat "$T/badopt.out" "$T/badopt.err" | grep -q 'usage: popvault fetch' || why="$why; no usage text"
[ ! -e "$T/v64" ] || why="$why; a vault was created"
ck exit_64_unknown_option "$RC" "${why#; }"

# A refused option value: said with the flag, before anything is made.
run badval "$POPVAULT" fetch --batch 0 --vault "$T/v64v" "$(url zero)"
why=
grep -q -- '--batch: 1 to 100000' "$T/badval.err" || why="no '--batch: 1 to 100000' error"
[ ! -e "$T/v64v" ] || why="$why; a vault was created"
ck exit_64_bad_option_value "$RC" "${why#; }${why:+: $(said badval)}"

# A malformed pin is refused when read, not at the TLS handshake.
run badpin "$POPVAULT" fetch --tls-fingerprint sha256:abc --vault "$T/v64p" "$(url zero)"
why=
grep -q -- '--tls-fingerprint: sha256: and 64 hex digits' "$T/badpin.err" ||
    why="no '--tls-fingerprint: sha256: and 64 hex digits' error"
[ ! -e "$T/v64p" ] || why="$why; a vault was created"
ck exit_64_malformed_pin "$RC" "${why#; }${why:+: $(said badpin)}"

run badcmd "$POPVAULT" fecth
ck exit_64_unknown_command "$RC" "$(grep -q "unknown command 'fecth'" "$T/badcmd.err" || said badcmd)"

cat >"$T/bad.conf" <<EOF
[defaults]
host = localhost
port = $DV_POP3S_PORT

[account a1]
user = zero
tls_ca $DV_CA
password_command = echo $PW
EOF
chmod 600 "$T/bad.conf"
run badconf "$POPVAULT" fetch --config "$T/bad.conf" --vault "$T/v64c"
why=
grep -q "^$T/bad.conf:7: " "$T/badconf.err" || why="no '$T/bad.conf:7: ' error"
[ ! -e "$T/v64c" ] || why="$why; a vault was created"
ck exit_64_bad_config_line "$RC" "${why#; }${why:+: $(said badconf)}"

# A compression the format does not take (mbox: none or gzip) is a usage
# error found before any connection, given on the command line or in the
# config file: the server's log has no session, no vault is made. Then,
# as a control, the same server with gzip: that run does connect.
fp comp '{"messages": [{"uidl": "u1", "text": "From: a@example.org\nMessage-ID: <c1@example.org>\nSubject: comp\n\nbody\n"}]}'
fetch badcomp "$T/v64z" --format mbox --compress zstd --insecure-plaintext \
    "pop3://zero@127.0.0.1:$FP_PORT"
why=
grep -q 'zstd.*mbox' "$T/badcomp.err" || why="no error naming zstd and mbox"
grep -q 'connect' "$FP_LOG" && why="$why; the server saw a connection"
[ ! -e "$T/v64z" ] || why="$why; a vault was created"
ck exit_64_format_takes_no_such_compression "$RC" "${why#; }${why:+: $(said badcomp)}"
cat >"$T/badcomp.conf" <<EOF
[defaults]
host = 127.0.0.1
port = $FP_PORT
tls = none
insecure_plaintext = yes
vault = $T/v64zc
format = mbox

[account z]
user = zero
password_command = echo $PW
compress = zstd
EOF
chmod 600 "$T/badcomp.conf"
run badcompconf "$POPVAULT" fetch --config "$T/badcomp.conf"
why=
grep -q 'account z: .*zstd.*mbox' "$T/badcompconf.err" || why="no error naming account z, zstd and mbox"
grep -q 'connect' "$FP_LOG" && why="$why; the server saw a connection"
[ ! -e "$T/v64zc" ] || why="$why; a vault was created"
ck exit_64_config_format_takes_no_such_compression "$RC" "${why#; }${why:+: $(said badcompconf)}"
fetch goodcomp "$T/v64g" --format mbox --compress gzip --insecure-plaintext \
    "pop3://zero@127.0.0.1:$FP_PORT"
fp_end
if [ "$RC" = 0 ] && grep -q 'connect' "$FP_LOG"; then
	t_pass compress_control_gzip_connects
else
	t_fail compress_control_gzip_connects "exit $RC; log: $(tr '\n' '|' <"$FP_LOG" | tail -c 200): $(said goodcomp)"
fi

# --- 69 ---------------------------------------------------------------------

fetch refused "$T/v69" --tls-ca "$DV_CA" "pop3s://zero@127.0.0.1:$(free_port)"
why=
[ ! -e "$T/v69" ] || why="a vault was created"
ck exit_69_connection_refused "$RC" "${why}${why:+: $(said refused)}"

# --- 70 ---------------------------------------------------------------------

# Config mode, -j 2, both children abort() at their first RETR (the crash
# hook): each counts as 70, so 70 is the common code.
conf "$T/crash.conf" "$T/v70" "crash1 crash1 $PW" "crash2 crash2 $PW"
run crash env POPVAULT_CRASH=retr-begin "$POPVAULT" fetch --config "$T/crash.conf" -j 2
why=
n=$(pv_sql "$T/v70" "select count(*) from messages where state = 'verified'" 2>&1)
[ "$n" = 0 ] || why="$n verified rows after crashes before any RETR"
ck exit_70_children_crashed "$RC" "${why}${why:+: $(said crash)}"
# ... and without the hook the same configuration recovers: 0.
run crashfix "$POPVAULT" fetch --config "$T/crash.conf" -j 2
n=$(pv_sql "$T/v70" "select count(*) from messages where state = 'verified'" 2>&1)
[ "$RC" = 0 ] && [ "$n" = 6 ] && t_pass crash_then_clean_run_archives_all ||
    t_fail crash_then_clean_run_archives_all "exit $RC, $n verified rows (want 0, 6): $(said crashfix)"

# --- 74 ---------------------------------------------------------------------

: >"$T/afile"
fetch notdir "$T/afile/vault" --tls-ca "$DV_CA" "$(url zero)"
why=
grep -qi 'not a directory' "$T/notdir.err" || why="no 'Not a directory' error"
ck exit_74_vault_below_regular_file "$RC" "${why}${why:+: $(said notdir)}"

# A full disk (ulimit -f, in KiB; popvault ignores SIGXFSZ): the 400 kB
# messages do not fit. Nothing may be deleted.
n0=$(dv_server_files disk | wc -l)
run diskfull bash -c 'ulimit -f 200 && exec "$@"' _ env POPVAULT_PASSWORD=$PW \
    "$POPVAULT" fetch --vault "$T/v74" --batch 1 --delete=verified \
    --tls-ca "$DV_CA" "$(url disk)"
why=
grep -q 'File too large' "$T/diskfull.err" || why="no 'File too large' error"
n1=$(dv_server_files disk | wc -l)
[ "$n1" = "$n0" ] || why="$why; server had $n0 messages, now $n1"
ck exit_74_disk_full "$RC" "${why#; }${why:+: $(said diskfull)}"

# --- 75 ---------------------------------------------------------------------

# The account's lock held (as a running popvault would), on the vault of 0.
dir=$(pv_sql "$V0" "select dir from accounts" 2>&1)
lock=$V0/accounts/$dir/lock
before=$(snap "$V0")
why=
if [ -n "$dir" ] && [ -f "$lock" ] && exec 9>>"$lock" && flock -n 9; then
	# Not timed: this shell holds the lock throughout, so a popvault
	# that waited for it would hang until run's timeout (exit 124).
	fetch locked "$V0" --tls-ca "$DV_CA" "$(url zero)" 9>&-
	grep -q 'another popvault' "$T/locked.err" || why="no 'another popvault' error"
	[ "$before" = "$(snap "$V0")" ] || why="$why; vault rows or files changed"
	flock -u 9
	exec 9>&-
else
	RC=none
	why="could not take the lock $lock"
fi
ck exit_75_account_locked "$RC" "${why#; }${why:+: $(said locked)}"

# [IN-USE] from the server (RFC 3206); Dovecot would need a second live
# session for it: fakepop says it.
fp inuse '{"rules": [{"match": "PASS .*", "reply": "-ERR [IN-USE] mailbox locked by another session"}]}'
fetch inuse "$T/v75" --insecure-plaintext "pop3://zero@127.0.0.1:$FP_PORT"
fp_end
why=
[ ! -e "$T/v75" ] || why="a vault was created"
ck exit_75_server_in_use "$RC" "${why}${why:+: $(said inuse)}"

# --- 76 ---------------------------------------------------------------------

# Not a POP3 server: an SSH banner, then nothing.
fp notpop '{"greeting": "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13", "rules": [{"match": ".*", "reply": "Protocol mismatch.", "close": "fin"}]}'
fetch notpop "$T/v76" --insecure-plaintext "pop3://zero@127.0.0.1:$FP_PORT"
fp_end
why=
n=$(grep -cE "^S[0-9]+ C plain q=[0-9]+ ($CREDS)( |\$)" "$FP_LOG")
[ "$n" = 0 ] || why="$n credential lines sent"
[ ! -e "$T/v76" ] || why="$why; a vault was created"
ck exit_76_not_pop3 "$RC" "${why#; }${why:+: $(said notpop)}"

# --- 77 ---------------------------------------------------------------------

before=$(snap "$V0")
run wrongpw env POPVAULT_PASSWORD=not-$PW "$POPVAULT" fetch --vault "$V0" \
    --tls-ca "$DV_CA" "$(url zero)"
why=
[ "$before" = "$(snap "$V0")" ] || why="vault rows or files changed"
ck exit_77_wrong_password "$RC" "${why}${why:+: $(said wrongpw)}"
run wrongpwj env POPVAULT_PASSWORD=not-$PW "$POPVAULT" fetch --vault "$V0" \
    --json --tls-ca "$DV_CA" "$(url zero)"
ck exit_77_json_exit_fields "$RC" "$(jcheck "$T/wrongpwj.out" "$RC" "zero@localhost:$DV_POP3S_PORT=77" 2>&1)"

# --- 78 ---------------------------------------------------------------------

fetch unknownca "$T/v78" "$(url zero)"
why=
grep -q 'not trusted' "$T/unknownca.err" || why="no 'not trusted' error"
[ ! -e "$T/v78" ] || why="$why; a vault was created"
ck exit_78_unknown_ca "$RC" "${why#; }${why:+: $(said unknownca)}"

# --- 79 ---------------------------------------------------------------------

V79=$T/v79
fetch v79 "$V79" --tls-ca "$DV_CA" "$(url zero)"
run verify_ok "$POPVAULT" verify --vault "$V79"
ok_rc=$RC
f=$(find "$(pv_account_dir "$V79")/maildir" -type f -path '*/new/*' | LC_ALL=C sort | head -n 1)
python3 - "$f" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x01
open(p, "wb").write(b)
EOF
run verify_bad "$POPVAULT" verify --vault "$V79"
why=
[ "$ok_rc" = 0 ] || why="verify before the flip: exit $ok_rc: $(said verify_ok)"
grep -qF "new/$(basename "$f"): altered" "$T/verify_bad.out" ||
    why="$why; the damaged message is not reported as altered"
grep -q ' 4 ok, 0 missing, 1 altered' "$T/verify_bad.out" ||
    why="$why; summary is not '4 ok, 0 missing, 1 altered'"
ck exit_79_verify_found_damage "$RC" "${why#; }${why:+: $(said verify_bad)}"

# --- 80 ---------------------------------------------------------------------

# SIGTERM while the first batch of 10 is being verified: the batch ends,
# popvault stops with 80; the next run archives the other 20, all intact.
V80=$T/v80
P=$T/pause
mkdir -p "$P"
POPVAULT_PASSWORD=$PW POPVAULT_TEST_PAUSE=$P POPVAULT_TEST_PAUSE_AT=verify \
    "$POPVAULT" fetch --vault "$V80" --batch 10 --tls-ca "$DV_CA" \
    "$(url sig)" >"$T/sigterm.out" 2>"$T/sigterm.err" </dev/null &
pid=$!
t_on_exit "kill $pid 2>/dev/null"
for _ in $(seq 1 1200); do
	[ -e "$P/ready" ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
why=
[ -e "$P/ready" ] || why="never reached the pause"
kill -TERM "$pid" 2>/dev/null
touch "$P/go"
wait "$pid"
RC=$?
n=$(pv_sql "$V80" "select count(*) from messages where state = 'verified'" 2>&1)
o=$(pv_sql "$V80" "select count(*) from messages where state <> 'verified'" 2>&1)
[ "$n" = 10 ] && [ "$o" = 0 ] || why="$why; $n verified and $o other rows, want 10 and 0"
ck exit_80_sigterm "$RC" "${why#; }${why:+: $(said sigterm)}"
fetch sigrerun "$V80" --batch 10 --tls-ca "$DV_CA" "$(url sig)"
why=
p=$(pv_index_problems "$V80" 30) || why="index: $p"
pv_compare sig "$(pv_account_dir "$V80")/maildir" >"$T/sigcmp" 2>&1 ||
    why="$why; archive differs from the server: $(tail -n 3 "$T/sigcmp" | tr '\n' '|')"
[ "$RC" = 0 ] && [ -z "$why" ] && t_pass exit_80_rerun_completes_nothing_lost ||
    t_fail exit_80_rerun_completes_nothing_lost "exit $RC; ${why#; }: $(said sigrerun)"

# --- 65 (last: it changes Dovecot's UIDL format for every user) ---------------

# A migrated server: every UIDL renamed, the messages the same. Nothing
# is fetched, no row changes but the old UIDLs' "gone".
dv_adduser moved "$PW" || t_fail adduser moved
gen moved 8 47 || t_fail genmail "generator failed"
V65=$T/v65
fetch moved1 "$V65" --tls-ca "$DV_CA" "$(url moved)"
why=
[ "$RC" = 0 ] || why="the first fetch: exit $RC: $(said moved1)"
rows0=$(pv_sql "$V65" "select count(*) from messages" 2>&1)
dv_set pop3_uidl_format '%g' || why="$why; dv_set failed"
fetch moved "$V65" --tls-ca "$DV_CA" --delete=verified "$(url moved)"
grep -q "UIDLs changed" "$T/moved.err" || why="$why; no 'UIDLs changed' warning"
[ "$(pv_sql "$V65" "select count(*) from messages" 2>&1)" = "$rows0" ] ||
    why="$why; message rows changed"
[ "$(dv_server_files moved | wc -l)" = 8 ] || why="$why; the server lost messages"
ck exit_65_uidls_changed "$RC" "${why#; }${why:+: $(said moved)}"

# --- the documented list ----------------------------------------------------

DOC=$(awk '/^\.Sh /{ on = ($0 == ".Sh EXIT STATUS") ; next }
    on && /^\.It [0-9]+[[:space:]]*$/ { print $2 }' "$MAN" | LC_ALL=C sort -n -u | tr '\n' ' ')
why=
[ -n "$DOC" ] || why="no codes found in the EXIT STATUS section of $MAN"
for c in $DOC; do
	case "$TESTED" in *" $c "*) ;; *) why="$why; documented code $c has no test" ;; esac
done
for c in $TESTED; do
	case " $DOC " in *" $c "*) ;; *) why="$why; tested code $c is not documented" ;; esac
done
[ -z "$why" ] && t_pass exit_codes_all_documented_codes_tested ||
    t_fail exit_codes_all_documented_codes_tested "${why#; } (documented: $DOC; tested:$TESTED)"

echo "note: $((SECONDS - START)) s" >&2
t_done
