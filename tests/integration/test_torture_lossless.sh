#!/usr/bin/env bash
# test_torture_lossless.sh -- kill -9 torture of "fetch --delete=verified"
# with lossless deduplication (issue 13, "Done when", second bullet;
# a crash at any point, UIDLs that change), against a private Dovecot.
#
# Every case has two Dovecot users filled with one corpus made by
# tests/gen/genvariants.py (three seeds into the same two Maildirs, 99
# messages each, 108 distinct): byte-identical twins within and across the
# two mailboxes (the only real duplicates), variants (same Message-ID and
# body, other headers: an attachment header, trace headers naming the
# mailbox, a subject tag, header-only messages), collisions (same
# Message-ID, other body), plain messages. The expected stored bytes of
# every server message are hashed (tests/lib/expect.py) before any run.
# Both users are the accounts a and b of one config file (mode 0600,
# password_command, tls_ca, format/compress) with one vault (dedup across
# the vault), run as
#
#     popvault fetch --config C -j 2 --delete=verified --batch 5
#
# and killed (the crash points and events are dealt out over the formats;
# TL_MATRIX=1 runs each in every format):
#   hook     POPVAULT_CRASH=NAME:N: both -j children get it, each abort()s
#            at its own N-th NAME; "NAME:N/FIRST:M": a first run crashes
#            at FIRST, the run under test at NAME (in recovery, say);
#   kill9_group_at_EVENT, kill9_child-a/-b_at_EVENT
#            a real SIGKILL (tests/lib/killwhen.py) of the whole process
#            group (the parent and its -j children), or of the -j child
#            of account a or b (the other account goes on, and may take
#            the killed one's unfinished copies for its duplicates), when
#            the index shows EVENT: rows_N or verified_N message rows, a
#            sighting (of account b) delete_pending (DELEs under way), a
#            sighting deleted (a QUIT answered);
#   kill9_group_NNNms
#            the same after NNN ms, the delays spread over the measured
#            first run of the format's baseline case (no crash).
#
# After the crash ("NAME_after_crash"): for each account, every message
# its server held is still on that server or verified in the index (I1:
# no delete ran ahead of a verified copy of its own bytes), and "popvault
# verify" (which reads committed locations only) exits 0.
#
# Then clean runs (the same command, at most 3) until both servers are
# empty, and the end state ("NAME"): the last run exits 0; both servers
# are empty; the union of what tests/lib/check_archive.py (readers nobody
# here wrote: "hashes" over every account folder) reads back is exactly
# the set of messages the servers ever held, byte for byte (a lost one is
# shown with its kind: attach, trace, subject, headonly are variants),
# none stored twice in the vault, every folder passing the readers' own
# checks; the index: integrity_check ok, one verified row per distinct
# message, none pending or failed, no sighting delete_pending, every
# sighting deleted; "popvault verify" exits 0.
#
# Environment: TL_JOBS (parallel cases, default 2), TL_FORMATS (default
# "maildir mbox tar.gz"), TL_SEEDS (genvariants seeds, default "1 2 3"),
# TL_POINTS (crash hook specs), TL_TRIGGERS (MODE:EVENT kills), TL_KILLS
# (timed group kills per format, default 2), TL_MATRIX=1, KEEP=1 keeps the
# temp folder. Defaults below.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

JOBS=${TL_JOBS:-2}
FORMATS=${TL_FORMATS:-"maildir mbox tar.gz"}
SEEDS=${TL_SEEDS:-"1 2 3"}
KILLS=${TL_KILLS:-2}
# Kills on index events (run_killed): MODE:WHEN.
TRIGGERS=${TL_TRIGGERS:-"group:at_rows_15 child-a:at_rows_25 group:at_pending
    group:at_verified_60 child-b:at_pending_b group:at_deleted"}
BATCH=5
PW=tl-torture-pw
GEN=$T_ROOT/tests/gen/genvariants.py
CHECK=$T_ROOT/tests/lib/check_archive.py
EXPECT=$T_ROOT/tests/lib/expect.py
KILLWHEN=$T_ROOT/tests/lib/killwhen.py
T=$(t_tmpdir)
START=$SECONDS
# The interpreter itself, once: a version manager's shim in front of it
# costs seconds per call on a loaded machine.
PY=$(python3 -c 'import sys; print(sys.executable)') || PY=python3

# Crash hook specs, POINT:N or POINT:N/FIRST:N (a first run crashes at
# FIRST, the run under test at POINT). An account has 99 messages in 20
# batches of 5 (TL_SEEDS default), of which the two accounts store 108
# between them (a twin the other account stored first is a duplicate);
# each sends about 99 DELEs.
POINTS=${TL_POINTS:-"retr-begin:37 before-intent-commit:3 archive-synced:4
    batch-committed:7 verify:6 verified-committed:9 delete-pending:1 dele:60
    quit-sent:1 quit-ok:1 recovery:1/archive-synced:3
    dele:30/verified-committed:6"}
format_points() {
	case "$1" in
	maildir) echo "maildir-first-rename:5" ;;
	mbox|mbox.gz) echo "mbox-written:4" ;;
	tar*) echo "tar-volume-renamed:1" ;;
	esac
}

want_delays() {	# DURATION_MS K: K delays (ms) spread evenly over the run
	awk -v d="$1" -v k="$2" 'BEGIN {
		for (i = 1; i <= k; i++) printf "%d\n", d * i / (k + 1) }'
}

dv_start "$T/dv" || { t_fail dovecot_start "could not start Dovecot"; t_done; }
printf '%s\n' "$PW" >"$T/pw"
chmod 600 "$T/pw"

# --- the corpus: generated once, copied into every case's two mailboxes -----
# genvariants.py writes the same mail into boxa and boxb (the trace
# variants name their box), one run per seed; the file names carry the
# generator's pid, so the runs must not clash: counted.
CORPUS=$T/corpus
want=0
for s in $SEEDS; do
	"$PY" "$GEN" --seed "tl$s" --copies 2 "$CORPUS/boxa" "$CORPUS/boxb" \
	    >"$T/gen.$s" || { t_fail corpus "genvariants.py --seed tl$s failed"; t_done; }
	want=$((want + $(awk 'NR == 1 { print $2 }' "$T/gen.$s")))
	for k in a b; do
		n=$(find "$CORPUS/box$k/new" -type f | wc -l)
		[ "$n" = "$want" ] || { t_fail corpus "box$k: $n files after seed $s, want $want"; t_done; }
	done
done
# Expected stored hashes: "NAME HASH" per box (Dovecot renames new/NAME
# to cur/NAME:2,S), one hash per server message, each distinct once.
for k in a b; do
	(cd "$CORPUS/box$k/new" && ls) | LC_ALL=C sort >"$T/$k.names"
	# shellcheck disable=SC2046  # genvariants names have no spaces
	(cd "$CORPUS/box$k/new" && "$PY" "$EXPECT" sha256 $(cat "$T/$k.names")) \
	    >"$T/$k.h" || { t_fail corpus "expect.py sha256 failed"; t_done; }
	paste -d' ' "$T/$k.names" "$T/$k.h" | LC_ALL=C sort >"$T/$k.name2hash"
	LC_ALL=C sort "$T/$k.h" >"$T/$k.hashes"
done
LC_ALL=C sort -u "$T/a.hashes" "$T/b.hashes" >"$T/expected"
NALL=$(cat "$T/a.hashes" "$T/b.hashes" | wc -l)
NDISTINCT=$(wc -l <"$T/expected")
# The corpus has what the test is about, or the test proves nothing:
# twins across and within the mailboxes, variants, collisions.
NACROSS=$(LC_ALL=C comm -12 "$T/a.hashes" "$T/b.hashes" | LC_ALL=C sort -u | wc -l)
NWITHIN=$(LC_ALL=C uniq -d "$T/a.hashes" | wc -l)
INTENT=$(tail -n 1 "$T/gen.${SEEDS%% *}")
if [ "$NACROSS" -gt 0 ] && [ "$NWITHIN" -gt 0 ] &&
    printf '%s' "$INTENT" | grep -q 'variants=[1-9].* collisions=[1-9]'; then
	echo "note: corpus: $NALL server messages ($(wc -l <"$T/a.hashes") per account), $NDISTINCT distinct, $NACROSS twins across the accounts, $NWITHIN within one; per seed: $INTENT"
else
	t_fail corpus "no twins across ($NACROSS) or within ($NWITHIN) the mailboxes, or no variants or collisions: $INTENT"
	t_done
fi

# --- the cases ---------------------------------------------------------------
# "NAME KIND FORMAT ARG": KIND base (ARG -), hook (ARG the spec), group,
# child-a or child-b (ARG an index event, or NNNms for the timed kills,
# made after the baselines have measured a run). The crash points and index events are dealt out over the formats in
# turn (each format gets its own points too): the point x format matrix of
# one account is test_torture.sh's; TL_MATRIX=1 runs every one in every
# format here as well.
BASES=()
HOOKS=()
TRIGGERED=()
NFMT=$(echo $FORMATS | wc -w)
deal() {	# INDEX FORMAT_INDEX: is the INDEX-th item this format's?
	[ "${TL_MATRIX:-0}" = 1 ] || [ $(($1 % NFMT)) = "$2" ]
}
fno=0
for f in $FORMATS; do
	BASES+=("tl_${f}_baseline base $f -")
	i=0
	for s in $POINTS; do
		if deal $i $fno; then
			n=${s%%/*}
			[ "$s" = "${s#*/}" ] || n="${n}_after_${s#*/}"
			HOOKS+=("tl_${f}_hook_${n//:/_} hook $f $s")
		fi
		i=$((i + 1))
	done
	for s in $(format_points "$f"); do
		n=${s%%/*}
		[ "$s" = "${s#*/}" ] || n="${n}_after_${s#*/}"
		HOOKS+=("tl_${f}_hook_${n//:/_} hook $f $s")
	done
	i=0
	for k in $TRIGGERS; do
		deal $i $fno && TRIGGERED+=("tl_${f}_kill9_${k%%:*}_${k#*:} ${k%%:*} $f ${k#*:}")
		i=$((i + 1))
	done
	fno=$((fno + 1))
done
NKILL=$(( $(echo $FORMATS | wc -w) * KILLS ))

# Dovecot's passwd-file is looked at again at most once a second: every
# user is made before the first login. Two per case.
NUSER=0
POOL=()
for i in $(seq 1 $(( (${#BASES[@]} + ${#HOOKS[@]} + ${#TRIGGERED[@]} + NKILL) * 2 ))); do
	NUSER=$((NUSER + 1))
	u=$(printf 'tl%03d' "$NUSER")
	dv_adduser "$u" "$PW" || { t_fail adduser "$u"; t_done; }
	POOL+=("$u")
done
sleep 1.1
new_user() {
	[ "${#POOL[@]}" -gt 0 ] || { echo "user pool exhausted" >&2; return 1; }
	NEWU=${POOL[0]}
	POOL=("${POOL[@]:1}")
}

# --- helpers used inside a case (a subshell with its folder $W) -------------

last_lines() { printf '%s' "$1" | tail -n "${2:-3}" | tr '\n' '|'; }

# setup UA UB FORMAT: fill both mailboxes with the corpus, write the
# config (mode 0600: it runs a password command).
setup() {
	local ua=$1 ub=$2 f=$3
	# Hard links: Dovecot only renames and unlinks message files.
	ln "$CORPUS"/boxa/new/* "$(dv_maildir "$ua")/new/" &&
	    ln "$CORPUS"/boxb/new/* "$(dv_maildir "$ub")/new/" &&
	    dv_fix_perms "$ua" && dv_fix_perms "$ub" ||
	    { echo "cannot fill the mailboxes"; return 1; }
	V=$W/vault
	(umask 077; {
		printf '[defaults]\nhost = localhost\nport = %s\ntls_ca = %s\n' \
		    "$DV_POP3S_PORT" "$DV_CA"
		printf 'vault = %s\ntimeout = 20\n' "$V"
		case "$f" in
		maildir) printf 'format = maildir\n' ;;
		mbox) printf 'format = mbox\n' ;;
		mbox.gz) printf 'format = mbox\ncompress = gzip\n' ;;
		tar) printf 'format = tar\n' ;;
		tar.gz) printf 'format = tar\ncompress = gzip\n' ;;
		tar.zst) printf 'format = tar\ncompress = zstd\n' ;;
		tar.xz) printf 'format = tar\ncompress = xz\n' ;;
		esac
		printf '\n[account a]\nuser = %s\npassword_command = cat %s\n' "$ua" "$T/pw"
		printf '\n[account b]\nuser = %s\npassword_command = cat %s\n' "$ub" "$T/pw"
	} >"$W/conf") && chmod 600 "$W/conf" || return 1
	UA=$ua
	UB=$ub
}

# The command under test; output in $W/out.N, status in RC.
RUNS=0
run() {
	RUNS=$((RUNS + 1))
	"$POPVAULT" fetch --config "$W/conf" -j 2 --delete=verified \
	    --batch "$BATCH" >"$W/out.$RUNS" 2>&1
	RC=$?
	OUT=$(cat "$W/out.$RUNS")
}

# when_sql WHEN: the condition on the index that triggers a kill:
# at_rows_N, at_verified_N (N message rows, N of them verified),
# at_pending[_NAME], at_deleted[_NAME] (a sighting, of account NAME or
# any, is delete_pending: its DELE is under way; deleted: a QUIT was
# answered +OK).
when_sql() {
	local st acct=""
	case "$1" in
	at_rows_*) echo "select count(*) >= ${1#at_rows_} from messages"; return ;;
	at_verified_*) echo "select count(*) >= ${1#at_verified_} from messages where state = 'verified'"; return ;;
	at_pending*) st=delete_pending; acct=${1#at_pending} ;;
	at_deleted*) st=deleted; acct=${1#at_deleted} ;;
	*) return 1 ;;
	esac
	echo "select count(*) > 0 from sightings s join accounts a on a.id = s.account_id where s.state = '$st'${acct:+ and a.name = '${acct#_}'}"
}

# run_killed MODE WHEN: the command in its own session and process group,
# killed with SIGKILL by tests/lib/killwhen.py: the whole group (MODE
# group: the parent and its -j children) or one -j child (MODE child-a,
# child-b: the one that runs account a or b, found by the lock it holds
# on its account folder). WHEN: NNNms, after that delay; or an index
# event (when_sql), polled read-only. Sets RC (the parent's status) and KILLED (what was
# killed when, or "none: ..." when the run ended first). MODE none: no
# kill, KILLED says how long the run took.
run_killed() {
	local mode=$1 when=$2 pgid i sql bg kpid
	local -a cue
	RUNS=$((RUNS + 1))
	rm -f "$W/pgid" "$W/kready"
	if sql=$(when_sql "$when"); then
		cue=(--index "$V/index.sqlite" --sql "$sql")
	else
		cue=(--delay-ms "${when%ms}")
	fi
	case "$mode" in
	none) cue=(--victim none) ;;
	group) cue+=(--victim group) ;;
	child-a|child-b) cue+=(--victim "lock:$V/accounts/${mode#child-}/lock") ;;
	esac
	"$PY" "$KILLWHEN" --pgid-file "$W/pgid" --ready-file "$W/kready" \
	    "${cue[@]}" >"$W/kill.$RUNS" 2>&1 &
	kpid=$!
	for i in $(seq 1 600); do
		[ -e "$W/kready" ] && break
		sleep 0.05
	done
	# shellcheck disable=SC2016
	setsid sh -c 'echo $$ >"$1.tmp" && mv "$1.tmp" "$1"; shift; exec "$@"' \
	    sh "$W/pgid" "$POPVAULT" fetch --config "$W/conf" -j 2 \
	    --delete=verified --batch "$BATCH" >"$W/out.$RUNS" 2>&1 </dev/null &
	bg=$!
	# (No "Killed" job notice in the output.)
	{ wait "$bg"; } 2>/dev/null
	RC=$?
	wait "$kpid"
	KILLED=$(cat "$W/kill.$RUNS")
	KILLED=${KILLED//"$V/"/}
	case "$mode:$KILLED" in
	child-*:process*)
		grep -q "account ${mode#child-}: killed by signal 9" "$W/out.$RUNS" ||
		    KILLED="$KILLED, but the run does not say account ${mode#child-} was killed by signal 9" ;;
	esac
	pgid=$(cat "$W/pgid" 2>/dev/null)
	# Whatever is left of the group (none expected): wait, bounded.
	if [ -n "$pgid" ]; then
		for i in $(seq 1 300); do
			[ -z "$(ps -o pid= -g "$pgid" 2>/dev/null)" ] && break
			sleep 0.1
		done
		if [ -n "$(ps -o pid= -g "$pgid" 2>/dev/null)" ]; then
			KILLED="$KILLED; processes still running 30 s later: $(ps -o pid=,args= -g "$pgid" | tr '\n' '|')"
			kill -9 -- "-$pgid" 2>/dev/null
		fi
	fi
	OUT=$(cat "$W/out.$RUNS")
}

# Sorted hashes of the messages user U's server holds now (K: a or b;
# Dovecot renames new/NAME to cur/NAME:2,S).
server_hashes() {	# U K
	dv_server_files "$1" | sed 's#.*/##; s/:2,.*$//' | LC_ALL=C sort |
	    LC_ALL=C join -o 2.2 - "$T/$2.name2hash" | LC_ALL=C sort
}
server_count() { dv_server_files "$1" | wc -l; }

# describe HASH...: which server message(s) had these bytes.
describe() {
	local h k name n=0
	# What kind of message, by genvariants' Message-ID (attach.N.SEED@,
	# trace..., none for one plain message): "kinds: attach=3 trace=9".
	printf '%s\n' "$@" | awk 'NR == FNR { want[$1] = 1; next }
	    ($2 in want) && !seen[$2]++ { print FILENAME "/" $1 }' - \
	    "$T/a.name2hash" "$T/b.name2hash" |
	    sed "s#^$T/\\([ab]\\)\\.name2hash/#$CORPUS/box\\1/new/#" >"$W/desc.files"
	printf ' (kinds:%s)' "$(xargs -r awk 'FNR == 1 && NR > 1 { print k }
	    FNR == 1 { k = "no-message-id"; body = 0 }
	    body { next }
	    /^$/ { body = 1; next }
	    tolower($1) == "message-id:" {
		k = $2; sub(/^</, "", k); sub(/\..*/, "", k) }
	    END { if (NR > 0) print k }' <"$W/desc.files" |
	    sort | uniq -c | awk '{ printf " %s=%s", $2, $1 }')"
	for h in "$@"; do
		n=$((n + 1))
		[ "$n" -le 4 ] || { printf ' ...'; return; }
		for k in ${DESC_BOX:-} a b; do
			name=$(awk -v h="$h" '$2 == h { print $1; exit }' "$T/$k.name2hash")
			[ -n "$name" ] && break
		done
		if [ -n "$name" ]; then
			printf ' [%s box%s: %s]' "${h:0:12}" "$k" "$(grep -i '^\(subject\|message-id\|x-flag\|content-disposition\|delivered-to\):' \
			    "$CORPUS/box$k/new/$name" | tr '\n' ' ' | sed 's/ *$//')"
		else
			printf ' [%s: no server message]' "${h:0:12}"
		fi
	done
}

# After a crash, before any other run: every message each server held is
# still there or verified in the index (the vault's, any account's
# folder: a twin is stored once), and what the index calls verified is on
# the disk ("popvault verify" reads committed locations only).
after_crash() {	# NAME
	local name=$1 why="" k u lost out
	# (A run killed early may leave no index, or one without its tables.)
	: >"$W/ver"
	[ ! -f "$V/index.sqlite" ] || sqlite3 -readonly "$V/index.sqlite" \
	    "select lower(hex(sha256)) from messages where state = 'verified'" \
	    2>/dev/null | LC_ALL=C sort -u >"$W/ver"
	for k in a b; do
		[ $k = a ] && u=$UA || u=$UB
		server_hashes "$u" "$k" >"$W/srv.$k"
		LC_ALL=C sort -u "$W/srv.$k" "$W/ver" >"$W/have.$k"
		lost=$(LC_ALL=C sort -u "$T/$k.hashes" | LC_ALL=C comm -23 - "$W/have.$k")
		[ -z "$lost" ] || why="$why; I1: account $k: $(printf '%s\n' "$lost" | wc -l) message(s) gone from the server and not verified in the index:$(DESC_BOX=$k describe $lost)"
	done
	if [ -f "$V/index.sqlite" ] && ! out=$("$POPVAULT" verify --vault "$V" 2>&1); then
		why="$why; popvault verify before recovery failed: $(last_lines "$out" 4)"
	fi
	if [ -z "$why" ]; then echo "PASS ${name}_after_crash"; else echo "FAIL ${name}_after_crash: ${why#; }"; fi
}

# Clean runs (at most 3) until both servers are empty, then the end state.
finish() {	# NAME
	local name=$1 why="" i rcs="" ad got k n p q x missing extra dups
	for i in 1 2 3; do
		run
		rcs="$rcs $RC"
		[ "$RC" -eq 0 ] && [ "$(server_count "$UA")" = 0 ] &&
		    [ "$(server_count "$UB")" = 0 ] && break
	done
	[ "$RC" -eq 0 ] || why="$why; clean runs exit${rcs}: $(last_lines "$OUT" 4)"
	n=$(server_count "$UA")
	[ "$n" = 0 ] || why="$why; account a's server still has $n message(s) after clean runs exit${rcs}"
	n=$(server_count "$UB")
	[ "$n" = 0 ] || why="$why; account b's server still has $n message(s) after clean runs exit${rcs}"
	# Every account folder through the independent readers, in one go
	# (an account that stored nothing of its own has no format folder).
	set --
	n=0
	for ad in "$V"/accounts/*/; do
		[ -d "$ad" ] || continue
		n=$((n + 1))
		[ -d "$ad/${F%%.*}" ] && set -- "$@" "${ad%/}"
	done
	: >"$W/got"
	if [ $# -gt 0 ]; then
		"$PY" "$CHECK" hashes "$F" "$@" >"$W/got" 2>"$W/check.err" ||
		    why="$why; check_archive: $(head -n 6 "$W/check.err" | tr '\n' '|')"
	fi
	[ "$n" -gt 0 ] || why="$why; no account folder in the vault"
	cut -d' ' -f1 "$W/got" | LC_ALL=C sort >"$W/got.h"
	dups=$(LC_ALL=C uniq -d "$W/got.h")
	[ -z "$dups" ] || why="$why; $(printf '%s\n' "$dups" | wc -l) message(s) stored twice in the vault: $(grep -F "$(printf '%s\n' "$dups" | head -n 2)" "$W/got" | cut -d' ' -f2- | head -n 4 | tr '\n' '|')"
	missing=$(LC_ALL=C sort -u "$W/got.h" | LC_ALL=C comm -23 "$T/expected" -)
	[ -z "$missing" ] || why="$why; LOST: $(printf '%s\n' "$missing" | wc -l) of $NDISTINCT distinct messages the servers held are in no account folder:$(describe $missing)"
	extra=$(LC_ALL=C sort -u "$W/got.h" | LC_ALL=C comm -13 "$T/expected" -)
	[ -z "$extra" ] || why="$why; $(printf '%s\n' "$extra" | wc -l) stored message(s) no server held: $(grep -F "$(printf '%s\n' "$extra" | head -n 2)" "$W/got" | cut -d' ' -f2- | head -n 2 | tr '\n' '|')"
	# The index.
	p=$(pv_index_problems "$V" "$NDISTINCT") || why="$why; index: $p"
	x=$(pv_sql "$V" "select count(*) from sightings where state = 'deleted'" 2>&1)
	[ "$x" = "$NALL" ] ||
	    why="$why; $x sightings deleted, want $NALL: $(pv_sql "$V" "select state || '=' || count(*) from sightings group by state" 2>&1 | tr '\n' ' ')"
	"$POPVAULT" verify --vault "$V" >"$W/verify" 2>&1 ||
	    why="$why; popvault verify rc=$?: $(tail -n 3 "$W/verify" | tr '\n' '|')"
	q=$(find "$V/accounts" -path '*quarantine*' -type f 2>/dev/null | wc -l)
	[ "$q" -eq 0 ] || echo "note: $name: $q quarantine file(s) kept"
	if [ -z "$why" ]; then
		echo "PASS $name"
	else
		echo "FAIL $name: ${why#; }"
	fi
}

# One case: NAME KIND FORMAT ARG UA UB.
tl_case() {
	local name=$1 kind=$2 arg=$4 spec first point
	F=$3
	setup "$5" "$6" "$F" >"$W/setup" 2>&1 ||
	    { echo "FAIL $name: set-up: $(tail -n 2 "$W/setup" | tr '\n' '|')"; return; }
	case "$kind" in
	base)
		# Timed from the same moment as the kills' delays.
		run_killed none 0
		echo "duration $(sed -n 's/^none: the run ended after \([0-9]*\) ms$/\1/p' <<<"$KILLED")" >"$W/duration"
		echo "note: $name: first run exit $RC: $KILLED"
		[ "$RC" -eq 0 ] || { echo "FAIL $name: first run exit $RC: $(last_lines "$OUT" 4)"; return; }
		finish "$name"
		return ;;
	hook)
		spec=${arg%%/*}
		first=""
		[ "$arg" = "$spec" ] || first=${arg#*/}
		if [ -n "$first" ]; then
			POPVAULT_CRASH=$first run
			if ! grep -qF "crash hook: abort at ${first%%:*}" <<<"$OUT"; then
				echo "FAIL $name: the first crash at $first did not happen: rc=$RC: $(last_lines "$OUT")"
				return
			fi
		fi
		point=${spec%%:*}
		POPVAULT_CRASH=$spec run
		if [ "$RC" -eq 0 ] || ! grep -qF "crash hook: abort at $point" <<<"$OUT"; then
			echo "FAIL $name: POPVAULT_CRASH=$spec did not crash the run: rc=$RC: $(last_lines "$OUT")"
			return
		fi
		echo "note: $name: $(grep -c "crash hook: abort at $point" <<<"$OUT") of 2 children crashed at $spec" ;;
	group|child-a|child-b)
		run_killed "$kind" "$arg"
		echo "note: $name: kill -9 $KILLED; exit $RC"
		case "$KILLED" in *"still running"*)
			echo "FAIL $name: $KILLED"
			return ;;
		esac ;;
	esac
	after_crash "$name"
	finish "$name"
}

# --- parallel cases (as in test_torture.sh) ----------------------------------
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
			*) printf '%s\n' "$line" ;;
			esac
		done <"$T/res.$id"
		[ "$got" = 1 ] || t_fail "${c#* }" "case printed no result: $(tail -n 3 "$T/res.$id" | tr '\n' '|')"
	done
	CASES=()
}

# 1. The baselines: no crash; their first run's duration spreads the kills.
declare -A BASEW=()
for c in "${BASES[@]}"; do
	set -- $c
	new_user && ua=$NEWU && new_user && ub=$NEWU || { t_fail adduser "$1"; t_done; }
	launch "$1" tl_case "$1" "$2" "$3" "$4" "$ua" "$ub"
	BASEW[$3]=$T/w/$NCASE
done
# The crash hook cases and the kills on index events meanwhile.
for c in "${HOOKS[@]}" "${TRIGGERED[@]}"; do
	set -- $c
	new_user && ua=$NEWU && new_user && ub=$NEWU || { t_fail adduser "$1"; t_done; }
	launch "$1" tl_case "$1" "$2" "$3" "$4" "$ua" "$ub"
done
collect
echo "note: baselines and crash hooks done at $((SECONDS - START)) s"

# 2. Real kill -9 at delays spread over the baseline's first run.
for f in $FORMATS; do
	d=$(cut -s -d' ' -f2 "${BASEW[$f]}/duration" 2>/dev/null)
	[ -n "$d" ] || { t_fail "tl_${f}_kill9" "no measured duration (baseline failed)"; continue; }
	for ms in $(want_delays "$d" "$KILLS"); do
		new_user && ua=$NEWU && new_user && ub=$NEWU || { t_fail adduser kill; t_done; }
		launch "tl_${f}_kill9_group_${ms}ms" tl_case "tl_${f}_kill9_group_${ms}ms" group "$f" "${ms}ms" "$ua" "$ub"
	done
done
collect

echo "note: runtime $((SECONDS - START)) s"
t_done
