#!/usr/bin/env bash
# selfcheck_solid.sh -- check tests/lib/servers/solid.sh on its own:
# set up, start, deliver 5 awkward messages, read them back with Python's
# poplib over verified TLS and compare every RETR byte for byte with
# sp_server_messages (the store read as solid-pop3d reads it), then popvault
# fetch (archive == store), a second fetch (nothing new) and fetch
# --delete=verified (sp_count 0 after). Also: UIDLs stable across
# sessions, DELE undone by a session that ends without QUIT, and the
# parser model of sp_server_messages against solid-pop3d on a hand-written
# mbox with what no delivery agent writes.
#
# Run as root: bash tests/lib/servers/selfcheck_solid.sh
# Environment: SRV_CACHE (default build/servers), KEEP=1 keeps the files.
set -u
. "$(dirname "$0")/../common.sh"
POPVAULT=${POPVAULT:-$T_ROOT/build/popvault}
export POPVAULT
. "$T_ROOT/tests/lib/pv.sh"
. "$T_ROOT/tests/lib/servers/solid.sh"

T=$(t_tmpdir) || exit 1
CACHE=${SRV_CACHE:-$T_ROOT/build/servers}
mkdir -p "$CACHE"

if ! why=$(sp_setup "$CACHE"); then
	t_skip solid_setup "$why"
	t_done
fi
t_pass solid_setup

if [ ! -x "$POPVAULT" ]; then
	(cd "$T_ROOT" && make -j2 build/popvault >"$T/make.log" 2>&1) ||
	    { t_fail popvault_build "make build/popvault failed: $(tail -n 3 "$T/make.log")"; t_done; }
fi

SRV_USER=selfcheck
SRV_PASS=self-pw-$RANDOM
export SRV_USER SRV_PASS
if ! sp_start "$T/srv" 2>"$T/start.err"; then
	t_fail solid_start "$(tail -n 5 "$T/start.err")"
	t_done
fi
t_on_exit sp_stop
t_pass solid_start

# The five messages.
M=$T/msgs
mkdir -p "$M"
printf '%s\n' \
    'Received: from mx.example.org by host.example.net; Mon, 1 Jan 2024 10:00:00 +0000' \
    'Date: Mon, 1 Jan 2024 10:00:00 +0000' \
    'From: Alice <alice@example.org>' \
    'To: selfcheck@localhost' \
    'Subject: plain' \
    'Message-ID: <plain.1@example.org>' \
    '' \
    'An ordinary message.' >"$M/1"
printf 'Date: Mon, 1 Jan 2024 10:01:00 +0000\nFrom: bob@example.org\nSubject: no final newline\nMessage-ID: <nonl.2@example.org>\n\nthe last line has no newline' >"$M/2"
printf '%s\n' \
    'Date: Mon, 1 Jan 2024 10:02:00 +0000' \
    'From: carol@example.org' \
    'Subject: From lines' \
    'Message-ID: <from.3@example.org>' \
    '' \
    'Hello,' \
    '' \
    'From here on a body line starts with "From ".' \
    '>From this one was already quoted.' \
    'From again, right after a line.' >"$M/3"
printf '%s\n' \
    'Date: Mon, 1 Jan 2024 10:03:00 +0000' \
    'From: dave@example.org' \
    'Subject: dots' \
    'Message-ID: <dots.4@example.org>' \
    '' \
    '.hidden line' \
    '..two dots' \
    '.' \
    'after a lone dot' \
    '.' >"$M/4"
# Headers only: no empty line, no body.
printf '%s\n' \
    'Date: Mon, 1 Jan 2024 10:04:00 +0000' \
    'From: eve@example.org' \
    'Subject: headers only' \
    'Message-ID: <hdr.5@example.org>' >"$M/5"

if sp_deliver "$M"/1 "$M"/2 "$M"/3 "$M"/4 "$M"/5; then
	t_pass solid_deliver
else
	t_fail solid_deliver "sp_deliver failed"
	t_done
fi
n=$(sp_count)
if [ "$n" = 5 ]; then t_pass solid_count; else t_fail solid_count "sp_count says '$n', not 5"; fi

mkdir -p "$T/exp"
sp_server_messages "$T/exp" || t_fail solid_server_messages "failed"
# The quoting and the added newline show in the expected bytes.
grep -q '^>From here on' "$T/exp/0003" &&
    ! grep -q '^From ' "$T/exp/0003" &&
    [ "$(tail -c 2 "$T/exp/0002" | od -An -c | tr -d ' ')" = '\r\n' ] &&
    t_pass solid_expected_shape ||
    t_fail solid_expected_shape "sp_server_messages: no >From quoting or no final CRLF"

# poplib over verified TLS: every RETR equals the expected file; LIST
# sizes equal their lengths; UIDLs the same in a second session; a DELE
# in a session that ends without QUIT deletes nothing.
out=$(python3 - "$SRV_CA" "$SRV_PORT" "$SRV_USER" "$SRV_PASS" "$T/exp" "$SRV_STORE" <<'EOF'
import os, poplib, ssl, sys
ca, port, user, pw, exp, store = sys.argv[1:]
port = int(port)
poplib._MAXLINE = 1 << 20
ctx = ssl.create_default_context(cafile=ca)   # verifies chain and name

def session():
    p = poplib.POP3_SSL("127.0.0.1", port, context=ctx)
    p.user(user)
    p.pass_(pw)
    return p

bad = []
p = session()
names = sorted(os.listdir(exp))
count, _ = p.stat()
if count != len(names):
    bad.append("STAT %d, expected %d" % (count, len(names)))
sizes = dict(l.split() for l in p.list()[1])
uidl1 = [l.decode() for l in p.uidl()[1]]
for i, n in enumerate(names, 1):
    resp, lines, octets = p.retr(i)
    got = b"".join(l + b"\r\n" for l in lines)
    with open(os.path.join(exp, n), "rb") as fh:
        want = fh.read()
    if got != want:
        bad.append("RETR %d differs from %s: %r vs %r" % (i, n, got[:80], want[:80]))
    if int(sizes[str(i).encode()]) != len(want):
        bad.append("LIST %d says %s, expected %d" % (i, sizes[str(i).encode()].decode(), len(want)))
p.quit()
p = session()
uidl2 = [l.decode() for l in p.uidl()[1]]
if uidl1 != uidl2:
    bad.append("UIDLs changed between sessions: %s / %s" % (uidl1, uidl2))
before = os.path.getsize(store)
p.dele(1)
p.sock.close()          # no QUIT: nothing may be deleted
import time; time.sleep(0.5)
p = session()
if p.stat()[0] != count or os.path.getsize(store) != before:
    bad.append("DELE without QUIT deleted something")
p.quit()
print("UIDL %s" % " | ".join(uidl1))
for b in bad:
    print("BAD " + b)
EOF
)
if [ -n "$out" ] && ! printf '%s\n' "$out" | grep -q '^BAD'; then
	t_pass solid_poplib_retr
else
	t_fail solid_poplib_retr "$(printf '%s\n' "$out" | grep '^BAD\|Error' | head -n 3)"
fi
printf '%s\n' "$out" | grep '^UIDL' >&2

# popvault: a full fetch, byte for byte.
python3 -c '
import hashlib, os, sys
d = sys.argv[1]
for n in sorted(os.listdir(d)):
    with open(os.path.join(d, n), "rb") as fh:
        print(hashlib.sha256(fh.read().replace(b"\r\n", b"\n")).hexdigest())
' "$T/exp" >"$T/list"
V=$T/vault
URL="pop3s://$SRV_USER@127.0.0.1:$SRV_PORT"
pv_fetch "$V" "$SRV_PASS" --tls-ca "$SRV_CA" "$URL"
if [ "$PV_RC" = 0 ] && [ "$(pv_field archived)" = 5 ] &&
    python3 "$T_ROOT/tests/lib/expect.py" compare "$T/list" \
	"$(pv_account_dir "$V")/maildir" >"$T/cmp1" 2>&1; then
	t_pass solid_popvault_fetch
else
	t_fail solid_popvault_fetch "exit $PV_RC, archived '$(pv_field archived)': $(printf '%s' "$PV_OUT" | tail -n 3) $(head -n 3 "$T/cmp1" 2>/dev/null)"
fi

pv_fetch "$V" "$SRV_PASS" --tls-ca "$SRV_CA" "$URL"
if [ "$PV_RC" = 0 ] && [ "$(pv_field archived)" = 0 ]; then
	t_pass solid_popvault_nothing_new
else
	t_fail solid_popvault_nothing_new "exit $PV_RC, archived '$(pv_field archived)'"
fi

pv_fetch "$V" "$SRV_PASS" --delete=verified --tls-ca "$SRV_CA" "$URL"
n=$(sp_count)
if [ "$PV_RC" = 0 ] && [ "$n" = 0 ] && [ ! -s "$SRV_STORE" ] &&
    python3 "$T_ROOT/tests/lib/expect.py" compare "$T/list" \
	"$(pv_account_dir "$V")/maildir" >"$T/cmp2" 2>&1; then
	t_pass solid_popvault_delete_verified
else
	t_fail solid_popvault_delete_verified "exit $PV_RC, sp_count '$n', store $(stat -c %s "$SRV_STORE") bytes: $(printf '%s' "$PV_OUT" | tail -n 3)"
fi

# solid-pop3d's parser, as sp_server_messages models it, on an mbox
# written by hand with what an MDA would not write: CRLF lines, a bare CR,
# a NUL; a 200-byte line with "." and "From " where the server's 127-byte
# read pieces begin (neither stuffed nor split there); an unquoted short
# "From me" line (kept) and an unquoted "From " line of 28 bytes or more
# without an empty line before it (solid-pop3d splits there); a message
# with no empty line after its headers.
python3 - "$SRV_STORE" <<'EOF'
import sys
F = b"From x Mon Jan  1 00:00:00 2024\n"
long = b"x" * 127 + b".dot at a piece start" + b"y" * 106 + b"From inside a line, at a piece start\n"
m = [F + b"Subject: crlf\r\nMessage-ID: <r1@x>\n\nline crlf\r\nbare\rcr\nnul\0byte\n.dot\n" + long + b"\n",
     F + b"Subject: unquoted\nMessage-ID: <r2@x>\n\npara one\nFrom me\nFrom someone who writes a long line\nmore\n>From quoted stays\n\n",
     F + b"Subject: headers only\nMessage-ID: <r3@x>\n",
     F + b"Subject: last\nMessage-ID: <r4@x>\n\nthe end\n"]
with open(sys.argv[1], "wb") as fh:
    fh.write(b"".join(m))
EOF
rm -rf "$T/exp2" && mkdir -p "$T/exp2" && sp_server_messages "$T/exp2"
out=$(python3 - "$SRV_CA" "$SRV_PORT" "$SRV_USER" "$SRV_PASS" "$T/exp2" <<'EOF'
import os, poplib, ssl, sys
ca, port, user, pw, exp = sys.argv[1:]
ctx = ssl.create_default_context(cafile=ca)
p = poplib.POP3_SSL("127.0.0.1", int(port), context=ctx)
p.user(user)
p.pass_(pw)
names = sorted(os.listdir(exp))
if p.stat()[0] != len(names):
    print("BAD STAT %d, model %d" % (p.stat()[0], len(names)))
for i, n in enumerate(names, 1):
    got = b"".join(l + b"\r\n" for l in p.retr(i)[1])
    with open(os.path.join(exp, n), "rb") as fh:
        want = fh.read()
    if got != want:
        print("BAD RETR %d: %r, model %r" % (i, got, want))
p.quit()
print("DONE")
EOF
)
n=$(sp_count)
if [ "$n" = 5 ] && printf '%s\n' "$out" | grep -q '^DONE' &&
    ! printf '%s\n' "$out" | grep -q BAD; then
	t_pass solid_parser_model
else
	t_fail solid_parser_model "sp_count $n (5 expected) $(printf '%s\n' "$out" | head -n 3)"
fi

sp_stop
if [ -z "$(_sp_ns_pids "$(cut -d' ' -f2 "$T/srv/instance")")" ]; then
	t_pass solid_stop
else
	t_fail solid_stop "processes left in the namespace"
fi
t_done
