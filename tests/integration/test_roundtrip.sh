#!/usr/bin/env bash
# test_roundtrip.sh -- in and out of the vault without changing a byte
# (issue 16, "Done when"): a private Dovecot mailbox (genmail.py,
# RT_N messages, a few large) is fetched into a vault as mbox.gz; that
# vault is exported to every other format (maildir, mbox, tar, tar.zst,
# eml); each export is imported into a fresh vault twice, once as a
# vault (its index and formats: "popvault import DEST") and once as the
# plain files of its format folder (as any mail files, by content); each
# fresh vault is a Maildir vault, whose files tests/lib/expect.py hashes
# itself and compares with what the server's own files say POP3 gives:
# every vault holds exactly the server's messages, each once.
#
# Environment: RT_N (120).
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

RT_N=${RT_N:-120}
EXPECT=$T_ROOT/tests/lib/expect.py
T=$(t_tmpdir)
PW=rt-pw
dv_start "$T/dv" || { t_fail dovecot_start "could not start Dovecot"; t_done; }
dv_adduser rt "$PW" || { t_fail adduser rt; t_done; }
python3 "$T_ROOT/tests/gen/genmail.py" --count "$RT_N" --seed 61 \
    --big-every 50 --big-size 800000 "$(dv_maildir rt)" >/dev/null ||
    { t_fail generate "genmail failed"; t_done; }
dv_fix_perms rt
dv_server_files rt >"$T/server.list"
python3 "$EXPECT" sha256 $(cat "$T/server.list") >"$T/want"

V0=$T/v0
pv_fetch "$V0" "$PW" --tls-ca "$DV_CA" --format mbox --compress gzip \
    "pop3s://rt@127.0.0.1:$DV_POP3S_PORT"
if [ "$PV_RC" != 0 ]; then
	t_fail fetch "exit $PV_RC: $(printf '%s' "$PV_OUT" | tail -n 3)"
	t_done
fi
acct=$(pv_sql "$V0" "select name from accounts")

# The fresh vault $1 (a Maildir vault, one account) holds exactly the
# server's messages: its files hashed by expect.py.
holds() {
	local d
	d=$(pv_account_dir "$1") || { echo "no account folder"; return 1; }
	python3 "$EXPECT" compare "$T/want" "$d/maildir" 2>&1 | tail -n 5
	return "${PIPESTATUS[0]}"
}

for f in maildir mbox tar tar.zst eml; do
	E=$T/e-$f
	# shellcheck disable=SC2046  # pv_fmt_args prints plain words
	out=$("$POPVAULT" export --vault "$V0" --account "$acct" \
	    $([ "$f" = eml ] && echo --format eml || pv_fmt_args "$f") \
	    "$E" 2>&1)
	rc=$?
	if [ "$rc" != 0 ]; then
		t_fail "export_$f" "exit $rc: $(printf '%s' "$out" | tail -n 3)"
		continue
	fi
	t_pass "export_$f"
	# As a vault: through its index, each message checked by its hash.
	out=$("$POPVAULT" import --vault "$T/iv-$f" --account back "$E" 2>&1)
	rc=$?
	if [ "$rc" = 0 ] && res=$(holds "$T/iv-$f"); then
		t_pass "import_vault_$f"
	else
		t_fail "import_vault_$f" "exit $rc: $(printf '%s' "$out" | tail -n 2) $res"
	fi
	# As plain files: the format's folder, read by content.
	dir=$(pv_account_dir "$E")/${f%%.*}
	out=$("$POPVAULT" import --vault "$T/if-$f" --account back "$dir" 2>&1)
	rc=$?
	if [ "$rc" = 0 ] && res=$(holds "$T/if-$f"); then
		t_pass "import_files_$f"
	else
		t_fail "import_files_$f" "exit $rc: $(printf '%s' "$out" | tail -n 2) $res"
	fi
done

# The fetched vault itself, imported into a fresh one as a vault.
out=$("$POPVAULT" import --vault "$T/iv-0" --account back "$V0" 2>&1)
rc=$?
if [ "$rc" = 0 ] && res=$(holds "$T/iv-0"); then
	t_pass import_vault_mbox_gz
else
	t_fail import_vault_mbox_gz "exit $rc: $(printf '%s' "$out" | tail -n 2) $res"
fi
# Into the vault it came from: every message is there already.
n0=$(pv_sql "$V0" "select count(*) from messages")
out=$("$POPVAULT" import --vault "$V0" --account back "$T/e-eml" --json 2>&1)
rc=$?
n1=$(pv_sql "$V0" "select count(*) from messages")
imported=$(printf '%s' "$out" | grep -o '"imported":[0-9]*' | cut -d: -f2)
if [ "$rc" = 0 ] && [ "$n0" = "$n1" ] && [ "$imported" = 0 ]; then
	t_pass import_back_stores_nothing
else
	t_fail import_back_stores_nothing "exit $rc, messages $n0 -> $n1, imported $imported"
fi
t_done
