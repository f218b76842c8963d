#!/usr/bin/env python3
"""fstrace.py -- check from an strace log that popvault makes folders durable.

The log comes from

    strace -f -y -o LOG -e trace=mkdir,mkdirat,open,openat,fsync,fdatasync,\
rename,renameat,renameat2,link,linkat,ftruncate popvault ...

(-y prints the path behind every file descriptor, so "fsync(7</v/a/tar>)"
names the folder). Events are taken in the order their calls returned (a
call strace shows as "<unfinished ...>" counts where it is "resumed"), and
only calls that succeeded count. An "index commit" is a successful fsync or
fdatasync of a file whose name starts with "index.sqlite" (SQLite syncs the
journal or WAL file, and the database, at every commit with
synchronous=FULL).

    fstrace.py mkdirs LOG
        Every folder the traced run created (mkdir or mkdirat that returned
        0) must have been fsynced itself and its parent fsynced after the
        mkdir returned and before the next index commit (so before any
        commit that can depend on it). Prints "created N" and one line per
        folder that misses either; exit 1 if any does.

    fstrace.py adopt LOG ANCHOR FOLDER FILE_RE
        The run's recovery commit is the first index commit after ANCHOR (a
        path: the format's folder) was first opened. Between that open and
        that commit, FOLDER must have been fsynced and so must a file whose
        path matches the regular expression FILE_RE (the file adopted).
        Exit 1 with the reason if not.

    fstrace.py cut LOG QFOLDER FILE_RE
        Before the first ftruncate of a file matching FILE_RE (recovery
        cutting an mbox back to its committed length), a file in QFOLDER
        (the quarantine copy of the cut bytes) and QFOLDER itself must
        have been fsynced. Exit 1 with the reason if not.

Exit status 2: usage, or a log that cannot be read.
"""

import os
import re
import sys

LINE = re.compile(r'^(\d+)\s+(.*)$')
CALL = re.compile(r'^([a-z0-9_]+)\((.*)\)\s+=\s+(-?\d+|\?)(.*)$')
UNFINISHED = re.compile(r'^([a-z0-9_]+)\((.*?)\s*<unfinished \.\.\.>$')
RESUMED = re.compile(r'^<\.\.\. ([a-z0-9_]+) resumed>(.*)$')
FDPATH = re.compile(r'^-?\d+<(.*)>$')


def split_args(s):
    """Split an strace argument list at top-level commas."""
    out, cur, depth, q = [], [], 0, False
    i = 0
    while i < len(s):
        c = s[i]
        if q:
            cur.append(c)
            if c == '\\' and i + 1 < len(s):
                cur.append(s[i + 1])
                i += 1
            elif c == '"':
                q = False
        elif c == '"':
            q = True
            cur.append(c)
        elif c in '([{<':
            depth += 1
            cur.append(c)
        elif c in ')]}>':
            depth -= 1
            cur.append(c)
        elif c == ',' and depth == 0:
            out.append(''.join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    if cur or out:
        out.append(''.join(cur).strip())
    return out


def unquote(a):
    if len(a) >= 2 and a[0] == '"':
        end = a.rfind('"')
        return bytes(a[1:end], 'utf-8').decode('unicode_escape')
    return a


def fd_path(a):
    """The path strace -y printed for an fd argument, or None."""
    if a.startswith('AT_FDCWD<'):
        return a[len('AT_FDCWD<'):-1]
    m = FDPATH.match(a)
    return m.group(1) if m else None


def events(path):
    """[(name, args, ret)] in completion order."""
    pending = {}
    out = []
    with open(path, encoding='utf-8', errors='replace') as f:
        for raw in f:
            raw = raw.rstrip('\n')
            m = LINE.match(raw)
            if not m:
                continue
            pid, rest = m.group(1), m.group(2)
            u = UNFINISHED.match(rest)
            if u:
                pending[pid] = (u.group(1), u.group(2))
                continue
            r = RESUMED.match(rest)
            if r:
                name, head = pending.pop(pid, (r.group(1), ''))
                rest = '%s(%s%s' % (name, head, r.group(2))
            c = CALL.match(rest)
            if not c:
                continue
            ret = c.group(3)
            if ret == '?':
                continue
            out.append((c.group(1), split_args(c.group(2)), int(ret)))
    return out


def norm(p):
    return os.path.normpath(p)


def created_dir(name, args, cwd='/'):
    if name == 'mkdir':
        p = unquote(args[0])
        return norm(p if p.startswith('/') else os.path.join(cwd, p))
    if name == 'mkdirat':
        p = unquote(args[1])
        if p.startswith('/'):
            return norm(p)
        base = fd_path(args[0])
        return norm(os.path.join(base if base else cwd, p))
    return None


def synced(name, args):
    if name in ('fsync', 'fdatasync') and args:
        p = fd_path(args[0])
        return norm(p) if p else None
    return None


def is_commit(name, args):
    p = synced(name, args)
    return p is not None and os.path.basename(p).startswith('index.sqlite')


def cmd_mkdirs(log):
    ev = [e for e in events(log) if e[2] >= 0]
    bad = []
    n = 0
    for i, (name, args, _) in enumerate(ev):
        d = created_dir(name, args)
        if d is None:
            continue
        n += 1
        need = {d: 'the folder itself', os.path.dirname(d): 'its parent'}
        got = set()
        upto = 'the end of the run'
        for name2, args2, _ in ev[i + 1:]:
            if is_commit(name2, args2):
                upto = 'the next index commit'
                break
            s = synced(name2, args2)
            if s in need:
                got.add(s)
        for p, what in need.items():
            if p not in got:
                bad.append('%s: %s (%s) not fsynced before %s' %
                           (d, what, p, upto))
    print('created %d' % n)
    for b in bad:
        print(b)
    return 1 if bad else 0


def opened(name, args):
    if name in ('open', 'openat') and args:
        p = unquote(args[1] if name == 'openat' else args[0])
        if name == 'openat' and not p.startswith('/'):
            base = fd_path(args[0])
            p = os.path.join(base if base else '/', p)
        return norm(p)
    return None


def cmd_adopt(log, anchor, folder, file_re):
    ev = [e for e in events(log) if e[2] >= 0]
    anchor, folder = norm(anchor), norm(folder)
    rx = re.compile(file_re)
    start = next((i for i, e in enumerate(ev)
                  if opened(e[0], e[1]) == anchor), None)
    if start is None:
        print('%s never opened' % anchor)
        return 1
    dir_ok = file_ok = False
    for name, args, _ in ev[start + 1:]:
        if is_commit(name, args):
            break
        s = synced(name, args)
        if s == folder:
            dir_ok = True
        elif s is not None and rx.search(s):
            file_ok = True
    else:
        print('no index commit after %s was opened' % anchor)
        return 1
    why = []
    if not file_ok:
        why.append('no file matching %s fsynced' % file_re)
    if not dir_ok:
        why.append('%s not fsynced' % folder)
    if why:
        print('before the recovery commit: ' + '; '.join(why))
        return 1
    return 0


def cmd_cut(log, qfolder, file_re):
    ev = [e for e in events(log) if e[2] >= 0]
    qfolder = norm(qfolder)
    rx = re.compile(file_re)
    qfile = qdir = False
    for name, args, _ in ev:
        if name == 'ftruncate':
            p = fd_path(args[0])
            if p and rx.search(p):
                why = []
                if not qfile:
                    why.append('no file in %s fsynced' % qfolder)
                if not qdir:
                    why.append('%s not fsynced' % qfolder)
                if why:
                    print('before %s was cut: %s' % (p, '; '.join(why)))
                    return 1
                return 0
        s = synced(name, args)
        if s == qfolder:
            qdir = True
        elif s is not None and os.path.dirname(s) == qfolder:
            qfile = True
    print('no ftruncate of a file matching %s' % file_re)
    return 1


def main(argv):
    try:
        if len(argv) == 3 and argv[1] == 'mkdirs':
            return cmd_mkdirs(argv[2])
        if len(argv) == 6 and argv[1] == 'adopt':
            return cmd_adopt(*argv[2:])
        if len(argv) == 5 and argv[1] == 'cut':
            return cmd_cut(*argv[2:])
    except OSError as e:
        print('fstrace.py: %s' % e, file=sys.stderr)
        return 2
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
