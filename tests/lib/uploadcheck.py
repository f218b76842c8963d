#!/usr/bin/env python3
"""uploadcheck.py -- expected values and judgements for test_upload.sh.

Uses only Python's standard library (email, hashlib, sqlite3, re) and
tests/lib/expect.py (the model of what POP3 from Dovecot delivers); no
popvault code. The folder's contents come from imapcheck.py "list" output
("UID SHA256 INTERNALDATE FLAGS" per line).

    uploadcheck.py meta FILE...
        one line per message file of the POP3 server: "SHA256 DATE
        SUBJECT-HEX", SHA256 of the bytes popvault must have archived
        (expect.py), DATE the epoch seconds of its Date header as Python's
        email.utils reads it, or "-" when there is none, it does not
        parse, or it lies outside the range docs/decisions.md
        ("INTERNALDATE") calls sane, 1970-01-02 to a day past now;
        SUBJECT-HEX the raw Subject value (folding kept) in hex
    uploadcheck.py select RULE META...
        the hashes (sorted, distinct) of the lines of the META files that
        RULE picks: "subject:TEXT" (the Subject holds TEXT, ASCII case
        ignored), "dates:S:U" (the Date header's instant in [S, U), S and
        U epoch seconds), "all"
    uploadcheck.py folder LIST WANT META T0 T1 FLAGS
        judge a folder: LIST from imapcheck.py; WANT the hashes that must
        be there, one a line (each exactly once, nothing else); META the
        meta lines (the dates); a message with DATE "-" must have an
        INTERNALDATE in [T0, T1] (when popvault first saw it); FLAGS the
        expected flags, comma-separated, "-" for none, "any" not to
        check. Prints one line per problem kind; exit 1 if any.
    uploadcheck.py proof VAULT FOLDER LIST WANT UIDLIST [FOUND]
        the index's record of the upload to FOLDER (the destinations row
        whose url ends in "/FOLDER") against the folder: every WANT hash
        has one deliveries row, state 'proven', whose uid is the UID the
        folder holds that hash under and whose uidvalidity is the
        folder's (UIDLIST: Dovecot's dovecot-uidlist file of the folder,
        its first line "V<uidvalidity>"); no other rows for that
        destination. FOUND: a file of "UID" lines: those rows must say
        how = 'found', the others 'appended' (without FOUND "how" is not
        checked: after a kill, a message appended but not recorded is
        found by the rerun). Exit 1 with the problems.
    uploadcheck.py truthful VAULT FOLDER LIST
        after a run that was killed or cut: no row of the index claims a
        message proven that the folder does not hold under that UID with
        that hash (the index may know less than the folder, never more);
        LIST may be an empty file (the folder was never created).
"""

import datetime
import email.parser
import email.utils
import hashlib
import importlib.util
import os
import re
import sqlite3
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "expect", os.path.join(HERE, "expect.py"))
expect = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(expect)


def header_date(data):
    msg = email.parser.BytesHeaderParser().parsebytes(data)
    d = msg.get("Date")
    if d is None:
        return None
    try:
        dt = email.utils.parsedate_to_datetime(str(d))
    except (TypeError, ValueError, IndexError):
        return None
    if dt is None:
        return None
    if dt.tzinfo is None:
        # "-0000": the time is in UTC, the local zone unknown (RFC 5322
        # section 3.3); Python gives a naive datetime for it.
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return int(dt.timestamp())


def raw_subject(data):
    msg = email.parser.BytesHeaderParser().parsebytes(data)
    s = msg.get("Subject")
    return "" if s is None else str(s)


def cmd_meta(files):
    for f in files:
        p = expect._resolve(f)
        with open(p, "rb") as fh:
            data = fh.read()
        arch = expect.expected_archive_bytes(data)
        d = header_date(arch)
        if d is not None and not 86400 <= d <= time.time() + 86400:
            d = None
        print(hashlib.sha256(arch).hexdigest(),
              "-" if d is None else d,
              raw_subject(arch).encode("utf-8", "surrogateescape").hex()
              or "-")


def read_meta(paths):
    out = {}
    for p in paths:
        with open(p) as fh:
            for line in fh:
                h, d, s = line.split()
                subj = "" if s == "-" else bytes.fromhex(s).decode(
                    "utf-8", "surrogateescape")
                out[h] = (None if d == "-" else int(d), subj)
    return out


def cmd_select(rule, metas):
    meta = read_meta(metas)
    kind, _, arg = rule.partition(":")
    got = set()
    for h, (d, subj) in meta.items():
        if kind == "all":
            ok = True
        elif kind == "subject":
            ok = arg.lower() in subj.lower()
        elif kind == "dates":
            s, u = (int(x) for x in arg.split(":"))
            ok = d is not None and s <= d < u
        else:
            sys.exit("uploadcheck.py: unknown rule %s" % rule)
        if ok:
            got.add(h)
    for h in sorted(got):
        print(h)


def read_list(path):
    rows = []
    with open(path) as fh:
        for line in fh:
            f = line.split()
            if len(f) == 4:
                rows.append((int(f[0]), f[1], int(f[2]), f[3]))
    return rows


def read_want(path):
    with open(path) as fh:
        return [x.strip() for x in fh if x.strip()]


def cmd_folder(listf, wantf, metaf, t0, t1, flags):
    rows = read_list(listf)
    want = read_want(wantf)
    meta = read_meta([metaf])
    probs = []
    count = {}
    for _, h, _, _ in rows:
        count[h] = count.get(h, 0) + 1
    missing = [h for h in want if h not in count]
    extra = [h for h in count if h not in set(want)]
    twice = [h for h, n in count.items() if n > 1]
    if missing:
        probs.append("%d of %d missing (e.g. %s)" %
                     (len(missing), len(want), missing[0][:12]))
    if extra:
        probs.append("%d unexpected (e.g. %s)" % (len(extra), extra[0][:12]))
    if twice:
        probs.append("%d present more than once (e.g. %s x%d)" %
                     (len(twice), twice[0][:12], count[twice[0]]))
    baddate, badflags, nodate = [], [], 0
    for uid, h, when, fl in rows:
        if h not in meta:
            continue
        d = meta[h][0]
        if d is None:
            nodate += 1
            if not t0 <= when <= t1:
                baddate.append("uid %d: %d not in [%d, %d] (no usable Date)"
                               % (uid, when, t0, t1))
        elif when != d:
            baddate.append("uid %d: INTERNALDATE %d, Date %d (%+d s)" %
                           (uid, when, d, when - d))
        if flags != "any":
            got = set(fl.split(",")) - {"-"}
            exp = set(flags.split(",")) - {"-"}
            if got != exp:
                badflags.append("uid %d: %s" % (uid, fl))
    if baddate:
        probs.append("%d INTERNALDATE wrong: %s" %
                     (len(baddate), "; ".join(baddate[:3])))
    if badflags:
        probs.append("%d with flags other than %s: %s" %
                     (len(badflags), flags, "; ".join(badflags[:3])))
    for p in probs:
        print(p)
    return 1 if probs else 0


def uidvalidity(path):
    with open(path) as fh:
        first = fh.readline().split()
    for w in first[1:]:
        if w.startswith("V"):
            return int(w[1:])
    raise SystemExit("uploadcheck.py: no V in %s" % path)


def deliveries(vault, folder):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(
        vault, "index.sqlite"), uri=True)
    try:
        dests = db.execute("select id, url from destinations").fetchall()
        ids = [i for i, url in dests if url.endswith("/" + folder)]
        if len(ids) != 1:
            return None, "%d destinations end in /%s (%s)" % (
                len(ids), folder, ", ".join(u for _, u in dests))
        rows = db.execute(
            "select lower(hex(sha256)), uidvalidity, uid, state, how "
            "from deliveries where dest_id = ?", (ids[0],)).fetchall()
    finally:
        db.close()
    return rows, None


def cmd_proof(vault, folder, listf, wantf, uidlist, foundf=None):
    rows, err = deliveries(vault, folder)
    if err:
        print(err)
        return 1
    listed = {}
    for uid, h, _, _ in read_list(listf):
        listed.setdefault(h, []).append(uid)
    want = set(read_want(wantf))
    found = set(int(x) for x in read_want(foundf)) if foundf else set()
    v = uidvalidity(uidlist)
    probs = []
    seen = {}
    for h, uv, uid, state, how in rows:
        seen[h] = seen.get(h, 0) + 1
        if h not in want:
            probs.append("row for %s, not a selected message" % h[:12])
            continue
        if state != "proven":
            probs.append("%s: state %s" % (h[:12], state))
        if uv != v:
            probs.append("%s: uidvalidity %s, the folder's is %d" %
                         (h[:12], uv, v))
        if listed.get(h) != [uid]:
            probs.append("%s: index says uid %s, the folder holds it as %s"
                         % (h[:12], uid, listed.get(h)))
        wanthow = "found" if uid in found else "appended"
        if foundf and how != wanthow:
            probs.append("%s: how %s, want %s" % (h[:12], how, wanthow))
    nodel = [h for h in want if h not in seen]
    if nodel:
        probs.append("%d of %d selected messages have no deliveries row" %
                     (len(nodel), len(want)))
    dup = [h for h, n in seen.items() if n > 1]
    if dup:
        probs.append("%d hashes with more than one row" % len(dup))
    for p in probs[:8]:
        print(p)
    if len(probs) > 8:
        print("... %d problems in all" % len(probs))
    return 1 if probs else 0


def cmd_truthful(vault, folder, listf):
    if not os.path.exists(os.path.join(vault, "index.sqlite")):
        return 0
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(
        vault, "index.sqlite"), uri=True)
    try:
        ok = db.execute("pragma integrity_check").fetchone()[0]
        tabs = [r[0] for r in db.execute(
            "select name from sqlite_master where type = 'table'")]
    finally:
        db.close()
    if ok != "ok":
        print("integrity_check: %s" % ok)
        return 1
    if "deliveries" not in tabs:
        return 0
    rows, err = deliveries(vault, folder)
    if rows is None:
        # No destination row yet is fine; two is not.
        return 0 if err.startswith("0 ") else (print(err) or 1)
    byuid = {uid: h for uid, h, _, _ in read_list(listf)}
    probs = []
    for h, uv, uid, state, how in rows:
        if state == "proven" and byuid.get(uid) != h:
            probs.append("proven %s as uid %s, the folder has %s there" %
                         (h[:12], uid, (byuid.get(uid) or "nothing")[:12]))
    for p in probs[:5]:
        print(p)
    return 1 if probs else 0


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "meta":
        cmd_meta(args)
        return 0
    if cmd == "select" and len(args) >= 2:
        cmd_select(args[0], args[1:])
        return 0
    if cmd == "folder" and len(args) == 6:
        return cmd_folder(args[0], args[1], args[2], int(args[3]),
                          int(args[4]), args[5])
    if cmd == "proof" and len(args) in (5, 6):
        return cmd_proof(*args)
    if cmd == "truthful" and len(args) == 3:
        return cmd_truthful(*args)
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
