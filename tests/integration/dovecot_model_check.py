#!/usr/bin/env python3
"""dovecot_model_check.py -- check tests/lib/expect.py against a live Dovecot.

    dovecot_model_check.py PORT CA USER PASS MAILDIR ARCHIVE_DIR

Logs in over implicit TLS, RETRs every message with the raw client and
checks, as multisets over the mailbox (message numbers need not follow file
names):
  wire       the exact RETR bytes == expect.dovecot_wire(file)
  list_size  LIST sizes (and RETR "+OK n octets") == expect.dovecot_list_size
  archive    expect.client_archive(wire) == expect.expected_archive_bytes
  poplib     poplib's RETR lines joined with LF, plus LF == expected bytes
             (files starting with "." skipped: poplib only unstuffs "..")
Writes expect.client_archive(wire) for each message to ARCHIVE_DIR/new/<n>
for "expect.py compare". Prints PASS/FAIL lines; exit 1 on any FAIL.
"""

import collections
import hashlib
import os
import poplib
import ssl
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import expect  # noqa: E402
import pop3raw  # noqa: E402


def h(b):
    return hashlib.sha256(b).hexdigest()


def main():
    port, ca, user, pw, maildir, adir = sys.argv[1:7]
    port = int(port)
    files = []
    for sub in ("new", "cur"):
        d = os.path.join(maildir, sub)
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), "rb") as fh:
                files.append((name, fh.read()))
    failed = 0

    def report(name, ok, msg=""):
        nonlocal failed
        if ok:
            print("PASS %s" % name)
        else:
            failed += 1
            print("FAIL %s: %s" % (name, msg))

    c = pop3raw.Client("127.0.0.1", port, "implicit", ca, "localhost")
    c.login(user, pw)
    sizes = {n: int(v) for n, v in c.listing("LIST")}
    wires = {}
    octets_ok = True
    for n in sorted(sizes):
        st = c.cmd("RETR %d" % n)
        if st.split()[1:2] != [str(sizes[n]).encode()]:
            octets_ok = False
        wires[n] = c.multiline()
    c.quit()

    report("message_count", len(wires) == len(files),
           "%d on the wire, %d files" % (len(wires), len(files)))
    report("retr_octets_equal_list", octets_ok)

    def cmp_multiset(label, want, got):
        w, g = collections.Counter(want), collections.Counter(got)
        report(label, w == g, "%d expected values missing, %d unexpected" %
               (sum((w - g).values()), sum((g - w).values())))

    cmp_multiset("wire", [h(expect.dovecot_wire(f)) for _, f in files],
                 [h(w) for w in wires.values()])
    cmp_multiset("list_size", [expect.dovecot_list_size(f) for _, f in files],
                 list(sizes.values()))
    cmp_multiset("archive",
                 [h(expect.expected_archive_bytes(f)) for _, f in files],
                 [h(expect.client_archive(w)) for w in wires.values()])
    # Named checks for the interesting kinds, so a change is easy to read.
    by_wire = collections.Counter(h(w) for w in wires.values())
    for label, pred in [
            ("nul_passed_through", lambda f: b"\0" in f),
            ("bare_cr_passed_through",
             lambda f: b"\r" in f.replace(b"\r\n", b"")),
            ("crlf_in_file_kept", lambda f: b"\r\n" in f),
            ("missing_final_newline_gets_crlf",
             lambda f: not f.endswith(b"\n")),
            ("leading_dot_not_stuffed", lambda f: f.startswith(b".")),
            ("long_line_intact",
             lambda f: max(map(len, f.split(b"\n"))) >= 100 * 1024)]:
        sel = [f for _, f in files if pred(f)]
        ok = bool(sel) and all(by_wire[h(expect.dovecot_wire(f))] > 0
                               for f in sel)
        report("model_" + label, ok, "%d files of this kind; wire differs"
               % len(sel) if sel else "no file of this kind in the mailbox")

    os.makedirs(os.path.join(adir, "new"), exist_ok=True)
    for n, w in wires.items():
        with open(os.path.join(adir, "new", str(n)), "wb") as fh:
            fh.write(expect.client_archive(w))

    # poplib, the stock client, as a second opinion.
    poplib._MAXLINE = 1 << 24
    ctx = ssl.create_default_context(cafile=ca)
    p = poplib.POP3_SSL("127.0.0.1", port, context=ctx, timeout=30)
    p.user(user)
    p.pass_(pw)
    got = []
    for n in sorted(sizes):
        if wires[n].startswith(b"."):
            continue
        _, lines, _ = p.retr(n)
        got.append(h(b"\n".join(lines) + b"\n"))
    p.quit()
    want = [h(expect.expected_archive_bytes(f)) for _, f in files
            if not f.startswith(b".")]
    cmp_multiset("poplib", want, got)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
