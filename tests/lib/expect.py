#!/usr/bin/env python3
"""expect.py -- what popvault must archive for a message file on Dovecot.

popvault stores "what POP3 RETR delivered, dot-unstuffed, with CRLF turned
into LF". This module maps a Dovecot Maildir file to those bytes, following
what Dovecot 2.3.19 was observed to send (docs/dovecot-notes.md; the code is
fetch_callback() in Dovecot's src/pop3/pop3-commands.c):

  * every LF not preceded by CR is sent as CRLF; an existing CRLF is sent
    as is, so "\\r\\n" in the file reaches the archive as "\\n";
  * bare CR and NUL bytes are sent unchanged;
  * a "." after an LF is doubled (dot-stuffing), but NOT a "." at the very
    first byte of the message (Dovecot bug: ctx->last starts as '\\0');
  * if the file does not end with LF (also: an empty file), CRLF is
    appended;
  * LIST/STAT sizes count the file with every bare LF as two bytes; they
    do not count dot-stuffing or the appended CRLF.

Library:
    expected_archive_bytes(file_bytes) -> bytes    (raises Unsupported)
    dovecot_wire(file_bytes) -> bytes   RETR body as sent, before ".CRLF"
    client_archive(wire) -> bytes       what a correct client stores
    dovecot_list_size(file_bytes) -> int

CLI:
    expect.py sha256 FILE...
        one line per FILE: sha256 hex of its expected archive bytes
    expect.py compare LIST ARCHIVE_DIR
        LIST holds one entry per line: a server message file path (as
        printed by dv_server_files) or a 64-hex sha256 (as printed by
        "expect.py sha256"). Compares the multiset of expected hashes with
        the sha256 of every regular file under ARCHIVE_DIR/new and
        ARCHIVE_DIR/cur (recursively). Exit 0 if equal, 1 if not (with a
        diff), 2 on usage or I/O errors.
        A path whose file Dovecot has since moved from new/ to cur/
        ("name:2,S") is found again by its unique name; a message deleted
        from the server cannot be: hash the list before running popvault.
    expect.py compare --may MAYLIST LIST ARCHIVE_DIR
        The same, except that the archive may also hold the entries of
        MAYLIST (same format; each at most as often as listed there, not
        required): every LIST entry must be in the archive, and every
        archive file must be a LIST or a MAYLIST entry. For a server that
        rewrites its messages (tests/lib/servers/matrix.sh): a killed
        fetch may or may not have archived the version it was served.
    expect.py selftest
        check expected_archive_bytes against the byte-level model
"""

import hashlib
import os
import random
import re
import stat
import sys

HEX64 = re.compile(r"^[0-9a-f]{64}$")
_BARE_LF = re.compile(rb"(?<!\r)\n")


class Unsupported(Exception):
    """Dovecot cannot deliver this file intact (first line is ".")."""


def dovecot_wire(f):
    """The RETR response body Dovecot sends for file bytes f (no ".CRLF")."""
    w = _BARE_LF.sub(b"\r\n", f)
    w = w.replace(b"\n.", b"\n..")     # not at offset 0: Dovecot's quirk
    if not f.endswith(b"\n"):
        w += b"\r\n"
    return w


def client_archive(wire):
    """What a correct POP3 client archives from the stream wire + ".CRLF".

    Raises Unsupported if the response ends before the end of wire (the
    client would then read the rest as the next response).
    """
    stream = wire + b".\r\n"
    if stream.startswith(b".\r\n"):
        end = 0
    else:
        end = stream.find(b"\r\n.\r\n") + 2
    if end != len(wire):
        raise Unsupported("response ends after %d of %d bytes" %
                          (end, len(wire)))
    body = wire
    if body.startswith(b"."):
        body = body[1:]
    body = body.replace(b"\r\n.", b"\r\n")
    return body.replace(b"\r\n", b"\n")


def expected_archive_bytes(f):
    """Bytes popvault must store for Dovecot Maildir file bytes f."""
    if f.startswith(b"."):
        if f == b"." or f.startswith(b".\n") or f.startswith(b".\r\n"):
            raise Unsupported("message whose first line is \".\": Dovecot "
                              "sends it unstuffed, ending the response")
        body = f[1:]            # sent unstuffed, so the client unstuffs it
    else:
        body = f
    out = body.replace(b"\r\n", b"\n")
    if not f.endswith(b"\n"):
        out += b"\n"
    return out


def dovecot_list_size(f):
    """The size Dovecot reports in LIST/STAT for file bytes f."""
    return len(f) + len(_BARE_LF.findall(f))


def sha256_file_expected(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(expected_archive_bytes(fh.read())).hexdigest()


def _resolve(path):
    """path, or where Dovecot moved it (new/X -> cur/X:2,FLAGS)."""
    if os.path.exists(path):
        return path
    d, name = os.path.split(path)
    uniq = name.split(":", 1)[0]
    md = os.path.dirname(d)
    for sub in ("cur", "new"):
        try:
            for cand in os.listdir(os.path.join(md, sub)):
                if cand.split(":", 1)[0] == uniq:
                    return os.path.join(md, sub, cand)
        except OSError:
            pass
    return None


def _archive_hashes(adir):
    out = {}
    for sub in ("new", "cur"):
        top = os.path.join(adir, sub)
        if not os.path.isdir(top):
            continue
        for root, dirs, files in os.walk(top):
            dirs.sort()
            for name in sorted(files):
                p = os.path.join(root, name)
                if not stat.S_ISREG(os.lstat(p).st_mode):
                    continue
                h = hashlib.sha256()
                with open(p, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        h.update(chunk)
                out.setdefault(h.hexdigest(), []).append(p)
    return out


def _read_list(listfile, expected):
    """Add the entries of listfile to expected (sha256 -> [labels]).
    Returns 0, or 2 after saying why on stderr."""
    with open(listfile) as fh:
        entries = [l.strip() for l in fh if l.strip()]
    for e in entries:
        if HEX64.match(e):
            expected.setdefault(e, []).append("(hash)")
            continue
        p = _resolve(e)
        if p is None:
            print("compare: server file gone: %s (hash the list before "
                  "running popvault)" % e, file=sys.stderr)
            return 2
        try:
            h = sha256_file_expected(p)
        except Unsupported as ex:
            print("compare: %s: %s" % (e, ex), file=sys.stderr)
            return 2
        expected.setdefault(h, []).append(e)
    return 0


def cmd_compare(listfile, adir, maylist=None):
    expected, may = {}, {}
    rc = _read_list(listfile, expected)
    if rc == 0 and maylist is not None:
        rc = _read_list(maylist, may)
    if rc:
        return rc
    if not os.path.isdir(adir):
        print("compare: no archive directory %s" % adir, file=sys.stderr)
        return 2
    got = _archive_hashes(adir)
    n_exp = sum(len(v) for v in expected.values())
    n_got = sum(len(v) for v in got.values())
    missing, extra = [], []
    for h in sorted(set(expected) | set(got)):
        e, g = expected.get(h, []), got.get(h, [])
        if len(e) > len(g):
            missing += [(h, x) for x in e[len(g):]]
        elif len(g) > len(e) + len(may.get(h, [])):
            extra += [(h, x) for x in g[len(e) + len(may.get(h, [])):]]
    if not missing and not extra:
        if maylist is None:
            print("compare: OK: %d messages, archive matches" % n_exp)
        else:
            print("compare: OK: %d messages required, %d optional ones "
                  "archived too" % (n_exp, n_got - n_exp))
        return 0
    print("compare: MISMATCH: expected %d messages, archive has %d files; "
          "%d missing, %d extra" % (n_exp, n_got, len(missing), len(extra)))
    for h, x in missing[:50]:
        print("  missing %s  %s" % (h, x))
    if len(missing) > 50:
        print("  ... %d more missing" % (len(missing) - 50))
    for h, x in extra[:50]:
        print("  extra   %s  %s" % (h, x))
    if len(extra) > 50:
        print("  ... %d more extra" % (len(extra) - 50))
    return 1


def cmd_selftest():
    rng = random.Random(1)
    alphabet = [b".", b"\n", b"\r", b"\0", b"a", b"F", b" "]
    n = 0
    for _ in range(200000):
        f = b"".join(rng.choice(alphabet)
                     for _ in range(rng.randint(0, 12)))
        try:
            want = client_archive(dovecot_wire(f))
        except Unsupported:
            want = None
        try:
            got = expected_archive_bytes(f)
        except Unsupported:
            got = None
        if want != got:
            print("selftest: mismatch for %r: model %r, function %r" %
                  (f, want, got))
            return 1
        n += 1
    print("selftest: OK (%d random files)" % n)
    return 0


def main(argv):
    usage = ("usage: expect.py sha256 FILE... | compare [--may MAYLIST] "
             "LIST ARCHIVE_DIR | selftest")
    if not argv:
        print(usage, file=sys.stderr)
        return 2
    cmd, args = argv[0], argv[1:]
    try:
        if cmd == "sha256" and args:
            rc = 0
            for p in args:
                try:
                    print(sha256_file_expected(p))
                except Unsupported as ex:
                    print("expect.py: %s: %s" % (p, ex), file=sys.stderr)
                    rc = 2
            return rc
        if cmd == "compare" and len(args) == 2:
            return cmd_compare(args[0], args[1])
        if cmd == "compare" and len(args) == 4 and args[0] == "--may":
            return cmd_compare(args[2], args[3], args[1])
        if cmd == "selftest" and not args:
            return cmd_selftest()
    except OSError as ex:
        print("expect.py: %s" % ex, file=sys.stderr)
        return 2
    print(usage, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
