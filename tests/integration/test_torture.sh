#!/usr/bin/env bash
# test_torture.sh -- "verified delete" never loses mail (a crash,
# a cut connection or a full disk at any point), against a private Dovecot:
#
#  1. crash matrix: per format (maildir, mbox, mbox.gz, tar.gz) and crash
#     point, a fresh mailbox (40 messages, 2 over 1 MiB, --batch 10), a
#     "fetch --delete=verified" that abort()s there (exit 134), checks of
#     the state it left, then two clean runs (exit 0) and the invariants:
#     I1 the server is empty and the archive holds every original message
#     (check_archive.py compares the hash multisets), I2 the archive passes
#     check_archive.py, I3 no message stored twice, I4 integrity_check ok,
#     every row verified, no sighting delete_pending; "popvault verify" 0.
#  2. network cuts: the same through tests/lib/cutproxy.py, cutting the TLS
#     stream after K bytes, K spread over a measured session and aimed at
#     the DELE and QUIT records.
#  3. full disk (ulimit -f): exit 74, one clear error line, no DELE, the
#     archive back at its committed state after recovery.
#  4. a byte flipped between write and read-back: exit 79, no DELE;
#     "popvault verify" finds altered, missing and truncated archives.
#  5. --delete=older-than with POPVAULT_NOW: prune --plan and prune agree,
#     --max-deletes caps, --age-by date, fetch --dry-run writes nothing.
#
# Environment: TORTURE_JOBS (parallel cases, default 2), TORTURE_FORMATS
# (default "maildir mbox mbox.gz tar.gz"), TORTURE_SECTIONS (default
# "matrix proxy disk flip age"), KEEP=1 keeps the temp folder.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

JOBS=${TORTURE_JOBS:-2}
FORMATS=${TORTURE_FORMATS:-"maildir mbox mbox.gz tar.gz"}
SECTIONS=${TORTURE_SECTIONS:-"matrix proxy disk flip age"}
NMSG=40
BATCH=10
PW=torture-pw
CHECK=$T_ROOT/tests/lib/check_archive.py
EXPECT=$T_ROOT/tests/lib/expect.py
PROXY=$T_ROOT/tests/lib/cutproxy.py
T=$(t_tmpdir)
START=$SECONDS

want() { case " $SECTIONS " in *" $1 "*) return 0 ;; esac; return 1; }

dv_start "$T/dv" || { t_fail dovecot_start "could not start Dovecot"; t_done; }
URLBASE="localhost:$DV_POP3S_PORT"

# The mailbox every case starts from: generated once, copied per case.
GEN=$T/gen
python3 "$T_ROOT/tests/gen/genmail.py" --count "$NMSG" --seed 29 \
    --big-every 20 --big-size 1200000 "$GEN" >/dev/null ||
    { t_fail genmail "generator failed"; t_done; }
# Expected stored hashes, and "file-name hash" to find a server file's hash
# after Dovecot renamed it (new/NAME -> cur/NAME:2,S).
(cd "$GEN/new" && ls) | LC_ALL=C sort >"$T/names"
# shellcheck disable=SC2046  # genmail names have no spaces
(cd "$GEN/new" && python3 "$EXPECT" sha256 $(cat "$T/names")) >"$T/hashes" ||
    { t_fail expect "expect.py sha256 failed"; t_done; }
paste -d' ' "$T/names" "$T/hashes" | LC_ALL=C sort >"$T/name2hash"
LC_ALL=C sort "$T/hashes" >"$T/expected"
[ "$(wc -l <"$T/expected")" = "$NMSG" ] && [ "$(LC_ALL=C sort -u "$T/expected" | wc -l)" = "$NMSG" ] ||
    { t_fail setup "want $NMSG distinct expected hashes"; t_done; }

# Dovecot's passwd-file looks at its file again at most once a second:
# a user added after a login in the same second is unknown. So every user
# is made here, before the first login (names of one length: the proxy
# section compares byte counts of sessions of different users).
NUSER=0
POOL=()
NEED=$(( $(echo $FORMATS | wc -w) * 16 + 100 ))
for i in $(seq 1 "$NEED"); do
	NUSER=$((NUSER + 1))
	u=$(printf 'u%03d' "$NUSER")
	dv_adduser "$u" "$PW" || { t_fail adduser "$u"; t_done; }
	POOL+=("$u")
done
sleep 1.1
new_user() {	# a fresh user from the pool, in NEWU
	[ "${#POOL[@]}" -gt 0 ] || { echo "user pool exhausted" >&2; return 1; }
	NEWU=${POOL[0]}
	POOL=("${POOL[@]:1}")
}

# --- helpers used inside cases (run in subshells) -------------------------

# Sorted hashes of the messages the server holds now.
server_hashes() {
	dv_server_files "$1" | sed 's#.*/##; s/:2,.*$//' | LC_ALL=C sort |
	    LC_ALL=C join -o 2.2 - "$T/name2hash" | LC_ALL=C sort
}
server_count() { dv_server_files "$1" | wc -l; }

fetch() {	# FORMAT VAULT URL [ARGS...]; sets PV_RC, PV_OUT
	local f=$1 v=$2 url=$3
	shift 3
	# shellcheck disable=SC2046
	pv_fetch "$v" "$PW" $(pv_fmt_args "$f") --batch "$BATCH" \
	    --delete=verified --timeout 15 --tls-ca "$DV_CA" "$@" "$url"
}

last_lines() { printf '%s' "$1" | tail -n "${2:-3}" | tr '\n' '|'; }

# Mid-run invariants, after a faulty run and before any other: every
# original message is still on the server or verified in the index (I1),
# and what the index calls archived or verified is on the disk, intact
# ("popvault verify" reads only committed locations, so bytes a crash
# left past them do not count). Prints problems; status 1 if any.
mid_problems() {	# USER VAULT
	local u=$1 v=$2 lost out
	server_hashes "$u" >"$W/srv"
	if [ ! -f "$v/index.sqlite" ]; then
		[ "$(wc -l <"$W/srv")" = "$NMSG" ] && return 0
		echo "I1: no index, but the server has only $(wc -l <"$W/srv") message(s)"
		return 1
	fi
	pv_sql "$v" "select lower(hex(sha256)) from messages where state = 'verified'" |
	    LC_ALL=C sort >"$W/ver"
	LC_ALL=C sort -u "$W/srv" "$W/ver" >"$W/have"
	lost=$(LC_ALL=C comm -23 "$T/expected" "$W/have" | wc -l)
	local bad=0
	if ! out=$("$POPVAULT" verify --vault "$v" 2>&1); then
		echo "popvault verify (before recovery) failed: $(last_lines "$out")"
		bad=1
	fi
	if [ "$lost" != 0 ]; then
		echo "I1: $lost message(s) neither on the server nor verified in the index"
		bad=1
	fi
	return $bad
}

deleted_but_present() {	# USER VAULT -> count of 'deleted' sightings still on the server
	[ -f "$2/index.sqlite" ] || { echo 0; return; }
	server_hashes "$1" >"$W/srv2"
	pv_sql "$2" "select lower(hex(m.sha256)) from sightings s join messages m on m.id = s.msg where s.state = 'deleted'" |
	    LC_ALL=C sort | LC_ALL=C comm -12 - "$W/srv2" | wc -l
}

# Clean runs and the end-state invariants. Prints "PASS NAME" or
# "FAIL NAME: why".
finish() {	# NAME FORMAT USER VAULT URL
	local name=$1 f=$2 u=$3 v=$4 url=$5 why="" ad p q
	fetch "$f" "$v" "$url"
	if [ "$PV_RC" -ne 0 ]; then
		echo "FAIL $name: clean run rc=$PV_RC: $(last_lines "$PV_OUT" 4)"
		return
	fi
	fetch "$f" "$v" "$url"
	if [ "$PV_RC" -ne 0 ] || [ "$(pv_field new)" != 0 ]; then
		echo "FAIL $name: second clean run rc=$PV_RC new=$(pv_field new): $(last_lines "$PV_OUT")"
		return
	fi
	[ "$(server_count "$u")" = 0 ] || why="server still has $(server_count "$u") message(s)"
	ad=$(pv_account_dir "$v") || { echo "FAIL $name: no account folder"; return; }
	python3 "$CHECK" "$f" "$ad" "$T/expected" >"$W/check" 2>&1 ||
	    why="$why; check_archive: $(head -n 6 "$W/check" | tr '\n' '|')"
	p=$(pv_index_problems "$v" "$NMSG") || why="$why; index: $p"
	[ "$(pv_sql "$v" "select count(*) from sightings where state = 'deleted'")" = "$NMSG" ] ||
	    why="$why; sightings: $(pv_sql "$v" "select state || '=' || count(*) from sightings group by state" | tr '\n' ' ')"
	"$POPVAULT" verify --vault "$v" >"$W/verify" 2>&1 ||
	    why="$why; popvault verify rc=$?: $(tail -n 3 "$W/verify" | tr '\n' '|')"
	q=$(find "$ad/quarantine" -type f 2>/dev/null | wc -l)
	[ "$q" -eq 0 ] || echo "note: $name: $q quarantine file(s) kept"
	if [ -z "$why" ]; then echo "PASS $name"; else echo "FAIL $name: ${why#; }"; fi
}

# --- parallel cases -------------------------------------------------------
# A case runs in a background subshell with its own work folder $W and
# writes PASS/FAIL/note lines to a file; the results are counted here, in
# order, once all have ended.
NCASE=0		# cases launched so far (never reset: work folders stay apart)
CASES=()	# "ID NAME" of the cases not collected yet
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
		mkdir -p "$W"
		"$@"
	) >"$T/res.$NCASE" 2>&1 </dev/null &
}

collect() {
	local c id line n got
	wait
	for c in "${CASES[@]}"; do
		id=${c%% *}
		got=0
		while IFS= read -r line; do
			case "$line" in
			"PASS "*) t_pass "${line#PASS }"; got=1 ;;
			"FAIL "*)
				n=${line#FAIL }
				t_fail "${n%%: *}" "${n#*: }"
				got=1 ;;
			"SKIP "*)
				n=${line#SKIP }
				t_skip "${n%%: *}" "${n#*: }" ;;
			*) printf '%s\n' "$line" ;;
			esac
		done <"$T/res.$id"
		[ "$got" = 1 ] || t_fail "${c#* }" "case printed no result: $(tail -n 3 "$T/res.$id" | tr '\n' '|')"
	done
	CASES=()
}

# --- 1. crash matrix ------------------------------------------------------

# FORMAT POINT:N [FIRST_POINT:N]: with FIRST, a run crashes there first
# (leaving work for recovery), then the run under test crashes at POINT.
matrix_case() {
	local f=$1 spec=$2 first=${3:-} u=$4 point=${2%%:*} name v url why="" n
	name="crash_${f}_${point}${first:+_after_${first%%:*}}"
	v=$W/vault
	url="pop3s://$u@$URLBASE"
	pv_fill "$u" "$GEN/new" || { echo "FAIL $name: cannot fill mailbox"; return; }
	if [ -n "$first" ]; then
		POPVAULT_CRASH=$first fetch "$f" "$v" "$url"
		[ "$PV_RC" -eq 134 ] || {
			echo "FAIL $name: first crash $first: rc=$PV_RC: $(last_lines "$PV_OUT")"; return; }
	fi
	POPVAULT_CRASH=$spec fetch "$f" "$v" "$url"
	if [ "$PV_RC" -ne 134 ] ||
	    ! printf '%s' "$PV_OUT" | grep -qF "crash hook: abort at $point"; then
		echo "FAIL $name: POPVAULT_CRASH=$spec: rc=$PV_RC (want 134 from the hook): $(last_lines "$PV_OUT")"
		return
	fi
	why=$(mid_problems "$u" "$v")
	why=${why//$'\n'/; }
	n=$(server_count "$u")
	local pend dele
	pend=$(pv_sql "$v" "select count(*) from sightings where state = 'delete_pending'" 2>/dev/null || echo '?')
	dele=$(pv_sql "$v" "select count(*) from sightings where state = 'deleted'" 2>/dev/null || echo '?')
	[ "$dele" = 0 ] || why="$why; $dele sightings marked deleted by a run that never saw QUIT's +OK"
	case "$point" in
	quit-ok)
		[ "$n" = 0 ] || why="$why; QUIT answered +OK but the server still has $n"
		[ "$pend" = "$NMSG" ] || why="$why; $pend sightings delete_pending after the crash, want $NMSG" ;;
	quit-sent)
		[ "$pend" = "$NMSG" ] || why="$why; $pend sightings delete_pending after the crash, want $NMSG"
		echo "note: $name: after QUIT without its reply the server has $n message(s)" ;;
	delete-pending|dele)
		[ "$n" = "$NMSG" ] || why="$why; no QUIT was sent but the server has only $n"
		[ "$pend" = "$NMSG" ] || why="$why; $pend sightings delete_pending, want $NMSG" ;;
	*)
		[ "$n" = "$NMSG" ] || why="$why; crash before any DELE but the server has only $n" ;;
	esac
	if [ -n "$why" ]; then
		echo "FAIL $name: after the crash: ${why#; }"
		return
	fi
	finish "$name" "$f" "$u" "$v" "$url"
}

COMMON_POINTS="retr-begin:15 retr-mid-body:1 before-intent-commit:2
    intent-committed:2 archive-synced:2 batch-committed:2 verify:2
    verified-committed:2 delete-pending:1 dele:3 quit-sent:1 quit-ok:1
    recovery:1/archive-synced:2 verify:1/verify:2"
format_points() {
	case "$1" in
	maildir) echo "maildir-files-synced:2 maildir-first-rename:2" ;;
	mbox|mbox.gz) echo "mbox-written:2 mbox-quarantined:1/archive-synced:2" ;;
	tar*) echo "tar-volume-closed:2 tar-volume-renamed:2" ;;
	esac
}

if want matrix; then
	declare -A MUSER=()
	for f in $FORMATS; do
		for s in $COMMON_POINTS $(format_points "$f"); do
			new_user || { t_fail adduser "$f/$s"; t_done; }
			MUSER[$f/$s]=$NEWU
		done
	done
	for f in $FORMATS; do
		for s in $COMMON_POINTS $(format_points "$f"); do
			launch "crash_${f}_${s%%:*}" matrix_case "$f" "${s%%/*}" \
			    "$([ "$s" != "${s#*/}" ] && echo "${s#*/}")" "${MUSER[$f/$s]}"
		done
	done
	collect
	echo "note: crash matrix done at $((SECONDS - START)) s"
fi

# --- 2. network cuts ------------------------------------------------------

start_proxy() {	# CUTFILE LOG -> sets PROXY_PID, PROXY_PORT
	local pf=$W/port.$RANDOM i
	python3 "$PROXY" --target "127.0.0.1:$DV_POP3S_PORT" --port-file "$pf" \
	    --cut-file "$1" --log "$2" >/dev/null 2>"$W/proxy.err" &
	PROXY_PID=$!
	echo "$PROXY_PID" >"$W/proxy.pid"
	for i in $(seq 1 100); do
		[ -s "$pf" ] && break
		sleep 0.05
	done
	PROXY_PORT=$(cat "$pf" 2>/dev/null)
	[ -n "$PROXY_PORT" ]
}
stop_proxy() {
	kill "$PROXY_PID" 2>/dev/null
	wait "$PROXY_PID" 2>/dev/null
	rm -f "$W/proxy.pid"
}
# Proxies still running when the script ends (interrupted): by pid.
t_on_exit 'for p in "$T"/w/*/proxy.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done'

# FORMAT K MODE OPTS EXPECT USER [AIM]: a run through the proxy cutting
# after K bytes (MODE both|c2s|s2c; OPTS "", "rst", "hold=MS": see
# cutproxy.py), then clean runs through the same proxy (same
# port, so the same account) and the invariants. EXPECT names what the
# cut must lead to: any, keep-all (no QUIT reached the server, or a cut
# before any DELE), pending (QUIT sent, no reply: rows delete_pending),
# pending-gone (as pending, and the server executed QUIT), ok (no cut).
# AIM "LEN@BACK": the cut is meant to fall just after (or inside) the
# client's TLS record of LEN bytes starting BACK bytes before K; if this
# session's records lie elsewhere (commands grouped differently), only the
# invariants are checked, with a note.
proxy_case() {
	local f=$1 k=$2 mode=$3 rst=$4 expect=$5 u=$6 aim=${7:-} name v url why="" n pend m
	name="cut_${mode}_${k}_${f}${rst:+_${rst// /_}}"
	v=$W/vault
	pv_fill "$u" "$GEN/new" || { echo "FAIL $name: cannot fill mailbox"; return; }
	echo "$k $mode $rst" >"$W/cut"
	start_proxy "$W/cut" "$W/proxy.log" || { echo "FAIL $name: proxy did not start"; return; }
	url="pop3s://$u@localhost:$PROXY_PORT"
	fetch "$f" "$v" "$url"
	local rc=$PV_RC out=$PV_OUT
	if [ -n "$aim" ]; then
		local last
		last=$(awk '$1 == "conn" { on = ($2 == 1) } on && $1 == "rec" && $2 == "c2s" { r = $4 "@" $5 } END { print r }' "$W/proxy.log")
		if [ "$last" != "${aim%@*}@$((k - ${aim#*@}))" ]; then
			echo "SKIP ${name}_aimed_outcome: the cut missed its aim (last client record $last, want ${aim%@*}@$((k - ${aim#*@}))): only the invariants are checked"
			expect=any
		fi
	fi
	if [ "$rc" -ge 128 ] || [ "$rc" -eq 70 ]; then
		why="popvault died: rc=$rc: $(last_lines "$out")"
	fi
	m=$(mid_problems "$u" "$v") || why="$why; ${m//$'\n'/; }"
	n=$(server_count "$u")
	local dbp
	dbp=$(deleted_but_present "$u" "$v")
	[ "$dbp" = 0 ] || why="$why; $dbp sightings marked deleted while the server still has them"
	pend=$(pv_sql "$v" "select count(*) from sightings where state = 'delete_pending'" 2>/dev/null || echo 0)
	case "$expect" in
	keep-all)
		[ "$rc" -ne 0 ] || why="$why; rc=0 though the session was cut"
		[ "$n" = "$NMSG" ] || why="$why; the server has $n, want all $NMSG (no QUIT reached it)" ;;
	pending|pending-gone)
		[ "$rc" -ne 0 ] || why="$why; rc=0 though QUIT's reply was cut"
		[ "$pend" = "$NMSG" ] || why="$why; $pend sightings delete_pending, want $NMSG"
		if [ "$expect" = pending-gone ]; then
			[ "$n" = 0 ] || why="$why; the server has $n (QUIT reached it whole)"
		else
			echo "note: $name: the server has $n after QUIT without its reply"
		fi ;;
	ok)
		[ "$rc" -eq 0 ] && [ "$n" = 0 ] || why="$why; rc=$rc server=$n, want 0 and 0" ;;
	esac
	why=${why#; }
	if [ -n "$why" ]; then
		echo "FAIL $name: after the cut (rc=$rc, $(grep '^end' "$W/proxy.log" | head -n 1)): $why"
		stop_proxy
		return
	fi
	echo 0 >"$W/cut"
	finish "$name" "$f" "$u" "$v" "$url"
	stop_proxy
}

if want proxy; then
	# Measure one whole session (same user-name length, same mailbox).
	W=$T/w/measure
	mkdir -p "$W"
	new_user || { t_fail adduser proxy; t_done; }
	mu=$NEWU
	declare -a PUSER=()
	for i in $(seq 1 70); do
		new_user || { t_fail adduser proxy; t_done; }
		PUSER[i]=$NEWU
	done
	pv_fill "$mu" "$GEN/new"
	echo 0 >"$W/cut"
	if start_proxy "$W/cut" "$W/measure.log"; then
		fetch maildir "$W/vault" "pop3s://$mu@localhost:$PROXY_PORT"
		mrc=$PV_RC
		stop_proxy
	else
		mrc=proxy
	fi
	# The end of the session: the client's application records end with
	# 40 x DELE (TLS 1.3 record bodies of 25/26 bytes), QUIT (23) and
	# perhaps close_notify (19); then come QUIT's reply and the server's
	# close_notify. Offsets: TOT* of both directions, C2S*/S2C* of one.
	read -r TOTAL QSTART QREPLY QREPLY_S2C D1 C2S_QEND C2S_D3END DLAST < <(
	    awk -v n="$NMSG" '
		# Only the first session: popvault looks again in a second
		# session after one that archived something (a server such as Gmail
		# lists only part of the mailbox per session).
		seen { next }
		$1 == "rec" && $3 == 23 && $2 == "c2s" { c++; clen[c] = $4; cdir[c] = $5; ctot[c] = $6 }
		$1 == "rec" && $3 == 23 && $2 == "s2c" { s++; stot[s] = $6; sdir[s] = $5 }
		$1 == "end" { split($5, a, "="); total = a[2]; seen = 1 }
		END {
			q = clen[c] == 19 ? c - 1 : c; d1 = q - n
			if (d1 < 1 || clen[q] != 23) { print "bad"; exit }
			for (i = d1; i < q; i++) if (clen[i] != 25 && clen[i] != 26) { print "bad"; exit }
			for (i = 1; i <= s; i++) if (stot[i] > ctot[q]) { qr = stot[i]; qrs = sdir[i]; break }
			print total, ctot[q], qr, qrs, ctot[d1], cdir[q] + 28,
			    cdir[d1 + 2] + clen[d1 + 2] + 5, ctot[q - 1] + clen[q - 1] + 5
		}' "$W/measure.log")
	if [ "$mrc" != 0 ] || [ "$TOTAL" = bad ] || [ -z "${DLAST:-}" ]; then
		t_fail proxy_measure "measuring run rc=$mrc; log: $(tail -n 4 "$W/measure.log" 2>/dev/null | tr '\n' '|')"
	else
		t_pass proxy_measure
		echo "note: session $TOTAL bytes; DELEs from $D1, QUIT at $QSTART, its reply at $QREPLY"
		KS=()
		# The start: handshake, greeting, login, UIDL, LIST.
		for k in 1 100 311 700 1200 1700 2300 3000 3800; do KS+=("$k both"); done
		# Spread over the whole session (every seventh with a reset).
		for i in $(seq 1 36); do
			r=; [ $((i % 7)) = 0 ] && r=rst
			KS+=("$((i * TOTAL / 37)) both $r")
		done
		# Around the DELEs and QUIT.
		KS+=("$((D1 + 1)) both" "$((D1 + 30)) both" "$((D1 + 95)) both rst"
		    "$(((D1 + QSTART) / 2)) both" "$DLAST both" "$QSTART both"
		    "$((QSTART + 27)) both" "$((QREPLY + 10)) both" "$((TOTAL - 19)) both"
		    "$TOTAL both")
		idx=0
		for e in "${KS[@]}"; do
			idx=$((idx + 1))
			set -- $e
			f=$(echo $FORMATS | awk -v i=$idx '{ print $((i - 1) % NF + 1) }')
			exp=any
			# Well before the DELEs (sessions differ by a few
			# hundred bytes in how commands share TLS records).
			[ "$1" -lt $((D1 - 20000)) ] && exp=keep-all
			launch "cut_$idx" proxy_case "$f" "$1" "$2" "${3:-}" "$exp" "${PUSER[idx]}"
		done
		# Aimed precisely (the client's byte stream has not been seen
		# to depend on timing; proxy_case notes a miss): after the
		# third DELE; all of QUIT but its last byte;
		# all of QUIT (a cut happens as soon as K bytes have passed);
		# all of QUIT, then hold the connection until the server has
		# acted on it (its reply is dropped); one cut counting the
		# server's bytes only; and a control without any cut.
		for e in "$C2S_D3END c2s keep-all 25@30" \
		    "$((C2S_QEND - 1)) c2s pending 23@27" "$C2S_QEND c2s pending 23@28" \
		    "$C2S_QEND c2s pending-gone 23@28 hold=15000" \
		    "$C2S_QEND c2s pending-gone 23@28 rst hold=15000" \
		    "$((QREPLY_S2C / 2)) s2c any -" "0 both ok -"; do
			idx=$((idx + 1))
			set -- $e
			a=$4
			[ "$a" = - ] && a=
			f=$(echo $FORMATS | awk -v i=$idx '{ print $((i - 1) % NF + 1) }')
			launch "cut_$idx" proxy_case "$f" "$1" "$2" "${*:5}" "$3" "${PUSER[idx]}" "$a"
		done
		collect
	fi
	echo "note: network cuts done at $((SECONDS - START)) s"
fi

# --- 3. full disk ----------------------------------------------------------
# popvault ignores SIGXFSZ, so "ulimit -f" (KiB) makes a write fail with
# EFBIG. 1200 KiB: the big messages (1.6 MB) fail in the spool or as a
# Maildir file; 2000 KiB: the mbox file, or the last uncompressed tar
# volume (2.2 MB), itself outgrows it.

disk_case() {	# FORMAT LIMIT_KIB USER
	local f=$1 lim=$2 u=$3 name v url why="" out rc errs ad vf n
	name="full_disk_${f}_${lim}k"
	v=$W/vault
	url="pop3s://$u@$URLBASE"
	pv_fill "$u" "$GEN/new" || { echo "FAIL $name: cannot fill mailbox"; return; }
	# shellcheck disable=SC2046
	out=$( (ulimit -f "$lim" && POPVAULT_PASSWORD=$PW exec "$POPVAULT" fetch \
	    --vault "$v" $(pv_fmt_args "$f") --batch "$BATCH" --delete=verified \
	    --tls-ca "$DV_CA" "$url") 2>&1)
	rc=$?
	[ "$rc" -eq 74 ] || why="rc=$rc, want 74"
	errs=$(printf '%s\n' "$out" | grep -c '^popvault: ')
	[ "$errs" -eq 1 ] && printf '%s\n' "$out" | grep '^popvault: ' | grep -q 'File too large' ||
	    why="$why; want one error line saying 'File too large', got $errs: $(printf '%s\n' "$out" | grep '^popvault: ' | tr '\n' '|')"
	echo "note: $name: $(printf '%s\n' "$out" | grep '^popvault: ' | head -n 1)"
	printf '%s\n' "$out" | grep -q '^archived  *[1-9]' ||
	    echo "note: $name: nothing was archived before the disk filled"
	n=$(server_count "$u")
	[ "$n" = "$NMSG" ] || why="$why; the server has $n, want $NMSG (no DELE)"
	[ "$(pv_sql "$v" "select count(*) from sightings where state <> 'on_server'")" = 0 ] ||
	    why="$why; sightings left the on_server state"
	n=$(mid_problems "$u" "$v") || why="$why; ${n//$'\n'/; }"
	# Recovery alone: a run that cannot log in recovers first.
	# shellcheck disable=SC2046
	pv_fetch "$v" not-the-password $(pv_fmt_args "$f") --tls-ca "$DV_CA" "$url"
	[ "$PV_RC" -eq 77 ] || why="$why; recovery-only run rc=$PV_RC, want 77: $(last_lines "$PV_OUT")"
	ad=$(pv_account_dir "$v")
	[ "$(pv_sql "$v" "select count(*) from messages where state = 'pending'")" = 0 ] ||
	    why="$why; pending rows after recovery"
	case "$f" in
	maildir)
		[ -z "$(ls -A "$ad/maildir/tmp")" ] || why="$why; maildir/tmp not empty after recovery"
		n=$(find "$ad/maildir/new" "$ad/maildir/cur" -type f | wc -l)
		[ "$n" = "$(pv_sql "$v" "select count(*) from messages")" ] ||
		    why="$why; $n files in the Maildir, $(pv_sql "$v" "select count(*) from messages") rows" ;;
	mbox*)
		for vf in "$ad"/mbox/*; do
			[ -f "$vf" ] || continue
			n=$(pv_sql "$v" "select length from volumes where name = '$(basename "$vf")'")
			[ "$(stat -c %s "$vf")" = "$n" ] ||
			    why="$why; $(basename "$vf") is $(stat -c %s "$vf") bytes, committed length ${n:-none}"
		done ;;
	tar*)
		n=$(find "$ad" -name '*.part' | wc -l)
		[ "$n" = 0 ] || why="$why; $n .part file(s) after recovery"
		n=$(find "$ad/tar" -type f | wc -l)
		[ "$n" = "$(pv_sql "$v" "select count(*) from volumes")" ] ||
		    why="$why; $n tar volumes, $(pv_sql "$v" "select count(*) from volumes") in the index" ;;
	esac
	if [ -n "$why" ]; then
		echo "FAIL $name: ${why#; }"
		return
	fi
	finish "$name" "$f" "$u" "$v" "$url"
}

if want disk; then
	for e in "maildir 1200" "mbox 1200" "mbox 2000" "mbox.gz 2000" \
	    "tar.gz 1200" "tar 2000"; do
		new_user || { t_fail adduser disk; t_done; }
		set -- $e
		launch "full_disk_$1_$2" disk_case "$1" "$2" "$NEWU"
	done
fi

# --- 4. a byte flipped before the read-back; "popvault verify" ------------

# flip FORMAT ACCOUNT_DIR: toggle the case of one ASCII letter in the
# middle of a message (the same letter each time: a second call undoes the
# first): maildir: the first file in new/; mbox: near the end of the file;
# tar: in the last member's data. Never near a line start (no new "From "
# line). Prints "PATH OFFSET".
flip() {
	python3 - "$1" "$2" <<'PYEOF'
import os, sys, tarfile
fmt, ad = sys.argv[1], sys.argv[2]

def pick(data, start, stop, step):
    for i in range(start, stop, step):
        if chr(data[i]).isalpha() and data[i] < 128 and \
                i - (data.rfind(b"\n", 0, i) + 1) > 8:
            return i
    sys.exit("flip: no letter to change")

if fmt == "maildir":
    d = os.path.join(ad, "maildir", "new")
    path = os.path.join(d, sorted(os.listdir(d))[0])
    data = open(path, "rb").read()
    off = pick(data, len(data) // 2, len(data), 1)
elif fmt == "mbox":
    d = os.path.join(ad, "mbox")
    path = os.path.join(d, sorted(os.listdir(d))[0])
    data = open(path, "rb").read()
    off = pick(data, len(data) - 40, 0, -1)
else:
    d = os.path.join(ad, "tar")
    path = os.path.join(d, sorted(n for n in os.listdir(d) if n.endswith(".tar"))[0])
    with tarfile.open(path) as t:
        m = [x for x in t.getmembers() if x.isfile()][-1]
    data = open(path, "rb").read()
    off = pick(data, m.offset_data + m.size // 2, m.offset_data + m.size, 1)
with open(path, "r+b") as fh:
    fh.seek(off)
    fh.write(bytes([data[off] ^ 0x20]))
    fh.flush()
    os.fsync(fh.fileno())
print(path, off)
PYEOF
}

# With BATCH the flipped batch is read back while the next downloads and
# its outcome is recorded at the next batch; with NMSG the one batch is
# the last, recorded at the end of the download: both must stop deletion.
flip_case() {	# FORMAT USER [BATCH]
	local f=$1 u=$2 b=${3:-$BATCH} name v url why="" rc n ad pd where i
	name="byte_flip_before_verify_$f"
	[ "$b" = "$BATCH" ] || name="${name}_batch$b"
	v=$W/vault
	url="pop3s://$u@$URLBASE"
	pd=$W/pause
	mkdir -p "$pd"
	pv_fill "$u" "$GEN/new" || { echo "FAIL $name: cannot fill mailbox"; return; }
	# shellcheck disable=SC2046
	(POPVAULT_TEST_PAUSE=$pd POPVAULT_TEST_PAUSE_AT=verify \
	    POPVAULT_PASSWORD=$PW exec "$POPVAULT" fetch --vault "$v" \
	    $(pv_fmt_args "$f") --batch "$b" --delete=verified \
	    --tls-ca "$DV_CA" "$url" >"$W/out" 2>&1) &
	local pid=$!
	for i in $(seq 1 300); do
		[ -e "$pd/ready" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -e "$pd/ready" ]; then
		touch "$pd/go"
		wait "$pid"
		echo "FAIL $name: popvault never paused before verify: $(tail -n 3 "$W/out" | tr '\n' '|')"
		return
	fi
	ad=$(pv_account_dir "$v")
	where=$(flip "$f" "$ad" 2>&1) || why="flip failed: $where"
	touch "$pd/go"
	wait "$pid"
	rc=$?
	[ "$rc" -eq 79 ] || why="$why; rc=$rc, want 79 ($(tail -n 3 "$W/out" | tr '\n' '|'))"
	grep -q 'altered' "$W/out" || why="$why; no 'altered' in the output"
	n=$(server_count "$u")
	[ "$n" = "$NMSG" ] || why="$why; the server has $n, want $NMSG (no DELE)"
	[ "$(pv_sql "$v" "select count(*) from sightings where state <> 'on_server'")" = 0 ] ||
	    why="$why; sightings left the on_server state"
	n=$(pv_sql "$v" "select count(*) from messages where note like 'verify: altered%' and state <> 'verified'")
	[ "$n" = 1 ] || why="$why; $n rows noted 'verify: altered' and not verified, want 1"
	"$POPVAULT" verify --vault "$v" >"$W/verify" 2>&1
	rc=$?
	n=$(grep -c ': altered$' "$W/verify")
	[ "$rc" -eq 79 ] && [ "$n" = 1 ] && grep -q ' 1 altered' "$W/verify" ||
	    why="$why; popvault verify rc=$rc with $n 'altered' line(s): $(tr '\n' '|' <"$W/verify")"
	# The next run refuses to delete anything.
	fetch "$f" "$v" "$url"
	n=$(server_count "$u")
	[ "$PV_RC" -eq 79 ] && [ "$n" = "$NMSG" ] ||
	    why="$why; next --delete=verified run: rc=$PV_RC (want 79), server has $n: $(last_lines "$PV_OUT")"
	if [ -z "$why" ]; then echo "PASS $name"; else echo "FAIL $name: ${why#; } [flipped: $where]"; fi
}

# popvault verify on complete archives: a changed byte, a removed Maildir
# file, a truncated mbox.gz; each restored to show that verify is exact.
verify_case() {	# USER_MAILDIR USER_MBOXGZ
	local u1=$1 u2=$2 v1=$W/v1 v2=$W/v2 ad f1 f2 out rc n why where
	pv_fill "$u1" "$GEN/new" && pv_fill "$u2" "$GEN/new" ||
	    { echo "FAIL verify_setup: cannot fill mailboxes"; return; }
	fetch maildir "$v1" "pop3s://$u1@$URLBASE"
	rc1=$PV_RC
	fetch mbox.gz "$v2" "pop3s://$u2@$URLBASE"
	if [ "$rc1" -ne 0 ] || [ "$PV_RC" -ne 0 ]; then
		echo "FAIL verify_setup: fetch rc=$rc1/$PV_RC"
		return
	fi
	"$POPVAULT" verify --vault "$v1" >/dev/null 2>&1 &&
	    "$POPVAULT" verify --vault "$v2" >/dev/null 2>&1 ||
	    { echo "FAIL verify_setup: verify of intact archives failed"; return; }
	ad=$(pv_account_dir "$v1")
	# 1. A changed byte.
	where=$(flip maildir "$ad") || { echo "FAIL verify_detects_changed_byte: flip: $where"; return; }
	f1=${where% *}
	out=$("$POPVAULT" verify --vault "$v1" 2>&1)
	rc=$?
	n=$(printf '%s\n' "$out" | grep -c ': altered$')
	if [ "$rc" -eq 79 ] && [ "$n" = 1 ] &&
	    printf '%s\n' "$out" | grep ': altered$' | grep -qF "new/$(basename "$f1")" &&
	    [ "$(printf '%s\n' "$out" | grep -c ': \(missing\|altered\|unreadable\)$')" = 1 ]; then
		echo "PASS verify_detects_changed_byte"
	else
		echo "FAIL verify_detects_changed_byte: rc=$rc: $(printf '%s' "$out" | tr '\n' '|')"
	fi
	flip maildir "$ad" >/dev/null	# the same byte again: restored
	"$POPVAULT" verify --vault "$v1" >/dev/null 2>&1 ||
	    echo "FAIL verify_detects_changed_byte: still failing after the byte was restored"
	# 2. A removed file.
	f2=$(find "$ad/maildir/new" -type f | LC_ALL=C sort | sed -n 7p)
	mv "$f2" "$W/aside"
	out=$("$POPVAULT" verify --vault "$v1" 2>&1)
	rc=$?
	if [ "$rc" -eq 79 ] && [ "$(printf '%s\n' "$out" | grep -c ': missing$')" = 1 ] &&
	    printf '%s\n' "$out" | grep ': missing$' | grep -qF "new/$(basename "$f2")" &&
	    printf '%s\n' "$out" | grep -q ' 1 missing'; then
		echo "PASS verify_detects_missing_file"
	else
		echo "FAIL verify_detects_missing_file: rc=$rc: $(printf '%s' "$out" | tr '\n' '|')"
	fi
	mv "$W/aside" "$f2"
	"$POPVAULT" verify --vault "$v1" >/dev/null 2>&1 ||
	    echo "FAIL verify_detects_missing_file: still failing after the file came back"
	# 3. A truncated mbox.gz (its last gzip member torn).
	ad=$(pv_account_dir "$v2")
	f1=$(find "$ad/mbox" -name '*.mbox.gz' | head -n 1)
	truncate -s -100 "$f1"
	out=$("$POPVAULT" verify --vault "$v2" 2>&1)
	rc=$?
	n=$(printf '%s\n' "$out" | grep -c ': \(unreadable\|missing\)$')
	if [ "$rc" -eq 79 ] && [ "$n" -ge 1 ] &&
	    [ "$(printf '%s\n' "$out" | grep -c ': altered$')" = 0 ] &&
	    printf '%s\n' "$out" | grep -q 'checked'; then
		echo "PASS verify_detects_truncated_mbox_gz"
	else
		echo "FAIL verify_detects_truncated_mbox_gz: rc=$rc: $(printf '%s' "$out" | tr '\n' '|')"
	fi
}

if want flip; then
	for f in maildir mbox tar; do
		new_user || { t_fail adduser flip; t_done; }
		launch "byte_flip_before_verify_$f" flip_case "$f" "$NEWU"
		new_user || { t_fail adduser flip; t_done; }
		launch "byte_flip_before_verify_${f}_batch$NMSG" flip_case \
		    "$f" "$NEWU" "$NMSG"
	done
	new_user && u1=$NEWU && new_user && u2=$NEWU ||
	    { t_fail adduser verify; t_done; }
	launch verify_detects verify_case "$u1" "$u2"
fi

# --- 5. older-than ----------------------------------------------------------

DAY=86400
uidls() {	# USER: the server's UIDLs, sorted
	python3 "$T_ROOT/tests/lib/pop3raw.py" --host 127.0.0.1 \
	    --port "$DV_POP3S_PORT" --ca "$DV_CA" --name localhost --user "$1" \
	    --password "$PW" uidl | awk '{ print $2 }' | LC_ALL=C sort
}
plan() {	# NOW ARGS...: the UIDLs "prune --plan" lists, sorted, in
	# $W/planned; its exit status in PLAN_RC
	local now=$1
	shift
	POPVAULT_NOW=$now POPVAULT_PASSWORD=$PW "$POPVAULT" prune --plan \
	    --vault "$v" --tls-ca "$DV_CA" "$@" "$url" >"$W/plan" 2>&1
	PLAN_RC=$?
	sed -n 's/^delete \([^:]*\): .*/\1/p' "$W/plan" | LC_ALL=C sort >"$W/planned"
}
prune() {	# NOW ARGS...
	local now=$1
	shift
	POPVAULT_NOW=$now POPVAULT_PASSWORD=$PW "$POPVAULT" prune \
	    --vault "$v" --tls-ca "$DV_CA" "$@" "$url" >"$W/prune" 2>&1
}

age_case() {	# USER
	local u=$1 v=$W/vault url="pop3s://$1@$URLBASE" md t0 p n rc
	md=$(dv_maildir "$u")
	# Date headers are 1700000000 + n * 97; first seen 5 days later.
	t0=$((1700000000 + 5 * DAY))
	python3 "$T_ROOT/tests/gen/genmail.py" --count 10 --seed 41 "$md" >/dev/null &&
	    dv_fix_perms "$u" || { echo "FAIL older_than_setup: genmail"; return; }
	POPVAULT_NOW=$t0 pv_fetch "$v" "$PW" --tls-ca "$DV_CA" "$url"
	[ "$PV_RC" -eq 0 ] && [ "$(pv_field archived)" = 10 ] ||
	    { echo "FAIL older_than_setup: first fetch rc=$PV_RC: $(last_lines "$PV_OUT")"; return; }

	plan $((t0 + 10 * DAY)) --delete=older-than=30d
	[ "$PLAN_RC" -eq 0 ] && [ ! -s "$W/planned" ] && echo "PASS older_than_plan_nothing_young" ||
	    echo "FAIL older_than_plan_nothing_young: rc=$PLAN_RC: $(tr '\n' '|' <"$W/plan")"

	# Five more; a dry run says what it would do and writes nothing.
	python3 "$T_ROOT/tests/gen/genmail.py" --count 5 --start 10 --seed 41 "$md" >/dev/null &&
	    dv_fix_perms "$u" || { echo "FAIL older_than_setup: genmail"; return; }
	local before after
	snap() { (cd "$v" && find . -type f ! -name 'index.sqlite*' -printf '%p %s\n' | LC_ALL=C sort
	    pv_sql "$v" "select state, count(*) from messages group by 1;
	        select state, count(*) from sightings group by 1"); }
	before=$(snap)
	POPVAULT_NOW=$((t0 + 20 * DAY)) pv_fetch "$v" "$PW" --dry-run --delete=verified \
	    --tls-ca "$DV_CA" "$url"
	after=$(snap)
	if [ "$PV_RC" -eq 0 ] && [ "$before" = "$after" ] &&
	    [ "$(printf '%s\n' "$PV_OUT" | grep -c '^archive [^ ]* ([0-9]* bytes)$')" = 5 ] &&
	    [ "$(printf '%s\n' "$PV_OUT" | grep -c '^delete ')" = 10 ] &&
	    [ "$(server_count "$u")" = 15 ]; then
		echo "PASS dry_run_says_and_writes_nothing"
	else
		echo "FAIL dry_run_says_and_writes_nothing: rc=$PV_RC changed=$([ "$before" = "$after" ] && echo no || echo yes): $(last_lines "$PV_OUT" 6)"
	fi

	POPVAULT_NOW=$((t0 + 20 * DAY)) pv_fetch "$v" "$PW" --tls-ca "$DV_CA" "$url"
	[ "$PV_RC" -eq 0 ] && [ "$(pv_field archived)" = 5 ] ||
	    { echo "FAIL older_than_setup: second fetch rc=$PV_RC: $(last_lines "$PV_OUT")"; return; }
	uidls "$u" >"$W/s0"
	pv_sql "$v" "select uidl from sightings where first_seen = $t0" | LC_ALL=C sort >"$W/exp"
	[ "$(wc -l <"$W/s0")" = 15 ] && [ "$(wc -l <"$W/exp")" = 10 ] ||
	    { echo "FAIL older_than_setup: $(wc -l <"$W/s0") UIDLs on the server, $(wc -l <"$W/exp") first seen at T0"; return; }

	# Exactly 30 days is not older than 30 days; one second more is.
	plan $((t0 + 30 * DAY)) --delete=older-than=30d
	p=$(wc -l <"$W/planned")
	plan $((t0 + 30 * DAY + 1)) --delete=older-than=30d
	n=$(wc -l <"$W/planned")
	[ "$p" = 0 ] && [ "$n" = 10 ] && echo "PASS older_than_boundary" ||
	    echo "FAIL older_than_boundary: at 30 d: $p listed; at 30 d + 1 s: $n"

	plan $((t0 + 40 * DAY)) --delete=older-than=30d
	cp "$W/planned" "$W/p"
	if [ "$PLAN_RC" -eq 0 ] && cmp -s "$W/p" "$W/exp" && [ "$(uidls "$u" | wc -l)" = 15 ]; then
		echo "PASS older_than_plan_lists_first_batch"
	else
		echo "FAIL older_than_plan_lists_first_batch: rc=$PLAN_RC, plan $(wc -l <"$W/p") vs $(wc -l <"$W/exp") expected: $(diff "$W/p" "$W/exp" | head -n 4 | tr '\n' '|')"
	fi
	plan $((t0 + 40 * DAY)) --delete=older-than=30d --max-deletes 3
	n=$(LC_ALL=C comm -12 "$W/planned" "$W/p" | wc -l)
	[ "$n" = 3 ] && [ "$(wc -l <"$W/planned")" = 3 ] && echo "PASS older_than_plan_max_deletes" ||
	    echo "FAIL older_than_plan_max_deletes: $n lines of the plan listed with --max-deletes 3"

	prune $((t0 + 40 * DAY)) --delete=older-than=30d --max-deletes 3
	rc=$?
	uidls "$u" >"$W/s1"
	LC_ALL=C comm -23 "$W/s0" "$W/s1" >"$W/gone1"
	if [ "$rc" -eq 0 ] && [ "$(wc -l <"$W/gone1")" = 3 ] &&
	    [ -z "$(LC_ALL=C comm -23 "$W/gone1" "$W/p")" ]; then
		echo "PASS older_than_prune_max_deletes_caps"
	else
		echo "FAIL older_than_prune_max_deletes_caps: rc=$rc, $(wc -l <"$W/gone1") gone: $(tr '\n' '|' <"$W/prune")"
	fi
	prune $((t0 + 40 * DAY)) --delete=older-than=30d
	rc=$?
	uidls "$u" >"$W/s2"
	LC_ALL=C comm -23 "$W/s0" "$W/s2" >"$W/gone"
	pv_sql "$v" "select uidl from sightings where state = 'deleted'" | LC_ALL=C sort >"$W/ideleted"
	if [ "$rc" -eq 0 ] && cmp -s "$W/gone" "$W/p" && cmp -s "$W/ideleted" "$W/p" &&
	    [ "$(wc -l <"$W/s2")" = 5 ]; then
		echo "PASS older_than_prune_deletes_exactly_the_plan"
	else
		echo "FAIL older_than_prune_deletes_exactly_the_plan: rc=$rc, $(wc -l <"$W/gone") gone, $(wc -l <"$W/ideleted") deleted in the index, plan $(wc -l <"$W/p"): $(tr '\n' '|' <"$W/prune")"
	fi

	# --age-by date: the Date headers are 5 days older than first_seen.
	plan $((t0 + 30 * DAY)) --delete=older-than=30d --age-by date
	local rcd=$PLAN_RC
	cp "$W/planned" "$W/bydate"
	plan $((t0 + 30 * DAY)) --delete=older-than=30d
	n=$(wc -l <"$W/planned")
	if [ "$rcd" -eq 0 ] && cmp -s "$W/bydate" "$W/s2" && [ "$n" = 0 ]; then
		echo "PASS older_than_age_by_date"
	else
		echo "FAIL older_than_age_by_date: by date $(wc -l <"$W/bydate") listed (want the 5 left), by first seen $n (want 0)"
	fi
	"$POPVAULT" verify --vault "$v" >/dev/null 2>&1 && echo "PASS older_than_vault_verifies" ||
	    echo "FAIL older_than_vault_verifies: popvault verify failed"
}

if want age; then
	new_user || { t_fail adduser age; t_done; }
	launch older_than age_case "$NEWU"
fi
collect

echo "note: runtime $((SECONDS - START)) s"
t_done
