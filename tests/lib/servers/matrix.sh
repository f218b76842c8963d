# shellcheck shell=bash
#
# servers/matrix.sh -- the checks every POP3 server of the matrix must
# pass (issue 15), for one server behind the interface of README.md.
# Source after common.sh and pv.sh.
#
#   matrix_run NAME PREFIX
#       sources tests/lib/servers/NAME.sh, sets the server up (a server
#       that cannot be set up here is one SKIP line with the reason, never
#       a pass), starts it, and checks, with test names NAME_...:
#         full_fetch      the first fetch archives every message, and the
#                         archive holds exactly the bytes the server's own
#                         store says RETR gives (PREFIX_server_messages,
#                         read from the store, CRLF as LF)
#         nothing_new     a second fetch stores nothing
#         crash_rerun     more mail; a fetch killed (abort) after its first
#                         archive sync, then a rerun: everything archived
#                         once, nothing pending, the index sound
#         delete_verified --delete=verified empties the store, and the
#                         archive still matches what the server held
#
# Environment: POPVAULT (the test build: crash_rerun needs its crash
# hook, POPVAULT_CRASH), SRV_CACHE (where servers are unpacked; default
# build/servers), MATRIX_N (messages, default 60). A server file may set
# SRV_KEEP_KINDS (genmail kinds it carries intact although the list below
# leaves them out: Courier keeps header_8bit, served as stored once
# popvault sends UTF8), and SRV_FETCH_OPTS (words added to every fetch:
# Courier's "--login-delay ignore", as it announces LOGIN-DELAY 10 and
# does not enforce it).

MATRIX_SKIP_KINDS="nul bare_cr cr_at_end crlf_lines dot_last_line dot_no_newline header_8bit big_header"

# _mx_expected DIR LIST: the sha256 of each server message with CRLF as
# LF (what popvault stores), one per line.
_mx_expected() {
	python3 -c '
import hashlib, os, sys
d = sys.argv[1]
for n in sorted(os.listdir(d)):
    with open(os.path.join(d, n), "rb") as fh:
        print(hashlib.sha256(fh.read().replace(b"\r\n", b"\n")).hexdigest())
' "$1" >"$2"
}

matrix_run() {
	local name=$1 p=$2 cache=${SRV_CACHE:-$T_ROOT/build/servers}
	local d v gen why url n total i f
	local -a files=()
	d=$(t_tmpdir) || { t_fail "${name}_setup" "no temp dir"; return; }
	# shellcheck disable=SC1090
	. "$T_ROOT/tests/lib/servers/$name.sh" ||
	    { t_fail "${name}_setup" "cannot source servers/$name.sh"; return; }
	mkdir -p "$cache"
	if ! why=$("${p}_setup" "$cache" 2>"$d/setup.err"); then
		t_skip "${name}_matrix" "${why:-$(tail -n 1 "$d/setup.err")}"
		return
	fi
	SRV_USER=matrix
	SRV_KEEP_KINDS=""
	SRV_FETCH_OPTS=""
	SRV_PASS=matrix-pw-$RANDOM
	export SRV_USER SRV_PASS
	if ! "${p}_start" "$d/srv" >"$d/start.out" 2>&1; then
		t_fail "${name}_start" "$(tail -n 3 "$d/start.out")"
		"${p}_stop" >/dev/null 2>&1
		return
	fi
	t_on_exit "${p}_stop >/dev/null 2>&1"
	url="pop3s://$SRV_USER@127.0.0.1:$SRV_PORT"
	v=$d/vault

	# The mail: genmail's messages, without the kinds an mbox store or a
	# line-based server cannot carry intact (docs/servers.md).
	gen=$d/gen
	python3 "$T_ROOT/tests/gen/genmail.py" --count "${MATRIX_N:-60}" \
	    --seed 15 --list "$gen" >"$d/kinds" || {
		t_fail "${name}_genmail" "genmail failed"; "${p}_stop"; return; }
	while read -r n kind f; do
		case " ${SRV_KEEP_KINDS:-} " in *" $kind "*) ;; *)
			case " $MATRIX_SKIP_KINDS " in *" $kind "*) continue ;; esac
		esac
		files+=("$gen/new/$f")
	done <"$d/kinds"
	total=${#files[@]}
	n=$((total * 2 / 3))
	if [ "$total" -lt 20 ]; then
		t_fail "${name}_genmail" "only $total messages to deliver"
		"${p}_stop"
		return
	fi

	"${p}_deliver" "${files[@]:0:n}" || {
		t_fail "${name}_deliver" "could not deliver"; "${p}_stop"; return; }
	mkdir -p "$d/exp1"
	"${p}_server_messages" "$d/exp1" && _mx_expected "$d/exp1" "$d/list1"

	# full_fetch
	pv_fetch "$v" "$SRV_PASS" --tls-ca "$SRV_CA" $SRV_FETCH_OPTS "$url"
	why=""
	[ "$PV_RC" = 0 ] || why="exit $PV_RC: $(printf '%s' "$PV_OUT" | tail -n 3)"
	[ "$(wc -l <"$d/list1")" = "$n" ] || why="$why; the store says $(wc -l <"$d/list1") messages, $n delivered"
	python3 "$T_ROOT/tests/lib/expect.py" compare "$d/list1" \
	    "$(pv_account_dir "$v")/maildir" >"$d/cmp1" 2>&1 ||
	    why="$why; $(head -n 3 "$d/cmp1")"
	if [ -z "$why" ]; then t_pass "${name}_full_fetch"; else
		t_fail "${name}_full_fetch" "$why"; fi

	# nothing_new
	pv_fetch "$v" "$SRV_PASS" --tls-ca "$SRV_CA" $SRV_FETCH_OPTS "$url"
	if [ "$PV_RC" = 0 ] && [ "$(pv_field archived)" = 0 ]; then
		t_pass "${name}_nothing_new"
	else
		t_fail "${name}_nothing_new" "exit $PV_RC, archived '$(pv_field archived)'"
	fi

	# crash_rerun
	"${p}_deliver" "${files[@]:n}" || {
		t_fail "${name}_deliver" "could not deliver"; "${p}_stop"; return; }
	mkdir -p "$d/exp2"
	"${p}_server_messages" "$d/exp2" && _mx_expected "$d/exp2" "$d/list2"
	POPVAULT_CRASH=archive-synced:1 pv_fetch "$v" "$SRV_PASS" --batch 5 \
	    --tls-ca "$SRV_CA" $SRV_FETCH_OPTS "$url"
	why=""
	[ "$PV_RC" = 134 ] || why="the crashing run exited $PV_RC, not 134"
	pv_fetch "$v" "$SRV_PASS" --batch 5 --tls-ca "$SRV_CA" $SRV_FETCH_OPTS "$url"
	[ "$PV_RC" = 0 ] || why="$why; the rerun exited $PV_RC: $(printf '%s' "$PV_OUT" | tail -n 2)"
	python3 "$T_ROOT/tests/lib/expect.py" compare "$d/list2" \
	    "$(pv_account_dir "$v")/maildir" >"$d/cmp2" 2>&1 ||
	    why="$why; $(head -n 3 "$d/cmp2")"
	i=$(pv_index_problems "$v" "$(sort -u "$d/list2" | wc -l)") ||
	    why="$why; index: $i"
	if [ -z "$why" ]; then t_pass "${name}_crash_rerun"; else
		t_fail "${name}_crash_rerun" "$why"; fi

	# delete_verified
	pv_fetch "$v" "$SRV_PASS" --delete=verified --tls-ca "$SRV_CA" $SRV_FETCH_OPTS "$url"
	why=""
	[ "$PV_RC" = 0 ] || why="exit $PV_RC: $(printf '%s' "$PV_OUT" | tail -n 3)"
	[ "$("${p}_count")" = 0 ] || why="$why; the store still holds $("${p}_count") messages"
	python3 "$T_ROOT/tests/lib/expect.py" compare "$d/list2" \
	    "$(pv_account_dir "$v")/maildir" >"$d/cmp3" 2>&1 ||
	    why="$why; $(head -n 3 "$d/cmp3")"
	if [ -z "$why" ]; then t_pass "${name}_delete_verified"; else
		t_fail "${name}_delete_verified" "$why"; fi
	"${p}_stop" >/dev/null 2>&1
}
