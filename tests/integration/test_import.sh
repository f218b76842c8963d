#!/usr/bin/env bash
# test_import.sh -- "popvault import" of mail files, judged by readers
# nobody here wrote. The corpus is genmail.py's (IMPORT_N messages, the
# nasty ones included) in a Maildir; tests/lib/mailfiles.py writes it
# again as an mboxrd file, an mboxo file (Python's mailbox), a tree of
# .eml files (half CRLF), and the tools of the system pack those as
# .gz, .bz2, .xz, .zst, tar.gz, tar.xz and zip. Each is imported into a
# fresh vault (Maildir format), and the SHA-256 of every file of the
# vault's Maildir (tests/lib/expect.py compare, reading the files) must
# be exactly the expected multiset, computed by mailfiles.py from the
# corpus files (canonical form: CRLF -> LF; an mbox writer's added final
# newline). Then:
#
#   - a second import of the same paths stores nothing and reads no
#     message again (all "known"); --json parses and counts;
#   - the same mail from two containers into one vault: stored once;
#   - fetched from a private Dovecot first, then imported: the vault holds
#     the union of both expected sets, each hash once;
#   - bad input, all in one run beside good files: a truncated gzip mbox,
#     a binary file in a Maildir, a "From " line without a date, a last
#     message without a newline, a symlink loop, a FIFO, a message over
#     --max-message-size (a 2 GiB sparse file): each named in a
#     per-item error, exit 1, every good message stored, nothing else
#     (no half message);
#   - an import into an account fetched from a server is refused;
#   - kill -9 torture: crash hooks at every step of the batch protocol
#     (maildir, mbox.gz and tar.zst vaults) and random kill -9 of a
#     running import, then a rerun: exactly the expected set, each once,
#     index consistent, "popvault verify" passes.
#
# Environment: IMPORT_N (200 messages), IMPORT_KILLS (4 random kills).
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

IMPORT_N=${IMPORT_N:-200}
IMPORT_KILLS=${IMPORT_KILLS:-4}
MF="python3 $T_ROOT/tests/lib/mailfiles.py"
EXPECT=$T_ROOT/tests/lib/expect.py
T=$(t_tmpdir)
SRC=$T/src
mkdir -p "$SRC"

python3 "$T_ROOT/tests/gen/genmail.py" --count "$IMPORT_N" --seed 31 \
    --big-every 70 --big-size 1500000 "$SRC/md" >/dev/null ||
    { t_fail generate "genmail failed"; t_done; }
mapfile -t FILES < <(find "$SRC/md/new" -type f | sort)
$MF hashes "$SRC/md" >"$T/want.md"
$MF hashes --mbox "$SRC/md" >"$T/want.mbox"
$MF mboxrd "$SRC/rd.mbox" "${FILES[@]}"
$MF mboxo "$SRC/o.mbox" "${FILES[@]}"
$MF eml "$SRC/eml" "${FILES[@]}"
$MF unquoted "$SRC/md" >"$T/want.unquoted"
gzip -c "$SRC/rd.mbox" >"$SRC/rd.mbox.gz"
bzip2 -c "$SRC/rd.mbox" >"$SRC/rd.mbox.bz2"
xz -c "$SRC/rd.mbox" >"$SRC/rd.mbox.xz"
zstd -q -c "$SRC/rd.mbox" >"$SRC/rd.mbox.zst"
# No name tells what they are: detection is by content.
cp "$SRC/rd.mbox.gz" "$SRC/noname1"
(cd "$SRC" && tar -czf md.tar.gz md && tar -cJf md.tar.xz md)
cp "$SRC/md.tar.gz" "$SRC/noname2"
$MF zip "$SRC/eml.zip" "$SRC/eml"

imp() {	# vault account args...
	local v=$1 a=$2
	shift 2
	PV_OUT=$("$POPVAULT" import --vault "$v" --account "$a" "$@" 2>&1)
	PV_RC=$?
}

# The vault's Maildir holds exactly the hashes listed in $2.
holds() {
	local v=$1 want=$2 d
	d=$(pv_account_dir "$v") || { echo "no account folder"; return 1; }
	python3 "$EXPECT" compare "$want" "$d/maildir" 2>&1 | tail -n 5
	return "${PIPESTATUS[0]}"
}

# --- each container, each in a fresh vault --------------------------------
case_one() {	# name wantfile path...
	local name=$1 want=$2 v=$T/v-$1 out
	shift 2
	imp "$v" old "$@"
	if [ "$PV_RC" != 0 ]; then
		t_fail "import_$name" "exit $PV_RC: $(printf '%s' "$PV_OUT" | tail -n 3)"
		return
	fi
	if out=$(holds "$v" "$want"); then
		t_pass "import_$name"
	else
		t_fail "import_$name" "$out"
	fi
}
case_one maildir "$T/want.md" "$SRC/md"
case_one mboxrd "$T/want.mbox" "$SRC/rd.mbox"
case_one mbox_gz "$T/want.mbox" "$SRC/rd.mbox.gz"
case_one mbox_bz2 "$T/want.mbox" "$SRC/rd.mbox.bz2"
case_one mbox_xz "$T/want.mbox" "$SRC/rd.mbox.xz"
case_one mbox_zst "$T/want.mbox" "$SRC/rd.mbox.zst"
case_one noname_gz "$T/want.mbox" "$SRC/noname1"
case_one eml_tree "$T/want.md" "$SRC/eml"
case_one tar_gz "$T/want.md" "$SRC/md.tar.gz"
case_one tar_xz "$T/want.md" "$SRC/md.tar.xz"
case_one noname_tar "$T/want.md" "$SRC/noname2"
case_one zip "$T/want.md" "$SRC/eml.zip"

# mboxo (Python's mailbox): one message per message; those without a
# ">From " line (which mboxo cannot give back) exact.
v=$T/v-mboxo
imp "$v" old "$SRC/o.mbox"
n=$(pv_sql "$v" "select count(*) from sightings")
miss=$(pv_sql "$v" "select lower(hex(sha256)) from messages" |
    sort | comm -23 <(sort -u "$T/want.unquoted") - | wc -l)
if [ "$PV_RC" = 0 ] && [ "$n" = "${#FILES[@]}" ] && [ "$miss" = 0 ]; then
	t_pass import_mboxo
else
	t_fail import_mboxo "exit $PV_RC, $n sightings (want ${#FILES[@]}), $miss unquoted messages missing"
fi

# --- again: nothing new; --json -------------------------------------------
v=$T/v-mboxrd
before=$(find "$v/accounts" -type f | wc -l)
PV_OUT=$("$POPVAULT" import --vault "$v" --account old --json "$SRC/rd.mbox" 2>/dev/null)
PV_RC=$?
got=$(printf '%s' "$PV_OUT" | python3 -c 'import json,sys
d = json.load(sys.stdin)
print(d["found"], d["imported"], d["known"], d["unreadable"], d["exit"])' 2>&1)
after=$(find "$v/accounts" -type f | wc -l)
if [ "$PV_RC" = 0 ] && [ "$got" = "${#FILES[@]} 0 ${#FILES[@]} 0 0" ] &&
    [ "$before" = "$after" ]; then
	t_pass import_again_nothing_new
else
	t_fail import_again_nothing_new "exit $PV_RC, found/imported/known/unreadable/exit: $got; files $before -> $after"
fi

# A folder and a path inside it: read once (no id listed twice).
PV_OUT=$("$POPVAULT" import --vault "$T/v-overlap" --account old --json \
    "$SRC/md" "$SRC/md/new" "$SRC/md" 2>"$T/overlap.err")
PV_RC=$?
got=$(printf '%s' "$PV_OUT" | python3 -c 'import json,sys
d = json.load(sys.stdin); print(d["found"], d["imported"])' 2>&1)
if [ "$PV_RC" = 0 ] && [ "$got" = "${#FILES[@]} ${#FILES[@]}" ] &&
    grep -q "read already" "$T/overlap.err"; then
	t_pass import_overlapping_paths_once
else
	t_fail import_overlapping_paths_once "exit $PV_RC, found/imported $got: $(tail -n 2 "$T/overlap.err")"
fi

# The same mail from two containers into one vault: stored once.
v=$T/v-mboxrd
imp "$v" old "$SRC/md.tar.xz" "$SRC/eml"
rows=$(pv_sql "$v" "select count(*) from messages")
want_rows=$(sort -u "$T/want.md" "$T/want.mbox" | wc -l)
if [ "$PV_RC" = 0 ] && [ "$rows" = "$want_rows" ] &&
    [ -z "$(pv_index_problems "$v" "$want_rows")" ]; then
	t_pass import_dedup_across_containers
else
	t_fail import_dedup_across_containers "exit $PV_RC, $rows rows (want $want_rows): $(pv_index_problems "$v" "$want_rows")"
fi

# --- fetched first, then imported -----------------------------------------
PW=import-pw
if dv_start "$T/dv" && dv_adduser imp "$PW"; then
	cp -p "${FILES[@]}" "$(dv_maildir imp)/new/" && dv_fix_perms imp
	dv_server_files imp >"$T/server.list"
	python3 "$EXPECT" sha256 $(cat "$T/server.list") >"$T/want.pop"
	v=$T/v-both
	pv_fetch "$v" "$PW" --tls-ca "$DV_CA" "pop3s://imp@127.0.0.1:$DV_POP3S_PORT"
	rc1=$PV_RC
	imp "$v" old "$SRC/md"
	sort -u "$T/want.pop" "$T/want.md" >"$T/want.both"
	rows=$(pv_sql "$v" "select count(*) from messages")
	got=$(pv_sql "$v" "select lower(hex(sha256)) from messages" | sort)
	if [ "$rc1" = 0 ] && [ "$PV_RC" = 0 ] &&
	    [ "$got" = "$(cat "$T/want.both")" ] &&
	    [ -z "$(pv_index_problems "$v" "$(wc -l <"$T/want.both")")" ]; then
		t_pass import_after_fetch_union
	else
		t_fail import_after_fetch_union "fetch $rc1, import $PV_RC, $rows rows, want $(wc -l <"$T/want.both"): $(pv_index_problems "$v" "$(wc -l <"$T/want.both")")"
	fi
	# An import into the fetched account is refused, nothing written.
	n0=$(pv_sql "$v" "select count(*) from sightings")
	imp "$v" "imp@127.0.0.1:$DV_POP3S_PORT" "$SRC/rd.mbox"
	n1=$(pv_sql "$v" "select count(*) from sightings")
	if [ "$PV_RC" = 64 ] && [ "$n0" = "$n1" ] &&
	    printf '%s' "$PV_OUT" | grep -q "import into an account of its own"; then
		t_pass import_refuses_pop3_account
	else
		t_fail import_refuses_pop3_account "exit $PV_RC, sightings $n0 -> $n1: $PV_OUT"
	fi
else
	t_fail dovecot_start "could not start Dovecot"
fi

# --- bad input, beside good files -----------------------------------------
B=$T/bad
mkdir -p "$B/md/new" "$B/md/cur" "$B/md/tmp" "$B/tree"
half=$(( $(stat -c %s "$SRC/rd.mbox.gz") / 2 ))
head -c "$half" "$SRC/rd.mbox.gz" >"$B/tree/cut.mbox.gz"
printf '\x89PNG\r\n\x1a\n\0\0\0\rIHDR' >"$B/md/cur/123.bin:2,S"
cp "${FILES[0]}" "$B/md/new/1.good.host"
printf 'From a@b Mon Jan  1 10:00:00 2024\nSubject: one\n\nbody\n\nFrom someone who forgot the date\nstill one\n\nFrom a@b Mon Jan  1 10:00:00 2024\nSubject: two\n\nno newline at the end' >"$B/tree/broken.mbox"
ln -s .. "$B/tree/loop"
mkfifo "$B/tree/fifo"
{ printf 'Subject: huge\n\n'; } >"$B/tree/huge.eml"
truncate -s 2G "$B/tree/huge.eml"
# What must be stored: the good Maildir file, the two broken.mbox
# messages as written, and only whole messages of the cut file.
{
	$MF hashes "$B/md/new"
	printf 'Subject: one\n\nbody\n\nFrom someone who forgot the date\nstill one\n' | sha256sum | cut -c1-64
	printf 'Subject: two\n\nno newline at the end' | sha256sum | cut -c1-64
} | sort >"$T/want.bad"
v=$T/v-bad
imp "$v" old --max-message-size 100M "$B/md" "$B/tree" "$B/tree/loop/tree/fifo"
got=$(pv_sql "$v" "select lower(hex(sha256)) from messages" | sort)
extra=$(comm -13 <(sort -u "$T/want.bad" "$T/want.mbox") <(printf '%s\n' "$got") | grep -c .)
lost=$(comm -23 "$T/want.bad" <(printf '%s\n' "$got") | grep -c .)
cut=$(comm -12 <(sort -u "$T/want.mbox") <(printf '%s\n' "$got") | grep -c .)
why=
[ "$PV_RC" = 1 ] || why="$why; exit $PV_RC (want 1)"
[ "$extra" = 0 ] || why="$why; $extra stored messages that are no whole message"
[ "$lost" = 0 ] || why="$why; $lost good messages not stored"
[ "$cut" -ge 1 ] && [ "$cut" -lt "${#FILES[@]}" ] ||
    why="$why; $cut messages from the cut gzip (want some, not all)"
for what in "cut.mbox.gz" "123.bin:2,S" "loop" "fifo" "huge.eml" "no date"; do
	printf '%s' "$PV_OUT" | grep -qF "$what" || why="$why; no message names $what"
done
if [ -z "$why" ]; then
	t_pass import_bad_input
else
	t_fail import_bad_input "${why#; }: $(printf '%s' "$PV_OUT" | tail -n 12)"
fi
rm -f "$B/tree/huge.eml"

# --- kill -9 torture -------------------------------------------------------
# After a crash and one more run: exactly the mboxrd corpus, each once,
# nothing pending, "popvault verify" passes; a Maildir vault's files are
# read and hashed too.
final_check() {	# name vault format
	local name=$1 v=$2 f=$3 why="" got p out
	imp "$v" old --batch 25 $(pv_fmt_args "$f") "$SRC/rd.mbox.gz"
	[ "$PV_RC" = 0 ] || why="rerun exit $PV_RC: $(printf '%s' "$PV_OUT" | tail -n 2)"
	got=$(pv_sql "$v" "select lower(hex(sha256)) from messages" | sort)
	[ "$got" = "$(sort "$T/want.mbox")" ] ||
	    why="$why; stored set differs ($(printf '%s\n' "$got" | grep -c .) rows, want $(grep -c . "$T/want.mbox"))"
	p=$(pv_index_problems "$v" "$(grep -c . "$T/want.mbox")")
	[ -z "$p" ] || why="$why; $p"
	"$POPVAULT" verify --vault "$v" >/dev/null 2>&1 || why="$why; verify failed"
	if [ "$f" = maildir ] && ! out=$(holds "$v" "$T/want.mbox"); then
		why="$why; files: $out"
	fi
	if [ -z "$why" ]; then
		t_pass "$name"
	else
		t_fail "$name" "${why#; }"
	fi
}

crash_case() {	# format point
	local f=$1 point=$2 v name
	name="crash_${f}_${point%%:*}"
	v=$T/crash-$f-${point%%:*}
	PV_OUT=$(POPVAULT_CRASH=$point "$POPVAULT" import --vault "$v" \
	    --account old --batch 25 $(pv_fmt_args "$f") "$SRC/rd.mbox.gz" 2>&1)
	PV_RC=$?
	if [ "$PV_RC" != 134 ]; then
		t_fail "$name" "POPVAULT_CRASH=$point: exit $PV_RC, not the hook's abort"
		return
	fi
	final_check "$name" "$v" "$f"
}
for p in retr-begin:30 retr-mid-body:1 before-intent-commit:2 \
    intent-committed:2 archive-synced:2 batch-committed:2 verify:2 \
    verified-committed:2 maildir-files-synced:2 maildir-first-rename:2; do
	crash_case maildir "$p"
done
for p in retr-begin:30 intent-committed:2 mbox-written:2 archive-synced:2 \
    batch-committed:2; do
	crash_case mbox.gz "$p"
done
for p in retr-begin:30 tar-volume-closed:1 tar-volume-renamed:1 \
    batch-committed:1; do
	crash_case tar.zst "$p"
done

# Random kill -9 of running imports, then one more run.
v=$T/v-kill
for k in $(seq 1 "$IMPORT_KILLS"); do
	"$POPVAULT" import --vault "$v" --account old --batch 25 \
	    "$SRC/rd.mbox.gz" >/dev/null 2>&1 &
	pid=$!
	sleep "0.$(( (RANDOM % 9) + 1 ))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
done
final_check import_kill9_random "$v" maildir

t_done
