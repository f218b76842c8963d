# shellcheck shell=bash
#
# servers/mailutils.sh -- GNU Mailutils' POP3 server (pop3d 3.15, Debian
# package mailutils-pop3d) behind the server matrix interface of
# README.md, prefix mu. Notes on what it does: docs/servers/mailutils.md.
#
# Not installed system-wide: mu_setup fetches mailutils-pop3d,
# mailutils-mda (for putmail, Mailutils' own delivery program) and the
# packages of their Depends closure that are not installed with
# `apt-get download`, unpacks them with `dpkg -x` into CACHE/mailutils/root
# and runs the binaries with LD_LIBRARY_PATH pointing there.
#
# How it runs (as Debian runs it: `pop3d --daemon`, system users, an mbox
# spool like /var/mail):
#   - native implicit TLS (GnuTLS, `tls-mode connection`) on SRV_PORT, and a
#     plain port offering STLS (`tls-mode ondemand`) on MU_POP3_PORT;
#   - a private configuration file DIR/pop3d.conf (--config-file: no
#     /etc/mailutils.conf, no user configuration);
#   - pop3d has no user database of its own that works for a plain user
#     name (SQL and LDAP need a server; `virtdomain` only knows user@domain
#     names), so it authenticates system users: it runs inside
#     `unshare --mount` where DIR/etc/passwd and DIR/etc/shadow are
#     bind-mounted over /etc/passwd and /etc/shadow. The real files are
#     never touched. SRV_USER's private shadow entry holds a SHA-512 crypt
#     hash of SRV_PASS.
#     As root, SRV_USER gets the uid and gid of `nobody` (pop3d switches
#     to the user's uid after login). As another user, pop3d runs in
#     `unshare --user --map-root-user --mount` (an unprivileged user
#     namespace; mu_setup says so when the kernel refuses one): there
#     SRV_USER is uid 0, which is the caller outside, and a private
#     /etc/group maps group mail to 0 as well (pop3d sets the mail group
#     at startup and fails on a gid the namespace does not map);
#   - the store: the mbox spool file DIR/spool/SRV_USER (SRV_STORE), like
#     /var/mail/USER: owned by the user, group mail, 0660, in a spool
#     folder root:mail 2775 (as root; the caller's own files otherwise).
#
# Delivery (mu_deliver) uses Mailutils' own `putmail` (the mda family):
# it quotes body lines matching /^>*From / with one more ">" (mboxrd),
# adds X-UID (and X-IMAPbase to the first message) and normalises header
# lines ("Name:value" -> "Name: value"). pop3d then stamps every message
# with an X-UIDL header (md5 of the message, the time, the UID) and a
# Status header the first time a session sees the mailbox, and writes
# them into the spool when the session ends. RETR of a message that has
# no X-UIDL yet therefore carries a UIDL made from the time of that
# session, which nothing can predict from the store; so mu_deliver ends
# with one POP3 session (USER, PASS, UIDL, QUIT) that lets pop3d stamp the
# new messages, as a mail client that checked the mailbox would. Set
# MU_SETTLE=0 to skip it (mu_server_messages then refuses the unstamped
# messages). mu_settle runs that session alone. A message still changes
# after that: "Status: O" becomes "Status: OR" once a session RETRs it,
# and the first message's X-IMAPbase changes when mail is added;
# mu_server_messages always says what the next RETR gives.
#
#   mu_setup CACHE            download and unpack (idempotent, locked);
#                             mu_start finds CACHE again from MU_CACHE
#                             (set by mu_setup when not run in a
#                             subshell), SRV_CACHE, or build/servers
#   mu_start DIR              start pop3d under DIR; exports SRV_NAME,
#                             SRV_PORT, SRV_CA, SRV_STORE, and MU_DIR,
#                             MU_PID, MU_POP3_PORT (plain, STLS), MU_LOG,
#                             MU_USERNS (1: in a user namespace)
#   mu_deliver FILE...        putmail each file into the spool, then settle
#   mu_settle                 one USER/PASS/UIDL/QUIT session
#   mu_server_messages OUTDIR OUTDIR/0001...: what RETR gives, from the mbox
#                             (once no session holds the spool's lock:
#                             a session writes the spool as it ends)
#   mu_count                  messages in the mbox (likewise)
#   mu_stop                   stop pop3d and its session processes
#
# Environment: MU_TRANSCRIPT=1 logs every session's protocol transcript
# into MU_LOG (DIR/log/pop3d.log).

_mu_err() { printf 'mailutils.sh: %s\n' "$*" >&2; }

# The packages asked for; their Depends closure minus what is installed is
# what gets downloaded.
_MU_ROOTS="mailutils-pop3d mailutils-mda"

# _mu_closure: print the packages to download, one per line: the roots and
# every package of their Depends/Pre-Depends closure that is not
# installed. An alternative (a | b) or a virtual package is satisfied by
# any installed member or provider; otherwise its first real candidate is
# taken.
_mu_closure() {
	# shellcheck disable=SC2086  # a list of names
	python3 - $_MU_ROOTS <<'EOF'
import subprocess, sys

def run(args):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True).stdout

installed = set()
for line in run(["dpkg-query", "-W", "-f=${binary:Package} ${db:Status-Status}\n"]).splitlines():
    parts = line.split()
    if len(parts) == 2 and parts[1] == "installed":
        installed.add(parts[0].split(":")[0])

def groups(pkg):
    """The dependency groups of pkg: lists of (name, providers)."""
    out = run(["apt-cache", "depends", "--no-recommends", "--no-suggests",
               "--no-conflicts", "--no-breaks", "--no-replaces",
               "--no-enhances", pkg])
    gs, cur, alt = [], None, False
    for line in out.splitlines():
        s = line.strip()
        if line.startswith("    ") and cur is not None:   # provider of a virtual
            cur[-1][1].append(s)
            continue
        if s.startswith("|"):
            s, more = s[1:], True
        else:
            more = False
        if not (s.startswith("Depends:") or s.startswith("PreDepends:")):
            continue
        name = s.split(":", 1)[1].strip()
        if cur is None or not alt:
            cur = []
            gs.append(cur)
        cur.append((name, []))
        alt = more
    return gs

def real(name):
    return not name.startswith("<")

want, queue, seen = [], list(sys.argv[1:]), set()
while queue:
    p = queue.pop(0)
    if p in seen:
        continue
    seen.add(p)
    want.append(p)
    for g in groups(p):
        names = []
        for name, provs in g:
            if real(name):
                names.append(name)
            names.extend(x.split(":")[0] for x in provs)
        if any(n in installed or n in seen or n in queue for n in names):
            continue
        if not names:
            sys.exit("unsatisfiable dependency of %s: %s" % (p, g))
        queue.append(names[0])
print("\n".join(want))
EOF
}

# _mu_libpath ROOT: LD_LIBRARY_PATH for the unpacked tree.
_mu_libpath() {
	local r=$1 d p=""
	for d in "$r"/usr/lib/*-linux-gnu* "$r"/lib/*-linux-gnu* "$r/usr/lib" "$r/lib"; do
		[ -d "$d" ] && p=${p:+$p:}$d
	done
	printf '%s\n' "$p"
}

mu_setup() {
	local cache=${1:-} top tmp lockfd rc out
	[ -n "$cache" ] || { echo "usage: mu_setup CACHE"; return 1; }
	mkdir -p "$cache" 2>/dev/null || { echo "cannot create $cache"; return 1; }
	top=$(cd "$cache" && pwd)/mailutils
	MU_CACHE=$top
	export MU_CACHE
	local c
	for c in unshare openssl python3; do
		command -v "$c" >/dev/null 2>&1 ||
			{ echo "$c not found (util-linux, openssl and python3 are needed)"; return 1; }
	done
	if [ "$(id -u)" != 0 ] &&
	    ! unshare --user --map-root-user --mount true 2>/dev/null; then
		echo "needs root or an unprivileged user namespace (pop3d only authenticates system users: it runs with a private /etc/passwd and /etc/shadow bind-mounted in a mount namespace)"
		return 1
	fi
	if [ -f "$top/.ready" ]; then
		return 0
	fi
	for c in apt-get apt-cache dpkg-deb dpkg-query flock; do
		command -v "$c" >/dev/null 2>&1 ||
			{ echo "$c not found (a Debian system is needed)"; return 1; }
	done
	exec {lockfd}>"$cache/.mailutils.lock" || { echo "cannot lock $cache"; return 1; }
	flock "$lockfd"
	if [ -f "$top/.ready" ]; then
		exec {lockfd}>&-
		return 0
	fi
	rc=1
	tmp="$top.tmp.$$"
	rm -rf -- "$tmp" "$top"
	mkdir -p "$tmp/debs" "$tmp/root"
	if ! out=$(_mu_closure 2>&1); then
		echo "cannot resolve the packages: $(printf '%s' "$out" | tail -n 1)"
	elif ! printf '%s\n' "$out" >"$tmp/packages" ||
	    ! _mu_download "$tmp"; then
		echo "apt-get download failed ($(grep -E '^(E|W):' "$tmp/download.log" | head -n 1)); is Debian's archive reachable?"
	else
		local f bad=""
		for f in "$tmp"/debs/*.deb; do
			dpkg-deb -x "$f" "$tmp/root" || { bad=$f; break; }
		done
		if [ -n "$bad" ]; then
			echo "dpkg-deb -x failed on $(basename "$bad")"
		elif ! _mu_check_tree "$tmp"; then
			:	# _mu_check_tree printed why
		else
			(cd "$tmp/debs" && ls -l -- *.deb) >"$tmp/sizes"
			mv -- "$tmp" "$top" && : >"$top/.ready" && rc=0
		fi
	fi
	[ "$rc" = 0 ] || rm -rf -- "$tmp"
	exec {lockfd}>&-
	return "$rc"
}

# _mu_download TMP: the packages listed in TMP/packages into TMP/debs
# (writable by apt's sandbox user _apt, so apt does not complain).
_mu_download() {
	local -a pkgs
	mapfile -t pkgs <"$1/packages"
	(cd "$1/debs" && chmod 0777 . && apt-get download "${pkgs[@]}") \
		>"$1/download.log" 2>&1
	local rc=$?
	chmod 0755 "$1/debs"
	return "$rc"
}

# _mu_check_tree TOP: the unpacked binaries find all their libraries and run.
_mu_check_tree() {
	local t=$1 lp b miss
	lp=$(_mu_libpath "$t/root")
	for b in usr/sbin/pop3d usr/bin/putmail; do
		[ -x "$t/root/$b" ] || { echo "$b missing from the unpacked packages"; return 1; }
		miss=$(LD_LIBRARY_PATH=$lp ldd "$t/root/$b" 2>&1 | awk '/not found/ { print $1 }' | sort -u | tr '\n' ' ')
		[ -z "$miss" ] || { echo "$b: libraries not found: $miss"; return 1; }
		LD_LIBRARY_PATH=$lp "$t/root/$b" --version >/dev/null 2>&1 ||
			{ echo "$b --version fails"; return 1; }
	done
	return 0
}

# _mu_env CMD...: run CMD with the unpacked libraries (MU_ROOT, set by
# mu_start) on LD_LIBRARY_PATH.
_mu_env() {
	LD_LIBRARY_PATH=$(_mu_libpath "$MU_ROOT") "$@"
}

# _mu_certs DIR: test CA and a server certificate for localhost/127.0.0.1.
_mu_certs() {
	local d=$1 out
	out=$(
		{
			cd "$d" && umask 077 &&
			openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
				-nodes -sha256 -days 3650 -subj "/CN=popvault test CA" \
				-addext "basicConstraints=critical,CA:TRUE" \
				-addext "keyUsage=critical,keyCertSign,cRLSign" \
				-keyout ca.key -out ca.crt &&
			openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
				-nodes -sha256 -subj "/CN=localhost" \
				-keyout server.key -out server.csr &&
			printf '%s\n' \
				"basicConstraints=critical,CA:FALSE" \
				"keyUsage=critical,digitalSignature,keyEncipherment" \
				"extendedKeyUsage=serverAuth" \
				"subjectAltName=DNS:localhost,IP:127.0.0.1" > server.ext &&
			openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key \
				-CAcreateserial -days 3650 -sha256 \
				-extfile server.ext -out server.crt &&
			chmod 644 ca.crt server.crt
		} 2>&1
	) || { _mu_err "openssl failed: $out"; return 1; }
}

# _mu_free_ports N: N distinct free TCP ports on 127.0.0.1.
_mu_free_ports() {
	python3 - "$1" <<'EOF'
import socket, sys
n = int(sys.argv[1]); held = []
for _ in range(n):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); held.append(s)
print(" ".join(str(s.getsockname()[1]) for s in held))
EOF
}

# _mu_alive PID: a live, non-zombie process.
_mu_alive() {
	local st
	kill -0 "$1" 2>/dev/null || return 1
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ "$st" != Z ]
}

_mu_write_conf() {
	local d=$MU_DIR
	cat >"$d/pop3d.conf" <<EOF
# Private GNU pop3d for popvault tests (tests/lib/servers/mailutils.sh).
# Loaded with --config-file: no /etc/mailutils.conf, no user config.
logging {
  syslog no;
};
pidfile $d/run/pop3d.pid;
mode daemon;
foreground yes;
max-children 20;
# System users (the private /etc/passwd and /etc/shadow bind-mounted
# in pop3d's mount namespace): crypt() against the shadow entry.
auth {
  authorization system;
  authentication generic:system;
};
mailbox {
  mail-spool $d/spool;
  mailbox-type mbox;
};
# Not /etc/hosts.allow and /etc/hosts.deny of this machine.
tcp-wrappers {
  enable no;
};
transcript ${_mu_transcript};
server 127.0.0.1:$SRV_PORT {
  tls-mode connection;
  tls {
    ssl-certificate-file $d/server.crt;
    ssl-key-file $d/server.key;
  };
};
server 127.0.0.1:$MU_POP3_PORT {
  tls-mode ondemand;
  tls {
    ssl-certificate-file $d/server.crt;
    ssl-key-file $d/server.key;
  };
};
EOF
}

# _mu_launch: start pop3d in its own mount namespace; wait for both ports.
# 0 ok, 2 a port was taken meanwhile (retry), 1 other error.
_mu_launch() {
	local d=$MU_DIR pid lp
	lp=$(_mu_libpath "$MU_ROOT")
	: >"$d/log/pop3d.log"
	rm -f "$d/run/pop3d.pid"
	local -a ns=(--mount --propagation private)
	[ "$MU_USERNS" = 1 ] && ns=(--user --map-root-user "${ns[@]}")
	# unshare execs sh, sh execs pop3d: $! is pop3d's pid. No nscd either:
	# it would answer from the real files.
	# shellcheck disable=SC2016  # expanded by the inner sh
	unshare "${ns[@]}" -- /bin/sh -c '
		mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/shadow || exit 1
		if [ -f "$3" ]; then mount --bind "$3" /etc/group || exit 1; fi
		for n in /run/nscd /var/run/nscd; do
			[ -d "$n" ] && mount -t tmpfs none "$n"
		done
		shift 3
		exec env LD_LIBRARY_PATH="$1" "$2" --config-file "$3"
	' sh "$d/etc/passwd" "$d/etc/shadow" "$d/etc/group" "$lp" \
		"$MU_ROOT/usr/sbin/pop3d" "$d/pop3d.conf" \
		</dev/null >>"$d/log/pop3d.log" 2>&1 &
	pid=$!
	MU_PID=$pid
	export MU_PID
	if python3 - "$pid" "$SRV_PORT" "$MU_POP3_PORT" <<'EOF'
import os, socket, sys, time
pid = int(sys.argv[1]); ports = [int(p) for p in sys.argv[2:]]
end = time.monotonic() + 10
for port in ports:
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            try:
                os.kill(pid, 0)
                with open("/proc/%d/stat" % pid) as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        sys.exit(1)
            except OSError:
                sys.exit(1)
            if time.monotonic() > end:
                sys.exit(1)
            time.sleep(0.05)
EOF
	then
		return 0
	fi
	_mu_kill "$pid"
	grep -q 'Address already in use' "$d/log/pop3d.log" && return 2
	_mu_err "pop3d did not start:"
	tail -n 8 "$d/log/pop3d.log" >&2
	return 1
}

mu_start() {
	local dir=${1:-} try ports rc uid gid mailgid hash
	[ -n "$dir" ] || { _mu_err "usage: mu_start DIR"; return 1; }
	[ -n "${SRV_USER:-}" ] && [ -n "${SRV_PASS:-}" ] ||
		{ _mu_err "mu_start: set SRV_USER and SRV_PASS first"; return 1; }
	case "$SRV_USER" in
	root|-*|.*|*[:/@!]*|*[[:space:]]*|*[[:cntrl:]]*)
		_mu_err "mu_start: unusable user name '$SRV_USER'"; return 1 ;;
	esac
	case "$SRV_PASS" in *[[:cntrl:]]*)
		_mu_err "mu_start: the password must not hold control characters"; return 1 ;;
	esac
	if [ -n "${MU_PID:-}" ] && _mu_alive "$MU_PID"; then
		_mu_err "mu_start: pop3d already running in $MU_DIR (mu_stop first)"
		return 1
	fi
	MU_USERNS=0
	if [ "$(id -u)" != 0 ]; then
		unshare --user --map-root-user --mount true 2>/dev/null || {
			_mu_err "mu_start: needs root or an unprivileged user namespace"; return 1; }
		MU_USERNS=1
	fi
	export MU_USERNS
	# mu_setup may have run in a subshell (the matrix runs it in $(...)):
	# its CACHE is MU_CACHE if it ran here, else SRV_CACHE, else the
	# matrix's default.
	local top
	for top in "${MU_CACHE:-}" "${SRV_CACHE:+$SRV_CACHE/mailutils}" \
	    "${T_ROOT:+$T_ROOT/build/servers/mailutils}"; do
		[ -n "$top" ] && [ -f "$top/.ready" ] && break
		top=
	done
	[ -n "$top" ] ||
		{ _mu_err "mu_start: not set up (mu_setup CACHE first; set SRV_CACHE=CACHE if it ran in a subshell)"; return 1; }
	MU_ROOT=$(cd "$top/root" && pwd) || return 1
	mkdir -p "$dir" || { _mu_err "cannot create $dir"; return 1; }
	dir=$(cd "$dir" && pwd) || return 1
	[ ! -e "$dir/pop3d.conf" ] ||
		{ _mu_err "mu_start: $dir already holds an instance; use a fresh DIR"; return 1; }
	MU_DIR=$dir
	MU_LOG=$dir/log/pop3d.log
	export MU_DIR MU_ROOT MU_LOG
	mkdir -p "$dir/etc" "$dir/spool" "$dir/run" "$dir/log" "$dir/home" || return 1
	chmod 0711 "$dir" || return 1
	_mu_certs "$dir" || return 1

	if [ "$MU_USERNS" = 1 ]; then
		# Inside the namespace the caller is 0, and so is the user.
		uid=0 gid=0 mailgid=0
		printf 'root:x:0:\nmail:x:0:\n' >"$dir/etc/group" || return 1
	else
		uid=$(id -u nobody 2>/dev/null) && gid=$(id -g nobody 2>/dev/null) ||
			{ _mu_err "user nobody missing"; return 1; }
		mailgid=$(getent group mail | cut -d: -f3)
		[ -n "$mailgid" ] || mailgid=$gid
	fi
	hash=$(printf '%s' "$SRV_PASS" | openssl passwd -6 -stdin) && [ -n "$hash" ] ||
		{ _mu_err "openssl passwd failed"; return 1; }
	printf 'root:x:0:0:root:/root:/bin/sh\n%s:x:%s:%s:popvault test user:%s/home:/bin/sh\n' \
		"$SRV_USER" "$uid" "$gid" "$dir" >"$dir/etc/passwd" &&
	printf 'root:*:20000:0:99999:7:::\n%s:%s:20000:0:99999:7:::\n' \
		"$SRV_USER" "$hash" >"$dir/etc/shadow" &&
	chmod 0644 "$dir/etc/passwd" && chmod 0640 "$dir/etc/shadow" || return 1
	# Like /var/mail: root:mail 2775, the mailbox USER:mail 0660.
	SRV_STORE=$dir/spool/$SRV_USER
	MU_UID=$uid
	MU_MAILGID=$mailgid
	: >"$SRV_STORE" && chmod 2775 "$dir/spool" || return 1
	if [ "$MU_USERNS" = 0 ]; then
		chown "$uid:$gid" "$dir/home" &&
		chown "0:$mailgid" "$dir/spool" || return 1
		# After the login pop3d runs as nobody and opens the spool by
		# path: every folder above it must be searchable by others.
		local p=$dir
		while [ "$p" != / ]; do
			p=$(dirname "$p")
			if [ -z "$(find "$p" -maxdepth 0 -perm -o+x 2>/dev/null)" ]; then
				_mu_err "mu_start: $p is not searchable by user nobody;" \
					"use a DIR whose parents are (chmod o+x), e.g. from t_tmpdir"
				return 1
			fi
		done
	fi
	_mu_fix_store || return 1
	SRV_NAME=mailutils
	# Serving a message rewrites it in the spool ("Status: OR" once
	# read, a new X-IMAPbase in the first message when mail arrives):
	# the matrix expects each version served to be archived
	# (tests/lib/servers/matrix.sh, docs/servers/mailutils.md).
	# shellcheck disable=SC2034  # read by matrix.sh
	SRV_REWRITES_ON_READ=1
	SRV_CA=$dir/ca.crt
	export SRV_NAME SRV_CA SRV_STORE MU_UID MU_MAILGID

	local _mu_transcript=no
	[ "${MU_TRANSCRIPT:-0}" = 1 ] && _mu_transcript=yes
	for try in 1 2 3; do
		ports=$(_mu_free_ports 2) || { _mu_err "no free ports"; return 1; }
		SRV_PORT=${ports% *}
		MU_POP3_PORT=${ports#* }
		export SRV_PORT MU_POP3_PORT
		_mu_write_conf || return 1
		_mu_launch
		rc=$?
		[ "$rc" = 0 ] && return 0
		[ "$rc" = 2 ] || break
		_mu_err "port taken meanwhile (try $try), picking others"
	done
	_mu_err "mu_start: giving up; see $MU_LOG"
	return 1
}

# _mu_children PID: the pids whose parent is PID.
_mu_children() {
	local want=$1 s line p
	for s in /proc/[0-9]*/stat; do
		{ read -r line <"$s"; } 2>/dev/null || continue
		line=${line##*) }	# after the command: state ppid ...
		line=${line#* }
		if [ "${line%% *}" = "$want" ]; then
			p=${s#/proc/}
			printf '%s ' "${p%/stat}"
		fi
	done
}

# _mu_kill PID: TERM, wait up to 5 s, then KILL; also the session
# processes it forked (listed before the master goes).
_mu_kill() {
	local pid=$1 kids _
	_mu_alive "$pid" || return 0
	kids=$(_mu_children "$pid")
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 1 50); do
		_mu_alive "$pid" || break
		sleep 0.1
	done
	if _mu_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		sleep 0.1
	fi
	# shellcheck disable=SC2086
	[ -z "$kids" ] || kill -KILL $kids 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

mu_stop() {
	[ -n "${MU_PID:-}" ] || return 0
	_mu_kill "$MU_PID"
	MU_PID=
	return 0
}

# _mu_fix_store: the mailbox back to USER:mail 0660 (putmail runs as root).
_mu_fix_store() {
	if [ "$MU_USERNS" = 0 ]; then
		chown "$MU_UID:$MU_MAILGID" "$SRV_STORE" || return 1
	fi
	chmod 0660 "$SRV_STORE"
}

mu_deliver() {
	local f
	[ -n "${MU_DIR:-}" ] || { _mu_err "mu_deliver: no instance (mu_start first)"; return 1; }
	for f in "$@"; do
		[ -f "$f" ] || { _mu_err "mu_deliver: no file $f"; return 1; }
		_mu_env "$MU_ROOT/usr/bin/putmail" --no-config \
			-f popvault-test@example.test "mbox://$SRV_STORE" <"$f" \
			2>>"$MU_LOG" || {
			_mu_err "mu_deliver: putmail failed on $f: $(tail -n 1 "$MU_LOG")"
			_mu_fix_store
			return 1
		}
	done
	_mu_fix_store || return 1
	[ "${MU_SETTLE:-1}" = 0 ] || mu_settle
}

# mu_settle: one session (USER, PASS, UIDL, QUIT) so that pop3d writes its
# X-UIDL and Status headers into the spool (see the top of this file).
mu_settle() {
	[ -n "${MU_DIR:-}" ] || { _mu_err "mu_settle: no instance"; return 1; }
	python3 - "$SRV_PORT" "$SRV_CA" <<'EOF' || { _mu_err "mu_settle: POP3 session failed"; return 1; }
import os, poplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
p = poplib.POP3_SSL("127.0.0.1", int(sys.argv[1]), context=ctx, timeout=30)
p.user(os.environ["SRV_USER"])
p.pass_(os.environ["SRV_PASS"])
p.uidl()
p.quit()
EOF
}

# _mu_mbox_py: the spool parser shared by mu_server_messages and mu_count.
# Mailutils' rule: a line "From " starts a message at the top of the file
# or after an empty line. What RETR gives for a message stored by putmail
# or rewritten by pop3d (observed, docs/servers/mailutils.md): the header
# lines as stored but "Name:<blanks>value" as "Name: value" (only
# X-IMAPbase is stored padded), the body lines with one ">" taken off
# /^>+From / (mboxrd), every line ended by CRLF, without the empty line
# that separates it from the next message.
_MU_MBOX_PY='
import os, re, sys

def messages(data):
    starts = [m.start() + (0 if m.start() == 0 and data.startswith(b"From ") else 2)
              for m in re.finditer(rb"(?:^|\n\n)From ", data)]
    starts = [s for s in starts if data.startswith(b"From ", s)]
    out = []
    for i, s in enumerate(starts):
        e = starts[i + 1] if i + 1 < len(starts) else len(data)
        chunk = data[s:e]
        nl = chunk.find(b"\n")
        out.append(chunk[nl + 1:] if nl >= 0 else b"")
    return out

HDR = re.compile(rb"^([^ \t:][^:]*):[ \t]*")

def retr(raw):
    if raw.endswith(b"\n"):
        raw = raw[:-1]                  # the separating empty line
    cut = raw.find(b"\n\n")
    head, body = (raw, None) if cut < 0 else (raw[:cut], raw[cut + 2:])
    lines = head.split(b"\n") if head else []
    out = []
    for l in lines:
        m = HDR.match(l)
        if m:
            l = m.group(1).rstrip(b" \t") + b": " + l[m.end():]
        out.append(l + b"\r\n")
    uidl = any(l.lower().startswith(b"x-uidl:") for l in lines)
    if body is not None:
        out.append(b"\r\n")
        bl = body.split(b"\n")
        if bl[-1] == b"":
            bl.pop()
        out += [re.sub(rb"^>(>*From )", rb"\1", l) + b"\r\n" for l in bl]
    return b"".join(out), uidl
'

# _mu_quiet: wait (up to 10 s) until no session holds the spool's dotlock.
# A session writes its X-UIDL and Status headers into the spool when it
# ends, QUIT or not, before it lets go of the lock: a client that has just
# exited (or been killed) may leave its session running a little longer.
_mu_quiet() {
	local _
	for _ in $(seq 1 100); do
		[ -e "$SRV_STORE.lock" ] || return 0
		sleep 0.1
	done
	_mu_err "the spool is still locked after 10 s ($SRV_STORE.lock)"
	return 1
}

mu_server_messages() {
	local out=${1:-}
	[ -n "$out" ] || { _mu_err "usage: mu_server_messages OUTDIR"; return 1; }
	[ -n "${SRV_STORE:-}" ] || { _mu_err "mu_server_messages: no instance"; return 1; }
	mkdir -p "$out" || return 1
	_mu_quiet || return 1
	python3 -c "$_MU_MBOX_PY"'
store, out = sys.argv[1], sys.argv[2]
with open(store, "rb") as f:
    data = f.read()
bad = 0
for i, raw in enumerate(messages(data), 1):
    body, uidl = retr(raw)
    if not uidl:
        bad += 1
        continue
    with open(os.path.join(out, "%04d" % i), "wb") as f:
        f.write(body)
if bad:
    sys.exit("mailutils.sh: %d message(s) without X-UIDL: pop3d adds one made "
             "from the time of the next session, unknowable here (mu_settle)" % bad)
' "$SRV_STORE" "$out"
}

mu_count() {
	[ -n "${SRV_STORE:-}" ] || { _mu_err "mu_count: no instance"; return 1; }
	_mu_quiet || return 1
	python3 -c "$_MU_MBOX_PY"'
with open(sys.argv[1], "rb") as f:
    print(len(messages(f.read())))
' "$SRV_STORE"
}
