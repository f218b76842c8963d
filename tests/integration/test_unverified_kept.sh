#!/usr/bin/env bash
# test_unverified_kept.sh -- a message is deleted from the server only
# when a copy of its exact bytes was read back and verified; an archived
# copy that was never read back does not count (DESIGN "commit protocol"
# 4-5; the mutant "delete-unverified" of tests/mutants/mutants.txt).
#
# Two accounts of one vault hold the same 30 messages (deduplication
# across accounts stores the bytes once). Account "ua" archives them with
# a crash (POPVAULT_CRASH=verify:1) right after its first batch of 10 is
# committed and before that batch is read back: 10 copies archived, none
# verified. Those copies are then damaged on disk (one byte each), as a
# bad disk or a torn write could have done: only a read-back would show
# it. Then "ub" runs with --delete=verified.
#
# Must hold, from the server's own files hashed before any run
# (tests/lib/expect.py) and the archive's files read directly (Maildir: a
# file holds a message's stored bytes): every message that left ub's
# server has its exact bytes in the archive (I1), and no sighting was
# deleted (or is delete_pending) whose message is not verified. A
# popvault that deletes the 10 on the strength of their unverified copies
# loses them: gone from the server, and only damaged copies archived.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

T=$(t_tmpdir)
PW=gate-pw
N=30
EXPECT=$T_ROOT/tests/lib/expect.py
dv_start "$T/dv" || { t_fail dovecot_start "could not start Dovecot"; t_done; }
# Both users before any login (Dovecot re-reads its passwd file at most
# once a second).
for u in ua ub; do
	dv_adduser "$u" "$PW" || { t_fail adduser "$u"; t_done; }
done
python3 "$T_ROOT/tests/gen/genmail.py" --count "$N" --seed 61 "$T/gen" \
    >/dev/null || { t_fail genmail "generator failed"; t_done; }
for u in ua ub; do
	pv_fill "$u" "$T/gen/new" || { t_fail fill "$u"; t_done; }
done
sleep 1.1
# The stored form of every message, from the server's files.
# shellcheck disable=SC2046  # Dovecot's file names have no spaces
python3 "$EXPECT" sha256 $(dv_server_files ub) | LC_ALL=C sort >"$T/expected"
[ "$(LC_ALL=C sort -u "$T/expected" | wc -l)" = "$N" ] ||
    { t_fail setup "want $N distinct messages, have $(LC_ALL=C sort -u "$T/expected" | wc -l)"; t_done; }

V=$T/vault
url() { echo "pop3s://$1@localhost:$DV_POP3S_PORT"; }

# 1. ua: crash after the first batch's commit, before its read-back.
POPVAULT_CRASH=verify:1 pv_fetch "$V" "$PW" --batch 10 --tls-ca "$DV_CA" \
    "$(url ua)"
arch=$(pv_sql "$V" "select count(*) from messages where state = 'archived'")
ver=$(pv_sql "$V" "select count(*) from messages where state = 'verified'")
if [ "$PV_RC" -eq 134 ] && [ "$arch" = 10 ] && [ "$ver" = 0 ]; then
	t_pass crash_leaves_ten_archived_unverified
else
	t_fail crash_leaves_ten_archived_unverified "rc=$PV_RC (want 134 from the hook), $arch archived, $ver verified (want 10, 0): $(printf '%s' "$PV_OUT" | tail -n 2 | tr '\n' '|')"
	t_done
fi

# 2. Damage the 10 unverified copies: one byte in the middle of each file.
da=$(pv_sql "$V" "select dir from accounts where name like 'ua@%'")
find "$V/accounts/$da/maildir/new" "$V/accounts/$da/maildir/cur" -type f \
    2>/dev/null >"$T/copies"
python3 - "$T/copies" <<'EOF' || { t_fail damage "could not alter the copies"; t_done; }
import sys
paths = open(sys.argv[1]).read().split()
if len(paths) != 10:
    sys.exit("want 10 archived files, found %d" % len(paths))
for p in paths:
    b = bytearray(open(p, "rb").read())
    b[len(b) // 2] ^= 0x01
    open(p, "wb").write(b)
EOF

# 3. ub, same messages, with --delete=verified.
pv_fetch "$V" "$PW" --batch 10 --delete=verified --tls-ca "$DV_CA" "$(url ub)"
rc=$PV_RC
left=$(dv_server_files ub | wc -l)
# It did delete what it had verified itself (at least the 20 that ua never
# archived), so the checks below are not met by a run that did nothing.
if [ "$rc" -eq 0 ] && [ "$left" -le $((N - 20)) ]; then
	t_pass second_account_deletes_its_verified_messages
else
	t_fail second_account_deletes_its_verified_messages "rc=$rc, the server still has $left of $N: $(printf '%s' "$PV_OUT" | tail -n 3 | tr '\n' '|')"
fi

# I1: every message that left the server is in the archive, exact bytes.
dv_server_files ub >"$T/files"
: >"$T/on_server"
# shellcheck disable=SC2046
[ -s "$T/files" ] && python3 "$EXPECT" sha256 $(cat "$T/files") |
    LC_ALL=C sort >"$T/on_server"
find "$V/accounts" -path '*/maildir/*' -type f -exec sha256sum {} + |
    awk '{ print $1 }' | LC_ALL=C sort -u >"$T/archived"
LC_ALL=C comm -23 "$T/expected" "$T/on_server" >"$T/gone"
lost=$(LC_ALL=C comm -23 "$T/gone" "$T/archived" | wc -l)
if [ "$lost" -eq 0 ]; then
	t_pass deleted_messages_have_their_bytes_archived
else
	t_fail deleted_messages_have_their_bytes_archived "$lost of the $(wc -l <"$T/gone") messages deleted from the server are in the archive only as altered copies (or not at all)"
fi

# No sighting deleted or delete_pending on the strength of an unverified
# message row.
n=$(pv_sql "$V" "select count(*) from sightings s join messages m on
    m.id = s.msg where s.state in ('deleted', 'delete_pending') and
    m.state <> 'verified'")
if [ "$n" = 0 ]; then
	t_pass no_delete_without_verified_copy
else
	t_fail no_delete_without_verified_copy "$n sightings deleted or delete_pending whose message was never verified"
fi

t_done
