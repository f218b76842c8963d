#!/usr/bin/env bash
# selfcheck_courier.sh -- check tests/lib/servers/courier.sh on its own:
# set up, start, deliver 5 messages (one without a final newline, one with
# a body line "From ...", one with lines starting with "."), fetch them
# with Python's poplib over verified TLS and with a raw TLS socket, compare
# every RETR byte for byte with cp_server_messages, then archive them with
# popvault fetch and empty the server with popvault fetch --delete=verified.
# Prints PASS/FAIL lines; exit 0 when everything passed.
#
# Environment: SRV_CACHE (default build/servers), KEEP=1 keeps the temp
# folder (the server's log is in it).
set -u

. "$(dirname "$0")/../common.sh"
. "$T_ROOT/tests/lib/servers/courier.sh"

cache=${SRV_CACHE:-$T_ROOT/build/servers}
mkdir -p "$cache"
if ! why=$(cp_setup "$cache"); then
	t_fail courier_setup "$why"
	t_done
fi
t_pass courier_setup

d=$(t_tmpdir) || exit 1
SRV_USER=selfcheck
SRV_PASS="pw-$RANDOM sp'ace"
export SRV_USER SRV_PASS
t_on_exit cp_stop
if ! cp_start "$d/srv" 2>"$d/start.err"; then
	t_fail courier_start "$(tail -n 3 "$d/start.err")"
	t_done
fi
t_pass "courier_start (port $SRV_PORT, store $SRV_STORE)"

m=$d/msgs
mkdir -p "$m"
printf 'From: a@example.org\nTo: b@example.org\nSubject: plain\nMessage-ID: <1@selfcheck>\n\nHello.\n' >"$m/1"
printf 'From: a@example.org\nSubject: no final newline\nMessage-ID: <2@selfcheck>\n\nthe last line has no newline' >"$m/2"
printf 'From: a@example.org\nSubject: from line\nMessage-ID: <3@selfcheck>\n\nbefore\nFrom someone else, a body line\n>From quoted\nafter\n' >"$m/3"
printf 'From: a@example.org\nSubject: dots\nMessage-ID: <4@selfcheck>\n\n.one dot\n..two dots\n.\nthe line above is a lone dot\n.\n' >"$m/4"
printf 'From: a@example.org\nSubject: blank lines at the end\nMessage-ID: <5@selfcheck>\n\nbody\n\n\n' >"$m/5"
if cp_deliver "$m/1" "$m/2" "$m/3" "$m/4" "$m/5"; then
	t_pass courier_deliver
else
	t_fail courier_deliver "cp_deliver failed"
	t_done
fi
n=$(cp_count)
if [ "$n" = 5 ]; then t_pass courier_count_5; else t_fail courier_count_5 "cp_count says $n"; fi

exp=$d/expected
if cp_server_messages "$exp" && [ "$(ls "$exp" | wc -l)" = 5 ]; then
	t_pass courier_server_messages
else
	t_fail courier_server_messages "cp_server_messages wrote $(ls "$exp" 2>/dev/null | wc -l) files"
fi

# poplib and a raw socket, both over TLS verified against SRV_CA; the
# session does not delete anything.
out=$(python3 - "$SRV_PORT" "$SRV_CA" "$SRV_USER" "$SRV_PASS" "$exp" <<'EOF' 2>&1
import os, poplib, socket, ssl, sys
port, ca, user, pw, exp = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
ctx = ssl.create_default_context(cafile=ca)
bad = 0
def result(name, ok, why=""):
    global bad
    print(("PASS %s" % name) if ok else ("FAIL %s: %s" % (name, why)))
    bad += not ok

p = poplib.POP3_SSL("127.0.0.1", port, context=ctx)
print("info tls %s %s" % (p.sock.version(), p.sock.cipher()[0]))
print("info greeting %r" % p.getwelcome())
p.user(user)
p.pass_(pw)
print("info capa %r" % (p.capa(),))
count, _ = p.stat()
print("info uidl %r" % (p.uidl()[1],))
print("info list %r" % (p.list()[1],))
names = sorted(os.listdir(exp))
result("courier_poplib_stat", count == len(names), "STAT %d, store %d" % (count, len(names)))
for i in range(1, count + 1):
    resp, lines, octets = p.retr(i)
    got = b"".join(l + b"\r\n" for l in lines)
    with open(os.path.join(exp, "%04d" % i), "rb") as fh:
        want = fh.read()
    result("courier_poplib_retr_%d" % i, got == want, "got %r want %r" % (got, want))
p.quit()

# Raw: the exact bytes on the wire, unstuffed by hand.
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                    server_hostname="127.0.0.1")
f = s.makefile("rb")
def cmd(c):
    s.sendall(c + b"\r\n")
    return f.readline()
f.readline()
cmd(b"USER " + user.encode())
r = cmd(b"PASS " + pw.encode())
result("courier_raw_login", r.startswith(b"+OK"), repr(r))
for i in range(1, count + 1):
    r = cmd(b"RETR %d" % i)
    body = b""
    while True:
        l = f.readline()
        if l == b".\r\n" or not l:
            break
        body += l[1:] if l.startswith(b".") else l
    with open(os.path.join(exp, "%04d" % i), "rb") as fh:
        want = fh.read()
    result("courier_raw_retr_%d" % i, body == want, "got %r want %r" % (body, want))
r = cmd(b"QUIT")
print("info quit %r" % r)
sys.exit(1 if bad else 0)
EOF
)
while IFS= read -r l; do
	case "$l" in
	"PASS "*) t_pass "${l#PASS }" ;;
	"FAIL "*) l=${l#FAIL }; t_fail "${l%%: *}" "${l#*: }" ;;
	*) printf '%s\n' "$l" ;;
	esac
done <<<"$out"

# popvault
pv=$T_ROOT/build/popvault
if [ ! -x "$pv" ]; then
	(cd "$T_ROOT" && make -j2 build/popvault) >"$d/build.log" 2>&1 ||
	    { t_fail popvault_build "$(tail -n 3 "$d/build.log")"; t_done; }
fi
url="pop3s://$SRV_USER@127.0.0.1:$SRV_PORT"
v=$d/vault
python3 -c '
import hashlib, os, sys
d = sys.argv[1]
for n in sorted(os.listdir(d)):
    with open(os.path.join(d, n), "rb") as fh:
        print(hashlib.sha256(fh.read().replace(b"\r\n", b"\n")).hexdigest())
' "$exp" >"$d/hashes"
pvout=$(POPVAULT_PASSWORD=$SRV_PASS "$pv" fetch --tls-ca "$SRV_CA" --vault "$v" "$url" 2>&1)
rc=$?
printf '%s\n' "$pvout" | sed 's/^/  fetch: /'
if [ "$rc" = 0 ]; then t_pass courier_popvault_fetch; else
	t_fail courier_popvault_fetch "exit $rc"; fi
acct=$(for a in "$v"/accounts/*/; do printf '%s\n' "${a%/}"; break; done)
if cmpout=$(python3 "$T_ROOT/tests/lib/expect.py" compare "$d/hashes" "$acct/maildir" 2>&1); then
	t_pass courier_popvault_archive_bytes
else
	t_fail courier_popvault_archive_bytes "$(printf '%s' "$cmpout" | head -n 3)"
fi
n=$(cp_count)
if [ "$n" = 5 ]; then t_pass courier_kept_after_fetch; else
	t_fail courier_kept_after_fetch "cp_count says $n after a fetch without --delete"; fi

pvout=$(POPVAULT_PASSWORD=$SRV_PASS "$pv" fetch --delete=verified --tls-ca "$SRV_CA" --vault "$v" "$url" 2>&1)
rc=$?
printf '%s\n' "$pvout" | sed 's/^/  fetch --delete=verified: /'
if [ "$rc" = 0 ]; then t_pass courier_popvault_delete_verified; else
	t_fail courier_popvault_delete_verified "exit $rc"; fi
n=$(cp_count)
if [ "$n" = 0 ]; then t_pass courier_count_0_after_delete; else
	t_fail courier_count_0_after_delete "cp_count says $n"; fi

cp_stop
if [ -z "$(_cp_members "$(cat "$d/srv/run/pid" 2>/dev/null || echo none)")" ]; then
	t_pass courier_stop
else
	t_fail courier_stop "processes left"
fi
cp_stop && t_pass courier_stop_again
t_done
