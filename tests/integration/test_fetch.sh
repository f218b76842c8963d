#!/usr/bin/env bash
# test_fetch.sh -- popvault fetch against a private Dovecot: implicit TLS
# and STLS, byte-identical Maildir archives, incremental runs, and the
# failures that must write nothing (wrong password, unknown CA, wrong
# host). The acceptance tests of the core issue.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

T=$(t_tmpdir)
PW='pw-Al1ce:s3cret%n'
dv_start "$T/dv" || { t_fail dovecot_start "could not start Dovecot"; t_done; }
dv_adduser alice "pw-Al1ce-s3cret" || { t_fail adduser "alice"; t_done; }
PW='pw-Al1ce-s3cret'
MD=$(dv_maildir alice)
python3 "$T_ROOT/tests/gen/genmail.py" --count 1000 --seed 7 \
    --big-every 200 --big-size 3000000 "$MD" >/dev/null ||
    { t_fail genmail "generator failed"; t_done; }
dv_fix_perms alice
URL="pop3s://alice@localhost:$DV_POP3S_PORT"

# 1. Implicit TLS: all 1,000 messages, each byte-identical, server intact.
V1=$T/vault1
pv_fetch "$V1" "$PW" --tls-ca "$DV_CA" "$URL"
A1=$(pv_account_dir "$V1")/maildir
if [ "$PV_RC" -eq 0 ] && [ "$(pv_field archived)" = 1000 ] &&
    pv_compare alice "$A1" >/dev/null; then
	t_pass implicit_tls_archives_1000_byte_identical
else
	t_fail implicit_tls_archives_1000_byte_identical \
	    "rc=$PV_RC archived=$(pv_field archived) $(pv_compare alice "$A1" 2>&1 | tail -2)"
fi
n=$(find "$A1/new" -type f | wc -l)
[ "$n" = 1000 ] && t_pass maildir_has_1000_files ||
    t_fail maildir_has_1000_files "$n files in new/"
n=$(dv_server_files alice | wc -l)
[ "$n" = 1000 ] && t_pass server_keeps_all_messages ||
    t_fail server_keeps_all_messages "server has $n"
n=$(python3 -c 'import mailbox,sys; print(len(mailbox.Maildir(sys.argv[1], create=False)))' "$A1")
[ "$n" = 1000 ] && t_pass python_mailbox_reads_1000 ||
    t_fail python_mailbox_reads_1000 "python mailbox saw $n"
n=$(pv_sql "$V1" "select count(*) from messages m join sightings s on s.msg = m.id where m.state = 'verified'")
[ "$n" = 1000 ] && t_pass index_has_1000_rows ||
    t_fail index_has_1000_rows "$n rows"
bad=$(find "$V1" -type f ! -perm 0600 | head -3; find "$V1" -type d ! -perm 0700 | head -3)
[ -z "$bad" ] && t_pass vault_modes_0600_0700 ||
    t_fail vault_modes_0600_0700 "$bad"
[ -z "$(ls -A "$A1/tmp")" ] && t_pass maildir_tmp_empty ||
    t_fail maildir_tmp_empty "$(ls "$A1/tmp" | head -3)"

# 2. A second run fetches nothing and changes nothing in the archive.
snap() { (cd "$1" && find . -type f ! -name 'index.sqlite*' -printf '%p %s\n' | sort; \
    pv_sql "$1" "select count(*) from messages; select count(*) from sightings"); }
before=$(snap "$V1")
pv_fetch "$V1" "$PW" --tls-ca "$DV_CA" "$URL"
after=$(snap "$V1")
if [ "$PV_RC" -eq 0 ] && [ "$(pv_field new)" = 0 ] &&
    [ "$(pv_field archived)" = 0 ] && [ "$before" = "$after" ]; then
	t_pass second_run_fetches_nothing
else
	t_fail second_run_fetches_nothing "rc=$PV_RC new=$(pv_field new)"
fi

# 3. Ten more on the server: the third run fetches exactly those ten.
python3 "$T_ROOT/tests/gen/genmail.py" --count 10 --seed 7 --start 1000 \
    "$MD" >/dev/null
dv_fix_perms alice
pv_fetch "$V1" "$PW" --tls-ca "$DV_CA" "$URL"
if [ "$PV_RC" -eq 0 ] && [ "$(pv_field new)" = 10 ] &&
    [ "$(pv_field archived)" = 10 ] && pv_compare alice "$A1" >/dev/null; then
	t_pass third_run_fetches_exactly_10
else
	t_fail third_run_fetches_exactly_10 "rc=$PV_RC new=$(pv_field new) archived=$(pv_field archived)"
fi

# 4. STLS, against an address Dovecot treats as remote (no plaintext login).
V2=$T/vault2
pv_fetch "$V2" "$PW" --tls-ca "$DV_CA" \
    "pop3://alice@$DV_HOST_STRICT:$DV_POP3_PORT"
A2=$(pv_account_dir "$V2")/maildir
if [ "$PV_RC" -eq 0 ] && [ "$(pv_field archived)" = 1010 ] &&
    pv_compare alice "$A2" >/dev/null; then
	t_pass stls_archives_all_byte_identical
else
	t_fail stls_archives_all_byte_identical "rc=$PV_RC $(printf '%s' "$PV_OUT" | tail -2)"
fi

# 5. Failures: a clear one-line error, the right exit code, no vault.
expect_fail() {
	local name=$1 code=$2 pattern=$3
	shift 3
	local v=$T/vault-$name
	pv_fetch "$v" "$@"
	local lines
	lines=$(printf '%s\n' "$PV_OUT" | grep -c .)
	if [ "$PV_RC" -eq "$code" ] && [ "$lines" -eq 1 ] &&
	    printf '%s' "$PV_OUT" | grep -qi -- "$pattern" && [ ! -e "$v" ]; then
		t_pass "$name"
	else
		t_fail "$name" "rc=$PV_RC (want $code), $lines lines: $PV_OUT; vault exists: $([ -e "$v" ] && echo yes || echo no)"
	fi
}
# --auth auto, the default, logs in to this Dovecot with PLAIN.
expect_fail wrong_password 77 'AUTH PLAIN: server said' 'not-the-password' \
    --tls-ca "$DV_CA" "$URL"
expect_fail unknown_ca 78 'not trusted' "$PW" "$URL"
expect_fail wrong_host 78 'not trusted' "$PW" --tls-ca "$DV_CA" \
    "pop3s://alice@$DV_HOST_WRONG:$DV_POP3S_PORT"
expect_fail wrong_host_stls 78 'not trusted' "$PW" --tls-ca "$DV_CA" \
    "pop3://alice@$DV_HOST_WRONG:$DV_POP3_PORT"
expect_fail bad_pin 78 'fingerprint mismatch' "$PW" --tls-ca "$DV_CA" \
    --tls-fingerprint "sha256:$(printf '%064d' 0)" "$URL"
expect_fail connection_refused 69 'cannot connect' "$PW" --tls-ca "$DV_CA" \
    "pop3s://alice@127.0.0.1:$(free_port)"
expect_fail password_in_url 64 'no password in the URL' "$PW" \
    "pop3s://alice:pw@localhost:$DV_POP3S_PORT"

# 6. A pin of the server's certificate is accepted without any CA.
fp=$(openssl x509 -in "$DV_DIR/server.crt" -noout -fingerprint -sha256 2>/dev/null |
    sed 's/.*=//')
pv_fetch "$T/vault-pin" "$PW" --tls-fingerprint "sha256:$fp" "$URL"
[ "$PV_RC" -eq 0 ] && [ "$(pv_field archived)" = 1010 ] &&
    t_pass fingerprint_pin_accepts || t_fail fingerprint_pin_accepts \
    "rc=$PV_RC fp=$fp $(printf '%s' "$PV_OUT" | tail -1)"

# 7. The password never shows, at any verbosity, in output or index.
pv_fetch "$T/vault-v" "$PW" -v -v --tls-ca "$DV_CA" "$URL"
b64=$(printf '\0alice\0%s' "$PW" | base64)
leak=$(printf '%s' "$PV_OUT" | grep -cF -e "$PW" -e "$b64")
dbleak=$(grep -rlF -e "$PW" -e "$b64" "$T/vault-v" 2>/dev/null | wc -l)
if [ "$PV_RC" -eq 0 ] && [ "$leak" -eq 0 ] && [ "$dbleak" -eq 0 ] &&
    printf '%s' "$PV_OUT" | grep -q '> AUTH PLAIN \*\*\*\*'; then
	t_pass password_never_logged
else
	t_fail password_never_logged "rc=$PV_RC leaks=$leak files=$dbleak"
fi

# 8. --password-command: first line of its output.
printf '%s\nsecond line\n' "$PW" >"$T/pwfile"
chmod 600 "$T/pwfile"
out=$("$POPVAULT" fetch --vault "$T/vault-cmd" --tls-ca "$DV_CA" \
    --password-command "cat $T/pwfile" "$URL" 2>&1)
rc=$?
[ "$rc" -eq 0 ] && t_pass password_command_first_line ||
    t_fail password_command_first_line "rc=$rc $out"
out=$("$POPVAULT" fetch --vault "$T/vault-cmdfail" --tls-ca "$DV_CA" \
    --password-command "exit 3" "$URL" 2>&1)
rc=$?
[ "$rc" -eq 64 ] && [ ! -e "$T/vault-cmdfail" ] &&
    printf '%s' "$out" | grep -q 'password command failed' &&
    t_pass password_command_failure || t_fail password_command_failure "rc=$rc $out"

# 9. A second process on the same account fails fast. Not timed (a loaded
# machine makes any bound flaky): the holder keeps the lock for 60 s, so a
# popvault that waited for it would get it in the end and exit 0, not 75.
L=$(pv_account_dir "$V1")/lock
flock "$L" sleep 60 &
holder=$!
# Wait until the holder has the lock (not a fixed sleep).
for _ in $(seq 1 250); do
	flock -n "$L" true 2>/dev/null || break
	sleep 0.02
done
pv_fetch "$V1" "$PW" --tls-ca "$DV_CA" "$URL"
kill $(pgrep -P "$holder") "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
[ "$PV_RC" -eq 75 ] &&
    printf '%s' "$PV_OUT" | grep -q 'another popvault' &&
    t_pass account_lock_fails_fast || t_fail account_lock_fails_fast "rc=$PV_RC $PV_OUT"

t_done
