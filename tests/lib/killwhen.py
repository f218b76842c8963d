#!/usr/bin/env python3
"""killwhen.py -- SIGKILL a process group, or one of its children, on cue.

    killwhen.py --pgid-file F [--ready-file R] [--victim V]
                (--delay-ms N | --index DB --sql SQL) [--timeout S]
    killwhen.py --pgid-file F [--ready-file R] --victim none [--timeout S]

For kill -9 torture tests on a loaded machine, where a shell loop that
forks sqlite3 to poll reacts in seconds. Start it first; it touches
READY_FILE once it runs, then waits for PGID_FILE to hold the process
group id of the run under test (started with setsid, say), and then:

  --delay-ms N      waits N ms from the moment the group id appeared;
  --index --sql     polls the SQLite database DB, read-only, every few ms
                    (a fresh read each time: WAL readers see every
                    committed transaction), until SQL returns 1.

Then it kills, with SIGKILL, VICTIM: "group" (default: every process of
the group); "first-child" or "last-child" (the child of the group leader,
by pid, whose command name is --child-comm, default "popvault": the first
or the last one started); or "lock:PATH", the process of the group that
holds a flock(2) lock on the file PATH (/proc/locks), e.g. the -j child
that runs one account (it locks VAULT/accounts/NAME/lock). It prints one line: what it killed, after how
many ms, and the counts of the popvault index at that moment if --index
was given ("rows V verified P delete_pending D deleted"); or "none: ..."
when the group ended first (or --timeout S, default 120, passed). With
"--victim none" it kills nothing and prints "none: the run ended after N
ms": a run's duration measured from the same moment as the delays. Exit
0, 2 on usage errors.
"""

import argparse
import os
import signal
import sqlite3
import sys
import time

SNAPSHOT = ("select (select count(*) from messages), (select count(*) from "
            "messages where state = 'verified'), (select count(*) from "
            "sightings where state = 'delete_pending'), (select count(*) "
            "from sightings where state = 'deleted')")


def alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def stat_of(pid):
    """(command name, state, ppid, pgrp) of pid, or None."""
    try:
        with open("/proc/%d/stat" % pid) as fh:
            st = fh.read()
    except OSError:
        return None
    name = st[st.index("(") + 1:st.rindex(")")]
    fields = st[st.rindex(")") + 2:].split()
    return name, fields[0], int(fields[1]), int(fields[2])


def lock_holder(path, pgid):
    """The process of group pgid that holds a flock on path, or None."""
    try:
        ino = os.stat(path).st_ino
        with open("/proc/locks") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    for line in lines:
        f = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"
        if len(f) < 6 or f[1] != "FLOCK" or f[3] != "WRITE":
            continue
        try:
            pid, lino = int(f[4]), int(f[5].split(":")[2])
        except (ValueError, IndexError):
            continue
        st = stat_of(pid)
        if lino == ino and st is not None and st[3] == pgid and \
                st[1] != "Z":
            return pid
    return None


def children(ppid, comm):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = stat_of(int(d))
        if st is not None and st[2] == ppid and st[0] == comm and \
                st[1] != "Z":
            out.append(int(d))
    return sorted(out)


class Index:
    def __init__(self, path):
        self.path = path
        self.db = None

    def query(self, sql):
        """The first row of sql, or None while the index is not there."""
        try:
            if self.db is None:
                if not os.path.exists(self.path):
                    return None
                self.db = sqlite3.connect("file:%s?mode=ro" % self.path,
                                          uri=True, timeout=0.05)
            return self.db.execute(sql).fetchone()
        except sqlite3.Error:
            # Not created yet, schema not there yet, or busy: later.
            if self.db is not None:
                self.db.close()
                self.db = None
            return None


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pgid-file", required=True)
    ap.add_argument("--ready-file")
    ap.add_argument("--victim", default="group")
    ap.add_argument("--child-comm", default="popvault")
    ap.add_argument("--delay-ms", type=int)
    ap.add_argument("--index")
    ap.add_argument("--sql")
    ap.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args(argv)
    if a.victim not in ("group", "first-child", "last-child", "none") and \
            not a.victim.startswith("lock:"):
        ap.error("--victim: group, first-child, last-child, lock:PATH or "
                 "none")
    if a.victim == "none":
        if a.delay_ms is not None or a.sql is not None:
            ap.error("--victim none: no --delay-ms, no --sql")
        a.delay_ms = a.timeout * 2000
    elif (a.delay_ms is None) == (a.sql is None) or \
            (a.sql is not None) != (a.index is not None):
        ap.error("give --delay-ms, or --index and --sql")
    if a.ready_file:
        open(a.ready_file, "w").close()
    end = time.monotonic() + a.timeout
    pgid = None
    while pgid is None:
        try:
            with open(a.pgid_file) as fh:
                pgid = int(fh.read().strip())
        except (OSError, ValueError):
            if time.monotonic() > end:
                print("none: no process group id in %s" % a.pgid_file)
                return 0
            time.sleep(0.002)
    t0 = time.monotonic()
    idx = Index(a.index) if a.index else None
    while True:
        if not alive(pgid):
            print("none: the run ended after %d ms" %
                  ((time.monotonic() - t0) * 1000))
            return 0
        if time.monotonic() > end:
            print("none: no cue in %d s" % a.timeout)
            return 0
        if a.delay_ms is not None:
            if (time.monotonic() - t0) * 1000 >= a.delay_ms:
                break
        else:
            row = idx.query(a.sql)
            if row is not None and row[0] == 1:
                break
        time.sleep(0.003)
    ms = (time.monotonic() - t0) * 1000
    if a.victim == "group":
        try:
            os.killpg(pgid, signal.SIGKILL)
            what = "group %d" % pgid
        except ProcessLookupError:
            what = "none: the group ended"
    elif a.victim.startswith("lock:"):
        pid = lock_holder(a.victim[5:], pgid)
        if pid is None:
            what = "none: no process of the group holds %s" % a.victim[5:]
        else:
            try:
                os.kill(pid, signal.SIGKILL)
                what = "process %d holding %s" % (pid, a.victim[5:])
            except ProcessLookupError:
                what = "none: the lock holder ended"
    else:
        kids = children(pgid, a.child_comm)
        if not kids:
            what = "none: no %s child" % a.child_comm
        else:
            victim = kids[0] if a.victim == "first-child" else kids[-1]
            try:
                os.kill(victim, signal.SIGKILL)
                what = "child %d (%s of %d)" % (
                    victim, a.victim.split("-")[0], len(kids))
            except ProcessLookupError:
                what = "none: the child ended"
    state = ""
    if idx is not None:
        row = idx.query(SNAPSHOT)
        if row is not None:
            state = " (index then: rows %d verified %d delete_pending %d " \
                "deleted %d)" % row
    print("%s after %d ms%s" % (what, ms, state))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
