#!/usr/bin/env python3
"""imapcheck.py -- an independent IMAP reader and writer for tests.

Uses only Python's imaplib, ssl, hashlib and email (no popvault code), so
that what an IMAP server holds is judged by a client nobody here wrote.

    imapcheck.py list   --host H --port P [--starttls] --ca CA --user U
                        --password-file F --folder NAME
    imapcheck.py append --host H --port P [--starttls] --ca CA --user U
                        --password-file F --folder NAME [--create]
                        [--date EPOCH | --date-from-header] [--flags FLAGS]
                        FILE...

TLS: implicit TLS by default; --starttls connects in plain text and
requires STARTTLS before LOGIN. The server certificate is always verified
against CA (and the host name or address given with --host); a failed
verification exits 2.

list prints one line per message of the folder, in UID order:

    UID SHA256 INTERNALDATE FLAGS

SHA256 is over the message bytes (UID FETCH BODY.PEEK[], which leaves
\\Seen alone) with every CRLF turned into LF, the canonical stored form of
popvault; INTERNALDATE is in epoch seconds; FLAGS are the flags separated
by commas, "-" when none (\\Recent, a per-session flag, is left out).
A missing folder is an error (exit 1).

append uploads each FILE with APPEND: bare LF line ends become CRLF (the
wire form IMAP requires; CRLF stays CRLF, other bytes are unchanged); the
INTERNALDATE is --date (epoch seconds, for every file), or with
--date-from-header the file's Date header, else the server's time. FLAGS
is a space-separated list such as "\\Seen \\Flagged" (default: none).
--create creates the folder first when it is missing. Prints the
APPENDUID answer "UIDVALIDITY UID" per file when the server gives one.

Exit status: 0 ok, 1 an IMAP or usage error, 2 a TLS verification failure.
"""

import argparse
import calendar
import email.parser
import email.utils
import hashlib
import imaplib
import re
import ssl
import sys


class Fail(Exception):
    pass


def canonical(data):
    """The stored form: every CRLF turned into LF."""
    return data.replace(b"\r\n", b"\n")


def wire(data):
    """The IMAP wire form: bare LF -> CRLF, nothing else changed."""
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


def check(typ, data, what):
    if typ != "OK":
        raise Fail("%s: %s %r" % (what, typ, data))
    return data


def quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def connect(a):
    ctx = ssl.create_default_context(cafile=a.ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if a.starttls:
        m = imaplib.IMAP4(a.host, a.port, timeout=30)
        if "STARTTLS" not in m.capabilities:
            raise Fail("server offers no STARTTLS")
        m.starttls(ssl_context=ctx)
    else:
        m = imaplib.IMAP4_SSL(a.host, a.port, ssl_context=ctx, timeout=30)
    with open(a.password_file, "r", encoding="utf-8") as f:
        password = f.read().rstrip("\n")
    check(*m.login(a.user, password), what="LOGIN")
    return m


MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
          "Oct", "Nov", "Dec"]


def internaldate(resp):
    """Epoch seconds of the INTERNALDATE in a FETCH response, or None."""
    m = re.search(rb'INTERNALDATE "([ 0-9]\d)-([A-Za-z]{3})-(\d{4}) '
                  rb'(\d\d):(\d\d):(\d\d) ([-+])(\d\d)(\d\d)"', resp)
    if m is None:
        return None
    mon = m.group(2).decode().capitalize()
    if mon not in MONTHS:
        return None
    tt = (int(m.group(3)), MONTHS.index(mon) + 1, int(m.group(1)),
          int(m.group(4)), int(m.group(5)), int(m.group(6)), 0, 0, 0)
    zone = (int(m.group(8)) * 60 + int(m.group(9))) * 60
    if m.group(7) == b"-":
        zone = -zone
    return calendar.timegm(tt) - zone


def cmd_list(a):
    m = connect(a)
    try:
        typ, data = m.select(quote(a.folder), readonly=True)
        check(typ, data, "SELECT %s" % a.folder)
        typ, data = m.uid("SEARCH", "ALL")
        check(typ, data, "UID SEARCH")
        uids = sorted(int(u) for u in data[0].split()) if data[0] else []
        for uid in uids:
            typ, data = m.uid("FETCH", str(uid),
                              "(UID FLAGS INTERNALDATE BODY.PEEK[])")
            check(typ, data, "UID FETCH %d" % uid)
            meta, body = None, None
            for item in data:
                if isinstance(item, tuple):
                    meta, body = item[0], item[1]
                    break
            if meta is None:
                raise Fail("UID FETCH %d: no message data" % uid)
            # Flags and INTERNALDATE may come before or after the literal.
            rest = meta + b" " + b" ".join(
                x for x in data if isinstance(x, bytes))
            when = internaldate(rest)
            if when is None:
                raise Fail("UID FETCH %d: no INTERNALDATE" % uid)
            fl = re.search(rb"FLAGS \(([^)]*)\)", rest)
            if fl is None:
                raise Fail("UID FETCH %d: no FLAGS" % uid)
            flags = ",".join(x.decode() for x in fl.group(1).split()
                             if x != b"\\Recent") or "-"
            digest = hashlib.sha256(canonical(body)).hexdigest()
            print(uid, digest, when, flags)
    finally:
        try:
            m.logout()
        except Exception:
            pass


def header_date(data):
    msg = email.parser.BytesHeaderParser().parsebytes(data)
    d = msg.get("Date")
    if d is None:
        return None
    try:
        return email.utils.parsedate_to_datetime(str(d)).timestamp()
    except (TypeError, ValueError):
        return None


def cmd_append(a):
    m = connect(a)
    try:
        if a.create:
            typ, data = m.list('""', quote(a.folder))
            check(typ, data, "LIST")
            if not [x for x in data if x]:
                check(*m.create(quote(a.folder)), what="CREATE")
        flags = "(%s)" % a.flags if a.flags else None
        for path in a.files:
            with open(path, "rb") as f:
                data = f.read()
            when = None
            if a.date is not None:
                when = a.date
            elif a.date_from_header:
                when = header_date(data)
            stamp = imaplib.Time2Internaldate(when) if when is not None \
                else None
            typ, resp = m.append(quote(a.folder), flags, stamp, wire(data))
            check(typ, resp, "APPEND %s" % path)
            code = re.search(rb"\[APPENDUID (\d+) (\d+)\]", resp[0] or b"")
            if code:
                print(code.group(1).decode(), code.group(2).decode())
    finally:
        try:
            m.logout()
        except Exception:
            pass


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("list", "append"):
        s = sub.add_parser(name)
        s.add_argument("--host", required=True)
        s.add_argument("--port", type=int, required=True)
        s.add_argument("--starttls", action="store_true")
        s.add_argument("--ca", required=True)
        s.add_argument("--user", required=True)
        s.add_argument("--password-file", required=True)
        s.add_argument("--folder", required=True)
        if name == "append":
            s.add_argument("--create", action="store_true")
            s.add_argument("--date", type=int)
            s.add_argument("--date-from-header", action="store_true")
            s.add_argument("--flags", default="")
            s.add_argument("files", nargs="+")
    a = p.parse_args()
    try:
        if a.cmd == "list":
            cmd_list(a)
        else:
            cmd_append(a)
    except ssl.SSLCertVerificationError as e:
        print("imapcheck.py: TLS verification failed: %s" % e,
              file=sys.stderr)
        return 2
    except (Fail, imaplib.IMAP4.error, OSError) as e:
        print("imapcheck.py: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
