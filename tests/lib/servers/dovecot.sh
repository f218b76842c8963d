# shellcheck shell=bash
#
# servers/dovecot.sh -- Dovecot (tests/lib/dovecot.sh) behind the server
# matrix interface of README.md, prefix dc. Dovecot is installed by
# "make deps"; its store is a Maildir.

dc_setup() {
	command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || {
		echo "dovecot is not installed (make deps installs dovecot-pop3d)"
		return 1
	}
	return 0
}

dc_start() {
	. "$T_ROOT/tests/lib/dovecot.sh"
	dv_start "$1" || return 1
	dv_adduser "$SRV_USER" "$SRV_PASS" || return 1
	SRV_NAME=dovecot
	SRV_PORT=$DV_POP3S_PORT
	SRV_CA=$DV_CA
	SRV_STORE=$(dv_maildir "$SRV_USER")
	export SRV_NAME SRV_PORT SRV_CA SRV_STORE
}

dc_deliver() {
	local f n=0 name
	for f in "$@"; do
		n=$((n + 1))
		name="$(date +%s).M$RANDOM${n}P$$.matrix"
		cp -- "$f" "$SRV_STORE/tmp/$name" &&
		    mv -- "$SRV_STORE/tmp/$name" "$SRV_STORE/new/$name" || return 1
	done
	dv_fix_perms "$SRV_USER"
}

# RETR after dot-unstuffing, as Dovecot 2.3 sends it (expect.py: bare LF
# sent as CRLF, CRLF appended to a file without a final LF).
dc_server_messages() {
	dv_server_files "$SRV_USER" | python3 -c '
import os, sys
sys.path.insert(0, os.path.join(sys.argv[2], "tests", "lib"))
import expect
out = sys.argv[1]
for i, path in enumerate(l.strip() for l in sys.stdin if l.strip()):
    with open(path, "rb") as fh:
        wire = expect.dovecot_wire(fh.read())
    body = wire[1:] if wire.startswith(b".") else wire
    with open(os.path.join(out, "%04d" % (i + 1)), "wb") as fh:
        fh.write(body.replace(b"\r\n.", b"\r\n"))
' "$1" "$T_ROOT"
}

dc_count() {
	dv_server_files "$SRV_USER" | wc -l
}

dc_stop() {
	declare -F dv_stop >/dev/null && dv_stop
	return 0
}
