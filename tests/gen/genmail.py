#!/usr/bin/env python3
"""genmail.py -- deterministic generator of realistic (and nasty) messages.

    genmail.py --count N --seed S [--start K] [--big-every M]
               [--big-size BYTES] [--list] MAILDIR

Writes N message files into MAILDIR/new/ (via MAILDIR/tmp/, as a Maildir
deliverer does), numbered K .. K+N-1. A message is a function of (seed,
number) only, so the same arguments always give the same bytes. File names
look like Dovecot's: "<time>.M<number>P<pid>.genmail,S=<size>", where <time>
grows with the number (Dovecot gives UIDs in that order) and S= is the exact
file size (Dovecot trusts it). Files are stored with LF line endings, as
Dovecot stores mail, and are made 0644 whatever the umask.

Numbers 0..len(TRICKY)-1 are the tricky kinds, in the order listed in
TRICKY, so any run starting at 0 with at least that many messages covers
them all; later numbers are mostly ordinary mail (plain, UTF-8, folded
headers, multipart with base64 attachments, multipart/alternative) with a
few tricky ones sprinkled in. With --big-every M, every message whose
number n has n % M == M - 1 gets a --big-size attachment (default 4 MiB).

Every message is distinct: a unique Message-ID "<genmail.S.n@...>" (where it
has one), a unique X-Genmail header, and a unique token in the body (where it
has a body). --list prints "number kind filename" per message on stdout.
"""

import argparse
import base64
import os
import random
import sys
import time

TRICKY = [
    "plain",            # 0: baseline
    "dots",             # lines ".", "..", "...", ".x", ".\t", " ."
    "from_lines",       # "From ", ">From ", ">>From " at line starts
    "utf8",             # 8-bit UTF-8 body, RFC 2047 subject and From
    "folded",           # folded headers, long References, Received chain
    "multipart",        # multipart/mixed with base64 attachments
    "nul",              # NUL bytes in the body
    "no_final_newline",  # last line has no "\n"
    "no_message_id",    # no Message-ID header
    "empty_body",       # headers, blank line, nothing else
    "headers_only",     # headers, no blank line, no body
    "long_line",        # one 100 KB line
    "bare_cr",          # CR not followed by LF inside lines
    "dot_last_line",    # the last body line is exactly "."
    "dot_no_newline",   # ends with "\n." and no final newline
    "cr_at_end",        # file ends with a bare CR
    "crlf_lines",       # some lines stored with CRLF ("\r\n") endings
    "header_8bit",      # raw UTF-8 in headers
    "alternative",      # multipart/alternative, quoted-printable + html
    "dot_start_body",   # body starts with ".", and a "." line right after
                        # the blank line
    "big_header",       # a 20 KB folded header
]

ORDINARY = ["plain"] * 45 + ["utf8"] * 15 + ["multipart"] * 18 + \
    ["folded"] * 10 + ["alternative"] * 7 + ["header_8bit"] * 2 + \
    ["dots", "from_lines", "nul", "bare_cr", "long_line", "no_final_newline",
     "crlf_lines", "dot_last_line"]

WORDS = (
    "the of and to in is that for it as was with be by on not he this are or "
    "his from at which but have an they you were her she there been one all "
    "we their has would when if so no will more can out other into than "
    "archive mailbox server message retrieve verify index commit batch "
    "quarterly report meeting invoice schedule project review budget draft "
    "attached please find below regards thanks tomorrow deadline customer "
    "delivery status update notes agenda minutes proposal contract figures"
).split()

UTF8_WORDS = (
    "Grüße Straße Müller über schön naïve café résumé déjà façade "
    "Ελληνικά καλημέρα Привет спасибо сообщение 日本語 メール 中文 邮件 "
    "한국어 편지 עברית ﻣﺮﺣﺒﺎ ✓ — “quoted” €100 ½ ∑ 🙂 📎"
).split()

NAMES = ["Alice Example", "Bob Builder", "Carol Jones", "Dave O'Brien",
         "Eve Martin", "Frank Li", "Grace Hopper", "Heidi Schmidt"]
UTF8_NAMES = ["Jürgen Weiß", "Zoë Brontë", "Ηλίας Παπαδόπουλος",
              "Дмитрий Иванов", "山田 太郎", "José Núñez"]

BASE_TIME = 1700000000
DOMAIN = "example.test"


def b2047(text, rng):
    """RFC 2047 encoded-word for text (B or Q, chosen by rng)."""
    raw = text.encode("utf-8")
    if rng.random() < 0.5:
        return "=?UTF-8?B?" + base64.b64encode(raw).decode() + "?="
    out = []
    for ch in raw:
        c = chr(ch)
        if c == " ":
            out.append("_")
        elif c.isalnum() and ch < 128:
            out.append(c)
        else:
            out.append("=%02X" % ch)
    return "=?UTF-8?Q?" + "".join(out) + "?="


def words(rng, n, vocab=WORDS):
    return " ".join(rng.choices(vocab, k=n))


def paragraph_text(rng, size, vocab=WORDS):
    """About size bytes of wrapped text lines (LF endings)."""
    lines = []
    total = 0
    while total < size:
        line = words(rng, rng.randint(6, 13), vocab)
        if rng.random() < 0.08:
            line = ""
        lines.append(line)
        total += len(line.encode()) + 1
    return "\n".join(lines) + "\n"


def fold(name, value, width=70):
    """Fold a header at spaces, continuation lines start with a tab."""
    out = []
    line = name + ":"
    for w in value.split(" "):
        if len(line) + 1 + len(w) > width and line != name + ":":
            out.append(line)
            line = "\t" + w
        else:
            line += " " + w
    out.append(line)
    return "\n".join(out) + "\n"


class Msg:
    def __init__(self, seed, n):
        self.seed = seed
        self.n = n
        self.rng = random.Random("genmail:%s:%d" % (seed, n))
        self.token = "genmail-%s-%d-%08x" % (seed, n, self.rng.getrandbits(32))

    def date(self):
        t = BASE_TIME + self.n * 97
        return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(t))

    def headers(self, subject=None, msgid=True, extra="", from_=None,
                content_type="text/plain; charset=us-ascii", cte="7bit"):
        rng = self.rng
        frm = from_ or "%s <%s@%s>" % (rng.choice(NAMES),
                                       "user%d" % rng.randint(1, 99), DOMAIN)
        to = "%s <archive@%s>" % (rng.choice(NAMES), DOMAIN)
        subj = subject or words(rng, rng.randint(3, 8)).capitalize()
        h = ("Return-Path: <bounce-%d@%s>\n" % (self.n, DOMAIN) +
             "Received: from mx%d.%s (mx%d.%s [192.0.2.%d])\n"
             "\tby pop.%s with ESMTP id %s\n\tfor <archive@%s>; %s\n"
             % (self.n % 7, DOMAIN, self.n % 7, DOMAIN, self.n % 250 + 1,
                DOMAIN, self.token, DOMAIN, self.date()) +
             "From: %s\n" % frm +
             "To: %s\n" % to +
             "Subject: %s\n" % subj +
             "Date: %s\n" % self.date())
        if msgid:
            h += "Message-ID: <genmail.%s.%d@%s>\n" % (self.seed, self.n,
                                                      DOMAIN)
        h += "X-Genmail: %s\n" % self.token
        h += "MIME-Version: 1.0\n"
        h += "Content-Type: %s\n" % content_type
        if cte:
            h += "Content-Transfer-Encoding: %s\n" % cte
        h += extra
        return h

    def body_text(self, lo=2048, hi=10240, vocab=WORDS):
        rng = self.rng
        return ("Token: %s\n\n" % self.token +
                paragraph_text(rng, rng.randint(lo, hi), vocab))

    def attachment(self, size, boundary, name):
        data = self.rng.randbytes(size)
        return ("--%s\n" % boundary +
                "Content-Type: application/octet-stream; name=\"%s\"\n" % name +
                "Content-Disposition: attachment; filename=\"%s\"\n" % name +
                "Content-Transfer-Encoding: base64\n\n" +
                base64.encodebytes(data).decode("ascii"))

    # --- kinds: each returns bytes ------------------------------------

    def k_plain(self):
        return (self.headers() + "\n" + self.body_text()).encode()

    def k_dots(self):
        rng = self.rng
        body = self.body_text(500, 1500)
        body += ".\n..\n...\n.x\n.\t\n..hidden\n .\n. \n"
        body += paragraph_text(rng, 500)
        body += ".\n"
        body += paragraph_text(rng, 300)
        return (self.headers(subject="Dots . .. ...") + "\n" + body).encode()

    def k_from_lines(self):
        rng = self.rng
        body = ("From the desk of %s\n" % rng.choice(NAMES) +
                self.body_text(500, 1500) +
                "From someone@example.test Mon Jan  1 00:00:00 2001\n"
                ">From quoted once\n>>From quoted twice\n"
                "From: not a header\nFrom\n>From\n" +
                paragraph_text(rng, 400) +
                "From x\n")
        return (self.headers(subject="From lines") + "\n" + body).encode()

    def k_utf8(self):
        rng = self.rng
        subj = b2047(words(rng, 4, UTF8_WORDS), rng)
        frm = "%s <utf8-%d@%s>" % (b2047(rng.choice(UTF8_NAMES), rng),
                                   self.n, DOMAIN)
        body = self.body_text(2048, 8192, WORDS + UTF8_WORDS)
        return (self.headers(subject=subj, from_=frm,
                             content_type="text/plain; charset=utf-8",
                             cte="8bit") + "\n" + body).encode("utf-8")

    def k_folded(self):
        rng = self.rng
        refs = " ".join("<ref%d.%d@%s>" % (self.n, i, DOMAIN)
                        for i in range(rng.randint(5, 30)))
        extra = (fold("References", refs) +
                 fold("X-Long-Header", words(rng, 40)) +
                 "X-Folded-Spaces: first part\n    second part\n \tthird\n" +
                 "Received: from a.%s\n by b.%s;\n  %s\n"
                 % (DOMAIN, DOMAIN, self.date()))
        subj = words(rng, 18).replace(" ", " ", 1)
        h = self.headers(extra=extra)
        h = h.replace("Subject: ", "Subject: %s\n\t" % subj, 1)
        return (h + "\n" + self.body_text()).encode()

    def multipart(self, sizes):
        rng = self.rng
        boundary = "=_genmail_%s_%d" % (self.seed, self.n)
        out = (self.headers(
            content_type='multipart/mixed;\n\tboundary="%s"' % boundary,
            cte=None) + "\nThis is a multi-part message in MIME format.\n\n" +
            "--%s\nContent-Type: text/plain; charset=us-ascii\n\n" % boundary +
            self.body_text(500, 3000) + "\n")
        for i, size in enumerate(sizes):
            out += self.attachment(size, boundary,
                                   "file%d-%d.bin" % (self.n, i))
        out += "--%s--\n" % boundary
        return out.encode()

    def k_multipart(self):
        rng = self.rng
        sizes = [rng.randint(20 * 1024, 300 * 1024)
                 for _ in range(rng.choice([1, 1, 1, 2]))]
        return self.multipart(sizes)

    def k_big(self, size):
        return self.multipart([size])

    def k_nul(self):
        body = self.body_text(1000, 3000)
        body = ("NUL here:\0:there\n\0\nline\0\0\0end\n" + body +
                "trailing nul\0\n")
        return (self.headers(subject="NUL bytes") + "\n" + body).encode()

    def k_no_final_newline(self):
        return (self.headers(subject="No final newline") + "\n" +
                self.body_text(1000, 3000) + "last line, no newline").encode()

    def k_no_message_id(self):
        return (self.headers(subject="No Message-ID", msgid=False) + "\n" +
                self.body_text()).encode()

    def k_empty_body(self):
        return (self.headers(subject="Empty body") + "\n").encode()

    def k_headers_only(self):
        return self.headers(subject="Headers only").encode()

    def k_long_line(self):
        rng = self.rng
        line = ("%s " % self.token) * 3
        while len(line) < 100 * 1024:
            line += words(rng, 50) + " "
        line = line[:100 * 1024]
        return (self.headers(subject="Long line") + "\n" +
                self.body_text(500, 1000) + line + "\n" +
                "after the long line\n").encode()

    def k_bare_cr(self):
        body = self.body_text(1000, 3000)
        body = ("bare\rCR in the middle\n\rstarts with CR\n"
                "ends with CR\r\nCR\r\rtwice\n.\rdot then CR\n" + body +
                "progress 10%\r20%\r30%\n")
        return (self.headers(subject="Bare CR") + "\n" + body).encode()

    def k_dot_last_line(self):
        return (self.headers(subject="Dot last line") + "\n" +
                self.body_text(500, 1500) + ".\n").encode()

    def k_dot_no_newline(self):
        return (self.headers(subject="Dot no newline") + "\n" +
                self.body_text(500, 1500) + ".").encode()

    def k_cr_at_end(self):
        return (self.headers(subject="Ends with CR") + "\n" +
                self.body_text(500, 1500) + "last\r").encode()

    def k_crlf_lines(self):
        body = self.body_text(500, 1500)
        lines = body.split("\n")
        body = "\r\n".join(lines[:5]) + "\n" + "\n".join(lines[5:])
        return (self.headers(subject="Some CRLF lines") + "\n" +
                body + "crlf last\r\n").encode()

    def k_header_8bit(self):
        rng = self.rng
        frm = "%s <raw8-%d@%s>" % (rng.choice(UTF8_NAMES), self.n, DOMAIN)
        subj = "Raw 8-bit: " + words(rng, 4, UTF8_WORDS)
        return (self.headers(subject=subj, from_=frm,
                             content_type="text/plain; charset=utf-8",
                             cte="8bit") + "\n" +
                self.body_text(1000, 4000, WORDS + UTF8_WORDS)).encode()

    def k_alternative(self):
        rng = self.rng
        boundary = "=_alt_%s_%d" % (self.seed, self.n)
        text = self.body_text(1000, 4000, WORDS + UTF8_WORDS)
        qp = qp_encode(text.encode("utf-8"))
        html = "<html><body><p>%s</p><p>%s</p></body></html>\n" % (
            self.token, words(rng, 200))
        out = (self.headers(
            content_type='multipart/alternative; boundary="%s"' % boundary,
            cte=None) + "\n" +
            "--%s\nContent-Type: text/plain; charset=utf-8\n" % boundary +
            "Content-Transfer-Encoding: quoted-printable\n\n" + qp + "\n" +
            "--%s\nContent-Type: text/html; charset=us-ascii\n\n" % boundary +
            html + "--%s--\n" % boundary)
        return out.encode()

    def k_dot_start_body(self):
        return (self.headers(subject="Body starts with dot") + "\n" +
                ".\n.leading dot\n" + self.body_text(500, 1500)).encode()

    def k_big_header(self):
        rng = self.rng
        val = " ".join("<r%d.%d.%s@%s>" % (self.n, i, words(rng, 1), DOMAIN)
                       for i in range(700))
        return (self.headers(subject="Big header",
                             extra=fold("References", val)) + "\n" +
                self.body_text(500, 1500)).encode()


def qp_encode(raw):
    """Quoted-printable, soft line breaks at 76, LF line endings."""
    out_lines = []
    for line in raw.split(b"\n"):
        enc = []
        for i, b in enumerate(line):
            c = chr(b)
            last = i == len(line) - 1
            if (33 <= b <= 126 and c != "=") or (c in " \t" and not last):
                enc.append(c)
            else:
                enc.append("=%02X" % b)
        cur = ""
        for piece in enc:
            if len(cur) + len(piece) > 75:
                out_lines.append(cur + "=")
                cur = ""
            cur += piece
        out_lines.append(cur)
    return "\n".join(out_lines)


def kind_of(seed, n):
    if n < len(TRICKY):
        return TRICKY[n]
    return random.Random("kind:%s:%d" % (seed, n)).choice(ORDINARY)


def make(seed, n, big_every=0, big_size=4 << 20):
    """(kind, bytes) of message number n for seed."""
    m = Msg(seed, n)
    if big_every and n % big_every == big_every - 1:
        return "big", m.k_big(big_size)
    kind = kind_of(seed, n)
    return kind, getattr(m, "k_" + kind)()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--seed", required=True)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--big-every", type=int, default=0)
    ap.add_argument("--big-size", type=int, default=4 << 20)
    ap.add_argument("--list", action="store_true",
                    help='print "number kind filename" per message')
    ap.add_argument("maildir")
    a = ap.parse_args(argv)
    if a.count < 0 or a.start < 0 or a.big_every < 0 or a.big_size < 0:
        ap.error("numbers must not be negative")
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(a.maildir, sub), exist_ok=True)
    pid = os.getpid()
    for n in range(a.start, a.start + a.count):
        kind, data = make(a.seed, n, a.big_every, a.big_size)
        name = "%d.M%dP%d.genmail,S=%d" % (BASE_TIME + n, n, pid, len(data))
        tmp = os.path.join(a.maildir, "tmp", name)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.fchmod(fd, 0o644)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        dst = os.path.join(a.maildir, "new", name)
        if os.path.exists(dst):
            os.unlink(tmp)
            sys.exit("genmail: %s exists" % dst)
        os.rename(tmp, dst)
        if a.list:
            print(n, kind, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
