#!/usr/bin/env python3
"""genoverlap.py -- deterministic mail that overlaps across many accounts.

    genoverlap.py [--seed S] [--accounts N] [--prefix acct] MAILROOT

Writes message files into MAILROOT/<prefix>NN/new/ for NN = 01..N (default
20 accounts "acct01".."acct20"; each Maildir is created if missing), as
genmail.py does: via tmp/, names "<time>.M<n>P<pid>.genoverlap,S=<size>"
with <time> growing (Dovecot gives UIDs in that order), mode 0644. The
same seed always gives the same bytes in the same places.

What is written, for cross-account deduplication tests (the same
message in several accounts, variants that differ in one header):

  shared      messages delivered to 5 accounts each: the same Message-ID
              and the same body, but per-account trace headers (Received:,
              Delivered-To:, X-Account:) and header spellings ("Message-Id:",
              a folded "Message-ID:", a trailing comment, a second
              Message-ID header after the first); one copy of some is stored
              with CRLF line ends or without a final newline (same bytes
              once archived); some are delivered twice to one account; one
              is headers-only (no empty line, empty body), one has an empty
              body, one has a "Message-ID:" line inside its body. Every
              copy differs in its headers: each is stored (a variant of
              the first), as lossless deduplication requires.
  collision   Message-IDs with 2 or 3 different bodies (variants), each
              variant delivered to 1 or 2 accounts; for some IDs two
              variants reach the same account; two IDs have both variants
              in one account only (so in one batch); plus one ID whose
              copies differ only in Subject (same body: a variant, not a
              collision, and stored).
  no-ID       messages without a Message-ID (or with an empty one):
              "same" ones are byte-identical in two accounts (one also twice
              in one account); "differing" ones have the same body but
              per-account trace headers (so they are two messages); one has
              a bare ID without angle brackets (then the trimmed value is
              the ID) and per-account trace headers.
  unique      8..12 messages per account found nowhere else (every fourth
              without a Message-ID).

The last line printed on stdout is the generator's own intent, for a
cross-check of an independent computation:
    intent messages=M stored=S collisions=C variants=V
(M files written, S messages a vault-wide lossless deduplicating archiver
stores: one per distinct whole message; C collisions it reports: same
Message-ID, other body; V variants: stored messages whose Message-ID and
body an earlier stored one has, with other headers).
"""

import argparse
import os
import random
import sys

BASE_TIME = 1700000000
DOMAIN = "example.org"


class Gen:
    def __init__(self, seed, naccounts, prefix):
        self.rng = random.Random("genoverlap:%s" % seed)
        self.seed = seed
        self.n = naccounts
        self.names = ["%s%02d" % (prefix, i + 1) for i in range(naccounts)]
        self.box = {a: [] for a in self.names}     # account -> [bytes]
        self.stored = 0
        self.collisions = 0
        self.variants = 0
        self.trace_no = 0

    # -- pieces -----------------------------------------------------------

    def date(self, k):
        day = 1 + k % 28
        mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
               "Sep", "Oct", "Nov", "Dec"][(k // 28) % 12]
        return "Mon, %d %s 2024 %02d:%02d:%02d +0000" % (
            day, mon, k % 24, (k * 7) % 60, (k * 13) % 60)

    def trace(self, acct):
        """Per-delivery headers: differ for every copy."""
        self.trace_no += 1
        t = self.trace_no
        r = self.rng.randrange(1, 250)
        qid = "%08X" % self.rng.getrandbits(32)
        return ("Return-Path: <bounce-%d@lists.example.net>\n"
                "Delivered-To: %s@%s\n"
                "Received: from mx%d.relay.example.net (mx%d.relay.example.net"
                " [192.0.2.%d])\n"
                "\tby pop.%s (Postfix) with ESMTPS id %s\n"
                "\tfor <%s@%s>; %s\n"
                "X-Account: %s trace-%d\n" % (
                    t, acct, DOMAIN, r, r, r, DOMAIN, qid, acct, DOMAIN,
                    self.date(t), acct, t))

    def body(self, tag, lines=None):
        rng = random.Random("body:%s:%s" % (self.seed, tag))
        words = ["archive", "pop3", "vault", "message", "mailbox", "server",
                 "copy", "index", "hash", "verify", "batch", "lock"]
        n = lines if lines is not None else rng.randrange(2, 12)
        out = ["Token %s" % tag]
        for _ in range(n):
            out.append(" ".join(rng.choice(words)
                                for _ in range(rng.randrange(3, 12))))
        return "\n".join(out) + "\n"

    def headers(self, k, subject, mid_line):
        h = ("From: Sender %d <sender%d@example.com>\n"
             "To: list@%s\n"
             "Subject: %s\n"
             "Date: %s\n" % (k % 17, k % 17, DOMAIN, subject, self.date(k)))
        if mid_line:
            h += mid_line
        h += "MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n"
        return h

    def put(self, acct, text, style=""):
        data = text.encode()
        if style == "crlf":
            data = data.replace(b"\n", b"\r\n")
        elif style == "nofinal":
            assert data.endswith(b"\n")
            data = data[:-1]
        assert not data.startswith(b".")
        self.box[acct].append(data)

    # -- groups -----------------------------------------------------------

    def shared(self, count=40, fanout=5):
        mid_styles = ["Message-ID: <%s>\n", "Message-Id: <%s>\n",
                      "Message-ID:\n <%s>\n", "message-id:   <%s> (relay)\n",
                      "Message-ID:\t<%s>\n"]
        for i in range(count):
            mid = "shared.%d.%s@lists.example.net" % (i, self.seed)
            accts = self.rng.sample(self.names, fanout)
            subject = "Shared %d to %d accounts" % (i, fanout)
            if i == 0:
                body = None         # headers only: no empty line at all
            elif i == 1:
                body = ""           # empty line, empty body
            elif i == 2:
                body = ("Quoted header below is body, not header:\n"
                        "Message-ID: <not-the-id-%d@example.com>\n\n"
                        "end\n" % i)
            else:
                body = self.body("shared-%d" % i)
            copies = [(a, k) for k, a in enumerate(accts)]
            if i % 10 == 4:
                copies.append((accts[0], fanout))   # twice in one account
            for a, k in copies:
                mstyle = mid_styles[(i + k) % len(mid_styles)]
                text = self.trace(a) + self.headers(1000 + i, subject,
                                                    mstyle % mid)
                if i % 13 == 6:
                    # A second Message-ID header: only the first counts.
                    text += "Message-ID: <relay-%d-%d@%s>\n" % (i, k, DOMAIN)
                if body is not None:
                    text += "\n" + body
                style = ""
                if body:        # not for headers-only / empty bodies
                    if i % 7 == 3 and k == 2:
                        style = "crlf"
                    elif i % 11 == 5 and k == 3:
                        style = "nofinal"
                self.put(a, text, style)
            # Trace headers differ: every copy is its own message.
            self.stored += len(copies)
            self.variants += len(copies) - 1

    def collisions_group(self, count=12):
        for i in range(count):
            mid = "coll.%d.%s@example.com" % (i, self.seed)
            nvar = 3 if i % 4 == 0 else 2
            accts = self.rng.sample(self.names, 2 * nvar)
            for v in range(nvar):
                body = self.body("coll-%d-variant-%d" % (i, v))
                targets = [accts[2 * v]]
                if (i + v) % 2 == 0:
                    targets.append(accts[2 * v + 1])
                if i % 3 == 1 and v == 1:
                    # Two variants in one account (one batch).
                    targets.append(accts[0])
                for a in targets:
                    text = (self.trace(a) + self.headers(
                        2000 + i, "Collision %d" % i,
                        "Message-ID: <%s>\n" % mid) + "\n" + body)
                    self.put(a, text)
                self.stored += len(targets)
                self.variants += len(targets) - 1
            self.collisions += nvar - 1
        # Both variants only in one account (so in one batch: neither is
        # in the index yet when the other arrives).
        for i in range(2):
            mid = "coll-local.%d.%s@example.com" % (i, self.seed)
            a = self.rng.choice(self.names)
            for v in range(2):
                text = (self.trace(a) + self.headers(
                    2500 + i, "Local collision %d" % i,
                    "Message-ID: <%s>\n" % mid) + "\n" +
                    self.body("coll-local-%d-variant-%d" % (i, v)))
                self.put(a, text)
                self.stored += 1
            self.collisions += 1
        # Same ID, same body, different Subject: a variant, stored.
        mid = "subject-edit.%s@example.com" % self.seed
        body = self.body("subject-edit")
        for k, a in enumerate(self.rng.sample(self.names, 2)):
            text = (self.trace(a) + self.headers(
                2999, "Edited subject %d" % k, "Message-ID: <%s>\n" % mid) +
                "\n" + body)
            self.put(a, text)
        self.stored += 2
        self.variants += 1

    def no_id(self):
        # Byte-identical copies in two accounts: stored once.
        for i in range(6):
            accts = self.rng.sample(self.names, 2)
            mid_line = "Message-ID:   \n" if i == 5 else ""   # empty ID
            text = (self.headers(3000 + i, "Same no-ID %d" % i, mid_line) +
                    "\n" + self.body("noid-same-%d" % i))
            for a in accts:
                self.put(a, text)
            if i == 0:
                self.put(accts[0], text)     # twice in the same account
            self.stored += 1
        # Same body, different trace headers: two messages.
        for i in range(6):
            accts = self.rng.sample(self.names, 2)
            body = self.body("noid-diff-%d" % i)
            for a in accts:
                text = (self.trace(a) + self.headers(
                    3100 + i, "Differing no-ID %d" % i, "") + "\n" + body)
                self.put(a, text)
                self.stored += 1
        # A bare ID without angle brackets: the trimmed value is the ID.
        accts = self.rng.sample(self.names, 2)
        body = self.body("bare-id")
        for a in accts:
            text = (self.trace(a) + self.headers(
                3200, "Bare ID", "Message-ID: bare.%s@example.com  \n" %
                self.seed) + "\n" + body)
            self.put(a, text)
        self.stored += 2
        self.variants += 1

    def unique(self):
        for ai, a in enumerate(self.names):
            for j in range(8 + ai % 5):
                k = 4000 + ai * 100 + j
                mid_line = "" if j % 4 == 3 else \
                    "Message-ID: <unique.%s.%d.%s@example.com>\n" % (
                        a, j, self.seed)
                text = (self.trace(a) + self.headers(
                    k, "Unique %s %d" % (a, j), mid_line) + "\n" +
                    self.body("unique-%s-%d" % (a, j)))
                self.put(a, text)
                self.stored += 1

    # -- output -----------------------------------------------------------

    def write(self, root):
        pid = os.getpid()
        total = 0
        for a in self.names:
            msgs = self.box[a]
            random.Random("order:%s:%s" % (self.seed, a)).shuffle(msgs)
            md = os.path.join(root, a)
            for sub in ("tmp", "new", "cur"):
                os.makedirs(os.path.join(md, sub), exist_ok=True)
            for n, data in enumerate(msgs):
                name = "%d.M%dP%d.genoverlap,S=%d" % (BASE_TIME + n, n, pid,
                                                      len(data))
                tmp = os.path.join(md, "tmp", name)
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                             0o644)
                try:
                    os.fchmod(fd, 0o644)
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view):]
                finally:
                    os.close(fd)
                dst = os.path.join(md, "new", name)
                if os.path.exists(dst):
                    os.unlink(tmp)
                    sys.exit("genoverlap: %s exists" % dst)
                os.rename(tmp, dst)
                total += 1
            print("%s %d" % (a, len(msgs)))
        return total


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", default="1")
    ap.add_argument("--accounts", type=int, default=20)
    ap.add_argument("--prefix", default="acct")
    ap.add_argument("mailroot")
    a = ap.parse_args(argv)
    if a.accounts < 6 or a.accounts > 99:
        ap.error("--accounts: 6 to 99")
    g = Gen(a.seed, a.accounts, a.prefix)
    g.shared()
    g.collisions_group()
    g.no_id()
    g.unique()
    total = g.write(a.mailroot)
    print("intent messages=%d stored=%d collisions=%d variants=%d" % (
        total, g.stored, g.collisions, g.variants))
    return 0


if __name__ == "__main__":
    sys.exit(main())
