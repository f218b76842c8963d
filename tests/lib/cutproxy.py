#!/usr/bin/env python3
"""cutproxy.py -- a TCP proxy that cuts connections after K bytes.

    cutproxy.py --target HOST:PORT [--listen HOST] [--port N]
                [--port-file FILE] [--cut K] [--count both|c2s|s2c]
                [--rst] [--hold MS] [--cut-file FILE] [--once] [--log FILE]

Listens on HOST:N (default 127.0.0.1, N=0: a free port; the port is written
to --port-file once the socket listens, and printed on stdout) and forwards
every connection to the target, byte for byte (TLS passes through untouched:
point a client at the proxy with the host name the certificate names).

Fault: after K forwarded bytes of a connection (counted in both directions
together, or only client->server with --count c2s, or only server->client
with --count s2c) the proxy stops reading from both sides, delivers what it
already accepted (never more than K counted bytes), then closes both
connections: with FIN (shutdown), or with --rst with a TCP reset. K = 0
(the default) never cuts. Every connection starts with a fresh budget of K.
--hold MS: once K bytes have passed, keep both connections open for MS
milliseconds more, forwarding nothing (what the server sends is read and
dropped, so it is not blocked), then cut: the server surely acts on the
last command it got (e.g. QUIT) while its reply is lost. The hold ends
early as soon as the server sends anything (that reply), so MS is only
an upper bound.

--cut-file FILE: read K (and optionally MODE, the word "rst" and
"hold=MS") from the first line of FILE at each accepted connection,
overriding --cut/--count/--rst/--hold ("0", an empty or a missing file: no
cut). One proxy on one port can
so serve a faulty run and then a clean one (popvault names an account by
USER@HOST:PORT, so the port must not change between them).

--once: exit after the first connection has ended (else serve until
SIGTERM/SIGINT).

--log FILE: append, per connection, when it ends:
    conn N mode=MODE cut=K
    rec DIR TYPE LEN DIROFF TOTOFF   one line per TLS record header seen
                                     (DIR c2s|s2c; TYPE the content type;
                                     DIROFF bytes of DIR before the header,
                                     TOTOFF bytes of both directions before
                                     it)
    end N c2s=BYTES s2c=BYTES total=BYTES cut=yes|no
Record offsets let a test aim K at one command (TLS 1.3 sends every
command in its own record: "DELE 12\\r\\n" is a 25-byte record body).

Standard library only; one thread (selectors), non-blocking sockets.
"""

import argparse
import os
import selectors
import signal
import socket
import struct
import sys
import time

CHUNK = 65536
HIGH_WATER = 1 << 20    # stop reading a side while this much waits for the other


class TlsTap:
    """Finds TLS record headers in one direction of a stream."""

    def __init__(self, name):
        self.name = name
        self.hdr = b""
        self.left = 0      # body bytes of the current record still to come
        self.events = []

    def feed(self, data, diroff, totoff):
        i = 0
        n = len(data)
        while i < n:
            if self.left > 0:
                take = min(self.left, n - i)
                self.left -= take
                i += take
                continue
            need = 5 - len(self.hdr)
            piece = data[i:i + need]
            if not self.hdr:
                self.start = (diroff + i, totoff + i)
            self.hdr += piece
            i += len(piece)
            if len(self.hdr) == 5:
                typ = self.hdr[0]
                length = struct.unpack(">H", self.hdr[3:5])[0]
                self.events.append("rec %s %d %d %d %d" % (
                    self.name, typ, length, self.start[0], self.start[1]))
                self.hdr = b""
                self.left = length


class End:
    def __init__(self, sock, name):
        self.sock = sock
        self.name = name        # the direction of data READ from this end
        self.out = bytearray()  # waiting to be written to this end
        self.eof = False        # read side finished
        self.shut = False       # we sent FIN to it


class Conn:
    def __init__(self, proxy, num, client, upstream, cut, mode, rst, hold):
        self.proxy = proxy
        self.hold = hold
        self.deadline = None    # holding: cut at this time.monotonic()
        self.num = num
        self.c = End(client, "c2s")
        self.s = End(upstream, "s2c")
        self.cut = cut
        self.mode = mode
        self.rst = rst
        self.left = cut if cut > 0 else None
        self.cutting = False
        self.closed = False
        self.count = {"c2s": 0, "s2c": 0}
        self.taps = {"c2s": TlsTap("c2s"), "s2c": TlsTap("s2c")}
        for e in (self.c, self.s):
            e.sock.setblocking(False)
        self.update()

    def other(self, e):
        return self.s if e is self.c else self.c

    def total(self):
        return self.count["c2s"] + self.count["s2c"]

    def update(self):
        if self.closed:
            return
        sel = self.proxy.sel
        for e in (self.c, self.s):
            ev = 0
            if not e.eof and not self.cutting and \
                    len(self.other(e).out) < HIGH_WATER:
                ev |= selectors.EVENT_READ
            if self.deadline is not None and e is self.s and not e.eof:
                ev |= selectors.EVENT_READ    # read and drop
            if e.out:
                ev |= selectors.EVENT_WRITE
            try:
                key = sel.get_key(e.sock)
            except KeyError:
                key = None
            if ev == 0:
                if key is not None:
                    sel.unregister(e.sock)
            elif key is None:
                sel.register(e.sock, ev, (self, e))
            elif key.events != ev:
                sel.modify(e.sock, ev, (self, e))
        if self.cutting and not self.c.out and not self.s.out:
            if self.hold > 0 and self.deadline is None:
                self.deadline = time.monotonic() + self.hold / 1000.0
                self.proxy.holding.add(self)
                self.update()
            elif self.deadline is None or \
                    time.monotonic() >= self.deadline:
                self.close(True)
        elif self.c.eof and self.s.eof and not self.c.out and \
                not self.s.out:
            self.close(False)

    def on_read(self, e):
        try:
            data = e.sock.recv(CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if self.deadline is not None:     # holding: drop it
            if not data:
                e.eof = True
            elif e.name == "s2c":
                # The server answered what it got last (QUIT's reply
                # comes after its deletions): the hold has done its job.
                self.deadline = time.monotonic()
            self.update()
            return
        dst = self.other(e)
        if not data:
            e.eof = True
            if not dst.out:
                self.shut_write(dst)
            self.update()
            return
        counted = self.mode == "both" or self.mode == e.name
        if self.left is not None and counted:
            if len(data) >= self.left:
                data = data[:self.left]
                self.cutting = True
            self.left -= len(data)
        self.taps[e.name].feed(data, self.count[e.name], self.total())
        self.count[e.name] += len(data)
        dst.out += data
        self.flush(dst)
        self.update()

    def flush(self, e):
        while e.out:
            try:
                n = e.sock.send(e.out)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                # The peer is gone: nothing more can be delivered.
                self.close(self.cutting)
                return
            del e.out[:n]
        src = self.other(e)
        if src.eof and not e.shut:
            self.shut_write(e)

    def shut_write(self, e):
        if e.shut or self.cutting:
            return
        e.shut = True
        try:
            e.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self, cut):
        if self.closed:
            return
        self.closed = True
        self.proxy.holding.discard(self)
        for e in (self.c, self.s):
            try:
                self.proxy.sel.unregister(e.sock)
            except (KeyError, ValueError):
                pass
            try:
                if cut and self.rst:
                    e.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                      struct.pack("ii", 1, 0))
                else:
                    e.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            e.sock.close()
        self.proxy.ended(self, cut)


class Proxy:
    def __init__(self, args):
        self.args = args
        host, _, port = args.target.rpartition(":")
        self.target = (host or "127.0.0.1", int(port))
        self.sel = selectors.DefaultSelector()
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((args.listen, args.port))
        self.lsock.listen(64)
        self.lsock.setblocking(False)
        self.sel.register(self.lsock, selectors.EVENT_READ, None)
        self.port = self.lsock.getsockname()[1]
        self.nconn = 0
        self.live = 0
        self.done = False
        self.holding = set()

    def settings(self):
        a = self.args
        cut, mode, rst, hold = a.cut, a.count, a.rst, a.hold
        if a.cut_file:
            try:
                with open(a.cut_file) as fh:
                    words = fh.readline().split()
            except OSError:
                words = []
            cut, mode, rst, hold = 0, "both", False, 0
            if words:
                cut = int(words[0])
            for w in words[1:]:
                if w in ("both", "c2s", "s2c"):
                    mode = w
                elif w == "rst":
                    rst = True
                elif w.startswith("hold="):
                    hold = int(w[5:])
                else:
                    raise ValueError("cut file: unknown word %r" % w)
        return cut, mode, rst, hold

    def accept(self):
        try:
            client, _ = self.lsock.accept()
        except (BlockingIOError, InterruptedError):
            return
        self.nconn += 1
        try:
            cut, mode, rst, hold = self.settings()
        except ValueError as ex:
            print("cutproxy: %s" % ex, file=sys.stderr)
            client.close()
            return
        try:
            up = socket.create_connection(self.target, timeout=10)
        except OSError as ex:
            print("cutproxy: cannot reach %s:%d: %s" % (self.target + (ex,)),
                  file=sys.stderr)
            client.close()
            if self.args.once:
                self.done = True
            return
        for s in (client, up):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.live += 1
        Conn(self, self.nconn, client, up, cut, mode, rst, hold)

    def ended(self, conn, cut):
        self.live -= 1
        if self.args.log:
            lines = ["conn %d mode=%s cut=%d%s%s" % (
                conn.num, conn.mode, conn.cut, " rst" if conn.rst else "",
                " hold=%d" % conn.hold if conn.hold else "")]
            ev = conn.taps["c2s"].events + conn.taps["s2c"].events
            ev.sort(key=lambda s: int(s.split()[5]))
            lines += ev
            lines.append("end %d c2s=%d s2c=%d total=%d cut=%s" % (
                conn.num, conn.count["c2s"], conn.count["s2c"],
                conn.total(), "yes" if cut else "no"))
            with open(self.args.log, "a") as fh:
                fh.write("\n".join(lines) + "\n")
        if self.args.once:
            self.done = True

    def serve(self):
        while not self.done:
            for conn in list(self.holding):
                if time.monotonic() >= conn.deadline:
                    conn.close(True)
            timeout = 0.02 if self.holding else 1.0
            for key, mask in self.sel.select(timeout=timeout):
                if key.data is None:
                    self.accept()
                    continue
                conn, end = key.data
                if conn.closed:
                    continue
                if mask & selectors.EVENT_WRITE:
                    conn.flush(end)
                    conn.update()
                if conn.closed:
                    continue
                if mask & selectors.EVENT_READ:
                    conn.on_read(end)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", required=True, help="HOST:PORT")
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--cut", type=int, default=0)
    ap.add_argument("--count", choices=("both", "c2s", "s2c"),
                    default="both")
    ap.add_argument("--rst", action="store_true")
    ap.add_argument("--hold", type=int, default=0, metavar="MS")
    ap.add_argument("--cut-file")
    ap.add_argument("--once", action="store_true")
    ap.add_argument("--log")
    args = ap.parse_args()
    if args.cut < 0:
        ap.error("--cut must be >= 0")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    p = Proxy(args)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as fh:
            fh.write("%d\n" % p.port)
        os.rename(tmp, args.port_file)
    print(p.port, flush=True)
    try:
        p.serve()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
