#!/usr/bin/env python3
"""genvariants.py -- mail that reuses Message-IDs, as real mailboxes do.

    genvariants.py [--seed S] [--copies K] MAILDIR...

Writes message files into each MAILDIR/new/ (created if missing), as
genmail.py does (via tmp/, names "<time>.M<n>P<pid>.genvariants,S=<size>",
mode 0644). The same seed always gives the same bytes.

The cases (issue 13: "8 of 311 distinct messages were never archived"):

  attach    the same message with and without a top-level
            "Content-Disposition: attachment; filename=..." header
  trace     the same message delivered twice: other Delivered-To and
            Received headers
  subject   the same Message-ID and body, the Subject edited
            ("[list] " tag added, as a mailing list does)
  headonly  header-only messages (no body at all, or an empty one) that
            share a Message-ID and differ in one header: their equal
            empty bodies must not make them one
  collide   the same Message-ID with another body
  twins     byte-identical copies (the same bytes twice in one mailbox,
            and in every MAILDIR given): the only real duplicates
  plain     a few ordinary messages, one without a Message-ID

Every MAILDIR gets the same messages except that the "trace" copies carry
the mailbox's own name (so two mailboxes share twins and variants).
Prints "MAILDIR N" per mailbox, then the generator's intent:
    intent messages=M distinct=D variants=V collisions=C
(M files written in all, D distinct messages, V stored messages whose
Message-ID and body an earlier one has with other headers, C stored
messages whose Message-ID an earlier one has with another body), counted
over all mailboxes together, as one vault-wide archive sees them.
"""

import argparse
import os
import random
import sys

BASE_TIME = 1710000000


def body(rng, tag, lines=6):
    words = ["report", "attached", "meeting", "invoice", "pop3", "archive",
             "please", "find", "the", "draft", "minutes", "thanks"]
    out = ["Body %s" % tag]
    for _ in range(lines):
        out.append(" ".join(rng.choice(words)
                            for _ in range(rng.randrange(4, 12))))
    return "\n".join(out) + "\n"


def head(mid, subject, extra=""):
    h = ("From: Alice Example <alice@example.com>\n"
         "To: bob@example.org\n"
         "Subject: %s\n"
         "Date: Tue, 5 Mar 2024 10:%02d:00 +0100\n" % (subject,
                                                       len(subject) % 60))
    if mid is not None:
        h += "Message-ID: <%s>\n" % mid
    return h + extra + "MIME-Version: 1.0\n"


def build(seed, box, k, first_box):
    """[(text, kind)] for mailbox name box; k copies of each twin. The
    trace copies of a later mailbox are variants of the first's."""
    rng = random.Random("genvariants:%s" % seed)
    out = []
    ct = "Content-Type: text/plain; charset=utf-8\n"
    for i in range(3):
        b = body(rng, "attach-%d" % i)
        mid = "attach.%d.%s@lib.example" % (i, seed)
        out.append((head(mid, "Report %d" % i, ct) + "\n" + b, "first"))
        out.append((head(mid, "Report %d" % i, ct +
                         "Content-Disposition: attachment; "
                         "filename=\"report-%d.txt\"\n" % i) + "\n" + b,
                    "variant"))
    for i in range(3):
        b = body(rng, "trace-%d" % i)
        mid = "trace.%d.%s@lib.example" % (i, seed)
        for hop in range(2):
            tr = ("Delivered-To: %s+%d@example.org\n"
                  "Received: from mx%d.example.net by pop.example.org; "
                  "Tue, 5 Mar 2024 10:0%d:00 +0100\n" % (box, hop, hop, hop))
            out.append((tr + head(mid, "Trace %d" % i, ct) + "\n" + b,
                        "first" if hop == 0 and first_box else "variant"))
    for i in range(2):
        b = body(rng, "subject-%d" % i)
        mid = "subject.%d.%s@lib.example" % (i, seed)
        out.append((head(mid, "Topic %d" % i, ct) + "\n" + b, "first"))
        out.append((head(mid, "[list] Topic %d" % i, ct) + "\n" + b,
                    "variant"))
    for i in range(2):
        mid = "headonly.%d.%s@lib.example" % (i, seed)
        sep = "" if i == 0 else "\n"        # no body at all / empty body
        out.append((head(mid, "Header only %d" % i) + sep, "first"))
        out.append((head(mid, "Header only %d" % i, "X-Flag: seen\n") + sep,
                    "variant"))
    for i in range(2):
        mid = "collide.%d.%s@lib.example" % (i, seed)
        out.append((head(mid, "Collide %d" % i, ct) + "\n" +
                    body(rng, "collide-%d-a" % i), "first"))
        out.append((head(mid, "Collide %d" % i, ct) + "\n" +
                    body(rng, "collide-%d-b" % i), "collision"))
    for i in range(3):
        text = head("twin.%d.%s@lib.example" % (i, seed), "Twin %d" % i,
                    ct) + "\n" + body(rng, "twin-%d" % i)
        for c in range(k):
            out.append((text, "first" if c == 0 else "twin"))
    for i in range(3):
        mid = None if i == 2 else "plain.%d.%s@lib.example" % (i, seed)
        out.append((head(mid, "Plain %d" % i, ct) + "\n" +
                    body(rng, "plain-%d" % i), "first"))
    return out


def write(md, msgs):
    pid = os.getpid()
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    for n, text in enumerate(msgs):
        data = text.encode()
        name = "%d.M%dP%d.genvariants,S=%d" % (BASE_TIME + n, n, pid,
                                                len(data))
        tmp = os.path.join(md, "tmp", name)
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.rename(tmp, os.path.join(md, "new", name))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", default="1")
    ap.add_argument("--copies", type=int, default=2)
    ap.add_argument("maildir", nargs="+")
    a = ap.parse_args(argv)
    if a.copies < 1:
        ap.error("--copies: at least 1")
    seen = set()
    total = variants = collisions = 0
    for n, md in enumerate(a.maildir):
        box = os.path.basename(os.path.normpath(md))
        msgs = build(a.seed, box, a.copies, n == 0)
        write(md, [t for t, _ in msgs])
        print("%s %d" % (md, len(msgs)))
        total += len(msgs)
        for text, kind in msgs:
            if text in seen:
                continue
            seen.add(text)
            variants += kind == "variant"
            collisions += kind == "collision"
    print("intent messages=%d distinct=%d variants=%d collisions=%d" % (
        total, len(seen), variants, collisions))
    return 0


if __name__ == "__main__":
    sys.exit(main())
