#!/usr/bin/env bash
# test_rebuild.sh -- "popvault index rebuild" against a private Dovecot.
#
# A vault of four accounts, one per format (maildir; mbox with the
# Content-Length traps of tests/gen/mboxtraps.py; mbox gzip; tar zstd),
# some messages shared between accounts (stored once: the later
# account's archive holds nothing for them), fetched in small batches.
# The expected (account, SHA-256) set of stored copies comes from the
# server's files (tests/lib/expect.py), not from popvault: each
# account's messages, less those an earlier account stored already.
#
#   1. index.sqlite (and -wal, -shm) deleted: status, verify and fetch
#      refuse, naming the rebuild, and make no index; "index rebuild" rebuilds it
#      without changing any archive file (sha256 of every file); verify
#      passes; the index holds exactly the expected set; every mbox
#      location (flags, padding), every volume's length and traps and
#      every account's name and server are those of the old index
#   2. a fetch of each account stores nothing (archives unchanged),
#      says up front that it downloads to relink, and relinks every
#      UIDL (sightings = the server's message count); then
#      --delete=verified empties each server, only of messages whose
#      bytes are in the vault
#   3. an index with pages overwritten: verify refuses, naming the
#      rebuild; the rebuild moves it aside (named in its output) and
#      the new one verifies; a truncated index, and one whose header is
#      not SQLite's: refused at open, rebuilt
#   4. a rebuild killed (abort at a crash point, and kill -9 at once)
#      leaves no index.sqlite; a rerun completes it
#   5. an account locked by another process: the rebuild refuses (75)
#      and writes nothing; an account without account file (an older
#      vault) gets its folder's name and adopts the next run's server
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

EXPECT=$T_ROOT/tests/lib/expect.py
T=$(t_tmpdir)
PW=rebuild-pw
V=$T/vault
USERS="md mb mbz tz"

dv_start "$T/dv" || { t_fail dovecot_start "could not start Dovecot"; t_done; }
for u in $USERS; do
	dv_adduser "$u" "$PW" || { t_fail adduser "$u"; t_done; }
done
# md: 40 messages; mb: the same 40 (shared) plus 20 and the mbox traps;
# mbz: 30 of its own; tz: 10 of md's and 10 of its own.
python3 "$T_ROOT/tests/gen/genmail.py" --count 40 --seed 31 \
    "$(dv_maildir md)" >/dev/null &&
python3 "$T_ROOT/tests/gen/genmail.py" --count 40 --seed 31 \
    "$(dv_maildir mb)" >/dev/null &&
python3 "$T_ROOT/tests/gen/genmail.py" --count 20 --start 40 --seed 32 \
    "$(dv_maildir mb)" >/dev/null &&
python3 "$T_ROOT/tests/gen/mboxtraps.py" "$(dv_maildir mb)" >/dev/null &&
python3 "$T_ROOT/tests/gen/genmail.py" --count 30 --seed 33 \
    --big-every 10 --big-size 300000 "$(dv_maildir mbz)" >/dev/null &&
python3 "$T_ROOT/tests/gen/genmail.py" --count 10 --seed 31 \
    "$(dv_maildir tz)" >/dev/null &&
python3 "$T_ROOT/tests/gen/genmail.py" --count 10 --start 50 --seed 34 \
    "$(dv_maildir tz)" >/dev/null ||
    { t_fail generate "genmail/mboxtraps failed"; t_done; }
for u in $USERS; do dv_fix_perms "$u"; done

fmt_of() {
	case "$1" in
	md) echo "--format maildir" ;;
	mb) echo "--format mbox" ;;
	mbz) echo "--format mbox --compress gzip" ;;
	tz) echo "--format tar --compress zstd" ;;
	esac
}

fetch() {	# USER [ARGS...]
	local u=$1
	shift
	# shellcheck disable=SC2046
	pv_fetch "$V" "$PW" $(fmt_of "$u") --batch 7 --tls-ca "$DV_CA" "$@" \
	    "pop3s://$u@localhost:$DV_POP3S_PORT"
}

# The server's hashes of a user, sorted.
server_hashes() {
	dv_server_files "$1" | xargs -d '\n' -r python3 "$EXPECT" sha256 |
	    sort -u
}

# "NAME SHA" of every stored copy in the index, sorted.
index_set() {
	pv_sql "$1" "select a.name || ' ' || lower(hex(m.sha256)) from
	    messages m join accounts a on a.id = m.account_id" | sort
}

# "path size sha256" of every archive file (lock, account file aside).
archive_files() {
	(cd "$V/accounts" && find . -type f ! -name lock ! -name account \
	    ! -path '*/quarantine/*' | LC_ALL=C sort | while read -r f; do
		printf '%s %s %s\n' "$f" "$(stat -c %s "$f")" \
		    "$(sha256sum <"$f" | cut -d' ' -f1)"
	done)
}

# 1. Fill the vault; the expected set, from the server's files.
for u in $USERS; do
	fetch "$u"
	[ "$PV_RC" = 0 ] || { t_fail "fetch_$u" "rc $PV_RC: $PV_OUT"; t_done; }
done
: >"$T/expected"
: >"$T/stored"
for u in $USERS; do
	name=$(pv_sql "$V" "select name from accounts where name like '$u@%'")
	server_hashes "$u" | while read -r h; do
		grep -qx "$h" "$T/stored" && continue
		echo "$h" >>"$T/stored"
		echo "$name $h"
	done >>"$T/expected"
done
sort -o "$T/expected" "$T/expected"
if cmp -s "$T/expected" <(index_set "$V"); then
	t_pass fetched_set_as_expected
else
	t_fail fetched_set_as_expected "the first index differs from the server's files"
fi
# What must come back: mbox locations, volumes, accounts.
pv_sql "$V" "select a.name, lower(hex(m.sha256)), m.location from messages m
    join accounts a on a.id = m.account_id where m.format = 'mbox'" |
    sort >"$T/mbox.loc"
pv_sql "$V" "select a.dir, v.name, v.length, v.traps from volumes v
    join accounts a on a.id = v.account_id" | sort >"$T/volumes"
pv_sql "$V" "select name, dir, host, port, user from accounts" |
    sort >"$T/accounts"
# The plain mbox has padding lines (a separator moved off a forged
# Content-Length): a message ends before the next one begins.
gaps=$(grep '^mb@' "$T/mbox.loc" | cut -d'|' -f3 |
    awk -F: '{ print $3, $4 }' | sort -n |
    awk 'NR > 1 && $1 != end { g++ } { end = $1 + $2 } END { print g + 0 }')
[ "$gaps" -gt 0 ] && t_pass padding_in_corpus ||
    t_fail padding_in_corpus "no padding line in the mbox: the traps are not exercised"
for u in $USERS; do
	[ -f "$V/accounts/$(pv_sql "$V" "select dir from accounts where name like '$u@%'")/account" ] ||
	    t_fail "account_file_$u" "no account file"
done
archive_files >"$T/files.before"

rm -f "$V/index.sqlite" "$V/index.sqlite-wal" "$V/index.sqlite-shm"
for c in status verify; do
	out=$("$POPVAULT" "$c" --vault "$V" 2>&1)
	rc=$?
	[ "$rc" != 0 ] && printf '%s' "$out" | grep -q 'missing.*popvault index rebuild' &&
	    [ ! -e "$V/index.sqlite" ] && t_pass "lost_index_$c" ||
	    t_fail "lost_index_$c" "rc $rc: $out"
done
fetch md
if [ "$PV_RC" != 0 ] && printf '%s' "$PV_OUT" | grep -q 'popvault index rebuild' &&
    [ ! -e "$V/index.sqlite" ]; then
	t_pass lost_index_refused
else
	t_fail lost_index_refused "rc $PV_RC, index made: $(ls "$V"): $PV_OUT"
fi

out=$("$POPVAULT" index rebuild --vault "$V" 2>&1)
rc=$?
[ "$rc" = 0 ] && t_pass rebuild_rc || t_fail rebuild_rc "rc $rc: $out"
archive_files >"$T/files.after"
cmp -s "$T/files.before" "$T/files.after" && t_pass rebuild_read_only ||
    t_fail rebuild_read_only "$(diff "$T/files.before" "$T/files.after" | head -5)"
vout=$("$POPVAULT" verify --vault "$V" 2>&1)
[ $? = 0 ] && t_pass verify_after_rebuild ||
    t_fail verify_after_rebuild "$vout"
if cmp -s "$T/expected" <(index_set "$V"); then
	t_pass rebuilt_set
else
	t_fail rebuilt_set "$(diff "$T/expected" <(index_set "$V") | head -5)"
fi
pv_sql "$V" "select a.name, lower(hex(m.sha256)), m.location from messages m
    join accounts a on a.id = m.account_id where m.format = 'mbox'" |
    sort >"$T/mbox.loc2"
cmp -s "$T/mbox.loc" "$T/mbox.loc2" && t_pass mbox_locations_round_trip ||
    t_fail mbox_locations_round_trip "$(diff "$T/mbox.loc" "$T/mbox.loc2" | head -5)"
pv_sql "$V" "select a.dir, v.name, v.length, v.traps from volumes v
    join accounts a on a.id = v.account_id" | sort >"$T/volumes2"
cmp -s "$T/volumes" "$T/volumes2" && t_pass volumes_round_trip ||
    t_fail volumes_round_trip "$(diff "$T/volumes" "$T/volumes2" | head -5)"
pv_sql "$V" "select name, dir, host, port, user from accounts" |
    sort >"$T/accounts2"
cmp -s "$T/accounts" "$T/accounts2" && t_pass accounts_round_trip ||
    t_fail accounts_round_trip "$(diff "$T/accounts" "$T/accounts2")"
[ "$(pv_sql "$V" "select count(*) from messages where state <> 'verified'")" = 0 ] &&
    [ "$(pv_sql "$V" "pragma integrity_check")" = ok ] &&
    t_pass rebuilt_verified || t_fail rebuilt_verified "unverified rows"

# 2. The next fetch stores nothing and relinks every UIDL; then deletes.
for u in $USERS; do
	fetch "$u"
	name=$(pv_sql "$V" "select name from accounts where name like '$u@%'")
	n=$(pv_sql "$V" "select count(*) from sightings s join accounts a on
	    a.id = s.account_id where a.name = '$name'")
	want=$(dv_server_files "$u" | wc -l)
	if [ "$PV_RC" = 0 ] && [ "$n" = "$want" ] &&
	    printf '%s' "$PV_OUT" | grep -q 'rebuilt index: every message is downloaded once'; then
		t_pass "relinked_$u"
	else
		t_fail "relinked_$u" "rc $PV_RC, $n sightings of $want: $PV_OUT"
	fi
done
archive_files >"$T/files.after2"
cmp -s "$T/files.before" "$T/files.after2" && t_pass fetch_stores_nothing ||
    t_fail fetch_stores_nothing "$(diff "$T/files.before" "$T/files.after2" | head -5)"
index_set "$V" | cut -d' ' -f2 | sort -u >"$T/vault.hashes"
for u in $USERS; do
	server_hashes "$u" >"$T/srv.$u"
	if comm -23 "$T/srv.$u" "$T/vault.hashes" | grep -q .; then
		t_fail "server_${u}_archived" "server messages not in the vault"
	fi
	fetch "$u" --delete=verified
	left=$(dv_server_files "$u" | wc -l)
	[ "$PV_RC" = 0 ] && [ "$left" = 0 ] && t_pass "deleted_$u" ||
	    t_fail "deleted_$u" "rc $PV_RC, $left left: $PV_OUT"
done

# 3. Damaged indexes.
cp "$V/index.sqlite" "$T/good.sqlite"
size=$(stat -c %s "$V/index.sqlite")
pages=$((size / 4096))
dd if=/dev/urandom of="$V/index.sqlite" bs=4096 seek=$((pages / 2)) count=2 \
    conv=notrunc 2>/dev/null
dd if=/dev/urandom of="$V/index.sqlite" bs=4096 seek=$((pages - 2)) count=1 \
    conv=notrunc 2>/dev/null
vout=$("$POPVAULT" verify --vault "$V" 2>&1)
rc=$?
[ "$rc" != 0 ] && printf '%s' "$vout" | grep -q 'popvault index rebuild' &&
    t_pass corrupt_refused || t_fail corrupt_refused "rc $rc: $vout"
out=$("$POPVAULT" index rebuild --vault "$V" 2>&1)
rc=$?
aside=$(ls "$V" | grep '^index.sqlite.damaged-' | grep -v -- '-wal$\|-shm$' | head -1)
if [ "$rc" = 0 ] && [ -n "$aside" ] && printf '%s' "$out" | grep -q "$aside" &&
    cmp -s <(index_set "$V") "$T/expected"; then
	t_pass corrupt_rebuilt
else
	t_fail corrupt_rebuilt "rc $rc, aside '$aside': $out"
fi
"$POPVAULT" verify --vault "$V" >/dev/null 2>&1 && t_pass verify_after_corrupt ||
    t_fail verify_after_corrupt "verify failed"
out=$("$POPVAULT" index rebuild --vault "$V" 2>&1)
[ $? = 64 ] && t_pass sound_left_alone || t_fail sound_left_alone "$out"

truncate -s $((size / 2)) "$V/index.sqlite"
out=$("$POPVAULT" status --vault "$V" 2>&1)
rc=$?
[ "$rc" != 0 ] && printf '%s' "$out" | grep -q 'cut short.*popvault index rebuild' &&
    t_pass truncated_refused || t_fail truncated_refused "rc $rc: $out"
out=$("$POPVAULT" index rebuild --vault "$V" 2>&1)
[ $? = 0 ] && cmp -s <(index_set "$V") "$T/expected" &&
    t_pass truncated_rebuilt || t_fail truncated_rebuilt "$out"

dd if=/dev/urandom of="$V/index.sqlite" bs=100 count=1 conv=notrunc 2>/dev/null
out=$("$POPVAULT" status --vault "$V" 2>&1)
rc=$?
[ "$rc" != 0 ] && printf '%s' "$out" | grep -q 'not an SQLite database.*popvault index rebuild' &&
    t_pass garbage_header_refused || t_fail garbage_header_refused "rc $rc: $out"
out=$("$POPVAULT" index rebuild --vault "$V" 2>&1)
[ $? = 0 ] && cmp -s <(index_set "$V") "$T/expected" &&
    t_pass garbage_header_rebuilt || t_fail garbage_header_rebuilt "$out"

# 4. Killed rebuilds.
rm -f "$V"/index.sqlite*
out=$(POPVAULT_CRASH=rebuild-account:2 "$POPVAULT" index rebuild --vault "$V" 2>&1)
if [ ! -e "$V/index.sqlite" ]; then
	t_pass crashed_rebuild_no_index
else
	t_fail crashed_rebuild_no_index "an index after a crash: $out"
fi
for p in rebuild-built rebuild-aside; do
	out=$(POPVAULT_CRASH=$p "$POPVAULT" index rebuild --vault "$V" 2>&1)
	[ ! -e "$V/index.sqlite" ] && t_pass "crashed_at_$p" ||
	    t_fail "crashed_at_$p" "$out"
done
for d in 0.05 0.1 0.2 0.3; do
	"$POPVAULT" index rebuild --vault "$V" >/dev/null 2>&1 &
	pid=$!
	sleep "$d"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if [ -e "$V/index.sqlite" ] && ! cmp -s <(index_set "$V") "$T/expected"; then
		t_fail "kill9_$d" "an incomplete index in place"
	fi
	[ -e "$V/index.sqlite" ] && rm -f "$V"/index.sqlite "$V"/index.sqlite-*
done
out=$("$POPVAULT" index rebuild --vault "$V" 2>&1)
[ $? = 0 ] && cmp -s <(index_set "$V") "$T/expected" &&
    "$POPVAULT" verify --vault "$V" >/dev/null 2>&1 &&
    t_pass rerun_after_kill || t_fail rerun_after_kill "$out"

# 5. A locked account; an older vault without account files.
rm -f "$V"/index.sqlite*
d=$(ls "$V/accounts" | head -1)
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "a"); fcntl.flock(f, fcntl.LOCK_EX); time.sleep(30)' \
    "$V/accounts/$d/lock" &
lockpid=$!
sleep 0.3
out=$("$POPVAULT" index rebuild --vault "$V" 2>&1)
rc=$?
[ "$rc" = 75 ] && [ ! -e "$V/index.sqlite" ] && t_pass locked_refused ||
    t_fail locked_refused "rc $rc: $out"
kill "$lockpid" 2>/dev/null
wait "$lockpid" 2>/dev/null
mdd=$(ls "$V/accounts" | grep '^md@')
rm -f "$V/accounts/$mdd/account"
out=$("$POPVAULT" index rebuild --vault "$V" 2>&1)
[ $? = 0 ] && [ "$(pv_sql "$V" "select count(*) from accounts where name = '$mdd'
    and host is null")" = 1 ] && t_pass older_vault_folder_name ||
    t_fail older_vault_folder_name "$out"
python3 "$T_ROOT/tests/gen/genmail.py" --count 3 --start 90 --seed 35 \
    "$(dv_maildir md)" >/dev/null && dv_fix_perms md
# Its name is its folder's now: a config section of that name reaches it.
cat >"$T/pv.conf" <<EOF
[account $mdd]
vault = $V
host = localhost
port = $DV_POP3S_PORT
user = md
tls_ca = $DV_CA
format = maildir
EOF
chmod 600 "$T/pv.conf"
PV_OUT=$(POPVAULT_PASSWORD=$PW "$POPVAULT" fetch --config "$T/pv.conf" 2>&1)
PV_RC=$?
if [ "$PV_RC" = 0 ] && printf '%s' "$PV_OUT" | grep -q 'its server was not recorded' &&
    [ "$(pv_sql "$V" "select host from accounts where name = '$mdd'")" = localhost ] &&
    [ -f "$V/accounts/$mdd/account" ]; then
	t_pass unknown_server_adopted
else
	t_fail unknown_server_adopted "rc $PV_RC: $PV_OUT"
fi
t_done
