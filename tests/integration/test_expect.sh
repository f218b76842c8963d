#!/usr/bin/env bash
# test_expect.sh -- check tests/lib/expect.py (the model of what Dovecot
# sends and what popvault must archive) against the real Dovecot, with 50
# genmail.py messages plus hand-made edge files. Also checks that
# "expect.py compare" accepts a correct archive and reports a damaged one.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
. "$HERE/../lib/common.sh"
# shellcheck source=../lib/dovecot.sh
. "$HERE/../lib/dovecot.sh"

EXPECT="python3 $T_ROOT/tests/lib/expect.py"

if out=$($EXPECT selftest 2>&1); then t_pass expect_selftest; else
	t_fail expect_selftest "$out"; fi

D=$(t_tmpdir) || { t_fail tmpdir "t_tmpdir failed"; t_done; }
dv_start "$D/dv" || { t_fail dv_start "see $D/dv/log"; t_done; }
dv_adduser carol 'pw-carol' || { t_fail dv_adduser failed; t_done; }
M=$(dv_maildir carol)
python3 "$T_ROOT/tests/gen/genmail.py" --count 50 --seed expect "$M" ||
	t_fail genmail "genmail.py failed"
# Hand-made edge files (LF storage broken on purpose), numbered after
# genmail's so they sort last.
python3 - "$M" <<'EOF'
import os, sys
cases = [b"", b"\r", b"x\r", b"Subject: crlf\r\n\r\nbody\r\n.\r\nend\r\n",
         b"Subject: a\n\nend\r\r", b"Subject: b\n\n\n\n", b"\0",
         b".leading dot\nSubject: c\n\nbody\n", b"Subject: d\n\n..\n.\r\n.",
         b"Subject: e\n\n" + b"y" * 5000 + b"\r" + b"z" * 5000]
for i, c in enumerate(cases):
    name = "1800000000.M%dP1.edge,S=%d" % (i, len(c))
    tmp = os.path.join(sys.argv[1], "tmp", name)
    with open(tmp, "wb") as f:
        f.write(c)
    os.chmod(tmp, 0o644)
    os.rename(tmp, os.path.join(sys.argv[1], "new", name))
EOF
# Hash the server files before anything fetches them (Dovecot renames
# new/X to cur/X:2,S on RETR; a DELE would remove them).
dv_server_files carol > "$D/server-files"
mapfile -t server_files < "$D/server-files"
$EXPECT sha256 "${server_files[@]}" > "$D/expected" ||
	t_fail expect_sha256 "expect.py sha256 failed"
n=$(wc -l < "$D/expected")
if [ "$n" -eq 60 ]; then t_pass expect_sha256; else
	t_fail expect_sha256 "$n hashes, want 60"; fi

python3 "$HERE/dovecot_model_check.py" "$DV_POP3S_PORT" "$DV_CA" carol \
	pw-carol "$M" "$D/archive" > "$D/model.out" 2>&1
rc=$?
cat "$D/model.out"
[ "$rc" -eq 0 ] || t_fail dovecot_model_check "rc=$rc"
# Count the checker's lines as ours.
T_PASSED=$((T_PASSED + $(grep -c '^PASS' "$D/model.out")))
T_FAILED=$((T_FAILED + $(grep -c '^FAIL' "$D/model.out")))

if out=$($EXPECT compare "$D/expected" "$D/archive" 2>&1); then
	t_pass compare_hashes; else t_fail compare_hashes "$out"; fi
# The list of paths works too, though Dovecot has moved the files to cur/.
if out=$($EXPECT compare "$D/server-files" "$D/archive" 2>&1); then
	t_pass compare_paths_after_move; else
	t_fail compare_paths_after_move "$out"; fi

# Damage the archive: one byte changed, one file duplicated.
f=$(find "$D/archive/new" -type f | LC_ALL=C sort | head -1)
printf 'X' | dd of="$f" bs=1 seek=0 conv=notrunc status=none
mkdir -p "$D/archive/cur/sub"
cp "$(find "$D/archive/new" -type f | LC_ALL=C sort | sed -n 2p)" "$D/archive/cur/sub/dup"
out=$($EXPECT compare "$D/expected" "$D/archive" 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && printf '%s\n' "$out" | grep -q '1 missing, 2 extra'; then
	t_pass compare_detects_damage
else
	t_fail compare_detects_damage "rc=$rc: $out"
fi

dv_stop || t_fail dv_stop "dv_stop failed"
t_done
