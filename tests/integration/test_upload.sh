#!/usr/bin/env bash
# test_upload.sh -- "popvault export --to imaps://..." (issue 17) against a
# real Dovecot IMAP server on loopback, judged by tests/lib/imapcheck.py
# (Python's imaplib) and tests/lib/uploadcheck.py, with expected values
# from the POP3 server's own files (tests/lib/expect.py), never from
# popvault's output:
#
#   basic   a corpus fetched from user pa's POP3 (genmail.py, without the
#           NUL and bare-CR kinds Dovecot's APPEND alters, plus messages
#           without a Date, with a bogus one, one before 1970-01-02, one
#           in 2100, and obsolete forms) is
#           exported to user ub's folder Archive (created): every message
#           exactly once, SHA-256 (CRLF -> LF) equal to the server file's,
#           INTERNALDATE the Date header's instant or, without a usable
#           Date, within the fetch's window (first seen), flags \Seen;
#           every message proven in the index under the UID and
#           UIDVALIDITY the folder has; a rerun sends nothing, changes
#           nothing and exits 0; --imap-flags (two, and "none"); imap://
#           with STARTTLS (to 127.0.0.3, where Dovecot refuses a login
#           in clear text); a wrong password exits 77, an unknown CA 78,
#           nothing created;
#           a [destination NAME] of the config file; a folder name
#           outside ASCII (%-encoded in the URL) is modified UTF-7 on
#           the server;
#   found   messages another tool appended first (same bytes) are not sent
#           again and are recorded as found; a different message of the
#           same size is still sent;
#   lock    a second upload to the mailbox while the first holds its lock
#           (VAULT/destinations/*.lock, held with flock(1)): exit 75,
#           nothing sent; released, the same run goes through;
#   dryrun  --dry-run creates no folder, appends nothing, and leaves the
#           index (sqlite3 .dump) and the vault's files as they were;
#   uidvalidity  the folder given a new UIDVALIDITY by Dovecot (its
#           dovecot-uidlist and indexes removed): the rerun sends nothing,
#           says uidvalidity_changed, and proves every message again
#           under its new UID and UIDVALIDITY;
#   select  --account (once, and twice), --subject, --since/--until: exactly the messages
#           Python picks by the same rule from the server files;
#   kill    kill -9 at UP_KILLS instants spread over a measured upload
#           (tests/lib/killwhen.py --delay-ms), each into its own folder:
#           after the kill the index claims nothing the folder does not
#           hold; a clean rerun leaves every message exactly once, proven;
#   cut     the connection cut at UP_CUTS byte offsets (tests/lib/
#           cutproxy.py, its --cut-file: one proxy serves the faulty run
#           and the clean rerun), spread over a measured session, inside
#           APPEND literals (large client TLS records) and inside the
#           proof's FETCH (large server records): each message once,
#           proven, after the rerun;
#   big     the Done-when case: UP_BIG_N (2000) messages fetched from user
#           pb's POP3, uploaded to ub's folder Big by a run killed with
#           kill -9 three times (the first once a quarter of the
#           deliveries are recorded, the next two after as long, amid a
#           batch), then finished by a rerun: each once, proven;
#   plain   a Dovecot without TLS (no STARTTLS): imap:// is refused
#           (exit 78, no login reaches the server, no folder), and
#           accepted with --insecure-plaintext (the folder's files on
#           the server are the messages).
#
# Environment: UP_N (messages of pa, default 120), UP_BIG_N (2000),
# UP_KILLS (16: at least UP_KILLS - 1 must hit a running upload), UP_CUTS (30), UP_JOBS (parallel cases, 2),
# UP_SECTIONS (default "basic found lock dryrun uidvalidity select kill cut big
# plain").
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

N=${UP_N:-120}
BIG_N=${UP_BIG_N:-2000}
KILLS=${UP_KILLS:-16}
CUTS=${UP_CUTS:-30}
JOBS=${UP_JOBS:-2}
SECTIONS=${UP_SECTIONS:-"basic found lock dryrun uidvalidity select kill cut big plain"}
IC=$T_ROOT/tests/lib/imapcheck.py
UC=$T_ROOT/tests/lib/uploadcheck.py
KILLWHEN=$T_ROOT/tests/lib/killwhen.py
PROXY=$T_ROOT/tests/lib/cutproxy.py
GENMAIL=$T_ROOT/tests/gen/genmail.py
PW=up-pw-5ecret
T=$(t_tmpdir)
START=$SECONDS

want() { case " $SECTIONS " in *" $1 "*) return 0 ;; esac; return 1; }
last_lines() { printf '%s' "$1" | tail -n "${2:-3}" | tr '\n' '|'; }

dv_start "$T/dv" --imap || { t_fail dovecot_start "could not start Dovecot"; t_done; }
for u in pa pa2 pb ub; do
	dv_adduser "$u" "$PW" || { t_fail adduser "$u"; t_done; }
done
printf '%s\n' "$PW" >"$T/pw"
printf '%s\n' "not-$PW" >"$T/badpw"
C=$T/certs
"$T_ROOT/tests/lib/mkcerts.sh" "$C" >/dev/null 2>&1 ||
    { t_fail mkcerts "tests/lib/mkcerts.sh failed"; t_done; }
sleep 1.1	# Dovecot reads a new passwd file at most once a second
IMAPS="127.0.0.1:$DV_IMAPS_PORT"

# --- corpora ------------------------------------------------------------

# gen DIR COUNT SEED [genmail options]: genmail.py messages in DIR/new
# without the ones Dovecot's IMAP APPEND would alter (a NUL comes back as
# 0x80, a bare CR as LF: docs/dovecot-notes.md); prints how many are left.
gen() {
	local d=$1 n=$2 seed=$3
	shift 3
	python3 "$GENMAIL" --count "$n" --seed "$seed" "$@" "$d" >/dev/null || return 1
	python3 - "$d/new" <<'EOF'
import os, re, sys
d = sys.argv[1]
left = 0
for f in sorted(os.listdir(d)):
    b = open(os.path.join(d, f), "rb").read()
    if b"\0" in b or re.search(rb"\r(?!\n)", b):
        os.unlink(os.path.join(d, f))
    else:
        left += 1
print(left)
EOF
}

# Messages whose Date popvault cannot use (none, garbage, before
# 1970-01-02, in 2100: docs/decisions.md, "INTERNALDATE") and obsolete but
# valid forms (zone name, no day name, two-digit year, no seconds).
CRAFTED=8
CRAFTED_UNDATED=5
crafted() {	# DIR
	local d=$1 i=0 dh
	for dh in "" "Date: sometime last week" "Date: Mon, 99 Foo 2023 10:00:00 +0000" \
	    "Date: Wed, 31 Dec 1969 23:00:00 +0000" "Date: Fri, 01 Jan 2100 00:00:00 +0000" \
	    "Date: Tue, 14 Nov 2023 10:00:00 EST" "Date: 14 Nov 23 09:30 +0100" \
	    "Date: Wed, 15 Nov 2023 08:00:00 -0000 (UTC)"; do
		i=$((i + 1))
		{
			printf 'From: Crafted <crafted%d@example.test>\n' "$i"
			printf 'To: archive@example.test\n'
			printf 'Subject: Crafted date %d report\n' "$i"
			[ -n "$dh" ] && printf '%s\n' "$dh"
			printf 'Message-ID: <crafted.%d@example.test>\n' "$i"
			printf '\nA message whose Date header is "%s".\n' "${dh:-missing}"
		} >"$d/new/1699000000.M9000${i}P0.crafted"
	done
}

SRC=$T/src
mkdir -p "$SRC"
n=$(gen "$SRC/pa" "$N" 61 --big-every 40 --big-size 400000) &&
    crafted "$SRC/pa" && n2=$(gen "$SRC/pa2" 30 62 --start 5000) ||
    { t_fail generate genmail; t_done; }
NA=$((n + CRAFTED))
NA2=$n2
pv_fill pa "$SRC/pa/new" && pv_fill pa2 "$SRC/pa2/new" ||
    { t_fail fill "pv_fill"; t_done; }
# Expected values, from the server's files before any session renames them.
for u in pa pa2; do
	dv_server_files "$u" | xargs -d '\n' python3 "$UC" meta >"$T/meta.$u" ||
	    { t_fail expected "uploadcheck.py meta $u"; t_done; }
	cut -d' ' -f1 "$T/meta.$u" | LC_ALL=C sort >"$T/want.$u"
done
cat "$T/meta.pa" "$T/meta.pa2" >"$T/meta.all"
cut -d' ' -f1 "$T/meta.all" | LC_ALL=C sort >"$T/want.all"
if [ "$(wc -l <"$T/want.pa")" = "$NA" ] &&
    [ "$(LC_ALL=C sort -u "$T/want.all" | wc -l)" = $((NA + NA2)) ]; then
	t_pass corpus_distinct
else
	t_fail corpus_distinct "$(wc -l <"$T/want.pa") messages of pa (want $NA), $(LC_ALL=C sort -u "$T/want.all" | wc -l) distinct in all"
	t_done
fi

V=$T/vault
F0=$(date +%s)
pv_fetch "$V" "$PW" --tls-ca "$DV_CA" "pop3s://pa@localhost:$DV_POP3S_PORT"
rc1=$PV_RC
pv_fetch "$V" "$PW" --tls-ca "$DV_CA" "pop3s://pa2@localhost:$DV_POP3S_PORT"
F1=$(($(date +%s) + 1))
if [ "$rc1" != 0 ] || [ "$PV_RC" != 0 ]; then
	t_fail fetch "exit $rc1 / $PV_RC: $(last_lines "$PV_OUT")"
	t_done
fi
ACCT_A=$(pv_sql "$V" "select name from accounts where name like 'pa@%'")
ACCT_A2=$(pv_sql "$V" "select name from accounts where name like 'pa2@%'")

# --- helpers -------------------------------------------------------------

# up OUT VAULT ARGS...: popvault export --json with the password in the
# environment; JSON in OUT, stderr in OUT.err, exit status in UP_RC.
up() {
	local out=$1 v=$2
	shift 2
	POPVAULT_PASSWORD=$PW "$POPVAULT" export --vault "$v" --json \
	    --timeout 30 "$@" >"$out" 2>"$out.err" </dev/null
	UP_RC=$?
}

jf() {	# FILE KEY: a value of the JSON report in FILE ("?" if none)
	python3 - "$1" "$2" <<'EOF' 2>/dev/null || echo '?'
import json, sys
text = open(sys.argv[1]).read().strip()
obj = json.loads(text.splitlines()[-1] if text else "{}")
print(obj[sys.argv[2]])
EOF
}

why_of() {	# OUT: a short account of a run for a FAIL line
	printf 'exit %s, json %s, stderr %s' "${UP_RC:-?}" \
	    "$(head -c 400 "$1" 2>/dev/null | tr '\n' ' ')" \
	    "$(tail -n 3 "$1.err" 2>/dev/null | tr '\n' '|')"
}

# ic_list FOLDER OUT [USER]: the folder's messages by imapcheck.py;
# status 1 if the folder does not exist (OUT then empty).
ic_list() {
	python3 "$IC" list --host 127.0.0.1 --port "$DV_IMAPS_PORT" \
	    --ca "$DV_CA" --user "${3:-ub}" --password-file "$T/pw" \
	    --folder "$1" >"$2" 2>"$2.err"
}

folder_dir() { printf '%s/.%s\n' "$(dv_maildir "${2:-ub}")" "$1"; }

# judge NAME FOLDER WANT META T0 T1 FLAGS VAULT [FOUND]: the folder holds
# exactly WANT, dates and flags right, and the index proves each one (the
# destination whose URL ends in /FOLDER, or in /$URLTAIL when set).
# Prints PASS/FAIL lines (so that it works in background cases).
judge() {
	local name=$1 f=$2 want=$3 meta=$4 t0=$5 t1=$6 fl=$7 v=$8 found=${9:-} w
	w=$(mktemp -d "$T/j.XXXXXX")
	if ! ic_list "$f" "$w/list"; then
		echo "FAIL ${name}_folder: imapcheck.py list: $(tail -n 2 "$w/list.err" | tr '\n' '|')"
		return 1
	fi
	local p
	if p=$(python3 "$UC" folder "$w/list" "$want" "$meta" "$t0" "$t1" "$fl"); then
		echo "PASS ${name}_each_once"
	else
		echo "FAIL ${name}_each_once: ${p//$'\n'/; }"
	fi
	if p=$(python3 "$UC" proof "$v" "${URLTAIL:-$f}" "$w/list" "$want" \
	    "$(folder_dir "$f")/dovecot-uidlist" $found 2>&1); then
		echo "PASS ${name}_proven"
	else
		echo "FAIL ${name}_proven: ${p//$'\n'/; }"
	fi
	cp "$w/list" "${JLIST_DIR:-$T}/list.$f"
	rm -rf "$w"
}

# emit: count PASS/FAIL/SKIP lines read on stdin here (judge's output).
emit() {
	local line n
	while IFS= read -r line; do
		case "$line" in
		"PASS "*) t_pass "${line#PASS }" ;;
		"FAIL "*) n=${line#FAIL }; t_fail "${n%%: *}" "${n#*: }" ;;
		"SKIP "*) n=${line#SKIP }; t_skip "${n%%: *}" "${n#*: }" ;;
		*) printf '%s\n' "$line" ;;
		esac
	done
}

# Parallel cases, as in test_torture.sh: each in a background subshell
# with its own work folder W, writing PASS/FAIL lines to a file, counted
# in order by collect.
NCASE=0
CASES=()
launch() {	# NAME FUNCTION ARGS...
	local name=$1
	shift
	NCASE=$((NCASE + 1))
	CASES+=("$NCASE $name")
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
		wait -n 2>/dev/null || true
	done
	(
		W=$T/w/$NCASE
		JLIST_DIR=$W
		mkdir -p "$W"
		"$@"
	) >"$T/res.$NCASE" 2>&1 </dev/null &
}
collect() {
	local c id got
	wait
	for c in "${CASES[@]}"; do
		id=${c%% *}
		got=$(grep -c '^\(PASS\|FAIL\) ' "$T/res.$id")
		emit <"$T/res.$id"
		[ "$got" -gt 0 ] || t_fail "${c#* }" "case printed no result: $(tail -n 3 "$T/res.$id" | tr '\n' '|')"
	done
	CASES=()
}

# killrun OUT KILLWHEN-ARGS... -- POPVAULT-EXPORT-ARGS...: the export
# (VAULT is $KV) in its own process group, killwhen.py watching it;
# killwhen's line in OUT.kill, the export's exit status in UP_RC.
killrun() {
	local out=$1 kw=() kpid bg i
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do kw+=("$1"); shift; done
	shift
	rm -f "$out.pgid" "$out.ready"
	python3 "$KILLWHEN" --pgid-file "$out.pgid" --ready-file "$out.ready" \
	    "${kw[@]}" >"$out.kill" 2>&1 &
	kpid=$!
	for i in $(seq 1 600); do
		[ -e "$out.ready" ] && break
		sleep 0.01
	done
	# shellcheck disable=SC2016
	POPVAULT_PASSWORD=$PW setsid sh -c 'echo $$ >"$1.tmp" && mv "$1.tmp" "$1"; shift; exec "$@"' \
	    sh "$out.pgid" "$POPVAULT" export --vault "$KV" --json --timeout 30 \
	    "$@" >"$out" 2>"$out.err" </dev/null &
	bg=$!
	{ wait "$bg"; } 2>/dev/null
	UP_RC=$?
	wait "$kpid"
}

# --- basic ----------------------------------------------------------------

if want basic; then
	if ic_list Archive "$T/l0"; then
		t_fail archive_absent_before "folder Archive exists before the run"
	else
		t_pass archive_absent_before
	fi
	up "$T/b1" "$V" --tls-ca "$DV_CA" --to "imaps://ub@$IMAPS/Archive"
	if [ "$UP_RC" = 0 ] && [ "$(jf "$T/b1" sent)" = $((NA + NA2)) ] &&
	    [ "$(jf "$T/b1" proven)" = $((NA + NA2)) ] &&
	    [ "$(jf "$T/b1" selected)" = $((NA + NA2)) ]; then
		t_pass basic_run
	else
		t_fail basic_run "$(why_of "$T/b1")"
	fi
	emit < <(judge basic Archive "$T/want.all" "$T/meta.all" "$F0" "$F1" '\Seen' "$V")
	cp "$T/list.Archive" "$T/archive.list"
	# The corpus has both kinds: exactly the crafted messages without a
	# usable Date (so both rules of INTERNALDATE were checked).
	n=$(awk '$2 == "-"' "$T/meta.pa" | grep -c .)
	[ "$n" = "$CRAFTED_UNDATED" ] && t_pass corpus_has_undated_messages ||
	    t_fail corpus_has_undated_messages "$n of pa's $NA without a usable Date, want $CRAFTED_UNDATED"

	# Again: nothing sent, the folder unchanged (same UIDs), exit 0.
	up "$T/b2" "$V" --tls-ca "$DV_CA" --to "imaps://ub@$IMAPS/Archive"
	ic_list Archive "$T/l2"
	if [ "$UP_RC" = 0 ] && [ "$(jf "$T/b2" sent)" = 0 ] &&
	    cmp -s "$T/archive.list" "$T/l2"; then
		t_pass rerun_sends_nothing
	else
		t_fail rerun_sends_nothing "$(why_of "$T/b2"); folder changed: $(cmp -s "$T/archive.list" "$T/l2" && echo no || echo yes)"
	fi

	# --imap-flags: two flags, and none.
	up "$T/fl2" "$V" --tls-ca "$DV_CA" --account "$ACCT_A2" \
	    --imap-flags '\Seen \Flagged' --to "imaps://ub@$IMAPS/Flags2"
	[ "$UP_RC" = 0 ] || t_fail imap_flags_two_run "$(why_of "$T/fl2")"
	emit < <(judge imap_flags_two Flags2 "$T/want.pa2" "$T/meta.pa2" "$F0" "$F1" \
	    '\Flagged,\Seen' "$V")
	up "$T/fl0" "$V" --tls-ca "$DV_CA" --account "$ACCT_A2" \
	    --imap-flags none --to "imaps://ub@$IMAPS/Flags0"
	[ "$UP_RC" = 0 ] || t_fail imap_flags_none_run "$(why_of "$T/fl0")"
	emit < <(judge imap_flags_none Flags0 "$T/want.pa2" "$T/meta.pa2" "$F0" "$F1" \
	    - "$V")

	# imap:// with STARTTLS, to 127.0.0.3: Dovecot takes no login in
	# clear text there (LOGINDISABLED), so success means TLS was used.
	mark=$(dv_log_mark)
	up "$T/stls" "$V" --tls-ca "$DV_CA" --account "$ACCT_A2" \
	    --to "imap://ub@$DV_HOST_STRICT:$DV_IMAP_PORT/Stls"
	[ "$UP_RC" = 0 ] && t_pass starttls_run || t_fail starttls_run "$(why_of "$T/stls")"
	emit < <(judge starttls Stls "$T/want.pa2" "$T/meta.pa2" "$F0" "$F1" '\Seen' "$V")
	if tail -c +"$((mark + 1))" "$DV_DIR/log/dovecot.log" |
	    grep 'imap-login: Info: Login: user=<ub>' | grep -F "lip=$DV_HOST_STRICT" |
	    grep -q ', TLS'; then
		t_pass starttls_login_over_tls
	else
		t_fail starttls_login_over_tls "no TLS login of ub on $DV_HOST_STRICT in Dovecot's log"
	fi

	# A [destination NAME] of the config file: URL, CA, password source
	# and flags from there.
	printf '[destination arch]\nto = imaps://ub@%s/Named\ntls_ca = %s\npassword_env = UP_TEST_PW\nimap_flags = \\Flagged\n' \
	    "$IMAPS" "$DV_CA" >"$T/conf"
	chmod 600 "$T/conf"
	env -u POPVAULT_PASSWORD UP_TEST_PW=$PW "$POPVAULT" export --config "$T/conf" \
	    --vault "$V" --json --account "$ACCT_A2" --to arch >"$T/named" 2>"$T/named.err" </dev/null
	UP_RC=$?
	[ "$UP_RC" = 0 ] && t_pass config_destination_run ||
	    t_fail config_destination_run "$(why_of "$T/named")"
	emit < <(judge config_destination Named "$T/want.pa2" "$T/meta.pa2" "$F0" "$F1" \
	    '\Flagged' "$V")

	# A folder name outside ASCII, %-encoded in the URL: IMAP names it in
	# modified UTF-7 (RFC 3501 section 5.1.3), "Ablage ü" is "Ablage &APw-".
	up "$T/utf7" "$V" --tls-ca "$DV_CA" --account "$ACCT_A2" \
	    --to "imaps://ub@$IMAPS/Ablage%20%C3%BC"
	[ "$UP_RC" = 0 ] && t_pass folder_utf8_run || t_fail folder_utf8_run "$(why_of "$T/utf7")"
	emit < <(URLTAIL="Ablage%20%C3%BC" judge folder_mutf7 "Ablage &APw-" "$T/want.pa2" "$T/meta.pa2" "$F0" "$F1" \
	    '\Seen' "$V")

	# Refusals: nothing created.
	POPVAULT_PASSWORD="not-$PW" "$POPVAULT" export --vault "$V" --json \
	    --tls-ca "$DV_CA" --to "imaps://ub@$IMAPS/WrongPw" >"$T/wp" 2>"$T/wp.err" </dev/null
	UP_RC=$?
	if [ "$UP_RC" = 77 ] && [ ! -e "$(folder_dir WrongPw)" ]; then
		t_pass wrong_password_exit_77
	else
		t_fail wrong_password_exit_77 "$(why_of "$T/wp")"
	fi
	up "$T/ca" "$V" --tls-ca "$C/ca.crt" --to "imaps://ub@$IMAPS/WrongCa"
	if [ "$UP_RC" = 78 ] && [ ! -e "$(folder_dir WrongCa)" ]; then
		t_pass unknown_ca_exit_78
	else
		t_fail unknown_ca_exit_78 "$(why_of "$T/ca")"
	fi
	up "$T/ca2" "$V" --tls-ca "$C/ca.crt" --to "imap://ub@127.0.0.1:$DV_IMAP_PORT/WrongCa"
	if [ "$UP_RC" = 78 ] && [ ! -e "$(folder_dir WrongCa)" ]; then
		t_pass unknown_ca_starttls_exit_78
	else
		t_fail unknown_ca_starttls_exit_78 "$(why_of "$T/ca2")"
	fi
	echo "note: basic done at $((SECONDS - START)) s"
fi

# --- found: messages another tool put there first ---------------------------

if want found; then
	# Five of pa2's messages whose file is byte for byte what popvault
	# archived (no CRLF in the file, a final LF), and one more made
	# different at the same size.
	mapfile -t same < <(for f in $(dv_server_files pa2); do
		h=$(sha256sum <"$f" | cut -d' ' -f1)
		grep -qx "$h" "$T/want.pa2" && echo "$f"
	done | head -n 6)
	if [ "${#same[@]}" = 6 ]; then
		forged=$T/forged.eml
		python3 - "${same[5]}" "$forged" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
i = len(b) - 2
while not chr(b[i]).isalpha():
    i -= 1
b[i] = ord("Q") if b[i] != ord("Q") else ord("R")
open(sys.argv[2], "wb").write(bytes(b))
EOF
		python3 "$IC" append --host 127.0.0.1 --port "$DV_IMAPS_PORT" \
		    --ca "$DV_CA" --user ub --password-file "$T/pw" --folder Pre \
		    --create --date-from-header --flags '\Seen' \
		    "${same[@]:0:5}" "$forged" >"$T/pre.uids" 2>"$T/pre.err"
		awk 'NF == 2 { print $2 }' "$T/pre.uids" | head -n 5 >"$T/pre.found"
		[ "$(wc -l <"$T/pre.found")" = 5 ] ||
		    t_fail found_setup "imapcheck.py append: $(tail -n 2 "$T/pre.err")"
		cp "$T/want.pa2" "$T/want.pre"
		sha256sum <"$forged" | cut -d' ' -f1 >>"$T/want.pre"
		LC_ALL=C sort -o "$T/want.pre" "$T/want.pre"
		cp "$T/meta.pa2" "$T/meta.pre"
		up "$T/pre" "$V" --tls-ca "$DV_CA" --account "$ACCT_A2" \
		    --to "imaps://ub@$IMAPS/Pre"
		if [ "$UP_RC" = 0 ] && [ "$(jf "$T/pre" found)" = 5 ] &&
		    [ "$(jf "$T/pre" sent)" = $((NA2 - 5)) ]; then
			t_pass found_not_sent_again
		else
			t_fail found_not_sent_again "$(why_of "$T/pre")"
		fi
		# The folder: pa2's messages once each and the forged one;
		# the forged one has no deliveries row, so it is judged apart.
		ic_list Pre "$T/pre.list"
		python3 "$UC" folder "$T/pre.list" "$T/want.pre" "$T/meta.pre" 0 \
		    99999999999 any >"$T/pre.p"
		if [ ! -s "$T/pre.p" ]; then
			t_pass found_same_size_other_message_sent
		else
			t_fail found_same_size_other_message_sent "$(tr '\n' ' ' <"$T/pre.p")"
		fi
		# The five found keep the UIDs the other tool got.
		grep -vF -f <(sha256sum <"$forged" | cut -d' ' -f1) "$T/pre.list" >"$T/pre.list2"
		p=$(python3 "$UC" proof "$V" Pre "$T/pre.list2" "$T/want.pa2" \
		    "$(folder_dir Pre)/dovecot-uidlist" "$T/pre.found" 2>&1) &&
		    t_pass found_proven_as_found || t_fail found_proven_as_found "${p//$'\n'/; }"
	else
		t_fail found_setup "only ${#same[@]} of pa2's files equal their archived bytes"
	fi
fi

# --- dry run ------------------------------------------------------------------

if want lock; then
	# A second upload to the same mailbox while one runs: refused (exit
	# 75), nothing sent; the lock file is the one a first run made, held
	# here with flock(1) as a running popvault holds it.
	up "$T/lk0" "$V" --tls-ca "$DV_CA" --account "$ACCT_A2" \
	    --to "imaps://ub@$IMAPS/Locked" --dry-run
	up "$T/lk1" "$V" --tls-ca "$DV_CA" --account "$ACCT_A2" \
	    --to "imaps://ub@$IMAPS/Locked" --subject "no such subject at all"
	lf=$(ls "$V"/destinations/*.lock 2>/dev/null | while read -r f; do
		flock -n "$f" true && echo "$f"; done)
	n_before=$(ls "$V"/destinations/ | wc -l)
	if [ "$UP_RC" != 0 ] || [ -z "$lf" ]; then
		t_fail lock_setup "$(why_of "$T/lk1")"
	else
		# Hold every lock file of the vault, as a running upload does.
		holders=""
		for f in "$V"/destinations/*.lock; do
			flock -n "$f" sleep 60 &
			holders="$holders $!"
		done
		sleep 0.5
		up "$T/lk2" "$V" --tls-ca "$DV_CA" --account "$ACCT_A2" \
		    --to "imaps://ub@$IMAPS/Locked"
		for h in $holders; do
			pkill -P "$h" sleep 2>/dev/null
			wait "$h" 2>/dev/null
		done
		ic_list Locked "$T/lk2.list"
		if [ "$UP_RC" = 75 ] && [ ! -s "$T/lk2.list" ] &&
		    grep -q "another popvault" "$T/lk2.err"; then
			t_pass lock_second_upload_refused
		else
			t_fail lock_second_upload_refused "$(why_of "$T/lk2"), \
$(wc -l <"$T/lk2.list") messages in the folder"
		fi
		# Released: the same run goes through.
		up "$T/lk3" "$V" --tls-ca "$DV_CA" --account "$ACCT_A2" \
		    --to "imaps://ub@$IMAPS/Locked"
		[ "$UP_RC" = 0 ] && [ "$(jf "$T/lk3" proven)" = "$NA2" ] &&
		    t_pass lock_released ||
		    t_fail lock_released "$(why_of "$T/lk3")"
	fi
	[ "$n_before" -ge 1 ] || t_fail lock_file "no lock file in $V/destinations"
fi

if want dryrun; then
	snap() {	# VAULT: the index's content and the vault's files
		sqlite3 "$1/index.sqlite" .dump
		(cd "$1" && find . -type f ! -name 'index.sqlite*' -printf '%p %s %T@\n' | LC_ALL=C sort)
	}
	snap "$V" >"$T/dry.before"
	up "$T/dry" "$V" --tls-ca "$DV_CA" --dry-run --to "imaps://ub@$IMAPS/Dry"
	snap "$V" >"$T/dry.after"
	if [ "$UP_RC" = 0 ] && [ ! -e "$(folder_dir Dry)" ] && ! ic_list Dry "$T/dry.l" &&
	    cmp -s "$T/dry.before" "$T/dry.after"; then
		t_pass dry_run_creates_nothing
	else
		t_fail dry_run_creates_nothing "$(why_of "$T/dry"); folder: $([ -e "$(folder_dir Dry)" ] && echo created || echo absent); index/files changed: $(cmp -s "$T/dry.before" "$T/dry.after" && echo no || echo yes)"
	fi
	[ "$(jf "$T/dry" selected)" = $((NA + NA2)) ] && t_pass dry_run_reports_selection ||
	    t_fail dry_run_reports_selection "$(why_of "$T/dry")"
	# An existing folder with one message: still nothing appended.
	python3 "$IC" append --host 127.0.0.1 --port "$DV_IMAPS_PORT" --ca "$DV_CA" \
	    --user ub --password-file "$T/pw" --folder Dry2 --create \
	    "$(dv_server_files pa | head -n 1)" >/dev/null 2>&1
	ic_list Dry2 "$T/dry2.before"
	up "$T/dry2" "$V" --tls-ca "$DV_CA" --dry-run --to "imaps://ub@$IMAPS/Dry2"
	ic_list Dry2 "$T/dry2.after"
	snap "$V" >"$T/dry.after2"
	if [ "$UP_RC" = 0 ] && [ -s "$T/dry2.before" ] && cmp -s "$T/dry2.before" "$T/dry2.after" &&
	    cmp -s "$T/dry.before" "$T/dry.after2"; then
		t_pass dry_run_existing_folder_unchanged
	else
		t_fail dry_run_existing_folder_unchanged "$(why_of "$T/dry2"); $(wc -l <"$T/dry2.before") -> $(wc -l <"$T/dry2.after") messages"
	fi
fi

# --- UIDVALIDITY change ------------------------------------------------------------

if want uidvalidity; then
	# Dovecot gives a folder a new UIDVALIDITY (and new UIDs) when its
	# dovecot-uidlist and indexes are gone: as after a server's rebuild.
	up "$T/uv1" "$V" --tls-ca "$DV_CA" --account "$ACCT_A2" --to "imaps://ub@$IMAPS/Uv"
	[ "$UP_RC" = 0 ] || t_fail uidvalidity_first_run "$(why_of "$T/uv1")"
	uvdir=$(folder_dir Uv)
	v1=$(sed -n '1s/.* V\([0-9]*\) .*/\1/p' "$uvdir/dovecot-uidlist")
	sleep 1.1	# UIDVALIDITY is a time in seconds
	rm -f "$uvdir/dovecot-uidlist" "$uvdir"/dovecot.index*
	ic_list Uv "$T/uv.list"
	v2=$(sed -n '1s/.* V\([0-9]*\) .*/\1/p' "$uvdir/dovecot-uidlist")
	if [ -n "$v1" ] && [ -n "$v2" ] && [ "$v1" != "$v2" ] &&
	    [ "$(wc -l <"$T/uv.list")" = "$NA2" ]; then
		up "$T/uv2" "$V" --tls-ca "$DV_CA" --account "$ACCT_A2" --to "imaps://ub@$IMAPS/Uv"
		if [ "$UP_RC" = 0 ] && [ "$(jf "$T/uv2" sent)" = 0 ] &&
		    [ "$(jf "$T/uv2" uidvalidity_changed)" = True ]; then
			t_pass uidvalidity_change_nothing_sent
		else
			t_fail uidvalidity_change_nothing_sent "$(why_of "$T/uv2")"
		fi
		emit < <(judge uidvalidity_reproved Uv "$T/want.pa2" "$T/meta.pa2" \
		    "$F0" "$F1" '\Seen' "$V")
	else
		t_fail uidvalidity_setup "UIDVALIDITY $v1 -> $v2, $(wc -l <"$T/uv.list") messages listed"
	fi
fi

# --- selection ----------------------------------------------------------------

if want select; then
	sel() {	# NAME RULE ARGS...
		local name=$1 rule=$2
		shift 2
		python3 "$UC" select "$rule" "$T/meta.pa" "$T/meta.pa2" >"$T/want.sel.$name"
		if [ ! -s "$T/want.sel.$name" ] ||
		    [ "$(wc -l <"$T/want.sel.$name")" = $((NA + NA2)) ]; then
			t_fail "select_$name" "the rule $rule selects $(wc -l <"$T/want.sel.$name") of $((NA + NA2)): a test that cannot fail"
			return
		fi
		up "$T/sel.$name" "$V" --tls-ca "$DV_CA" "$@" --to "imaps://ub@$IMAPS/Sel$name"
		[ "$UP_RC" = 0 ] || t_fail "select_${name}_run" "$(why_of "$T/sel.$name")"
		emit < <(judge "select_$name" "Sel$name" "$T/want.sel.$name" "$T/meta.all" \
		    "$F0" "$F1" '\Seen' "$V")
	}
	up "$T/sel.acct" "$V" --tls-ca "$DV_CA" --account "$ACCT_A2" \
	    --to "imaps://ub@$IMAPS/SelAcct"
	[ "$UP_RC" = 0 ] || t_fail select_account_run "$(why_of "$T/sel.acct")"
	emit < <(judge select_account SelAcct "$T/want.pa2" "$T/meta.pa2" "$F0" "$F1" '\Seen' "$V")
	# --account twice: both accounts' messages, each once.
	up "$T/sel.both" "$V" --tls-ca "$DV_CA" --account "$ACCT_A2" \
	    --account "$ACCT_A" --to "imaps://ub@$IMAPS/SelBoth"
	[ "$UP_RC" = 0 ] || t_fail select_two_accounts_run "$(why_of "$T/sel.both")"
	emit < <(judge select_two_accounts SelBoth "$T/want.all" "$T/meta.all" "$F0" "$F1" '\Seen' "$V")
	sel subject subject:report --subject Report
	# Two days of genmail's dates (1700000000 + n * 97 s).
	s=$(( (1700000000 / 86400 + 1) * 86400 ))
	sel dates "dates:$s:$((s + 86400 * 2))" --since "$(date -u -d "@$s" +%F)" \
	    --until "$(date -u -d "@$((s + 86400 * 2))" +%F)"
fi

# --- kill -9 torture ----------------------------------------------------------

# kill_case I DELAY: a fresh copy of the vault, pa's messages to folder
# K<I>, killed after DELAY ms; then the invariants, a clean rerun, judge.
kill_case() {
	local i=$1 d=$2 f KV
	f=$(printf 'K%02d' "$i")
	KV=$W/v
	cp -a "$V" "$KV"
	killrun "$W/run" --delay-ms "$d" -- --tls-ca "$DV_CA" --account "$ACCT_A" \
	    --to "imaps://ub@$IMAPS/$f"
	local k
	k=$(cat "$W/run.kill")
	case "$k" in
	none*) echo "note: kill_$f: not killed ($k, exit $UP_RC)" ;;
	*) echo "KILLED $f after $d ms: exit $UP_RC" ;;
	esac
	: >"$W/mid"
	ic_list "$f" "$W/mid" || : >"$W/mid"
	echo "note: kill_$f: after the kill $(wc -l <"$W/mid") in the folder, $(sqlite3 "$KV/index.sqlite" "select count(*) from deliveries where state = 'proven'" 2>&1) proven in the index"
	local p
	if p=$(python3 "$UC" truthful "$KV" "$f" "$W/mid" 2>&1); then
		echo "PASS kill_${f}_index_claims_no_more"
	else
		echo "FAIL kill_${f}_index_claims_no_more: ${p//$'\n'/; } ($k)"
	fi
	up "$W/re" "$KV" --tls-ca "$DV_CA" --account "$ACCT_A" --to "imaps://ub@$IMAPS/$f"
	[ "$UP_RC" = 0 ] && echo "PASS kill_${f}_rerun_exit_0" ||
	    echo "FAIL kill_${f}_rerun_exit_0: $(why_of "$W/re")"
	judge "kill_$f" "$f" "$T/want.pa" "$T/meta.pa" "$F0" "$F1" '\Seen' "$KV"
	up "$W/re2" "$KV" --tls-ca "$DV_CA" --account "$ACCT_A" --to "imaps://ub@$IMAPS/$f"
	[ "$UP_RC" = 0 ] && [ "$(jf "$W/re2" sent)" = 0 ] &&
	    echo "PASS kill_${f}_second_rerun_sends_nothing" ||
	    echo "FAIL kill_${f}_second_rerun_sends_nothing: $(why_of "$W/re2")"
}

if want kill; then
	# The run's length, measured from the same moment as the delays.
	W=$T/w/measure-kill
	mkdir -p "$W"
	KV=$W/v
	cp -a "$V" "$KV"
	killrun "$W/run" --victim none -- --tls-ca "$DV_CA" --account "$ACCT_A" \
	    --to "imaps://ub@$IMAPS/K00"
	dur=$(sed -n 's/^none: the run ended after \([0-9]*\) ms$/\1/p' "$W/run.kill")
	if [ "$UP_RC" != 0 ] || [ -z "$dur" ]; then
		t_fail kill_measure "$(why_of "$W/run"); killwhen: $(cat "$W/run.kill")"
	else
		echo "note: an upload of $NA messages takes $dur ms"
		for i in $(seq 1 "$KILLS"); do
			# From 3 % to 90 % of the measured run.
			launch "kill_$i" kill_case "$i" $((dur * (3 + (87 * (i - 1)) / (KILLS - 1)) / 100))
		done
		collect
		# The run may be quicker than measured: one may miss.
		killed=$(cat "$T"/res.* | grep -c '^KILLED ')
		[ "$killed" -ge $((KILLS - 1)) ] && t_pass kill_instants_hit ||
		    t_fail kill_instants_hit "only $killed of $KILLS runs were killed mid-run"
	fi
	echo "note: kill section done at $((SECONDS - START)) s"
fi

# --- cut connections ------------------------------------------------------------

start_proxy() {	# CUTFILE LOG -> PROXY_PID, PROXY_PORT
	local pf=$W/port i
	rm -f "$pf"
	python3 "$PROXY" --target "127.0.0.1:$DV_IMAPS_PORT" --port-file "$pf" \
	    --cut-file "$1" --log "$2" >/dev/null 2>"$W/proxy.err" &
	PROXY_PID=$!
	echo "$PROXY_PID" >"$W/proxy.pid"
	for i in $(seq 1 200); do
		[ -s "$pf" ] && break
		sleep 0.02
	done
	PROXY_PORT=$(cat "$pf" 2>/dev/null)
	[ -n "$PROXY_PORT" ]
}
stop_proxy() {
	kill "$PROXY_PID" 2>/dev/null
	wait "$PROXY_PID" 2>/dev/null
	rm -f "$W/proxy.pid"
}
t_on_exit 'for p in "$T"/w/*/proxy.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done'

cut_case() {	# I K WHERE
	local i=$1 k=$2 where=$3 f KV rc
	f=$(printf 'C%02d' "$i")
	KV=$W/v
	cp -a "$V" "$KV"
	echo "$k" >"$W/cut"
	start_proxy "$W/cut" "$W/proxy.log" || { echo "FAIL cut_$f: proxy did not start"; return; }
	up "$W/run" "$KV" --tls-ca "$DV_CA" --account "$ACCT_A" \
	    --to "imaps://ub@127.0.0.1:$PROXY_PORT/$f"
	rc=$UP_RC
	# A lost connection is 69 (as for POP3) or 75 (temporary); 0 only
	# when the cut came after the last proof was recorded.
	if [ "$rc" != 69 ] && [ "$rc" != 75 ] &&
	    { [ "$rc" != 0 ] || [ "$(jf "$W/run" proven)" != "$NA" ]; }; then
		echo "FAIL cut_${f}_faulty_run: $(why_of "$W/run") (cut at $k, $where)"
	else
		echo "PASS cut_${f}_faulty_run"
	fi
	echo "note: cut_$f: cut at $k ($where): exit $rc $(tail -n 1 "$W/run.err")"
	ic_list "$f" "$W/mid" || : >"$W/mid"
	echo "note: cut_$f: after the cut $(wc -l <"$W/mid") in the folder, $(sqlite3 "$KV/index.sqlite" "select count(*) from deliveries where state = 'proven'" 2>&1) proven in the index"
	local p
	p=$(python3 "$UC" truthful "$KV" "$f" "$W/mid" 2>&1) &&
	    echo "PASS cut_${f}_index_claims_no_more" ||
	    echo "FAIL cut_${f}_index_claims_no_more: ${p//$'\n'/; }"
	echo 0 >"$W/cut"
	up "$W/re" "$KV" --tls-ca "$DV_CA" --account "$ACCT_A" \
	    --to "imaps://ub@127.0.0.1:$PROXY_PORT/$f"
	[ "$UP_RC" = 0 ] && echo "PASS cut_${f}_rerun_exit_0" ||
	    echo "FAIL cut_${f}_rerun_exit_0: $(why_of "$W/re") (cut at $k, $where)"
	stop_proxy
	judge "cut_$f" "$f" "$T/want.pa" "$T/meta.pa" "$F0" "$F1" '\Seen' "$KV"
}

if want cut; then
	W=$T/w/measure-cut
	mkdir -p "$W"
	KV=$W/v
	cp -a "$V" "$KV"
	echo 0 >"$W/cut"
	if start_proxy "$W/cut" "$W/proxy.log"; then
		up "$W/run" "$KV" --tls-ca "$DV_CA" --account "$ACCT_A" \
		    --to "imaps://ub@127.0.0.1:$PROXY_PORT/C00"
		stop_proxy
		[ "$UP_RC" = 0 ] || t_fail cut_measure "$(why_of "$W/run")"
	else
		t_fail cut_measure "proxy did not start"
	fi
	# Offsets: a third spread over the whole session, a third inside
	# large client records (APPEND literals), a third inside large
	# server records after the first of those (the proof's FETCH).
	python3 - "$W/proxy.log" "$CUTS" >"$T/cuts" <<'EOF'
import sys
log, n = sys.argv[1], int(sys.argv[2])
recs, total, conn = [], 0, 0
for line in open(log):
    f = line.split()
    if f[0] == "conn":
        conn += 1
    elif f[0] == "rec" and conn == 1:
        recs.append((f[1], int(f[3]), int(f[5])))
    elif f[0] == "end" and conn == 1:
        total = int(f[4].split("=")[1])
big_c = [r for r in recs if r[0] == "c2s" and r[1] > 2000]
first = big_c[0][2] if big_c else 0
big_s = [r for r in recs if r[0] == "s2c" and r[1] > 2000 and r[2] > first]
a = n // 3
b = (n - a) // 2
c = n - a - b
out = []
for i in range(a):
    out.append((total * (i + 1) // (a + 1), "spread"))
def pick(rs, m, what):
    for i in range(m):
        if not rs:
            out.append((total * (i + 1) // (m + 2), what + "-none"))
            continue
        r = rs[(len(rs) - 1) * i // max(m - 1, 1)]
        # Inside the record's body, at a point that varies.
        out.append((r[2] + 5 + r[1] * (i + 1) // (m + 1), what))
pick(big_c, b, "append")
pick(big_s, c, "fetch")
for k, w in out:
    print(k, w)
print("total", total, "client-records", len(big_c), "server-records",
      len(big_s), file=sys.stderr)
EOF
	echo "note: cut offsets over a session of $(awk '$1 == "end" { print $5; exit }' "$W/proxy.log")"
	if [ "$(wc -l <"$T/cuts")" = "$CUTS" ] && ! grep -q -- '-none' "$T/cuts"; then
		t_pass cut_offsets_aimed
	else
		t_fail cut_offsets_aimed "no large TLS records to aim at: $(tr '\n' ' ' <"$T/cuts")"
	fi
	i=0
	while read -r k where; do
		i=$((i + 1))
		launch "cut_$i" cut_case "$i" "$k" "$where"
	done <"$T/cuts"
	collect
	echo "note: cut section done at $((SECONDS - START)) s"
fi

# --- big: the Done-when case ----------------------------------------------------

if want big; then
	nb=$(gen "$SRC/pb" $((BIG_N + BIG_N / 20 + 10)) 71) ||
	    { t_fail big_generate genmail; nb=0; }
	# Exactly BIG_N of them.
	find "$SRC/pb/new" -type f | LC_ALL=C sort | tail -n +"$((BIG_N + 1))" |
	    xargs -r rm -f
	pv_fill pb "$SRC/pb/new"
	dv_server_files pb | xargs -d '\n' python3 "$UC" meta >"$T/meta.pb"
	cut -d' ' -f1 "$T/meta.pb" | LC_ALL=C sort -u >"$T/want.pb"
	VB=$T/vault-big
	B0=$(date +%s)
	pv_fetch "$VB" "$PW" --tls-ca "$DV_CA" "pop3s://pb@localhost:$DV_POP3S_PORT"
	B1=$(($(date +%s) + 1))
	if [ "$PV_RC" = 0 ] && [ "$(wc -l <"$T/want.pb")" = "$BIG_N" ] &&
	    [ "$(pv_sql "$VB" "select count(*) from messages")" = "$BIG_N" ]; then
		t_pass big_fetched
	else
		t_fail big_fetched "fetch exit $PV_RC, $(wc -l <"$T/want.pb") distinct expected (want $BIG_N) from $nb generated: $(last_lines "$PV_OUT")"
	fi
	echo "note: $BIG_N messages, $(du -sb "$SRC/pb/new" | cut -f1) bytes, fetched at $((SECONDS - START)) s"
	KV=$VB
	W=$T/w/big
	mkdir -p "$W"
	# Run 1 is killed once a quarter of the deliveries are recorded (just
	# after a batch's commit); runs 2 and 3 after as long as run 1 took
	# to get there, plus 37 and 71 ms (amid a batch).
	kills=0
	ms=
	for q in 1 2 3; do
		if [ -z "$ms" ]; then
			cue=(--index "$VB/index.sqlite" --timeout 300 --sql
			    "select count(*) >= $((BIG_N / 4)) from deliveries")
		else
			cue=(--delay-ms $((ms + (q == 2 ? 37 : 71))))
		fi
		killrun "$W/run$q" "${cue[@]}" -- \
		    --tls-ca "$DV_CA" --to "imaps://ub@$IMAPS/Big"
		k=$(cat "$W/run$q.kill")
		case "$k" in
		none*) echo "note: big run $q not killed: $k (exit $UP_RC)" ;;
		*) kills=$((kills + 1)); echo "note: big run $q killed: $k" ;;
		esac
		[ -n "$ms" ] || ms=$(sed -n 's/.* after \([0-9]*\) ms.*/\1/p' "$W/run$q.kill")
		ms=${ms:-1000}
		ic_list Big "$W/mid$q" || : >"$W/mid$q"
		echo "note: big run $q: after the kill $(wc -l <"$W/mid$q") in the folder, $(sqlite3 "$VB/index.sqlite" "select count(*) from deliveries where state = 'proven'" 2>&1) proven in the index"
		p=$(python3 "$UC" truthful "$VB" Big "$W/mid$q" 2>&1) &&
		    t_pass "big_kill${q}_index_claims_no_more" ||
		    t_fail "big_kill${q}_index_claims_no_more" "${p//$'\n'/; }"
		n=$(awk '{ print $2 }' "$W/mid$q" | sort | uniq -d | wc -l)
		[ "$n" = 0 ] && t_pass "big_kill${q}_no_duplicate_yet" ||
		    t_fail "big_kill${q}_no_duplicate_yet" "$n messages twice in Big after run $q"
	done
	[ "$kills" = 3 ] && t_pass big_killed_three_times ||
	    t_fail big_killed_three_times "$kills of 3 runs killed mid-run"
	t_before=$SECONDS
	up "$W/final" "$VB" --tls-ca "$DV_CA" --to "imaps://ub@$IMAPS/Big"
	[ "$UP_RC" = 0 ] && t_pass big_final_run_exit_0 || t_fail big_final_run_exit_0 "$(why_of "$W/final")"
	echo "note: final big run: $((SECONDS - t_before)) s, $(head -c 300 "$W/final")"
	emit < <(judge big Big "$T/want.pb" "$T/meta.pb" "$B0" "$B1" '\Seen' "$VB")
	[ "$(wc -l <"$T/list.Big")" = "$BIG_N" ] && t_pass "big_${BIG_N}_in_folder" ||
	    t_fail "big_${BIG_N}_in_folder" "$(wc -l <"$T/list.Big") messages in Big"
	echo "note: big section done at $((SECONDS - START)) s"
fi

# --- a server without TLS ----------------------------------------------------------

if want plain; then
	dv_stop
	dv_start "$T/dv2" --no-ssl --imap || { t_fail dovecot_nossl "could not start"; t_done; }
	dv_adduser ub "$PW"
	sleep 1.1
	mark=$(dv_log_mark)
	up "$T/pl" "$V" --account "$ACCT_A2" --to "imap://ub@127.0.0.1:$DV_IMAP_PORT/Plain"
	sleep 0.3
	if [ "$UP_RC" = 78 ] && [ ! -e "$(folder_dir Plain)" ] &&
	    ! tail -c +"$((mark + 1))" "$DV_DIR/log/dovecot.log" | grep -q 'Login: user=<ub>'; then
		t_pass no_starttls_refused
	else
		t_fail no_starttls_refused "$(why_of "$T/pl"); $(tail -c +"$((mark + 1))" "$DV_DIR/log/dovecot.log" | grep -c 'Login: user=<ub>') login(s) in Dovecot's log"
	fi
	up "$T/pl2" "$V" --account "$ACCT_A2" --insecure-plaintext \
	    --to "imap://ub@127.0.0.1:$DV_IMAP_PORT/Plain"
	find "$(folder_dir Plain)/new" "$(folder_dir Plain)/cur" -type f -print0 2>/dev/null |
	    xargs -r -0 python3 -c '
import hashlib, sys
for p in sys.argv[1:]:
    print(hashlib.sha256(open(p, "rb").read().replace(b"\r\n", b"\n")).hexdigest())
' | LC_ALL=C sort >"$T/plain.got"
	if [ "$UP_RC" = 0 ] && cmp -s "$T/plain.got" "$T/want.pa2"; then
		t_pass insecure_plaintext_allowed
	else
		t_fail insecure_plaintext_allowed "$(why_of "$T/pl2"); $(wc -l <"$T/plain.got") files in .Plain, want $NA2 equal"
	fi
fi

echo "note: runtime $((SECONDS - START)) s"
t_done
