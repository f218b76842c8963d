#!/usr/bin/env bash
# test_fakeimap.sh -- the fake IMAP server (tests/lib/fakeimap.py) itself,
# driven by Python's imaplib (tests/lib/imapcheck.py and the probe below),
# so that the upload tests that rely on it rely on something checked:
#
#   1. genmail.py messages (the tricky kinds, two over 1 MiB) appended over
#      implicit TLS with the test CA, each with its own INTERNALDATE and
#      some \Seen, then listed: every file's SHA-256 (CRLF -> LF) exactly
#      once, dates and flags as given; APPENDUID for each;
#   2. persistence: the same listing from a new server process on the same
#      --state, over STARTTLS; UID SEARCH HEADER Message-ID finds exactly
#      the message with that id; a wrong password is refused; AUTHENTICATE
#      PLAIN with and without an initial response;
#   3. --uidvalidity-change: a new UIDVALIDITY, the same bytes, new UIDs
#      (an old UID names another message); a second session sees no
#      further change;
#   4. each misbehaviour switch does what it says, seen from the client:
#      --no-uidplus, --limit-after, --unavailable-after, --bye-after (with
#      and without --bye-stored), --drop-append, --no-size, --mangle-cr
#      (exactly the messages with NUL or bare CR altered, as Dovecot
#      does), --split (a TLS greeting arrives one byte per record; a
#      listing is the same as unsplit), --endless-literal (the client times out; the
#      log says the stream was stopped), --no-literalplus and
#      --literal-minus (a non-synchronizing literal refused, logged as a
#      violation), --multiappend (one APPEND of 3 messages, APPENDUID
#      with a range; refused without the switch).
set -u
. "$(dirname "$0")/../lib/common.sh"

T=$(t_tmpdir)
C=$T/certs
IC="$T_ROOT/tests/lib/imapcheck.py"
"$T_ROOT/tests/lib/mkcerts.sh" "$C" >/dev/null 2>&1 ||
	{ t_fail mkcerts "tests/lib/mkcerts.sh failed"; t_done; }
. "$T_ROOT/tests/lib/fakeimap.sh"
printf '%s\n' 'fi-Pw-7' >"$T/pw"
printf '%s\n' 'wrong' >"$T/badpw"

# fis NAME MODE [options]: fakeimap with the "valid" certificate, user
# alice, 100 connections at most, 120 s at most.
fis() {
	local name=$1 mode=$2
	shift 2
	fi_start "$name" --mode "$mode" --cert "$C/valid.crt" \
	    --key "$C/valid.key" --user alice --password fi-Pw-7 \
	    --max-conns 100 --timeout 300 "$@"
}

ic() {	# ic CMD [--starttls] ARGS...: imapcheck.py against the last fakeimap
	local cmd=$1
	shift
	timeout -k 5 180 python3 "$IC" "$cmd" --host 127.0.0.1 --port "$FI_PORT" \
	    --ca "$C/ca.crt" --user alice --password-file "$T/pw" "$@"
}

# The probe: small imaplib and raw-socket clients for what imapcheck.py
# does not do. probe MODE CMD ARGS... (MODE tls, stls or plain).
cat >"$T/probe.py" <<'EOF'
import imaplib, socket, ssl, sys, re, time
port, mode, ca, pwfile, cmd = sys.argv[1:6]
args = sys.argv[6:]
port = int(port)
pw = open(pwfile).read().strip()
ctx = ssl.create_default_context(cafile=ca)

def conn():
    if mode == "tls":
        return imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx,
                                 timeout=20)
    m = imaplib.IMAP4("127.0.0.1", port, timeout=20)
    if mode == "stls":
        m.starttls(ssl_context=ctx)
    return m

def login():
    m = conn()
    m.login("alice", pw)
    return m

def raw():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if mode == "tls":
        s = ctx.wrap_socket(s, server_hostname="localhost")
    return s

def until(s, tag):
    buf = b""
    while not re.search(rb"(^|\n)" + tag + rb" [^\n]*\n", buf):
        d = s.recv(65536)
        if not d:
            break
        buf += d
    return buf

MSG = b"From: a@example.org\r\nMessage-ID: <%s@probe>\r\n\r\nbody %s\r\n"

if cmd == "caps":          # capabilities before and after login
    m = conn()
    print(" ".join(sorted(m.capabilities)))
    typ, data = m.login("alice", pw)
    print(data[0].decode())
    m.logout()
elif cmd == "search":      # UID SEARCH HEADER Message-ID ID in FOLDER
    m = login()
    m.select('"%s"' % args[0], readonly=True)
    typ, data = m.uid("SEARCH", "HEADER", "Message-ID", '"%s"' % args[1])
    print(data[0].decode())
    m.logout()
elif cmd == "status":      # UIDVALIDITY UIDNEXT MESSAGES of FOLDER
    m = login()
    typ, data = m.status('"%s"' % args[0], "(UIDVALIDITY UIDNEXT MESSAGES)")
    print(typ, data[0].decode())
    m.logout()
elif cmd == "sizes":       # "UID RFC822.SIZE" per message of FOLDER
    m = login()
    m.select('"%s"' % args[0], readonly=True)
    typ, data = m.uid("FETCH", "1:*", "(UID RFC822.SIZE)")
    for x in data:
        if x is None:
            continue
        mm = re.search(rb"UID (\d+) RFC822.SIZE (\d+)", x)
        print(mm.group(1).decode(), mm.group(2).decode())
    m.logout()
elif cmd == "authplain":   # AUTHENTICATE PLAIN, with an initial response
                           # ("ir") or after "+" ("cont"), password arg 1
    m = conn()
    if args[0] == "ir":
        import base64
        tag = m._new_tag()
        m.send(tag + b" AUTHENTICATE PLAIN " + base64.b64encode(
            b"\0alice\0" + args[1].encode()) + b"\r\n")
        while True:
            line = m._get_line()
            if line.startswith(tag):
                print(line.split()[1].decode())
                break
    else:
        try:
            typ, data = m.authenticate("PLAIN", lambda c: b"\0alice\0" +
                                       args[1].encode())
            print(typ)
        except imaplib.IMAP4.error as e:
            print("NO", e)
elif cmd == "appendn":     # APPEND N messages to FOLDER one by one: a
                           # line per answer ("OK [APPENDUID..]", "NO
                           # [LIMIT]..", "BYE ...")
    m = login()
    for i in range(int(args[1])):
        tok = b"%s-%d" % (args[2].encode(), i)
        try:
            typ, data = m.append('"%s"' % args[0], None, None, MSG % (tok,
                                                                     tok))
            print(typ, data[0].decode())
        except imaplib.IMAP4.abort as e:
            print("BYE", e)
            break
        except imaplib.IMAP4.error as e:
            print("ERR", e)
    try:
        m.logout()
    except Exception:
        pass
elif cmd == "greeting-recvs":  # recv() calls the greeting takes
    s = raw()
    buf, n = b"", 0
    while not buf.endswith(b"\r\n"):
        d = s.recv(65536)
        if not d:
            break
        buf += d
        n += 1
    print(n, len(buf))
elif cmd == "endless":     # FETCH BODY.PEEK[] of UID 1 with a 3 s
                           # deadline (octets trickle: no read times out)
    import signal
    class Deadline(Exception):
        pass
    def alarm(*_):
        raise Deadline()
    m = login()
    m.select('"%s"' % args[0], readonly=True)
    signal.signal(signal.SIGALRM, alarm)
    signal.alarm(3)
    try:
        m.uid("FETCH", "1", "(BODY.PEEK[])")
        print("finished")
    except Deadline:
        print("deadline")
    except Exception as e:
        print("other", e.__class__.__name__, e)
    m.sock.close()
elif cmd == "nonsync":     # APPEND of a {N+} literal; the tagged answer
    s = raw()
    until(s, b"\\*")
    s.sendall(b"a LOGIN alice " + pw.encode() + b"\r\n")
    until(s, b"a")
    n = int(args[1])
    body = (MSG % (b"ns", b"ns")).ljust(n, b"x")
    s.sendall(b'b APPEND "%s" {%d+}\r\n' % (args[0].encode(), n) + body +
              b"\r\nc NOOP\r\n")
    out = until(s, b"c")
    print([ln for ln in out.decode().split("\r\n")
           if ln.startswith("b ")][0])
elif cmd == "rawappend":   # APPEND FILEs to FOLDER over a raw socket,
                           # synchronizing literals, bare LF -> CRLF and
                           # nothing else (imaplib would also turn a bare
                           # CR into CRLF)
    s = raw()
    until(s, b"\\*")
    s.sendall(b"a LOGIN alice " + pw.encode() + b"\r\n")
    until(s, b"a")
    for i, path in enumerate(args[1:]):
        data = re.sub(rb"(?<!\r)\n", b"\r\n", open(path, "rb").read())
        tag = b"r%d" % i
        s.sendall(tag + b' APPEND "%s" {%d}\r\n' % (args[0].encode(),
                                                   len(data)))
        buf = b""
        while b"\r\n" not in buf:
            buf += s.recv(1)
        if not buf.startswith(b"+"):
            sys.exit("no continuation: %r" % buf)
        s.sendall(data + b"\r\n")
        out = until(s, tag)
        if not re.search(rb"(^|\n)" + tag + rb" OK", out):
            sys.exit("APPEND %s: %r" % (path, out[-200:]))
elif cmd == "multi":       # one APPEND of 3 messages (LITERAL+)
    s = raw()
    until(s, b"\\*")
    s.sendall(b"a LOGIN alice " + pw.encode() + b"\r\n")
    until(s, b"a")
    cmdl = b'b APPEND "%s"' % args[0].encode()
    for i in range(3):
        b_ = MSG % (b"multi%d" % i, b"m")
        cmdl += b" (\\Seen) {%d+}\r\n" % len(b_) + b_
    s.sendall(cmdl + b"\r\n")
    out = until(s, b"b")
    print([ln for ln in out.decode().split("\r\n")
           if ln.startswith("b ")][0])
EOF
probe() {	# probe MODE CMD ARGS...
	local mode=$1
	shift
	timeout -k 5 60 python3 "$T/probe.py" "$FI_PORT" "$mode" "$C/ca.crt" \
	    "$T/pw" "$@"
}

# --- the corpus -------------------------------------------------------------

G=$T/gen
python3 "$T_ROOT/tests/gen/genmail.py" --count 30 --seed 23 --big-every 15 \
    --big-size 1200000 "$G" >/dev/null || { t_fail genmail "failed"; t_done; }
mapfile -t FILES < <(find "$G/new" -type f | LC_ALL=C sort)
[ "${#FILES[@]}" = 30 ] || { t_fail genmail "${#FILES[@]} files"; t_done; }
big=$(find "$G/new" -type f -size +1024k | wc -l)
[ "$big" = 2 ] || t_fail genmail "$big messages over 1 MiB, want 2"

# hashof MODE FILE: SHA-256 of FILE after CRLF -> LF (plain); as imaplib
# sends it (imaplib: its append() turns a bare CR into CRLF too); or as
# Dovecot 2.3 gives it back (mangled: a bare CR a line end, NUL 0x80).
hashof() {
	python3 - "$1" "$2" <<'EOF'
import hashlib, re, sys
mode, path = sys.argv[1], sys.argv[2]
b = open(path, "rb").read()
if mode != "plain":
    b = re.sub(rb"\r(?!\n)", b"\n", b)
if mode == "mangled":
    b = b.replace(b"\0", b"\x80")
print(hashlib.sha256(b.replace(b"\r\n", b"\n")).hexdigest())
EOF
}

# 1. Append over implicit TLS, dates one day and a second apart, every
# third \Seen; expected "SHA256 DATE FLAGS" from the files.
ST=$T/state.json
fis main tls --state "$ST" || { t_fail start "fakeimap did not start"; t_done; }
: >"$T/expected"
: >"$T/expected.mangled"
: >"$T/expected.plain"
i=0
fails=0
for f in "${FILES[@]}"; do
	date=$((1072915200 + i * 86401))
	flags=
	[ $((i % 3)) = 0 ] && flags='\Seen'
	ic append --folder Archive --create --date "$date" \
	    ${flags:+--flags "$flags"} "$f" >>"$T/appenduid" 2>>"$T/append.err" ||
	    fails=$((fails + 1))
	printf '%s %s %s\n' "$(hashof imaplib "$f")" "$date" "${flags:--}" \
	    >>"$T/expected"
	hashof plain "$f" >>"$T/expected.plain"
	hashof mangled "$f" >>"$T/expected.mangled"
	i=$((i + 1))
done
[ "$fails" = 0 ] && t_pass append_30_over_tls ||
	t_fail append_30_over_tls "$fails failed: $(tail -3 "$T/append.err")"
n=$(awk 'NF == 2' "$T/appenduid" | sort -u | wc -l)
uv1=$(awk 'NR == 1 { print $1 }' "$T/appenduid")
[ "$n" = 30 ] && [ "$(awk '{ print $1 }' "$T/appenduid" | sort -u)" = "$uv1" ] &&
	t_pass appenduid_each_distinct || t_fail appenduid_each_distinct "$n distinct answers"
LC_ALL=C sort "$T/expected" >"$T/expected.s"

listed() {	# listed OUT [--starttls]: list Archive, "SHA DATE FLAGS" sorted
	local out=$1
	shift
	ic list --folder Archive "$@" >"$out.raw" 2>"$out.err" || return 1
	cut -d' ' -f2- "$out.raw" | LC_ALL=C sort >"$out"
}
if listed "$T/l1" && cmp -s "$T/l1" "$T/expected.s"; then
	t_pass list_byte_exact_dates_flags
else
	t_fail list_byte_exact_dates_flags "$(diff "$T/expected.s" "$T/l1" | head -5) $(cat "$T/l1.err")"
fi
# Byte-exact, bare CRs included, when the client sends them (raw socket).
probe tls rawappend INBOX "${FILES[@]}" 2>"$T/raw.err" ||
	t_fail rawappend "$(cat "$T/raw.err")"
ic list --folder INBOX 2>>"$T/raw.err" | awk '{ print $2 }' | sort >"$T/lraw"
sort "$T/expected.plain" >"$T/expected.plain.s"
bare=$(paste <(awk '{ print $1 }' "$T/expected") "$T/expected.plain" |
    awk '$1 != $2' | wc -l)
cmp -s "$T/lraw" "$T/expected.plain.s" && [ "$bare" -ge 2 ] &&
	t_pass raw_append_bare_cr_kept ||
	t_fail raw_append_bare_cr_kept "$bare with bare CR; $(diff "$T/expected.plain.s" "$T/lraw" | head -3) $(cat "$T/raw.err")"
grep -q 'S[0-9]* C tls [A-Z0-9]* APPEND .* {[0-9]*} <[0-9]* octets>' "$FI_LOG" &&
	grep -q '^S[0-9]* append mailbox=Archive uidvalidity=[0-9]* uid=30 size=' "$FI_LOG" &&
	t_pass log_commands_and_appends || t_fail log_commands_and_appends "log: $(tail -3 "$FI_LOG")"
fi_stop

# 2. A new server process on the same state, over STARTTLS.
fis restart stls --state "$ST" || t_fail start "restart"
if listed "$T/l2" --starttls && cmp -s "$T/l2" "$T/expected.s"; then
	t_pass persists_across_restart_starttls
else
	t_fail persists_across_restart_starttls "$(diff "$T/expected.s" "$T/l2" | head -5) $(cat "$T/l2.err")"
fi
grep -q '^S1 tls ok TLSv1' "$FI_LOG" && grep -q '^S1 C plain [A-Z0-9]* STARTTLS' "$FI_LOG" &&
	! grep -q '^S1 C plain [A-Z0-9]* LOGIN' "$FI_LOG" &&
	t_pass starttls_before_login || t_fail starttls_before_login "$(head -5 "$FI_LOG")"
caps=$(probe stls caps 2>&1)
case $caps in
*STARTTLS*UIDPLUS*) t_fail caps "STARTTLS after TLS? $caps" ;;
*) ;;
esac
# The Message-ID of the 20th file, from the file itself.
mid=$(python3 -c 'import email, sys
print(email.message_from_binary_file(open(sys.argv[1], "rb"))["Message-ID"].strip())' "${FILES[19]}")
want_uid=$(awk -v h="$(hashof imaplib "${FILES[19]}")" '$2 == h { print $1 }' "$T/l2.raw")
got=$(probe stls search Archive "$mid" 2>&1)
[ -n "$mid" ] && [ "$got" = "$want_uid" ] && t_pass search_message_id ||
	t_fail search_message_id "id $mid: got '$got', want '$want_uid'"
got=$(probe stls search Archive "<no-such-id@nowhere>" 2>&1)
[ -z "$got" ] && t_pass search_unknown_id_empty || t_fail search_unknown_id_empty "got '$got'"
ic list --folder Archive --starttls --password-file "$T/badpw" >/dev/null 2>&1
[ $? = 1 ] && grep -q 'auth fail user=alice' "$FI_LOG" &&
	t_pass wrong_password_refused || t_fail wrong_password_refused "accepted?"
a1=$(probe stls authplain ir fi-Pw-7 2>&1)
a2=$(probe stls authplain cont fi-Pw-7 2>&1)
a3=$(probe stls authplain ir wrong 2>&1)
[ "$a1" = OK ] && [ "$a2" = OK ] && [ "$a3" = NO ] && t_pass authenticate_plain ||
	t_fail authenticate_plain "ir: $a1; cont: $a2; wrong: $a3"
fi_stop

# 3. --uidvalidity-change: renumbered at the first session only.
fis uvc tls --state "$ST" --uidvalidity-change || t_fail start uvc
st=$(probe tls status Archive 2>&1)
uv2=$(printf '%s\n' "$st" | sed -n 's/.*UIDVALIDITY \([0-9]*\).*/\1/p')
listed "$T/l3"
cmp -s "$T/l3" "$T/expected.s" && [ -n "$uv2" ] && [ "$uv2" -gt "$uv1" ] &&
	t_pass uidvalidity_change_same_bytes ||
	t_fail uidvalidity_change_same_bytes "uidvalidity $uv1 -> '$uv2' ($st); $(diff "$T/expected.s" "$T/l3" | head -3)"
# The old UID 1 named the first file; now UID 1 is the last one, and
# every UID names another message than before (30 is even: no middle).
moved=$(join <(sort "$T/l2.raw" | awk '{ print $1, $2 }' | sort) \
    <(awk '{ print $1, $2 }' "$T/l3.raw" | sort) | awk '$2 != $3' | wc -l)
[ "$moved" = 30 ] && t_pass uidvalidity_change_renumbers ||
	t_fail uidvalidity_change_renumbers "$moved of 30 UIDs name another message"
st2=$(probe tls status Archive 2>&1)
[ "$st2" = "$st" ] && [ "$(grep -c 'uidvalidity change Archive' "$FI_LOG")" = 1 ] &&
	t_pass uidvalidity_change_once || t_fail uidvalidity_change_once "$st / $st2"
fi_stop

# 4. The switches, each on a fresh state.
fresh() {	# fresh NAME MODE [options]: a server on an empty state $T/NAME.json
	rm -f "$T/$1.json"
	local n=$1 m=$2
	shift 2
	fis "$n" "$m" --state "$T/$n.json" "$@"
}

fresh nouidplus tls --no-uidplus
caps=$(probe tls caps 2>&1)
out=$(probe tls appendn INBOX 2 nu 2>&1)
case "$caps $out" in
*UIDPLUS*|*APPENDUID*) t_fail no_uidplus "caps: $caps; $out" ;;
*) [ "$(printf '%s\n' "$out" | grep -c '^OK')" = 2 ] && t_pass no_uidplus ||
	t_fail no_uidplus "$out" ;;
esac
fi_stop

fresh limit tls --limit-after 3
out=$(probe tls appendn INBOX 5 lim 2>&1)
out2=$(probe tls appendn INBOX 1 lim2 2>&1)
[ "$(printf '%s\n' "$out" | grep -c '^OK')" = 3 ] &&
	[ "$(printf '%s\n' "$out" | grep -c 'NO.*\[LIMIT\]')" = 2 ] &&
	case $out2 in *'[LIMIT]'*) true ;; *) false ;; esac &&
	t_pass limit_after || t_fail limit_after "$out / $out2"
fi_stop
fresh limitps tls --limit-after 1 --per-session
out=$(probe tls appendn INBOX 2 lp 2>&1; probe tls appendn INBOX 1 lp2 2>&1)
[ "$(printf '%s\n' "$out" | grep -c '^OK')" = 2 ] && t_pass limit_per_session ||
	t_fail limit_per_session "$out"
fi_stop

fresh unavail tls --unavailable-after 2
out=$(probe tls appendn INBOX 3 un 2>&1)
[ "$(printf '%s\n' "$out" | grep -c '^OK')" = 2 ] &&
	printf '%s\n' "$out" | tail -1 | grep -q 'UNAVAILABLE' &&
	t_pass unavailable_after || t_fail unavailable_after "$out"
fi_stop

fresh bye tls --bye-after 2
out=$(probe tls appendn INBOX 4 by 2>&1)
n=$(probe tls sizes INBOX 2>&1 | wc -l)
[ "$(printf '%s\n' "$out" | grep -c '^OK')" = 2 ] &&
	printf '%s\n' "$out" | tail -1 | grep -q '^BYE.*try again in 60 seconds' &&
	[ "$n" = 2 ] && t_pass bye_after || t_fail bye_after "$out; $n stored"
fi_stop
fresh byes tls --bye-after 2 --bye-stored
out=$(probe tls appendn INBOX 4 bs 2>&1)
n=$(probe tls sizes INBOX 2>&1 | wc -l)
[ "$(printf '%s\n' "$out" | grep -c '^OK')" = 1 ] &&
	printf '%s\n' "$out" | tail -1 | grep -q '^BYE' &&
	[ "$n" = 2 ] && t_pass bye_after_stored || t_fail bye_after_stored "$out; $n stored"
fi_stop

fresh drop tls --drop-append 2
out=$(probe tls appendn INBOX 3 dr 2>&1)
sz=$(probe tls sizes INBOX 2>&1 | awk '{ print $1 }' | tr '\n' ' ')
[ "$(printf '%s\n' "$out" | grep -c '^OK \[APPENDUID [0-9]* [123]\]')" = 3 ] &&
	[ "$sz" = "1 3 " ] && grep -q 'append dropped mailbox=INBOX uid=2' "$FI_LOG" &&
	t_pass drop_append_lies || t_fail drop_append_lies "$out; uids $sz"
fi_stop

fresh nosize tls --no-size
probe tls appendn INBOX 1 ns >/dev/null 2>&1
got=$(probe tls sizes INBOX 2>&1 | awk '{ print $2 }')
want=$(python3 -c 'print(len(b"From: a@example.org\r\nMessage-ID: <ns-0@probe>\r\n\r\nbody ns-0\r\n") + 1)')
[ "$got" = "$want" ] && t_pass no_size_off_by_one || t_fail no_size_off_by_one "$got, want $want"
fi_stop

# --mangle-cr: exactly the files holding NUL or a bare CR come back
# otherwise, and as Dovecot gives them.
fresh mangle tls --mangle-cr
probe tls rawappend INBOX "${FILES[@]}" 2>"$T/m.err"
ic list --folder INBOX 2>>"$T/m.err" | awk '{ print $2 }' | sort >"$T/lm"
sort "$T/expected.mangled" >"$T/expected.mangled.s"
altered=$(paste "$T/expected.plain" "$T/expected.mangled" |
    awk '$1 != $2' | wc -l)
cmp -s "$T/lm" "$T/expected.mangled.s" && [ "$altered" -ge 3 ] &&
	t_pass mangle_cr_as_dovecot ||
	t_fail mangle_cr_as_dovecot "$altered altered; $(diff "$T/expected.mangled.s" "$T/lm" | head -3) $(cat "$T/m.err")"
fi_stop

# --split: over TLS every byte is its own record, so the greeting takes
# one recv() per byte; a listing is the same as without (the files under
# 64 KiB: a byte per send() is slow).
mapfile -t SMALL < <(find "$G/new" -type f -size -64k | LC_ALL=C sort | head -12)
fresh splitref tls
probe tls rawappend INBOX "${SMALL[@]}" 2>"$T/split.err"
ic list --folder INBOX >"$T/l4ref" 2>>"$T/split.err"
fi_stop
fis split tls --state "$T/splitref.json" --split
got=$(probe tls greeting-recvs 2>&1)
set -- $got
[ "${1:-0}" -gt 20 ] && [ "${1:-0}" = "${2:-}" ] && t_pass split_every_byte ||
	t_fail split_every_byte "recvs/bytes: $got"
ic list --folder INBOX >"$T/l4" 2>>"$T/split.err"
if [ "$(wc -l <"$T/l4ref")" = "${#SMALL[@]}" ] && cmp -s "$T/l4" "$T/l4ref"; then
	t_pass split_same_listing
else
	t_fail split_same_listing "$(diff "$T/l4ref" "$T/l4" | head -3) $(tail -2 "$T/split.err")"
fi
fi_stop

fis endless tls --state "$ST" --endless-literal --max-conns 1
got=$(probe tls endless Archive 2>&1)
fi_wait 10
[ "$got" = deadline ] && grep -q '^S1 endless literal uid=1 size=' "$FI_LOG" &&
	grep -q '^S1 endless stopped after [0-9]* bytes' "$FI_LOG" &&
	t_pass endless_literal || t_fail endless_literal "$got; $(tail -3 "$FI_LOG")"
fi_stop

fresh nolp tls --no-literalplus
caps=$(probe tls caps 2>&1)
got=$(probe tls nonsync INBOX 100 2>&1)
case "$caps" in *LITERAL*) ok=0 ;; *) ok=1 ;; esac
[ $ok = 1 ] && case $got in 'b BAD'*) true ;; *) false ;; esac &&
	grep -q 'violation non-synchronizing literal {100+} without LITERAL+' "$FI_LOG" &&
	[ -z "$(probe tls sizes INBOX 2>&1)" ] &&
	t_pass no_literalplus_refuses_nonsync || t_fail no_literalplus_refuses_nonsync "caps $caps; $got"
# imaplib uses synchronizing literals: those work.
out=$(probe tls appendn INBOX 1 sync 2>&1)
case $out in OK*) t_pass sync_literals ;; *) t_fail sync_literals "$out" ;; esac
fi_stop

fresh lminus tls --literal-minus
caps=$(probe tls caps 2>&1)
small=$(probe tls nonsync INBOX 4096 2>&1)
large=$(probe tls nonsync INBOX 4097 2>&1)
case "$caps|$small|$large" in
*LITERAL-*'|b OK [APPENDUID'*'|b BAD [TOOBIG]'*)
	grep -q 'violation LITERAL- literal {4097+} over 4096' "$FI_LOG" &&
	    t_pass literal_minus || t_fail literal_minus "no violation logged" ;;
*) t_fail literal_minus "caps $caps; 4096: $small; 4097: $large" ;;
esac
fi_stop

fresh multi tls --multiappend
caps=$(probe tls caps 2>&1)
got=$(probe tls multi INBOX 2>&1)
n=$(probe tls sizes INBOX 2>&1 | wc -l)
case "$caps|$got" in
*MULTIAPPEND*'|b OK [APPENDUID '[0-9]*' 1:3]'*) [ "$n" = 3 ] && t_pass multiappend ||
	t_fail multiappend "$n stored" ;;
*) t_fail multiappend "caps $caps; $got" ;;
esac
fi_stop
fresh nomulti tls
got=$(probe tls multi INBOX 2>&1)
case $got in
'b BAD'*) grep -q 'violation APPEND of 3 messages without MULTIAPPEND' "$FI_LOG" &&
	t_pass multiappend_refused_unless_offered ||
	t_fail multiappend_refused_unless_offered "no violation logged" ;;
*) t_fail multiappend_refused_unless_offered "$got" ;;
esac
fi_stop

t_done
