# shellcheck shell=bash
#
# servers/popa3d.sh -- popa3d (Openwall's small POP3 server, Debian package
# popa3d) behind the server matrix interface of README.md, prefix pa.
# Notes on what it does: docs/servers/popa3d.md.
#
# popa3d conflicts with dovecot-pop3d as a package, so it is never
# installed: pa_setup fetches the .deb with "apt-get download" (and any
# library it needs that is not installed) and unpacks it with "dpkg -x"
# into CACHE/popa3d/. It has no TLS and authenticates system users (PAM
# service "popa3d": /etc/passwd, /etc/shadow) whose mail is the mbox
# /var/mail/USER. So pa_start runs, as root:
#
#   unshare --mount  (a private mount namespace, gone with its processes)
#     bind mounts over /etc/passwd, /etc/shadow, /etc/group, /etc/pam.d and
#       /var/mail of private copies under DIR/ (the test user and its spool
#       exist only in there; the real files are never written);
#     a tmpfs over /var/lib holding symlinks to the real entries plus an
#       empty /var/lib/popa3d (popa3d's chroot for its unauthenticated
#       child, which runs as user popa3d: added to the private passwd);
#     stunnel4 on 127.0.0.1:SRV_PORT (implicit TLS, DIR/tls/valid.crt from
#       ../mkcerts.sh), which runs popa3d inetd-style (stdin/stdout) for
#       each connection ("exec" in DIR/stunnel.conf).
#
# SRV_STORE is DIR/mail/USER, the real path (outside the namespace) of the
# spool popa3d sees as /var/mail/USER. Logs: DIR/log/ (stunnel's; popa3d
# logs to syslog, which is absent here).
#
# Needs root (unshare --mount, PAM with /etc/shadow, popa3d's setuid),
# stunnel4, openssl, apt-get/dpkg (for pa_setup only, when the cache is
# empty), python3.

_pa_err() { printf 'popa3d.sh: %s\n' "$*" >&2; }

_PA_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
_PA_DIR=
_PA_ROOT=
_PA_PID=
_PA_NS=
_PA_UID=
_PA_GID=

# _pa_stunnel: print the stunnel binary.
_pa_stunnel() {
	command -v stunnel4 2>/dev/null || command -v stunnel 2>/dev/null ||
	    { [ -x /usr/bin/stunnel4 ] && echo /usr/bin/stunnel4; }
}

# _pa_fetch_debs ROOT PKG...: apt-get download PKG... and dpkg -x them into
# ROOT (created afresh beside it, then renamed: two callers at once both
# end with a whole tree). Libraries among the package's dependencies that
# are not installed are fetched too (libpam0g for popa3d: normally there).
_pa_fetch_debs() {
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

pa_setup() {
	local cache=${1:?usage: pa_setup CACHE} root pkgs="popa3d" lib
	root=$cache/popa3d
	if [ "$(id -u)" != 0 ]; then
		echo "popa3d needs root (a private mount namespace for its passwd, shadow and /var/mail; setuid to the mail user)"
		return 1
	fi
	command -v unshare >/dev/null 2>&1 || { echo "unshare (util-linux) not found"; return 1; }
	unshare --mount true 2>/dev/null ||
	    { echo "unshare --mount is not permitted here (no CAP_SYS_ADMIN?)"; return 1; }
	[ -n "$(_pa_stunnel)" ] || { echo "stunnel4 is not installed (apt-get install stunnel4)"; return 1; }
	command -v openssl >/dev/null 2>&1 || { echo "openssl not found"; return 1; }
	# What can run here is checked above, every time; the download once.
	if [ -f "$root/.popvault-stamp" ] && [ -x "$root/usr/sbin/popa3d" ]; then
		_PA_ROOT=$(cd "$root" && pwd)
		return 0
	fi
	command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1 ||
	    { echo "apt-get and dpkg are needed to fetch popa3d"; return 1; }
	for lib in libpam0g libpam-modules libpam-runtime; do
		dpkg -s "$lib" 2>/dev/null | grep -q '^Status: install ok installed' ||
		    pkgs="$pkgs $lib"
	done
	mkdir -p "$cache" || { echo "cannot create $cache"; return 1; }
	# One download at a time (tests run side by side): the second caller
	# waits, then finds the stamp.
	(
		flock 9 || { echo "cannot lock $cache/.popa3d.lock"; exit 1; }
		[ -f "$root/.popvault-stamp" ] && [ -x "$root/usr/sbin/popa3d" ] && exit 0
		# shellcheck disable=SC2086
		_pa_fetch_debs "$root" $pkgs || exit 1
		[ -x "$root/usr/sbin/popa3d" ] ||
		    { echo "the popa3d package has no usr/sbin/popa3d"; exit 1; }
		: >"$root/.popvault-stamp"
	) 9>"$cache/.popa3d.lock" || return 1
	_PA_ROOT=$(cd "$root" && pwd)
}

# _pa_free_uid START: print a uid (also free as a gid) >= START that the
# real /etc/passwd and /etc/group do not use.
_pa_free_uid() {
	awk -F: -v s="$1" '
		FILENAME == "/etc/passwd" { used[$3] = 1 }
		FILENAME == "/etc/group" { used[$3] = 1 }
		END { u = s; while (u in used) u++; print u }' /etc/passwd /etc/group
}

# _pa_ns_id PID: the mount namespace of PID (e.g. "mnt:[4026532]").
_pa_ns_id() {
	readlink "/proc/$1/ns/mnt" 2>/dev/null
}

# _pa_ns_pids NS: the pids of processes in mount namespace NS.
_pa_ns_pids() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$1" ] && printf '%s ' "${p#/proc/}"
	done
}

# _pa_wait_port PORT SECONDS PID: wait until 127.0.0.1:PORT accepts TCP
# connections while PID lives. 0 ok, 1 timeout, 2 PID died.
_pa_wait_port() {
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

# _pa_write_files DIR: passwd, shadow, group, pam.d, the spool, the
# namespace script and the stunnel configuration (not the port).
_pa_write_files() {
	local d=$1 root=$2 hash pa_uid days
	_PA_UID=$(_pa_free_uid 40000) || return 1
	_PA_GID=$_PA_UID
	days=$(($(date +%s) / 86400))
	hash=$(printf '%s\n' "$SRV_PASS" | openssl passwd -6 -stdin) ||
	    { _pa_err "openssl passwd failed"; return 1; }
	mkdir -p "$d/etc" "$d/mail" "$d/log" "$d/ns/varlib" || return 1
	# The real passwd and group (no secrets in them) plus our users;
	# a shadow with only our users (the real one is not copied).
	{
		grep -v "^$SRV_USER:" /etc/passwd
		if ! grep -q '^popa3d:' /etc/passwd; then
			pa_uid=$(_pa_free_uid $((_PA_UID + 1)))
			printf 'popa3d:x:%s:%s::/var/lib/popa3d:/usr/sbin/nologin\n' "$pa_uid" "$pa_uid"
		fi
		printf '%s:x:%s:%s:popvault test user:/nonexistent:/usr/sbin/nologin\n' \
		    "$SRV_USER" "$_PA_UID" "$_PA_GID"
	} >"$d/etc/passwd" || return 1
	{
		grep -v "^$SRV_USER:" /etc/group
		if ! grep -q '^popa3d:' /etc/group; then
			printf 'popa3d:x:%s:\n' "$(awk -F: '$1 == "popa3d" { print $4 }' "$d/etc/passwd")"
		fi
		printf '%s:x:%s:\n' "$SRV_USER" "$_PA_GID"
	} >"$d/etc/group" || return 1
	(
		umask 077
		printf 'popa3d:*:%s:0:99999:7:::\n' "$days"
		printf '%s:%s:%s:0:99999:7:::\n' "$SRV_USER" "$hash" "$days"
	) >"$d/etc/shadow" || return 1
	chmod 0644 "$d/etc/passwd" "$d/etc/group" && chmod 0640 "$d/etc/shadow" &&
	    chgrp shadow "$d/etc/shadow" 2>/dev/null
	# /etc/pam.d: the system's files (common-auth, common-account...) and
	# the package's own popa3d file.
	cp -a /etc/pam.d "$d/etc/pam.d" &&
	    cp "$root/etc/pam.d/popa3d" "$d/etc/pam.d/popa3d" || return 1
	# The spool: like Debian's /var/mail (root:mail 2775), the mailbox
	# owned by the user, 0600 (as exim4 creates it).
	chown root:mail "$d/mail" 2>/dev/null
	chmod 2775 "$d/mail" &&
	    : >"$d/mail/$SRV_USER" &&
	    chown "$_PA_UID:mail" "$d/mail/$SRV_USER" &&
	    chmod 0600 "$d/mail/$SRV_USER" || return 1

	# Run for each connection by stunnel; LD_LIBRARY_PATH for libraries
	# pa_setup had to fetch (none when libpam0g is installed).
	cat >"$d/popa3d-exec" <<EOF
#!/bin/sh
LD_LIBRARY_PATH=$root/lib/x86_64-linux-gnu:$root/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
exec $root/usr/sbin/popa3d
EOF
	chmod 0755 "$d/popa3d-exec" || return 1

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
# /var/lib/popa3d (the chroot) must exist: a tmpfs over /var/lib with
# symlinks to the real entries, and an empty popa3d/.
mount --bind /var/lib "\$D/ns/varlib"
mount -t tmpfs -o mode=0755 popvault-varlib /var/lib
for e in "\$D/ns/varlib"/* "\$D/ns/varlib"/.[!.]*; do
	[ -e "\$e" ] || [ -L "\$e" ] || continue
	[ "\${e##*/}" = popa3d ] && continue
	ln -s "\$e" "/var/lib/\${e##*/}"
done
mkdir -m 0755 /var/lib/popa3d
exec $(_pa_stunnel) "\$D/stunnel.conf"
EOF
	chmod 0755 "$d/ns.sh"
}

# _pa_write_stunnel DIR PORT
_pa_write_stunnel() {
	cat >"$1/stunnel.conf" <<EOF
; Private stunnel for popa3d (tests/lib/servers/popa3d.sh).
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
exec = $1/popa3d-exec
execArgs = popa3d
EOF
}

pa_start() {
	local dir=${1:?usage: pa_start DIR} root cache try port rc pid
	[ -n "${SRV_USER:-}" ] && [ -n "${SRV_PASS:-}" ] ||
	    { _pa_err "pa_start: SRV_USER and SRV_PASS must be set"; return 1; }
	case "$SRV_USER" in *[!a-z0-9_-]*|[!a-z_]*|root)
		_pa_err "pa_start: user name '$SRV_USER' unsuitable for /etc/passwd"; return 1 ;;
	esac
	if [ -n "$_PA_PID" ] && [ -n "$_PA_NS" ] &&
	    [ "$(_pa_ns_id "$_PA_PID")" = "$_PA_NS" ]; then
		_pa_err "pa_start: an instance is running in $_PA_DIR (pa_stop first)"
		return 1
	fi
	# Where pa_setup unpacked it (else the matrix's default cache).
	cache=${SRV_CACHE:-$T_ROOT/build/servers}
	root=${_PA_ROOT:-$cache/popa3d}
	[ -x "$root/usr/sbin/popa3d" ] ||
	    { _pa_err "pa_start: $root/usr/sbin/popa3d missing (pa_setup CACHE first)"; return 1; }
	mkdir -p "$dir" || { _pa_err "cannot create $dir"; return 1; }
	dir=$(cd "$dir" && pwd) || return 1
	[ ! -e "$dir/ns.sh" ] || { _pa_err "pa_start: $dir already holds an instance"; return 1; }
	# Under /root/ or the like stunnel (root) still reads everything:
	# only the bind-mounted folders matter to popa3d, and they are
	# reached through the mounts, not through DIR's parents.
	bash "$_PA_LIB/../mkcerts.sh" "$dir/tls" >/dev/null || return 1
	_pa_write_files "$dir" "$root" || return 1
	_PA_DIR=$dir

	for try in 1 2 3; do
		port=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') || return 1
		_pa_write_stunnel "$dir" "$port" || return 1
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
		_pa_wait_port "$port" 10 "$pid"
		rc=$?
		if [ "$rc" = 0 ]; then
			_PA_PID=$pid
			_PA_NS=$(_pa_ns_id "$pid")
			if [ -z "$_PA_NS" ] || [ "$_PA_NS" = "$(_pa_ns_id $$)" ]; then
				_pa_err "pa_start: stunnel is not in a private namespace"
				kill "$pid" 2>/dev/null
				_PA_PID='' _PA_NS=''
				return 1
			fi
			printf '%s %s\n' "$_PA_PID" "$_PA_NS" >"$dir/instance"
			SRV_NAME=popa3d
			SRV_PORT=$port
			SRV_CA=$dir/tls/ca.crt
			SRV_STORE=$dir/mail/$SRV_USER
			export SRV_NAME SRV_PORT SRV_CA SRV_STORE
			return 0
		fi
		kill "$pid" 2>/dev/null
		sleep 0.2
		if grep -q 'Address already in use' "$dir/log/stunnel.log" 2>/dev/null; then
			_pa_err "port $port taken meanwhile (try $try), picking another"
			continue
		fi
		break
	done
	_pa_err "pa_start: stunnel did not come up:"
	tail -n 5 "$dir/log/ns.log" "$dir/log/stunnel.log" >&2 2>/dev/null
	return 1
}

# pa_deliver FILE...: append to the mbox as a local delivery agent does
# (exim4's appendfile, Debian's default MTA, with its mbox defaults):
# under the mailbox's fcntl and flock locks (popa3d takes them too), a
# From_ line "From MAILER-DAEMON <asctime>", the message with every line
# that starts with "From " written as ">From " (mboxo: ">From " lines are
# left alone), a final newline added if missing, then an empty line.
pa_deliver() {
	[ -n "${SRV_STORE:-}" ] && [ -n "$_PA_UID" ] ||
	    { _pa_err "pa_deliver: no instance"; return 1; }
	python3 - "$SRV_STORE" "$_PA_UID" "$@" <<'EOF'
import fcntl, os, re, sys, time
store, uid, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
fd = os.open(store, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
try:
    fcntl.lockf(fd, fcntl.LOCK_EX)
    fcntl.flock(fd, fcntl.LOCK_EX)
    st = os.fstat(fd)
    if st.st_uid != uid:
        os.fchown(fd, uid, -1)
    # A mailbox that does not end with an empty line (written by someone
    # else) would glue our From_ line to its last message.
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
EOF
}

# _pa_parse: python source of popa3d 1.0.3's mailbox parser (mailbox.c,
# mailbox_parse), line by line: a message starts at a line "From " that
# follows an empty line (or starts the file); its data is what follows
# its From_ line, up to the next message, less the last "\n" when the
# message had a body (the empty line before the next From_ line, or at
# the end of the file). RETR sends the data with every "\n" as "\r\n"
# (a "\r" before it stays: "\r\r\n"), dot-stuffed, and "\r\n" after a
# last line without one. Defines messages(path) -> list of RETR bytes
# after dot-unstuffing, or raises ValueError where popa3d refuses to
# load the mailbox.
_pa_parse() {
	cat <<'EOF'
def messages(path):
    with open(path, "rb") as fh:
        data = fh.read()
    spans = []          # (data_offset, data_end)
    blank, header, body = True, False, False
    data_off = None
    in_msg = False
    off = 0
    n = len(data)
    while off < n:
        nl = data.find(b"\n", off)
        end = n if nl < 0 else nl + 1
        line = data[off:end]
        if blank and line.startswith(b"From "):
            if off:
                if data_off is None:
                    raise ValueError("From_ line without a message at %d" % off)
                spans.append((data_off, off - body))
            in_msg, data_off, header, body = True, None, True, False
            off = end
            continue
        if header and data_off is None:
            data_off = off
        blank = line == b"\n"
        if not header:
            if data_off is not None:
                body = True
        elif blank:
            header = False
        off = end
    if n:
        if not in_msg or data_off is None:
            raise ValueError("not an mbox popa3d can load")
        spans.append((data_off, n - (blank and body)))
    out = []
    for a, b in spans:
        m = data[a:b]
        w = m.replace(b"\n", b"\r\n")
        if m and not m.endswith(b"\n"):
            w += b"\r\n"
        out.append(w)
    return out
EOF
}

pa_server_messages() {
	local out=${1:?usage: pa_server_messages OUTDIR}
	[ -n "${SRV_STORE:-}" ] || { _pa_err "pa_server_messages: no instance"; return 1; }
	mkdir -p "$out" || return 1
	python3 -c "$(_pa_parse)"'
import os, sys
for i, m in enumerate(messages(sys.argv[1])):
    with open(os.path.join(sys.argv[2], "%04d" % (i + 1)), "wb") as fh:
        fh.write(m)
' "$SRV_STORE" "$out"
}

pa_count() {
	[ -n "${SRV_STORE:-}" ] || { _pa_err "pa_count: no instance"; return 1; }
	python3 -c "$(_pa_parse)"'
import sys
print(len(messages(sys.argv[1])))
' "$SRV_STORE"
}

pa_stop() {
	local left i
	[ -n "$_PA_PID" ] && [ -n "$_PA_NS" ] || return 0
	# Everything in our private mount namespace is ours: stunnel and any
	# popa3d it started.
	if [ "$(_pa_ns_id "$_PA_PID")" = "$_PA_NS" ]; then
		kill -TERM "$_PA_PID" 2>/dev/null
	fi
	for i in $(seq 1 50); do
		left=$(_pa_ns_pids "$_PA_NS")
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
	_PA_PID='' _PA_NS=''
	return 0
}
