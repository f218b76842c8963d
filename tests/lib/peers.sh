# shellcheck shell=bash
#
# peers.sh -- run the real mpop, getmail6 and fetchmail (the Debian
# packages) against the test Dovecot of dovecot.sh, in keep-on-server
# mode, so that their archives and their UID state files can be read by
# popvault's importers (issue 16). Source it after common.sh and
# dovecot.sh, and after dv_start (it uses DV_HOST, DV_POP3S_PORT and
# DV_CA). Every function returns non-zero with a message on stderr when
# the tool fails; the tool's output is kept in DIR/log.
#
#   peer_mpop DIR USER PASS mbox|maildir
#                 mpop -C DIR/mpoprc: TLS from the first byte, the test
#                 CA, "received_header off", "keep on", the password
#                 from DIR/password (passwordeval cat). State:
#                 DIR/uidls (uidls_file); archive DIR/mbox or
#                 DIR/maildir/.
#   peer_getmail DIR USER PASS mboxrd|maildir
#                 getmail --getmaildir DIR/getmail: SimplePOP3SSLRetriever
#                 with ca_certs, "delete = false", "read_all = false",
#                 "delivered_to = false", "received = false", the
#                 password from password_command (cat DIR/password).
#                 State: DIR/getmail/oldmail-127.0.0.1-PORT-USER;
#                 archive DIR/mbox (Mboxrd destination) or DIR/maildir/.
#                 As root getmail refuses to deliver as root: it
#                 delivers as "nobody" (its "user" option), so the
#                 archive belongs to nobody.
#   peer_fetchmail DIR USER PASS
#                 fetchmail -f DIR/fetchmailrc: "ssl sslcertck
#                 sslcertfile CA sslcommonname localhost", "keep",
#                 "uidl", "invisible" (no Received header), "no
#                 syslog", delivering through procmail -m
#                 DIR/procmailrc (an MDA Debian ships) into DIR/mbox.
#                 The password is in DIR/fetchmailrc (0600: fetchmail
#                 has no password command). State: DIR/fetchids (idfile).
#
# A function can be run again on the same DIR: the tool reads its state
# and fetches only what is new, as it would for its user. PEER_STATE
# and PEER_ARCHIVE are set to the state file and the archive.
#
# Headers the tools add (docs/decisions.md, "Other fetchers' state"):
# mpop none with received_header off (its mbox adds the From_ line);
# getmail6 always writes a Return-Path header (replacing one the message
# had) and its mbox a From_ line; fetchmail with invisible none of its
# own, but procmail adds a From_ line. No password is ever on a command
# line: each tool reads it from a file of mode 0600.

_peer_err() { printf 'peers.sh: %s\n' "$*" >&2; }

# _peer_setup DIR PASS: DIR (0700) with DIR/password (0600), without a
# final newline (getmail6 takes a password command's output whole).
_peer_setup() {
	mkdir -p "$1" && chmod 0700 "$1" || return 1
	(umask 077 && printf '%s' "$2" > "$1/password") || return 1
}

# _peer_need CMD: the tool is installed.
_peer_need() {
	command -v "$1" >/dev/null 2>&1 ||
	    { _peer_err "$1 is not installed (make deps)"; return 1; }
}

peer_mpop() {
	local d=$1 user=$2 pass=$3 kind=$4 delivery
	[ $# -eq 4 ] || { _peer_err "usage: peer_mpop DIR USER PASS mbox|maildir"; return 1; }
	_peer_need mpop || return 1
	_peer_setup "$d" "$pass" || return 1
	case "$kind" in
	mbox)	delivery="mbox $d/mbox"; PEER_ARCHIVE=$d/mbox ;;
	maildir)
		mkdir -p "$d/maildir/cur" "$d/maildir/new" "$d/maildir/tmp" ||
		    return 1
		delivery="maildir $d/maildir"; PEER_ARCHIVE=$d/maildir ;;
	*) _peer_err "peer_mpop: mbox or maildir, not $kind"; return 1 ;;
	esac
	PEER_STATE=$d/uidls
	(umask 077 && cat > "$d/mpoprc" <<EOF
defaults
tls on
tls_starttls off
tls_trust_file $DV_CA
auth user
received_header off
keep on
uidls_file $d/uidls

account peer
host $DV_HOST
port $DV_POP3S_PORT
user $user
passwordeval cat $d/password
delivery $delivery
EOF
	) || return 1
	if ! mpop -q -C "$d/mpoprc" peer >"$d/log" 2>&1; then
		_peer_err "mpop failed: $(tail -n 5 "$d/log")"
		return 1
	fi
}

peer_getmail() {
	local d=$1 user=$2 pass=$3 kind=$4 as="" dest rc
	[ $# -eq 4 ] || { _peer_err "usage: peer_getmail DIR USER PASS mboxrd|maildir"; return 1; }
	_peer_need getmail || return 1
	_peer_setup "$d" "$pass" || return 1
	mkdir -p "$d/getmail" || return 1
	case "$kind" in
	mboxrd)
		[ -e "$d/mbox" ] || : > "$d/mbox" || return 1
		dest="type = Mboxrd
path = $d/mbox"
		PEER_ARCHIVE=$d/mbox ;;
	maildir)
		mkdir -p "$d/maildir/cur" "$d/maildir/new" "$d/maildir/tmp" ||
		    return 1
		dest="type = Maildir
path = $d/maildir/"
		PEER_ARCHIVE=$d/maildir ;;
	*) _peer_err "peer_getmail: mboxrd or maildir, not $kind"; return 1 ;;
	esac
	if [ "$(id -u)" = 0 ]; then
		# getmail6 will not deliver as root.
		as="user = nobody"
		chown -R nobody: "$PEER_ARCHIVE" || return 1
		chmod 0711 "$d" || return 1
	fi
	(umask 077 && cat > "$d/getmail/getmailrc" <<EOF
[retriever]
type = SimplePOP3SSLRetriever
server = $DV_HOST
port = $DV_POP3S_PORT
username = $user
password_command = ("/bin/cat", "$d/password")
ca_certs = $DV_CA

[destination]
$dest
$as

[options]
read_all = false
delete = false
delivered_to = false
received = false
verbose = 1
EOF
	) || return 1
	getmail --getmaildir "$d/getmail" --rcfile getmailrc >"$d/log" 2>&1
	rc=$?
	if [ "$rc" != 0 ]; then
		_peer_err "getmail failed (exit $rc): $(tail -n 15 "$d/log" | tr "\n" " ")"
		return 1
	fi
	PEER_STATE=$(find "$d/getmail" -maxdepth 1 -name "oldmail-*" | head -n 1)
	[ -n "$PEER_STATE" ] ||
	    { _peer_err "getmail wrote no oldmail file in $d/getmail"; return 1; }
}

peer_fetchmail() {
	local d=$1 user=$2 pass=$3 q
	[ $# -eq 3 ] || { _peer_err "usage: peer_fetchmail DIR USER PASS"; return 1; }
	_peer_need fetchmail || return 1
	_peer_need procmail || return 1
	_peer_setup "$d" "$pass" || return 1
	case "$pass" in *'"'*|*'\'*)
		_peer_err "peer_fetchmail: no quote or backslash in PASS"
		return 1 ;;
	esac
	PEER_STATE=$d/fetchids
	PEER_ARCHIVE=$d/mbox
	# procmail: everything into one mbox, with its lock file.
	(umask 077 && cat > "$d/procmailrc" <<EOF
LOGFILE=$d/procmail.log
:0:
$d/mbox
EOF
	) || return 1
	q='"'
	(umask 077 && cat > "$d/fetchmailrc" <<EOF
set no syslog
set idfile $q$d/fetchids$q
set invisible
poll $DV_HOST protocol pop3 service $DV_POP3S_PORT uidl
  user $q$user$q password $q$pass$q
  ssl sslcertck sslcertfile $q$DV_CA$q sslcommonname localhost
  keep
  mda $q/usr/bin/procmail -f - -m $d/procmailrc$q
EOF
	) || return 1
	# fetchmail exits 1 when there was no mail: not a failure here.
	HOME=$d FETCHMAILHOME=$d fetchmail -f "$d/fetchmailrc" \
	    --pidfile "$d/fetchmail.pid" >"$d/log" 2>&1
	case $? in
	0|1) ;;
	*) _peer_err "fetchmail failed: $(tail -n 5 "$d/log")"; return 1 ;;
	esac
}
