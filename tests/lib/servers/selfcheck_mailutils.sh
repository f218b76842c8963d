#!/usr/bin/env bash
# selfcheck_mailutils.sh -- check tests/lib/servers/mailutils.sh end to
# end: set up GNU pop3d, start it, deliver 5 messages (one without a final
# newline, one with body lines starting with "From ", one with lines
# starting with "."), RETR them with Python's poplib over verified TLS and
# compare every response byte for byte with mu_server_messages, then
# archive them with popvault and empty the server with
# `popvault fetch --delete=verified`.
#
# Usage: tests/lib/servers/selfcheck_mailutils.sh   (as root)
# Environment: SRV_CACHE (default build/servers), POPVAULT (default
# build/popvault, built if missing), KEEP=1 keeps the temporary folder.
# Prints PASS/FAIL/SKIP lines (and NOTE lines: observations, not checks);
# exit 0 when everything passed.
set -u
. "$(dirname "$0")/../common.sh"
. "$T_ROOT/tests/lib/servers/mailutils.sh"

POPVAULT=${POPVAULT:-$T_ROOT/build/popvault}
if [ ! -x "$POPVAULT" ]; then
	(cd "$T_ROOT" && make -j2 build/popvault) >/dev/null 2>&1 ||
		{ t_fail build "make build/popvault failed"; t_done; }
fi
export POPVAULT
. "$T_ROOT/tests/lib/pv.sh"

SRV_CACHE=${SRV_CACHE:-$T_ROOT/build/servers}
export SRV_CACHE
if ! why=$(mu_setup "$SRV_CACHE"); then
	t_skip mailutils_setup "$why"
	t_done
fi
t_pass mailutils_setup

D=$(t_tmpdir) || exit 1
SRV_USER=selfcheck
SRV_PASS="sc pw:$RANDOM'\"\$"	# spaces, quotes, a colon: passed as is
export SRV_USER SRV_PASS
if ! mu_start "$D/srv" >"$D/start.out" 2>&1; then
	t_fail mailutils_start "$(tail -n 3 "$D/start.out")"
	t_done
fi
t_on_exit mu_stop
t_pass mailutils_start
printf 'NOTE pop3d pid %s, pop3s port %s, plain/STLS port %s, store %s\n' \
	"$MU_PID" "$SRV_PORT" "$MU_POP3_PORT" "$SRV_STORE"

# The five messages (LF line ends).
M=$D/msgs
mkdir -p "$M"
printf '%s\n' "From: Alice <alice@example.test>" "To: selfcheck@example.test" \
	"Subject: plain" "Message-ID: <sc1@example.test>" \
	"Date: Mon, 01 Jan 2024 10:00:00 +0000" "" \
	"An ordinary message." "Second line." >"$M/1"
printf '%s\n' "From: Bob <bob@example.test>" "Subject: no final newline" \
	"Message-ID: <sc2@example.test>" "" "first line" >"$M/2"
printf 'the last line has no newline' >>"$M/2"
printf '%s\n' "From: Carol <carol@example.test>" "Subject: From lines" \
	"Message-ID: <sc3@example.test>" "" \
	"From the desk of Carol" \
	"From someone@example.test Mon Jan  1 00:00:00 2001" \
	">From quoted once" ">>From quoted twice" "From" ">From" \
	"From: not a header" "end" >"$M/3"
printf '%s\n' "From: Dan <dan@example.test>" "Subject: dots" \
	"Message-ID: <sc4@example.test>" "" \
	".leading dot" "." ".." "..." ". space" "middle" "." >"$M/4"
printf '%s\n' "From: =?UTF-8?Q?=C3=89ve?= <eve@example.test>" \
	"Subject: folded and 8-bit" "	continued subject" \
	"Message-ID: <sc5@example.test>" "Content-Type: text/plain; charset=utf-8" \
	"Content-Transfer-Encoding: 8bit" "" \
	"Grüße, ça va — ünïcödé" "" "two empty lines follow" "" "" >"$M/5"

if mu_deliver "$M/1" "$M/2" "$M/3" "$M/4" "$M/5" 2>"$D/deliver.err"; then
	t_pass mailutils_deliver
else
	t_fail mailutils_deliver "$(tail -n 2 "$D/deliver.err")"
	t_done
fi
n=$(mu_count)
if [ "$n" = 5 ]; then t_pass mailutils_count_5; else
	t_fail mailutils_count_5 "mu_count says '$n'"; fi

mkdir -p "$D/exp"
if mu_server_messages "$D/exp" 2>"$D/sm.err" &&
    [ "$(find "$D/exp" -type f | wc -l)" = 5 ]; then
	t_pass mailutils_server_messages
else
	t_fail mailutils_server_messages "$(tail -n 2 "$D/sm.err"; ls "$D/exp")"
fi

# RETR with poplib over verified TLS, each response compared byte for byte
# (CRLF kept: read from poplib's socket file, dots unstuffed here).
python3 - "$SRV_PORT" "$SRV_CA" "$D/exp" >"$D/retr.out" 2>&1 <<'EOF'
import os, poplib, ssl, sys
port, ca, exp = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)     # verifies chain and name
p = poplib.POP3_SSL("127.0.0.1", port, context=ctx, timeout=30)
print("NOTE TLS", p.sock.version(), p.sock.cipher()[0])
p.user(os.environ["SRV_USER"])
p.pass_(os.environ["SRV_PASS"])
count, _ = p.stat()
print("ok stat" if count == 5 else "bad stat: %d messages" % count)
uidls = [l.split()[1].decode() for l in p.uidl()[1]]
print("NOTE UIDL 1", uidls[0])
for i in range(1, count + 1):
    p._putcmd("RETR %d" % i)
    p._getresp()
    raw = b""
    while True:
        line = p.file.readline(poplib._MAXLINE + 1)
        if not line:
            print("bad retr%d: connection closed" % i); sys.exit(0)
        if line == b".\r\n":
            break
        raw += line[1:] if line.startswith(b".") else line
    try:
        want = open(os.path.join(exp, "%04d" % i), "rb").read()
    except OSError as e:
        print("bad retr%d: %s" % (i, e)); continue
    if raw == want:
        print("ok retr%d" % i)
    else:
        k = next((j for j in range(min(len(raw), len(want))) if raw[j] != want[j]),
                 min(len(raw), len(want)))
        print("bad retr%d: differs at byte %d: got %r, expected %r"
              % (i, k, raw[max(0, k - 20):k + 20], want[max(0, k - 20):k + 20]))
    # poplib's own view (lines, CRLF stripped, unstuffed) agrees too
    lines = p.retr(i)[1]
    print(("ok poplib%d" % i) if b"\r\n".join(lines) + b"\r\n" == want
          else "bad poplib%d: poplib.retr() differs" % i)
p.quit()
EOF
while read -r word rest; do
	case "$word" in
	ok) t_pass "mailutils_$rest" ;;
	bad) t_fail "mailutils_${rest%%:*}" "${rest#*: }" ;;
	NOTE) printf 'NOTE %s\n' "$rest" ;;
	*) t_fail mailutils_retr "python: $word $rest" ;;
	esac
done <"$D/retr.out"

# What popvault must archive: the RETR bytes with CRLF as LF.
python3 -c '
import hashlib, os, sys
d = sys.argv[1]
for n in sorted(os.listdir(d)):
    with open(os.path.join(d, n), "rb") as fh:
        print(hashlib.sha256(fh.read().replace(b"\r\n", b"\n")).hexdigest())
' "$D/exp" >"$D/list"
# ... and what it will archive after the session above: pop3d wrote
# "Status: OR" (read) for the five messages at QUIT.
mkdir -p "$D/exp2"
mu_server_messages "$D/exp2" 2>/dev/null
if ! cmp -s "$D/exp/0001" "$D/exp2/0001"; then
	printf 'NOTE after a session that RETRs, the store changed: %s\n' \
		"$(diff <(tr -d '\r' <"$D/exp/0001") <(tr -d '\r' <"$D/exp2/0001") | grep '^[<>]' | tr '\n' ' ')"
fi
python3 -c '
import hashlib, os, sys
d = sys.argv[1]
for n in sorted(os.listdir(d)):
    with open(os.path.join(d, n), "rb") as fh:
        print(hashlib.sha256(fh.read().replace(b"\r\n", b"\n")).hexdigest())
' "$D/exp2" >"$D/list2"

V=$D/vault
URL="pop3s://$SRV_USER@127.0.0.1:$SRV_PORT"
pv_fetch "$V" "$SRV_PASS" --tls-ca "$SRV_CA" "$URL"
if [ "$PV_RC" = 0 ] && [ "$(pv_field archived)" = 5 ]; then
	t_pass mailutils_popvault_fetch
else
	t_fail mailutils_popvault_fetch "exit $PV_RC, archived '$(pv_field archived)': $(printf '%s' "$PV_OUT" | tail -n 3)"
fi
if python3 "$T_ROOT/tests/lib/expect.py" compare "$D/list2" \
    "$(pv_account_dir "$V")/maildir" >"$D/cmp1" 2>&1; then
	t_pass mailutils_popvault_archive_bytes
else
	t_fail mailutils_popvault_archive_bytes "$(head -n 3 "$D/cmp1")"
fi
[ "$(mu_count)" = 5 ] && t_pass mailutils_kept_on_server ||
	t_fail mailutils_kept_on_server "mu_count says $(mu_count) after a fetch without delete"

pv_fetch "$V" "$SRV_PASS" --delete=verified --tls-ca "$SRV_CA" "$URL"
printf 'NOTE fetch --delete=verified: exit %s, archived %s, deleted %s\n' \
	"$PV_RC" "$(pv_field archived)" "$(pv_field deleted)"
if [ "$PV_RC" = 0 ]; then
	t_pass mailutils_popvault_delete_verified
else
	t_fail mailutils_popvault_delete_verified "exit $PV_RC: $(printf '%s' "$PV_OUT" | tail -n 3)"
fi
n=$(mu_count)
if [ "$n" = 0 ]; then t_pass mailutils_count_0; else
	t_fail mailutils_count_0 "mu_count says '$n' after --delete=verified"; fi
t_done
