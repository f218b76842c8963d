#!/usr/bin/env python3
"""fakeimap.py -- a scripted fake IMAP4rev1 server for upload tests.

Python 3 standard library only. Plays the IMAP server (RFC 3501, with
LITERAL+ / LITERAL- (RFC 7888), UIDPLUS (RFC 4315), MULTIAPPEND (RFC
3502), SASL-IR (RFC 4959)) for what a real Dovecot will not do: missing
extensions, throttling, a rebuilt mailbox, a literal that never ends,
responses split at every byte, a server that alters or loses what it was
given. Correct enough for a normal client and for Python's imaplib, which
the tests use as the judge of what the folder holds.

Listens on loopback only, serves connections one thread each, and exits
after --max-conns connections have ended or after --timeout seconds
(default 30), whichever comes first, so a test can never hang on it.

Usage:
    fakeimap.py [--mode plain|stls|tls] [--cert C --key K]
                [--host 127.0.0.1] [--port 0] [--port-file F] [--log F]
                [--max-conns 1] [--timeout 30] [--io-timeout 10]
                [--state FILE] [--user U --password P]
                [misbehaviour switches, below]

    --mode plain   IMAP in clear; STARTTLS answered NO
    --mode stls    IMAP in clear, STARTTLS upgrades to TLS (needs --cert
                   and --key); STARTTLS in the capabilities until then
    --mode tls     implicit TLS from the first byte (imaps)
    --port-file F  the bound port is written there (atomically) and on
                   stdout once the server listens
    --max-conns N  serve N connections (sessions 1..N), then exit once
                   they have ended; later connections are closed at once
    --timeout S    exit after S seconds whatever happens (default 30)
    --io-timeout S a socket send/receive that blocks longer ends the
                   session (default 10)
    --state FILE   the mailboxes, as JSON, read at start (a missing file
                   is an empty account: only INBOX) and written again
                   (atomically) after every change, so they persist
                   across sessions and across runs of the server. Without
                   it the mailboxes live as long as the process.
    --user U --password P
                   LOGIN / AUTHENTICATE PLAIN with other credentials get
                   "NO [AUTHENTICATIONFAILED]"; without them any are taken
    --uidvalidity N
                   the UIDVALIDITY of mailboxes created from now on
                   (default: the current time)

MISBEHAVIOUR SWITCHES (all off by default; any combination works):

    --no-uidplus       no UIDPLUS capability and no [APPENDUID] code: a
                       client must find its messages some other way
                       (UID SEARCH HEADER Message-ID)
    --no-literalplus   no LITERAL+: only synchronizing literals "{N}"
                       (each waits for "+"); a "{N+}" gets tagged BAD
                       (its octets are read and thrown away) and the log
                       line "violation ..."
    --literal-minus    LITERAL- instead of LITERAL+: "{N+}" only up to
                       4096 octets; a longer one is BAD [TOOBIG] and a
                       "violation" log line
    --multiappend      offer MULTIAPPEND (RFC 3502). Without it an APPEND
                       of more than one message is BAD (and "violation")
    --limit-after N    once N messages were APPENDed (in the server's
                       lifetime, or the session's with --per-session),
                       every further APPEND gets "NO [LIMIT] ..."
    --unavailable-after N
                       the same with "NO [UNAVAILABLE] ..."
    --bye-after N      once N messages were APPENDed, the next APPEND
                       gets the untagged "* BYE [UNAVAILABLE] try again
                       in 60 seconds" instead of an answer, nothing of it
                       stored, and the connection is closed
    --bye-stored       with --bye-after: the APPEND that reaches N is
                       stored, and the BYE replaces its tagged OK (the
                       client cannot know it was stored)
    --per-session      the counters of --limit-after, --unavailable-after
                       and --bye-after count per session, not per server
                       run (--drop-append always counts per run)
    --uidvalidity-change
                       at the start of the first session of this run,
                       every mailbox gets a new UIDVALIDITY (greater than
                       the old) and its messages new UIDs 1..n in reverse
                       order (same bytes, flags and dates): a provider
                       rebuilding its index; an old UID now names another
                       message
    --endless-literal  a FETCH of BODY[] / BODY.PEEK[] (whole message)
                       answers "* n FETCH (UID u BODY[] {S}" with S =
                       --endless-size (default 100 MiB) and then trickles
                       16 octets every 0.1 s until the client goes away
                       (log: "endless stopped after K bytes (error)")
    --split            every response is written one byte per send(),
                       with TCP_NODELAY: the client sees it split at every
                       byte
    --mangle-cr        an APPENDed message is stored with every CR not
                       followed by LF turned into a line end (CRLF) and
                       every NUL into 0x80, as Dovecot 2.3 gives them back
    --drop-append K[,K...]
                       the K-th message APPENDed in this run (1, 2, ...)
                       gets OK (and its APPENDUID) but is not stored: a
                       lying server
    --no-size          RFC822.SIZE says one octet more than the message

LOG (--log): one line per event, flushed at once; the session number is
the prefix:
    S<n> connect | S<n> tls ok <version> | S<n> tls fail <reason>
    S<n> C <plain|tls> <command>   each client command, literals shown as
                                   "{N}" or "{N+}" followed by
                                   "<N octets>" (their octets left out)
    S<n> R <tagged response, or BYE>
    S<n> login user=<u> | S<n> auth fail user=<u>
    S<n> append mailbox=<m> uidvalidity=<v> uid=<u> size=<s>
    S<n> append dropped mailbox=<m> uid=<u> size=<s>   (--drop-append)
    S<n> append refused <LIMIT|UNAVAILABLE> count=<c>
    S<n> bye count=<c>
    S<n> uidvalidity change <mailbox> <old> -> <new> (<k> messages)
    S<n> fetch uid=<u> body size=<s>
    S<n> endless stopped after <k> bytes (<error>)
    S<n> violation <what>         the client broke the protocol as this
                                  server announced it
    S<n> close | S<n> eof | S<n> end
Non-printable bytes are written as \\xNN. Passwords are logged as they
are sent: tests use throwaway ones.

STATE FILE (JSON): {"mailboxes": {NAME: {"uidvalidity": V, "uidnext": N,
"msgs": [{"uid": U, "flags": ["\\\\Seen"], "date": EPOCH, "zone":
"+0000", "data": BASE64}, ...]}}}. "data" holds the octets as stored
(CRLF line ends, as APPENDed).

Commands: CAPABILITY, NOOP, LOGOUT, STARTTLS, LOGIN, AUTHENTICATE PLAIN
(with or without initial response, "*" cancels), ID, ENABLE (enables
nothing), SELECT, EXAMINE, CREATE, LIST, LSUB, STATUS, APPEND, FETCH,
UID FETCH, SEARCH, UID SEARCH, CHECK, CLOSE, UNSELECT. FETCH items: UID,
FLAGS, INTERNALDATE, RFC822.SIZE, RFC822, RFC822.HEADER, BODY[section]
and BODY.PEEK[section] with section "", HEADER, TEXT, HEADER.FIELDS (...)
and HEADER.FIELDS.NOT (...), and a partial <o.n>; macros FAST, ALL
(without ENVELOPE), FULL. BODY[] without PEEK sets \\Seen. SEARCH keys:
ALL, sequence sets, UID set, HEADER f v (substring, case-insensitive;
"" matches any message with the field), SUBJECT, FROM, TO, LARGER,
SMALLER, SEEN, UNSEEN, NOT, OR, parenthesised lists; "CHARSET x" is
accepted. Anything else: BAD.
"""

import argparse
import base64
import binascii
import calendar
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
import warnings

warnings.simplefilter("ignore", DeprecationWarning)

MAX_LINE = 64 * 1024
MAX_LITERAL = 256 * 1024 * 1024
LITERAL_MINUS_MAX = 4096
LOCK = threading.RLock()       # the mailboxes and counters
LOG_LOCK = threading.Lock()
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
          "Oct", "Nov", "Dec"]
SYSTEM_FLAGS = ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen",
                "\\Draft"]


def esc(data):
    out = []
    for c in data:
        if 0x20 <= c < 0x7F and c != 0x5C:
            out.append(chr(c))
        elif c == 0x5C:
            out.append("\\\\")
        else:
            out.append("\\x%02x" % c)
    return "".join(out)


def quote(s):
    """An IMAP quoted string (s: bytes without CR, LF or NUL)."""
    return b'"' + s.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


class Literal:
    """A literal of a client command: its octets and how it was sent."""

    def __init__(self, data, plus):
        self.data = data
        self.plus = plus


class Bad(Exception):
    """A command the server cannot parse or does not support: BAD."""


# -- dates ----------------------------------------------------------------

DATE_RE = re.compile(rb"^ ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):"
                     rb"(\d\d) ([-+])(\d\d)(\d\d)$")


def parse_date(s):
    """(epoch, zone) of an IMAP date-time, or None."""
    m = DATE_RE.match(s)
    if m is None:
        return None
    mon = m.group(2).decode().capitalize()
    if mon not in MONTHS:
        return None
    try:
        tt = (int(m.group(3)), MONTHS.index(mon) + 1, int(m.group(1)),
              int(m.group(4)), int(m.group(5)), int(m.group(6)))
        if not (1 <= tt[2] <= 31 and tt[3] < 24 and tt[4] < 60 and
                tt[5] < 61):
            return None
    except ValueError:
        return None
    off = (int(m.group(8)) * 60 + int(m.group(9))) * 60
    if m.group(7) == b"-":
        off = -off
    epoch = calendar.timegm(tt + (0, 0, 0)) - off
    return epoch, m.group(7).decode() + m.group(8).decode() + \
        m.group(9).decode()


def format_date(epoch, zone):
    off = int(zone[1:3]) * 3600 + int(zone[3:5]) * 60
    if zone[0] == "-":
        off = -off
    t = time.gmtime(epoch + off)
    return ('"%2d-%s-%04d %02d:%02d:%02d %s"' % (
        t.tm_mday, MONTHS[t.tm_mon - 1], t.tm_year, t.tm_hour, t.tm_min,
        t.tm_sec, zone)).encode()


# -- messages -------------------------------------------------------------

def split_message(data):
    """(header, body) of stored octets: the header with its empty line."""
    i = data.find(b"\r\n\r\n")
    if i >= 0:
        return data[:i + 4], data[i + 4:]
    i = data.find(b"\n\n")
    if i >= 0:
        return data[:i + 2], data[i + 2:]
    return data, b""


def header_fields(header):
    """[(name lower, raw lines, unfolded value)] of a header block."""
    out = []
    for ln in re.split(rb"\r?\n", header):
        if not ln:
            continue
        if ln[:1] in (b" ", b"\t") and out:
            name, raw, val = out[-1]
            out[-1] = (name, raw + [ln], val + b" " + ln.strip())
            continue
        name, sep, val = ln.partition(b":")
        if not sep:
            continue
        out.append((name.strip().lower(), [ln], val.strip()))
    return out


def header_select(header, names, negate):
    want = {n.lower() for n in names}
    out = bytearray()
    for name, raw, _val in header_fields(header):
        if (name in want) != negate:
            for ln in raw:
                out += ln + b"\r\n"
    out += b"\r\n"
    return bytes(out)


def mangle(data):
    """What Dovecot 2.3 gives back: a bare CR becomes a line end, a NUL
    becomes 0x80."""
    data = re.sub(rb"\r(?!\n)", b"\r\n", data)
    return data.replace(b"\0", b"\x80")


# -- sequence sets --------------------------------------------------------

def parse_set(s, maxval):
    """The numbers of a sequence set (bytes) as a set of ints; "*" is
    maxval (and n:* always includes maxval, RFC 3501 6.4.8)."""
    out = set()
    if not re.fullmatch(rb"(\d+|\*)(:(\d+|\*))?(,(\d+|\*)(:(\d+|\*))?)*",
                        s):
        raise Bad("bad sequence set")
    for part in s.split(b","):
        a, _, c = part.partition(b":")
        lo = maxval if a == b"*" else int(a)
        hi = lo if not c else (maxval if c == b"*" else int(c))
        if lo > hi:
            lo, hi = hi, lo
        if hi - lo > 10000000:
            raise Bad("range too large")
        out.update(range(lo, hi + 1))
    return out


def uid_set_text(uids):
    """A compact uid-set for APPENDUID."""
    uids = sorted(uids)
    out = []
    i = 0
    while i < len(uids):
        j = i
        while j + 1 < len(uids) and uids[j + 1] == uids[j] + 1:
            j += 1
        out.append(str(uids[i]) if i == j else "%d:%d" % (uids[i], uids[j]))
        i = j + 1
    return ",".join(out).encode()


# -- the command tokenizer ------------------------------------------------

def tokenize(segments):
    """Tokens of a command: ("atom", b), ("str", b) for quoted strings,
    ("lit", b) for literals, "(" and ")". An atom keeps a [...] part
    whole (BODY[...]) and a following <...>."""
    toks = []
    for seg in segments:
        if isinstance(seg, Literal):
            toks.append(("lit", seg.data))
            continue
        i, n = 0, len(seg)
        while i < n:
            c = seg[i:i + 1]
            if c == b" ":
                i += 1
            elif c in (b"(", b")"):
                toks.append(c.decode())
                i += 1
            elif c == b'"':
                j = i + 1
                buf = bytearray()
                while j < n and seg[j:j + 1] != b'"':
                    if seg[j:j + 1] == b"\\" and j + 1 < n:
                        j += 1
                    buf += seg[j:j + 1]
                    j += 1
                if j >= n:
                    raise Bad("unterminated quoted string")
                toks.append(("str", bytes(buf)))
                i = j + 1
            else:
                j = i
                depth = 0
                while j < n:
                    ch = seg[j:j + 1]
                    if ch == b"[":
                        depth += 1
                    elif ch == b"]":
                        depth -= 1
                    elif depth == 0 and ch in (b" ", b"(", b")"):
                        break
                    j += 1
                toks.append(("atom", seg[i:j]))
                i = j
    return toks


def nest(toks):
    """Tokens -> items, parenthesised lists as Python lists."""
    stack = [[]]
    for t in toks:
        if t == "(":
            stack.append([])
        elif t == ")":
            if len(stack) == 1:
                raise Bad("unbalanced )")
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(t)
    if len(stack) != 1:
        raise Bad("unbalanced (")
    return stack[0]


def astring(item):
    if isinstance(item, tuple) and item[0] in ("atom", "str", "lit"):
        return item[1]
    raise Bad("string expected")


def atom(item):
    if isinstance(item, tuple) and item[0] == "atom":
        return item[1]
    raise Bad("atom expected")


# -- the account ----------------------------------------------------------

class Store:
    """The mailboxes, shared by all sessions, persisted in --state."""

    def __init__(self, path, uidvalidity):
        self.path = path
        self.next_uidvalidity = uidvalidity
        self.boxes = {}
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                st = json.load(fh)
            for name, mb in st.get("mailboxes", {}).items():
                msgs = []
                for m in mb.get("msgs", []):
                    m = dict(m)
                    m["data"] = base64.b64decode(m["data"])
                    msgs.append(m)
                mb = dict(mb)
                mb["msgs"] = sorted(msgs, key=lambda m: m["uid"])
                self.boxes[name] = mb
        if self.find("INBOX") is None:
            self.create("INBOX")

    def new_uidvalidity(self, above=0):
        v = max(self.next_uidvalidity, above + 1)
        self.next_uidvalidity = v + 1
        return v & 0xFFFFFFFF or 1

    def find(self, name):
        """The key of mailbox name (INBOX in any case), or None."""
        if name.upper() == "INBOX":
            name = "INBOX"
        return name if name in self.boxes else None

    def create(self, name):
        if name.upper() == "INBOX":
            name = "INBOX"
        self.boxes[name] = {"uidvalidity": self.new_uidvalidity(),
                            "uidnext": 1, "msgs": []}
        self.save()

    def save(self):
        if not self.path:
            return
        st = {"mailboxes": {}}
        for name, mb in self.boxes.items():
            msgs = []
            for m in mb["msgs"]:
                m = dict(m)
                m["data"] = base64.b64encode(m["data"]).decode()
                msgs.append(m)
            st["mailboxes"][name] = {"uidvalidity": mb["uidvalidity"],
                                     "uidnext": mb["uidnext"],
                                     "msgs": msgs}
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(st, fh)
        os.replace(tmp, self.path)

    def renumber(self, log):
        """--uidvalidity-change: a new UIDVALIDITY and new UIDs, in
        reverse order, for every mailbox."""
        for name, mb in sorted(self.boxes.items()):
            old = mb["uidvalidity"]
            mb["uidvalidity"] = self.new_uidvalidity(old)
            msgs = list(reversed(mb["msgs"]))
            for i, m in enumerate(msgs):
                m["uid"] = i + 1
            mb["msgs"] = msgs
            mb["uidnext"] = len(msgs) + 1
            log("uidvalidity change %s %d -> %d (%d messages)" %
                (name, old, mb["uidvalidity"], len(msgs)))
        self.save()


class Logger:
    def __init__(self, path):
        self.fh = open(path, "a", buffering=1) if path else None

    def write(self, sess, text):
        if self.fh is None:
            return
        with LOG_LOCK:
            self.fh.write("S%d %s\n" % (sess, text))
            self.fh.flush()


class Closed(Exception):
    """The session is over (client gone, BYE sent, LOGOUT)."""


# -- one session ----------------------------------------------------------

class Session:
    def __init__(self, srv, num, sock):
        self.srv = srv
        self.a = srv.args
        self.num = num
        self.sock = sock
        self.tls = False
        self.rbuf = bytearray()
        self.closed = False
        self.authed = False
        self.selected = None      # mailbox key
        self.readonly = False
        self.seen_exists = 0
        self.appended = 0         # messages APPENDed in this session

    # -- I/O ---------------------------------------------------------------
    def log(self, text):
        self.srv.logger.write(self.num, text)

    def send(self, data):
        if not data:
            return
        if self.a.split:
            for i in range(len(data)):
                self.sock.sendall(data[i:i + 1])
        else:
            self.sock.sendall(data)

    def recv_more(self):
        try:
            data = self.sock.recv(65536)
        except (OSError, ssl.SSLError) as ex:
            self.log("eof (%s)" % ex.__class__.__name__)
            raise Closed()
        if not data:
            self.log("eof")
            raise Closed()
        self.rbuf += data

    def readline(self):
        while True:
            i = self.rbuf.find(b"\n")
            if i >= 0:
                line = bytes(self.rbuf[:i])
                del self.rbuf[:i + 1]
                if line.endswith(b"\r"):
                    line = line[:-1]
                return line
            if len(self.rbuf) > MAX_LINE:
                self.log("violation client line over %d octets" % MAX_LINE)
                self.send(b"* BYE line too long\r\n")
                raise Closed()
            self.recv_more()

    def read_exact(self, n):
        while len(self.rbuf) < n:
            self.recv_more()
        data = bytes(self.rbuf[:n])
        del self.rbuf[:n]
        return data

    def read_command(self):
        """A whole command: (segments, logged text, violation or None).
        Synchronizing literals get their "+" here."""
        segs = []
        logtext = []
        violation = None
        while True:
            line = self.readline()
            m = re.search(rb"\{(\d+)(\+?)\}$", line)
            if m is None:
                segs.append(line)
                logtext.append(esc(line))
                return segs, "".join(logtext).rstrip(" "), violation
            n = int(m.group(1))
            plus = m.group(2) == b"+"
            segs.append(line[:m.start()])
            logtext.append(esc(line) + " <%d octets> " % n)
            if n > MAX_LITERAL:
                self.log("violation literal of %d octets" % n)
                self.send(b"* BYE literal too large\r\n")
                raise Closed()
            if plus:
                if self.a.literal_minus:
                    if n > LITERAL_MINUS_MAX and violation is None:
                        violation = "LITERAL- literal {%d+} over 4096" % n
                elif self.a.no_literalplus and violation is None:
                    violation = "non-synchronizing literal {%d+} " \
                        "without LITERAL+" % n
            else:
                self.send(b"+ Ready for literal data\r\n")
            segs.append(Literal(self.read_exact(n), plus))

    def starttls(self):
        if self.rbuf:
            self.log("violation client sent %d bytes after STARTTLS "
                     "before the handshake" % len(self.rbuf))
            self.rbuf.clear()
        try:
            self.sock = self.srv.ctx.wrap_socket(self.sock, server_side=True)
        except (OSError, ssl.SSLError) as ex:
            self.log("tls fail %s" % str(ex).replace("\n", " ")[:200])
            raise Closed()
        self.tls = True
        self.log("tls ok %s" % self.sock.version())

    def close(self):
        """Half-close, let the client read what was sent (draining what
        it still sends for up to a second), then close."""
        if self.closed:
            return
        self.closed = True
        self.log("close")
        s = self.sock
        try:
            if isinstance(s, ssl.SSLSocket):
                try:
                    s.settimeout(1)
                    s = s.unwrap()
                except (OSError, ssl.SSLError, ValueError):
                    pass
            s.shutdown(socket.SHUT_WR)
            s.settimeout(0.2)
            end = time.monotonic() + 1
            while time.monotonic() < end:
                try:
                    if not s.recv(65536):
                        break
                except socket.timeout:
                    continue
                except (OSError, ssl.SSLError):
                    break
        except OSError:
            pass
        for x in (s, self.sock):
            try:
                x.close()
            except OSError:
                pass

    # -- responses ---------------------------------------------------------
    def tagged(self, tag, text):
        line = tag + b" " + text
        self.log("R " + esc(line))
        self.send(line + b"\r\n")

    def untagged(self, text):
        self.send(b"* " + text + b"\r\n")

    def caps(self):
        c = [b"IMAP4rev1", b"SASL-IR", b"ID", b"ENABLE", b"UNSELECT"]
        if self.a.literal_minus:
            c.append(b"LITERAL-")
        elif not self.a.no_literalplus:
            c.append(b"LITERAL+")
        if self.srv.mode == "stls" and not self.tls:
            c.append(b"STARTTLS")
        if not self.authed:
            c.append(b"AUTH=PLAIN")
        else:
            if not self.a.no_uidplus:
                c.append(b"UIDPLUS")
            if self.a.multiappend:
                c.append(b"MULTIAPPEND")
        return b" ".join(c)

    # -- the session -------------------------------------------------------
    def run(self):
        self.log("connect")
        try:
            if self.srv.mode == "tls":
                self.starttls()
            self.srv.session_start(self)
            self.send(b"* OK [CAPABILITY " + self.caps() +
                      b"] fakeimap ready.\r\n")
            while True:
                self.one_command()
        except Closed:
            pass
        except (OSError, ssl.SSLError) as ex:
            self.log("send failed (%s)" % ex.__class__.__name__)
        except Exception as ex:  # noqa: BLE001 -- log anything, never hang
            self.log("error %s: %s" % (ex.__class__.__name__, ex))
        finally:
            self.close()
            self.log("end")

    def one_command(self):
        segs, text, violation = self.read_command()
        self.log("C %s %s" % ("tls" if self.tls else "plain", text))
        first = segs[0]
        tag, _, rest = first.partition(b" ")
        if not tag or not re.fullmatch(rb"[!#$&'*,-.0-9:;<=>?@A-Z^-z|~]+",
                                       tag):
            self.untagged(b"BAD Error in IMAP command: bad tag")
            return
        if violation:
            self.log("violation " + violation)
            code = b"[TOOBIG] " if self.a.literal_minus else b""
            self.tagged(tag, b"BAD " + code + violation.encode())
            return
        segs = [rest] + segs[1:]
        try:
            items = nest(tokenize(segs))
            if not items:
                raise Bad("no command")
            cmd = atom(items[0]).upper()
            args = items[1:]
            self.dispatch(tag, cmd, args)
        except Bad as ex:
            self.tagged(tag, b"BAD Error in IMAP command: " +
                        str(ex).encode())

    def need_auth(self):
        if not self.authed:
            raise Bad("not logged in")

    def need_selected(self):
        self.need_auth()
        if self.selected is None:
            raise Bad("no mailbox selected")

    def dispatch(self, tag, cmd, args):
        if cmd == b"CAPABILITY":
            self.untagged(b"CAPABILITY " + self.caps())
            self.tagged(tag, b"OK Capability completed.")
        elif cmd == b"NOOP" or cmd == b"CHECK":
            if cmd == b"CHECK":
                self.need_selected()
            self.report_exists()
            self.tagged(tag, b"OK NOOP completed.")
        elif cmd == b"LOGOUT":
            self.untagged(b"BYE Logging out")
            self.tagged(tag, b"OK Logout completed.")
            raise Closed()
        elif cmd == b"ID":
            self.untagged(b'ID ("name" "fakeimap")')
            self.tagged(tag, b"OK ID completed.")
        elif cmd == b"ENABLE":
            self.need_auth()
            self.untagged(b"ENABLED")
            self.tagged(tag, b"OK Enabled.")
        elif cmd == b"STARTTLS":
            if self.srv.mode != "stls" or self.tls:
                self.tagged(tag, b"NO STARTTLS not available.")
                return
            if self.authed:
                raise Bad("already logged in")
            self.tagged(tag, b"OK Begin TLS negotiation now.")
            self.starttls()
        elif cmd == b"LOGIN":
            if self.authed:
                raise Bad("already logged in")
            if len(args) != 2:
                raise Bad("LOGIN needs user and password")
            self.login(tag, astring(args[0]), astring(args[1]))
        elif cmd == b"AUTHENTICATE":
            if self.authed:
                raise Bad("already logged in")
            self.authenticate(tag, args)
        elif cmd in (b"SELECT", b"EXAMINE"):
            self.need_auth()
            self.select(tag, cmd, args)
        elif cmd == b"CREATE":
            self.need_auth()
            if len(args) != 1:
                raise Bad("CREATE needs a mailbox")
            name = astring(args[0]).decode("latin-1").rstrip("/")
            with LOCK:
                if self.srv.store.find(name) is not None:
                    self.tagged(tag, b"NO [ALREADYEXISTS] Mailbox already "
                                b"exists")
                    return
                self.srv.store.create(name)
            self.tagged(tag, b"OK Create completed.")
        elif cmd in (b"LIST", b"LSUB"):
            self.need_auth()
            self.list(tag, cmd, args)
        elif cmd == b"STATUS":
            self.need_auth()
            self.status(tag, args)
        elif cmd == b"APPEND":
            self.need_auth()
            self.append(tag, args)
        elif cmd == b"FETCH":
            self.need_selected()
            self.fetch(tag, args, False)
        elif cmd == b"SEARCH":
            self.need_selected()
            self.search(tag, args, False)
        elif cmd == b"UID":
            self.need_selected()
            if not args:
                raise Bad("UID needs a command")
            sub = atom(args[0]).upper()
            if sub == b"FETCH":
                self.fetch(tag, args[1:], True)
            elif sub == b"SEARCH":
                self.search(tag, args[1:], True)
            else:
                raise Bad("UID %s not supported" % sub.decode("latin-1"))
        elif cmd in (b"CLOSE", b"UNSELECT"):
            self.need_selected()
            self.selected = None
            self.tagged(tag, b"OK %s completed." % cmd)
        else:
            raise Bad("unknown command")

    # -- authentication ----------------------------------------------------
    def check_login(self, tag, user, pw):
        a = self.a
        if (a.user is not None and user != a.user.encode()) or \
           (a.password is not None and pw != a.password.encode()):
            self.log("auth fail user=%s" % esc(user))
            self.tagged(tag, b"NO [AUTHENTICATIONFAILED] Authentication "
                        b"failed.")
            return
        self.authed = True
        self.log("login user=%s" % esc(user))
        self.tagged(tag, b"OK [CAPABILITY " + self.caps() + b"] Logged in")

    def login(self, tag, user, pw):
        self.check_login(tag, user, pw)

    def authenticate(self, tag, args):
        if not args:
            raise Bad("AUTHENTICATE needs a mechanism")
        mech = atom(args[0]).upper()
        if mech != b"PLAIN":
            self.tagged(tag, b"NO Unsupported authentication mechanism.")
            return
        if len(args) > 1:
            resp = atom(args[1])
        else:
            self.send(b"+ \r\n")
            resp = self.readline()
            self.log("C %s %s" % ("tls" if self.tls else "plain",
                                  esc(resp)))
        if resp == b"*":
            self.tagged(tag, b"BAD Authentication aborted by client.")
            return
        try:
            raw = b"" if resp == b"=" else base64.b64decode(resp,
                                                            validate=True)
            _authz, user, pw = raw.split(b"\0")
        except (ValueError, binascii.Error):
            self.tagged(tag, b"BAD Invalid base64 or PLAIN response.")
            return
        self.check_login(tag, user, pw)

    # -- mailboxes ---------------------------------------------------------
    def box(self):
        return self.srv.store.boxes[self.selected]

    def report_exists(self):
        if self.selected is None:
            return
        with LOCK:
            n = len(self.box()["msgs"])
        if n != self.seen_exists:
            self.seen_exists = n
            self.untagged(b"%d EXISTS" % n)

    def select(self, tag, cmd, args):
        if len(args) < 1:
            raise Bad("%s needs a mailbox" % cmd.decode())
        self.selected = None
        name = astring(args[0]).decode("latin-1")
        with LOCK:
            key = self.srv.store.find(name)
            if key is None:
                self.tagged(tag, b"NO [NONEXISTENT] Mailbox doesn't exist: "
                            + name.encode("latin-1"))
                return
            mb = self.srv.store.boxes[key]
            n = len(mb["msgs"])
            v, nxt = mb["uidvalidity"], mb["uidnext"]
        flags = b" ".join(f.encode() for f in SYSTEM_FLAGS)
        self.untagged(b"FLAGS (" + flags + b")")
        self.untagged(b"OK [PERMANENTFLAGS (" + flags + b" \\*)] Flags "
                      b"permitted.")
        self.untagged(b"%d EXISTS" % n)
        self.untagged(b"0 RECENT")
        self.untagged(b"OK [UIDVALIDITY %d] UIDs valid" % v)
        self.untagged(b"OK [UIDNEXT %d] Predicted next UID" % nxt)
        self.selected = key
        self.seen_exists = n
        self.readonly = cmd == b"EXAMINE"
        self.tagged(tag, b"OK [%s] %s completed." % (
            b"READ-ONLY" if self.readonly else b"READ-WRITE", cmd))

    def list(self, tag, cmd, args):
        if len(args) != 2:
            raise Bad("%s needs reference and pattern" % cmd.decode())
        ref = astring(args[0]).decode("latin-1")
        pat = astring(args[1]).decode("latin-1")
        if pat == "":
            self.untagged(b'%s (\\Noselect) "/" ""' % cmd)
            self.tagged(tag, b"OK %s completed." % cmd)
            return
        rx = "".join(".*" if c == "*" else "[^/]*" if c == "%" else
                     re.escape(c) for c in ref + pat)
        with LOCK:
            names = sorted(self.srv.store.boxes)
        for name in names:
            test = name
            if re.fullmatch(rx, test) or (name == "INBOX" and
                                          re.fullmatch(rx, "INBOX", re.I)):
                self.untagged(b'%s (\\HasNoChildren) "/" %s' % (
                    cmd, quote(name.encode("latin-1"))))
        self.tagged(tag, b"OK %s completed." % cmd)

    def status(self, tag, args):
        if len(args) != 2 or not isinstance(args[1], list):
            raise Bad("STATUS needs mailbox and items")
        name = astring(args[0]).decode("latin-1")
        with LOCK:
            key = self.srv.store.find(name)
            if key is None:
                self.tagged(tag, b"NO [NONEXISTENT] Mailbox doesn't exist")
                return
            mb = self.srv.store.boxes[key]
            vals = {b"MESSAGES": len(mb["msgs"]), b"RECENT": 0,
                    b"UIDNEXT": mb["uidnext"],
                    b"UIDVALIDITY": mb["uidvalidity"],
                    b"UNSEEN": sum(1 for m in mb["msgs"]
                                   if "\\Seen" not in m["flags"])}
        out = []
        for it in args[1]:
            k = atom(it).upper()
            if k not in vals:
                raise Bad("unknown STATUS item")
            out.append(b"%s %d" % (k, vals[k]))
        self.untagged(b"STATUS " + quote(key.encode("latin-1")) + b" (" +
                      b" ".join(out) + b")")
        self.tagged(tag, b"OK Status completed.")

    # -- APPEND ------------------------------------------------------------
    def append(self, tag, args):
        if len(args) < 2:
            raise Bad("APPEND needs a mailbox and a message")
        name = astring(args[0]).decode("latin-1")
        msgs = []
        i = 1
        while i < len(args):
            flags = []
            date = None
            if isinstance(args[i], list):
                for f in args[i]:
                    f = atom(f).decode("latin-1")
                    if f.startswith("\\"):
                        f = "\\" + f[1:].capitalize()
                        if f not in SYSTEM_FLAGS:
                            raise Bad("bad system flag %s" % f)
                    if f not in flags:
                        flags.append(f)
                i += 1
            if i < len(args) and not isinstance(args[i], list) and \
               args[i][0] == "str":
                d = parse_date(args[i][1])
                if d is None:
                    raise Bad("invalid date-time %r" % args[i][1])
                date = d
                i += 1
            if i >= len(args) or isinstance(args[i], list) or \
               args[i][0] != "lit":
                raise Bad("message literal expected")
            msgs.append((flags, date, args[i][1]))
            i += 1
        if len(msgs) > 1 and not self.a.multiappend:
            self.log("violation APPEND of %d messages without MULTIAPPEND"
                     % len(msgs))
            raise Bad("MULTIAPPEND not supported")
        srv = self.srv
        a = self.a
        with LOCK:
            count = self.appended if a.per_session else srv.appended
            key = srv.store.find(name)
            if key is None:
                self.tagged(tag, b"NO [TRYCREATE] Mailbox doesn't exist: " +
                            name.encode("latin-1"))
                return
            if a.bye_after is not None and not a.bye_stored and \
               count >= a.bye_after:
                self.log("bye count=%d" % count)
                bye = b"* BYE [UNAVAILABLE] try again in 60 seconds"
                self.log("R " + esc(bye))
                self.send(bye + b"\r\n")
                raise Closed()
            for lim, code in ((a.limit_after, b"LIMIT"),
                              (a.unavailable_after, b"UNAVAILABLE")):
                if lim is not None and count + len(msgs) > lim:
                    self.log("append refused %s count=%d" %
                             (code.decode(), count))
                    self.tagged(tag, b"NO [%s] Too many messages appended, "
                                b"try again later" % code)
                    return
            mb = srv.store.boxes[key]
            uids = []
            for flags, date, data in msgs:
                if date is None:
                    date = (int(time.time()), "+0000")
                srv.appended += 1
                self.appended += 1
                uid = mb["uidnext"]
                mb["uidnext"] += 1
                uids.append(uid)
                if a.mangle_cr:
                    data = mangle(data)
                if srv.appended in a.drop_append:
                    self.log("append dropped mailbox=%s uid=%d size=%d" %
                             (key, uid, len(data)))
                    continue
                mb["msgs"].append({"uid": uid, "flags": flags,
                                   "date": date[0], "zone": date[1],
                                   "data": data})
                self.log("append mailbox=%s uidvalidity=%d uid=%d size=%d"
                         % (key, mb["uidvalidity"], uid, len(data)))
            srv.store.save()
            v = mb["uidvalidity"]
            count = self.appended if a.per_session else srv.appended
        if a.bye_after is not None and a.bye_stored and count >= a.bye_after:
            self.log("bye count=%d" % count)
            bye = b"* BYE [UNAVAILABLE] try again in 60 seconds"
            self.log("R " + esc(bye))
            self.send(bye + b"\r\n")
            raise Closed()
        if key == self.selected:
            self.report_exists()
        if a.no_uidplus:
            self.tagged(tag, b"OK Append completed.")
        else:
            self.tagged(tag, b"OK [APPENDUID %d %s] Append completed." %
                        (v, uid_set_text(uids)))

    # -- FETCH -------------------------------------------------------------
    def targets(self, setarg, by_uid):
        """[(seq, msg)] of the selected mailbox named by a set."""
        msgs = self.box()["msgs"]
        s = atom(setarg)
        if by_uid:
            top = msgs[-1]["uid"] if msgs else 0
            want = parse_set(s, top)
            return [(i + 1, m) for i, m in enumerate(msgs)
                    if m["uid"] in want]
        want = parse_set(s, len(msgs))
        if any(n < 1 or n > len(msgs) for n in want):
            raise Bad("invalid message sequence number")
        return [(i + 1, m) for i, m in enumerate(msgs) if i + 1 in want]

    def fetch(self, tag, args, by_uid):
        if len(args) != 2:
            raise Bad("FETCH needs a set and items")
        spec = args[1]
        items = spec if isinstance(spec, list) else [spec]
        want = []
        k = 0
        while k < len(items):
            it = items[k]
            name = atom(it).upper()
            if name == b"FAST" or name == b"ALL":
                want += [b"FLAGS", b"INTERNALDATE", b"RFC822.SIZE"]
            elif name == b"FULL":
                want += [b"FLAGS", b"INTERNALDATE", b"RFC822.SIZE",
                         b"BODY.PEEK[]"]
            elif name in (b"UID", b"FLAGS", b"INTERNALDATE", b"RFC822.SIZE",
                          b"RFC822", b"RFC822.HEADER", b"RFC822.TEXT"):
                want.append(name)
            elif re.fullmatch(rb"BODY(\.PEEK)?\[.*\](<\d+\.\d+>)?", name,
                              re.S):
                want.append(atom(it))
            else:
                raise Bad("unknown FETCH item %s" % name.decode("latin-1"))
            k += 1
        if by_uid and b"UID" not in want:
            want.insert(0, b"UID")
        with LOCK:
            targets = self.targets(args[0], by_uid)
        for seq, m in targets:
            if not self.fetch_one(seq, m, want):
                return
        self.tagged(tag, b"OK Fetch completed.")

    def section(self, data, sec):
        head, body = split_message(data)
        s = sec.upper()
        if s == b"":
            return data
        if s == b"HEADER":
            return head
        if s == b"TEXT":
            return body
        m = re.fullmatch(rb"HEADER\.FIELDS(\.NOT)? \((.*)\)", s, re.S)
        if m:
            names = m.group(2).split()
            return header_select(head, names, bool(m.group(1)))
        raise Bad("unsupported section %s" % sec.decode("latin-1"))

    def fetch_one(self, seq, m, want):
        """Send one FETCH response. False when the session ended in an
        endless literal."""
        parts = []
        data = m["data"]
        set_seen = False
        for w in want:
            up = w.upper()
            if up == b"UID":
                parts.append(b"UID %d" % m["uid"])
            elif up == b"FLAGS":
                parts.append(None)   # filled in after \Seen is set
            elif up == b"INTERNALDATE":
                parts.append(b"INTERNALDATE " +
                             format_date(m["date"], m["zone"]))
            elif up == b"RFC822.SIZE":
                n = len(data) + (1 if self.a.no_size else 0)
                parts.append(b"RFC822.SIZE %d" % n)
            elif up in (b"RFC822", b"RFC822.HEADER", b"RFC822.TEXT"):
                sec = {b"RFC822": b"", b"RFC822.HEADER": b"HEADER",
                       b"RFC822.TEXT": b"TEXT"}[up]
                lit = self.section(data, sec)
                if up != b"RFC822.HEADER":
                    set_seen = True
                parts.append((up, lit))
            else:
                mm = re.fullmatch(rb"BODY(\.PEEK)?\[(.*)\](?:<(\d+)\.(\d+)>)?",
                                  w, re.S | re.I)
                peek = bool(mm.group(1))
                sec = mm.group(2)
                if not peek:
                    set_seen = True
                if sec == b"" and self.a.endless_literal:
                    return self.endless(seq, m)
                lit = self.section(data, sec)
                label = b"BODY[" + sec + b"]"
                if mm.group(3) is not None:
                    o, n = int(mm.group(3)), int(mm.group(4))
                    lit = lit[o:o + n]
                    label += b"<%d>" % o
                if sec == b"":
                    self.log("fetch uid=%d body size=%d" %
                             (m["uid"], len(lit)))
                parts.append((label, lit))
        if set_seen and not self.readonly and "\\Seen" not in m["flags"]:
            with LOCK:
                m["flags"].append("\\Seen")
                self.srv.store.save()
            if b"FLAGS" not in [w.upper() for w in want]:
                parts.append(None)
        out = bytearray(b"* %d FETCH (" % seq)
        first = True
        for p in parts:
            if not first:
                out += b" "
            first = False
            if p is None:
                out += b"FLAGS (" + " ".join(m["flags"]).encode() + b")"
            elif isinstance(p, tuple):
                out += p[0] + b" {%d}\r\n" % len(p[1]) + p[1]
            else:
                out += p
        out += b")\r\n"
        self.send(bytes(out))
        return True

    def endless(self, seq, m):
        size = self.a.endless_size
        self.send(b"* %d FETCH (UID %d BODY[] {%d}\r\n" % (seq, m["uid"],
                                                            size))
        self.log("endless literal uid=%d size=%d" % (m["uid"], size))
        sent = 0
        src = m["data"] + b"X" * 64
        try:
            while sent < size:
                chunk = src[sent % len(src):][:16]
                self.sock.sendall(chunk)
                sent += len(chunk)
                time.sleep(0.1)
        except (OSError, ssl.SSLError) as ex:
            self.log("endless stopped after %d bytes (%s)" %
                     (sent, ex.__class__.__name__))
            raise Closed()
        raise Closed()

    # -- SEARCH ------------------------------------------------------------
    def search(self, tag, args, by_uid):
        if len(args) >= 2 and not isinstance(args[0], list) and \
           args[0][0] == "atom" and args[0][1].upper() == b"CHARSET":
            args = args[2:]
        if not args:
            raise Bad("SEARCH needs criteria")
        with LOCK:
            msgs = list(self.box()["msgs"])
        keys = list(args)
        preds = []
        while keys:
            preds.append(self.search_key(keys, len(msgs),
                                         msgs[-1]["uid"] if msgs else 0))
        hits = []
        for i, m in enumerate(msgs):
            if all(p(i + 1, m) for p in preds):
                hits.append(m["uid"] if by_uid else i + 1)
        self.untagged(b"SEARCH" + b"".join(b" %d" % h for h in hits))
        self.tagged(tag, b"OK Search completed.")

    def search_key(self, keys, nmsgs, maxuid):
        """Pop one search key off keys; a predicate (seq, msg) -> bool."""
        k = keys.pop(0)
        if isinstance(k, list):
            sub = list(k)
            preds = []
            while sub:
                preds.append(self.search_key(sub, nmsgs, maxuid))
            return lambda s, m: all(p(s, m) for p in preds)
        if k[0] != "atom":
            raise Bad("search key expected")
        name = k[1].upper()

        def arg():
            if not keys:
                raise Bad("search key %s needs an argument" %
                          name.decode("latin-1"))
            return astring(keys.pop(0))
        if name == b"ALL":
            return lambda s, m: True
        if name == b"UID":
            want = parse_set(arg(), maxuid)
            return lambda s, m: m["uid"] in want
        if re.fullmatch(rb"[\d*:,]+", name):
            want = parse_set(name, nmsgs)
            return lambda s, m: s in want
        if name in (b"HEADER", b"SUBJECT", b"FROM", b"TO", b"CC"):
            field = arg().lower() if name == b"HEADER" else name.lower()
            value = arg().lower()

            def hdr(s, m):
                head, _ = split_message(m["data"])
                for fn, _raw, val in header_fields(head):
                    if fn == field and value in val.lower():
                        return True
                return False
            return hdr
        if name in (b"LARGER", b"SMALLER"):
            try:
                n = int(arg())
            except ValueError:
                raise Bad("number expected")
            if name == b"LARGER":
                return lambda s, m: len(m["data"]) > n
            return lambda s, m: len(m["data"]) < n
        if name in (b"SEEN", b"UNSEEN"):
            yes = name == b"SEEN"
            return lambda s, m: ("\\Seen" in m["flags"]) == yes
        if name == b"NOT":
            p = self.search_key(keys, nmsgs, maxuid)
            return lambda s, m: not p(s, m)
        if name == b"OR":
            p = self.search_key(keys, nmsgs, maxuid)
            q = self.search_key(keys, nmsgs, maxuid)
            return lambda s, m: p(s, m) or q(s, m)
        raise Bad("unsupported search key %s" % name.decode("latin-1"))


# -- the server -----------------------------------------------------------

class Server:
    def __init__(self, args):
        self.args = args
        self.mode = args.mode
        self.logger = Logger(args.log)
        uv = args.uidvalidity or int(time.time())
        self.store = Store(args.state, uv)
        self.appended = 0         # messages APPENDed in this run
        self.sessions_started = 0
        self.ctx = self.tls_context() if self.mode != "plain" else None

    def tls_context(self):
        a = self.args
        if not a.cert or not a.key:
            sys.exit("fakeimap: --mode %s needs --cert and --key" %
                     self.mode)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        return ctx

    def session_start(self, sess):
        with LOCK:
            self.sessions_started += 1
            first = self.sessions_started == 1
            if first and self.args.uidvalidity_change:
                self.store.renumber(sess.log)

    def serve(self):
        a = self.args
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((a.host, a.port))
        ls.listen(16)
        ls.settimeout(0.1)
        port = ls.getsockname()[1]
        if a.port_file:
            tmp = a.port_file + ".tmp"
            with open(tmp, "w") as fh:
                fh.write("%d\n" % port)
            os.rename(tmp, a.port_file)
        print(port, flush=True)
        end = time.monotonic() + a.timeout
        threads = []
        n = 0
        while time.monotonic() < end:
            if n >= a.max_conns and not any(t.is_alive() for t in threads):
                return 0
            try:
                c, _ = ls.accept()
            except socket.timeout:
                continue
            if n >= a.max_conns:
                c.close()
                continue
            n += 1
            c.settimeout(a.io_timeout)
            if a.split:
                c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s = Session(self, n, c)
            t = threading.Thread(target=s.run, daemon=True)
            t.start()
            threads.append(t)
        self.logger.write(0, "timeout after %g s" % a.timeout)
        return 0


def int_list(s):
    try:
        return {int(x) for x in s.split(",") if x}
    except ValueError:
        raise argparse.ArgumentTypeError("a list of numbers: %r" % s)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=("plain", "stls", "tls"),
                    default="plain")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--log")
    ap.add_argument("--max-conns", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--io-timeout", type=float, default=10.0)
    ap.add_argument("--state")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--uidvalidity", type=int)
    ap.add_argument("--no-uidplus", action="store_true")
    ap.add_argument("--no-literalplus", action="store_true")
    ap.add_argument("--literal-minus", action="store_true")
    ap.add_argument("--multiappend", action="store_true")
    ap.add_argument("--limit-after", type=int)
    ap.add_argument("--unavailable-after", type=int)
    ap.add_argument("--bye-after", type=int)
    ap.add_argument("--bye-stored", action="store_true")
    ap.add_argument("--per-session", action="store_true")
    ap.add_argument("--uidvalidity-change", action="store_true")
    ap.add_argument("--endless-literal", action="store_true")
    ap.add_argument("--endless-size", type=int, default=100 << 20)
    ap.add_argument("--split", action="store_true")
    ap.add_argument("--mangle-cr", action="store_true")
    ap.add_argument("--drop-append", type=int_list, default=set())
    ap.add_argument("--no-size", action="store_true")
    args = ap.parse_args()
    if not args.host.startswith("127."):
        ap.error("--host must be a loopback address (127.x.y.z)")
    srv = Server(args)
    rc = srv.serve()
    sys.stdout.flush()
    os._exit(rc)


if __name__ == "__main__":
    main()
