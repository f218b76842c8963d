#!/usr/bin/env python3
"""mboxtraps.py -- server messages that are hard to store in an mbox.

    mboxtraps.py [--list] MAILDIR

Writes the messages below into MAILDIR/new/ (via MAILDIR/tmp/, 0644), named
like Dovecot's files ("<time>.M<n>P<pid>.mboxtraps,S=<size>"), with times
1800000000 + n so that they sort after every genmail.py message and get the
next UIDs, in this order. Deterministic; no file starts with "." (Dovecot's
first-line dot bug, docs/dovecot-notes.md). --list prints "n kind file".

Kinds (the ways an mbox reader can miscount messages):
  from_body        body lines "From ", ">From ", ">>From ", ">>>From ",
                   "From" alone, " From ", "from ", "From:", "From\\t", a
                   valid-looking separator after an empty line, "From " as
                   the last line
  leaked_sep       the file starts with "From MAILER-DAEMON <date>" (the
                   server leaked its own separator), then headers
  leaked_quoted    the file starts with ">From ..."
  empty_file       zero bytes (Dovecot sends CRLF: stored as "\\n")
  empty_body       headers, the empty line, nothing else
  headers_only     headers without the empty line
  no_return_path   no Return-Path header (From_ sender MAILER-DAEMON)
  null_return_path "Return-Path: <>" (From_ sender MAILER-DAEMON)
  cl_trap          a forged Content-Length: mutt trusts it when a From_
                   line (or the end of the file) sits at body start +
                   Content-Length + 1; its value is chosen so that, in an
                   mbox written as the spec says with the messages in UID
                   order, that offset is the From_ line after the next
                   message (cl_trap_next), or the end of the file: an
                   unmitigated mbox shows one message fewer in mutt
  cl_trap_next     the message the trap swallows (Return-Path given)
  cl_trap2, cl_trap2_next   the same, the swallowed message with
                   "Return-Path: <>" (From_ sender MAILER-DAEMON)
  cl_honest        a correct Content-Length
  crlf_from        CRLF line ends with "From " lines
  from_no_newline  last line "From the end" without a final newline
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import expect  # noqa: E402

BASE_TIME = 1800000000
DATE = "Thu, 26 Nov 2026 11:45:00 +0000"


def head(n, subject, rp="<traps-%d@example.test>", extra=""):
    h = ""
    if rp is not None:
        h += "Return-Path: %s\n" % (rp % n if "%d" in rp else rp)
    h += ("From: Trap Sender <traps@example.test>\n"
          "To: archive@example.test\n"
          "Subject: %s\n"
          "Date: %s\n"
          "Message-ID: <mboxtraps.%d@example.test>\n"
          "X-Mboxtraps: %d\n" % (subject, DATE, n, n))
    return h + extra


def body(n):
    return "Trap message %d.\nSome ordinary text here.\n" % n


def from_line_len(sender):
    # "From " SENDER " " asctime(24) "\n"
    return 5 + len(sender) + 1 + 24 + 1


def trap(n, next_msg, next_sender):
    """A message whose Content-Length points past next_msg."""
    b = ("This message carries a forged Content-Length header.\n"
         "A reader that trusts it swallows the next message.\n")
    nxt = expect.expected_archive_bytes(next_msg)
    assert b"\nFrom " not in nxt and not nxt.startswith(b"From ")
    cl = len(b.encode()) + from_line_len(next_sender) + len(nxt) + 1
    return (head(n, "Content-Length trap",
                 extra="Content-Length: %d\n" % cl) + "\n" + b).encode()


def messages():
    out = []

    def add(kind, data):
        out.append((kind, data if isinstance(data, bytes)
                    else data.encode()))

    n = 0
    add("from_body", head(n, "From lines in the body") + "\n" +
        "From the start of the body\n"
        ">From quoted once\n"
        ">>From quoted twice\n"
        ">>>From quoted three times\n"
        "From\n"
        ">From\n"
        " From leading space\n"
        "from lower case\n"
        "From: looks like a header\n"
        "From\ttab\n"
        "\n"
        "From someone@example.test Thu Nov 26 11:45:00 2026\n"
        "Subject: not a new message\n"
        "\n"
        ">From someone@example.test Thu Nov 26 11:45:00 2026\n"
        "text\n"
        "From the end\n")
    n += 1
    add("leaked_sep", "From MAILER-DAEMON Thu Nov 26 11:45:00 2026\n" +
        head(n, "Leaked separator") + "\n" + body(n))
    n += 1
    add("leaked_quoted", ">From MAILER-DAEMON Thu Nov 26 11:45:00 2026\n" +
        head(n, "Leaked quoted separator") + "\n" + body(n))
    n += 1
    add("empty_file", b"")
    n += 1
    add("empty_body", head(n, "Empty body") + "\n")
    n += 1
    add("headers_only", head(n, "Headers only"))
    n += 1
    add("no_return_path", head(n, "No Return-Path", rp=None) + "\n" +
        body(n))
    n += 1
    add("null_return_path", head(n, "Null Return-Path", rp="<>") + "\n" +
        body(n))
    n += 1
    nxt = (head(n + 1, "Swallowed by the trap") + "\n" + body(n + 1)).encode()
    add("cl_trap", trap(n, nxt, "traps-%d@example.test" % (n + 1)))
    n += 1
    add("cl_trap_next", nxt)
    n += 1
    nxt = (head(n + 1, "Swallowed by the second trap", rp="<>") + "\n" +
           body(n + 1)).encode()
    add("cl_trap2", trap(n, nxt, "MAILER-DAEMON"))
    n += 1
    add("cl_trap2_next", nxt)
    n += 1
    b = body(n)
    add("cl_honest", head(n, "Honest Content-Length",
                          extra="Content-Length: %d\n" % len(b)) + "\n" + b)
    n += 1
    add("crlf_from", (head(n, "CRLF with From lines") + "\n" + body(n) +
                      "From crlf\n>From crlf\n").replace("\n", "\r\n"))
    n += 1
    add("from_no_newline", head(n, "From as last line, no newline") + "\n" +
        body(n) + "From the end")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--list", action="store_true")
    ap.add_argument("maildir")
    a = ap.parse_args(argv)
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(a.maildir, sub), exist_ok=True)
    pid = os.getpid()
    for n, (kind, data) in enumerate(messages()):
        assert not data.startswith(b".")
        name = "%d.M%dP%d.mboxtraps,S=%d" % (BASE_TIME + n, n, pid, len(data))
        tmp = os.path.join(a.maildir, "tmp", name)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.fchmod(fd, 0o644)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.rename(tmp, os.path.join(a.maildir, "new", name))
        if a.list:
            print(n, kind, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
