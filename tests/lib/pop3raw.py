#!/usr/bin/env python3
"""pop3raw.py -- a tiny POP3 client that shows the exact bytes on the wire.

Unlike poplib it does not split lines, strip CRs or unstuff dots behind your
back: multiline() returns the raw bytes between the status line and the
terminating ".\\r\\n", and unstuff() is a separate, explicit step. Used by the
harness self-test and to check tests/lib/expect.py against Dovecot.

Library:
    c = Client(host, port, tls="implicit"|"stls"|"none", cafile=..,
               server_hostname=.., timeout=10)
    c.greeting; c.cmd("USER a") -> status line (bytes, no CRLF)
    c.multiline() -> raw body bytes; unstuff(raw) -> message with CRLF
    c.login(user, pass); c.capa(); c.stat(); c.retr_raw(n); c.quit()

CLI (exit 0 ok, 1 protocol error, 2 usage, 3 TLS certificate failure,
4 connection failure):
    pop3raw.py [common options] capa
    pop3raw.py [common options] stat      print the message count
    pop3raw.py [common options] uidl      print "n uidl" lines
    pop3raw.py [common options] list      print "n size" lines
    pop3raw.py [common options] fetch OUTDIR   RETR every message, write
        OUTDIR/<n>.wire (raw) and OUTDIR/<n>.eml (unstuffed, CRLF -> LF),
        print "<n> <uidl>" per message
    common: --host H --port P [--tls implicit|stls|none] [--ca FILE]
            [--name SERVER_HOSTNAME] [--user U --password P] [--timeout S]
"""

import argparse
import os
import socket
import ssl
import sys
import time

MAX_LINE = 1 << 20


class POP3Error(Exception):
    pass


class Client:
    def __init__(self, host, port, tls="implicit", cafile=None,
                 server_hostname=None, timeout=10.0):
        self.timeout = timeout
        self.buf = b""
        self.ctx = None
        self.server_hostname = server_hostname or host
        if tls != "none":
            self.ctx = ssl.create_default_context(cafile=cafile)
            self.ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        if tls == "implicit":
            self._wrap()
        self.greeting = self.status()
        if tls == "stls":
            caps = self.capa()
            if "STLS" not in [c.split(" ")[0].upper() for c in caps]:
                raise POP3Error("server does not offer STLS")
            self.cmd("STLS")
            if self.buf:
                raise POP3Error("data buffered after STLS reply")
            self._wrap()

    def _wrap(self):
        self.sock = self.ctx.wrap_socket(
            self.sock, server_hostname=self.server_hostname)

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise POP3Error("connection closed by server")
        self.buf += data

    def line(self):
        """One line including its CRLF."""
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                ln, self.buf = self.buf[:i + 2], self.buf[i + 2:]
                return ln
            if len(self.buf) > MAX_LINE:
                raise POP3Error("line too long")
            self._fill()

    def status(self):
        ln = self.line()[:-2]
        if not ln.startswith(b"+OK"):
            raise POP3Error("server said: %r" % ln)
        return ln

    def cmd(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.status()

    def multiline(self):
        """Raw bytes of a multi-line response body, terminator removed."""
        deadline = time.monotonic() + 10 * self.timeout
        start = 0
        # The body ends at the first "\r\n.\r\n", or is empty if it
        # starts with ".\r\n".
        while True:
            if self.buf.startswith(b".\r\n"):
                self.buf = self.buf[3:]
                return b""
            i = self.buf.find(b"\r\n.\r\n", start)
            if i >= 0:
                body, self.buf = self.buf[:i + 2], self.buf[i + 5:]
                return body
            start = max(0, len(self.buf) - 4)
            if time.monotonic() > deadline:
                raise POP3Error("multi-line response too slow")
            self._fill()

    def login(self, user, password):
        self.cmd("USER " + user)
        self.cmd("PASS " + password)

    def capa(self):
        self.cmd("CAPA")
        return [l.decode("ascii", "replace")
                for l in unstuff(self.multiline()).split(b"\r\n") if l]

    def stat(self):
        parts = self.cmd("STAT").split()
        return int(parts[1]), int(parts[2])

    def listing(self, what):
        self.cmd(what)
        out = []
        for l in unstuff(self.multiline()).split(b"\r\n"):
            if l:
                n, v = l.split(b" ", 1)
                out.append((int(n), v.decode("ascii")))
        return out

    def retr_raw(self, n):
        self.cmd("RETR %d" % n)
        return self.multiline()

    def quit(self):
        try:
            self.cmd("QUIT")
        finally:
            self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def unstuff(raw):
    """Remove the leading "." of every line that starts with "." (RFC 1939).

    A "line" is what follows a CRLF (or the start), as a POP3 reader sees it.
    """
    if not raw:
        return raw
    out = []
    for i, ln in enumerate(raw.split(b"\r\n")):
        out.append(ln[1:] if ln.startswith(b".") else ln)
    return b"\r\n".join(out)


def archive_bytes(raw):
    """What popvault stores: unstuffed, every CRLF turned into LF."""
    return unstuff(raw).replace(b"\r\n", b"\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description="raw POP3 client")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls", choices=["implicit", "stls", "none"],
                    default="implicit")
    ap.add_argument("--ca")
    ap.add_argument("--name", help="server_hostname to verify")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("action", choices=["capa", "stat", "uidl", "list", "fetch"])
    ap.add_argument("outdir", nargs="?")
    a = ap.parse_args(argv)
    try:
        c = Client(a.host, a.port, a.tls, a.ca, a.name, a.timeout)
    except ssl.SSLCertVerificationError as e:
        print("certificate verification failed: %s" % e, file=sys.stderr)
        return 3
    except (OSError, POP3Error) as e:
        if isinstance(e, ssl.SSLError):
            print("TLS error: %s" % e, file=sys.stderr)
            return 4
        print("connection failed: %s" % e, file=sys.stderr)
        return 4
    try:
        if a.action == "capa":
            for l in c.capa():
                print(l)
            c.quit()
            return 0
        if not a.user:
            ap.error("--user and --password needed")
        c.login(a.user, a.password or "")
        if a.action == "stat":
            print(c.stat()[0])
        elif a.action in ("uidl", "list"):
            for n, v in c.listing(a.action.upper()):
                print(n, v)
        else:
            if not a.outdir:
                ap.error("fetch needs OUTDIR")
            os.makedirs(a.outdir, exist_ok=True)
            for n, uid in c.listing("UIDL"):
                raw = c.retr_raw(n)
                with open(os.path.join(a.outdir, "%d.wire" % n), "wb") as f:
                    f.write(raw)
                with open(os.path.join(a.outdir, "%d.eml" % n), "wb") as f:
                    f.write(archive_bytes(raw))
                print(n, uid)
        c.quit()
        return 0
    except (OSError, POP3Error, ValueError) as e:
        print("pop3 error: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
