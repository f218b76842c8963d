#!/usr/bin/env python3
"""mailfiles.py -- mail files for the import tests, written and read
without popvault's code.

    mailfiles.py hashes [--mbox] PATH...
        one line per message file under the PATHs (recursively; a Maildir's
        tmp/ skipped): the SHA-256 of what an import stores (a file whose
        lines all end in CRLF gets LF; any other is taken as it is); with --mbox, with the
        newline an mbox writer adds to a message that has none
    mailfiles.py mboxrd OUT FILE...|-
        an mboxrd file: a dated From_ line, ">" added to every line that
        matches ^>*From , a newline added to a message without one, an
        empty line after each message
    mailfiles.py mboxo OUT FILE...
        the same messages through Python's mailbox.mbox (mboxo quoting)
    mailfiles.py eml OUTDIR FILE...
        each message as OUTDIR/aa/N.eml (two levels), every other one with
        CRLF line ends, as Windows programs save them
    mailfiles.py zip OUT DIR
        a zip archive of DIR's files (Python's zipfile, deflated)
    mailfiles.py unquoted FILE...
        the canonical hashes of the messages among FILEs whose lines
        never match ^>+From  (mboxo cannot tell those lines back)
"""

import hashlib
import mailbox
import os
import re
import sys
import zipfile

QUOTED = re.compile(rb"^>*From ", re.M)
MBOXO_AMBIGUOUS = re.compile(rb"^>+From ", re.M)


def crlf_file(b):
    """Every line of the file's first 4 KiB ends in CR LF."""
    head = b[:4096]
    lfs = [i for i, c in enumerate(head) if c == 10]
    return bool(lfs) and all(i > 0 and head[i - 1] == 13 for i in lfs)


def canon(b):
    """What an import stores of a message file: a CRLF file's line ends
    made LF (docs/decisions.md, "Importing"); any other file as it is."""
    return b.replace(b"\r\n", b"\n") if crlf_file(b) else b


def files_under(paths):
    for p in paths:
        if os.path.isfile(p):
            yield p
            continue
        for root, dirs, names in os.walk(p):
            dirs[:] = sorted(d for d in dirs if d != "tmp")
            for n in sorted(names):
                yield os.path.join(root, n)


def read(p):
    with open(p, "rb") as f:
        return f.read()


def cmd_hashes(args):
    mbox = args[:1] == ["--mbox"]
    for p in files_under(args[1:] if mbox else args):
        m = canon(read(p))
        if mbox and not m.endswith(b"\n"):
            m += b"\n"		# what an mbox writer adds
        print(hashlib.sha256(m).hexdigest())


def names(files):
    """FILE..., or "-": one name a line on standard input."""
    if files == ["-"]:
        return [line.rstrip("\n") for line in sys.stdin if line.strip()]
    return files


def cmd_mboxrd(args):
    out, files = args[0], names(args[1:])
    with open(out, "wb") as f:
        for p in files:
            m = canon(read(p))
            f.write(b"From test@example.org Mon Jan  1 10:00:00 2024\n")
            f.write(QUOTED.sub(lambda x: b">" + x.group(0), m))
            if not m.endswith(b"\n"):
                f.write(b"\n")
            f.write(b"\n")


def cmd_mboxo(args):
    out, files = args[0], args[1:]
    box = mailbox.mbox(out, create=True)
    box.lock()
    for p in files:
        box.add(read(p))
    box.flush()
    box.unlock()
    box.close()


def cmd_eml(args):
    out, files = args[0], args[1:]
    for i, p in enumerate(files):
        d = os.path.join(out, "%02d" % (i % 7), "x")
        os.makedirs(d, exist_ok=True)
        m = canon(read(p))
        if i % 2:
            m = m.replace(b"\n", b"\r\n")
        with open(os.path.join(d, "%d.eml" % i), "wb") as f:
            f.write(m)


def cmd_zip(args):
    out, d = args
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for p in files_under([d]):
            z.write(p, os.path.relpath(p, d))


def cmd_unquoted(args):
    for p in files_under(args):
        m = canon(read(p))
        if not MBOXO_AMBIGUOUS.search(m) and m.endswith(b"\n"):
            print(hashlib.sha256(m).hexdigest())


def main():
    cmds = {"hashes": cmd_hashes, "mboxrd": cmd_mboxrd, "mboxo": cmd_mboxo,
            "eml": cmd_eml, "zip": cmd_zip, "unquoted": cmd_unquoted}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
