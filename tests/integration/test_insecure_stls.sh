#!/usr/bin/env bash
# test_insecure_stls.sh -- --insecure-plaintext (popvault.conf:
# insecure_plaintext = yes) permits clear text only when the server
# offers no STLS: when it does, STLS is used, verified like pop3s://,
# in URL mode and in config mode alike (issue 13, section 7).
#
# Against Dovecot's plain port, which offers STLS. DV_HOST_STRICT
# (127.0.0.3) refuses a login in clear text, so a run that logs in
# there and archives can only have turned to TLS; the test also checks
# "> STLS" at -v, tls=yes in the --log trail and Dovecot's own login
# line (", TLS,"). With the certificate not trusted, STLS offered is
# not a reason to fall back to clear text: TLS failure, exit 78, even
# on 127.0.0.1 where Dovecot would take a clear-text login. Then a
# --no-ssl Dovecot (no STLS): the option still allows the plaintext
# login, in both modes, and without it popvault stops (exit 78).
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

T=$(t_tmpdir)
PW='stls-pw-Qw3'
dv_start "$T/dv" || { t_fail dovecot_start "could not start Dovecot"; t_done; }
dv_adduser ivy "$PW"
python3 "$T_ROOT/tests/gen/genmail.py" --count 5 --seed 41 \
    "$(dv_maildir ivy)" >/dev/null

# conf FILE HOST PORT VAULT [EXTRA]: one account, the given tls lines.
conf() {
	printf '[account a]\nhost = %s\nport = %s\nuser = ivy\nvault = %s\n%b' \
	    "$2" "$3" "$4" "${5:-}" >"$1"
	chmod 600 "$1"
}

# tls_used NAME LOGFILE: what says the session did not use TLS ("" if
# all of -v output, the event trail and Dovecot's log agree it did).
tls_used() {
	local why=""
	printf '%s' "$PV_OUT" | grep -q '^popvault: > STLS$' ||
	    why="$why; no '> STLS' at -v"
	grep -q 'event=connect .*tls=yes' "$2" ||
	    why="$why; --log has no connect with tls=yes"
	[ "$(pv_field archived)" = 5 ] || why="$why; archived is not 5"
	printf '%s' "$why"
}

# URL mode, DV_HOST_STRICT: the login works only over TLS.
pv_fetch "$T/v-url" "$PW" -v --log "$T/url.log" --insecure-plaintext \
    --tls-ca "$DV_CA" "pop3://ivy@$DV_HOST_STRICT:$DV_POP3_PORT"
why=$(tls_used url "$T/url.log")
if [ "$PV_RC" -eq 0 ] && [ -z "$why" ]; then
	t_pass url_insecure_plaintext_uses_offered_stls
else
	t_fail url_insecure_plaintext_uses_offered_stls "rc=$PV_RC${why}: $(printf '%s' "$PV_OUT" | grep -E 'STLS|popvault: [a-z]' | tail -3)"
fi

# Config mode: tls = none with insecure_plaintext = yes, same server.
conf "$T/none.conf" "$DV_HOST_STRICT" "$DV_POP3_PORT" "$T/v-none" \
    "tls = none\ninsecure_plaintext = yes\ntls_ca = $DV_CA\n"
PV_OUT=$(POPVAULT_PASSWORD=$PW "$POPVAULT" fetch -v --log "$T/none.log" \
    --config "$T/none.conf" 2>&1)
PV_RC=$?
why=$(tls_used none "$T/none.log")
if [ "$PV_RC" -eq 0 ] && [ -z "$why" ]; then
	t_pass config_tls_none_uses_offered_stls
else
	t_fail config_tls_none_uses_offered_stls "rc=$PV_RC${why}: $(printf '%s' "$PV_OUT" | grep -E 'STLS|popvault: [a-z]' | tail -3)"
fi

# Dovecot saw both logins over TLS from 127.0.0.3.
n=$(grep -c 'Login: user=<ivy>.*lip=127\.0\.0\.3.*TLS' "$DV_DIR/log/dovecot.log")
if [ "$n" -ge 2 ] &&
    ! grep -q 'Login: user=<ivy>.*lip=127\.0\.0\.3.*, secured' "$DV_DIR/log/dovecot.log"; then
	t_pass dovecot_saw_tls_logins
else
	t_fail dovecot_saw_tls_logins "$n TLS logins: $(grep 'user=<ivy>' "$DV_DIR/log/dovecot.log" | tail -3)"
fi

# STLS offered but its certificate not trusted: a TLS failure, never a
# fallback to clear text (127.0.0.1 would take a clear-text login).
pv_fetch "$T/v-untrusted" "$PW" -v --insecure-plaintext \
    "pop3://ivy@$DV_HOST:$DV_POP3_PORT"
if [ "$PV_RC" -eq 78 ] && printf '%s' "$PV_OUT" | grep -q '^popvault: > STLS$' &&
    ! printf '%s' "$PV_OUT" | grep -Eq '^popvault: > (USER|PASS|AUTH)' &&
    [ "$(pv_sql "$T/v-untrusted" 'select count(*) from messages' 2>/dev/null || echo 0)" = 0 ]; then
	t_pass stls_offered_untrusted_no_fallback
else
	t_fail stls_offered_untrusted_no_fallback "rc=$PV_RC: $(printf '%s' "$PV_OUT" | grep -E '> |popvault: [a-z]' | tail -4)"
fi

# --- a server without STLS (Dovecot --no-ssl) --------------------------
dv_stop
dv_start "$T/dv2" --no-ssl ||
    { t_fail dovecot_nossl_start "could not start Dovecot --no-ssl"; t_done; }
dv_adduser ivy "$PW"
python3 "$T_ROOT/tests/gen/genmail.py" --count 5 --seed 41 \
    "$(dv_maildir ivy)" >/dev/null

pv_fetch "$T/v-plain-url" "$PW" -v --log "$T/plain-url.log" \
    --insecure-plaintext "pop3://ivy@$DV_HOST:$DV_POP3_PORT"
if [ "$PV_RC" -eq 0 ] && [ "$(pv_field archived)" = 5 ] &&
    grep -q 'event=connect .*tls=no' "$T/plain-url.log" &&
    ! printf '%s' "$PV_OUT" | grep -q '> STLS'; then
	t_pass url_no_stls_plaintext_allowed
else
	t_fail url_no_stls_plaintext_allowed "rc=$PV_RC: $(printf '%s' "$PV_OUT" | grep 'popvault: [a-z]' | tail -3)"
fi

# Config mode: tls = starttls needs STLS, unless insecure_plaintext is
# given (in the file or on the command line): then clear text, as in
# URL mode.
conf "$T/st.conf" "$DV_HOST" "$DV_POP3_PORT" "$T/v-st" "tls = starttls\n"
PV_OUT=$(POPVAULT_PASSWORD=$PW "$POPVAULT" fetch -v --config "$T/st.conf" 2>&1)
PV_RC=$?
if [ "$PV_RC" -eq 78 ] && printf '%s' "$PV_OUT" | grep -q 'does not offer STLS' &&
    ! printf '%s' "$PV_OUT" | grep -Eq '^popvault: > (USER|PASS|AUTH)'; then
	t_pass config_starttls_without_stls_refused
else
	t_fail config_starttls_without_stls_refused "rc=$PV_RC: $(printf '%s' "$PV_OUT" | tail -3)"
fi
PV_OUT=$(POPVAULT_PASSWORD=$PW "$POPVAULT" fetch -v --insecure-plaintext \
    --config "$T/st.conf" 2>&1)
PV_RC=$?
if [ "$PV_RC" -eq 0 ] && [ "$(pv_field archived)" = 5 ]; then
	t_pass config_starttls_cli_insecure_no_stls_plaintext_allowed
else
	t_fail config_starttls_cli_insecure_no_stls_plaintext_allowed "rc=$PV_RC: $(printf '%s' "$PV_OUT" | grep 'popvault: [a-z]' | tail -3)"
fi
conf "$T/none2.conf" "$DV_HOST" "$DV_POP3_PORT" "$T/v-none2" \
    "tls = none\ninsecure_plaintext = yes\n"
PV_OUT=$(POPVAULT_PASSWORD=$PW "$POPVAULT" fetch -v --config "$T/none2.conf" 2>&1)
PV_RC=$?
if [ "$PV_RC" -eq 0 ] && [ "$(pv_field archived)" = 5 ] &&
    ! printf '%s' "$PV_OUT" | grep -q '> STLS'; then
	t_pass config_tls_none_no_stls_plaintext_allowed
else
	t_fail config_tls_none_no_stls_plaintext_allowed "rc=$PV_RC: $(printf '%s' "$PV_OUT" | grep 'popvault: [a-z]' | tail -3)"
fi

t_done
