# shellcheck shell=bash
#
# servers/solid.sh -- Solid POP3 (Debian package solid-pop3d 0.15) behind
# the server matrix interface of README.md, prefix sp.
# Notes on what it does: docs/servers/solid-pop3d.md.
#
# solid-pop3d conflicts with dovecot-pop3d as a package, so it is never
# installed: sp_setup fetches its .deb and liblockfile1 (not installed
# here) with "apt-get download" and unpacks them with "dpkg -x" into
# CACHE/solid-pop3d/. It has no TLS and authenticates system users (PAM
# service "solid-pop3d": /etc/passwd, /etc/shadow) whose mail is the mbox
# /var/mail/USER. So sp_start runs, as root:
#
#   unshare --mount  (a private mount namespace, gone with its processes)
#     bind mounts over /etc/passwd, /etc/shadow, /etc/group, /etc/pam.d and
#       /var/mail of private copies under DIR/ (the test user and its spool
#       exist only in there; the real files are never written);
#     a tmpfs over /var/lib holding symlinks to the real entries plus
#       /var/lib/solid-pop3d/ (home of the pseudo-user spop3d, added to the
#       private passwd; its bulletins/ folder, empty; and the server's
#       configuration, the package's /etc/spop3d.conf, given with -f);
#     stunnel4 on 127.0.0.1:SRV_PORT (implicit TLS, DIR/tls/valid.crt from
#       ../mkcerts.sh), which runs solid-pop3d inetd-style (stdin/stdout)
#       for each connection ("exec" in DIR/stunnel.conf).
#
# SRV_STORE is DIR/mail/USER, the real path (outside the namespace) of the
# spool solid-pop3d sees as /var/mail/USER. The spool folder is 1777 (the
# server dot-locks USER.lock there as the user; Debian's 2775 root:mail
# would need liblockfile's setgid helper, which is not installed). Logs:
# DIR/log/ (stunnel's; solid-pop3d logs to syslog, absent here).
#
# Needs root (unshare --mount, PAM with /etc/shadow, setuid), stunnel4,
# openssl, apt-get/dpkg (for sp_setup only, when the cache is empty),
# python3.

_sp_err() { printf 'solid.sh: %s\n' "$*" >&2; }

_SP_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
_SP_DIR=
_SP_ROOT=
_SP_PID=
_SP_NS=
_SP_UID=
_SP_GID=

# _sp_stunnel: print the stunnel binary.
_sp_stunnel() {
	command -v stunnel4 2>/dev/null || command -v stunnel 2>/dev/null ||
	    { [ -x /usr/bin/stunnel4 ] && echo /usr/bin/stunnel4; }
}

# _sp_fetch_debs ROOT PKG...: apt-get download PKG... and dpkg -x them into
# ROOT (created afresh beside it, then renamed: two callers at once both
# end with a whole tree).
_sp_fetch_debs() {
	local root=$1 tmp deb p out
	shift
	tmp=$(mktemp -d "$root.tmp.XXXXXX") || return 1
	mkdir -p "$tmp/debs" "$tmp/root" || return 1
	for p in "$@"; do
		out=$(cd "$tmp/debs" && apt-get -q -o APT::Sandbox::User=root \
		    download "$p" 2>&1) || {
			echo "apt-get download $p failed: $(printf '%s\n' "$out" | grep -v '^W:' | tail -n 1)"
			rm -rf "$tmp"
			return 1
		}
	done
	for deb in "$tmp"/debs/*.deb; do
		dpkg -x "$deb" "$tmp/root" || {
			echo "dpkg -x $(basename "$deb") failed"; rm -rf "$tmp"; return 1; }
	done
	rm -rf "$root"
	mv "$tmp/root" "$root" && rm -rf "$tmp"
}

# _sp_ldpath ROOT: the library folders of the unpacked tree.
_sp_ldpath() {
	printf '%s:%s' "$1/lib/x86_64-linux-gnu" "$1/usr/lib/x86_64-linux-gnu"
}

sp_setup() {
	local cache=${1:?usage: sp_setup CACHE} root pkgs="solid-pop3d" lib missing
	root=$cache/solid-pop3d
	if [ "$(id -u)" != 0 ]; then
		echo "solid-pop3d needs root (a private mount namespace for its passwd, shadow and /var/mail; setuid to the mail user)"
		return 1
	fi
	command -v unshare >/dev/null 2>&1 || { echo "unshare (util-linux) not found"; return 1; }
	unshare --mount true 2>/dev/null ||
	    { echo "unshare --mount is not permitted here (no CAP_SYS_ADMIN?)"; return 1; }
	[ -n "$(_sp_stunnel)" ] || { echo "stunnel4 is not installed (apt-get install stunnel4)"; return 1; }
	command -v openssl >/dev/null 2>&1 || { echo "openssl not found"; return 1; }
	# What can run here is checked above, every time; the download once.
	if [ -f "$root/.popvault-stamp" ] && [ -x "$root/usr/sbin/solid-pop3d" ]; then
		_SP_ROOT=$(cd "$root" && pwd)
		return 0
	fi
	if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
		echo "apt-get and dpkg are needed to fetch solid-pop3d"
		return 1
	fi
	for lib in liblockfile1 libpam0g libpam-modules libpam-runtime; do
		dpkg -s "$lib" 2>/dev/null | grep -q '^Status: install ok installed' ||
		    pkgs="$pkgs $lib"
	done
	mkdir -p "$cache" || { echo "cannot create $cache"; return 1; }
	# One download at a time (tests run side by side): the second caller
	# waits, then finds the stamp.
	(
		flock 9 || { echo "cannot lock $cache/.solid-pop3d.lock"; exit 1; }
		[ -f "$root/.popvault-stamp" ] && [ -x "$root/usr/sbin/solid-pop3d" ] && exit 0
		# shellcheck disable=SC2086
		_sp_fetch_debs "$root" $pkgs || exit 1
		[ -x "$root/usr/sbin/solid-pop3d" ] ||
		    { echo "the solid-pop3d package has no usr/sbin/solid-pop3d"; exit 1; }
		missing=$(LD_LIBRARY_PATH=$(_sp_ldpath "$root") ldd "$root/usr/sbin/solid-pop3d" 2>&1 |
		    awk '/not found/ { printf "%s ", $1 }')
		[ -z "$missing" ] || { echo "solid-pop3d: libraries not found: $missing"; exit 1; }
		: >"$root/.popvault-stamp"
	) 9>"$cache/.solid-pop3d.lock" || return 1
	_SP_ROOT=$(cd "$root" && pwd)
}

# _sp_free_uid START: print a uid (also free as a gid) >= START that the
# real /etc/passwd and /etc/group do not use.
_sp_free_uid() {
	awk -F: -v s="$1" '
		FILENAME == "/etc/passwd" { used[$3] = 1 }
		FILENAME == "/etc/group" { used[$3] = 1 }
		END { u = s; while (u in used) u++; print u }' /etc/passwd /etc/group
}

# _sp_ns_id PID: the mount namespace of PID (e.g. "mnt:[4026532]").
_sp_ns_id() {
	readlink "/proc/$1/ns/mnt" 2>/dev/null
}

# _sp_ns_pids NS: the pids of processes in mount namespace NS.
_sp_ns_pids() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$1" ] && printf '%s ' "${p#/proc/}"
	done
}

# _sp_wait_port PORT SECONDS PID: wait until 127.0.0.1:PORT accepts TCP
# connections while PID lives. 0 ok, 1 timeout, 2 PID died.
_sp_wait_port() {
	python3 - "$1" "$2" "$3" <<'EOF'
import os, socket, sys, time
port, limit, pid = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
end = time.monotonic() + limit
while True:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        sys.exit(0)
    except OSError:
        pass
    try:
        with open("/proc/%d/stat" % pid) as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                sys.exit(2)
    except OSError:
        sys.exit(2)
    if time.monotonic() > end:
        sys.exit(1)
    time.sleep(0.05)
EOF
}

# _sp_write_files DIR ROOT: passwd, shadow, group, pam.d, the spool, the
# server's configuration, the namespace script (not the stunnel port).
_sp_write_files() {
	local d=$1 root=$2 hash days mailgid
	_SP_UID=$(_sp_free_uid 40000) || return 1
	_SP_GID=$_SP_UID
	days=$(($(date +%s) / 86400))
	mailgid=$(awk -F: '$1 == "mail" { print $3 }' /etc/group)
	[ -n "$mailgid" ] || { _sp_err "no group mail in /etc/group"; return 1; }
	hash=$(printf '%s\n' "$SRV_PASS" | openssl passwd -6 -stdin) ||
	    { _sp_err "openssl passwd failed"; return 1; }
	mkdir -p "$d/etc" "$d/mail" "$d/log" "$d/ns/varlib" || return 1
	# The real passwd and group (no secrets in them) plus our users
	# (spop3d in group mail, as the package's postinst creates it); a
	# shadow with only our users (the real one is not copied).
	{
		grep -v "^$SRV_USER:" /etc/passwd
		if ! grep -q '^spop3d:' /etc/passwd; then
			printf 'spop3d:x:%s:%s:Solid POP3 Server:/var/lib/solid-pop3d:/usr/sbin/nologin\n' \
			    "$(_sp_free_uid $((_SP_UID + 1)))" "$mailgid"
		fi
		printf '%s:x:%s:%s:popvault test user:/nonexistent:/usr/sbin/nologin\n' \
		    "$SRV_USER" "$_SP_UID" "$_SP_GID"
	} >"$d/etc/passwd" || return 1
	{
		grep -v "^$SRV_USER:" /etc/group
		printf '%s:x:%s:\n' "$SRV_USER" "$_SP_GID"
	} >"$d/etc/group" || return 1
	(
		umask 077
		printf 'spop3d:*:%s:0:99999:7:::\n' "$days"
		printf '%s:%s:%s:0:99999:7:::\n' "$SRV_USER" "$hash" "$days"
	) >"$d/etc/shadow" || return 1
	chmod 0644 "$d/etc/passwd" "$d/etc/group" && chmod 0640 "$d/etc/shadow" &&
	    { chgrp shadow "$d/etc/shadow" 2>/dev/null || true; } || return 1
	# /etc/pam.d: the system's files (common-auth, common-account...) and
	# the package's own solid-pop3d file.
	cp -a /etc/pam.d "$d/etc/pam.d" &&
	    cp "$root/etc/pam.d/solid-pop3d" "$d/etc/pam.d/solid-pop3d" || return 1
	# The package's configuration (MailDropName "/var/mail/%s",
	# MailDropType mailbox, LogStatistics no); read as user spop3d.
	cp "$root/etc/spop3d.conf" "$d/spop3d.conf" && chmod 0644 "$d/spop3d.conf" || return 1
	# The spool: 1777 (the user dot-locks USER.lock there), the mailbox
	# owned by the user and group mail, 0600 (as exim4 creates it).
	chmod 1777 "$d/mail" &&
	    : >"$d/mail/$SRV_USER" &&
	    chown "$_SP_UID:$mailgid" "$d/mail/$SRV_USER" &&
	    chmod 0600 "$d/mail/$SRV_USER" || return 1

	# Run for each connection by stunnel, with liblockfile from the
	# unpacked tree.
	cat >"$d/solid-exec" <<EOF
#!/bin/sh
LD_LIBRARY_PATH=$(_sp_ldpath "$root")\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
exec $root/usr/sbin/solid-pop3d -f /var/lib/solid-pop3d/spop3d.conf
EOF
	chmod 0755 "$d/solid-exec" || return 1

	# Runs inside "unshare --mount" (private propagation: nothing leaks).
	cat >"$d/ns.sh" <<EOF
#!/bin/sh
set -e
D='$d'
mount --bind "\$D/etc/passwd" /etc/passwd
mount --bind "\$D/etc/shadow" /etc/shadow
mount --bind "\$D/etc/group" /etc/group
mount --bind "\$D/etc/pam.d" /etc/pam.d
mount --bind "\$D/mail" /var/mail
# /var/lib/solid-pop3d (spop3d's home, bulletins/, the configuration): a
# tmpfs over /var/lib with symlinks to the real entries.
mount --bind /var/lib "\$D/ns/varlib"
mount -t tmpfs -o mode=0755 popvault-varlib /var/lib
for e in "\$D/ns/varlib"/* "\$D/ns/varlib"/.[!.]*; do
	[ -e "\$e" ] || [ -L "\$e" ] || continue
	[ "\${e##*/}" = solid-pop3d ] && continue
	ln -s "\$e" "/var/lib/\${e##*/}"
done
mkdir -m 0755 /var/lib/solid-pop3d /var/lib/solid-pop3d/bulletins
cp "\$D/spop3d.conf" /var/lib/solid-pop3d/spop3d.conf
chmod 0644 /var/lib/solid-pop3d/spop3d.conf
exec $(_sp_stunnel) "\$D/stunnel.conf"
EOF
	chmod 0755 "$d/ns.sh"
}

# _sp_write_stunnel DIR PORT
_sp_write_stunnel() {
	cat >"$1/stunnel.conf" <<EOF
; Private stunnel for solid-pop3d (tests/lib/servers/solid.sh).
foreground = yes
pid =
output = $1/log/stunnel.log
debug = 5
syslog = no

[pop3s]
accept = 127.0.0.1:$2
cert = $1/tls/valid.crt
key = $1/tls/valid.key
sslVersionMin = TLSv1.2
exec = $1/solid-exec
execArgs = solid-pop3d
EOF
}

sp_start() {
	local dir=${1:?usage: sp_start DIR} root cache try port rc pid
	if [ -z "${SRV_USER:-}" ] || [ -z "${SRV_PASS:-}" ]; then
		_sp_err "sp_start: SRV_USER and SRV_PASS must be set"
		return 1
	fi
	case "$SRV_USER" in *[!a-z0-9_-]*|[!a-z_]*|root)
		_sp_err "sp_start: user name '$SRV_USER' unsuitable for /etc/passwd"; return 1 ;;
	esac
	if [ -n "$_SP_PID" ] && [ -n "$_SP_NS" ] &&
	    [ "$(_sp_ns_id "$_SP_PID")" = "$_SP_NS" ]; then
		_sp_err "sp_start: an instance is running in $_SP_DIR (sp_stop first)"
		return 1
	fi
	# Where sp_setup unpacked it (else the matrix's default cache).
	cache=${SRV_CACHE:-$T_ROOT/build/servers}
	root=${_SP_ROOT:-$cache/solid-pop3d}
	[ -x "$root/usr/sbin/solid-pop3d" ] ||
	    { _sp_err "sp_start: $root/usr/sbin/solid-pop3d missing (sp_setup CACHE first)"; return 1; }
	mkdir -p "$dir" || { _sp_err "cannot create $dir"; return 1; }
	dir=$(cd "$dir" && pwd) || return 1
	[ ! -e "$dir/ns.sh" ] || { _sp_err "sp_start: $dir already holds an instance"; return 1; }
	bash "$_SP_LIB/../mkcerts.sh" "$dir/tls" >/dev/null || return 1
	_sp_write_files "$dir" "$root" || return 1
	_SP_DIR=$dir

	for try in 1 2 3; do
		port=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') || return 1
		_sp_write_stunnel "$dir" "$port" || return 1
		: >"$dir/log/stunnel.log"
		# Started from a subshell that exits at once: stunnel is not a
		# child of the caller, so a "wait" there does not wait for it.
		rm -f "$dir/launch.pid"
		(
			unshare --mount --propagation private -- /bin/sh "$dir/ns.sh" \
			    </dev/null >>"$dir/log/ns.log" 2>&1 &
			echo $! >"$dir/launch.pid"
		)
		pid=$(cat "$dir/launch.pid") || return 1
		_sp_wait_port "$port" 10 "$pid"
		rc=$?
		if [ "$rc" = 0 ]; then
			_SP_PID=$pid
			_SP_NS=$(_sp_ns_id "$pid")
			if [ -z "$_SP_NS" ] || [ "$_SP_NS" = "$(_sp_ns_id $$)" ]; then
				_sp_err "sp_start: stunnel is not in a private namespace"
				kill "$pid" 2>/dev/null
				_SP_PID='' _SP_NS=''
				return 1
			fi
			printf '%s %s\n' "$_SP_PID" "$_SP_NS" >"$dir/instance"
			SRV_NAME=solid-pop3d
			SRV_PORT=$port
			SRV_CA=$dir/tls/ca.crt
			SRV_STORE=$dir/mail/$SRV_USER
			export SRV_NAME SRV_PORT SRV_CA SRV_STORE
			return 0
		fi
		kill "$pid" 2>/dev/null
		sleep 0.2
		if grep -q 'Address already in use' "$dir/log/stunnel.log" 2>/dev/null; then
			_sp_err "port $port taken meanwhile (try $try), picking another"
			continue
		fi
		break
	done
	_sp_err "sp_start: stunnel did not come up:"
	tail -n 5 "$dir/log/ns.log" "$dir/log/stunnel.log" >&2 2>/dev/null
	return 1
}

# sp_deliver FILE...: append to the mbox as a local delivery agent does
# (exim4's appendfile, Debian's default MTA, with its mbox defaults):
# holding the dot lock USER.lock (which solid-pop3d takes, through
# liblockfile) and the flock and fcntl locks, a From_ line
# "From MAILER-DAEMON <asctime>", the message with every line that starts
# with "From " written as ">From " (mboxo: ">From " lines are left alone),
# a final newline added if missing, then an empty line.
sp_deliver() {
	if [ -z "${SRV_STORE:-}" ] || [ -z "$_SP_UID" ]; then
		_sp_err "sp_deliver: no instance"
		return 1
	fi
	python3 - "$SRV_STORE" "$_SP_UID" "$@" <<'EOF'
import fcntl, os, re, sys, time
store, uid, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
lock = store + ".lock"
for _ in range(300):
    try:
        os.close(os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        break
    except FileExistsError:
        # liblockfile's rule: a lock older than 5 minutes is stale.
        try:
            if time.time() - os.stat(lock).st_mtime > 300:
                os.unlink(lock)
                continue
        except FileNotFoundError:
            continue
        time.sleep(0.1)
else:
    sys.exit("sp_deliver: %s stays locked" % lock)
try:
    fd = os.open(store, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        fcntl.lockf(fd, fcntl.LOCK_EX)
        st = os.fstat(fd)
        if st.st_uid != uid:
            os.fchown(fd, uid, -1)
        sep = b""
        if st.st_size:
            with open(store, "rb") as fh:
                fh.seek(max(0, st.st_size - 2))
                tail = fh.read()
            if not tail.endswith(b"\n\n") and tail != b"\n":
                sep = b"\n" if tail.endswith(b"\n") else b"\n\n"
        out = [sep]
        for path in files:
            with open(path, "rb") as fh:
                data = fh.read()
            data = re.sub(rb"(?m)^From ", b">From ", data)
            if not data.endswith(b"\n"):
                data += b"\n"
            stamp = time.strftime("%a %b %e %H:%M:%S %Y", time.localtime())
            out.append(b"From MAILER-DAEMON " + stamp.encode() + b"\n" + data + b"\n")
        buf = b"".join(out)
        while buf:
            buf = buf[os.write(fd, buf):]
        os.fsync(fd)
    finally:
        os.close(fd)
finally:
    os.unlink(lock)
EOF
}

# _sp_parse: python source of solid-pop3d 0.15's mailbox parser
# (mailbox.c, mb_parse), defining messages(path) -> list of RETR bytes
# after dot-unstuffing; raises ValueError where the server says "mailbox
# is damaged". The file is read in pieces of at most 127 bytes, each
# ending at the first LF (fd_fgets with a 128-byte buffer). A message
# starts at a piece that begins a line, is at least 28 bytes long
# ("From " + 2 + the 21-byte date) and starts with "From ": no empty line
# is needed before it. Its data is everything after its From_ line up to
# the next one, the separating empty line included. RETR sends every LF
# as CRLF (a CR before it stays: CR CR LF) and dot-stuffs pieces that
# begin a line.
_sp_parse() {
	cat <<'EOF'
def messages(path):
    with open(path, "rb") as fh:
        data = fh.read()
    if not data:
        return []
    pieces = []
    off, n = 0, len(data)
    while off < n:
        nl = data.find(b"\n", off, off + 127)
        end = min(n, off + 127) if nl < 0 else nl + 1
        pieces.append((off, end))
        off = end
    first = data[pieces[0][0]:pieces[0][1]]
    if len(first) < 28 or not first.startswith(b"From "):
        raise ValueError("mailbox is damaged (no From_ line first)")
    if not data.endswith(b"\n"):
        raise ValueError("mailbox is damaged (no final LF)")
    spans = []
    start = None
    newline = True
    i = 0
    while i < len(pieces):
        a, b = pieces[i]
        p = data[a:b]
        if newline and b - a >= 28 and p.startswith(b"From "):
            if start is not None:
                spans.append((start, a))
            # the rest of a long From_ line
            while not data[a:b].endswith(b"\n"):
                i += 1
                if i >= len(pieces):
                    raise ValueError("mailbox is damaged (From_ line at the end)")
                a, b = pieces[i]
            start = b
            newline = True
        else:
            newline = p.endswith(b"\n")
        i += 1
    spans.append((start, n))
    return [data[a:b].replace(b"\n", b"\r\n") for a, b in spans]
EOF
}

sp_server_messages() {
	local out=${1:?usage: sp_server_messages OUTDIR}
	[ -n "${SRV_STORE:-}" ] || { _sp_err "sp_server_messages: no instance"; return 1; }
	mkdir -p "$out" || return 1
	python3 -c "$(_sp_parse)"'
import os, sys
for i, m in enumerate(messages(sys.argv[1])):
    with open(os.path.join(sys.argv[2], "%04d" % (i + 1)), "wb") as fh:
        fh.write(m)
' "$SRV_STORE" "$out"
}

sp_count() {
	[ -n "${SRV_STORE:-}" ] || { _sp_err "sp_count: no instance"; return 1; }
	python3 -c "$(_sp_parse)"'
import sys
print(len(messages(sys.argv[1])))
' "$SRV_STORE"
}

sp_stop() {
	local left i
	[ -n "$_SP_PID" ] && [ -n "$_SP_NS" ] || return 0
	# Everything in our private mount namespace is ours: stunnel and any
	# solid-pop3d it started.
	if [ "$(_sp_ns_id "$_SP_PID")" = "$_SP_NS" ]; then
		kill -TERM "$_SP_PID" 2>/dev/null
	fi
	for i in $(seq 1 50); do
		left=$(_sp_ns_pids "$_SP_NS")
		[ -z "$left" ] && break
		# shellcheck disable=SC2086
		[ "$i" = 20 ] && kill -TERM $left 2>/dev/null
		sleep 0.1
	done
	if [ -n "$left" ]; then
		# shellcheck disable=SC2086
		kill -KILL $left 2>/dev/null
		sleep 0.2
	fi
	_SP_PID='' _SP_NS=''
	return 0
}
