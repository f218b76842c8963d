#!/usr/bin/env bash
# test_harness.sh -- self-test of the integration-test harness: the private
# Dovecot (tests/lib/dovecot.sh), the message generator, the raw POP3 client
# and the test CA. Prints PASS/FAIL lines; exits non-zero on any failure.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
. "$HERE/../lib/common.sh"
# shellcheck source=../lib/dovecot.sh
. "$HERE/../lib/dovecot.sh"

RAW="python3 $T_ROOT/tests/lib/pop3raw.py --timeout 10"
GEN="python3 $T_ROOT/tests/gen/genmail.py"

D=$(t_tmpdir) || { t_fail tmpdir "t_tmpdir failed"; t_done; }

if dv_start "$D/dv"; then
	t_pass dv_start
else
	t_fail dv_start "see $D/dv/log"
	t_done
fi

ok=1
for v in DV_DIR DV_CA DV_CA_KEY DV_POP3_PORT DV_POP3S_PORT DV_HOST DV_HOST_STRICT \
	DV_HOST_WRONG DV_MAIL_UID DV_MAIL_GID; do
	[ -n "${!v:-}" ] || { ok=0; t_fail exports "$v is empty"; }
done
[ "$DV_HOST" = 127.0.0.1 ] || { ok=0; t_fail exports "DV_HOST=$DV_HOST"; }
[ -f "$DV_CA" ] || { ok=0; t_fail exports "no CA file $DV_CA"; }
[ "$ok" = 1 ] && t_pass exports

if dv_adduser alice 'Secret-1' && [ -d "$(dv_maildir alice)/new" ]; then
	t_pass dv_adduser
else
	t_fail dv_adduser "no maildir"
fi

$GEN --count 30 --seed harness "$(dv_maildir alice)" ||
	t_fail genmail "genmail.py failed"
n=$(dv_server_files alice | wc -l)
if [ "$n" -eq 30 ]; then t_pass dv_server_files; else
	t_fail dv_server_files "found $n files, want 30"; fi

common=(--ca "$DV_CA" --user alice --password Secret-1)
for name in localhost 127.0.0.1; do
	out=$($RAW --host 127.0.0.1 --port "$DV_POP3S_PORT" --tls implicit \
		--name "$name" "${common[@]}" stat 2>&1)
	if [ "$out" = 30 ]; then t_pass "pop3s_stat_$name"; else
		t_fail "pop3s_stat_$name" "STAT said: $out"; fi
done

caps=$($RAW --port "$DV_POP3_PORT" --tls none capa 2>&1)
if printf '%s\n' "$caps" | grep -qx 'STLS'; then t_pass plain_capa_stls; else
	t_fail plain_capa_stls "CAPA: ${caps//$'\n'/ }"; fi

out=$($RAW --port "$DV_POP3_PORT" --tls stls --name localhost "${common[@]}" stat 2>&1)
if [ "$out" = 30 ]; then t_pass stls_stat; else t_fail stls_stat "STAT said: $out"; fi

# disable_plaintext_auth: no login without TLS from a "remote" address.
# (127.0.0.1 -> 127.0.0.1 counts as secured for Dovecot: login works there.)
out=$($RAW --host "$DV_HOST_STRICT" --port "$DV_POP3_PORT" --tls none \
	"${common[@]}" stat 2>&1)
rc=$?
if [ "$rc" -ne 0 ]; then t_pass plain_login_refused_strict; else
	t_fail plain_login_refused_strict "plaintext login worked: $out"; fi
out=$($RAW --host "$DV_HOST_STRICT" --port "$DV_POP3_PORT" --tls stls \
	--name "$DV_HOST_STRICT" "${common[@]}" stat 2>&1)
if [ "$out" = 30 ]; then t_pass stls_stat_strict; else
	t_fail stls_stat_strict "STAT said: $out"; fi

# 127.0.0.2 is served too, but the certificate does not name it.
$RAW --host "$DV_HOST_WRONG" --port "$DV_POP3S_PORT" --tls implicit \
	--name "$DV_HOST_WRONG" --ca "$DV_CA" capa > /dev/null 2> "$D/wronghost.err"
rc=$?
if [ "$rc" -eq 3 ]; then t_pass wrong_host_rejected; else
	t_fail wrong_host_rejected "rc=$rc: $(cat "$D/wronghost.err")"; fi
out=$($RAW --host "$DV_HOST_WRONG" --port "$DV_POP3S_PORT" --tls implicit \
	--name localhost "${common[@]}" stat 2>&1)
if [ "$out" = 30 ]; then t_pass second_address_listens; else
	t_fail second_address_listens "STAT via 127.0.0.2 said: $out"; fi
# A CA that did not issue the certificate: verification fails.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-subj /CN=other -keyout "$D/other.key" -out "$D/other.crt" 2>/dev/null
$RAW --port "$DV_POP3S_PORT" --tls implicit --name localhost \
	--ca "$D/other.crt" capa > /dev/null 2>&1
rc=$?
if [ "$rc" -eq 3 ]; then t_pass unknown_ca_rejected; else
	t_fail unknown_ca_rejected "rc=$rc"; fi

# Wrong password: -ERR at once, no lockout. The test config turns off the
# failure delay and the per-IP penalty (dovecot.sh) so that failure tests
# are fast. Not timed (a loaded machine makes any bound flaky): the
# settings Dovecot really parsed say so, each of three refused logins
# shows in its log as one failed attempt, and the right password works
# right after them.
why=
delay=$(doveconf -c "$DV_DIR/dovecot.conf" -h auth_failure_delay 2>&1)
[ "$delay" = 0 ] || why="auth_failure_delay is '$delay', want 0"
pmode=$(doveconf -c "$DV_DIR/dovecot.conf" -h \
	service/anvil/unix_listener/anvil-auth-penalty/mode 2>&1)
[ "$pmode" = 00 ] || [ "$pmode" = 0 ] ||
	why="$why; anvil-auth-penalty socket mode '$pmode', want 0 (penalty off)"
before=$(grep -c 'auth failed, 1 attempts.*user=<alice>' "$DV_DIR/log/dovecot.log")
for _ in 1 2 3; do
	$RAW --port "$DV_POP3S_PORT" --ca "$DV_CA" --user alice --password wrong \
		stat > /dev/null 2>&1 && why="$why; login with a wrong password worked"
done
# The login process logs a session when it ends: wait for the lines.
for _ in $(seq 1 100); do
	n=$(grep -c 'auth failed, 1 attempts.*user=<alice>' "$DV_DIR/log/dovecot.log")
	[ $((n - before)) -ge 3 ] && break
	sleep 0.1
done
[ $((n - before)) -eq 3 ] ||
	why="$why; Dovecot logged $((n - before)) failed single-attempt logins, want 3"
out=$($RAW --port "$DV_POP3S_PORT" "${common[@]}" stat 2>&1)
[ "$out" = 30 ] || why="$why; the right password after them: STAT said $out"
if [ -z "$why" ]; then t_pass wrong_password_no_delay_no_lockout; else
	t_fail wrong_password_no_delay_no_lockout "${why#; }"; fi

# dv_set restarts with a new setting; same ports, users and mail.
uidl1=$($RAW --port "$DV_POP3S_PORT" "${common[@]}" uidl 2>&1 | head -1)
port1=$DV_POP3S_PORT
if dv_set pop3_uidl_format '%g' && [ "$DV_POP3S_PORT" = "$port1" ]; then
	uidl2=$($RAW --port "$DV_POP3S_PORT" "${common[@]}" uidl 2>&1 | head -1)
	n=$($RAW --port "$DV_POP3S_PORT" "${common[@]}" stat 2>&1)
	if [ "$n" = 30 ] && [ -n "$uidl2" ] && [ "$uidl1" != "$uidl2" ] &&
		[ "${uidl1#1 }" != "$uidl1" ] && [ "${#uidl1}" -eq 18 ]; then
		t_pass dv_set_uidl_format
	else
		t_fail dv_set_uidl_format "STAT $n, UIDL before '$uidl1', after '$uidl2'"
	fi
else
	t_fail dv_set_uidl_format "dv_set failed"
fi

pid=$(dv_pid)
# (_dv_alive: a zombie waiting for init to reap it counts as gone)
if dv_stop && ! _dv_alive "$pid" && [ -z "$(_dv_children)" ]; then
	t_pass dv_stop
else
	t_fail dv_stop "master $pid or children still there: $(_dv_children)"
fi
if python3 -c 'import socket,sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
except OSError:
    sys.exit(0)
sys.exit(1)' "$DV_POP3S_PORT"; then t_pass port_closed; else
	t_fail port_closed "port $DV_POP3S_PORT still accepts"; fi
if dv_stop; then t_pass dv_stop_twice; else t_fail dv_stop_twice "rc=$?"; fi

# --no-ssl: no STLS, no pop3s listener, plaintext login allowed.
if dv_start "$D/plain" --no-ssl && [ -z "$DV_POP3S_PORT" ]; then
	t_pass dv_start_no_ssl
	dv_adduser bob pw
	$GEN --count 3 --seed harness "$(dv_maildir bob)"
	caps=$($RAW --port "$DV_POP3_PORT" --tls none capa 2>&1)
	if printf '%s\n' "$caps" | grep -q '^STLS' ||
		! printf '%s\n' "$caps" | grep -q '^UIDL'; then
		t_fail no_ssl_capa "CAPA: ${caps//$'\n'/ }"
	else
		t_pass no_ssl_capa
	fi
	out=$($RAW --port "$DV_POP3_PORT" --tls none --user bob --password pw stat 2>&1)
	if [ "$out" = 3 ]; then t_pass no_ssl_plain_login; else
		t_fail no_ssl_plain_login "STAT said: $out"; fi
	dv_stop || t_fail dv_stop_no_ssl "dv_stop failed"
else
	t_fail dv_start_no_ssl "start failed or DV_POP3S_PORT=$DV_POP3S_PORT"
fi

t_done
