#!/usr/bin/env bash
# test_unverified_kept.sh -- a message is deleted from the server only
# when a copy of its exact bytes was read back and verified; an archived
# copy that was never read back does not count (DESIGN "commit protocol"
# 4-5; the mutant "delete-unverified" of tests/mutants/mutants.txt).
#
# In both cases a run is killed (POPVAULT_CRASH=verify:1) right after its
# first batch of 10 is committed and before that batch is read back: 10
# copies archived, none verified. Those copies are then damaged on disk
# (one byte each), as a bad disk or a torn write could have done: only a
# read-back would show it. A popvault that deleted on the strength of
# those copies would lose the messages: gone from the server, and only
# damaged copies archived.
#
#  1. shared copies: accounts "ua" and "ub" of one vault hold the same 30
#     messages (deduplication across accounts stores the bytes once); ua
#     is killed as above, then ub runs with --delete=verified. Every
#     message that left ub's server must have its exact bytes in the
#     archive (Maildir: each file holds a message's stored bytes, hashed
#     directly), and no sighting may be deleted (or delete_pending) whose
#     message is not verified.
#  2. another format: "uc" is archived as mbox and killed as above; then
#     "prune --delete=verified" runs without --format (the default,
#     Maildir). The server must still hold all 30 messages (nothing of
#     uc's was ever verified), and no sighting is deleted.
#
# Expected values come from the server's own files, hashed before any run
# (tests/lib/expect.py).
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

T=$(t_tmpdir)
PW=gate-pw
N=30
EXPECT=$T_ROOT/tests/lib/expect.py
dv_start "$T/dv" || { t_fail dovecot_start "could not start Dovecot"; t_done; }
for u in ua ub uc; do
	dv_adduser "$u" "$PW" || { t_fail adduser "$u"; t_done; }
done
python3 "$T_ROOT/tests/gen/genmail.py" --count "$N" --seed 61 "$T/gen" \
    >/dev/null || { t_fail genmail "generator failed"; t_done; }
for u in ua ub uc; do
	pv_fill "$u" "$T/gen/new" || { t_fail fill "$u"; t_done; }
done
sleep 1.1

url() { echo "pop3s://$1@localhost:$DV_POP3S_PORT"; }

# server_hashes USER: the sorted stored-form hashes of the user's messages.
server_hashes() {
	dv_server_files "$1" >"$T/files"
	# shellcheck disable=SC2046  # Dovecot's file names have no spaces
	[ -s "$T/files" ] && python3 "$EXPECT" sha256 $(cat "$T/files") |
	    LC_ALL=C sort
}
server_hashes ub >"$T/expected"
[ "$(LC_ALL=C sort -u "$T/expected" | wc -l)" = "$N" ] ||
    { t_fail setup "want $N distinct messages, have $(LC_ALL=C sort -u "$T/expected" | wc -l)"; t_done; }

# crash_unverified NAME VAULT USER [fetch options]: a run killed after its
# first batch's commit, before the read-back; 10 rows archived, none
# verified. Status 1 (with a FAIL) if it went otherwise.
crash_unverified() {
	local name=$1 v=$2 u=$3 arch ver
	shift 3
	POPVAULT_CRASH=verify:1 pv_fetch "$v" "$PW" --batch 10 "$@" \
	    --tls-ca "$DV_CA" "$(url "$u")"
	arch=$(pv_sql "$v" "select count(*) from messages where state = 'archived'")
	ver=$(pv_sql "$v" "select count(*) from messages where state = 'verified'")
	if [ "$PV_RC" -eq 134 ] && [ "$arch" = 10 ] && [ "$ver" = 0 ]; then
		t_pass "$name"
		return 0
	fi
	t_fail "$name" "rc=$PV_RC (want 134 from the hook), $arch archived, $ver verified (want 10, 0): $(printf '%s' "$PV_OUT" | tail -n 2 | tr '\n' '|')"
	return 1
}

# damage VAULT: flip one byte in the middle of each archived copy (by the
# locations the index holds: a Maildir file, or FILE:MEMBER:OFFSET:LENGTH
# in an mbox file).
damage() {
	python3 - "$1" <<'EOF'
import os, sqlite3, sys
v = sys.argv[1]
db = sqlite3.connect(os.path.join(v, "index.sqlite"))
rows = db.execute("select a.dir, m.format, m.location from messages m "
                  "join accounts a on a.id = m.account_id "
                  "where m.state = 'archived'").fetchall()
if len(rows) != 10:
    sys.exit("want 10 archived rows, found %d" % len(rows))
for d, fmt, loc in rows:
    base = os.path.join(v, "accounts", d, fmt)
    if fmt == "maildir":
        path, off = os.path.join(base, loc), None
    elif fmt == "mbox":
        name, member, start, length = loc.split(":")[:4]
        if member != "0":
            sys.exit("compressed mbox: not handled here")
        path, off = os.path.join(base, name), int(start) + int(length) // 2
    else:
        sys.exit("format %s: not handled here" % fmt)
    with open(path, "r+b") as fh:
        if off is None:
            off = os.fstat(fh.fileno()).st_size // 2
        fh.seek(off)
        c = fh.read(1)
        fh.seek(off)
        fh.write(bytes([c[0] ^ 0x01]))
EOF
}

# 1. Copies shared by two accounts.
V=$T/vault
if crash_unverified crash_leaves_ten_archived_unverified "$V" ua &&
    { damage "$V" || t_fail damage "could not alter ua's copies"; }; then
	pv_fetch "$V" "$PW" --batch 10 --delete=verified --tls-ca "$DV_CA" "$(url ub)"
	rc=$PV_RC
	server_hashes ub >"$T/on_server"
	left=$(wc -l <"$T/on_server")
	# It deleted what it verified itself (at least the 20 ua never
	# archived): the checks below are not met by a run that did nothing.
	if [ "$rc" -eq 0 ] && [ "$left" -le $((N - 20)) ]; then
		t_pass second_account_deletes_its_verified_messages
	else
		t_fail second_account_deletes_its_verified_messages "rc=$rc, the server still has $left of $N: $(printf '%s' "$PV_OUT" | tail -n 3 | tr '\n' '|')"
	fi
	find "$V/accounts" -path '*/maildir/*' -type f -exec sha256sum {} + |
	    awk '{ print $1 }' | LC_ALL=C sort -u >"$T/archived"
	LC_ALL=C comm -23 "$T/expected" "$T/on_server" >"$T/gone"
	lost=$(LC_ALL=C comm -23 "$T/gone" "$T/archived" | wc -l)
	if [ "$lost" -eq 0 ]; then
		t_pass deleted_messages_have_their_bytes_archived
	else
		t_fail deleted_messages_have_their_bytes_archived "$lost of the $(wc -l <"$T/gone") messages deleted from the server are in the archive only as altered copies (or not at all)"
	fi
	n=$(pv_sql "$V" "select count(*) from sightings s join messages m on
	    m.id = s.msg where s.state in ('deleted', 'delete_pending') and
	    m.state <> 'verified'")
	if [ "$n" = 0 ]; then
		t_pass no_delete_without_verified_copy
	else
		t_fail no_delete_without_verified_copy "$n sightings deleted or delete_pending whose message was never verified"
	fi
fi

# 2. Archived as mbox, pruned with the default format.
V2=$T/vault2
if crash_unverified mbox_crash_leaves_ten_archived_unverified "$V2" uc \
    --format mbox &&
    { damage "$V2" || t_fail damage "could not alter uc's copies"; }; then
	out=$(POPVAULT_PASSWORD=$PW "$POPVAULT" prune --vault "$V2" \
	    --delete=verified --tls-ca "$DV_CA" "$(url uc)" 2>&1)
	rc=$?
	server_hashes uc >"$T/on_server"
	n=$(pv_sql "$V2" "select count(*) from sightings
	    where state in ('deleted', 'delete_pending')")
	if cmp -s "$T/expected" "$T/on_server" && [ "$n" = 0 ]; then
		t_pass prune_keeps_unverified_other_format
	else
		t_fail prune_keeps_unverified_other_format "prune rc=$rc: the server has $(wc -l <"$T/on_server") of $N messages, $n sightings deleted or delete_pending: $(printf '%s' "$out" | tail -n 3 | tr '\n' '|')"
	fi
fi

t_done
