#!/usr/bin/env bash
# test_probe.sh -- "popvault probe URL" against the private Dovecot
# (pop3s:// and pop3:// with STLS, with and without --login) and against
# tests/lib/fakepop.py for what Dovecot will not do (EXPIRE 0 and
# LOGIN-DELAY 900, no STLS at all, broken pipelining, a certificate
# from the wrong CA). fakepop's log shows every command probe sent: no
# DELE, RETR, TOP or RSET ever, and no credential when TLS failed.
#
# Checks: the greeting and CAPA before and after TLS are shown; the
# certificate fingerprint equals "openssl x509 -fingerprint -sha256" of
# the server's certificate, the public key one equals the SHA-256 of
# its SubjectPublicKeyInfo, and pinning that one works; the SASL
# mechanisms are listed; with --login the message count and total size
# are Dovecot's and PIPELINING works; the suggested configuration is
# accepted by "popvault fetch --config FILE --dry-run"; the wrong CA
# gives exit status 78.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"

: "${POPVAULT:?POPVAULT must name the binary under test}"
T=$(t_tmpdir)
C=$T/certs
PW='probe-Pw-7'
N=7

"$T_ROOT/tests/lib/mkcerts.sh" "$C" >/dev/null ||
	{ t_fail mkcerts "tests/lib/mkcerts.sh failed"; t_done; }
dv_start "$T/dv" --set "auth_mechanisms=plain login scram-sha-256" ||
	{ t_fail dovecot_start "could not start Dovecot"; t_done; }
dv_adduser prober "$PW"
python3 "$T_ROOT/tests/gen/genmail.py" --count $N --seed 41 \
    "$(dv_maildir prober)" >/dev/null
dv_fix_perms prober
S_URL="pop3s://prober@localhost:$DV_POP3S_PORT"
P_URL="pop3://prober@$DV_HOST_STRICT:$DV_POP3_PORT"

# probe NAME [args...]: run popvault probe; stdout in $T/NAME.out, stderr
# in $T/NAME.err, exit status in RC. The password is in the environment.
probe() {
	local name=$1
	shift
	POPVAULT_PASSWORD=$PW timeout -k 5 60 "$POPVAULT" probe "$@" \
	    >"$T/$name.out" 2>"$T/$name.err" </dev/null
	RC=$?
}

# The value of the first "Key: value" line of a probe's output.
field() {
	sed -n "s/^ *$2: //p" "$T/$1.out" | head -n 1
}

# The lines of one CAPA section ("CAPA before TLS", "CAPA after TLS").
capa_section() {
	awk -v t="$2:" '$0 == t { on = 1; next }
	    on && /^  / { print substr($0, 3); next } on { exit }' "$T/$1.out"
}

# The suggested configuration of a probe's output.
suggested() {
	sed -n '/^Suggested configuration:$/,$p' "$T/$1.out" | tail -n +2
}

# hex of a fingerprint as openssl prints it: lower case, no colons.
norm() {
	sed 's/.*=//; s/^sha256://; s/://g' | tr 'A-F' 'a-f'
}

CERT_FP=$(openssl x509 -in "$DV_DIR/server.crt" -noout -fingerprint \
    -sha256 | norm)
SPKI_FP=$(openssl x509 -in "$DV_DIR/server.crt" -noout -pubkey |
    openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)

# Dovecot's LIST sizes: the messages with CRLF line ends.
MD=$(dv_maildir prober)
TOTAL=$(python3 - "$MD" <<'EOF'
import os, sys
t = 0
for d in ("new", "cur"):
    p = os.path.join(sys.argv[1], d)
    for f in os.listdir(p):
        b = open(os.path.join(p, f), "rb").read()
        t += len(b) + b.count(b"\n") - b.count(b"\r\n")
print(t)
EOF
)

# --- Dovecot, pop3s://, no login -------------------------------------------
probe s --tls-ca "$DV_CA" "$S_URL"
if [ "$RC" -eq 0 ] && grep -q '^Greeting: +OK Dovecot' "$T/s.out"; then
	t_pass pop3s_greeting
else
	t_fail pop3s_greeting "rc=$RC $(head -c 400 "$T/s.err")"
fi
after=$(capa_section s "CAPA after TLS")
if printf '%s\n' "$after" | grep -qx UIDL &&
    printf '%s\n' "$after" | grep -qx PIPELINING &&
    ! grep -q '^CAPA before TLS:' "$T/s.out"; then
	t_pass pop3s_capa_after_tls_only
else
	t_fail pop3s_capa_after_tls_only "$(cat "$T/s.out")"
fi
got=$(field s "Certificate SHA-256" | norm)
if [ -n "$CERT_FP" ] && [ "$got" = "$CERT_FP" ]; then
	t_pass cert_fingerprint_matches_openssl
else
	t_fail cert_fingerprint_matches_openssl "probe $got, openssl $CERT_FP"
fi
got=$(field s "Public key SHA-256" | norm)
if [ -n "$SPKI_FP" ] && [ "$got" = "$SPKI_FP" ]; then
	t_pass spki_fingerprint_matches_openssl
else
	t_fail spki_fingerprint_matches_openssl "probe $got, openssl $SPKI_FP"
fi
if [ "$(field s Subject)" = "CN = localhost" ] &&
    [ "$(field s Issuer)" = "CN = popvault test CA" ] &&
    field s "Valid until" | grep -q '^20[0-9][0-9]-' &&
    field s TLS | grep -q '^TLSv1\.[23], cipher '; then
	t_pass cert_details
else
	t_fail cert_details "$(grep -A6 '^TLS:' "$T/s.out")"
fi
sasl=$(field s "SASL mechanisms")
if [ "$sasl" = "PLAIN LOGIN SCRAM-SHA-256" ] &&
    grep -q 'auto would use SCRAM-SHA-256' "$T/s.out"; then
	t_pass sasl_mechanisms
else
	t_fail sasl_mechanisms "got '$sasl'"
fi
if grep -qx 'UIDL: announced (not tried: no login)' "$T/s.out" &&
    grep -qx 'PIPELINING: announced (not tried: no login)' "$T/s.out" &&
    ! grep -q '^Login:' "$T/s.out"; then
	t_pass no_login_by_default
else
	t_fail no_login_by_default "$(grep -E '^(UIDL|PIPELINING|Login)' "$T/s.out")"
fi

# --- Dovecot, pop3:// with STLS -------------------------------------------
probe p --tls-ca "$DV_CA" "$P_URL"
before=$(capa_section p "CAPA before TLS")
after=$(capa_section p "CAPA after TLS")
if [ "$RC" -eq 0 ] && printf '%s\n' "$before" | grep -qx STLS &&
    ! printf '%s\n' "$after" | grep -qx STLS &&
    printf '%s\n' "$after" | grep -qx USER &&
    grep -q '^Greeting: +OK ' "$T/p.out" &&
    [ "$(field p "Certificate SHA-256" | norm)" = "$CERT_FP" ]; then
	t_pass stls_capa_before_and_after
else
	t_fail stls_capa_before_and_after "rc=$RC $(cat "$T/p.out" "$T/p.err")"
fi

# --- --login: UIDL, LIST, pipelining ---------------------------------------
probe l --login --tls-ca "$DV_CA" "$S_URL"
if [ "$RC" -eq 0 ] && grep -qx "UIDL: works ($N messages)" "$T/l.out" &&
    grep -qx "LIST: works ($N messages, $TOTAL bytes)" "$T/l.out" &&
    grep -qx 'Login: ok (AUTH SCRAM-SHA-256)' "$T/l.out"; then
	# --auth auto, the default, takes SCRAM-SHA-256 where offered.
	t_pass login_counts
else
	t_fail login_counts "rc=$RC want $N/$TOTAL: $(grep -E '^(Login|UIDL|LIST)' "$T/l.out") $(cat "$T/l.err")"
fi
if grep -q '^PIPELINING: works' "$T/l.out"; then
	t_pass login_pipelining_works
else
	t_fail login_pipelining_works "$(grep '^PIPELINING' "$T/l.out")"
fi
if [ "$(find "$MD/new" "$MD/cur" -type f | wc -l)" -eq $N ]; then
	t_pass login_mailbox_untouched
else
	t_fail login_mailbox_untouched "the mailbox changed"
fi
# The UIDL format from Dovecot's own word: its pop3_uidl_format setting,
# the mailbox's UIDVALIDITY and its messages' UIDs (doveadm, with the
# private instance's configuration), the UIDLs made from them.
doveadm_() { doveadm -c "$DV_DIR/dovecot.conf" "$@" 2>>"$T/doveadm.err"; }
DV_FMT=$(doveadm_ config -h pop3_uidl_format)
DV_UIDV=$(doveadm_ mailbox status -u prober uidvalidity INBOX |
    sed -n 's/.*uidvalidity=\([0-9]*\).*/\1/p')
DV_DISTINCT=$(doveadm_ fetch -u prober uid all | sed -n 's/^uid: //p' |
    while read -r u; do printf '%08x%08x\n' "$u" "$DV_UIDV"; done |
    sort -u | grep -c .)
if [ "$DV_FMT" = '%08Xu%08Xv' ] && [ -n "$DV_UIDV" ] &&
    [ "$DV_DISTINCT" -eq $N ] &&
    grep -qxF "UIDL format: Dovecot's default $DV_FMT (UIDVALIDITY $DV_UIDV)" \
    "$T/l.out" &&
    grep -qxF "UIDL duplicates: none ($DV_DISTINCT distinct UIDLs)" \
    "$T/l.out"; then
	t_pass login_uidl_format_dovecot
else
	t_fail login_uidl_format_dovecot "dovecot: format '$DV_FMT' uidvalidity '$DV_UIDV' $DV_DISTINCT UIDLs $(head -c 300 "$T/doveadm.err"); probe: $(grep '^UIDL' "$T/l.out")"
fi
# Dovecot 2.3 offers no UTF8 and is no Gmail: said so, and no window.
if ! capa_section l "CAPA after TLS" | grep -q '^UTF8' &&
    grep -qx 'UTF8: not announced' "$T/l.out" &&
    ! grep -q '^Listing window:' "$T/l.out" &&
    ! suggested l | grep -q 'max_sessions'; then
	t_pass dovecot_no_utf8_no_window
else
	t_fail dovecot_no_utf8_no_window "$(grep -E '^(UTF8|Listing)' "$T/l.out")"
fi
probe ls --login --auth scram-sha-256 -v --tls-ca "$DV_CA" "$P_URL"
if [ "$RC" -eq 0 ] && grep -qx 'Login: ok (AUTH SCRAM-SHA-256)' "$T/ls.out" &&
    grep -q '^PIPELINING: works' "$T/ls.out" &&
    ! grep -qF -- "$PW" "$T/ls.out" "$T/ls.err" &&
    ! grep -Eq '> (DELE|RETR|TOP|RSET)' "$T/ls.err"; then
	t_pass login_stls_scram
else
	t_fail login_stls_scram "rc=$RC $(grep -E '^(Login|PIPELINING)' "$T/ls.out") $(tail -3 "$T/ls.err")"
fi
POPVAULT_PASSWORD=wrong "$POPVAULT" probe --login --tls-ca "$DV_CA" \
    "$S_URL" >"$T/lw.out" 2>"$T/lw.err" </dev/null
RC=$?
if [ "$RC" -eq 77 ] && grep -q '^Login: failed' "$T/lw.out"; then
	t_pass login_wrong_password_77
else
	t_fail login_wrong_password_77 "rc=$RC"
fi
# --password-command-timeout: a command that never prints is killed after
# the timeout given, and probe ends (not timeout(1)'s 124).
timeout 120 "$POPVAULT" probe --login --tls-ca "$DV_CA" \
    --password-command-timeout 1 --password-command 'sleep 600; echo x' \
    "$S_URL" >"$T/pt.out" 2>"$T/pt.err" </dev/null
RC=$?
if [ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] &&
    grep -q 'password command timed out after 1 s' "$T/pt.err"; then
	t_pass login_password_command_timeout
else
	t_fail login_password_command_timeout "rc=$RC $(tail -3 "$T/pt.err")"
fi

# --- the suggested configuration parses and works ---------------------------
# try_config NAME [LISTED [SED]]: the probe's suggestion (edited by the
# sed(1) script SED when given) plus a password_command, run by "fetch
# --config FILE --dry-run ACCOUNT", which must list LISTED messages
# (default $N).
try_config() {
	local name=$1 cfg=$T/$1.conf acct
	{
		suggested "$name" | sed "${3:-}"
		printf 'password_command = printf "%%s\\n" %s\n' "$PW"
	} >"$cfg"
	chmod 600 "$cfg"
	acct=$(sed -n 's/^\[account \(.*\)\]$/\1/p' "$cfg")
	"$POPVAULT" fetch --config "$cfg" --vault "$T/v-$name" --dry-run \
	    "$acct" >"$T/$name.fetch" 2>&1 </dev/null
	RC=$?
	[ "$RC" -eq 0 ] &&
	    [ "$(awk '$1 == "listed" { print $2; exit }' "$T/$name.fetch")" = "${2:-$N}" ] &&
	    [ ! -e "$T/v-$name/index.sqlite" ]
}
for c in s p l ls; do
	if try_config "$c"; then
		t_pass "config_suggested_$c"
	else
		t_fail "config_suggested_$c" "rc=$RC $(head -c 600 "$T/$c.fetch") -- $(cat "$T/$c.conf")"
	fi
done
if suggested s | grep -qx 'auth = scram-sha-256' &&
    suggested s | grep -qx "# tls_fingerprint = sha256:$SPKI_FP" &&
    suggested s | grep -qx "tls_ca = $DV_CA" &&
    suggested s | grep -qx 'tls = implicit' &&
    suggested p | grep -qx 'tls = starttls'; then
	t_pass config_keys
else
	t_fail config_keys "$(suggested s)"
fi
probe q -q --tls-ca "$DV_CA" "$S_URL"
if [ "$RC" -eq 0 ] && [ "$(head -n 1 "$T/q.out")" = "Suggested configuration:" ]; then
	t_pass quiet_prints_only_config
else
	t_fail quiet_prints_only_config "rc=$RC $(head -n 2 "$T/q.out")"
fi

# --- certificate trouble ----------------------------------------------------
probe wca --login --tls-ca "$C/ca.crt" "$S_URL"
if [ "$RC" -eq 78 ] && grep -q '^Certificate: NOT trusted' "$T/wca.out" &&
    [ "$(field wca "Certificate SHA-256" | norm)" = "$CERT_FP" ] &&
    grep -q -- "--tls-fingerprint sha256:$SPKI_FP" "$T/wca.err" &&
    ! grep -q '^Suggested configuration' "$T/wca.out"; then
	t_pass wrong_ca_78_shows_fingerprint
else
	t_fail wrong_ca_78_shows_fingerprint "rc=$RC $(cat "$T/wca.out" "$T/wca.err")"
fi
probe pin --tls-fingerprint "sha256:$SPKI_FP" "$S_URL"
if [ "$RC" -eq 0 ] && grep -q '^Certificate: pinned' "$T/pin.out" &&
    suggested pin | grep -qx "tls_fingerprint = sha256:$SPKI_FP"; then
	t_pass pin_spki_from_probe
else
	t_fail pin_spki_from_probe "rc=$RC $(cat "$T/pin.err")"
fi
probe pinbad --tls-fingerprint "sha256:$(printf '%064d' 0)" "$S_URL"
if [ "$RC" -eq 78 ] && grep -q '^Certificate: NOT trusted' "$T/pinbad.out"; then
	t_pass pin_mismatch_78
else
	t_fail pin_mismatch_78 "rc=$RC $(cat "$T/pinbad.err")"
fi

# --- fakepop -----------------------------------------------------------------
. "$T_ROOT/tests/lib/fakepop.sh"

# fp NAME MODE JSON [CONNS]: start fakepop (MODE tls, stls or plain) with
# the script JSON for CONNS sessions (default 1); sets FP_PORT and FP_LOG.
fp() {
	local name=$1 mode=$2
	local -a a=(--mode "$mode" --max-conns "${4:-1}" --timeout 30)
	printf '%s\n' "$3" >"$T/$name.json"
	[ "$mode" = plain ] || a+=(--cert "$C/valid.crt" --key "$C/valid.key")
	fp_start "$name" "${a[@]}"
}

# The commands a session sent, one a line, without the log's prefix.
sent() {
	sed -n 's/^S[0-9]* C [a-z]* q=[0-9]* //p' "$FP_LOG"
}

MSGS='[{"uidl": "u1", "text": "Subject: a\n\none\n"},
    {"uidl": "u2", "text": "Subject: b\n\ntwo\n"},
    {"uidl": "u3", "text": "Subject: c\n\nthree\n"}]'
fp exp tls "{\"capa\": [\"TOP\", \"UIDL\", \"USER\", \"RESP-CODES\",
    \"PIPELINING\", \"EXPIRE 0\", \"LOGIN-DELAY 900\"],
    \"password\": \"$PW\", \"messages\": $MSGS}"
probe exp --login --tls-ca "$C/ca.crt" "pop3s://alice@localhost:$FP_PORT"
fp_wait
if [ "$RC" -eq 0 ] && grep -q '^EXPIRE: 0 ' "$T/exp.out" &&
    grep -q '^LOGIN-DELAY: 900 seconds' "$T/exp.out" &&
    suggested exp | grep -q '^# EXPIRE 0' &&
    suggested exp | grep -q '^# LOGIN-DELAY 900'; then
	t_pass fakepop_expire_login_delay
else
	t_fail fakepop_expire_login_delay "rc=$RC $(cat "$T/exp.out" "$T/exp.err")"
fi
# LOGIN-DELAY: fetch keeps to it; login_delay = ignore, suggested
# commented out after a one-line comment, is a key the configuration
# file takes (uncommented, fetch fails only at the closed port: 69).
sed -n '/^LOGIN-DELAY:/,/^[^ ]/p' "$T/exp.out" >"$T/exp.ld"
suggested exp | sed 's/^# login_delay = ignore$/login_delay = ignore/' \
    >"$T/exp-ld.conf"
chmod 600 "$T/exp-ld.conf"
POPVAULT_PASSWORD=$PW "$POPVAULT" fetch --config "$T/exp-ld.conf" \
    --vault "$T/v-exp-ld" --dry-run localhost >"$T/exp-ld.fetch" 2>&1 \
    </dev/null
RC=$?
if grep -q 'skips the account' "$T/exp.ld" &&
    grep -q 'login_delay = ignore is for a server' "$T/exp.ld" &&
    grep -q 'Courier announces LOGIN-DELAY 10' "$T/exp.ld" &&
    suggested exp | grep -B1 -x '# login_delay = ignore' | head -n 1 |
    grep -q '^# .*not enforce' &&
    grep -qx 'login_delay = ignore' "$T/exp-ld.conf" &&
    [ "$RC" -eq 69 ] && ! grep -q 'exp-ld.conf:' "$T/exp-ld.fetch"; then
	t_pass fakepop_login_delay_ignore_suggested
else
	t_fail fakepop_login_delay_ignore_suggested "rc=$RC $(cat "$T/exp.ld" "$T/exp-ld.fetch") -- $(suggested exp)"
fi
if grep -qx 'UTF8: not announced' "$T/exp.out" &&
    ! grep -q '^Listing window:' "$T/exp.out" &&
    ! sent | grep -qx UTF8; then
	t_pass fakepop_no_utf8_not_sent
else
	t_fail fakepop_no_utf8_not_sent "$(grep -E '^(UTF8|Listing)' "$T/exp.out") sent: $(sent | tr '\n' ' ')"
fi
bad=$(sent | grep -Evx 'CAPA|USER alice|PASS .*|UIDL|LIST|UIDL 1|LIST 1|NOOP|QUIT')
if [ -n "$(sent)" ] && [ -z "$bad" ] && ! sent | grep -Eqi '^(DELE|RETR|TOP|RSET)'; then
	t_pass fakepop_no_mailbox_change
else
	t_fail fakepop_no_mailbox_change "unexpected commands: $bad"
fi
if grep -q 'C tls q=[1-9][0-9]* UIDL 1$' "$FP_LOG" &&
    grep -q '^PIPELINING: works' "$T/exp.out" &&
    grep -qx 'UIDL: works (3 messages)' "$T/exp.out"; then
	t_pass fakepop_pipelined_in_one_write
else
	t_fail fakepop_pipelined_in_one_write "$(grep UIDL "$FP_LOG")"
fi

# A server answering one pipelined command twice: out of step.
fp pipe tls "{\"capa\": [\"UIDL\", \"USER\", \"PIPELINING\"],
    \"messages\": $MSGS, \"rules\": [{\"match\": \"UIDL 1\",
    \"builtin\": true, \"extra\": \"+OK\\r\\n\"}]}"
probe pipe --login --tls-ca "$C/ca.crt" "pop3s://alice@localhost:$FP_PORT"
fp_wait
if [ "$RC" -eq 76 ] && grep -q '^PIPELINING: announced but broken' \
    "$T/pipe.out" && ! sent | grep -q '^QUIT'; then
	t_pass fakepop_broken_pipelining_76
else
	t_fail fakepop_broken_pipelining_76 "rc=$RC $(grep PIPELINING "$T/pipe.out") $(sent | tr '\n' ' ')"
fi

# Certificate from another CA: nothing at all sent after the handshake.
fp wrongca tls "{\"messages\": $MSGS}"
probe wrongca --login --tls-ca "$DV_CA" "pop3s://alice@localhost:$FP_PORT"
fp_wait
if [ "$RC" -eq 78 ] && [ -z "$(sent)" ] &&
    grep -q '^  Certificate SHA-256: sha256:' "$T/wrongca.out"; then
	t_pass fakepop_wrong_ca_no_credentials
else
	t_fail fakepop_wrong_ca_no_credentials "rc=$RC sent: $(sent | tr '\n' ' ')"
fi
fp wrongcas stls "{\"messages\": $MSGS}"
probe wrongcas --login --tls-ca "$DV_CA" "pop3://alice@localhost:$FP_PORT"
fp_wait
if [ "$RC" -eq 78 ] && [ "$(sent | tr '\n' ' ')" = "CAPA STLS " ]; then
	t_pass fakepop_wrong_ca_stls_no_credentials
else
	t_fail fakepop_wrong_ca_stls_no_credentials "rc=$RC sent: $(sent | tr '\n' ' ')"
fi

# No STLS at all: reported, nothing insecure suggested, no credentials.
fp plain plain "{\"capa\": [\"UIDL\", \"USER\"], \"messages\": $MSGS}"
probe plain --login "pop3://alice@localhost:$FP_PORT"
fp_wait
if [ "$RC" -eq 78 ] && grep -q '^STLS: not offered' "$T/plain.out" &&
    capa_section plain "CAPA before TLS" | grep -qx USER &&
    suggested plain | grep -qx 'tls = starttls' &&
    suggested plain | grep -qx '# insecure_plaintext = yes' &&
    ! suggested plain | grep -Eq '^(insecure_plaintext|tls = none)' &&
    ! sent | grep -Eq '^(USER|PASS|APOP|AUTH)'; then
	t_pass fakepop_plaintext_only
else
	t_fail fakepop_plaintext_only "rc=$RC $(cat "$T/plain.out") sent: $(sent | tr '\n' ' ')"
fi

# Asked for: --insecure-plaintext logs in in clear, as fetch would; the
# suggestion still turns nothing insecure on.
fp plainok plain "{\"capa\": [\"UIDL\", \"USER\"], \"messages\": $MSGS}"
probe plainok --login --insecure-plaintext "pop3://alice@localhost:$FP_PORT"
fp_wait
if [ "$RC" -eq 0 ] && grep -q '^CAPA (no TLS):' "$T/plainok.out" &&
    grep -qx 'UIDL: works (3 messages)' "$T/plainok.out" &&
    grep -q '^PIPELINING: not announced' "$T/plainok.out" &&
    ! suggested plainok | grep -Eq '^(insecure_plaintext|tls = none)' &&
    ! sent | grep -Eqi '^(DELE|RETR|TOP|RSET|NOOP)'; then
	t_pass fakepop_insecure_plaintext_asked
else
	t_fail fakepop_insecure_plaintext_asked "rc=$RC $(cat "$T/plainok.out" "$T/plainok.err")"
fi

# --- Gmail-like: UTF8, a listing window, header-derived UIDLs ---------------
# The UIDLs are made as solid-pop3d makes them: the MD5 of a message's
# Received:, Date:, Message-Id: and Subject: lines, so two messages with
# the same such lines share one. fakepop's "gmail" lists a window of
# per_session messages; UTF8 is accepted by a rule.
cat >"$T/gm.py" <<'EOF'
import hashlib, json, sys
texts = [
    "Subject: same\nMessage-ID: <1@x>\n\none\n",
    "Subject: other\n\ntwo\n",
    "Subject: same\nMessage-ID: <3@x>\n\nthree\n",
    "Date: Mon, 1 Jan 2024 10:00:00 +0000\nSubject: four\n\nfour\n",
    "From: a@x\n\nfive\n",
    "From: b@x\n\nsix\n",
    "Subject: other\n\nseven\n",
]
keys = ("Received:", "Date:", "Message-Id:", "Subject:")
msgs = []
for t in texts:
    head = t.split("\n\n", 1)[0].split("\n")
    fixed = "".join(l + "\n" for l in head if l.startswith(keys))
    msgs.append({"uidl": hashlib.md5(fixed.encode()).hexdigest(),
                 "text": t})
json.dump({
    "greeting": "+OK Gpop ready for requests from 127.0.0.1 x1mb",
    "capa": ["UTF8 USER", "UIDL", "USER"],
    "password": sys.argv[1],
    "rules": [{"match": "UTF8", "reply": "+OK UTF8 enabled"}],
    "gmail": {"per_session": 5},
    "messages": msgs,
}, sys.stdout)
EOF
# What the script says: the window's messages, its distinct and shared
# UIDLs, the first shared one (by message number), whether they are all
# 32 hex digits, whether UTF8 is offered and accepted.
cat >"$T/gmwant.py" <<'EOF'
import collections, json, re, sys
s = json.load(open(sys.argv[1]))
w = [m["uidl"] for m in s["messages"][:s["gmail"]["per_session"]]]
c = collections.Counter(w)
shared = [u for u in c if c[u] > 1]
first = next((u for u in w if c[u] > 1), "-")
hex32 = all(re.fullmatch("[0-9a-f]{32}", u) for u in w)
utf8 = any(l.split()[0] == "UTF8" for l in s["capa"]) and any(
    r["match"] == "UTF8" and r["reply"].startswith("+OK")
    for r in s["rules"])
print(len(w), len(c), len(shared), sum(c[u] for u in shared), first,
      int(hex32), int(utf8))
EOF
# Two sessions: probe's, then fetch --dry-run with the suggestion.
fp gm tls "$(python3 "$T/gm.py" "$PW")" 2
read -r GM_N GM_DISTINCT GM_DUPU GM_DUPM GM_FIRST GM_HEX GM_UTF8 \
    < <(python3 "$T/gmwant.py" "$T/gm.json")
probe gm --login --tls-ca "$C/ca.crt" "pop3s://alice@localhost:$FP_PORT"
if [ "$RC" -eq 0 ] && [ "$GM_UTF8" = 1 ] &&
    grep -qx 'UTF8: announced, and accepted (popvault sends UTF8 when offered)' \
    "$T/gm.out" &&
    grep -A1 '^UTF8:' "$T/gm.out" | grep -q 'Courier serves a notice' &&
    sent | grep -qx UTF8 &&
    grep -A1 'C tls q=0 UTF8$' "$FP_LOG" | grep -q ' R +OK'; then
	t_pass gmail_utf8_accepted
else
	t_fail gmail_utf8_accepted "rc=$RC $(grep -A1 '^UTF8' "$T/gm.out") $(cat "$T/gm.err")"
fi
if grep -qx 'Listing window: likely (the server looks like Gmail, "Gpop")' \
    "$T/gm.out" &&
    sed -n '/^Listing window:/,/^[^ ]/p' "$T/gm.out" |
    grep -q 'so it cannot' &&
    grep -qx "UIDL: works ($GM_N messages)" "$T/gm.out" &&
    suggested gm | grep -B1 -x '# max_sessions = 100' | head -n 1 |
    grep -q '^# Gmail'; then
	t_pass gmail_window_said
else
	t_fail gmail_window_said "$(sed -n '/^UIDL: works/,$p' "$T/gm.out")"
fi
if [ "$GM_HEX" = 1 ] && [ "$GM_DUPU" -gt 0 ] &&
    grep -q '^UIDL format: 32 hex digits (an MD5 digest' "$T/gm.out" &&
    grep -Eqx "UIDL duplicates: $GM_DUPU UIDLs? listed more than once, for $GM_DUPM messages \($GM_DISTINCT distinct UIDLs for $GM_N messages; the first: $GM_FIRST\)" \
    "$T/gm.out"; then
	t_pass gmail_uidl_md5_duplicates
else
	t_fail gmail_uidl_md5_duplicates "want $GM_N/$GM_DISTINCT/$GM_DUPU/$GM_DUPM/$GM_FIRST: $(grep -A1 '^UIDL' "$T/gm.out")"
fi
# The 100 probe prints is the option table's default (fetch --help), and
# the suggestion with max_sessions uncommented works with fetch: a dry
# run lists the window.
MS_DEFAULT=$("$POPVAULT" fetch --help | sed -n '/--max-sessions/,/(default/p' |
    sed -n 's/.*(default \([0-9]*\)).*/\1/p')
if [ "$MS_DEFAULT" = 100 ] &&
    try_config gm "$GM_N" 's/^# max_sessions = /max_sessions = /' &&
    grep -qx 'max_sessions = 100' "$T/gm.conf"; then
	t_pass gmail_config_max_sessions
else
	t_fail gmail_config_max_sessions "default '$MS_DEFAULT' rc=$RC $(head -c 600 "$T/gm.fetch") -- $(cat "$T/gm.conf")"
fi
fp_wait
if [ -n "$(sent)" ] && ! sent | grep -Eqi '^(DELE|RETR|TOP|RSET)'; then
	t_pass gmail_no_retr_dele
else
	t_fail gmail_no_retr_dele "$(sent | tr '\n' ' ')"
fi

# UTF8 offered but refused (fakepop does not know the command); Gmail
# named by CAPA IMPLEMENTATION. Without --login the window is still said.
fp u8no tls "{\"capa\": [\"UTF8\", \"UIDL\", \"USER\",
    \"IMPLEMENTATION Gpop\"], \"messages\": $MSGS}"
probe u8no --tls-ca "$C/ca.crt" "pop3s://localhost:$FP_PORT"
fp_wait
if [ "$RC" -eq 0 ] && sent | grep -qx UTF8 &&
    grep -A1 'C tls q=0 UTF8$' "$FP_LOG" | grep -q ' R -ERR' &&
    grep -q '^UTF8: announced, but refused' "$T/u8no.out" &&
    grep -q '^Listing window: likely' "$T/u8no.out" &&
    ! grep -q '^UIDL format:' "$T/u8no.out"; then
	t_pass utf8_refused_window_from_capa
else
	t_fail utf8_refused_window_from_capa "rc=$RC $(grep -E -A1 '^(UTF8|Listing)' "$T/u8no.out") sent: $(sent | tr '\n' ' ')"
fi

t_done
