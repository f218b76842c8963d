#!/usr/bin/env bash
# test_sasl.sh -- log in to Dovecot with each SASL mechanism it supports
# (PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-256) and with auth =
# auto; the password never shows at -v -v, and a wrong password fails
# with exit 77 for each.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

T=$(t_tmpdir)
dv_start "$T/dv" --set "auth_mechanisms=plain login cram-md5 scram-sha-1 scram-sha-256" ||
    { t_fail dovecot_start "could not start Dovecot"; t_done; }
PW='s3cr3t-SASL-pw'
dv_adduser sasl "$PW"
python3 "$T_ROOT/tests/gen/genmail.py" --count 12 --seed 31 \
    "$(dv_maildir sasl)" >/dev/null
dv_fix_perms sasl
URL="pop3s://sasl@localhost:$DV_POP3S_PORT"
b64=$(printf '\0sasl\0%s' "$PW" | base64)

for mech in plain login cram-md5 scram-sha-1 scram-sha-256 auto; do
	v=$T/v-$mech
	pv_fetch "$v" "$PW" -v -v --auth "$mech" --tls-ca "$DV_CA" "$URL"
	want=$(echo "$mech" | tr a-z A-Z)
	[ "$mech" = auto ] && want=SCRAM-SHA-256
	if [ "$PV_RC" -eq 0 ] && [ "$(pv_field archived)" = 12 ] &&
	    printf '%s' "$PV_OUT" | grep -q "> AUTH $want" &&
	    ! printf '%s' "$PV_OUT" | grep -qF -- "$PW" &&
	    ! printf '%s' "$PV_OUT" | grep -qF -- "$b64" &&
	    ! printf '%s' "$PV_OUT" | grep -q '> PASS'; then
		t_pass "sasl_${mech}_login"
	else
		t_fail "sasl_${mech}_login" "rc=$PV_RC $(printf '%s' "$PV_OUT" | grep -E 'AUTH|popvault: [a-z]' | tail -3)"
	fi
	pv_fetch "$T/w-$mech" wrong-password --auth "$mech" --tls-ca "$DV_CA" "$URL"
	if [ "$PV_RC" -eq 77 ] && [ ! -e "$T/w-$mech" ]; then
		t_pass "sasl_${mech}_wrong_password"
	else
		t_fail "sasl_${mech}_wrong_password" "rc=$PV_RC $PV_OUT"
	fi
done
t_done
