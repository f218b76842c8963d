# shellcheck shell=bash
#
# dovecot.sh -- start a private Dovecot POP3 (and, on request, IMAP) server
# on loopback for tests.
#
# Source this file; it sets no shell options. Every function returns
# non-zero with a message on stderr when it fails.
#
#   dv_start DIR [--no-ssl] [--imap] [--set KEY=VALUE]...
#                             start a fresh private instance under DIR;
#                             --no-ssl: ssl = no (no STLS, no pop3s port,
#                             plaintext login allowed); --imap (or DV_IMAP=1
#                             in the environment): IMAP too, same users,
#                             CA and Maildirs (INBOX is the POP3 Maildir,
#                             other folders Maildir++ ".NAME" in it);
#                             --set appends a top-level Dovecot setting
#                             (last one wins)
#   dv_adduser USER PASS      add a user (and its empty Maildir)
#   dv_maildir USER           print the user's Maildir path
#   dv_server_files USER      print the user's message files (new/ and cur/)
#   dv_fix_perms USER         make the Maildir usable by the mail uid again
#                             (after copying files in by other means than
#                             genmail.py)
#   dv_pid                    print the running master's pid
#   dv_restart                stop and start again: same DIR, ports, CA,
#                             users and mail; dovecot.conf re-read
#   dv_set KEY VALUE          override a setting and restart (e.g.
#                             dv_set pop3_uidl_format %g changes all UIDLs)
#   dv_conf_append            append configuration text from stdin (a
#                             passdb block, ...) and restart
#   dv_stop                   stop the instance, wait until it is gone
#                             (idempotent; fine to call from a trap)
#   dv_log_mark               print a mark (the log's length now) for
#                             dv_log_pop3
#   dv_log_pop3 USER MARK     USER's POP3 sessions Dovecot logged since
#                             MARK, once ended: prints "SESSIONS RETR
#                             DELE" (sessions, messages retrieved, DELE
#                             commands accepted)
#
# dv_start exports:
#   DV_DIR          the instance folder (dovecot.conf, run/, log/, mail/)
#   DV_CA           the test CA certificate (PEM) that issued the server's
#                   certificate; DV_CA_KEY is its key (to sign more certs)
#   DV_POP3_PORT    plain POP3 (offers STLS unless --no-ssl)
#   DV_POP3S_PORT   implicit TLS POP3; empty with --no-ssl
#   DV_HOST         127.0.0.1: certificate names it (and DNS:localhost)
#   DV_HOST_STRICT  127.0.0.3: certificate names it too; unlike 127.0.0.1 it
#                   is not "localhost" to Dovecot (client address differs
#                   from server address), so on the plain port it refuses
#                   USER/PASS and AUTH until STLS, as a remote server would
#   DV_HOST_WRONG   127.0.0.2: served too, but NOT in the certificate, for
#                   wrong-host tests
#   DV_SSL          yes, or no with --no-ssl
#   DV_IMAP         yes with --imap (or DV_IMAP=1 set before), else no
#   DV_IMAP_PORT    plain IMAP (offers STARTTLS unless --no-ssl); empty
#                   without --imap
#   DV_IMAPS_PORT   implicit TLS IMAP; empty without --imap or with --no-ssl
#   DV_MAIL_UID, DV_MAIL_GID  the uid/gid Dovecot reads and writes Maildirs
#                   as: nobody/nogroup when run as root (Dovecot refuses uid
#                   0 for mail), else the caller's own
#
# Differences from a stock Dovecot, for speed: auth_failure_delay = 0 and no
# per-IP auth penalty (a failed login answers at once; use
# --set auth_failure_delay=2s to get the delay back). pop3_uidl_format is
# %08Xu%08Xv.
#
# Dovecot treats a connection whose client and server addresses are equal
# (127.0.0.1 -> 127.0.0.1) as secured: plaintext login works there even
# without TLS. Use DV_HOST_STRICT to see a server that insists on TLS.
# Logs: DV_DIR/log/dovecot.log. See docs/dovecot-notes.md for what Dovecot
# does with the message bytes (NUL, bare CR, final newline, leading dot).

_dv_err() { printf 'dovecot.sh: %s\n' "$*" >&2; }

# _dv_pid: print the master pid from the pid file, if any.
_dv_pid() {
	local f="${DV_DIR:-}/run/master.pid" pid
	[ -n "${DV_DIR:-}" ] && [ -r "$f" ] || return 1
	read -r pid < "$f" 2>/dev/null || return 1
	case "$pid" in ''|*[!0-9]*) return 1 ;; esac
	# A stale pid file may name a pid reused by an unrelated process:
	# only a process started with our config counts.
	if [ -d "/proc/$pid" ]; then
		{ tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null |
			grep -qF -- "$DV_DIR/dovecot.conf" || return 1
	fi
	printf '%s\n' "$pid"
}

# _dv_alive PID: is PID a live (non-zombie) dovecot master of ours?
_dv_alive() {
	local pid=$1 st
	kill -0 "$pid" 2>/dev/null || return 1
	if [ -r "/proc/$pid/stat" ]; then
		st=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
		[ "$st" = Z ] && return 1
	fi
	return 0
}

# _dv_free_ports N: print N distinct TCP ports free on 127.0.0.1, .2 and .3.
_dv_free_ports() {
	python3 - "$1" <<'EOF'
import socket, sys
n = int(sys.argv[1]); got = []; held = []
for _ in range(200):
    if len(got) == n:
        break
    a = socket.socket(); a.bind(("127.0.0.1", 0))
    port = a.getsockname()[1]
    others = []
    try:
        for host in ("127.0.0.2", "127.0.0.3"):
            b = socket.socket(); others.append(b)
            b.bind((host, port))
    except OSError:
        for s in [a] + others:
            s.close()
        continue
    held += [a] + others   # keep bound so the next pick differs
    got.append(port)
for s in held:
    s.close()
if len(got) != n:
    sys.exit("no free ports")
print(" ".join(map(str, got)))
EOF
}

# _dv_wait_port PORT SECONDS: wait until PORT accepts TCP connections on
# 127.0.0.1, 127.0.0.2 and 127.0.0.3.
_dv_wait_port() {
	python3 - "$1" "$2" <<'EOF'
import socket, sys, time
port, limit = int(sys.argv[1]), float(sys.argv[2])
end = time.monotonic() + limit
for host in ("127.0.0.1", "127.0.0.2", "127.0.0.3"):
    while True:
        try:
            socket.create_connection((host, port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > end:
                sys.exit(1)
            time.sleep(0.05)
EOF
}

# _dv_certs DIR: test CA and server certificate in DIR.
_dv_certs() {
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
				"subjectAltName=DNS:localhost,IP:127.0.0.1,IP:127.0.0.3" > server.ext &&
			openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key \
				-CAcreateserial -days 3650 -sha256 \
				-extfile server.ext -out server.crt &&
			chmod 644 ca.crt server.crt
		} 2>&1
	) || { _dv_err "openssl failed: $out"; return 1; }
}

# _dv_write_conf: write $DV_DIR/dovecot.conf from the _dv_* variables.
_dv_write_conf() {
	local d=$DV_DIR
	{
		cat <<EOF
# Private Dovecot for popvault tests (written by tests/lib/dovecot.sh).
# No system configuration is included.
instance_name = $_dv_instance
base_dir = $d/run
state_dir = $d/state
log_path = $d/log/dovecot.log
info_log_path = $d/log/dovecot.log
debug_log_path = $d/log/dovecot.log
protocols = pop3${_dv_imap_proto}
listen = 127.0.0.1, 127.0.0.2, 127.0.0.3
shutdown_clients = yes

default_login_user = $_dv_login_user
default_internal_user = $_dv_internal_user
default_internal_group = $_dv_internal_group
first_valid_uid = 0
first_valid_gid = 0

auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $d/passwd.d/%u
}
userdb {
  driver = static
  args = uid=$DV_MAIL_UID gid=$DV_MAIL_GID home=$d/mail/%u
}
mail_location = maildir:$d/mail/%u
pop3_uidl_format = %08Xu%08Xv

service pop3-login {
  chroot =
  inet_listener pop3 {
    port = $DV_POP3_PORT
  }
EOF
		if [ "$DV_SSL" = yes ]; then
			cat <<EOF
  inet_listener pop3s {
    port = $DV_POP3S_PORT
    ssl = yes
  }
EOF
		fi
		cat <<EOF
}
EOF
		if [ "$DV_IMAP" = yes ]; then
			cat <<EOF
service imap-login {
  chroot =
  inet_listener imap {
    port = $DV_IMAP_PORT
  }
EOF
			if [ "$DV_SSL" = yes ]; then
				cat <<EOF
  inet_listener imaps {
    port = $DV_IMAPS_PORT
    ssl = yes
  }
EOF
			fi
			echo "}"
		fi
		cat <<EOF
service anvil {
  chroot =
}
service auth-worker {
  user = \$default_internal_user
}
# Fast failures for tests: no 2 s delay after a failed login, and no
# per-IP auth penalty (the auth process cannot reach the penalty socket).
auth_failure_delay = 0
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
EOF
		if [ "$DV_SSL" = yes ]; then
			cat <<EOF
ssl = yes
ssl_cert = <$d/server.crt
ssl_key = <$d/server.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
EOF
		else
			cat <<EOF
ssl = no
disable_plaintext_auth = no
EOF
		fi
		echo "# dv_start --set / dv_set overrides (the last one wins)"
	} > "$d/dovecot.conf"
}

dv_start() {
	local dir="" ssl=yes imap=no uid pid a
	local _dv_login_user _dv_internal_user _dv_internal_group _dv_instance
	local -a sets=()
	while [ $# -gt 0 ]; do
		a=$1
		shift
		case "$a" in
		--no-ssl) ssl=no ;;
		--imap) imap=yes ;;
		--set)
			[ $# -gt 0 ] || { _dv_err "dv_start: --set needs KEY=VALUE"; return 1; }
			sets+=("$1"); shift ;;
		--set=*) sets+=("${a#--set=}") ;;
		-*) _dv_err "dv_start: unknown option $a"; return 1 ;;
		*)
			[ -z "$dir" ] || { _dv_err "dv_start: one DIR only"; return 1; }
			dir=$a ;;
		esac
	done
	[ -n "$dir" ] || { _dv_err "usage: dv_start DIR [--no-ssl] [--imap] [--set KEY=VALUE]..."; return 1; }
	[ "${DV_IMAP:-}" = 1 ] && imap=yes
	for a in "${sets[@]}"; do
		case "$a" in [a-z]*=*) ;; *)
			_dv_err "dv_start: --set wants KEY=VALUE, got '$a'"; return 1 ;;
		esac
	done
	if pid=$(_dv_pid) && _dv_alive "$pid"; then
		_dv_err "dv_start: an instance is already running in $DV_DIR (dv_stop first)"
		return 1
	fi
	_dv_bin >/dev/null || return 1
	mkdir -p "$dir" || { _dv_err "cannot create $dir"; return 1; }
	dir=$(cd "$dir" && pwd) || return 1
	if [ -e "$dir/dovecot.conf" ]; then
		_dv_err "dv_start: $dir already holds an instance; use a fresh DIR (or dv_restart)"
		return 1
	fi
	mkdir -p "$dir/run" "$dir/state" "$dir/log" "$dir/mail" || return 1

	uid=$(id -u)
	if [ "$uid" = 0 ]; then
		# Dovecot refuses mail access as uid 0 ("userdb returned 0 as
		# uid"), whatever first_valid_uid says: mail runs as nobody.
		_dv_login_user=dovenull
		_dv_internal_user=dovecot
		_dv_internal_group=dovecot
		DV_MAIL_UID=$(id -u nobody 2>/dev/null) &&
			DV_MAIL_GID=$(id -g nobody 2>/dev/null) ||
			{ _dv_err "user nobody missing"; return 1; }
		local u
		for u in dovenull dovecot; do
			id "$u" >/dev/null 2>&1 || {
				_dv_err "user $u missing (install dovecot-core)"; return 1; }
		done
		# Login and auth processes run as dovenull/dovecot and reach
		# sockets under DIR/run and DIR/passwd.d by path: every
		# directory above them must be searchable by others.
		chmod 0711 "$dir" "$dir/mail" || return 1
		local p=$dir
		while [ "$p" != / ]; do
			p=$(dirname "$p")
			if [ -z "$(find "$p" -maxdepth 0 -perm -o+x 2>/dev/null)" ]; then
				_dv_err "dv_start: $p is not searchable by user dovenull;" \
					"use a DIR whose parents are (chmod o+x), e.g. from t_tmpdir"
				return 1
			fi
		done
	else
		_dv_login_user=$(id -un)
		_dv_internal_user=$_dv_login_user
		_dv_internal_group=$(id -gn)
		DV_MAIL_UID=$uid
		DV_MAIL_GID=$(id -g)
	fi
	export DV_MAIL_UID DV_MAIL_GID
	_dv_instance="popvault-test-$$-$RANDOM"

	DV_DIR=$dir
	DV_CA=$dir/ca.crt
	DV_CA_KEY=$dir/ca.key
	DV_HOST=127.0.0.1
	DV_HOST_STRICT=127.0.0.3
	DV_HOST_WRONG=127.0.0.2
	DV_SSL=$ssl
	DV_IMAP=$imap
	DV_POP3_PORT=
	DV_POP3S_PORT=
	DV_IMAP_PORT=
	DV_IMAPS_PORT=
	export DV_DIR DV_CA DV_CA_KEY DV_HOST DV_HOST_STRICT DV_HOST_WRONG DV_SSL \
		DV_POP3_PORT DV_POP3S_PORT DV_IMAP DV_IMAP_PORT DV_IMAPS_PORT
	# Without --imap the configuration is exactly the POP3-only one.
	local _dv_imap_proto=""
	[ "$imap" = yes ] && _dv_imap_proto=" imap"
	mkdir -p "$dir/passwd.d" && chmod 0755 "$dir/passwd.d" || return 1
	_dv_certs "$dir" || return 1

	# A port picked here can be taken by someone else before Dovecot
	# binds it: retry with new ports a few times.
	local try ports rc n=2
	[ "$imap" = yes ] && n=4
	for try in 1 2 3; do
		ports=$(_dv_free_ports "$n") || { _dv_err "no free ports"; return 1; }
		# shellcheck disable=SC2086  # split the numbers
		set -- $ports
		DV_POP3_PORT=$1
		if [ "$ssl" = yes ]; then DV_POP3S_PORT=$2; else DV_POP3S_PORT=; fi
		if [ "$imap" = yes ]; then
			DV_IMAP_PORT=$3
			if [ "$ssl" = yes ]; then DV_IMAPS_PORT=$4; else DV_IMAPS_PORT=; fi
		fi
		_dv_write_conf || return 1
		for a in "${sets[@]}"; do
			printf '%s = %s\n' "${a%%=*}" "${a#*=}" >> "$dir/dovecot.conf" || return 1
		done
		_dv_launch
		rc=$?
		[ "$rc" = 0 ] && return 0
		[ "$rc" = 2 ] || break
		_dv_err "port taken meanwhile (try $try), picking others"
	done
	_dv_err "dv_start: giving up; see $dir/log/"
	return 1
}

# _dv_bin: print the dovecot binary (not always on an ordinary user's PATH).
_dv_bin() {
	local b
	b=$(command -v dovecot 2>/dev/null) || b=/usr/sbin/dovecot
	[ -x "$b" ] || { _dv_err "dovecot not installed (apt-get install dovecot-pop3d)"; return 1; }
	printf '%s\n' "$b"
}

# _dv_launch: start Dovecot with DV_DIR/dovecot.conf and wait until its
# ports accept connections. 0 ok, 2 a port was taken (retry), 1 other error.
_dv_launch() {
	local dir=$DV_DIR pid='' bin
	bin=$(_dv_bin) || return 1
	rm -f "$dir/run/master.pid"
	if ! "$bin" -c "$dir/dovecot.conf" > "$dir/log/start.log" 2>&1; then
		_dv_kill_quiet || true
		grep -q 'Address already in use' "$dir/log/start.log" && return 2
		_dv_err "dovecot failed to start:"
		tail -n 8 "$dir/log/start.log" >&2 || true
		return 1
	fi
	for _ in $(seq 1 100); do	# pid file: up to 10 s
		pid=$(_dv_pid) && break
		sleep 0.1
	done
	if [ -z "$pid" ]; then
		_dv_err "dovecot wrote no pid file"
	elif _dv_wait_port "$DV_POP3_PORT" 10 &&
		{ [ -z "$DV_POP3S_PORT" ] || _dv_wait_port "$DV_POP3S_PORT" 10; } &&
		{ [ -z "${DV_IMAP_PORT:-}" ] || _dv_wait_port "$DV_IMAP_PORT" 10; } &&
		{ [ -z "${DV_IMAPS_PORT:-}" ] || _dv_wait_port "$DV_IMAPS_PORT" 10; }; then
		return 0
	else
		_dv_err "dovecot ports not accepting connections:"
		tail -n 5 "$dir/log/dovecot.log" >&2 2>/dev/null || true
	fi
	_dv_kill_quiet || true
	return 1
}

# dv_restart: stop the instance and start it again from DV_DIR: same ports,
# certificates, users and mail; dovecot.conf re-read.
dv_restart() {
	[ -n "${DV_DIR:-}" ] && [ -f "$DV_DIR/dovecot.conf" ] ||
		{ _dv_err "dv_restart: no instance (DV_DIR unset)"; return 1; }
	dv_stop || return 1
	_dv_launch || { _dv_err "dv_restart failed; see $DV_DIR/log/"; return 1; }
}

# dv_set KEY VALUE: override a top-level Dovecot setting and restart, e.g.
# dv_set pop3_uidl_format %g (every UIDL changes).
dv_set() {
	[ $# -eq 2 ] || { _dv_err "usage: dv_set KEY VALUE"; return 1; }
	[ -n "${DV_DIR:-}" ] && [ -f "$DV_DIR/dovecot.conf" ] ||
		{ _dv_err "dv_set: no instance (DV_DIR unset)"; return 1; }
	case "$1" in [a-z]*) ;; *) _dv_err "dv_set: bad key '$1'"; return 1 ;; esac
	printf '%s = %s\n' "$1" "$2" >> "$DV_DIR/dovecot.conf" || return 1
	dv_restart
}

# dv_conf_append: append the Dovecot configuration text on stdin (blocks
# such as a second passdb, which dv_set cannot express) and restart.
dv_conf_append() {
	[ -n "${DV_DIR:-}" ] && [ -f "$DV_DIR/dovecot.conf" ] ||
		{ _dv_err "dv_conf_append: no instance (DV_DIR unset)"; return 1; }
	cat >> "$DV_DIR/dovecot.conf" || return 1
	dv_restart
}

# _dv_kill_quiet: stop the master of DV_DIR if any: SIGTERM, wait up to 10 s,
# then SIGKILL and wait up to 5 s more.
_dv_kill_quiet() {
	local pid
	pid=$(_dv_pid) || return 0
	_dv_alive "$pid" || { rm -f "$DV_DIR/run/master.pid"; return 0; }
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do
		_dv_alive "$pid" || break
		sleep 0.1
	done
	if _dv_alive "$pid"; then
		_dv_err "dovecot master $pid ignored SIGTERM; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do
			_dv_alive "$pid" || break
			sleep 0.1
		done
	fi
	if _dv_alive "$pid"; then
		_dv_err "dovecot master $pid does not die"
		return 1
	fi
	rm -f "$DV_DIR/run/master.pid"
	return 0
}

dv_stop() {
	[ -n "${DV_DIR:-}" ] || return 0
	_dv_kill_quiet || return 1
	# Children (login, pop3, auth) exit when the master is gone; wait for
	# any that still hold our config so the next test starts clean.
	local _ left
	for _ in $(seq 1 50); do
		left=$(_dv_children)
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	_dv_err "dv_stop: processes left: $left; killing them"
	# shellcheck disable=SC2086
	kill -KILL $left 2>/dev/null || true
	return 0
}

# _dv_children: pids of processes of our instance: the master's command line
# names DV_DIR/dovecot.conf, the children's titles name instance_name.
_dv_children() {
	local inst p cmd
	inst=$(sed -n 's/^instance_name = //p' "$DV_DIR/dovecot.conf" 2>/dev/null)
	[ -n "$inst" ] || return 0
	if command -v ps >/dev/null 2>&1; then
		# The patterns are built inside awk so that awk's own command
		# line does not match them.
		ps -eo pid=,args= 2>/dev/null | awk -v d="$DV_DIR" -v i="$inst" '
			BEGIN { conf = d "/dovecot.conf"; title = "dovecot-" i "/" }
			index($0, conf) || index($0, title) { printf "%s ", $1 }'
		return 0
	fi
	for p in /proc/[0-9]*; do
		cmd=$( { tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null) || continue
		case "$cmd" in
		*"$DV_DIR/dovecot.conf"*|*"dovecot-$inst/"*)
			printf '%s ' "${p#/proc/}" ;;
		esac
	done
}

# dv_pid: print the pid of the running master; fails if none is running.
dv_pid() {
	local pid
	pid=$(_dv_pid) && _dv_alive "$pid" || {
		_dv_err "dv_pid: no running instance${DV_DIR:+ in $DV_DIR}"; return 1; }
	printf '%s\n' "$pid"
}

dv_maildir() {
	[ -n "${DV_DIR:-}" ] || { _dv_err "dv_maildir: no instance (DV_DIR unset)"; return 1; }
	[ -n "${1:-}" ] || { _dv_err "usage: dv_maildir USER"; return 1; }
	printf '%s\n' "$DV_DIR/mail/$1"
}

dv_adduser() {
	local user=${1:-} pass=${2:-} md
	[ -n "${DV_DIR:-}" ] || { _dv_err "dv_adduser: no instance (DV_DIR unset)"; return 1; }
	[ $# -eq 2 ] && [ -n "$user" ] || { _dv_err "usage: dv_adduser USER PASS"; return 1; }
	case "$user" in .*|*[:/]*|*[[:space:]]*|*[[:cntrl:]]*)
		_dv_err "dv_adduser: bad user name '$user'"; return 1 ;;
	esac
	case "$pass" in *:*|*[[:cntrl:]]*)
		_dv_err "dv_adduser: password must not contain ':' or control characters"
		return 1 ;;
	esac
	if [ -e "$DV_DIR/passwd.d/$user" ]; then
		_dv_err "dv_adduser: $user exists"; return 1
	fi
	# One file per user (passwd.d/USER, dovecot.conf's passdb): Dovecot
	# stats a passwd-file at most once a second, so a user added to one
	# shared file just after a login could stay unknown for up to a
	# second; a file it has never opened is read at the first lookup.
	printf '%s:{PLAIN}%s::::::\n' "$user" "$pass" >"$DV_DIR/passwd.d/$user.tmp" &&
	    chmod 0644 "$DV_DIR/passwd.d/$user.tmp" &&
	    mv "$DV_DIR/passwd.d/$user.tmp" "$DV_DIR/passwd.d/$user" || return 1
	md="$DV_DIR/mail/$user"
	mkdir -p "$md/cur" "$md/new" "$md/tmp" || return 1
	dv_fix_perms "$user"
}

# dv_fix_perms USER: give the user's Maildir to the mail uid (DV_MAIL_UID) and
# make every file readable. genmail.py writes files 0644 already; call this
# after putting files there by other means (cp under umask 077, say).
dv_fix_perms() {
	local md
	md=$(dv_maildir "${1:-}") || return 1
	[ -d "$md" ] || { _dv_err "dv_fix_perms: no maildir $md"; return 1; }
	if [ "$(id -u)" = 0 ]; then
		chown -R "$DV_MAIL_UID:$DV_MAIL_GID" "$md" || return 1
	fi
	chmod -R u+rwX,go+rX "$md" || return 1
}

dv_server_files() {
	local md
	md=$(dv_maildir "${1:-}") || return 1
	[ -d "$md" ] || { _dv_err "dv_server_files: no maildir $md"; return 1; }
	find "$md/new" "$md/cur" -maxdepth 1 -type f 2>/dev/null | LC_ALL=C sort
}

# dv_log_mark: print the Dovecot log's length now, a mark for dv_log_pop3.
dv_log_mark() {
	[ -n "${DV_DIR:-}" ] || { _dv_err "dv_log_mark: no instance (DV_DIR unset)"; return 1; }
	if [ -f "$DV_DIR/log/dovecot.log" ]; then
		stat -c %s "$DV_DIR/log/dovecot.log"
	else
		echo 0
	fi
}

# dv_log_pop3 USER MARK: the POP3 sessions of USER that Dovecot logged after
# MARK (from dv_log_mark), counted from its own log: each login
# ("pop3-login: ... Login: user=<USER>,") and each session's end, whose line
# carries pop3_logout_format's "retr=N/BYTES, del=N/COUNT". Waits up to 10 s
# until every session logged in has ended (the end is logged a moment after
# the client is gone), then prints "SESSIONS RETR DELE": sessions ended,
# messages sent for RETR, DELE commands accepted (del= counts them whether
# or not a QUIT made them final). Status 1 (and the counts so far) if a
# session had not ended by then or an end line carries no counts.
dv_log_pop3() {
	[ $# -eq 2 ] || { _dv_err "usage: dv_log_pop3 USER MARK"; return 1; }
	[ -n "${DV_DIR:-}" ] || { _dv_err "dv_log_pop3: no instance (DV_DIR unset)"; return 1; }
	python3 - "$DV_DIR/log/dovecot.log" "$1" "$2" <<'EOF'
import re, sys, time
path, user, mark = sys.argv[1], sys.argv[2], int(sys.argv[3])
login = re.compile(r"pop3-login: Info: Login: user=<%s>," % re.escape(user))
end = re.compile(r"pop3\(%s\)<[^>]*><[^>]*>: Info: Disconnected" %
                 re.escape(user))
counts = re.compile(r"\bretr=(\d+)/\d+, del=(\d+)/\d+")
deadline = time.monotonic() + 10
while True:
    with open(path, "rb") as f:
        f.seek(mark)
        text = f.read().decode("utf-8", "replace")
    logins = ends = retr = dele = bad = 0
    for line in text.splitlines():
        if login.search(line):
            logins += 1
        elif end.search(line):
            ends += 1
            m = counts.search(line)
            if m:
                retr += int(m.group(1))
                dele += int(m.group(2))
            else:
                bad += 1
    if ends >= logins or time.monotonic() > deadline:
        break
    time.sleep(0.05)
print(ends, retr, dele)
if ends < logins:
    sys.exit("dovecot.sh: dv_log_pop3: %d of %d sessions of %s not ended"
             % (logins - ends, logins, user))
if bad:
    sys.exit("dovecot.sh: dv_log_pop3: %d session ends without counts" % bad)
EOF
}
