#!/usr/bin/env python3
"""check_archive.py -- check a popvault account archive with independent readers.

    check_archive.py [--mutt] [--cl-padding] FORMAT ACCOUNT_DIR EXPECTED_LIST
    check_archive.py hashes [--mutt] [--cl-padding] FORMAT ACCOUNT_DIR...
    check_archive.py gzip-members FILE...

FORMAT is one of: maildir, mbox, mbox.gz, tar, tar.gz, tar.zst, tar.xz, eml.
ACCOUNT_DIR is VAULT/accounts/NAME. EXPECTED_LIST holds one entry per line,
as for "expect.py compare": a Dovecot message file path (as printed by
dv_server_files; files Dovecot moved from new/ to cur/ are found again) or
a 64-hex SHA-256 of the expected stored bytes. The stored bytes of a message
("canonical form") are what RETR delivered, dot-unstuffed, CRLF -> LF:
tests/lib/expect.py's expected_archive_bytes().

Never runs popvault and never writes to the archive. Uses the Python
standard library, bsdtar, gzip, zstd and xz (and mutt with --mutt).

Checks, per format (all: the multiset of stored messages read back equals
the multiset of expected messages, so nothing is missing and nothing is
stored twice):

  maildir   ACCOUNT_DIR/maildir: every regular file under new/ and cur/ is
            one message (as expect.py compare); tmp/ is empty; names have no
            leading "." and no ":" except the ":2," info in cur/; Python
            mailbox.Maildir sees as many messages.
  mbox, mbox.gz
            ACCOUNT_DIR/mbox/YYYY-MM.mbox (.mbox.gz) files only. .gz: "gzip
            -t" passes; the file is a sequence of complete gzip members,
            nothing after the last; Python's gzip module reads it whole and
            gets the same bytes. The (decompressed) file is parsed as
            mboxrd: it starts with a From_ line; every line starting with
            "From " is a separator "From SENDER DATE" (DATE in asctime,
            day space-padded, weekday right; SENDER the Return-Path address
            without <>, MAILER-DAEMON if Return-Path is absent or <>);
            every separator but the first follows an empty line; the file
            ends with an empty line. A message is the bytes between its
            From_ line and the empty line before the next one, with one ">"
            removed from every line matching ^>+From . Python mailbox.mbox
            must find the same messages (get_bytes(), unquoted, same
            hashes in the same order); with --mutt, mutt (read-only, under
            a pty) must count as many (mutt trusts a Content-Length header
            when a From_ line or the end of the file sits where it
            points: a forged length must not hide messages). Strict by default: exactly one
            empty line after each message. --cl-padding accepts the extra
            empty line popvault's writer puts before a separator (or the
            end of a batch) that would fall on a Content-Length target
            ("trap", docs/formats.md); the traps are re-derived from the
            file, and only there is an extra empty line removed.
  tar, tar.gz, tar.zst, tar.xz
            ACCOUNT_DIR/tar/*.tar(.gz|.zst|.xz) only, and no *.part file
            anywhere under ACCOUNT_DIR. Per volume: "gzip/zstd/xz -dc"
            exits 0; POSIX ustar/pax headers (magic "ustar\\0" "00");
            "bsdtar -tf" (on the volume) lists the members and Python
            tarfile (on the decompressed stream) the same names; members
            are regular files (directories allowed), names relative,
            without "." "..", or empty components, of [A-Za-z0-9._/+=-],
            each containing the lowercase hex SHA-256 of its content; an
            end-of-archive marker follows the last member and only zero
            bytes after it (no second archive concatenated); "bsdtar -xf"
            (of the decompressed stream) into an empty folder creates
            exactly the listed names, inside it, with the same contents.

  eml       ACCOUNT_DIR/eml: every entry but tmp/ is a regular file named
            SHA256.eml or SHA256-N.eml (N a number), SHA256 the lowercase
            hex SHA-256 of its content; tmp/ is empty; Python's email
            package (BytesParser, policy default) parses each file, and
            its headers read back equal the file's header section
            (email's own as_bytes() is not compared: it refolds).

"hashes" runs the same readers and checks on each ACCOUNT_DIR except the
comparison with an expected list, and prints what they read back, one line
per stored message, "SHA256 NAME/LOCATION" (NAME the ACCOUNT_DIR's last
component, LOCATION within it; a message stored twice is listed twice),
sorted, and the problems found on stderr: for checks over several account
folders of one vault (vault-wide deduplication stores a message once, in
the folder of the account that brought it first).

Exit status: 0 all good, 1 a check failed (the reasons are printed), 2
usage or I/O error. "gzip-members" prints "FILE MEMBERS" per file (exit 1
if a file is not a clean sequence of complete gzip members).
"""

import calendar
import gzip
import hashlib
import mailbox
import os
import pty
import re
import select
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expect  # noqa: E402  (tests/lib/expect.py)

FORMATS = ("maildir", "mbox", "mbox.gz", "tar", "tar.gz", "tar.zst",
           "tar.xz", "eml")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEX64_IN = re.compile(r"[0-9a-f]{64}")
MBOX_NAME = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])\.mbox(\.gz)?$")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
          "Oct", "Nov", "Dec")
FROM_LINE = re.compile(
    rb"^From (\S+) (Mon|Tue|Wed|Thu|Fri|Sat|Sun) "
    rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    rb"([ 123][0-9]) ([0-2][0-9]):([0-5][0-9]):([0-6][0-9]) ([0-9]{4})\n$")
UNQUOTE = re.compile(rb"(?m)^>(>*From )")
MEMBER_NAME = re.compile(r"^[A-Za-z0-9._+=-]+(/[A-Za-z0-9._+=-]+)*/?$")
CHUNK = 1 << 20
MAX_SHOWN = 40


class Fatal(Exception):
    """Usage or I/O problem: exit 2."""


def sha(b):
    return hashlib.sha256(b).hexdigest()


def sha_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def run(argv, **kw):
    try:
        return subprocess.run(argv, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, **kw)
    except FileNotFoundError:
        raise Fatal("%s is not installed" % argv[0])


def first_line(b):
    s = b.decode("utf-8", "replace").strip().splitlines()
    return s[0] if s else ""


class Report:
    def __init__(self, fmt, adir):
        self.fmt = fmt
        self.adir = adir
        self.problems = []      # (category, text)
        self.notes = []
        self.got = {}           # sha -> [location]
        self.near = {}          # sha -> [(sha of a variant, how it differs)]
        self.notes_pad = 0      # padding lines removed (--cl-padding)

    def bad(self, cat, text):
        self.problems.append((cat, text))

    def add(self, h, where):
        self.got.setdefault(h, []).append(where)

    def rel(self, path):
        return os.path.relpath(path, self.adir)


# ---------------------------------------------------------------- expected

def load_expected(listfile):
    expected = {}
    try:
        with open(listfile) as fh:
            entries = [l.strip() for l in fh if l.strip()]
    except OSError as ex:
        raise Fatal("cannot read %s: %s" % (listfile, ex))
    for e in entries:
        if HEX64.match(e):
            expected.setdefault(e, []).append("(hash)")
            continue
        p = expect._resolve(e)
        if p is None:
            raise Fatal("server file gone: %s (hash the list before "
                        "running popvault)" % e)
        try:
            h = expect.sha256_file_expected(p)
        except expect.Unsupported as ex:
            raise Fatal("%s: %s" % (e, ex))
        expected.setdefault(h, []).append(e)
    return expected


def compare(rep, expected):
    n_exp = sum(len(v) for v in expected.values())
    n_got = sum(len(v) for v in rep.got.values())
    missing, extra = [], []
    for h in sorted(set(expected) | set(rep.got)):
        e, g = expected.get(h, []), rep.got.get(h, [])
        if len(e) > len(g):
            missing += [(h, x) for x in e[len(g):]]
        elif len(g) > len(e):
            dup = " (stored %d times, expected %d)" % (len(g), len(e)) \
                if e else ""
            extra += [(h, "%s%s" % (x, dup)) for x in g[len(e):]]
    if missing or extra:
        rep.bad("content", "expected %d messages, archive has %d; "
                "%d missing, %d extra" % (n_exp, n_got, len(missing),
                                          len(extra)))
        missing_h = {h for h, _ in missing}
        for h, x in missing:
            rep.bad("missing", "%s  %s" % (h, x))
        for h, x in extra:
            why = ["; readers get the expected message %s with %s" % (v[:16], how)
                   for v, how in rep.near.get(h, []) if v in missing_h]
            rep.bad("extra", "%s  %s%s" % (h, x, "".join(why[:1])))
    return n_got


# ---------------------------------------------------------------- maildir

def check_maildir(rep):
    md = os.path.join(rep.adir, "maildir")
    if not os.path.isdir(md):
        rep.bad("layout", "no folder %s" % md)
        return
    for sub in ("new", "cur", "tmp"):
        if not os.path.isdir(os.path.join(md, sub)):
            rep.bad("layout", "no maildir/%s" % sub)
    tmp = os.path.join(md, "tmp")
    if os.path.isdir(tmp) and os.listdir(tmp):
        rep.bad("layout", "maildir/tmp not empty: %s" %
                " ".join(sorted(os.listdir(tmp))[:5]))
    for name in sorted(os.listdir(md)):
        if name not in ("new", "cur", "tmp"):
            rep.bad("layout", "unexpected entry maildir/%s" % name)
    for sub in ("new", "cur"):
        top = os.path.join(md, sub)
        if not os.path.isdir(top):
            continue
        for root, dirs, files in os.walk(top):
            dirs.sort()
            for name in sorted(files) + sorted(dirs):
                p = os.path.join(root, name)
                base = name.split(":2,", 1)[0] if sub == "cur" else name
                if name.startswith(".") or ":" in base or \
                        (sub == "new" and ":" in name):
                    rep.bad("layout", "bad maildir name %s" % rep.rel(p))
            for name in sorted(files):
                p = os.path.join(root, name)
                if not stat.S_ISREG(os.lstat(p).st_mode):
                    rep.bad("layout", "not a regular file: %s" % rep.rel(p))
                    continue
                rep.add(sha_file(p), rep.rel(p))
    try:
        n = len(mailbox.Maildir(md, factory=None, create=False))
    except Exception as ex:     # noqa: BLE001 (report any reader failure)
        rep.bad("python", "mailbox.Maildir failed: %r" % ex)
        return
    n_got = sum(len(v) for v in rep.got.values())
    if n != n_got:
        rep.bad("python", "mailbox.Maildir sees %d messages, %d files "
                "found" % (n, n_got))
    rep.notes.append("python Maildir %d" % n)


# ---------------------------------------------------------------- eml

EML_NAME = re.compile(r"^([0-9a-f]{64})(-[0-9]+)?\.eml$")
FIELD_NAME = re.compile(rb"^([\x21-\x39\x3b-\x7e]+):")


def check_eml(rep):
    import email
    import email.parser
    import email.policy
    ed = os.path.join(rep.adir, "eml")
    if not os.path.isdir(ed):
        rep.bad("layout", "no folder %s" % ed)
        return
    tmp = os.path.join(ed, "tmp")
    if os.path.isdir(tmp) and os.listdir(tmp):
        rep.bad("layout", "eml/tmp not empty: %s" %
                " ".join(sorted(os.listdir(tmp))[:5]))
    parsed = 0
    for name in sorted(os.listdir(ed)):
        p = os.path.join(ed, name)
        if name == "tmp" and os.path.isdir(p):
            continue
        m = EML_NAME.match(name)
        if not m:
            rep.bad("layout", "unexpected entry eml/%s" % name)
            continue
        if not stat.S_ISREG(os.lstat(p).st_mode):
            rep.bad("layout", "not a regular file: eml/%s" % name)
            continue
        with open(p, "rb") as fh:
            data = fh.read()
        h = sha(data)
        if h != m.group(1):
            rep.bad("name", "eml/%s holds bytes of SHA-256 %s" % (name, h))
        rep.add(h, "eml/" + name)
        try:
            msg = email.parser.BytesParser(
                policy=email.policy.default).parsebytes(data)
            keys = [k.lower() for k in msg.keys()]
        except Exception as ex:     # noqa: BLE001 (any parser failure)
            rep.bad("python", "email cannot parse eml/%s: %r" % (name, ex))
            continue
        # The header names email found are those of the header section,
        # read by email's rules (RFC 5322 field names, folded lines, a
        # leading "From " line taken as the Unix From_ line), by hand.
        names = []
        for i, ln in enumerate(data.split(b"\n")):
            if ln.endswith(b"\r"):
                ln = ln[:-1]
            if ln == b"":
                break
            if i == 0 and ln.startswith(b"From "):
                continue
            if ln[:1] in (b" ", b"\t"):
                continue
            fm = FIELD_NAME.match(ln)
            if not fm:
                break
            names.append(fm.group(1).decode("ascii").lower())
        if keys != names:
            rep.bad("python", "email reads headers %s from eml/%s, the "
                    "file has %s" % (keys[:8], name, names[:8]))
        parsed += 1
    rep.notes.append("python email %d" % parsed)


# ---------------------------------------------------------------- gzip

def gzip_walk(path):
    """Walk the gzip members of path: (members, data, error or None).

    Reads in chunks; each member must be complete (trailer checked by
    zlib); nothing may follow the last member.
    """
    members = 0
    out = []
    pending = b""
    d = None
    with open(path, "rb") as fh:
        while True:
            chunk = pending or fh.read(CHUNK)
            pending = b""
            if not chunk:
                break
            if d is None:
                if not chunk.startswith(b"\x1f\x8b") and len(chunk) >= 2:
                    return members, b"".join(out), (
                        "bytes after member %d are not a gzip member "
                        "(%r...)" % (members, chunk[:8]))
                d = zlib.decompressobj(wbits=31)
            try:
                out.append(d.decompress(chunk))
            except zlib.error as ex:
                return members, b"".join(out), (
                    "member %d: %s" % (members + 1, ex))
            if d.eof:
                members += 1
                pending = d.unused_data
                d = None
    if d is not None:
        return members, b"".join(out), (
            "member %d is truncated (no end of stream)" % (members + 1))
    return members, b"".join(out), None


def cmd_gzip_members(paths):
    rc = 0
    for p in paths:
        try:
            n, _, err = gzip_walk(p)
        except OSError as ex:
            print("gzip-members: %s: %s" % (p, ex), file=sys.stderr)
            return 2
        if err:
            print("gzip-members: %s: %s" % (p, err), file=sys.stderr)
            rc = 1
        print("%s %d" % (p, n))
    return rc


# ---------------------------------------------------------------- mbox

def header_section(msg):
    """The header lines of msg (up to the first empty line), unfolded."""
    end = msg.find(b"\n\n")
    head = msg if end < 0 else msg[:end + 1]
    if msg.startswith(b"\n"):
        head = b""
    lines = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and lines:
            lines[-1] += b" " + line.strip()
        else:
            lines.append(line)
    return lines


def expected_sender(msg):
    """The From_ sender the spec gives for msg, or None if not simple."""
    for line in header_section(msg):
        if line.lower().startswith(b"return-path:"):
            v = line[len(b"return-path:"):].strip(b" \t\r")
            m = re.match(rb"^<([^<>\s\x00]*)>$", v)
            if not m:
                return None
            return m.group(1) or b"MAILER-DAEMON"
    return b"MAILER-DAEMON"


def check_from_line(line):
    """None if line is a well-formed From_ line, else why not."""
    m = FROM_LINE.match(line)
    if not m:
        return "malformed From_ line %r" % line[:120]
    _, wd, mon, day, hh, mi, ss, yr = (g.decode() for g in m.groups())
    try:
        t = calendar.timegm((int(yr), MONTHS.index(mon) + 1, int(day),
                             int(hh), int(mi), int(ss), 0, 0, 0))
        tm = time.gmtime(t)
    except (ValueError, OverflowError):
        return "bad date in From_ line %r" % line[:120]
    if (tm.tm_mday != int(day) or tm.tm_hour != int(hh) or
            tm.tm_min != int(mi) or tm.tm_sec != int(ss) or
            DAYS[tm.tm_wday] != wd):
        return "inconsistent date in From_ line %r" % line[:120]
    return None


def parse_mboxrd(data, label, rep):
    """[(offset, from_line, content)] of an mboxrd file, problems reported.

    content is the stored (quoted) bytes of the message, without the From_
    line and without the empty line that follows the message.
    """
    if not data:
        return []
    if not data.startswith(b"From "):
        rep.bad("mbox", "%s: does not start with a From_ line (%r)" %
                (label, data[:40]))
        return []
    seps = [0] + [m.start() + 1 for m in re.finditer(rb"\nFrom ", data)]
    out = []
    for i, s in enumerate(seps):
        e = seps[i + 1] if i + 1 < len(seps) else len(data)
        nl = data.find(b"\n", s, e)
        if nl < 0:
            rep.bad("mbox", "%s@%d: From_ line without newline at end of "
                    "file (torn tail?)" % (label, s))
            continue
        fl = data[s:nl + 1]
        why = check_from_line(fl)
        if why:
            rep.bad("mbox", "%s@%d: %s" % (label, s, why))
        region = data[nl + 1:e]
        if not region.endswith(b"\n\n") and region != b"\n":
            if i + 1 < len(seps):
                rep.bad("mbox", "%s@%d: a line starting with \"From \" "
                        "not preceded by an empty line (unquoted From_ in "
                        "a body, or a missing separator line)" %
                        (label, e))
            else:
                rep.bad("mbox", "%s: the file does not end with an empty "
                        "line (torn tail? last message at %d)" % (label, s))
            content = region
        else:
            content = region[:-1]
        if region == b"\n":
            rep.bad("mbox", "%s@%d: message of zero bytes (a stored "
                    "message is never empty)" % (label, s))
        if why is None:
            want = expected_sender(unquote(content))
            got = FROM_LINE.match(fl).group(1)
            if want is not None and got != want:
                rep.bad("mbox", "%s@%d: From_ sender %r, Return-Path "
                        "gives %r" % (label, s, got.decode("latin-1"),
                                      want.decode("latin-1")))
        out.append((s, fl, content, e))
    return out


CONTENT_LENGTH = re.compile(rb"(?im)^content-length:[ \t]*([0-9]+)[ \t]*$")


def strip_cl_padding(msgs, label, rep):
    """Undo the documented Content-Length padding of popvault's writer.

    mutt trusts a message's Content-Length CL when "From " (or the end of
    the file) sits at body start + CL + 1. The writer records each such
    target past the message's own end (a trap) and, when a separator or the
    end of a batch would fall on one, writes one more empty line first.
    The traps are derived here from the file alone; wherever the next
    separator (or the end of the file) sits just after a run of trap
    offsets, that many padding lines are removed from the message before.
    """
    traps = set()
    out = []
    for s, fl, content, e in msgs:
        k = 0
        while (e - 1 - k) in traps and content.endswith(b"\n" * (k + 2)):
            k += 1
        if k:
            rep.notes_pad += k
            content = content[:-k]
        he = content.find(b"\n\n")
        if he >= 0 and not content.startswith(b"\n"):
            m = CONTENT_LENGTH.search(content[:he + 1])
            if m:
                loc = s + len(fl) + he + 2
                target = loc + int(m.group(1)) + 1
                if target > s + len(fl) + len(content) + 1:
                    traps.add(target)
        out.append((s, fl, content, e))
    return out


def unquote(content):
    return UNQUOTE.sub(rb"\1", content)


def mutt_count(path, timeout=120):
    """How many messages mutt reads in the mbox file path."""
    if shutil.which("mutt") is None:
        raise Fatal("--mutt: mutt is not installed")
    work = tempfile.mkdtemp(prefix="check-mutt.")
    try:
        out = os.path.join(work, "piped")
        # A missing ~/Mail makes mutt ask whether to create it, and that
        # prompt eats the pushed keys.
        os.mkdir(os.path.join(work, "Mail"), 0o700)
        sep = "@@check-archive-sep-%d@@" % os.getpid()
        cmd = ["mutt", "-n", "-F", "/dev/null", "-R", "-f", path,
               "-e", "set pipe_split=no pipe_decode=no wait_key=no "
               "sort=mailbox-order pipe_sep='%s'" % sep,
               "-e", "push '<tag-pattern>~A<enter><tag-prefix>"
               "<pipe-message>cat >%s<enter><quit>'" % out]
        env = dict(os.environ, HOME=work, TERM="vt100")
        env.pop("MAIL", None)
        env.pop("MUTT", None)
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execvpe(cmd[0], cmd, env)
            finally:
                os._exit(127)
        end = time.monotonic() + timeout
        status = None
        eof = False
        try:
            while time.monotonic() < end:
                wpid, st = os.waitpid(pid, os.WNOHANG)
                if wpid:
                    status = st
                    break
                if eof:
                    time.sleep(0.05)
                    continue
                r, _, _ = select.select([fd], [], [], 0.2)
                if r:
                    try:
                        eof = not os.read(fd, 65536)
                    except OSError:
                        eof = True
        finally:
            if status is None:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            os.close(fd)
        if status is None:
            return None, "mutt did not finish in %d s" % timeout
        if not os.path.exists(out):
            return None, "mutt piped nothing (exit status %r)" % status
        with open(out, "rb") as fh:
            return fh.read().count(sep.encode()), None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check_mbox(rep, gz, use_mutt, cl_padding):
    mdir = os.path.join(rep.adir, "mbox")
    if not os.path.isdir(mdir):
        rep.bad("layout", "no folder %s" % mdir)
        return
    suffix = ".mbox.gz" if gz else ".mbox"
    files = []
    for name in sorted(os.listdir(mdir)):
        p = os.path.join(mdir, name)
        if not MBOX_NAME.match(name) or not name.endswith(suffix):
            rep.bad("layout", "unexpected entry mbox/%s (want YYYY-MM%s)" %
                    (name, suffix))
            continue
        if not stat.S_ISREG(os.lstat(p).st_mode):
            rep.bad("layout", "not a regular file: mbox/%s" % name)
            continue
        files.append(p)
    work = tempfile.mkdtemp(prefix="check-mbox.")
    n_py = n_mutt = members = 0
    try:
        for p in files:
            label = rep.rel(p)
            if gz:
                r = run(["gzip", "-t", p])
                if r.returncode != 0:
                    rep.bad("gzip", "%s: gzip -t exit %d: %s" %
                            (label, r.returncode, first_line(r.stderr)))
                n, data, err = gzip_walk(p)
                members += n
                if err:
                    rep.bad("gzip", "%s: %s" % (label, err))
                try:
                    with gzip.open(p, "rb") as fh:
                        whole = fh.read()
                    if whole != data:
                        rep.bad("gzip", "%s: Python gzip reads %d bytes, "
                                "the member walk %d" %
                                (label, len(whole), len(data)))
                    del whole
                except (OSError, EOFError, zlib.error) as ex:
                    rep.bad("gzip", "%s: Python gzip cannot read it whole: "
                            "%r" % (label, ex))
                plain = os.path.join(work, os.path.basename(p)[:-3])
                with open(plain, "wb") as fh:
                    fh.write(data)
            else:
                with open(p, "rb") as fh:
                    data = fh.read()
                plain = p
            if not data:
                rep.notes.append("%s is empty" % label)
            msgs = parse_mboxrd(data, label, rep)
            if cl_padding:
                msgs = strip_cl_padding(msgs, label, rep)
            del data
            mine = []
            for off, _, content, _ in msgs:
                u = unquote(content)
                h = sha(u)
                mine.append(h)
                rep.add(h, "%s@%d" % (label, off))
                # For the diff: extra empty lines written after a message
                # (padding) make readers return it with more "\n"s.
                k = len(u) - len(u.rstrip(b"\n"))
                for j in range(1, min(k, 4)):
                    rep.near.setdefault(h, []).append(
                        (sha(u[:-j]), "%d extra \"\\n\" at its end (an "
                         "empty line written after the message?)" % j))
                if u != content:
                    rep.near.setdefault(h, []).append(
                        (sha(content), "quoted: the unquoting of "
                         "^>+From lines makes it differ"))
            # Python's reader, independently.
            try:
                mb = mailbox.mbox(plain, create=False)
                try:
                    keys = mb.keys()
                    py = [mb.get_bytes(k) for k in keys]
                    if cl_padding and len(py) == len(msgs):
                        # Python shows the padding lines as part of the
                        # message: drop them if that is all there is more.
                        py = [b[:len(m[2])]
                              if not b[len(m[2]):].strip(b"\n") else b
                              for b, m in zip(py, msgs)]
                    py = [unquote(b) for b in py]
                    py = [sha(b) for b in py]
                finally:
                    mb.close()
            except Exception as ex:     # noqa: BLE001
                rep.bad("python", "%s: mailbox.mbox failed: %r" %
                        (label, ex))
                py = []
            n_py += len(py)
            if len(py) != len(mine):
                rep.bad("python", "%s: mailbox.mbox reads %d messages, the "
                        "mboxrd parse %d" % (label, len(py), len(mine)))
            elif py != mine:
                bad = [i for i in range(len(py)) if py[i] != mine[i]]
                rep.bad("python", "%s: mailbox.mbox bytes differ for %d "
                        "messages (first: #%d)" % (label, len(bad), bad[0]))
            if use_mutt and msgs:
                n, err = mutt_count(plain)
                if err:
                    rep.bad("mutt", "%s: %s" % (label, err))
                else:
                    n_mutt += n
                    if n != len(mine):
                        rep.bad("mutt", "%s: mutt reads %d messages, the "
                                "mboxrd parse %d (Content-Length trap?)" %
                                (label, n, len(mine)))
            if plain != p:
                os.unlink(plain)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rep.notes.append("%d file(s)" % len(files))
    if gz:
        rep.notes.append("%d gzip member(s)" % members)
    rep.notes.append("python mbox %d" % n_py)
    if cl_padding:
        rep.notes.append("%d padding line(s) removed" % rep.notes_pad)
    if use_mutt:
        rep.notes.append("mutt %d" % n_mutt)


# ---------------------------------------------------------------- tar

DECOMP = {"tar": None, "tar.gz": "gzip", "tar.zst": "zstd", "tar.xz": "xz"}


def decompress_to(tool, src, dst):
    with open(dst, "wb") as out:
        try:
            r = subprocess.run([tool, "-dc", src], stdout=out,
                               stderr=subprocess.PIPE)
        except FileNotFoundError:
            raise Fatal("%s is not installed" % tool)
    return r


def member_name_problem(name):
    if name.startswith("/"):
        return "absolute name"
    if not MEMBER_NAME.match(name):
        return "name outside [A-Za-z0-9._+=-/] or with an empty component"
    parts = name.rstrip("/").split("/")
    if any(p in (".", "..") for p in parts):
        return "\".\" or \"..\" component"
    return None


def check_tar_volume(rep, fmt, vol, work):
    label = rep.rel(vol)
    tool = DECOMP[fmt]
    plain = vol
    if tool:
        # The exit status of the decompression is the integrity test
        # (what "gzip -t", "zstd -t", "xz -t" would say).
        plain = os.path.join(work, "volume.tar")
        r = decompress_to(tool, vol, plain)
        if r.returncode != 0:
            rep.bad("compress", "%s: %s -dc exit %d: %s" %
                    (label, tool, r.returncode, first_line(r.stderr)))
    # bsdtar's view of the volume (it detects the compression itself).
    r = run(["bsdtar", "-tf", vol])
    if r.returncode != 0:
        rep.bad("bsdtar", "%s: bsdtar -tf exit %d: %s" %
                (label, r.returncode, first_line(r.stderr)))
    bsd_names = [l for l in r.stdout.decode("utf-8", "replace").split("\n")
                 if l]
    # Raw header magic: POSIX ustar/pax, not GNU or v7.
    with open(plain, "rb") as fh:
        first = fh.read(512)
    if len(first) < 512 or first[257:265] != b"ustar\x0000":
        rep.bad("tar", "%s: first header is not POSIX ustar/pax (magic %r)"
                % (label, first[257:265]))
    # Python tarfile, on the stream decompressed by the tool.
    contents = {}       # member name -> sha
    py_names = []
    try:
        with tarfile.open(plain, "r:") as tf:
            members = tf.getmembers()
            end = tf.offset
            for m in members:
                py_names.append(m.name)
                why = member_name_problem(m.name)
                if why:
                    rep.bad("tar", "%s: member %r: %s" % (label, m.name, why))
                if m.isdir():
                    continue
                if not m.isreg():
                    rep.bad("tar", "%s: member %r is not a regular file "
                            "(type %r)" % (label, m.name, m.type))
                    continue
                h = hashlib.sha256()
                fh = tf.extractfile(m)
                for chunk in iter(lambda: fh.read(CHUNK), b""):
                    h.update(chunk)
                d = h.hexdigest()
                if d not in HEX64_IN.findall(m.name):
                    rep.bad("tar", "%s: member %r does not carry the SHA-256 "
                            "of its content (%s)" % (label, m.name, d))
                contents[m.name] = d
                rep.add(d, "%s:%s" % (label, m.name))
    except (tarfile.TarError, OSError, EOFError) as ex:
        rep.bad("tar", "%s: Python tarfile failed: %r" % (label, ex))
        return 0
    if not members:
        rep.bad("tar", "%s: volume has no member" % label)
    if sorted(bsd_names) != sorted(py_names):
        rep.bad("tar", "%s: bsdtar lists %d members, Python tarfile %d "
                "(or different names)" % (label, len(bsd_names),
                                          len(py_names)))
    # After the last member: the end-of-archive marker, and zeros only.
    size = os.path.getsize(plain)
    if size - end < 1024:
        rep.bad("tar", "%s: no end-of-archive marker (%d bytes after the "
                "last member)" % (label, size - end))
    with open(plain, "rb") as fh:
        fh.seek(end)
        pos = end
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            if chunk.strip(b"\0"):
                rep.bad("tar", "%s: non-zero bytes after the end of the "
                        "archive at offset %d (a second archive "
                        "concatenated?)" % (label, pos + len(chunk) -
                                            len(chunk.lstrip(b"\0"))))
                break
            pos += len(chunk)
    # Extraction into an empty folder.
    root = os.path.join(work, "x")
    dest = os.path.join(root, "into")
    os.makedirs(dest)
    try:
        # From the decompressed copy: bsdtar -tf already read the volume
        # itself, and decompressing twice more is slow for tar.xz.
        r = run(["bsdtar", "-xf", plain, "-C", dest])
        if r.returncode != 0:
            rep.bad("bsdtar", "%s: bsdtar -xf exit %d: %s" %
                    (label, r.returncode, first_line(r.stderr)))
        if sorted(os.listdir(root)) != ["into"]:
            rep.bad("extract", "%s: extraction created %s outside its "
                    "folder" % (label, sorted(os.listdir(root))))
        found = {}
        for dp, dirs, files in os.walk(dest):
            for name in dirs + files:
                p = os.path.join(dp, name)
                st = os.lstat(p)
                relp = os.path.relpath(p, dest)
                if stat.S_ISDIR(st.st_mode):
                    continue
                if not stat.S_ISREG(st.st_mode):
                    rep.bad("extract", "%s: extraction made a non-regular "
                            "file %s" % (label, relp))
                    continue
                found[relp] = sha_file(p)
        want = {os.path.normpath(n): h for n, h in contents.items()}
        if found != want:
            miss = sorted(set(want) - set(found))
            more = sorted(set(found) - set(want))
            diff = sorted(n for n in set(want) & set(found)
                          if want[n] != found[n])
            rep.bad("extract", "%s: bsdtar -xf made %d files, %d expected; "
                    "not made %s; unexpected %s; different content %s" %
                    (label, len(found), len(want), miss[:3], more[:3],
                     diff[:3]))
    finally:
        shutil.rmtree(root, ignore_errors=True)
        if plain != vol:
            os.unlink(plain)
    return len(members)


def check_tar(rep, fmt):
    for dp, dirs, files in os.walk(rep.adir):
        for name in dirs + files:
            if name.endswith(".part"):
                rep.bad("layout", "unfinished volume left: %s" %
                        rep.rel(os.path.join(dp, name)))
    tdir = os.path.join(rep.adir, "tar")
    if not os.path.isdir(tdir):
        rep.bad("layout", "no folder %s" % tdir)
        return
    ext = "." + fmt
    vols = []
    for name in sorted(os.listdir(tdir)):
        p = os.path.join(tdir, name)
        if name.endswith(".part"):
            continue            # reported above
        if not name.endswith(ext) or name.startswith(".") or \
                len(name) == len(ext):
            rep.bad("layout", "unexpected entry tar/%s (want NAME%s)" %
                    (name, ext))
            continue
        if not stat.S_ISREG(os.lstat(p).st_mode):
            rep.bad("layout", "not a regular file: tar/%s" % name)
            continue
        vols.append(p)
    work = tempfile.mkdtemp(prefix="check-tar.")
    n = 0
    try:
        for v in vols:
            n += check_tar_volume(rep, fmt, v, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rep.notes.append("%d volume(s), %d member(s)" % (len(vols), n))


# ---------------------------------------------------------------- main

def check_args(fmt, adir):
    if fmt not in FORMATS:
        raise Fatal("unknown format %r (one of %s)" %
                    (fmt, ", ".join(FORMATS)))
    if not os.path.isdir(adir):
        raise Fatal("no account folder %s" % adir)


def read_archive(fmt, adir, use_mutt, cl_padding):
    """Every check of FORMAT's readers on ACCOUNT_DIR but the comparison
    with an expected list: a Report with the messages read back (got)."""
    check_args(fmt, adir)
    rep = Report(fmt, adir)
    if fmt == "maildir":
        check_maildir(rep)
    elif fmt.startswith("mbox"):
        check_mbox(rep, fmt == "mbox.gz", use_mutt, cl_padding)
    elif fmt == "eml":
        check_eml(rep)
    else:
        check_tar(rep, fmt)
    return rep


def print_problems(rep, out):
    shown = {}
    for cat, text in rep.problems:
        shown[cat] = shown.get(cat, 0) + 1
        if shown[cat] <= MAX_SHOWN:
            print("  %-8s %s" % (cat, text), file=out)
    for cat, k in sorted(shown.items()):
        if k > MAX_SHOWN:
            print("  %-8s ... %d more" % (cat, k - MAX_SHOWN), file=out)


def check(fmt, adir, listfile, use_mutt, cl_padding=False):
    check_args(fmt, adir)
    expected = load_expected(listfile)
    rep = read_archive(fmt, adir, use_mutt, cl_padding)
    n = compare(rep, expected)
    notes = ", ".join(rep.notes)
    if not rep.problems:
        print("check_archive: OK: %s %s: %d messages (%s)" %
              (fmt, adir, n, notes))
        return 0
    print("check_archive: FAIL: %s %s: %d problem(s) (%s)" %
          (fmt, adir, len(rep.problems), notes))
    print_problems(rep, sys.stdout)
    return 1


def hashes(fmt, *adirs, use_mutt=False, cl_padding=False):
    """The "hashes" command: what the readers get back from each account
    folder, one line per stored message, "SHA256 NAME/LOCATION" (NAME the
    folder's name, LOCATION within it), sorted by hash; a message stored
    twice is listed twice. For checks over several account folders (a
    vault-wide archive stores a message once, in the folder of the
    account that brought it first)."""
    for adir in adirs:
        check_args(fmt, adir)
    lines, code = [], 0
    for adir in adirs:
        rep = read_archive(fmt, adir, use_mutt, cl_padding)
        name = os.path.basename(os.path.normpath(adir))
        for h, where in rep.got.items():
            lines += ["%s %s/%s" % (h, name, w) for w in where]
        if rep.problems:
            code = 1
            print("check_archive: FAIL: %s %s: %d problem(s) (%s)" %
                  (fmt, adir, len(rep.problems), ", ".join(rep.notes)),
                  file=sys.stderr)
            print_problems(rep, sys.stderr)
    for line in sorted(lines):
        print(line)
    return code


def main(argv):
    usage = ("usage: check_archive.py [--mutt] [--cl-padding] FORMAT "
             "ACCOUNT_DIR "
             "EXPECTED_LIST\n       check_archive.py hashes [--mutt] "
             "[--cl-padding] FORMAT ACCOUNT_DIR...\n"
             "       check_archive.py gzip-members FILE...\n"
             "FORMAT: " + " ".join(FORMATS))
    try:
        if argv[:1] == ["gzip-members"] and len(argv) > 1:
            return cmd_gzip_members(argv[1:])
        cmd = check
        if argv[:1] == ["hashes"]:
            cmd = hashes
            argv = argv[1:]
        use_mutt = cl_padding = False
        while argv[:1] and argv[0].startswith("--"):
            if argv[0] == "--mutt":
                use_mutt = True
            elif argv[0] == "--cl-padding":
                cl_padding = True
            else:
                print(usage, file=sys.stderr)
                return 2
            argv = argv[1:]
        if (len(argv) != 3) if cmd is check else (len(argv) < 2):
            print(usage, file=sys.stderr)
            return 2
        return cmd(*argv, use_mutt=use_mutt, cl_padding=cl_padding)
    except Fatal as ex:
        print("check_archive: %s" % ex, file=sys.stderr)
        return 2
    except OSError as ex:
        print("check_archive: %s" % ex, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
