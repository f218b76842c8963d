#!/usr/bin/env python3
"""gencorpus.py -- deterministic "realistic mailbox" corpus for the benchmark.

    gencorpus.py --count N [--seed S] [--profile realistic|tiny] DIR

Writes N message files into DIR/new/ (DIR/cur/ and DIR/tmp/ are created
empty), numbered 0..N-1, and prints the total size in bytes on stdout. A
message is a function of (profile, seed, number) only, and file names
carry no pid, so the same arguments always give the same files; the first
N messages of a larger corpus are the corpus of N.

The messages come from tests/gen/genmail.py (its Msg kinds), chosen with
this size distribution ("realistic", the default):

  - about 3.5 %: one attachment, the whole message 1-5 MB
  - about 25 %: multipart with 1 or 2 base64 attachments of 20-300 KB
  - the rest: text mail, mostly 2-10 KB (plain, UTF-8, folded headers,
    multipart/alternative, raw 8-bit headers) with genmail's rare tricky
    kinds (dots, "From " lines, NUL, bare CR, a 100 KB line, ...)

2,000 messages come to about 340 MB. "tiny" gives plain messages of
about 1-2 KB, for the 100,000-message "nothing new" run.

File names look like Dovecot's ("<time>.M<number>P0.bench,S=<size>"); the
files use LF line endings, as Dovecot stores mail, and are 0644.
"""

import argparse
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "gen"))
import genmail  # noqa: E402

TEXT_KINDS = [k for k in genmail.ORDINARY if k != "multipart"]


def realistic(seed, n):
    r = random.Random("bench:%s:%d" % (seed, n))
    m = genmail.Msg(seed, n)
    x = r.random()
    if x < 0.035:
        # base64 grows the raw bytes by 4/3 plus line ends (77/57).
        total = r.randint(1000 * 1000, 5000 * 1000)
        return m.k_big(int(total * 57 / 77) - 2048)
    if x < 0.285:
        return m.k_multipart()
    return getattr(m, "k_" + r.choice(TEXT_KINDS))()


def tiny(seed, n):
    m = genmail.Msg(seed, n)
    return (m.headers() + "\n" + m.body_text(300, 1000)).encode()


PROFILES = {"realistic": realistic, "tiny": tiny}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--seed", default="bench1")
    ap.add_argument("--profile", choices=sorted(PROFILES), default="realistic")
    ap.add_argument("dir")
    a = ap.parse_args(argv)
    if a.count < 0:
        ap.error("--count must not be negative")
    gen = PROFILES[a.profile]
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(a.dir, sub), exist_ok=True)
    total = 0
    for n in range(a.count):
        data = gen(a.seed, n)
        name = "%d.M%dP0.bench,S=%d" % (genmail.BASE_TIME + n, n, len(data))
        path = os.path.join(a.dir, "new", name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.fchmod(fd, 0o644)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        total += len(data)
    print(total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
