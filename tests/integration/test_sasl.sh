#!/usr/bin/env bash
# test_sasl.sh -- log in to Dovecot with each SASL mechanism it supports
# (PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-256) and with auth =
# auto; the password never shows at -v -v, and a wrong password fails
# with exit 77 for each.
#
# XOAUTH2 and OAUTHBEARER, with the token from oauth_command in a config
# file, for each mechanism: a short token (one line with the initial
# response), a long one (the line would pass 255 octets: "AUTH MECH"
# alone, the response on its own line, the Microsoft 365 form), and a
# wrong one (the server's error challenge is answered with the
# mechanism's dummy response, exit 77, nothing archived):
#  - against Dovecot, whose oauth2 passdb asks a token introspection
#    endpoint on loopback (tests/lib/oauth_introspect.py, RFC 7662) that
#    knows one token;
#  - against the scripted fake server (tests/lib/fakepop.py, "token"),
#    where the exact bytes received are decoded and compared; there also
#    with the mechanism given as --auth over the file's auth = plain (the
#    oauth_command's token is sent, not the password_command's output).
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

T=$(t_tmpdir)
dv_start "$T/dv" --set "auth_mechanisms=plain login cram-md5 scram-sha-1 scram-sha-256 xoauth2 oauthbearer" ||
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

TOK_SHORT=ya29.a0AfB_short-token.0123456789
TOK_LONG=ya29.$(printf 'Lq7-%.0s' $(seq 1 70))end

# --- XOAUTH2 and OAUTHBEARER against Dovecot ---------------------------------
# oauth_conf FILE PORT MECH TOKEN VAULT: a config with one account
# (auth = $OA_AUTH instead of MECH when set, and the line $OA_EXTRA).
oauth_conf() {
	printf '[account oa]\nhost = localhost\nport = %s\nuser = %s\nauth = %s\ntls_ca = %s\nvault = %s\noauth_command = printf %%s %s\n' \
	    "$2" "${OA_USER:-oa.user@example.com}" "${OA_AUTH:-$3}" "$DV_CA" \
	    "$5" "$4" >"$1"
	[ -z "${OA_EXTRA:-}" ] || printf '%s\n' "$OA_EXTRA" >>"$1"
	chmod 600 "$1"
}
# oauth_outcome OUTFILE RC WANT_RC WANT_ARCHIVED TOKEN VAULT: print what is
# wrong with a run ("; "-separated), nothing if it went as wanted.
oauth_outcome() {
	local out=$1 rc=$2 want_rc=$3 want_n=$4 tok=$5 v=$6
	[ "$rc" -eq "$want_rc" ] || printf '; rc=%s, want %s' "$rc" "$want_rc"
	if [ "$want_n" -gt 0 ]; then
		[ "$(awk '$1 == "archived" { print $2 }' "$out")" = "$want_n" ] ||
		    printf '; archived is not %s' "$want_n"
	elif [ -e "$v/index.sqlite" ] &&
	    [ "$(pv_sql "$v" 'select count(*) from messages')" != 0 ]; then
		printf '; something was archived'
	fi
	grep -qF -- "$tok" "$out" && printf '; the token shows at -v -v'
	return 0
}
python3 "$T_ROOT/tests/lib/oauth_introspect.py" --token "$TOK_LONG" \
    --user sasl --port-file "$T/introspect.port" --log "$T/introspect.log" \
    --timeout 300 2>"$T/introspect.err" &
IP_PID=$!
t_on_exit "kill $IP_PID 2>/dev/null"
for i in $(seq 1 100); do [ -s "$T/introspect.port" ] && break; sleep 0.05; done
if [ ! -s "$T/introspect.port" ]; then
	t_fail dovecot_oauth2_setup "introspection endpoint did not start: $(cat "$T/introspect.err")"
else
	printf 'introspection_mode = post\nintrospection_url = http://127.0.0.1:%s/introspect\nusername_attribute = username\nactive_attribute = active\nactive_value = true\nforce_introspection = yes\n' \
	    "$(cat "$T/introspect.port")" >"$DV_DIR/oauth2.conf.ext"
	chmod 644 "$DV_DIR/oauth2.conf.ext"
	printf 'passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = %s\n}\n' \
	    "$DV_DIR/oauth2.conf.ext" | dv_conf_append ||
	    t_fail dovecot_oauth2_setup "Dovecot did not restart with the oauth2 passdb"
	for mech in xoauth2 oauthbearer; do
		for tok in "$TOK_LONG" "${TOK_LONG}x" "$TOK_SHORT"; do
			case $tok in
			"$TOK_LONG") name=dovecot_${mech}_token_accepted; want=0 n=12 ;;
			"${TOK_LONG}x") name=dovecot_${mech}_wrong_token_exit_77; want=77 n=0 ;;
			*) name=dovecot_${mech}_unknown_token_exit_77; want=77 n=0 ;;
			esac
			OA_USER=sasl oauth_conf "$T/$name.conf" "$DV_POP3S_PORT" \
			    "$mech" "$tok" "$T/v-$name"
			"$POPVAULT" fetch --config "$T/$name.conf" -v -v \
			    >"$T/$name.out" 2>&1
			why=$(oauth_outcome "$T/$name.out" $? "$want" "$n" "$tok" \
			    "$T/v-$name")
			grep -q "> AUTH $(echo "$mech" | tr a-z A-Z)" "$T/$name.out" ||
			    why="$why; no AUTH $mech sent"
			if [ -z "$why" ]; then t_pass "$name"; else
				t_fail "$name" "${why#; }: $(grep 'popvault:' "$T/$name.out" | tail -2)"
			fi
		done
	done
	# Dovecot asked the endpoint, which saw the right and the wrong token.
	if grep -q "active=True" "$T/introspect.log" &&
	    grep -q "active=False" "$T/introspect.log"; then
		t_pass dovecot_oauth2_introspection_consulted
	else
		t_fail dovecot_oauth2_introspection_consulted "$(cat "$T/introspect.log")"
	fi
fi

# --- XOAUTH2 and OAUTHBEARER against the scripted fake server -------------
. "$T_ROOT/tests/lib/fakepop.sh"
CERTD=$(dirname "$DV_CA")
TOK_WANT=$TOK_SHORT
MSGS='[{"uidl":"oa-1","text":"Subject: one\n\nbody one\n"},{"uidl":"oa-2","text":"Subject: two\n\nbody two\n"}]'

# oauth_case NAME MECH TOKEN WANT_RC WANT_ARCHIVED (with OA_CLI_AUTH set,
# MECH is given as --auth on the command line too)
oauth_case() {
	local name=$1 mech=$2 tok=$3 want_rc=$4 want_n=$5 rc why=""
	printf '{"capa":["SASL XOAUTH2 OAUTHBEARER","UIDL","USER","RESP-CODES"],"token":"%s","messages":%s}\n' \
	    "$TOK_WANT" "$MSGS" >"$T/$name.json"
	fp_start "$name" --mode tls --cert "$CERTD/server.crt" \
	    --key "$CERTD/server.key" --max-conns 1 ||
	    { t_fail "$name" "fakepop did not start"; return; }
	oauth_conf "$T/$name.conf" "$FP_PORT" "$mech" "$tok" "$T/v-$name"
	"$POPVAULT" fetch --config "$T/$name.conf" -v -v \
	    ${OA_CLI_AUTH:+--auth "$mech"} >"$T/$name.out" 2>&1
	rc=$?
	fp_wait 15 || why="$why; fakepop still running"
	why="$why$(oauth_outcome "$T/$name.out" "$rc" "$want_rc" "$want_n" \
	    "$tok" "$T/v-$name")"
	python3 - "$FP_LOG" "$mech" oa.user@example.com "$tok" localhost \
	    "$FP_PORT" "$([ "$tok" = "$TOK_WANT" ] && echo ok || echo refused)" \
	    >"$T/$name.bytes" 2>&1 <<'PY' || why="$why; $(tr '\n' ' ' <"$T/$name.bytes")"
import base64, sys
log, mech, user, tok, host, port, outcome = sys.argv[1:]
mech = mech.upper()
if mech == "XOAUTH2":
    want = b"user=%s\x01auth=Bearer %s\x01\x01" % (user.encode(), tok.encode())
    dummy = ""
else:
    want = (b"n,a=%s,\x01host=%s\x01port=%s\x01auth=Bearer %s\x01\x01" %
            (user.encode(), host.encode(), port.encode(), tok.encode()))
    dummy = "AQ=="
lines = [l.rstrip("\n").split(" ", 4)[4] if len(l.split(" ", 4)) > 4 else ""
         for l in open(log) if l.split(" ")[1:2] == ["C"]]
i = next((k for k, l in enumerate(lines) if l.upper().startswith("AUTH ")), None)
if i is None:
    sys.exit("no AUTH line: %r" % lines)
b64 = base64.b64encode(want).decode()
one = "AUTH %s %s" % (mech, b64)
if len(one) + 2 <= 255:
    if lines[i] != one:
        sys.exit("one-step form expected (%d octets), got %r" % (len(one) + 2, lines[i][:80]))
    k = i + 1
else:
    if lines[i] != "AUTH " + mech or lines[i + 1] != b64:
        sys.exit("two-step form expected (%d octets), got %r, %r" % (len(one) + 2, lines[i], lines[i + 1][:60]))
    k = i + 2
if outcome == "refused":
    if k >= len(lines) or lines[k] != dummy:
        sys.exit("error challenge answered with %r, want %r" % (lines[k:k + 1], dummy))
    if any(l.upper().startswith(("UIDL", "RETR", "LIST")) for l in lines[k:]):
        sys.exit("went on after a refused token")
elif not any(l == "UIDL" for l in lines[k:]):
    sys.exit("no UIDL after the login")
PY
	if [ -z "$why" ]; then t_pass "$name"; else t_fail "$name" "${why#; }"; fi
}

for mech in xoauth2 oauthbearer; do
	oauth_case "${mech}_one_step" "$mech" "$TOK_SHORT" 0 2
	TOK_WANT=$TOK_LONG oauth_case "${mech}_two_step_long_token" "$mech" "$TOK_LONG" 0 2
	oauth_case "${mech}_wrong_token_exit_77" "$mech" "${TOK_SHORT}x" 77 0
	# --auth on the command line over the file's auth = plain: the token
	# of oauth_command is sent, not what password_command prints.
	OA_AUTH=plain OA_EXTRA='password_command = printf %s not-the-token' \
	    OA_CLI_AUTH=1 oauth_case "${mech}_auth_on_command_line" "$mech" \
	    "$TOK_SHORT" 0 2
done
t_done
