#!/bin/sh
# Install the Debian packages that building and testing popvault need
# (tmux for the progress test under a pseudo-terminal; stunnel4 for the
# servers of the matrix without TLS; strace for the
# durability test's system call trace; mpop and getmail6 for "make
# bench" and, with fetchmail and procmail (its MDA), for the state
# files and archives of other fetchers (tests/lib/peers.sh,
# test_peerstate); bzip2 for test_import's .bz2 files; dovecot-imapd
# for the IMAP destination of export (tests/lib/dovecot.sh --imap); time
# and isync (mbsync, the peer of the upload runs) only for "make bench";
# clang only for "make fuzz").
# Only missing packages are installed; nothing happens when all are present.
PKGS="build-essential pkg-config libssl-dev libsqlite3-dev zlib1g-dev
libarchive-dev dovecot-core dovecot-pop3d dovecot-imapd openssl python3
libarchive-tools sqlite3 procps mandoc mutt zstd xz-utils gzip bzip2
util-linux coreutils cppcheck tmux strace mpop getmail6 fetchmail
procmail time clang stunnel4 isync"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
	    grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || exit 1
# policy-rc.d keeps the package from starting a system-wide dovecot.
$SUDO apt-get install -y -qq --no-install-recommends $missing || exit 1
