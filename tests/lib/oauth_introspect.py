#!/usr/bin/env python3
"""oauth_introspect.py -- a token introspection endpoint (RFC 7662) for
Dovecot's oauth2 passdb in tests: loopback only, standard library only.

Usage: oauth_introspect.py --token TOKEN --user NAME --port-file F
                           [--log F] [--timeout 300]

POST (or GET) with "token=..." in the form body, as Dovecot sends with
introspection_mode = post: {"active": true, "username": NAME} when the
token is TOKEN, else {"active": false}. Each request is logged (the
token's length and whether it matched, never the token). Exits after
--timeout seconds so a test can never leave it behind.
"""

import argparse
import http.server
import json
import os
import threading
import urllib.parse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--token", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--timeout", type=float, default=300)
    a = ap.parse_args()
    log = open(a.log, "a", buffering=1) if a.log else None

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(n, 1 << 20)).decode("latin-1")
            form = urllib.parse.parse_qs(body)
            tok = (form.get("token") or [""])[0]
            ok = tok == a.token
            if log:
                log.write("%s %s token_len=%d active=%s\n" %
                          (self.command, self.path, len(tok), ok))
            out = json.dumps({"active": True, "username": a.user} if ok
                             else {"active": False}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_POST = answer
        do_GET = answer

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    threading.Timer(a.timeout, srv.shutdown).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
