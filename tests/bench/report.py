#!/usr/bin/env python3
"""report.py -- Markdown tables from the measurements of bench.sh.

    report.py RUNS.tsv N=BYTES... [upload:N=BYTES]...

RUNS.tsv has one line per run: n, phase (keep, nothing, delete, prepare,
upload), client, rep, wall (s), user (s), sys (s), rss_kb, rc ("0", a non-zero
exit status, or "bad": the run exited 0 but did not do the job; a "bad"
line follows the run's own line), load1 (the 1-minute load average just
before the run). N=BYTES gives the corpus size
of each mailbox size N; upload:N=BYTES the size of the N messages of the
upload runs (another corpus: without NUL and bare CR). Failed and bad runs are left out of the numbers
and listed at the end. Prints Markdown on stdout.

Throughput is corpus bytes (the message files as the server stores them,
LF line ends) / median wall time, in MB/s (10^6 bytes). "Share of limit"
is the limit client's median wall time / this client's median wall time.
CPU is user + system time of the client process tree (mean: GNU time
counts in 10 ms steps, too coarse for one short run). Peak RSS
is the largest maximum resident set size over the runs, in MiB.
"""

import csv
import os
import statistics
import sys

CORES = os.cpu_count()

TARGETS_SHARE = [("popvault-maildir", 0.85), ("popvault-mbox", 0.90),
                 ("popvault-tar.zst", 0.70), ("popvault-mbox.gz", 0.40)]
TARGETS_RSS = [("popvault-maildir", 16), ("popvault-mbox", 16),
               ("popvault-tar.zst", 64), ("popvault-tar.gz", 64)]


def load(path):
    runs, bad = [], set()
    with open(path, newline="") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            key = (int(r["n"]), r["phase"], r["client"], r["rep"])
            if r["rc"] == "bad":
                bad.add(key)
                continue
            r["key"] = key
            runs.append(r)
    ok, failed = [], []
    for r in runs:
        if r["rc"] != "0" or r["key"] in bad:
            failed.append(r)
        else:
            ok.append(r)
    return ok, failed, bad


def stats(rows):
    walls = sorted(float(r["wall"]) for r in rows)
    cpu = [float(r["user"]) + float(r["sys"]) for r in rows]
    return {
        "min": walls[0], "med": statistics.median(walls), "max": walls[-1],
        "cpu": statistics.mean(cpu),
        "rss": max(int(r["rss_kb"]) for r in rows) / 1024.0,
        "count": len(rows),
    }


def group(ok, n, phase):
    order, by = [], {}
    for r in ok:
        if r["key"][0] != n or r["phase"] != phase:
            continue
        if r["client"] not in by:
            order.append(r["client"])
            by[r["client"]] = []
        by[r["client"]].append(r)
    return order, {c: stats(rs) for c, rs in by.items()}


def fmt_s(x):
    return "%.3f" % x if x < 10 else "%.2f" % x


def load_line(ok, n, phase):
    loads = sorted(float(r["load1"]) for r in ok
                   if r["key"][0] == n and r["phase"] == phase
                   and r.get("load1") not in (None, "", "-"))
    if loads:
        print("1-minute load average before these runs: min %.2f, median "
              "%.2f, max %.2f (%s cores)." % (loads[0],
                                              statistics.median(loads),
                                              loads[-1], CORES))
        print()


def throughput_table(title, order, st, limit, nbytes, tries,
                     share="share of limit"):
    print("### " + title)
    print()
    print("| client | wall min / median / max (s) | MB/s | %s "
          "| CPU user+sys, mean (s) | peak RSS (MiB) | runs ok |" % share)
    print("|---|---|---:|---:|---:|---:|---:|")
    lim = st.get(limit)
    for c in order:
        s = st[c]
        share = "%.2f" % (lim["med"] / s["med"]) if lim else "-"
        print("| %s | %s / %s / %s | %.1f | %s | %s | %.1f | %d/%d |" % (
            c, fmt_s(s["min"]), fmt_s(s["med"]), fmt_s(s["max"]),
            nbytes / 1e6 / s["med"], share, fmt_s(s["cpu"]), s["rss"],
            s["count"], tries.get(c, s["count"])))
    print()


def tries_of(rows, n, phase):
    t = {}
    for r in rows:
        if r["key"][0] == n and r["phase"] == phase:
            t[r["client"]] = t.get(r["client"], 0) + 1
    return t


def main():
    ok, failed, bad = load(sys.argv[1])
    sizes, upsizes = {}, {}
    for a in sys.argv[2:]:
        n, b = a.split("=")
        if n.startswith("upload:"):
            upsizes[int(n[7:])] = int(b)
        else:
            sizes[int(n)] = int(b)
    allrows = ok + failed
    targets = []
    for n in sorted(sizes):
        nbytes = sizes[n]
        print("## N = %d messages (%.1f MB)" % (n, nbytes / 1e6))
        print()
        order, st = group(ok, n, "keep")
        if order:
            throughput_table("Full retrieval, keep on server", order, st,
                             "limit", nbytes, tries_of(allrows, n, "keep"))
            load_line(ok, n, "keep")
            for c, goal in TARGETS_SHARE:
                if c in st and "limit" in st:
                    v = st["limit"]["med"] / st[c]["med"]
                    targets.append((n, "%s share of limit" % c,
                                    ">= %.2f" % goal, "%.2f" % v,
                                    v >= goal))
            for c, goal in TARGETS_RSS:
                if c in st:
                    v = st[c]["rss"]
                    targets.append((n, "%s peak RSS" % c, "< %d MiB" % goal,
                                    "%.1f MiB" % v, v < goal))
        order, st = group(ok, n, "nothing")
        if order:
            print("### Nothing new (second run, state present)")
            print()
            print("| client | wall min / median / max (s) "
                  "| CPU user+sys, mean (s) | peak RSS (MiB) | runs ok |")
            print("|---|---|---:|---:|---:|")
            tries = tries_of(allrows, n, "nothing")
            for c in order:
                s = st[c]
                print("| %s | %s / %s / %s | %s | %.1f | %d/%d |" % (
                    c, fmt_s(s["min"]), fmt_s(s["med"]), fmt_s(s["max"]),
                    fmt_s(s["cpu"]), s["rss"], s["count"], tries[c]))
            print()
            load_line(ok, n, "nothing")
            pv, mp = st.get("popvault-maildir"), st.get("mpop-maildir")
            if pv and mp:
                targets.append((n, "popvault nothing-new vs mpop",
                                "<= mpop (%s s)" % fmt_s(mp["med"]),
                                "%s s" % fmt_s(pv["med"]),
                                pv["med"] <= mp["med"]))
            if pv and n >= 100000:
                targets.append((n, "popvault nothing-new", "< 1 s",
                                "%s s" % fmt_s(pv["med"]), pv["med"] < 1))
        order, st = group(ok, n, "prepare")
        if order and n >= 100000:
            print("Full runs that prepared the nothing-new state (one each): " +
                  ", ".join("%s %s s, %.1f MiB" % (c, fmt_s(st[c]["med"]),
                                                  st[c]["rss"])
                            for c in order) + ".")
            print()
        order, st = group(ok, n, "delete")
        if order:
            throughput_table(
                "Retrieve and delete (popvault --delete=verified, mpop "
                "keep off, limitpop -d; a fresh copy of the mailbox each "
                "run; share of limitpop -d)", order, st, "limit-dele",
                nbytes, tries_of(allrows, n, "delete"))
            load_line(ok, n, "delete")
            for c, goal in TARGETS_SHARE[:2]:
                if c in st and "limit-dele" in st:
                    v = st["limit-dele"]["med"] / st[c]["med"]
                    targets.append((n, "%s --delete=verified share of "
                                    "limit -d" % c, ">= %.2f" % goal,
                                    "%.2f" % v, v >= goal))
                    targets.append((n, "%s --delete=verified peak RSS" % c,
                                    "< 16 MiB", "%.1f MiB" % st[c]["rss"],
                                    st[c]["rss"] < 16))
        order, st = group(ok, n, "upload")
        if order:
            ub = upsizes.get(n, nbytes)
            throughput_table(
                "Upload of %d IMAP-safe messages (%.1f MB) to an empty IMAP "
                "folder (popvault export --to, which proves every message "
                "by reading it back; mbsync pushing from a Maildir; a new "
                "folder each run)" % (n, ub / 1e6), order, st,
                "mbsync-push", ub, tries_of(allrows, n, "upload"),
                share="mbsync wall / this wall")
            load_line(ok, n, "upload")
            pv, mb = st.get("popvault-upload"), st.get("mbsync-push")
            if pv and mb:
                print("popvault / mbsync: wall (medians) %.2f, CPU (means) %.2f, "
                      "peak RSS %.2f." % (pv["med"] / mb["med"],
                                          pv["cpu"] / mb["cpu"],
                                          pv["rss"] / mb["rss"]))
                print()
    if targets:
        print("## Targets (issue 7)")
        print()
        print("| N | measure | target | measured | met |")
        print("|---:|---|---|---:|---|")
        for n, what, goal, got, met in targets:
            print("| %d | %s | %s | %s | %s |" % (n, what, goal, got,
                                                 "yes" if met else "**no**"))
        print()
    if failed:
        print("## Failed or wrong runs (left out above)")
        print()
        for r in failed:
            why = "exit status %s" % r["rc"] if r["rc"] != "0" else \
                "finished but incomplete (see the bench log)"
            print("- N=%s %s %s rep %s: %s" % (r["n"], r["phase"],
                                               r["client"], r["rep"], why))
        print()


if __name__ == "__main__":
    main()
