#!/usr/bin/env bash
# test_auth_auto.sh -- the default --auth is auto (issue 13, section 7):
# SCRAM-SHA-256, then SCRAM-SHA-1, then PLAIN and LOGIN, the first the
# server offers after TLS, else USER/PASS; APOP and CRAM-MD5 only on
# request; a failed SASL login names its mechanism.
#
# Against Dovecot, with no --auth option (URL mode and config mode):
# SCRAM-SHA-256 when offered (checked at -v and in Dovecot's log), the
# mechanism named in the error for a wrong password, SCRAM-SHA-1 when
# SCRAM-SHA-256 is not offered, no APOP although the greeting allows it.
# Against the scripted fake server (which logs every line it receives):
# USER/PASS when the server lists no SASL mechanism, and when it lists
# only ones auto does not use (CRAM-MD5, XOAUTH2).
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

T=$(t_tmpdir)
PW='auto-pw-9Zr'
dv_start "$T/dv" --set "auth_mechanisms=plain login cram-md5 apop scram-sha-1 scram-sha-256" ||
    { t_fail dovecot_start "could not start Dovecot"; t_done; }
dv_adduser una "$PW"
python3 "$T_ROOT/tests/gen/genmail.py" --count 4 --seed 51 \
    "$(dv_maildir una)" >/dev/null
URL="pop3s://una@localhost:$DV_POP3S_PORT"
DVLOG=$DV_DIR/log/dovecot.log

# sent LINE: the AUTH/USER/PASS/APOP lines of the last run, at -v.
sent() {
	printf '%s\n' "$PV_OUT" | grep -E '^popvault: > (AUTH|USER|PASS|APOP)' |
	    tr '\n' ' '
}

pv_fetch "$T/v1" "$PW" -v --tls-ca "$DV_CA" "$URL"
if [ "$PV_RC" -eq 0 ] && [ "$(pv_field archived)" = 4 ] &&
    [ "$(sent)" = "popvault: > AUTH SCRAM-SHA-256 **** " ] &&
    grep -q 'Login: user=<una>, method=SCRAM-SHA-256' "$DVLOG"; then
	t_pass default_auth_is_scram_sha_256
else
	t_fail default_auth_is_scram_sha_256 "rc=$PV_RC sent: $(sent) $(printf '%s' "$PV_OUT" | grep 'popvault: [a-z]' | tail -2)"
fi

pv_fetch "$T/v2" wrong-password --tls-ca "$DV_CA" "$URL"
if [ "$PV_RC" -eq 77 ] &&
    printf '%s' "$PV_OUT" | grep -q 'SCRAM-SHA-256.*server said'; then
	t_pass default_auth_wrong_password_names_mechanism
else
	t_fail default_auth_wrong_password_names_mechanism "rc=$PV_RC $PV_OUT"
fi

# Config mode, no auth key: the same default.
printf '[account c]\nhost = localhost\nport = %s\nuser = una\ntls_ca = %s\nvault = %s\n' \
    "$DV_POP3S_PORT" "$DV_CA" "$T/v3" >"$T/c.conf"
chmod 600 "$T/c.conf"
PV_OUT=$(POPVAULT_PASSWORD=$PW "$POPVAULT" fetch -v --config "$T/c.conf" 2>&1)
PV_RC=$?
if [ "$PV_RC" -eq 0 ] && [ "$(sent)" = "popvault: > AUTH SCRAM-SHA-256 **** " ]; then
	t_pass config_default_auth_is_scram_sha_256
else
	t_fail config_default_auth_is_scram_sha_256 "rc=$PV_RC sent: $(sent)"
fi

# The greeting carries an APOP timestamp (apop is enabled): still not
# used unless asked for.
if dv_set auth_mechanisms "plain login cram-md5 apop scram-sha-1" &&
    : >"$DVLOG"; then
	pv_fetch "$T/v4" "$PW" -v --tls-ca "$DV_CA" "$URL"
	if [ "$PV_RC" -eq 0 ] && [ "$(pv_field archived)" = 4 ] &&
	    [ "$(sent)" = "popvault: > AUTH SCRAM-SHA-1 **** " ] &&
	    grep -q 'Login: user=<una>, method=SCRAM-SHA-1' "$DVLOG"; then
		t_pass default_auth_scram_sha_1_without_sha_256
	else
		t_fail default_auth_scram_sha_1_without_sha_256 "rc=$PV_RC sent: $(sent)"
	fi
	pv_fetch "$T/v5" "$PW" -v --auth apop --tls-ca "$DV_CA" "$URL"
	if [ "$PV_RC" -eq 0 ] && [ "$(sent)" = "popvault: > APOP **** " ]; then
		t_pass apop_when_asked
	else
		t_fail apop_when_asked "rc=$PV_RC sent: $(sent)"
	fi
else
	t_fail default_auth_scram_sha_1_without_sha_256 "Dovecot did not restart"
fi

# No SASL at all, or only mechanisms auto leaves alone: USER/PASS.
. "$T_ROOT/tests/lib/fakepop.sh"
CERTD=$(dirname "$DV_CA")
MSGS='[{"uidl":"u-1","text":"Subject: one\n\nbody one\n"}]'
for c in "nosasl:" "onlyothers:SASL CRAM-MD5 XOAUTH2"; do
	name=${c%%:*} capa=${c#*:}
	if [ -n "$capa" ]; then
		printf '{"capa":["%s","UIDL","USER","RESP-CODES"],"password":"%s","messages":%s}\n' \
		    "$capa" "$PW" "$MSGS" >"$T/$name.json"
	else
		printf '{"capa":["UIDL","USER","RESP-CODES"],"password":"%s","messages":%s}\n' \
		    "$PW" "$MSGS" >"$T/$name.json"
	fi
	fp_start "$name" --mode tls --cert "$CERTD/server.crt" \
	    --key "$CERTD/server.key" --max-conns 1 ||
	    { t_fail "auto_user_pass_$name" "fakepop did not start"; continue; }
	# Explicit --auth auto: the same as the default, and main's auto
	# is tested this way too.
	pv_fetch "$T/v-$name" "$PW" -v --auth auto --tls-ca "$DV_CA" \
	    "pop3s://una@localhost:$FP_PORT"
	fp_wait 15
	cmds=$(grep -Eo ' C tls q=[0-9]+ (USER|PASS|AUTH|APOP)' "$FP_LOG" |
	    awk '{ print $4 }' | tr '\n' ' ')
	if [ "$PV_RC" -eq 0 ] && [ "$(pv_field archived)" = 1 ] &&
	    [ "$cmds" = "USER PASS " ]; then
		t_pass "auto_user_pass_$name"
	else
		t_fail "auto_user_pass_$name" "rc=$PV_RC commands: $cmds $(printf '%s' "$PV_OUT" | grep 'popvault: [a-z]' | tail -2)"
	fi
done

t_done
