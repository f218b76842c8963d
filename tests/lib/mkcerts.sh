#!/usr/bin/env bash
# mkcerts.sh -- a certificate matrix for TLS tests (expired, not yet
# valid, unknown CA, self-signed, wrong names and wildcard tricks: each
# must be refused; only "valid" is accepted).
#
# Usage: mkcerts.sh DIR      (DIR is created; the openssl CLI is needed)
#
# Writes into DIR (keys 0600, EC P-256, SHA-256):
#   ca.crt ca.key             the test CA: trust it with --tls-ca DIR/ca.crt
#   other-ca.crt other-ca.key a CA the client is never told about
#   NAME.crt NAME.key         server certificates, NAME one of:
#     valid       CA-signed, SAN DNS:localhost, IP:127.0.0.1 (the good one)
#     expired     valid names, notAfter in 2021
#     notyet      valid names, notBefore in 2090
#     selfsigned  valid names, self-signed (not from any CA)
#     unknownca   valid names, signed by other-ca
#     wronghost   SAN DNS:wrong.example.net, IP:10.9.9.9 only
#     wildcard    SAN DNS:*.example.com: matches a.example.com, must not
#                 match a.b.example.com (one label only)
#     partialwc   SAN DNS:f*.example.com: a partial wildcard, must not
#                 match foo.example.com (X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS)
#     partialwc2  SAN DNS:f*.localhost (OpenSSL refuses a wildcard over a
#                 single label anyway: a weaker probe, kept for the record)
#     cnonly      CN=localhost but SAN DNS:other.example.net: the CN must be
#                 ignored once a SAN exists
#     nulsan      SAN dNSName "localhost\0.example.com" (fetchmail
#                 CVE-2009-2666): must not match localhost
#     ipasdns     SAN DNS:127.0.0.1 (an address as a DNS name, no iPAddress
#                 entry): must not match the address 127.0.0.1
#     iponly      SAN IP:127.0.0.1 only: must not match the name localhost
#
# Names like a.b.example.com resolve to 127.0.0.1 only inside the private
# mount namespace the test sets up (its own /etc/hosts); see
# tests/integration/test_hostile.sh.
set -u

die() { printf 'mkcerts.sh: %s\n' "$*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: mkcerts.sh DIR"
D=$1
mkdir -p "$D" || die "cannot create $D"
D=$(cd "$D" && pwd) || exit 1
cd "$D" || exit 1
umask 077
LOG=$D/mkcerts.log
: >"$LOG"

run() { "$@" >>"$LOG" 2>&1 || die "failed: $* (see $LOG)"; }

newkey() { run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

# CA NAME SUBJECT
mkca() {
	newkey "$1.key"
	run openssl req -x509 -new -key "$1.key" -sha256 -days 3650 \
	    -subj "$2" -out "$1.crt" \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign"
	mkdir -p "$1.db/new"
	: >"$1.db/index.txt"
	printf '1000\n' >"$1.db/serial"
	cat >"$1.cnf" <<EOF
[ ca ]
default_ca = tca
[ tca ]
database = $D/$1.db/index.txt
new_certs_dir = $D/$1.db/new
serial = $D/$1.db/serial
certificate = $D/$1.crt
private_key = $D/$1.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
email_in_dn = no
[ anything ]
commonName = supplied
EOF
}

# leaf NAME CA CN SAN [openssl-ca date options...]
# SAN is the whole subjectAltName value ("DNS:a,IP:b" or "DER:hex").
leaf() {
	local name=$1 ca=$2 cn=$3 san=$4
	shift 4
	newkey "$name.key"
	run openssl req -new -key "$name.key" -subj "/CN=$cn" -out "$name.csr"
	{
		echo "basicConstraints=critical,CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		echo "extendedKeyUsage=serverAuth"
		echo "subjectAltName=$san"
	} >"$name.ext"
	if [ $# -eq 0 ]; then
		set -- -days 3650
	fi
	run openssl ca -batch -notext -config "$ca.cnf" -in "$name.csr" \
	    -out "$name.crt" -extfile "$name.ext" "$@"
	rm -f "$name.csr"
}

GOOD="DNS:localhost,IP:127.0.0.1"
mkca ca "/CN=popvault test CA"
mkca other-ca "/CN=popvault unknown CA"

leaf valid ca localhost "$GOOD"
leaf expired ca localhost "$GOOD" -startdate 20200101000000Z -enddate 20210101000000Z
leaf notyet ca localhost "$GOOD" -startdate 20900101000000Z -enddate 20990101000000Z
leaf unknownca other-ca localhost "$GOOD"
leaf wronghost ca wrong.example.net "DNS:wrong.example.net,IP:10.9.9.9"
leaf wildcard ca "*.example.com" "DNS:*.example.com"
leaf partialwc ca "f*.example.com" "DNS:f*.example.com"
leaf partialwc2 ca "f*.localhost" "DNS:f*.localhost"
leaf cnonly ca localhost "DNS:other.example.net"
# GeneralNames { dNSName "localhost" NUL ".example.com" } (22 octets)
leaf nulsan ca "localhost" \
    "DER:30188216$(printf 'localhost' | od -An -tx1 | tr -d ' \n')00$(printf '.example.com' | od -An -tx1 | tr -d ' \n')"
leaf ipasdns ca 127.0.0.1 "DNS:127.0.0.1"
leaf iponly ca 127.0.0.1 "IP:127.0.0.1"

newkey selfsigned.key
run openssl req -x509 -new -key selfsigned.key -sha256 -days 3650 \
    -subj "/CN=localhost" -out selfsigned.crt \
    -addext "basicConstraints=critical,CA:FALSE" \
    -addext "subjectAltName=$GOOD"

chmod 644 ./*.crt
chmod 600 ./*.key
exit 0
