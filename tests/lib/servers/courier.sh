# shellcheck shell=bash
#
# servers/courier.sh -- Courier's POP3 server (Debian courier-pop, a
# Maildir store, courier-authlib's authdaemond with a userdb file) behind
# the server matrix interface of README.md, prefix cp. Source it; it sets
# no shell options.
#
#   cp_setup CACHE          apt-get download + dpkg -x into CACHE/courier/
#                           (stamp file: the second call is instant)
#   cp_start DIR            private instance under DIR, user SRV_USER /
#                           SRV_PASS, implicit TLS by Courier's own
#                           couriertls (GnuTLS) on 127.0.0.1:SRV_PORT
#   cp_deliver FILE...      deliver with Courier's deliverquota, as the user
#   cp_server_messages OUT  OUT/NNNN: RETR bytes (CRLF, dot-unstuffed) in
#                           the server's order, computed from the Maildir
#   cp_count                messages in the Maildir (new/ and cur/)
#   cp_stop                 stop everything cp_start started (idempotent)
#   cp_reset_uidls          (extra) every message gets a new UIDL at the
#                           next login, as after a server migration
#
# Nothing is installed and nothing under /etc, /usr or /run is written.
# Courier has paths compiled in (/etc/courier/authdaemonrc and userdb.dat,
# the authdaemond socket /run/courier/authdaemon/socket, the auth modules
# in /usr/lib/courier-authlib, makedatprog in /usr/lib/courier), so the
# server runs in a private mount namespace (unshare --mount, as root) where
# read-only overlays put symbolic links to the private files over /etc,
# /usr/lib and /run; outside the namespace nothing changes and the overlays
# vanish with the last process. Hence: root only (cp_setup says so).
#
# Layout of DIR: conf/ (authdaemonrc, userdb, userdb.dat, pop3d.pem),
# run/ (authdaemond socket, pid), ovl/ (the overlay layers), certs/
# (tests/lib/mkcerts.sh: SRV_CA is certs/ca.crt, the server uses
# valid.crt), mail/USER/Maildir (SRV_STORE, owned by nobody:nogroup,
# the uid the POP3 process runs as), log/courier.log (authdaemond,
# couriertcpd, couriertls and pop3d all log there).
#
# What Courier does differently: docs/servers/courier.md.

_cp_err() { printf 'courier.sh: %s\n' "$*" >&2; }

_CP_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
_CP_PKGS="courier-pop courier-base courier-authlib courier-authlib-userdb courier-authdaemon"
# Libraries the binaries we run need, fetched only when not installed.
_CP_LIBS="libcourier-unicode4 libltdl7 libidn12 libgdbm6 libgnutls30 libpcre3 libcrypt1"
_CP_ROOT=${_CP_ROOT:-}
_CP_DIR=${_CP_DIR:-}

# _cp_root: print the unpacked tree (CACHE/courier/root). cp_setup sets
# _CP_ROOT, but the matrix calls cp_setup inside $(...): then fall back to
# the cache the matrix uses (SRV_CACHE, default build/servers).
_cp_root() {
	local r=$_CP_ROOT
	if [ -z "$r" ]; then
		r=${SRV_CACHE:-$(cd "$_CP_LIB_DIR/../.." && pwd)/build/servers}
		r=$(cd "$r" 2>/dev/null && pwd)/courier/root
	fi
	[ -f "$r/../stamp" ] || { _cp_err "not set up (cp_setup CACHE first)"; return 1; }
	printf '%s\n' "$r"
}

# _cp_bins ROOT: the binaries cp_start and cp_deliver run (for ldd).
_cp_bins() {
	local r=$1
	printf '%s\n' "$r/usr/sbin/couriertcpd" "$r/usr/bin/couriertls" \
	    "$r/usr/lib/courier/courier/courierpop3login" \
	    "$r/usr/lib/courier/courier/courierpop3d" \
	    "$r/usr/lib/courier/courier-authlib/authdaemond" \
	    "$r/usr/lib/courier/courier-authlib/makedatprog" \
	    "$r/usr/lib/courier-authlib/libauthuserdb.so.0" \
	    "$r/usr/sbin/userdbpw" "$r/usr/bin/deliverquota.courier"
}

# _cp_ldpath ROOT: LD_LIBRARY_PATH for the unpacked libraries.
_cp_ldpath() {
	local r=$1 p=$1/usr/lib d
	for d in "$r"/usr/lib/*-linux-gnu "$r"/lib/*-linux-gnu; do
		[ -d "$d" ] && p=$p:$d
	done
	printf '%s\n' "$p"
}

cp_setup() {
	local cache=${1:-} c r tmp p missing="" rc b ld
	[ -n "$cache" ] || { echo "usage: cp_setup CACHE"; return 1; }
	if [ "$(id -u)" != 0 ]; then
		echo "courier needs root: its compiled-in /etc, /run and /usr/lib paths are replaced in a private mount namespace (unshare --mount)"
		return 1
	fi
	for b in apt-get dpkg dpkg-deb unshare mount setpriv flock python3 openssl perl; do
		command -v "$b" >/dev/null 2>&1 ||
		    { echo "courier: $b not found"; return 1; }
	done
	grep -qw overlay /proc/filesystems 2>/dev/null ||
	    modprobe overlay >/dev/null 2>&1 ||
	    { echo "courier: the kernel has no overlay file system"; return 1; }
	mkdir -p "$cache/courier" ||
	    { echo "courier: cannot create $cache/courier"; return 1; }
	c=$(cd "$cache/courier" && pwd) || return 1
	r=$c/root
	if [ -f "$c/stamp" ]; then
		_CP_ROOT=$r
		return 0
	fi
	(
		flock 9 || exit 1
		[ -f "$c/stamp" ] && exit 0
		tmp=$c/dl.$$
		rm -rf "$tmp" "$c/root.$$" && mkdir -p "$tmp" "$c/root.$$" || exit 1
		for p in $_CP_LIBS; do
			dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' ||
			    missing="$missing $p"
		done
		# apt-get download writes into the current folder; as root
		# it warns that _apt cannot reach it (harmless): keep it in
		# the log.
		# shellcheck disable=SC2086
		if ! (cd "$tmp" && apt-get download $_CP_PKGS $missing) \
		    >"$c/download.log" 2>&1; then
			echo "courier: apt-get download failed: $(grep -E '^(E|Err):' "$c/download.log" | head -n 1)"
			rm -rf "$tmp" "$c/root.$$"
			exit 1
		fi
		for p in "$tmp"/*.deb; do
			dpkg -x "$p" "$c/root.$$" ||
			    { echo "courier: dpkg -x $(basename "$p") failed"; exit 1; }
		done
		ld=$(_cp_ldpath "$c/root.$$")
		for b in $(_cp_bins "$c/root.$$"); do
			[ -e "$b" ] || { echo "courier: $b missing from the packages"; exit 1; }
			case "$b" in *.so*|*/makedatprog) ;;
			*) [ -x "$b" ] || { echo "courier: $b is not executable"; exit 1; } ;;
			esac
			if LD_LIBRARY_PATH=$ld ldd "$b" 2>/dev/null | grep -q 'not found'; then
				echo "courier: $(basename "$b") needs libraries not found: $(LD_LIBRARY_PATH=$ld ldd "$b" | awk '/not found/ { printf "%s ", $1 }')"
				exit 1
			fi
		done
		ls "$tmp" >"$c/packages"
		rm -rf "$r" && mv "$c/root.$$" "$r" && rm -rf "$tmp" &&
		    touch "$c/stamp"
	) 9>"$c/lock"
	rc=$?
	[ "$rc" = 0 ] || return 1
	_CP_ROOT=$r
	return 0
}

# _cp_free_port: a TCP port free on 127.0.0.1 right now.
_cp_free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# _cp_wait_port PORT SECONDS: wait until 127.0.0.1:PORT accepts.
_cp_wait_port() {
	python3 - "$1" "$2" <<'EOF'
import socket, sys, time
port, limit = int(sys.argv[1]), float(sys.argv[2])
end = time.monotonic() + limit
while True:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        break
    except OSError:
        if time.monotonic() > end:
            sys.exit(1)
        time.sleep(0.05)
EOF
}

# _cp_q VALUE: VALUE quoted for sh.
_cp_q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

# _cp_write_inner: DIR/start.sh, run as "unshare --mount sh start.sh":
# mount the overlays, build userdb.dat, start authdaemond, wait for its
# socket, then run couriertcpd (couriertls -> courierpop3login ->
# courierpop3d) in the foreground.
_cp_write_inner() {
	local d=$_CP_DIR r=$1 ld
	ld=$(_cp_ldpath "$r")
	{
		echo "# written by tests/lib/servers/courier.sh; run by unshare --mount"
		echo "D=$(_cp_q "$d"); R=$(_cp_q "$r"); LDP=$(_cp_q "$ld")"
		cat <<'EOF'
echo "$$" >"$D/run/pid"
for m in etc:/etc usrlib:/usr/lib run:/run; do
	mount -t overlay overlay -o "lowerdir=$D/ovl/${m%%:*}:${m#*:}" "${m#*:}" || {
		echo "start.sh: overlay over ${m#*:} failed" >&2; exit 1; }
done
export LD_LIBRARY_PATH=$LDP
perl "$R/usr/sbin/makeuserdb" || { echo "start.sh: makeuserdb failed" >&2; exit 1; }
"$R/usr/lib/courier/courier-authlib/authdaemond" &
i=0
while [ ! -S /run/courier/authdaemon/socket ]; do
	i=$((i + 1))
	[ "$i" -gt 200 ] && { echo "start.sh: authdaemond made no socket" >&2; exit 1; }
	kill -0 $! 2>/dev/null || { echo "start.sh: authdaemond died" >&2; exit 1; }
	sleep 0.05
done
PORT=$(cat "$D/run/port")
exec env -i PATH=/usr/bin:/bin LD_LIBRARY_PATH="$LDP" \
    POP3AUTH="PLAIN LOGIN CRAM-MD5 CRAM-SHA1 CRAM-SHA256" \
    POP3AUTH_TLS="LOGIN PLAIN" \
    POP3_TLS=1 POP3_STARTTLS=NO POP3_TLS_REQUIRED=0 \
    COURIERTLS="$R/usr/bin/couriertls" \
    TLS_CERTFILE="$D/conf/pop3d.pem" TLS_VERIFYPEER=NONE \
    TLS_TRUSTCERTS="$D/certs/ca.crt" \
    MAILDIRPATH=Maildir POP3_LOG_DELETIONS=1 \
    "$R/usr/sbin/couriertcpd" -address=127.0.0.1 -maxprocs=100 \
    -maxperip=100 -nodnslookup -noidentlookup "$PORT" \
    "$R/usr/bin/couriertls" -server -tcpd \
    "$R/usr/lib/courier/courier/courierpop3login" \
    "$R/usr/lib/courier/courier/courierpop3d" Maildir
EOF
	} >"$d/start.sh"
}

cp_start() {
	local dir=${1:-} r u g h p md try sid
	[ -n "$dir" ] || { _cp_err "usage: cp_start DIR"; return 1; }
	[ -n "${SRV_USER:-}" ] && [ -n "${SRV_PASS:-}" ] ||
	    { _cp_err "cp_start: SRV_USER and SRV_PASS must be set"; return 1; }
	case "$SRV_USER" in .*|*[:/\|]*|*[[:space:]]*|*[[:cntrl:]]*)
		_cp_err "cp_start: bad user name '$SRV_USER'"; return 1 ;;
	esac
	case "$SRV_PASS" in *[[:cntrl:]]*)
		_cp_err "cp_start: password must not contain control characters"
		return 1 ;;
	esac
	if [ -n "$_CP_DIR" ] && _cp_sid >/dev/null; then
		_cp_err "cp_start: an instance is running in $_CP_DIR (cp_stop first)"
		return 1
	fi
	r=$(_cp_root) || return 1
	[ "$(id -u)" = 0 ] || { _cp_err "cp_start: needs root"; return 1; }
	mkdir -p "$dir" || { _cp_err "cannot create $dir"; return 1; }
	dir=$(cd "$dir" && pwd) || return 1
	[ ! -e "$dir/start.sh" ] ||
	    { _cp_err "cp_start: $dir already holds an instance; use a fresh DIR"; return 1; }
	# The POP3 process runs as nobody and chdirs into the Maildir: every
	# folder above it must be searchable by others.
	p=$dir
	while [ "$p" != / ]; do
		p=$(dirname "$p")
		if [ -z "$(find "$p" -maxdepth 0 -perm -o+x 2>/dev/null)" ]; then
			_cp_err "cp_start: $p is not searchable by nobody; use a DIR whose parents are (t_tmpdir)"
			return 1
		fi
	done
	u=$(id -u nobody 2>/dev/null) && g=$(id -g nobody 2>/dev/null) ||
	    { _cp_err "user nobody missing"; return 1; }
	_CP_DIR=$dir
	mkdir -p "$dir/conf" "$dir/run/authdaemon" "$dir/log" \
	    "$dir/ovl/etc" "$dir/ovl/usrlib" "$dir/ovl/run" || return 1
	chmod 0711 "$dir" || return 1
	md=$dir/mail/$SRV_USER/Maildir
	mkdir -p "$md/cur" "$md/new" "$md/tmp" &&
	    chown -R "$u:$g" "$dir/mail" && chmod 0711 "$dir/mail" || return 1
	# The overlay layers: only symbolic links, to private files.
	ln -s "$dir/conf" "$dir/ovl/etc/courier" &&
	    ln -s "$r/usr/lib/courier-authlib" "$dir/ovl/usrlib/courier-authlib" &&
	    ln -s "$r/usr/lib/courier" "$dir/ovl/usrlib/courier" &&
	    ln -s "$dir/run" "$dir/ovl/run/courier" || return 1

	bash "$_CP_LIB_DIR/mkcerts.sh" "$dir/certs" >&2 || return 1
	(umask 077 && cat "$dir/certs/valid.crt" "$dir/certs/valid.key" >"$dir/conf/pop3d.pem") ||
	    return 1

	cat >"$dir/conf/authdaemonrc" <<EOF
# Private authdaemonrc (tests/lib/servers/courier.sh): the userdb module
# only, one daemon.
authmodulelist="authuserdb"
daemons=1
authdaemonvar=/run/courier/authdaemon
DEBUG_LOGIN=0
DEFAULTOPTIONS=""
LOGGEROPTS=""
EOF
	h=$(printf '%s\n%s\n' "$SRV_PASS" "$SRV_PASS" |
	    LD_LIBRARY_PATH=$(_cp_ldpath "$r") "$r/usr/sbin/userdbpw" -md5) &&
	    [ -n "$h" ] || { _cp_err "userdbpw failed"; return 1; }
	(umask 077 && printf '%s\tuid=%s|gid=%s|home=%s|mail=%s|systempw=%s\n' \
	    "$SRV_USER" "$u" "$g" "$dir/mail/$SRV_USER" "$md" "$h" \
	    >"$dir/conf/userdb") || return 1
	_cp_write_inner "$r" || return 1

	SRV_NAME=courier
	# Served as stored to a client in UTF8 mode (RFC 6856), as popvault is.
	SRV_KEEP_KINDS=header_8bit
	# CAPA says LOGIN-DELAY 10, not enforced: popvault would skip the
	# matrix's back-to-back runs for 10 s each (docs/servers/courier.md).
	SRV_FETCH_OPTS="--login-delay ignore"
	SRV_CA=$dir/certs/ca.crt
	SRV_STORE=$md
	SRV_PORT=
	export SRV_NAME SRV_CA SRV_STORE SRV_PORT

	for try in 1 2 3; do
		SRV_PORT=$(_cp_free_port) || { _cp_err "no free port"; return 1; }
		printf '%s\n' "$SRV_PORT" >"$dir/run/port"
		rm -f "$dir/run/pid" "$dir/run/authdaemon/socket"
		# setsid: the instance is one session of its own, which
		# cp_stop ends (couriertcpd makes process groups of its own).
		setsid unshare --mount --propagation private \
		    sh "$dir/start.sh" >>"$dir/log/courier.log" 2>&1 </dev/null &
		for _ in $(seq 1 100); do
			sid=$(_cp_sid) && break
			sleep 0.05
		done
		if [ -z "$sid" ]; then
			_cp_err "cp_start: the instance did not start:"
			tail -n 5 "$dir/log/courier.log" >&2
			break
		fi
		if _cp_wait_port "$SRV_PORT" 10; then
			# A port taken by someone else answers too: make sure
			# our couriertcpd is still there (it exits when it
			# cannot bind).
			sleep 0.1
			if [ -n "$(_cp_members "$sid" couriertcpd)" ]; then
				return 0
			fi
		fi
		_cp_kill
		if grep -q 'Address already in use' "$dir/log/courier.log"; then
			_cp_err "port $SRV_PORT taken meanwhile (try $try), picking another"
			: >"$dir/log/courier.log"
			continue
		fi
		_cp_err "cp_start: courier is not answering on $SRV_PORT:"
		tail -n 5 "$dir/log/courier.log" >&2
		break
	done
	_cp_err "cp_start: giving up; see $dir/log/courier.log"
	return 1
}

# _cp_sid: print the session id of the running instance (the pid of the
# unshare'd start.sh, written to run/pid) if any of its processes lives.
_cp_sid() {
	local sid
	[ -n "$_CP_DIR" ] && [ -r "$_CP_DIR/run/pid" ] || return 1
	read -r sid <"$_CP_DIR/run/pid" 2>/dev/null || return 1
	case "$sid" in ''|*[!0-9]*) return 1 ;; esac
	[ -n "$(_cp_members "$sid")" ] || return 1
	printf '%s\n' "$sid"
}

# _cp_members SID [COMM]: the live (non-zombie) processes of session SID
# (only those whose command name is COMM, if given).
_cp_members() {
	ps -eo pid=,sid=,stat=,comm= 2>/dev/null |
	    awk -v s="$1" -v c="${2:-}" '
		$2 == s && $3 !~ /^Z/ && (c == "" || $4 == c) { printf "%s ", $1 }'
}

# _cp_kill: TERM every process of the session, wait up to 5 s, then KILL.
_cp_kill() {
	local sid left
	sid=$(_cp_sid) || return 0
	left=$(_cp_members "$sid")
	# shellcheck disable=SC2086
	[ -n "$left" ] && kill -TERM $left 2>/dev/null
	for _ in $(seq 1 100); do
		left=$(_cp_members "$sid")
		[ -z "$left" ] && return 0
		sleep 0.05
	done
	_cp_err "processes left: $left; killing them"
	# shellcheck disable=SC2086
	kill -KILL $left 2>/dev/null
	for _ in $(seq 1 50); do
		[ -z "$(_cp_members "$sid")" ] && return 0
		sleep 0.05
	done
	_cp_err "processes of session $sid do not die"
	return 1
}

cp_stop() {
	[ -n "$_CP_DIR" ] || return 0
	_cp_kill || return 1
	rm -f "$_CP_DIR/run/pid"
	return 0
}

# cp_deliver FILE...: Courier's deliverquota, run as the mail user, writes
# each message into tmp/ and links it into new/ as
# TIME.MusecPpidVdevIino.HOST,S=SIZE (the bytes unchanged).
cp_deliver() {
	local r f u g ld
	[ -n "$_CP_DIR" ] || { _cp_err "cp_deliver: no instance (cp_start first)"; return 1; }
	r=$(_cp_root) || return 1
	ld=$(_cp_ldpath "$r")
	u=$(id -u nobody) && g=$(id -g nobody) || return 1
	for f in "$@"; do
		[ -f "$f" ] && [ -r "$f" ] || { _cp_err "cp_deliver: cannot read $f"; return 1; }
		setpriv --reuid="$u" --regid="$g" --clear-groups \
		    env LD_LIBRARY_PATH="$ld" "$r/usr/bin/deliverquota.courier" \
		    "$SRV_STORE" <"$f" ||
		    { _cp_err "cp_deliver: deliverquota failed for $f"; return 1; }
	done
}

# _cp_list: the message files of the store in Courier's order: by the
# number the name starts with (the arrival time), then by the name up to
# ":" compared byte by byte (courierpop3d's cmpmsgs()).
_cp_list() {
	python3 - "$SRV_STORE" <<'EOF'
import os, re, sys
md = sys.argv[1]
files = []
for sub in ("new", "cur"):
    for n in os.listdir(os.path.join(md, sub)):
        if n.startswith("."):
            continue
        p = os.path.join(md, sub, n)
        if os.path.isfile(p):
            files.append((n, p))
def key(t):
    n = t[0].encode()
    m = re.match(rb"[-+]?[0-9]+", n)
    return (int(m.group()) if m else 0, n.split(b":", 1)[0])
for n, p in sorted(files, key=key):
    print(p)
EOF
}

# cp_server_messages OUTDIR: for each message, what RETR gives after
# dot-unstuffing (docs/servers/courier.md): every LF is sent as CRLF (a
# CR before it is kept: CRLF in the file becomes CR CR LF), CRLF is
# appended when the file does not end with LF (an empty file too), and a
# "." starting a line is doubled except at the very first byte (a client
# then takes that first "." for stuffing and drops it).
#
# One exception cannot be computed from the store: a message with 8-bit
# bytes in a header (of the message or of a MIME part) is sent, to a
# client that has not given the UTF8 command, wrapped in a MIME notice
# ("Cannot display Unicode content") whose boundary holds the pid and the
# time. For those the file here holds the message unwrapped (what a
# client in UTF8 mode gets), and a line on stderr names them.
cp_server_messages() {
	local out=${1:-}
	[ -n "$out" ] || { _cp_err "usage: cp_server_messages OUTDIR"; return 1; }
	[ -n "${SRV_STORE:-}" ] && [ -d "$SRV_STORE" ] ||
	    { _cp_err "cp_server_messages: no store (cp_start first)"; return 1; }
	mkdir -p "$out" || return 1
	_cp_list | python3 -c '
import email.parser, email.policy, os, sys
out, store = sys.argv[1], sys.argv[2]

# The UTF-8 flag courierpop3d keeps in courierpop3dsizelist (version 3:
# "NAME SIZE UID:UIDV:UTF8"), for the messages it has seen.
flags = {}
try:
    with open(os.path.join(store, "courierpop3dsizelist"), "rb") as fh:
        for line in fh.read().split(b"\n")[1:]:
            parts = line.rsplit(b" ", 2)
            if len(parts) == 3 and parts[2].count(b":") == 2:
                flags[parts[0].split(b":")[0]] = parts[2].endswith(b":1")
except OSError:
    pass

def header_8bit(f):
    """Courier rfc2045 RFC2045_ERR8BITHEADER: an 8-bit byte in a header
    of the message or of any MIME part."""
    msg = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(f)
    for part in msg.walk():
        for k, v in part._headers:
            if any(ord(c) > 127 for c in str(k) + str(v)):
                return True
    return False

for i, path in enumerate(l.rstrip("\n") for l in sys.stdin if l.strip()):
    with open(path, "rb") as fh:
        f = fh.read()
    name = os.path.basename(path).encode().split(b":")[0]
    utf8 = flags[name] if name in flags else header_8bit(f)
    if utf8:
        sys.stderr.write("courier.sh: message %d (%s) has 8-bit header bytes: "
                         "Courier wraps it in a MIME notice unless the client "
                         "sends UTF8, as popvault does; expected here unwrapped\n" % (i + 1, path))
    wire = f.replace(b"\n", b"\r\n")
    if not f.endswith(b"\n"):
        wire += b"\r\n"
    # Stuffing doubles a dot after every LF; unstuffing undoes exactly
    # that, so a message is what it was, except that a first-byte dot
    # (never stuffed) is taken for stuffing by the client.
    body = wire[1:] if wire.startswith(b".") else wire
    with open(os.path.join(out, "%04d" % (i + 1)), "wb") as fh:
        fh.write(body)
' "$out" "$SRV_STORE"
}

# cp_reset_uidls: make Courier hand out new UIDLs for every message, as a
# server migration would: remove courierpop3dsizelist (the next session
# numbers the messages UID1-T, UID2-T, ... in store order, T the time
# then; waits a second so that T differs from the old one).
cp_reset_uidls() {
	[ -n "${SRV_STORE:-}" ] && [ -d "$SRV_STORE" ] ||
	    { _cp_err "cp_reset_uidls: no store (cp_start first)"; return 1; }
	rm -f "$SRV_STORE/courierpop3dsizelist" || return 1
	sleep 1
}

cp_count() {
	[ -n "${SRV_STORE:-}" ] && [ -d "$SRV_STORE" ] ||
	    { _cp_err "cp_count: no store (cp_start first)"; return 1; }
	_cp_list | wc -l | tr -d ' '
}
