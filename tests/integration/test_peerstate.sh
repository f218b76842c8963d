#!/usr/bin/env bash
# test_peerstate.sh -- the UID state of the real mpop, getmail6 and
# fetchmail (Debian packages, tests/lib/peers.sh) against a private
# Dovecot, read by core/uidstate.c (issue 16, "Other fetchers' state").
#
# For each tool and archive (mpop into mbox and Maildir, getmail6 into
# Mboxrd and Maildir, fetchmail through procmail into mbox), with a user
# of its own holding PEER_N1 messages:
#
#   1. the tool fetches the mailbox in keep-on-server mode; Dovecot's
#      log must show it retrieved every message (RETR, or TOP for
#      fetchmail);
#   2. the state file it left, parsed by the unit test binary's driver
#      (build/tests/test_uidstate --dump TOOL FILE HOST USER, which calls
#      uidstate_read_file()), holds exactly the server's UIDLs as
#      Python's poplib lists them, nothing skipped; getmail's times lie
#      within the run;
#   3. PEER_N2 more messages arrive. End to end, once "popvault import"
#      exists (SKIP with the reason until then): the tool's UIDs imported
#      (--uidls-from TOOL:FILE), "popvault fetch" retrieves only the N2
#      new messages (Dovecot's RETR count, and the vault holds exactly
#      their expected hashes, tests/lib/expect.py); and the tool's
#      archive imported into another vault holds as many messages as
#      Python's mailbox reads from it, among them every one the tool
#      kept byte for byte as popvault would store it;
#   4. the tool runs again: it retrieves only the N2 new ones, and its
#      state now holds every UIDL of the server.
#
# Then one state file shared by two accounts (mpop's uidls_file,
# fetchmail's idfile): each account's UIDs come out alone, an account
# not in the file gets none and the accounts seen are listed; a
# getmail folder finds the account's oldmail file and names the others;
# a state file given as the wrong tool's is refused with a message that
# says whose it looks like.
#
# Environment: PEER_N1 (30), PEER_N2 (7), UNITDIR (build/tests).
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/peers.sh"

N1=${PEER_N1:-30}
N2=${PEER_N2:-7}
DUMP=${UNITDIR:-$T_ROOT/build/tests}/test_uidstate
EXPECT=$T_ROOT/tests/lib/expect.py
GEN=$T_ROOT/tests/gen/genmail.py
PW=peer-pw
T=$(t_tmpdir)

[ -x "$DUMP" ] || { t_fail driver "$DUMP not built (make unit)"; t_done; }
for c in mpop getmail fetchmail procmail; do
	command -v "$c" >/dev/null 2>&1 ||
	    t_fail "tool_$c" "$c is not installed: make deps installs it"
done
dv_start "$T/dv" || { t_fail dovecot_start "could not start Dovecot"; t_done; }

# server_uidls USER: the server's UIDLs now, sorted, as poplib lists
# them over TLS (the password from the environment, not argv).
server_uidls() {
	PEER_PW=$PW python3 - "$DV_POP3S_PORT" "$DV_CA" "$1" <<'EOF' | LC_ALL=C sort
import os, poplib, ssl, sys
port, ca, user = int(sys.argv[1]), sys.argv[2], sys.argv[3]
p = poplib.POP3_SSL("127.0.0.1", port,
                    context=ssl.create_default_context(cafile=ca))
p.user(user)
p.pass_(os.environ["PEER_PW"])
for line in p.uidl()[1]:
    print(line.decode("ascii").split(" ", 1)[1])
p.quit()
EOF
}

# gen USER COUNT START SEED LIST: COUNT messages from START into the
# user's Maildir; the expected stored hash of each into LIST.
gen() {
	local md
	md=$(dv_maildir "$1") || return 1
	python3 "$GEN" --count "$2" --start "$3" --seed "$4" --list "$md" |
	    awk -v d="$md/new" '{ print d "/" $3 }' >"$T/gen.files" &&
	    dv_fix_perms "$1" &&
	    xargs -d '\n' python3 "$EXPECT" sha256 <"$T/gen.files" |
	    LC_ALL=C sort >"$5"
}

# retr_count USER MARK: the messages Dovecot sent USER since MARK, for
# RETR and for TOP (fetchmail fetches with "TOP n 99999999"), from
# Dovecot's log once every session ended (dv_log_pop3 waits for that).
retr_count() {
	local r top
	read -r _ r _ < <(dv_log_pop3 "$1" "$2") || return 1
	top=$(tail -c +"$(($2 + 1))" "$DV_DIR/log/dovecot.log" |
	    grep -F "pop3($1)<" | grep -o ' top=[0-9]*' |
	    awk -F= '{ n += $2 } END { print n + 0 }')
	printf '%s\n' "$((r + top))"
}

# run_peer TOOL DIR USER KIND
run_peer() {
	case "$1" in
	mpop) peer_mpop "$2" "$3" "$PW" "$4" ;;
	getmail) peer_getmail "$2" "$3" "$PW" "$4" ;;
	fetchmail) peer_fetchmail "$2" "$3" "$PW" ;;
	esac
}

# state_ok NAME TOOL STATE USER WANT OTHER [T0 T1]: the dump of STATE
# for USER is exactly the UIDLs of WANT, nothing skipped, OTHER UIDs of
# other accounts; with T0 and T1, every time recorded lies between them.
state_ok() {
	local name=$1 tool=$2 state=$3 user=$4 want=$5 other=$6 t0=${7:-}
	local t1=${8:-}
	local n why=""
	if ! "$DUMP" --dump "$tool" "$state" 127.0.0.1 "$user" \
	    >"$T/dump" 2>"$T/dump.err"; then
		t_fail "$name" "the parser refused it: $(cat "$T/dump.err")"
		return
	fi
	n=$(wc -l <"$want")
	grep -v '^#' "$T/dump" | cut -f1 | LC_ALL=C sort >"$T/dump.uids"
	cmp -s "$T/dump.uids" "$want" ||
	    why="UIDs differ from the server's: $(diff "$want" "$T/dump.uids" | grep -c '^[<>]') lines"
	grep -qx "# taken $n other $other baduid 0 malformed 0" "$T/dump" ||
	    why="$why; $(grep '^# taken' "$T/dump")"
	if [ -n "$t0" ] && ! grep -v '^#' "$T/dump" | awk -F '\t' \
	    -v a="$t0" -v b="$t1" '$2 < a || $2 > b { bad = 1 }
	    END { exit bad }'; then
		why="$why; a time outside the run ($t0..$t1): $(grep -v '^#' "$T/dump" | head -n 2 | tr '\n\t' '  ')"
	fi
	if [ -z "$why" ]; then t_pass "$name ($n UIDs)"; else t_fail "$name" "$why"; fi
}

# archive_hashes PATH: the SHA-256 of every message Python's mailbox
# reads from an mbox file or a Maildir, sorted.
archive_hashes() {
	python3 - "$1" <<'EOF' | LC_ALL=C sort
import hashlib, mailbox, os, sys
path = sys.argv[1]
if os.path.isdir(path):
    box = mailbox.Maildir(path, factory=None, create=False)
else:
    box = mailbox.mbox(path, factory=None, create=False)
for key in box.keys():
    print(hashlib.sha256(box.get_bytes(key)).hexdigest())
EOF
}

# account_hashes VAULT ACCOUNT-LIKE: the account's stored hashes, sorted.
account_hashes() {
	sqlite3 "$1/index.sqlite" "select lower(hex(m.sha256)) from sightings s
	    join messages m on m.id = s.msg join accounts a on a.id = s.account_id
	    where a.name like '$2'" | LC_ALL=C sort
}

HAVE_IMPORT=0
"$POPVAULT" import --help >/dev/null 2>&1 && HAVE_IMPORT=1
NO_IMPORT="popvault import does not exist yet (issue 16: the lead wires \
import and --uidls-from, then this runs)"

# e2e NAME TOOL USER STATE ARCHIVE HASHES1 HASHES2: step 3 above.
e2e() {
	local name=$1 tool=$2 user=$3 state=$4 archive=$5 h1=$6 h2=$7
	local v=$T/v-$1 va=$T/va-$1 mark got acct
	if [ "$HAVE_IMPORT" = 0 ]; then
		t_skip "${name}_e2e_fetch_only_new" "$NO_IMPORT"
		t_skip "${name}_e2e_import_archive" "$NO_IMPORT"
		return
	fi
	acct="$user@127.0.0.1:$DV_POP3S_PORT"
	if ! "$POPVAULT" import --vault "$v" --account "$acct" \
	    --uidls-from "$tool:$state" >"$T/imp.out" 2>&1; then
		t_fail "${name}_e2e_fetch_only_new" "import --uidls-from: $(tail -n 3 "$T/imp.out")"
	else
		mark=$(dv_log_mark)
		POPVAULT_PASSWORD=$PW "$POPVAULT" fetch --vault "$v" \
		    --tls-ca "$DV_CA" "pop3s://$user@127.0.0.1:$DV_POP3S_PORT" \
		    >"$T/fetch.out" 2>&1
		got=$(retr_count "$user" "$mark")
		account_hashes "$v" "$user@%" >"$T/v.hashes"
		if [ "$got" = "$N2" ] && cmp -s "$T/v.hashes" "$h2"; then
			t_pass "${name}_e2e_fetch_only_new ($got retrieved)"
		else
			t_fail "${name}_e2e_fetch_only_new" "RETR $got (want $N2); vault hashes $(wc -l <"$T/v.hashes") vs $(wc -l <"$h2") new: $(tail -n 3 "$T/fetch.out")"
		fi
	fi
	# The tool's archive: as many messages as Python's mailbox reads,
	# and every one the tool kept exactly has the server's hash.
	archive_hashes "$archive" >"$T/arch.hashes"
	LC_ALL=C comm -12 "$T/arch.hashes" "$h1" >"$T/kept.hashes"
	if ! "$POPVAULT" import --vault "$va" --account "peer-$name" \
	    "$archive" >"$T/imp2.out" 2>&1; then
		t_fail "${name}_e2e_import_archive" "$(tail -n 3 "$T/imp2.out")"
		return
	fi
	account_hashes "$va" "peer-$name" >"$T/va.hashes"
	if [ "$(wc -l <"$T/va.hashes")" = "$(wc -l <"$T/arch.hashes")" ] &&
	    [ -z "$(LC_ALL=C comm -23 "$T/kept.hashes" "$T/va.hashes")" ]; then
		t_pass "${name}_e2e_import_archive ($(wc -l <"$T/kept.hashes") of $N1 kept exactly)"
	else
		t_fail "${name}_e2e_import_archive" "$(wc -l <"$T/va.hashes") imported, $(wc -l <"$T/arch.hashes") in the archive; kept exactly but not imported: $(LC_ALL=C comm -23 "$T/kept.hashes" "$T/va.hashes" | wc -l)"
	fi
}

# ---- 1-4: each tool and archive, a user of its own --------------------
i=0
for c in mpop:mbox mpop:maildir getmail:mboxrd getmail:maildir \
    fetchmail:mbox; do
	tool=${c%%:*}
	kind=${c#*:}
	name=$tool-$kind
	i=$((i + 1))
	user=peer$i
	d=$T/$name
	dv_adduser "$user" "$PW" &&
	    gen "$user" "$N1" 0 "$((40 + i))" "$T/$name.h1" ||
	    { t_fail "${name}_setup" "adduser/genmail"; continue; }
	mark=$(dv_log_mark)
	t0=$(date +%s)
	if ! run_peer "$tool" "$d" "$user" "$kind" 2>"$T/peer.err"; then
		t_fail "${name}_run" "$(cat "$T/peer.err")"
		continue
	fi
	t1=$(date +%s)
	got=$(retr_count "$user" "$mark")
	if [ "$got" = "$N1" ]; then
		t_pass "${name}_retrieved_all ($got)"
	else
		t_fail "${name}_retrieved_all" "Dovecot sent $got of $N1"
	fi
	server_uidls "$user" >"$T/$name.want1" ||
	    { t_fail "${name}_uidls" "poplib failed"; continue; }
	cp "$PEER_STATE" "$T/$name.state1"
	archive=$PEER_ARCHIVE
	if [ "$tool" = getmail ]; then
		state_ok "${name}_state" "$tool" "$PEER_STATE" "$user" \
		    "$T/$name.want1" 0 "$t0" "$t1"
	else
		state_ok "${name}_state" "$tool" "$PEER_STATE" "$user" \
		    "$T/$name.want1" 0
	fi

	gen "$user" "$N2" "$N1" "$((40 + i))" "$T/$name.h2" ||
	    { t_fail "${name}_setup" "genmail (more)"; continue; }
	# getmail's file has the account in its name: keep it.
	st1=$T/$name.state1
	if [ "$tool" = getmail ]; then
		mkdir -p "$T/$name.s1" &&
		    cp "$PEER_STATE" "$T/$name.s1/" &&
		    st1=$T/$name.s1/$(basename "$PEER_STATE")
	fi
	e2e "$name" "$tool" "$user" "$st1" "$archive" "$T/$name.h1" \
	    "$T/$name.h2"

	mark=$(dv_log_mark)
	if ! run_peer "$tool" "$d" "$user" "$kind" 2>"$T/peer.err"; then
		t_fail "${name}_run_again" "$(cat "$T/peer.err")"
		continue
	fi
	got=$(retr_count "$user" "$mark")
	if [ "$got" = "$N2" ]; then
		t_pass "${name}_again_only_new ($got)"
	else
		t_fail "${name}_again_only_new" "Dovecot sent $got, want $N2"
	fi
	server_uidls "$user" >"$T/$name.want2"
	state_ok "${name}_state_again" "$tool" "$PEER_STATE" "$user" \
	    "$T/$name.want2" 0
done

# ---- one state file, two accounts -------------------------------------
dv_adduser sharea "$PW" && dv_adduser shareb "$PW" &&
    gen sharea 5 0 61 "$T/sa.h" && gen shareb 4 0 62 "$T/sb.h" ||
    { t_fail shared_setup "adduser/genmail"; t_done; }
server_uidls sharea >"$T/sa.want"
server_uidls shareb >"$T/sb.want"
for tool in mpop fetchmail; do
	d=$T/shared-$tool
	if ! run_peer "$tool" "$d" sharea mbox 2>"$T/peer.err" ||
	    ! run_peer "$tool" "$d" shareb mbox 2>"$T/peer.err"; then
		t_fail "${tool}_shared_run" "$(cat "$T/peer.err")"
		continue
	fi
	state_ok "${tool}_shared_first" "$tool" "$PEER_STATE" sharea \
	    "$T/sa.want" 4
	state_ok "${tool}_shared_second" "$tool" "$PEER_STATE" shareb \
	    "$T/sb.want" 5
	"$DUMP" --dump "$tool" "$PEER_STATE" 127.0.0.1 nobody >"$T/dump" 2>&1
	if grep -qx "# taken 0 other 9 baduid 0 malformed 0" "$T/dump" &&
	    grep -qx "# pair 127.0.0.1 sharea 5" "$T/dump" &&
	    grep -qx "# pair 127.0.0.1 shareb 4" "$T/dump"; then
		t_pass "${tool}_shared_other_account_gets_none"
	else
		t_fail "${tool}_shared_other_account_gets_none" "$(tr '\n' ' ' <"$T/dump")"
	fi
done

# ---- folders and the wrong tool's file ---------------------------------
gmdir=$T/getmail-maildir/getmail
if "$DUMP" --dump getmail "$gmdir" 127.0.0.1 peer4 >"$T/dump" 2>&1 &&
    grep -qx "# taken $((N1 + N2)) other 0 baduid 0 malformed 0" "$T/dump"; then
	t_pass getmail_folder_finds_the_account
else
	t_fail getmail_folder_finds_the_account "$(tail -n 2 "$T/dump")"
fi
if ! "$DUMP" --dump getmail "$gmdir" 127.0.0.1 peer3 >"$T/dump" 2>&1 &&
    grep -q "no oldmail-127.0.0.1-PORT-peer3 in this folder (oldmail files here: oldmail-127.0.0.1-$DV_POP3S_PORT-peer4)" "$T/dump"; then
	t_pass getmail_folder_names_what_it_holds
else
	t_fail getmail_folder_names_what_it_holds "$(cat "$T/dump")"
fi
wrong() {	# NAME TOOL FILE WORDS
	if ! "$DUMP" --dump "$2" "$3" 127.0.0.1 peer1 >"$T/dump" 2>&1 &&
	    grep -q "$4" "$T/dump"; then
		t_pass "$1"
	else
		t_fail "$1" "$(cat "$T/dump")"
	fi
}
wrong mpop_refuses_fetchids mpop "$T/fetchmail-mbox/fetchids" \
    "fetchids:1: a UID before any account line .* (it looks like a fetchmail"
wrong fetchmail_refuses_mpop_uidls fetchmail "$T/mpop-mbox/uidls" \
    "no line in fetchmail's form .*(it looks like an mpop UIDLs file)"
wrong getmail_refuses_mpop_uidls getmail "$T/mpop-mbox/uidls" \
    "uidls: no line in getmail's form"
wrong mpop_refuses_oldmail mpop "$gmdir/oldmail-127.0.0.1-$DV_POP3S_PORT-peer4" \
    "a NUL byte: not mpop's file (it looks like a getmail oldmail file)"
# ---- 5. the imported state proves nothing: deletes wait for a download ---
# mpop got N1 messages; N2 more arrive. With mpop's UIDLs imported, a
# prune --delete=verified deletes nothing (no stored copy proves them);
# with mpop's mbox imported too (another account of the same vault),
# fetch --delete=verified downloads every message once, stores only what
# the vault does not hold already (nothing twice), and only then empties
# the server; every server message's bytes are in the vault.
if [ "$HAVE_IMPORT" = 1 ] && dv_adduser proof "$PW" &&
    gen proof "$N1" 0 71 "$T/proof.h1" &&
    run_peer mpop "$T/proof" proof mbox 2>"$T/peer.err" &&
    gen proof "$N2" "$N1" 71 "$T/proof.h2"; then
	v=$T/v-proof
	acct="proof@127.0.0.1:$DV_POP3S_PORT"
	url="pop3s://$acct"
	"$POPVAULT" import --vault "$v" --account "$acct" \
	    --uidls-from "mpop:$PEER_STATE" >"$T/imp.out" 2>&1
	POPVAULT_PASSWORD=$PW "$POPVAULT" prune --vault "$v" \
	    --tls-ca "$DV_CA" --delete=verified "$url" >"$T/prune.out" 2>&1
	left=$(dv_server_files proof | grep -c .)
	if [ "$left" = "$((N1 + N2))" ]; then
		t_pass imported_uidls_never_deleted_unproven
	else
		t_fail imported_uidls_never_deleted_unproven "$left of $((N1 + N2)) left on the server after prune: $(tail -n 3 "$T/prune.out")"
	fi
	"$POPVAULT" import --vault "$v" --account old-mpop "$PEER_ARCHIVE" \
	    >"$T/imp2.out" 2>&1
	archive_hashes "$PEER_ARCHIVE" >"$T/proof.arch"
	mark=$(dv_log_mark)
	POPVAULT_PASSWORD=$PW "$POPVAULT" fetch --vault "$v" \
	    --tls-ca "$DV_CA" --delete=verified "$url" >"$T/fetch.out" 2>&1
	rc=$?
	got=$(retr_count proof "$mark")
	left=$(dv_server_files proof | grep -c .)
	LC_ALL=C sort -u "$T/proof.h1" "$T/proof.h2" >"$T/proof.all"
	sqlite3 "$v/index.sqlite" "select lower(hex(sha256)) from messages" |
	    LC_ALL=C sort >"$T/proof.vault"
	missing=$(LC_ALL=C comm -23 "$T/proof.all" "$T/proof.vault" | grep -c .)
	twice=$(LC_ALL=C uniq -d "$T/proof.vault" | grep -c .)
	if [ "$rc" = 0 ] && [ "$got" = "$((N1 + N2))" ] && [ "$left" = 0 ] &&
	    [ "$missing" = 0 ] && [ "$twice" = 0 ]; then
		t_pass imported_uidls_proven_then_deleted
	else
		t_fail imported_uidls_proven_then_deleted "exit $rc, RETR $got (want $((N1 + N2))), $left left, $missing server messages not in the vault, $twice stored twice: $(tail -n 3 "$T/fetch.out")"
	fi
	# The server no longer lists them: the record is dropped, so that a
	# UIDL the server gives a new message later is fetched.
	before=$(sqlite3 "$v/index.sqlite" "select count(*) from foreign_uidls")
	POPVAULT_PASSWORD=$PW "$POPVAULT" fetch --vault "$v" \
	    --tls-ca "$DV_CA" "$url" >"$T/fetch2.out" 2>&1
	after=$(sqlite3 "$v/index.sqlite" "select count(*) from foreign_uidls")
	if [ "$before" = "$N1" ] && [ "$after" = 0 ]; then
		t_pass imported_uidls_dropped_when_unlisted
	else
		t_fail imported_uidls_dropped_when_unlisted "foreign UIDLs $before (want $N1) -> $after (want 0): $(tail -n 2 "$T/fetch2.out")"
	fi
elif [ "$HAVE_IMPORT" = 0 ]; then
	t_skip imported_uidls_never_deleted_unproven "$NO_IMPORT"
else
	t_fail proof_setup "adduser/genmail/mpop: $(cat "$T/peer.err" 2>/dev/null)"
fi
t_done
