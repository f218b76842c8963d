#!/usr/bin/env python3
"""fakepop.py -- a scripted fake POP3 server for hostile-server tests.

Python 3 standard library only. Listens on loopback only, serves
connections one thread each, and exits after --max-conns connections have
ended or after --timeout seconds (default 30), whichever comes first, so a
test can never hang on it.

Usage:
    fakepop.py --script FILE [--mode plain|stls|tls] [--cert C --key K]
               [--tls-min V] [--tls-max V] [--anon] [--host 127.0.0.1]
               [--port 0] [--port-file F] [--log F] [--max-conns 1]
               [--timeout 30] [--io-timeout 10]

    --mode plain   POP3 in clear; STLS answered -ERR
    --mode stls    POP3 in clear, STLS upgrades to TLS (needs --cert/--key)
    --mode tls     implicit TLS from the first byte (pop3s)
    --tls-min/--tls-max 1.0|1.1|1.2|1.3
                   protocol range. With a maximum below 1.2 the context's
                   security level is set to 0 ("DEFAULT:@SECLEVEL=0") so
                   OpenSSL 3 still offers TLS 1.0/1.1 at all.
    --anon         no certificate: anonymous (aNULL) TLS 1.2 suites only
    --port-file F  the bound port is written there (atomically) and on
                   stdout once the server listens
    --max-conns N  serve N connections (sessions 1..N), then exit once
                   they have ended; later connections are closed at once
    --timeout S    exit after S seconds whatever happens (default 30)
    --io-timeout S a socket send/receive that blocks longer ends the
                   session (default 10)

The log (--log) gets one line per event, flushed at once:
    S<n> connect                     session n (1, 2, ...) accepted
    S<n> tls ok <version> sni=<name|->   handshake done (SNI as received)
    S<n> tls fail <reason>           handshake failed
    S<n> C <plain|tls> q=<k> <line>  a line received from the client; k is
                                     the number of complete lines already
                                     buffered behind it (k > 0: pipelined)
    S<n> R <first line sent>         first line of each reply (<= 100 chars)
    S<n> gen stopped after <k> bytes (<error>)
                                     a generator's stream ended by the
                                     client (k: bytes handed to the kernel)
    S<n> send failed (<error>)       a reply (dripped or not) cut short by
                                     the client
    S<n> close <how> | S<n> eof      end of the session
Non-printable bytes are written as \\xNN. A test asserts, for example,
that no line matches '^S[0-9]+ C plain q=[0-9]+ (USER|PASS|APOP|AUTH)'.

SCRIPT FORMAT (JSON). Every string is turned into bytes as Latin-1, so
"\\u0000" is a NUL byte and "\\u00ff" the byte 0xff. Keys (all optional):

  "greeting":  a RESPONSE (below) or a plain string (one line, CRLF added).
               Default "+OK fakepop ready".
  "capa":      list of capability lines for CAPA, or null for "-ERR"
               (an RFC 1939 server). Default ["TOP", "UIDL", "USER",
               "RESP-CODES"], plus "STLS" in --mode stls before TLS.
  "capa_tls":  the list used once TLS is active (default: "capa" without
               "STLS").
  "messages":  the mailbox, a list of MESSAGE objects; numbered 1, 2, ...
               unless a message has "num". The mailbox persists across
               sessions of one fakepop run: DELE + QUIT removes messages.
  "password":  if set, PASS with another value gets "-ERR [AUTH] ...".
  "token":     if set, an XOAUTH2 or OAUTHBEARER token other than this
               gets an error challenge, then "-ERR [AUTH] ...".
  "gmail":     {"per_session": N}: UIDL/LIST/STAT show at most N of the
               messages not yet hidden; messages RETRieved in a session
               that ends with QUIT are hidden afterwards (like Gmail's
               POP "popped" state). {"recent": true} shows all again.
  "rules":     list of RULEs, tried in order before the built-in commands.
  "sessions":  {"2": {...}, ...}: for the n-th connection, these keys
               replace the top-level ones (a session counter: other UIDLs
               or contents on the 2nd connection). A "messages" key there
               replaces the mailbox from that session on.

MESSAGE:
  "uidl"  the unique id (required unless the script never lists)
  "text"  the message; every LF becomes CRLF on the wire (a missing final
          newline is added), lines starting with "." are dot-stuffed and
          ".CRLF" ends it. Bare CRs are sent as they are.
  "wire"  instead of "text": the exact bytes sent after the "+OK" status
          line, stuffing and terminator included (raw dot-stuffing tests)
  "size"  the size LIST reports (default: length of the CRLF form)
  "num"   an explicit message number
  "gen"   "endless": RETR sends headers and then body lines forever

RULE:
  "match"    Python regex, full match against the received line (Latin-1,
             without CRLF). Required.
  "session"  only in that session (an int or a list of ints)
  "tls"      true/false: only when TLS is (not) active
  "times"    match at most that many times per session
  plus any RESPONSE keys. A rule without "reply", "raw", "builtin", "gen"
  or "ignore" answers like "builtin": true (so a rule can just add a
  delay, "extra" bytes or a "close" to the normal answer).

RESPONSE (greeting or rule):
  "reply"    a string: one line, CRLF added; or a list: a multi-line
             reply, first item the status line, the others dot-stuffed
             automatically and followed by ".CRLF"
  "raw"      exact bytes, nothing added
  "builtin"  true: what the built-in server would answer
  "extra"    bytes sent right after the reply, in the same write
             (response injection after STLS, unsolicited data, a
             duplicated +OK)
  "truncate" send only the first N bytes of the reply
  "delay"    seconds to sleep before answering
  "drip"     seconds to sleep between single bytes of the reply
  "gen"      a generator, streamed until the client goes away:
               {"type": "endless_line", "prefix": "+OK "}  no CRLF ever
               {"type": "endless_body", "status": "+OK"}  a message that
                   never ends
               {"type": "lines", "status": "+OK", "count": N, "fmt":
                   "{n} u{n}", "end": true}  N lines (count null:
                   endless), then ".CRLF" if "end"
  "ignore"   true: answer nothing
  "starttls" true: start the TLS handshake after sending (as STLS does)
  "close"    after the reply: "fin" (TLS close_notify, then TCP FIN),
             "abrupt" (TCP FIN without close_notify), "rst" (TCP reset)

Built-in commands: CAPA, STLS, USER, PASS, APOP, AUTH PLAIN, XOAUTH2 and
OAUTHBEARER (with or without initial response, "*" cancels; other
mechanisms -ERR; each response line is logged as a C line), STAT, LIST
[n], UIDL [n], RETR n, TOP n k, DELE n, RSET, NOOP, QUIT (+OK, applies the
DELEs, closes). Anything else: "-ERR unknown command".
"""

import argparse
import base64
import binascii
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

MAX_CMD_LINE = 64 * 1024
CHUNK = 64 * 1024
LOCK = threading.Lock()
TLS_VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}
_local = threading.local()


def b(s):
    """Script string -> bytes (Latin-1: one char per byte)."""
    if isinstance(s, bytes):
        return s
    return str(s).encode("latin-1")


def bearer_token(mech, raw):
    """The token of an XOAUTH2 ("user=U^Aauth=Bearer T^A^A") or an
    OAUTHBEARER ("n,a=U,^Ahost=H^Aport=P^Aauth=Bearer T^A^A") response,
    or None if the response is not exactly of that form."""
    if not raw.endswith(b"\x01\x01"):
        return None
    parts = raw[:-2].split(b"\x01")
    if mech == b"XOAUTH2":
        if len(parts) != 2 or not parts[0].startswith(b"user="):
            return None
        kv = parts[1:]
    else:
        if not re.fullmatch(rb"n,(a=[^,]*)?,", parts[0]):
            return None
        kv = parts[1:]
    auth = [p for p in kv if p.startswith(b"auth=")]
    if len(auth) != 1 or not auth[0].startswith(b"auth=Bearer "):
        return None
    return auth[0][len(b"auth=Bearer "):]


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


def stuff_lines(lines):
    """Multi-line body from a list of lines: stuffed, CRLF, terminator."""
    out = bytearray()
    for ln in lines:
        ln = b(ln)
        if ln.startswith(b"."):
            ln = b"." + ln
        out += ln + b"\r\n"
    out += b".\r\n"
    return bytes(out)


def wire_of_text(text):
    """A message's CRLF form (what LIST counts) and its wire form."""
    t = b(text)
    if not t.endswith(b"\n"):
        t += b"\n"
    lines = t[:-1].split(b"\n")
    crlf = b"".join(ln + b"\r\n" for ln in lines)
    return crlf, stuff_lines(lines)


class Logger:
    def __init__(self, path):
        self.fh = open(path, "a", buffering=1) if path else None

    def write(self, sess, text):
        if self.fh is None:
            return
        with LOCK:
            self.fh.write("S%d %s\n" % (sess, text))
            self.fh.flush()


class Mailbox:
    """Messages shared by all sessions of one run."""

    def __init__(self, msgs):
        self.set(msgs)
        self.hidden = set()

    def set(self, msgs):
        self.msgs = []
        for i, m in enumerate(msgs or []):
            m = dict(m)
            m.setdefault("num", i + 1)
            if "wire" in m:
                m["_wire"] = b(m["wire"])
                m.setdefault("size", len(m["_wire"]))
            elif m.get("gen") == "endless":
                m["_wire"] = None
                m.setdefault("size", 1000)
            else:
                crlf, wire = wire_of_text(m.get("text", ""))
                m["_wire"] = wire
                m.setdefault("size", len(crlf))
            self.msgs.append(m)


class Session:
    def __init__(self, srv, num, sock):
        self.srv = srv
        self.num = num
        self.sock = sock
        self.tls = False
        self.rbuf = bytearray()
        self.deleted = set()
        self.retrieved = set()
        self.uses = {}
        self.closed = False
        self.sni = None
        sc = dict(srv.script)
        over = (srv.script.get("sessions") or {}).get(str(num))
        if over:
            sc.update(over)
            if "messages" in over:
                srv.mbox.set(over["messages"])
        self.sc = sc

    # -- I/O -------------------------------------------------------------
    def log(self, text):
        self.srv.logger.write(self.num, text)

    def send(self, data, drip=None):
        if not data:
            return
        if drip:
            for i in range(len(data)):
                self.sock.sendall(data[i:i + 1])
                time.sleep(drip)
        else:
            self.sock.sendall(data)

    def readline(self):
        while True:
            i = self.rbuf.find(b"\n")
            if i >= 0:
                line = bytes(self.rbuf[:i])
                del self.rbuf[:i + 1]
                if line.endswith(b"\r"):
                    line = line[:-1]
                return line
            if len(self.rbuf) > MAX_CMD_LINE:
                self.log("error client line too long")
                return None
            try:
                data = self.sock.recv(65536)
            except (OSError, ssl.SSLError) as ex:
                self.log("eof (%s)" % ex.__class__.__name__)
                return None
            if not data:
                self.log("eof")
                return None
            self.rbuf += data

    def close(self, how="fin"):
        if self.closed:
            return
        self.closed = True
        self.log("close %s" % how)
        s = self.sock
        try:
            if how == "rst":
                import struct
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
            elif how == "abrupt":
                # TCP FIN without a TLS close_notify (socket.shutdown of
                # the plain socket under the SSL layer).
                socket.socket.shutdown(s, socket.SHUT_RDWR)
            else:
                if isinstance(s, ssl.SSLSocket):
                    try:
                        s.settimeout(1)
                        s = s.unwrap()
                    except (OSError, ssl.SSLError, ValueError):
                        pass
                s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            s.close()
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass

    def starttls(self):
        if self.rbuf:
            self.log("client sent %d bytes after STLS before the handshake"
                     % len(self.rbuf))
            self.rbuf.clear()
        _local.session = self
        try:
            self.sock = self.srv.ctx.wrap_socket(self.sock, server_side=True)
        except (OSError, ssl.SSLError) as ex:
            self.log("tls fail %s" % str(ex).replace("\n", " ")[:200])
            self.closed = True
            return False
        finally:
            _local.session = None
        self.tls = True
        self.log("tls ok %s sni=%s" % (self.sock.version(), self.sni or "-"))
        return True

    # -- responses -------------------------------------------------------
    def respond(self, spec, line=b""):
        """Send a RESPONSE. Returns False when the session is over."""
        if isinstance(spec, str):
            spec = {"reply": spec}
        if spec.get("delay"):
            time.sleep(float(spec["delay"]))
        if spec.get("ignore"):
            if spec.get("close"):
                self.close(spec["close"])
                return False
            return True
        if "gen" in spec:
            if self.generate(spec["gen"]):
                return True
            self.close(spec.get("close", "fin"))
            return False
        data = b""
        action = None
        if "reply" in spec:
            r = spec["reply"]
            if isinstance(r, list):
                data = b(r[0]) + b"\r\n" + stuff_lines(r[1:])
            else:
                data = b(r) + b"\r\n"
        elif "raw" in spec:
            data = b(spec["raw"])
        elif line is not None:
            data, action = self.builtin(line)
        if data is None:   # a streamed built-in (endless message)
            return False
        if spec.get("extra"):
            data += b(spec["extra"])
        if spec.get("truncate") is not None:
            data = data[:int(spec["truncate"])]
        first = data.split(b"\n", 1)[0][:100]
        if first:
            self.log("R " + esc(first.rstrip(b"\r")))
        try:
            self.send(data, spec.get("drip"))
        except (OSError, ssl.SSLError) as ex:
            self.log("send failed (%s)" % ex.__class__.__name__)
            self.close("fin")
            return False
        if spec.get("starttls") or action == "starttls":
            return self.starttls()
        if spec.get("close"):
            self.close(spec["close"])
            return False
        if action == "quit":
            self.close("fin")
            return False
        return True

    def generate(self, g):
        """Stream a generator. True if the session goes on afterwards."""
        kind = g.get("type")
        sent = 0

        def out(data):
            nonlocal sent
            self.sock.sendall(data)
            sent += len(data)
        try:
            if kind == "endless_line":
                self.log("R gen endless_line")
                out(b(g.get("prefix", "")))
                chunk = b"A" * CHUNK
                while True:
                    out(chunk)
            elif kind == "endless_body":
                self.log("R gen endless_body")
                out(b(g.get("status", "+OK")) + b"\r\n" +
                    b"Subject: endless\r\n\r\n")
                chunk = (b"x" * 76 + b"\r\n") * 800
                while True:
                    out(chunk)
            elif kind == "lines":
                count = g.get("count")
                fmt = g.get("fmt", "{n}")
                self.log("R gen lines count=%s" % count)
                buf = bytearray()
                if g.get("status") is not None:
                    buf += b(g["status"]) + b"\r\n"
                n = 1
                while count is None or n <= count:
                    buf += b(fmt.format(n=n)) + b"\r\n"
                    n += 1
                    if len(buf) >= CHUNK:
                        out(bytes(buf))
                        buf.clear()
                if g.get("end", True):
                    buf += b".\r\n"
                out(bytes(buf))
                # A finite listing: the session goes on (LIST etc.).
                return count is not None and not g.get("close")
            else:
                self.log("error unknown generator %r" % kind)
        except (OSError, ssl.SSLError) as ex:
            self.log("gen stopped after %d bytes (%s)" %
                     (sent, ex.__class__.__name__))
        return False

    # -- the built-in server ---------------------------------------------
    def visible(self):
        mb = self.srv.mbox
        gm = self.sc.get("gmail")
        out = []
        for m in mb.msgs:
            if gm and not gm.get("recent") and m["uidl"] in mb.hidden:
                continue
            out.append(m)
        if gm and gm.get("per_session"):
            out = out[:int(gm["per_session"])]
        return out

    def find(self, arg):
        try:
            n = int(arg)
        except ValueError:
            return None
        for m in self.visible():
            if m["num"] == n and n not in self.deleted:
                return m
        return None

    def capa(self):
        if self.tls and "capa_tls" in self.sc:
            caps = self.sc["capa_tls"]
        else:
            caps = self.sc.get("capa", ["TOP", "UIDL", "USER",
                                        "RESP-CODES"])
            if caps is None:
                return None
            caps = list(caps)
            if self.tls:
                caps = [c for c in caps if c.upper() != "STLS"]
            elif (self.srv.mode == "stls" and "capa" not in self.sc and
                  "STLS" not in caps):
                caps.append("STLS")
        return caps

    def builtin(self, line):
        """(bytes, action) for a command; bytes None when streamed."""
        parts = line.split(b" ")
        cmd = parts[0].upper()
        args = parts[1:]
        live = [m for m in self.visible() if m["num"] not in self.deleted]
        if cmd == b"CAPA":
            caps = self.capa()
            if caps is None:
                return b"-ERR no CAPA here\r\n", None
            return b"+OK capabilities\r\n" + stuff_lines(caps), None
        if cmd == b"STLS":
            if self.srv.mode == "stls" and not self.tls:
                return b"+OK begin TLS\r\n", "starttls"
            return b"-ERR no STLS\r\n", None
        if cmd == b"USER":
            return b"+OK send PASS\r\n", None
        if cmd == b"PASS":
            want = self.sc.get("password")
            got = line[5:] if len(line) > 5 else b""
            if want is not None and got != b(want):
                return b"-ERR [AUTH] wrong password\r\n", None
            return b"+OK logged in\r\n", None
        if cmd == b"APOP":
            return b"+OK logged in\r\n", None
        if cmd == b"AUTH":
            return self.auth(args), None
        if cmd == b"NOOP":
            return b"+OK\r\n", None
        if cmd == b"STAT":
            return (b"+OK %d %d\r\n" % (len(live),
                                        sum(m["size"] for m in live))), None
        if cmd in (b"LIST", b"UIDL"):
            if args:
                m = self.find(args[0])
                if m is None:
                    return b"-ERR no such message\r\n", None
                v = m["size"] if cmd == b"LIST" else m["uidl"]
                return b"+OK %d %s\r\n" % (m["num"], b(str(v))), None
            lines = []
            for m in live:
                v = m["size"] if cmd == b"LIST" else m["uidl"]
                lines.append(b"%d %s" % (m["num"], b(str(v))))
            return b"+OK listing\r\n" + stuff_lines(lines), None
        if cmd in (b"RETR", b"TOP"):
            m = self.find(args[0]) if args else None
            if m is None:
                return b"-ERR no such message\r\n", None
            self.retrieved.add(m["uidl"])
            if m["_wire"] is None:
                self.generate({"type": "endless_body",
                               "status": "+OK %d octets" % m["size"]})
                self.close("fin")
                return None, None
            wire = m["_wire"]
            if cmd == b"TOP":
                try:
                    k = int(args[1])
                except (IndexError, ValueError):
                    return b"-ERR syntax\r\n", None
                head, sep, rest = wire.partition(b"\r\n\r\n")
                body = rest.split(b"\r\n")[:k] if sep else []
                wire = head + b"\r\n" + sep[2:] + b"".join(
                    ln + b"\r\n" for ln in body if ln != b".")
                if not wire.endswith(b".\r\n"):
                    wire += b".\r\n"
            return (b"+OK %d octets\r\n" % m["size"]) + wire, None
        if cmd == b"DELE":
            m = self.find(args[0]) if args else None
            if m is None:
                return b"-ERR no such message\r\n", None
            self.deleted.add(m["num"])
            return b"+OK marked\r\n", None
        if cmd == b"RSET":
            self.deleted.clear()
            return b"+OK\r\n", None
        if cmd == b"QUIT":
            self.update()
            return b"+OK bye\r\n", "quit"
        return b"-ERR unknown command\r\n", None

    def auth_line(self):
        """The client's next SASL response line, logged like a command;
        None when the client went away."""
        resp = self.readline()
        if resp is not None:
            self.log("C %s q=%d %s" % ("tls" if self.tls else "plain",
                                       self.rbuf.count(b"\n"), esc(resp)))
        return resp

    def auth(self, args):
        """AUTH PLAIN (RFC 4616, 5034), XOAUTH2 and OAUTHBEARER (RFC
        7628), with or without an initial response; "*" cancels. A
        refused bearer token gets a JSON error challenge first (as Google
        and Microsoft send), then -ERR [AUTH] once the client answers it.
        Other mechanisms: -ERR."""
        mech = args[0].upper() if args else b""
        if mech not in (b"PLAIN", b"XOAUTH2", b"OAUTHBEARER"):
            return b"-ERR unsupported mechanism\r\n"
        if len(args) > 1:
            resp = args[1]
        else:
            self.log("R + ")
            self.send(b"+ \r\n")
            resp = self.auth_line()
            if resp is None:
                return b""
        if resp == b"*":
            return b"-ERR AUTH cancelled\r\n"
        try:
            raw = b"" if resp == b"=" else base64.b64decode(resp,
                                                            validate=True)
        except (ValueError, binascii.Error):
            return b"-ERR malformed response\r\n"
        if mech == b"PLAIN":
            try:
                _authz, _user, pw = raw.split(b"\0")
            except ValueError:
                return b"-ERR malformed PLAIN response\r\n"
            want = self.sc.get("password")
            if want is not None and pw != b(want):
                return b"-ERR [AUTH] wrong password\r\n"
            return b"+OK logged in\r\n"
        tok = bearer_token(mech, raw)
        if tok is None:
            return b"-ERR malformed %s response\r\n" % mech
        want = self.sc.get("token")
        if want is not None and tok != b(want):
            err = base64.b64encode(b'{"status":"invalid_token",'
                                   b'"schemes":"Bearer","scope":"pop"}')
            self.log("R + <error challenge>")
            self.send(b"+ " + err + b"\r\n")
            if self.auth_line() is None:
                return b""
            return b"-ERR [AUTH] invalid token\r\n"
        return b"+OK logged in\r\n"

    def update(self):
        """RFC 1939 UPDATE state: remove what was marked."""
        mb = self.srv.mbox
        gone = set(self.deleted)
        mb.msgs = [m for m in mb.msgs if m["num"] not in gone]
        if self.sc.get("gmail"):
            mb.hidden |= self.retrieved
        if gone:
            self.log("update removed %s" % " ".join(map(str, sorted(gone))))

    # -- the session -------------------------------------------------------
    def rule_for(self, text):
        for i, r in enumerate(self.sc.get("rules") or []):
            if not re.fullmatch(r["match"], text, re.S):
                continue
            s = r.get("session")
            if s is not None:
                ss = s if isinstance(s, list) else [s]
                if self.num not in ss:
                    continue
            if "tls" in r and bool(r["tls"]) != self.tls:
                continue
            if "times" in r and self.uses.get(i, 0) >= int(r["times"]):
                continue
            self.uses[i] = self.uses.get(i, 0) + 1
            return r
        return None

    def serve(self):
        while not self.closed:
            line = self.readline()
            if line is None:
                self.closed = True
                return
            queued = self.rbuf.count(b"\n")
            self.log("C %s q=%d %s" % ("tls" if self.tls else "plain",
                                       queued, esc(line)))
            text = line.decode("latin-1")
            spec = self.rule_for(text)
            if spec is None:
                spec = {"builtin": True}
            if not self.respond(spec, line):
                return

    def run(self):
        self.log("connect")
        try:
            if self.srv.mode == "tls" and not self.starttls():
                return
            g = self.sc.get("greeting", "+OK fakepop ready")
            if self.respond(g, None):
                self.serve()
        except Exception as ex:  # noqa: BLE001 -- log anything, never hang
            self.log("error %s: %s" % (ex.__class__.__name__, ex))
        finally:
            if not self.closed:
                self.close("fin")
            self.log("end")


class Server:
    def __init__(self, args):
        self.args = args
        self.mode = args.mode
        with open(args.script, encoding="utf-8") as fh:
            self.script = json.load(fh)
        self.mbox = Mailbox(self.script.get("messages"))
        self.logger = Logger(args.log)
        self.ctx = self.tls_context() if self.mode != "plain" else None

    def tls_context(self):
        a = self.args
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        low = a.tls_max in ("1.0", "1.1") or a.tls_min in ("1.0", "1.1")
        if a.anon:
            ctx.set_ciphers("aNULL:@SECLEVEL=0")
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        else:
            if not a.cert or not a.key:
                sys.exit("fakepop: --mode %s needs --cert and --key"
                         % self.mode)
            ctx.load_cert_chain(a.cert, a.key)
            if low:
                ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        if a.tls_min:
            ctx.minimum_version = TLS_VERSIONS[a.tls_min]
        elif low:
            ctx.minimum_version = ssl.TLSVersion.TLSv1
        if a.tls_max:
            ctx.maximum_version = TLS_VERSIONS[a.tls_max]

        def sni(sslobj, name, _ctx):
            s = getattr(_local, "session", None)
            if s is not None:
                s.sni = name
        ctx.sni_callback = sni
        return ctx

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
            s = Session(self, n, c)
            t = threading.Thread(target=s.run, daemon=True)
            t.start()
            threads.append(t)
        self.logger.write(0, "timeout after %g s" % a.timeout)
        return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--script", required=True)
    ap.add_argument("--mode", choices=("plain", "stls", "tls"),
                    default="plain")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--tls-min", choices=sorted(TLS_VERSIONS))
    ap.add_argument("--tls-max", choices=sorted(TLS_VERSIONS))
    ap.add_argument("--anon", action="store_true")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--log")
    ap.add_argument("--max-conns", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--io-timeout", type=float, default=10.0,
                    help="per-socket send/receive timeout (s)")
    args = ap.parse_args()
    if not args.host.startswith("127."):
        ap.error("--host must be a loopback address (127.x.y.z)")
    srv = Server(args)
    rc = srv.serve()
    sys.stdout.flush()
    os._exit(rc)


if __name__ == "__main__":
    main()
