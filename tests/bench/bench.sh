#!/usr/bin/env bash
# bench.sh -- "make bench": popvault side by side with other POP3 clients
# against a private Dovecot on loopback, over implicit TLS (pop3s) with the
# test CA, certificate verification on for every client.
#
# For each mailbox size N it fills a Dovecot user with a deterministic
# corpus (tests/bench/gencorpus.py, cached under build/bench/corpus/),
# warms the server (one untimed full retrieval), then runs REPS rounds; in
# each round every client fetches the whole mailbox once, keeping it on the
# server, into a fresh empty destination (the order of the clients rotates
# from round to round):
#
#   limit            build/bench/limitpop: pipelined RETR, bytes discarded
#   mpop-mbox        mpop, delivery mbox
#   mpop-maildir     mpop, delivery maildir
#   getmail-maildir  getmail6, SimplePOP3SSLRetriever, Maildir destination
#   popvault-FORMAT  popvault fetch (which always verifies what it wrote)
#                    for FORMAT in BENCH_FORMATS
#   import-FORMAT    popvault import of the same corpus written as one
#                    mboxrd file (tests/lib/mailfiles.py), for FORMAT in
#                    BENCH_IMPORT_FORMATS: the import's speed beside
#                    fetch's for the same bytes
#
# Then the "nothing new" runs: with the state of the last round's full run
# present, log in, list, find nothing to fetch, log out (popvault with
# Maildir, mpop with Maildir, getmail6, and limitpop -l as the floor),
# NN_REPS times each, alternating.
# Then the --delete=verified runs: a second user whose Maildir is restored
# from the corpus (hard links) before every run, warmed with an untimed
# listing; timed: limitpop -d (RETR all, DELE all), mpop with "keep off",
# popvault --delete=verified for maildir and mbox.
# Then the upload runs (issue 17): N realistic messages that IMAP can carry
# (the first N of a larger corpus without NUL or bare CR: imapsafe below)
# into an empty IMAP folder of another Dovecot user (a new folder each
# run, over imaps with the test CA; removed, untimed, after the run),
# after one untimed warm-up run of each client:
#
#   popvault-upload  popvault export --to imaps://... from a Maildir vault
#                    holding the N messages (fetched once, untimed); it
#                    reads every message back and proves it (SHA-256)
#   mbsync-push      mbsync (isync) pushing them from a Maildir (hard
#                    links to the corpus, fresh each run) with Sync Push,
#                    Create Far, CopyArrivalDate yes; no read-back
#
# With BENCH_BIG=1, also 100,000 small messages: one full popvault and
# mpop run (not in the tables), then their nothing-new runs.
#
# Wall time is measured by the shell (EPOCHREALTIME); user and system CPU
# time and peak RSS of the client (its process tree) come from GNU time.
# Only the client is measured; the Dovecot processes are not. "sync" runs
# (untimed) after every run so that no client pays for another's
# write-back.
#
# Environment:
#   BENCH_N        mailbox sizes (default "2000 10000"; may be empty, e.g.
#                  with BENCH_BIG=1 for the 100,000-message run alone)
#   BENCH_REPS     rounds per size (default 3); either one number or
#                  "N:R ..." pairs, e.g. "2000:3 10000:2" (sizes not
#                  named get the last R)
#   BENCH_NN_REPS  nothing-new runs per client (default 10)
#   BENCH_DEL_REPS --delete=verified runs per client (default 2; same
#                  syntax as BENCH_REPS)
#   BENCH_UPLOAD_REPS  upload runs per client (default 2; same syntax as
#                  BENCH_REPS; 0: no upload runs, and Dovecot without IMAP)
#   BENCH_UPLOAD_CLIENTS  the upload clients (default "popvault-upload
#                  mbsync-push"; also popvault-upload-batch1: --batch 1,
#                  one APPEND per transaction)
#   BENCH_FORMATS  popvault formats (default "maildir mbox mbox.gz tar.zst
#                  tar.gz")
#   BENCH_IMPORT_FORMATS  formats of the import runs (default "maildir
#                  mbox"; empty: none)
#   BENCH_CLIENTS  restrict the first table to these clients (default all)
#   BENCH_GETMAIL_MAX  largest N for which getmail6 runs (default 2000:
#                  it is slow, about 7 MB/s here, and its delivery child
#                  can lose a SIGCHLD race under load and stall 180 s)
#   BENCH_BIG      1: also the 100,000-message nothing-new run
#   BENCH_OUT      the results file (default build/bench/results.md; the
#                  raw measurements go to the same name with .tsv)
#   POPVAULT, LIMITPOP   the binaries (default build/popvault,
#                  build/bench/limitpop)
#   BENCH_DEST     an existing folder for the clients' destinations
#                  (default: in the temporary folder), e.g. on another
#                  file system
#   KEEP=1         keep the temporary folder
set -u
# shellcheck source=tests/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"

ROOT=$T_ROOT
POPVAULT=${POPVAULT:-$ROOT/build/popvault}
# pv_fmt_args: the options of each format, as the tests use them.
. "$T_ROOT/tests/lib/pv.sh"
LIMITPOP=${LIMITPOP:-$ROOT/build/bench/limitpop}
NS=${BENCH_N-"2000 10000"}
REPS=${BENCH_REPS:-3}
NN_REPS=${BENCH_NN_REPS:-10}
DEL_REPS=${BENCH_DEL_REPS:-2}
UP_REPS=${BENCH_UPLOAD_REPS:-2}
UP_CLIENTS=${BENCH_UPLOAD_CLIENTS:-"popvault-upload mbsync-push"}
FORMATS=${BENCH_FORMATS:-"maildir mbox mbox.gz tar.zst tar.gz"}
IMPORT_FORMATS=${BENCH_IMPORT_FORMATS-"maildir mbox"}
GETMAIL_MAX=${BENCH_GETMAIL_MAX:-2000}
OUT=${BENCH_OUT:-$ROOT/build/bench/results.md}
CACHE=$ROOT/build/bench/corpus
SEED=bench1
PW=bench-pw-1
HOSTNAME_TLS=localhost
GEN=$ROOT/tests/bench/gencorpus.py

for b in "$POPVAULT" "$LIMITPOP"; do
	[ -x "$b" ] || { echo "bench: $b missing (make bench builds it)" >&2; exit 1; }
done
for c in mpop getmail /usr/bin/time python3; do
	command -v "$c" >/dev/null ||
	    { echo "bench: $c not installed (make deps)" >&2; exit 1; }
done

W=$(mktemp -d /tmp/pvbench.XXXXXX) || exit 1
chmod 0711 "$W"
# Dovecot first: it must be stopped while its pid file still exists.
if [ "${KEEP:-0}" = 1 ]; then
	t_on_exit "dv_stop; echo 'KEEP=1: kept $W' >&2"
else
	t_on_exit "dv_stop; rm -rf -- '$W'"
fi
# A private copy: a rebuild during the run must not change what is measured.
cp -- "$POPVAULT" "$W/popvault" && cp -- "$LIMITPOP" "$W/limitpop" || exit 1
POPVAULT=$W/popvault
LIMITPOP=$W/limitpop
DEST=${BENCH_DEST:-$W/d}
mkdir -p "$DEST" || exit 1
RUNS=$W/runs.tsv
printf 'n\tphase\tclient\trep\twall\tuser\tsys\trss_kb\trc\tload1\n' > "$RUNS"
BENCH_START=$SECONDS

say() { printf '%s bench: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# corpus PROFILE N: print the cached corpus folder (generated if missing).
corpus() {
	local prof=$1 n=$2 d=$CACHE/$1-$SEED-$2 bytes
	if [ ! -f "$d/.bytes" ]; then
		say "generating corpus $prof N=$n in $d"
		rm -rf -- "$d" "$d.tmp"
		mkdir -p "$CACHE" || return 1
		bytes=$(python3 "$GEN" --count "$n" --seed "$SEED" \
		    --profile "$prof" "$d.tmp") || return 1
		printf '%s\n' "$bytes" > "$d.tmp/.bytes" &&
		    mv -- "$d.tmp" "$d" || return 1
	fi
	printf '%s\n' "$d"
}

# fill USER CORPUS: make USER's Maildir exactly the corpus (hard links when
# possible), with no Dovecot index or uidlist: a fresh mailbox.
fill() {
	local md
	md=$(dv_maildir "$1") || return 1
	rm -rf -- "$md" && mkdir -p "$md/cur" "$md/tmp" || return 1
	cp -al -- "$2/new" "$md/new" 2>/dev/null || {
		rm -rf -- "$md/new"
		cp -a -- "$2/new" "$md/new" || return 1
	}
	dv_fix_perms "$1"
}

# timed N PHASE CLIENT REP CMD...: run CMD, append one line to RUNS.
# Output in $W/out; status in $RC.
timed() {
	local n=$1 phase=$2 client=$3 rep=$4 t0 t1 wall load
	shift 4
	read -r load _ < /proc/loadavg
	t0=$EPOCHREALTIME
	/usr/bin/time -f '%U %S %M' -o "$W/time" -- "$@" >"$W/out" 2>&1 </dev/null
	RC=$?
	t1=$EPOCHREALTIME
	wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
	# GNU time prints "Command exited with non-zero status" first then.
	local tu ts tm
	read -r tu ts tm < <(tail -n 1 "$W/time")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$phase" \
	    "$client" "$rep" "$wall" "$tu" "$ts" "$tm" "$RC" "$load" >> "$RUNS"
	sync
	if [ "$RC" -ne 0 ]; then
		say "FAILED: N=$n $phase $client rep $rep (status $RC):"
		tail -n 5 "$W/out" | sed 's/^/    /' >&2
	fi
	return "$RC"
}

# note_bad N PHASE CLIENT REP WHY: a run that exited 0 but did not do the job.
note_bad() {
	say "WRONG: N=$1 $2 $3 rep $4: $5"
	printf '%s\t%s\t%s\t%s\t-\t-\t-\t-\tbad\t-\n' "$1" "$2" "$3" "$4" >> "$RUNS"
}

count_files() {
	find "$@" -type f 2>/dev/null | wc -l
}

# --- client command lines ------------------------------------------------
# Each sets the array CMD. Every client gets the password without running
# a program: popvault and limitpop from the environment, mpop and getmail6
# from their configuration files.

export POPVAULT_PASSWORD=$PW LIMITPOP_PASSWORD=$PW

limit_cmd() {	# USER [limitpop options]
	local u=$1
	shift
	CMD=("$LIMITPOP" -h "$HOSTNAME_TLS" -p "$DV_POP3S_PORT" -c "$DV_CA" \
	    -u "$u" "$@")
}

# mpop_cmd DIR USER DELIVERY KEEP: write DIR/mpoprc.
mpop_cmd() {
	local d=$1 rc=$1/mpoprc
	(
		umask 077
		cat > "$rc" <<EOF
defaults
tls on
tls_starttls off
tls_trust_file $DV_CA
auth user
received_header off
keep $4

account bench
host $HOSTNAME_TLS
port $DV_POP3S_PORT
user $2
password $PW
uidls_file $d/uidls
delivery $3
EOF
	)
	CMD=(mpop -q -C "$rc" bench)
}

# getmail_cmd DIR USER MAILDIR: write DIR/getmailrc (getmail -g DIR).
# getmail6 refuses to deliver as root: when run as root, it delivers as
# "nobody" (its "user" option; it forks a child per message either way).
getmail_cmd() {
	local as=
	if [ "$(id -u)" = 0 ]; then
		as="user = nobody"
		chown -R nobody: "$3" || return 1
	fi
	(
		umask 077
		cat > "$1/getmailrc" <<EOF
[retriever]
type = SimplePOP3SSLRetriever
server = $HOSTNAME_TLS
port = $DV_POP3S_PORT
username = $2
password = $PW
ca_certs = $DV_CA

[destination]
type = Maildir
path = $3/
$as

[options]
read_all = false
delete = false
delivered_to = false
received = false
verbose = 0
EOF
	)
	CMD=(getmail -q --getmaildir "$1" --rcfile getmailrc)
}

# pv_cmd DIR USER FORMAT [popvault options]: popvault fetch into DIR/vault.
pv_cmd() {
	local d=$1 u=$2 f=$3
	shift 3
	# shellcheck disable=SC2207  # pv_fmt_args prints plain words
	CMD=("$POPVAULT" fetch --vault "$d/vault" $(pv_fmt_args "$f") \
	    --tls-ca "$DV_CA" "$@" "pop3s://$u@$HOSTNAME_TLS:$DV_POP3S_PORT")
}

pv_field() {	# NAME: a number from popvault's summary in $W/out
	awk -v k="$1" '$1 == k { print $2; exit }' "$W/out"
}

# run_client N PHASE CLIENT REP USER DIR: one timed run of CLIENT with a
# fresh destination in DIR; checks that it got all N messages.
run_client() {
	local n=$1 phase=$2 client=$3 rep=$4 u=$5 d=$6 got keep=on o=
	rm -rf -- "$d" && mkdir -p "$d" || return 1
	[ "$phase" = delete ] && keep=off
	case "$client" in
	limit|limit-dele)
		[ "$client" = limit-dele ] && o=-d
		# shellcheck disable=SC2086
		limit_cmd "$u" $o
		timed "$n" "$phase" "$client" "$rep" "${CMD[@]}" || return 1
		got=$(head -n 1 "$W/out") ;;
	mpop-mbox)
		mpop_cmd "$d" "$u" "mbox $d/mbox" "$keep"
		timed "$n" "$phase" "$client" "$rep" "${CMD[@]}" || return 1
		got=$(grep -c '^From ' "$d/mbox") ;;
	mpop-maildir)
		mkdir -p "$d/md/cur" "$d/md/new" "$d/md/tmp"
		mpop_cmd "$d" "$u" "maildir $d/md" "$keep"
		timed "$n" "$phase" "$client" "$rep" "${CMD[@]}" || return 1
		got=$(count_files "$d/md/new" "$d/md/cur") ;;
	getmail-maildir)
		mkdir -p "$d/md/cur" "$d/md/new" "$d/md/tmp" "$d/gm"
		getmail_cmd "$d/gm" "$u" "$d/md"
		timed "$n" "$phase" "$client" "$rep" "${CMD[@]}" || return 1
		got=$(count_files "$d/md/new" "$d/md/cur") ;;
	popvault-*)
		[ "$phase" = delete ] && o=--delete=verified
		# shellcheck disable=SC2086
		pv_cmd "$d" "$u" "${client#popvault-}" $o
		timed "$n" "$phase" "$client" "$rep" "${CMD[@]}" || return 1
		got=$(pv_field archived)
		if [ "$(pv_field verified)" != "$n" ]; then
			note_bad "$n" "$phase" "$client" "$rep" \
			    "verified $(pv_field verified) of $n"
		fi ;;
	import-*)
		# The same corpus from an mboxrd file on this machine.
		# shellcheck disable=SC2207  # pv_fmt_args prints plain words
		CMD=("$POPVAULT" import --vault "$d/vault" --account bench \
		    $(pv_fmt_args "${client#import-}") --json "$W/import-$n.mbox")
		timed "$n" "$phase" "$client" "$rep" "${CMD[@]}" || return 1
		got=$(grep -o '"found":[0-9]*' "$W/out" | cut -d: -f2)
		local ver
		ver=$(grep -o '"verified":[0-9]*' "$W/out" | cut -d: -f2)
		local imp
		imp=$(grep -o '"imported":[0-9]*' "$W/out" | cut -d: -f2)
		[ "$ver" = "$imp" ] || note_bad "$n" "$phase" "$client" "$rep" \
		    "verified $ver of $imp imported" ;;
	*) echo "bench: unknown client $client" >&2; return 1 ;;
	esac
	if [ "$got" != "$n" ]; then
		note_bad "$n" "$phase" "$client" "$rep" "got $got of $n messages"
		return 1
	fi
	if [ "$phase" = delete ]; then
		got=$(dv_server_files "$u" | wc -l)
		[ "$got" = 0 ] || note_bad "$n" "$phase" "$client" "$rep" \
		    "the server still holds $got messages"
	fi
	return 0
}

# --- upload -----------------------------------------------------------------

# imap_folder count|delete USER FOLDER: the number of messages in FOLDER
# (imaplib, imaps, the test CA), or delete FOLDER. Untimed.
imap_folder() {
	python3 - "$1" "$HOSTNAME_TLS" "$DV_IMAPS_PORT" "$DV_CA" "$2" "$PW" \
	    "$3" <<'PYEOF'
import imaplib, ssl, sys
what, host, port, ca, user, pw, folder = sys.argv[1:]
m = imaplib.IMAP4_SSL(host, int(port),
                      ssl_context=ssl.create_default_context(cafile=ca))
m.login(user, pw)
if what == "count":
    typ, data = m.select('"%s"' % folder, readonly=True)
    print(int(data[0]) if typ == "OK" else -1)
else:
    m.delete('"%s"' % folder)
m.logout()
PYEOF
}

# mbsync_cmd DIR USER FOLDER MAILDIR: write DIR/mbsyncrc: the Maildir
# MAILDIR (as the INBOX of a Maildir store) pushed to FOLDER of USER,
# created there.
mbsync_cmd() {
	local d=$1
	(
		umask 077
		mkdir -p "$d/state" "$d/unused"
		cat > "$d/mbsyncrc" <<EOF
IMAPAccount bench
Host $HOSTNAME_TLS
Port $DV_IMAPS_PORT
User $2
Pass $PW
SSLType IMAPS
SystemCertificates no
CertificateFile $DV_CA

IMAPStore far
Account bench

MaildirStore near
Path $d/unused/
Inbox $4

Channel push
Far :far:$3
Near :near:INBOX
Create Far
Sync Push
Expunge None
CopyArrivalDate yes
SyncState $d/state/
EOF
	)
	CMD=(mbsync -c "$d/mbsyncrc" -q push)
}

# imapsafe N: print the folder (cached) of N realistic messages that IMAP
# carries unchanged: the first N of a larger realistic corpus without NUL
# or bare CR (IMAP forbids NUL in a message, and a bare CR is no line end
# it allows: popvault refuses to send such a message, Dovecot's APPEND
# would turn them into 0x80 and LF; docs/dovecot-notes.md), hard links.
imapsafe() {
	local n=$1 d=$CACHE/imapsafe-$SEED-$1 big
	if [ ! -f "$d/.bytes" ]; then
		big=$(corpus realistic $((n + n / 10 + 20))) || return 1
		say "selecting $n IMAP-safe messages of $big into $d"
		rm -rf -- "$d" "$d.tmp"
		mkdir -p "$d.tmp/new" "$d.tmp/cur" "$d.tmp/tmp" || return 1
		python3 - "$big/new" "$d.tmp/new" "$n" >"$d.tmp/.bytes" <<'PYEOF' || return 1
import os, re, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
total = k = 0
for f in sorted(os.listdir(src)):
    if k == n:
        break
    with open(os.path.join(src, f), "rb") as fh:
        b = fh.read()
    if b"\0" in b or re.search(rb"\r(?!\n)", b):
        continue
    os.link(os.path.join(src, f), os.path.join(dst, f))
    total += len(b)
    k += 1
if k < n:
    sys.exit("only %d IMAP-safe messages" % k)
print(total)
PYEOF
		mv -- "$d.tmp" "$d" || return 1
	fi
	printf '%s\n' "$d"
}

# run_upload N PHASE CLIENT REP USER CORPUS DIR: one timed upload of the
# N messages into a new folder of USER; checks that the folder holds N
# messages (and, for popvault, that its report says all N proven), then
# deletes the folder (untimed).
run_upload() {
	local n=$1 phase=$2 client=$3 rep=$4 u=$5 src=$6 d=$7 folder got rc=0
	folder="Up$n-$phase-$client-$rep"
	rm -rf -- "$d" && mkdir -p "$d" || return 1
	case "$client" in
	popvault-upload|popvault-upload-batch1)
		CMD=("$POPVAULT" export --vault "$W/upv-$n/vault" --tls-ca \
		    "$DV_CA" --json \
		    --to "imaps://$u@$HOSTNAME_TLS:$DV_IMAPS_PORT/$folder")
		[ "$client" = popvault-upload ] || CMD+=(--batch 1)
		timed "$n" "$phase" "$client" "$rep" "${CMD[@]}" || rc=1
		if [ "$rc" = 0 ] && ! grep -Eq "\"proven\": *${n}[,} ]" "$W/out"; then
			note_bad "$n" "$phase" "$client" "$rep" \
			    "not all proven: $(head -c 300 "$W/out")"
		fi ;;
	mbsync-push)
		mkdir -p "$d/md/cur" "$d/md/tmp" &&
		    { cp -al -- "$src/new" "$d/md/new" 2>/dev/null ||
		    cp -a -- "$src/new" "$d/md/new"; } || return 1
		mbsync_cmd "$d" "$u" "$folder" "$d/md"
		timed "$n" "$phase" "$client" "$rep" "${CMD[@]}" || rc=1 ;;
	*) echo "bench: unknown client $client" >&2; return 1 ;;
	esac
	got=$(imap_folder count "$u" "$folder" 2>/dev/null)
	imap_folder delete "$u" "$folder" >/dev/null 2>&1
	[ "$rc" = 0 ] || return 1
	if [ "$got" != "$n" ]; then
		note_bad "$n" "$phase" "$client" "$rep" \
		    "the folder holds $got of $n messages"
		return 1
	fi
	return 0
}

# reps_for SPEC N: the repetitions for size N from "R" or "N:R ..." pairs.
reps_for() {
	local w r=1
	for w in $1; do
		case "$w" in
		*:*) r=${w#*:}; [ "${w%%:*}" = "$2" ] && break ;;
		*) r=$w ;;
		esac
	done
	printf '%s\n' "$r"
}

# rotate K WORDS...: the words, starting at the K-th (mod count).
rotate() {
	local k=$1
	shift
	local -a a=("$@")
	local i c=${#a[@]}
	for ((i = 0; i < c; i++)); do
		printf '%s ' "${a[(i + k) % c]}"
	done
}

# --- nothing new ---------------------------------------------------------

# nn_prepare N USER: full runs (phase "prepare") leaving their state in
# $DEST/nn-CLIENT, for a size without keep rounds (BENCH_BIG).
nn_prepare() {
	local n=$1 u=$2 d c
	say "N=$n: full runs to prepare the nothing-new state"
	for c in popvault-maildir mpop-maildir getmail-maildir; do
		d=$DEST/nn-$c
		case "$c" in
		getmail-*) [ "$n" -gt "$GETMAIL_MAX" ] && continue ;;
		esac
		# A client that failed here is left out of the nothing-new runs.
		run_client "$n" prepare "$c" 0 "$u" "$d" || rm -rf -- "$d"
	done
}

# nothing_new N USER: with a full run's state in $DEST/nn-CLIENT (the last
# keep round, or nn_prepare), time the runs that find nothing new; limitpop
# -l (log in, UIDL, LIST, QUIT) is the floor. Removes $DEST/nn-*.
nothing_new() {
	local n=$1 u=$2 rep c d
	for ((rep = 1; rep <= NN_REPS; rep++)); do
		for c in $(rotate "$rep" limit-list popvault-maildir \
		    mpop-maildir getmail-maildir); do
			d=$DEST/nn-$c
			case "$c" in
			limit-list)
				limit_cmd "$u" -l
				timed "$n" nothing "$c" "$rep" "${CMD[@]}" ;;
			*) [ -d "$d" ] || continue ;;&
			popvault-maildir)
				pv_cmd "$d" "$u" maildir
				timed "$n" nothing "$c" "$rep" "${CMD[@]}" &&
				{ [ "$(pv_field archived)" = 0 ] ||
				    note_bad "$n" nothing "$c" "$rep" \
				    "archived $(pv_field archived)"; } ;;
			mpop-maildir)
				mpop_cmd "$d" "$u" "maildir $d/md" on
				timed "$n" nothing "$c" "$rep" "${CMD[@]}" &&
				{ [ "$(count_files "$d/md/new" "$d/md/cur")" = "$n" ] ||
				    note_bad "$n" nothing "$c" "$rep" "fetched again"; } ;;
			getmail-maildir)
				getmail_cmd "$d/gm" "$u" "$d/md"
				timed "$n" nothing "$c" "$rep" "${CMD[@]}" &&
				{ [ "$(count_files "$d/md/new" "$d/md/cur")" = "$n" ] ||
				    note_bad "$n" nothing "$c" "$rep" "fetched again"; } ;;
			esac
		done
	done
	rm -rf -- "$DEST"/nn-*
}

# --- main ----------------------------------------------------------------

machine_info() {
	local v p
	echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) cores online"
	echo "- Memory: $(awk '/^MemTotal/ { printf "%.1f GB", $2 / 1e6 }' /proc/meminfo)"
	echo "- Kernel: $(uname -sr); Debian $(cat /etc/debian_version 2>/dev/null)"
	echo "- File system of the destinations: $(df -T "$DEST" | awk 'NR == 2 { print $2 }') ($DEST; mount options: $(findmnt -n -o OPTIONS --target "$DEST"))"
	local dev
	dev=$(findmnt -n -o SOURCE --target "$DEST")
	case "$(findmnt -n -o FSTYPE --target "$DEST")" in ext[34])
		if ls -d "/proc/fs/jbd2/${dev##*/}"-* >/dev/null 2>&1; then
			echo "- ext4 journal on $dev: yes"
		else
			echo "- ext4 journal on $dev: none"
		fi ;;
	esac
	echo "- popvault: $("$POPVAULT" --version 2>&1 | head -n 1), binary sha256 $(sha256sum < "$POPVAULT" | cut -c1-16)"
	for p in dovecot-core dovecot-imapd mpop getmail6 isync openssl libssl3 python3 zstd; do
		v=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null) || continue
		printf -- '- %s %s\n' "$p" "$v"
	done
}

# upload_wanted: some size has upload runs.
upload_wanted() {
	local n
	for n in $NS; do
		[ "$(reps_for "$UP_REPS" "$n")" -gt 0 ] && return 0
	done
	return 1
}
DV_OPTS=
if upload_wanted; then
	command -v mbsync >/dev/null ||
	    { echo "bench: mbsync not installed (make deps: isync)" >&2; exit 1; }
	DV_OPTS=--imap
fi
say "starting a private Dovecot (pop3s${DV_OPTS:+, imaps}, test CA) under $W"
# shellcheck disable=SC2086  # empty or one word
dv_start "$W/dv" $DV_OPTS || exit 1
if [ "${BENCH_BIG:-0}" = 1 ]; then
	BIGN=100000
else
	BIGN=
fi
for n in $NS $BIGN; do
	dv_adduser "k$n" "$PW" && dv_adduser "d$n" "$PW" || exit 1
	[ -z "$DV_OPTS" ] || { dv_adduser "up$n" "$PW" && dv_adduser "us$n" "$PW"; } ||
	    exit 1
done
sleep 1.1	# Dovecot re-reads its passwd file at most once a second
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
MACHINE=$(machine_info)

ALL_CLIENTS="limit mpop-mbox mpop-maildir getmail-maildir"
for f in $FORMATS; do
	ALL_CLIENTS="$ALL_CLIENTS popvault-$f"
done
for f in $IMPORT_FORMATS; do
	ALL_CLIENTS="$ALL_CLIENTS import-$f"
done
CLIENTS=${BENCH_CLIENTS:-$ALL_CLIENTS}
BYTES_OF=
UPBYTES_OF=

for n in $NS; do
	src=$(corpus realistic "$n") || exit 1
	bytes=$(cat "$src/.bytes")
	BYTES_OF="$BYTES_OF $n=$bytes"
	say "N=$n: $bytes bytes; filling users k$n and d$n"
	fill "k$n" "$src" || exit 1
	case " $CLIENTS " in
	*" import-"*)
		find "$src" -type f ! -name '.*' | sort |
		    python3 "$ROOT/tests/lib/mailfiles.py" mboxrd \
		    "$W/import-$n.mbox" - || exit 1 ;;
	esac
	say "N=$n: warming up (untimed full retrieval: Dovecot index, page cache)"
	limit_cmd "k$n"
	"${CMD[@]}" >/dev/null || exit 1
	clients=
	for c in $CLIENTS; do
		case "$c" in
		getmail-*) [ "$n" -gt "$GETMAIL_MAX" ] && continue ;;
		esac
		clients="$clients $c"
	done
	reps=$(reps_for "$REPS" "$n")
	for ((rep = 1; rep <= reps; rep++)); do
		# shellcheck disable=SC2086
		for c in $(rotate "$((rep - 1))" $clients); do
			say "N=$n round $rep/$reps: $c"
			if run_client "$n" keep "$c" "$rep" "k$n" "$DEST/dest" &&
			    [ "$rep" = "$reps" ]; then
				# The last round's state serves the nothing-new runs.
				case "$c" in
				popvault-maildir|mpop-maildir|getmail-maildir)
					mv -- "$DEST/dest" "$DEST/nn-$c" ;;
				esac
			fi
			rm -rf -- "$DEST/dest"
		done
	done
	say "N=$n: nothing-new runs"
	nothing_new "$n" "k$n"
	reps=$(reps_for "$DEL_REPS" "$n")
	for ((rep = 1; rep <= reps; rep++)); do
		for c in $(rotate "$((rep - 1))" limit-dele mpop-maildir \
		    popvault-maildir popvault-mbox); do
			say "N=$n delete $rep/$reps: $c"
			limit_cmd "d$n" -l
			fill "d$n" "$src" && "${CMD[@]}" >/dev/null || exit 1
			run_client "$n" delete "$c" "$rep" "d$n" "$DEST/dest" || true
			rm -rf -- "$DEST/dest"
		done
	done
	rm -rf -- "$(dv_maildir "d$n")"
	reps=$(reps_for "$UP_REPS" "$n")
	if [ "$reps" -gt 0 ]; then
		usrc=$(imapsafe "$n") || exit 1
		UPBYTES_OF="$UPBYTES_OF upload:$n=$(cat "$usrc/.bytes")"
		say "N=$n: the vault for the upload runs (popvault fetch of user us$n, untimed)"
		fill "us$n" "$usrc" || exit 1
		pv_cmd "$W/upv-$n" "us$n" maildir
		"${CMD[@]}" >"$W/out" 2>&1 && [ "$(pv_field verified)" = "$n" ] ||
		    { say "the upload vault's fetch failed:"; tail -n 5 "$W/out" >&2; exit 1; }
		rm -rf -- "$(dv_maildir "us$n")"
		# One untimed run of each (phase "warmup", not in the tables):
		# the page cache holds both sources, Dovecot has the user's
		# indexes.
		for c in $UP_CLIENTS; do
			say "N=$n upload warm-up: $c"
			run_upload "$n" warmup "$c" 0 "up$n" "$usrc" "$DEST/dest" || true
			rm -rf -- "$DEST/dest"
		done
	fi
	for ((rep = 1; rep <= reps; rep++)); do
		# shellcheck disable=SC2086  # client names are words
		for c in $(rotate "$((rep - 1))" $UP_CLIENTS); do
			say "N=$n upload $rep/$reps: $c"
			run_upload "$n" upload "$c" "$rep" "up$n" "$usrc" "$DEST/dest" || true
			rm -rf -- "$DEST/dest"
		done
	done
	rm -rf -- "$W/upv-$n"
done

if [ -n "$BIGN" ]; then
	n=$BIGN
	src=$(corpus tiny "$n") || exit 1
	bytes=$(cat "$src/.bytes")
	BYTES_OF="$BYTES_OF $n=$bytes"
	say "N=$n (tiny messages, $bytes bytes): filling user k$n"
	fill "k$n" "$src" || exit 1
	limit_cmd "k$n"
	"${CMD[@]}" >/dev/null || exit 1
	nn_prepare "$n" "k$n"; nothing_new "$n" "k$n"
fi

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$((SECONDS - BENCH_START))
mkdir -p "$(dirname "$OUT")"
cp -- "$RUNS" "${OUT%.md}.tsv"
{
	echo "# popvault benchmark results"
	echo
	echo "Produced by \`make bench\` (tests/bench/bench.sh): BENCH_N=\"$NS\"" \
	    "BENCH_REPS=\"$REPS\" BENCH_NN_REPS=$NN_REPS" \
	    "BENCH_DEL_REPS=\"$DEL_REPS\"" \
	    "BENCH_UPLOAD_REPS=\"$UP_REPS\"${BIGN:+ BENCH_BIG=1};" \
	    "took $((ELAPSED / 60)) min $((ELAPSED % 60)) s." \
	    "Raw measurements: $(basename "${OUT%.md}.tsv")."
	echo
	echo "## Machine"
	echo
	printf '%s\n' "$MACHINE"
	echo "- Load average (1, 5, 15 min) at start: $LOAD_START; at end: $LOAD_END"
	echo
	# shellcheck disable=SC2086  # one argument per size
	python3 "$ROOT/tests/bench/report.py" "$RUNS" $BYTES_OF $UPBYTES_OF
} > "$OUT.tmp" && mv -- "$OUT.tmp" "$OUT" || exit 1
cat "$OUT"
say "results written to $OUT (raw: ${OUT%.md}.tsv); $ELAPSED s"
bad=$(awk -F'\t' 'NR > 1 && $9 != 0' "$RUNS" | wc -l)
[ "$bad" = 0 ] || { say "$bad runs failed or were wrong (see the tsv)"; exit 1; }
exit 0
