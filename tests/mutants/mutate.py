#!/usr/bin/env python3
"""mutate.py -- read the mutant list and apply one mutant to a tree.

    mutate.py list LIST                 the mutants' names, one a line
    mutate.py get LIST NAME KEY         one field (file, from, to, tests,
                                        why), escapes undone for from/to
    mutate.py check LIST ROOT [NAME...] each mutant's guard occurs exactly
                                        once in ROOT/FILE: "ok NAME" or
                                        "STALE NAME: why"; exit 1 if any
                                        is stale
    mutate.py apply LIST ROOT NAME      replace the guard in ROOT/FILE
                                        (exit 1, saying why, if it does
                                        not occur exactly once)

The list (tests/mutants/mutants.txt) holds one stanza per mutant,
stanzas separated by empty lines, "#" lines ignored:

    mutant NAME     a short name ([a-z0-9_-])
    file   PATH     the source file, relative to the top of the tree
    from   TEXT     the guard as written: it must occur exactly once in
                    FILE, or the mutant is stale (the code moved on: fix
                    the list, never the check)
    to     TEXT     what replaces it
    tests  NAMES    the tests that must kill it, as tests/run.sh names
                    them (integration/test_x, unit/test_y), space-separated
    why    TEXT     optional: what the mutant breaks, for the report

In "from" and "to", \\n stands for a newline, \\t for a tab and \\\\ for a
backslash; the text after the key and its spaces is taken as it is.
Exit status 2 for a malformed list or a usage error.
"""

import re
import sys

KEYS = ("mutant", "file", "from", "to", "tests", "why")
REQUIRED = ("mutant", "file", "from", "to", "tests")
NAME = re.compile(r"^[a-z0-9_-]+$")


class Bad(Exception):
    pass


def unescape(s):
    out = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n in "nt\\":
                out.append({"n": "\n", "t": "\t", "\\": "\\"}[n])
                i += 2
                continue
        out.append(c)
        i += 1
    return "".join(out)


def parse(path):
    muts = []
    cur = None
    start = 0

    def finish():
        if cur is None:
            return
        miss = [k for k in REQUIRED if k not in cur]
        if miss:
            raise Bad("%s:%d: mutant lacks %s" % (path, start,
                                                   ", ".join(miss)))
        if not NAME.match(cur["mutant"]):
            raise Bad("%s:%d: bad mutant name %r" % (path, start,
                                                     cur["mutant"]))
        if any(m["mutant"] == cur["mutant"] for m in muts):
            raise Bad("%s:%d: mutant %s listed twice" % (path, start,
                                                         cur["mutant"]))
        cur["from"] = unescape(cur["from"])
        cur["to"] = unescape(cur["to"])
        if cur["from"] == cur["to"]:
            raise Bad("%s:%d: mutant %s changes nothing" % (path, start,
                                                            cur["mutant"]))
        if not cur["tests"].split():
            raise Bad("%s:%d: mutant %s names no test" % (path, start,
                                                          cur["mutant"]))
        muts.append(cur)

    with open(path, encoding="utf-8") as fh:
        for no, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            if line.startswith("#"):
                continue
            if not line.strip():
                finish()
                cur = None
                continue
            m = re.match(r"^([a-z]+)[ \t]+(.*)$", line)
            if not m or m.group(1) not in KEYS:
                raise Bad("%s:%d: want KEY VALUE with KEY one of %s" %
                          (path, no, " ".join(KEYS)))
            if cur is None:
                if m.group(1) != "mutant":
                    raise Bad("%s:%d: a stanza starts with 'mutant NAME'"
                              % (path, no))
                cur = {}
                start = no
            if m.group(1) in cur:
                raise Bad("%s:%d: %s given twice" % (path, no, m.group(1)))
            cur[m.group(1)] = m.group(2)
    finish()
    if not muts:
        raise Bad("%s: no mutants" % path)
    return muts


def find(muts, name):
    for m in muts:
        if m["mutant"] == name:
            return m
    raise Bad("no mutant named %s" % name)


def stale(m, root):
    """Why the mutant cannot be applied to root, or None."""
    path = "%s/%s" % (root, m["file"])
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as ex:
        return "%s: %s" % (m["file"], ex.strerror)
    n = text.count(m["from"])
    if n != 1:
        return "%s: the guard occurs %d times, want exactly once: %r" % (
            m["file"], n, m["from"])
    return None


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    cmd, lst = argv[1], argv[2]
    try:
        muts = parse(lst)
        if cmd == "list" and len(argv) == 3:
            for m in muts:
                print(m["mutant"])
            return 0
        if cmd == "get" and len(argv) == 5:
            m = find(muts, argv[3])
            if argv[4] not in KEYS:
                raise Bad("no field %s" % argv[4])
            sys.stdout.write(m.get(argv[4], ""))
            if argv[4] not in ("from", "to"):
                sys.stdout.write("\n")
            return 0
        if cmd == "check" and len(argv) >= 4:
            names = argv[4:] or [m["mutant"] for m in muts]
            rc = 0
            for name in names:
                why = stale(find(muts, name), argv[3])
                if why:
                    print("STALE %s: %s" % (name, why))
                    rc = 1
                else:
                    print("ok %s" % name)
            return rc
        if cmd == "apply" and len(argv) == 5:
            m = find(muts, argv[4])
            why = stale(m, argv[3])
            if why:
                print("STALE %s: %s" % (m["mutant"], why))
                return 1
            path = "%s/%s" % (argv[3], m["file"])
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text.replace(m["from"], m["to"], 1))
            return 0
    except Bad as ex:
        print("mutate.py: %s" % ex, file=sys.stderr)
        return 2
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
