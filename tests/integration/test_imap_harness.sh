#!/usr/bin/env bash
# test_imap_harness.sh -- the IMAP test harness itself (issue 17): a private
# Dovecot started with dv_start --imap, and tests/lib/imapcheck.py, the
# independent judge (Python's imaplib) of what an IMAP folder holds.
#
#   1. genmail.py messages (every tricky kind and some ordinary ones) are
#      appended with imapcheck.py over implicit TLS, each with its own
#      INTERNALDATE and some with \Seen; "list" reads them back: every
#      file's SHA-256 (CRLF -> LF) exactly once, the dates and flags as
#      given, and the server's own Maildir files hash as expected. Dovecot
#      does not give every byte back: a bare CR is stored as LF, a NUL
#      comes back as 0x80 (see dvhash below); exactly genmail's nul,
#      bare_cr and cr_at_end messages are affected, which is checked too;
#   2. the STARTTLS port lists exactly the same;
#   3. negative cases, so that the judge can fail: a message changed on
#      the server (same size) changes its listed hash; a certificate from
#      another CA and a host not in the certificate are refused (exit 2)
#      on both ports; a wrong password and a missing folder exit 1; the
#      plain port on a non-local address advertises LOGINDISABLED until
#      STARTTLS;
#   4. without --imap no IMAP listens and the configuration says only
#      "protocols = pop3".
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"

IC="$T_ROOT/tests/lib/imapcheck.py"
T=$(t_tmpdir)
chmod 0711 "$T"
dv_start "$T/dv" --imap || { t_fail dovecot_start "could not start Dovecot with --imap"; t_done; }
dv_adduser alice 'pw-Al1ce-s3cret' || { t_fail adduser alice; t_done; }
printf '%s\n' 'pw-Al1ce-s3cret' > "$T/pw"
printf '%s\n' 'wrong-password' > "$T/badpw"

if [ -n "$DV_IMAP_PORT" ] && [ -n "$DV_IMAPS_PORT" ] &&
    grep -qx 'protocols = pop3 imap' "$DV_DIR/dovecot.conf"; then
	t_pass imap_ports_exported
else
	t_fail imap_ports_exported "imap=$DV_IMAP_PORT imaps=$DV_IMAPS_PORT"
fi

# The corpus: 25 tricky kinds (0..24) and 15 ordinary messages, in a
# scratch Maildir (not the server's).
G=$T/gen
mkdir -p "$G"
python3 "$T_ROOT/tests/gen/genmail.py" --count 40 --seed 17 "$G" >/dev/null ||
    { t_fail genmail "generator failed"; t_done; }
mapfile -t FILES < <(find "$G/new" -type f | LC_ALL=C sort)
[ "${#FILES[@]}" = 40 ] || { t_fail genmail "${#FILES[@]} files"; t_done; }

ic() {	# ic CMD PORT [--starttls] ARGS...: imapcheck.py as alice
	local cmd=$1 port=$2
	shift 2
	python3 "$IC" "$cmd" --host "$DV_HOST" --port "$port" --ca "$DV_CA" \
	    --user alice --password-file "$T/pw" "$@"
}

# dvhash MODE FILE: SHA-256 of FILE as Dovecot gives it back. plain: every
# CRLF turned into LF (the canonical form). disk: first every CR not before
# LF turned into LF (Dovecot's APPEND does that: a bare CR is no line end
# IMAP allows), then CRLF into LF: the Maildir file Dovecot writes. fetch:
# disk, and every NUL turned into 0x80 (FETCH BODY[] without BINARY).
# Observed with Dovecot 2.3.19; only genmail's nul, bare_cr and cr_at_end
# kinds differ between the modes (checked below).
dvhash() {
	python3 - "$1" "$2" <<'EOF'
import hashlib, re, sys
mode, path = sys.argv[1], sys.argv[2]
b = open(path, "rb").read()
if mode != "plain":
    b = re.sub(rb"\r(?!\n)", b"\n", b)
b = b.replace(b"\r\n", b"\n")
if mode == "fetch":
    b = b.replace(b"\0", b"\x80")
print(hashlib.sha256(b).hexdigest())
EOF
}

# 1. Append each file with its own INTERNALDATE (one day and one second
# apart, from 2004); every third with \Seen. Expected lines come from the
# files themselves: "SHA256 DATE FLAGS".
: > "$T/expected"
: > "$T/altered"
fails=0
i=0
for f in "${FILES[@]}"; do
	date=$((1072915200 + i * 86401))
	flags=""
	[ $((i % 3)) = 0 ] && flags='\Seen'
	if ! ic append "$DV_IMAPS_PORT" --folder Archive --create \
	    --date "$date" ${flags:+--flags "$flags"} "$f" \
	    >> "$T/appenduid" 2>> "$T/append.err"; then
		fails=$((fails + 1))
	fi
	printf '%s %s %s\n' "$(dvhash fetch "$f")" "$date" "${flags:--}" \
	    >> "$T/expected"
	[ "$(dvhash fetch "$f")" = "$(dvhash plain "$f")" ] ||
	    echo "${f##*/}" >> "$T/altered"
	i=$((i + 1))
done
[ "$fails" = 0 ] && t_pass append_40_messages ||
    t_fail append_40_messages "$fails failed: $(tail -3 "$T/append.err")"
# Exactly the messages with NUL or bare CR come back altered.
want_alt=$(python3 "$T_ROOT/tests/gen/genmail.py" --count 40 --seed 17 \
    --list "$T/gen.list" | awk '$2 == "nul" || $2 == "bare_cr" ||
    $2 == "cr_at_end" { print $2 }' | sort | tr '\n' ' ')
[ "$(wc -l < "$T/altered")" = 3 ] && [ "$want_alt" = "bare_cr cr_at_end nul " ] &&
    t_pass only_nul_and_bare_cr_altered ||
    t_fail only_nul_and_bare_cr_altered "altered: $(tr '\n' ' ' < "$T/altered") kinds: $want_alt"
n=$(awk 'NF == 2' "$T/appenduid" | wc -l)
[ "$n" = 40 ] && t_pass appenduid_for_each ||
    t_fail appenduid_for_each "$n APPENDUID answers"

# list prints "UID SHA256 DATE FLAGS"; compare without the UIDs.
if ic list "$DV_IMAPS_PORT" --folder Archive > "$T/list.tls" 2> "$T/list.err"; then
	t_pass list_implicit_tls
else
	t_fail list_implicit_tls "$(tail -3 "$T/list.err")"
fi
cut -d' ' -f2- "$T/list.tls" | LC_ALL=C sort > "$T/got"
LC_ALL=C sort "$T/expected" > "$T/want"
if [ "$(wc -l < "$T/got")" = 40 ] && cmp -s "$T/got" "$T/want"; then
	t_pass hashes_dates_flags_match_files
else
	t_fail hashes_dates_flags_match_files \
	    "$(diff "$T/want" "$T/got" | head -6 | tr '\n' '|')"
fi
n=$(cut -d' ' -f2 "$T/list.tls" | sort -u | wc -l)
[ "$n" = 40 ] && t_pass each_message_once ||
    t_fail each_message_once "$n distinct hashes"
# The UIDs listed are those APPENDUID gave.
if [ "$(cut -d' ' -f1 "$T/list.tls" | sort -n)" = \
    "$(cut -d' ' -f2 "$T/appenduid" | sort -n)" ]; then
	t_pass uids_match_appenduid
else
	t_fail uids_match_appenduid "listed and APPENDUID UIDs differ"
fi
# The server's own files of the folder (Maildir++ .Archive) are what the
# files become on disk.
: > "$T/server"
: > "$T/diskwant"
while IFS= read -r f; do
	dvhash plain "$f" >> "$T/server"
done < <(find "$(dv_maildir alice)/.Archive/new" \
    "$(dv_maildir alice)/.Archive/cur" -type f)
for f in "${FILES[@]}"; do dvhash disk "$f" >> "$T/diskwant"; done
if [ "$(wc -l < "$T/server")" = 40 ] &&
    [ "$(LC_ALL=C sort "$T/server")" = "$(LC_ALL=C sort "$T/diskwant")" ]; then
	t_pass server_files_match
else
	t_fail server_files_match "$(wc -l < "$T/server") server files differ"
fi

# 2. STARTTLS lists the same.
if ic list "$DV_IMAP_PORT" --starttls --folder Archive > "$T/list.stls" 2>&1 &&
    cmp -s "$T/list.tls" "$T/list.stls"; then
	t_pass starttls_lists_same
else
	t_fail starttls_lists_same "$(diff "$T/list.tls" "$T/list.stls" | head -3 | tr '\n' '|')"
fi

# 3. Negative cases.
# A message changed on the server (one body byte, same size) is seen.
victim=$(find "$(dv_maildir alice)/.Archive/cur" "$(dv_maildir alice)/.Archive/new" \
    -type f -name '*' | LC_ALL=C sort | head -1)
python3 - "$victim" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
i = len(b) - 2
b[i] = ord("X") if b[i] != ord("X") else ord("Y")
open(p, "wb").write(bytes(b))
EOF
ic list "$DV_IMAPS_PORT" --folder Archive > "$T/list.tampered" 2>&1
n=$(cut -d' ' -f2- "$T/list.tampered" | LC_ALL=C sort | comm -13 "$T/want" - | wc -l)
[ "$n" = 1 ] && t_pass tampered_message_detected ||
    t_fail tampered_message_detected "$n lines differ from the files"

# Another CA: refused with exit 2, on both ports, nothing listed.
(cd "$T" && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -nodes -sha256 -days 30 -subj "/CN=other CA" -keyout other.key \
    -out other.crt) >/dev/null 2>&1 || t_fail other_ca "openssl failed"
for p in "$DV_IMAPS_PORT" "$DV_IMAP_PORT"; do
	st=""
	[ "$p" = "$DV_IMAP_PORT" ] && st=--starttls
	out=$(python3 "$IC" list --host "$DV_HOST" --port "$p" $st \
	    --ca "$T/other.crt" --user alice --password-file "$T/pw" \
	    --folder Archive 2>&1)
	rc=$?
	if [ "$rc" = 2 ] && ! printf '%s' "$out" | grep -q '^[0-9]'; then
		t_pass "wrong_ca_refused_port${st:+_starttls}"
	else
		t_fail "wrong_ca_refused_port${st:+_starttls}" "rc=$rc $(printf '%s' "$out" | head -2)"
	fi
done
# A host the certificate does not name (127.0.0.2).
out=$(python3 "$IC" list --host "$DV_HOST_WRONG" --port "$DV_IMAPS_PORT" \
    --ca "$DV_CA" --user alice --password-file "$T/pw" --folder Archive 2>&1)
rc=$?
[ "$rc" = 2 ] && t_pass wrong_host_refused ||
    t_fail wrong_host_refused "rc=$rc $(printf '%s' "$out" | head -2)"
# Wrong password, missing folder: exit 1.
python3 "$IC" list --host "$DV_HOST" --port "$DV_IMAPS_PORT" --ca "$DV_CA" \
    --user alice --password-file "$T/badpw" --folder Archive >/dev/null 2>&1
rc=$?
[ "$rc" = 1 ] && t_pass wrong_password_fails || t_fail wrong_password_fails "rc=$rc"
ic list "$DV_IMAPS_PORT" --folder NoSuchFolder >/dev/null 2>&1
rc=$?
[ "$rc" = 1 ] && t_pass missing_folder_fails || t_fail missing_folder_fails "rc=$rc"
# Plain port on a non-local address: no login before STARTTLS.
caps=$(python3 - "$DV_HOST_STRICT" "$DV_IMAP_PORT" <<'EOF'
import imaplib, sys
m = imaplib.IMAP4(sys.argv[1], int(sys.argv[2]), timeout=30)
print(" ".join(m.capabilities))
m.logout()
EOF
)
if [[ " $caps " == *" LOGINDISABLED "* ]] && [[ " $caps " == *" STARTTLS "* ]]; then
	t_pass plain_port_needs_starttls
else
	t_fail plain_port_needs_starttls "capabilities: $caps"
fi

# 4. Without --imap: POP3 only.
dv_stop
dv_start "$T/dv2" || { t_fail dovecot_start_pop3 "could not start"; t_done; }
if grep -qx 'protocols = pop3' "$DV_DIR/dovecot.conf" &&
    ! grep -q imap "$DV_DIR/dovecot.conf" && [ -z "$DV_IMAP_PORT" ] &&
    [ -z "$DV_IMAPS_PORT" ] && [ "$DV_IMAP" = no ]; then
	t_pass pop3_only_without_imap
else
	t_fail pop3_only_without_imap "imap in the configuration or ports set"
fi
t_done
