#!/usr/bin/env bash
# test_lossless.sh -- nothing is deleted from a server unless its exact
# bytes are archived and verified (issue 13), against a private Dovecot:
#
#  1. realworld: per format (maildir, mbox, mbox.gz, tar.gz), a mailbox of
#     messages that reuse Message-IDs as real mail does (tests/gen/
#     genvariants.py: an attachment header, trace headers, a subject tag,
#     header-only messages, collisions, byte-identical twins). fetch
#     --delete=verified empties the server, and every message the server
#     held is in the archive byte for byte (check_archive.py, readers
#     nobody here wrote), each distinct message once; variants and
#     collisions are reported and linked; status and search show them.
#  2. repair: a byte flipped in an archived message: verify exits 79, the
#     next fetch stores a fresh copy (the damaged file stays), verify
#     exits 0, --delete=verified empties the server.
#  3. upgrade: an index as popvault before lossless dedup left it (copies
#     with other headers taken for the first one, never stored): the next
#     fetch --delete=verified fetches them again and stores them before
#     it empties the server.
#  4. identity: the config's user changes under an account: refused (exit
#     64), nothing fetched or deleted; --account-changed=moved proves every
#     UIDL again before deleting; --account-changed=new starts afresh and
#     keeps the old account.
#  5. verify checks every account even after one fails, and reports each.
#
# Expected values come from the server's files (tests/lib/expect.py) and the
# generator's own intent, never from popvault's rules.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

T=$(t_tmpdir)
PW='lossless-Pw-4'
GEN=$T_ROOT/tests/gen/genvariants.py
EXPECT=$T_ROOT/tests/lib/expect.py
CHECK=$T_ROOT/tests/lib/check_archive.py
dv_start "$T/dv" || { t_fail dovecot_start "could not start Dovecot"; t_done; }

# mailbox USER [SEED]: a new Dovecot user with genvariants mail; the
# expected stored hashes of its messages in $T/USER.all (one per message)
# and $T/USER.distinct (each distinct message once); the intent in
# $T/USER.intent.
mailbox() {
	local u=$1 seed=${2:-1} md
	dv_adduser "$u" "$PW" || return 1
	md=$(dv_maildir "$u")
	python3 "$GEN" --seed "$seed" "$md" >"$T/$u.gen" || return 1
	tail -n 1 "$T/$u.gen" >"$T/$u.intent"
	dv_fix_perms "$u"
	(cd "$md/new" && python3 "$EXPECT" sha256 ./*) | LC_ALL=C sort \
	    >"$T/$u.all" || return 1
	LC_ALL=C sort -u "$T/$u.all" >"$T/$u.distinct"
}
intent() { sed -n "s/.* $2=\\([0-9]*\\).*/\\1/p" "$T/$1.intent"; }
url() { printf 'pop3s://%s@localhost:%s' "$1" "$DV_POP3S_PORT"; }
# run VAULT USER [options]: popvault fetch of USER into VAULT.
run() {
	local v=$1 u=$2
	shift 2
	pv_fetch "$v" "$PW" --tls-ca "$DV_CA" "$@" "$(url "$u")"
}
nserver() { dv_server_files "$1" | wc -l; }
why() { printf 'rc=%s: %s' "$PV_RC" "$(printf '%s' "$PV_OUT" | tail -n 4 | tr '\n' '|')"; }

# --- 1. the real-world case, in every format -----------------------------

realworld() {
	local f=$1 u=rw${1//./}
	local v=$T/v-$u dir why="" n
	mailbox "$u" 1 || { t_fail "realworld_$f" "set-up failed"; return; }
	# The generator's intent agrees with the server's own files.
	[ "$(intent "$u" messages)" = "$(wc -l <"$T/$u.all")" ] &&
	    [ "$(intent "$u" distinct)" = "$(wc -l <"$T/$u.distinct")" ] ||
	    why="$why intent $(cat "$T/$u.intent") vs $(wc -l <"$T/$u.all") files, $(wc -l <"$T/$u.distinct") distinct;"
	# shellcheck disable=SC2046
	run "$v" "$u" $(pv_fmt_args "$f") --delete=verified
	[ "$PV_RC" = 0 ] || why="$why $(why);"
	n=$(nserver "$u")
	[ "$n" = 0 ] || why="$why $n messages left on the server;"
	dir=$(pv_account_dir "$v")
	python3 "$CHECK" "$f" "$dir" "$T/$u.distinct" >"$T/$u.check" 2>&1 ||
	    why="$why check_archive: $(tail -n 2 "$T/$u.check" | tr '\n' ' ');"
	[ "$(pv_field variants)" = "$(intent "$u" variants)" ] ||
	    why="$why variants reported $(pv_field variants), want $(intent "$u" variants);"
	[ "$(pv_field collisions)" = "$(intent "$u" collisions)" ] ||
	    why="$why collisions reported $(pv_field collisions), want $(intent "$u" collisions);"
	[ "$(pv_field duplicates)" = $(( $(wc -l <"$T/$u.all") - $(wc -l <"$T/$u.distinct") )) ] ||
	    why="$why duplicates $(pv_field duplicates);"
	n=$(pv_sql "$v" "select count(*) from messages m join messages o on
	    o.id = m.variant_of where o.message_id = m.message_id and
	    o.body_sha256 = m.body_sha256 and o.sha256 <> m.sha256")
	[ "$n" = "$(intent "$u" variants)" ] || why="$why $n variant links;"
	n=$(pv_sql "$v" "select count(*) from sightings where state <> 'deleted' or proven <> 1")
	[ "$n" = 0 ] || why="$why $n sightings not deleted or unproven;"
	"$POPVAULT" verify --vault "$v" >"$T/$u.verify" 2>&1 ||
	    why="$why verify exit $?;"
	if [ -z "$why" ]; then
		t_pass "realworld_${f}_server_emptied_every_message_archived"
	else
		t_fail "realworld_${f}_server_emptied_every_message_archived" "$why"
	fi
}

for f in maildir mbox mbox.gz tar.gz; do
	realworld "$f"
done

# status and search on the maildir vault: variants counted and shown.
V=$T/v-rwmaildir
"$POPVAULT" status --vault "$V" >"$T/status" 2>&1
n=$(awk 'NR == 2 { print $8, $9 }' "$T/status")
[ "$n" = "$(intent rwmaildir variants) 0" ] && t_pass status_shows_variants ||
	t_fail status_shows_variants "variants unproven '$n': $(tail -n 1 "$T/status")"
"$POPVAULT" search --vault "$V" --message-id '<attach.0.1@lib.example>' \
    >"$T/search" 2>&1
if [ "$(wc -l <"$T/search")" = 2 ] &&
    [ "$(cut -f7 "$T/search" | sort | tr '\n' ' ')" = "- variant " ] &&
    [ "$(cut -f6 "$T/search" | sort -u | wc -l)" = 2 ]; then
	t_pass search_shows_both_copies_and_the_variant
else
	t_fail search_shows_both_copies_and_the_variant "$(tr '\t\n' ' |' <"$T/search")"
fi

# dedup = none: every message is stored, byte-identical twins too.
u=dn
mailbox "$u" 8 || t_fail dedup_none "set-up failed"
V=$T/v-dn
printf '[defaults]\nhost = localhost\nport = %s\ntls_ca = %s\nvault = %s\ndedup = none\n[account %s]\nuser = %s\npassword_command = echo %s\n' \
    "$DV_POP3S_PORT" "$DV_CA" "$V" "$u" "$u" "$PW" >"$T/dn.conf"
chmod 600 "$T/dn.conf"
"$POPVAULT" fetch --config "$T/dn.conf" >"$T/dn.out" 2>&1
rc=$?
n=$(pv_sql "$V" "select count(*) from messages")
if [ "$rc" = 0 ] && [ "$n" = "$(wc -l <"$T/$u.all")" ] &&
    [ "$n" -gt "$(wc -l <"$T/$u.distinct")" ] &&
    python3 "$CHECK" maildir "$(pv_account_dir "$V")" "$T/$u.all" >"$T/dn.check" 2>&1; then
	t_pass dedup_none_stores_every_copy
else
	t_fail dedup_none_stores_every_copy "rc $rc, $n rows, want $(wc -l <"$T/$u.all"): $(tail -n 2 "$T/dn.check" | tr '\n' ' ')"
fi

# --- 2. a damaged copy is repaired from the server ------------------------

repair() {
	local f=$1 u=rp${1//./}
	local v=$T/v-$u dir why="" n target
	mailbox "$u" 2 || { t_fail "repair_$f" "set-up failed"; return; }
	# shellcheck disable=SC2046
	run "$v" "$u" $(pv_fmt_args "$f")
	[ "$PV_RC" = 0 ] || why="$why first run $(why);"
	dir=$(pv_account_dir "$v")
	# Flip one byte in one message's body: "Body subject-1" -> "Bodz".
	target=$(grep -rl --include='*' 'Body subject-1' "$dir/$f" | head -n 1)
	[ -n "$target" ] || why="$why no archived file holds the message;"
	python3 - "$target" <<'EOF' || why="$why flip failed;"
import sys
p = sys.argv[1]
d = open(p, "rb").read()
i = d.index(b"Body subject-1")
open(p, "r+b").write(d[:i + 3] + b"z" + d[i + 4:])
EOF
	cp -p "$target" "$T/$u.damaged"
	"$POPVAULT" verify --vault "$v" >"$T/$u.v1" 2>&1
	n=$?
	[ "$n" = 79 ] || why="$why verify after the flip exit $n;"
	# Nothing is deleted while a copy is damaged (prune: no download).
	POPVAULT_PASSWORD=$PW "$POPVAULT" prune --vault "$v" --tls-ca "$DV_CA" \
	    --delete=verified "$(url "$u")" >"$T/$u.prune" 2>&1
	n=$?
	[ "$n" = 79 ] || why="$why prune with a damaged copy exit $n;"
	n=$(nserver "$u")
	[ "$n" = "$(wc -l <"$T/$u.all")" ] || why="$why $n on the server after the refused prune;"
	run "$v" "$u" $(pv_fmt_args "$f")
	[ "$PV_RC" = 0 ] && [ "$(pv_field repaired)" = 1 ] &&
	    [ "$(pv_field archived)" = 1 ] ||
	    why="$why repair run $(why) repaired $(pv_field repaired) archived $(pv_field archived);"
	# Kept as it was (an mbox grows after it: the fresh copy).
	cmp -s -n "$(stat -c %s "$T/$u.damaged")" "$target" "$T/$u.damaged" ||
	    why="$why the damaged copy changed or went;"
	"$POPVAULT" verify --vault "$v" >"$T/$u.v2" 2>&1
	n=$?
	[ "$n" = 0 ] || why="$why verify after the repair exit $n: $(tail -n 2 "$T/$u.v2" | tr '\n' ' ');"
	run "$v" "$u" $(pv_fmt_args "$f") --delete=verified
	[ "$PV_RC" = 0 ] || why="$why delete run $(why);"
	n=$(nserver "$u")
	[ "$n" = 0 ] || why="$why $n left on the server;"
	if [ "$f" = maildir ]; then
		# The archive: every distinct message, plus the damaged copy.
		{ cat "$T/$u.distinct"; sha256sum <"$T/$u.damaged" | cut -d' ' -f1; } |
		    LC_ALL=C sort >"$T/$u.want"
		python3 "$CHECK" "$f" "$dir" "$T/$u.want" >"$T/$u.check" 2>&1 ||
		    why="$why check_archive: $(tail -n 2 "$T/$u.check" | tr '\n' ' ');"
	fi
	if [ -z "$why" ]; then
		t_pass "repair_${f}_verify_79_fetch_repairs_verify_0_delete_empties"
	else
		t_fail "repair_${f}_verify_79_fetch_repairs_verify_0_delete_empties" "$why"
	fi
}

repair maildir
repair mbox

# --- 3. an index made before lossless dedup ---------------------------------

u=up
V=$T/v-up
mailbox "$u" 3 || t_fail upgrade "set-up failed"
run "$V" "$u"
[ "$PV_RC" = 0 ] || t_fail upgrade_first_fetch "$(why)"
dir=$(pv_account_dir "$V")
# What popvault before schema 4 left: a copy with other headers was taken
# for the first one (its sightings point there) and never stored.
lost=$(pv_sql "$V" "select count(*) from messages where variant_of is not null")
pv_sql "$V" "select location from messages where variant_of is not null" |
    while read -r loc; do rm -f "$dir/maildir/$loc"; done
pv_sql "$V" "update sightings set msg = (select variant_of from messages
    where id = sightings.msg) where msg in (select id from messages where
    variant_of is not null);
    delete from messages where variant_of is not null;
    alter table sightings drop column proven;
    alter table messages drop column variant_of;
    alter table messages drop column replaced_by;
    alter table sightings drop column odd_size;
    alter table messages drop column head_sha256;
    drop table origins; drop table foreign_uidls;
    drop table deliveries; drop table destinations;
    alter table accounts drop column next_login_at;
    pragma user_version = 3;"
# A delete without a download (prune) may not touch an unproven UIDL:
# every message the server held is still there or archived byte for byte.
POPVAULT_PASSWORD=$PW "$POPVAULT" prune --vault "$V" --tls-ca "$DV_CA" \
    --delete=verified "$(url "$u")" >"$T/up.prune" 2>&1
rc=$?
dv_server_files "$u" | xargs -r python3 "$EXPECT" sha256 | LC_ALL=C sort >"$T/up.left"
find "$dir/maildir" -type f -exec sha256sum {} + | cut -d' ' -f1 |
    LC_ALL=C sort >"$T/up.archived"
n=$(LC_ALL=C comm -23 "$T/up.distinct" "$T/up.archived" | LC_ALL=C comm -23 - "$T/up.left" | wc -l)
if [ "$rc" = 0 ] && [ "$n" = 0 ] && [ "$(wc -l <"$T/up.left")" -lt "$(wc -l <"$T/up.all")" ]; then
	t_pass upgrade_prune_deletes_only_proven
else
	t_fail upgrade_prune_deletes_only_proven "rc $rc, $n messages neither on the server nor archived, $(wc -l <"$T/up.left") left"
fi
run "$V" "$u" --delete=verified
why=""
[ "$PV_RC" = 0 ] || why="$why $(why);"
[ "$lost" -gt 0 ] && [ "$(pv_field archived)" = "$lost" ] ||
    why="$why archived $(pv_field archived), want the $lost lost copies;"
[ "$(pv_field re-proved)" -ge "$lost" ] 2>/dev/null || why="$why re-proved $(pv_field re-proved);"
n=$(nserver "$u")
[ "$n" = 0 ] || why="$why $n left on the server;"
python3 "$CHECK" maildir "$dir" "$T/$u.distinct" >"$T/$u.check" 2>&1 ||
    why="$why check_archive: $(tail -n 2 "$T/$u.check" | tr '\n' ' ');"
[ -z "$why" ] && t_pass upgrade_unproven_fetched_again_before_delete ||
	t_fail upgrade_unproven_fetched_again_before_delete "$why"

# --- 4. an account is its server and user ----------------------------------

# Two mailboxes whose UIDLs are the same strings (pop3_uidl_format %u: the
# message's UID), so the second looks archived under the first's name.
dv_set pop3_uidl_format '%u' || t_fail identity "dv_set failed"
mailbox id1 4 && mailbox id2 5 || t_fail identity "set-up failed"
V=$T/v-id
C=$T/id.conf
conf() {
	printf '[defaults]\nhost = localhost\nport = %s\ntls_ca = %s\nvault = %s\n' \
	    "$DV_POP3S_PORT" "$DV_CA" "$V"
	printf '[account box]\nuser = %s\npassword_command = echo %s\n' "$1" "$PW"
}
conf id1 >"$C"
chmod 600 "$C"
"$POPVAULT" fetch --config "$C" >"$T/id.1" 2>&1
rc1=$?
conf id2 >"$C"
"$POPVAULT" fetch --config "$C" --delete=verified >"$T/id.2" 2>&1
rc=$?
n=$(nserver id2)
if [ "$rc1" = 0 ] && [ "$rc" = 64 ] && [ "$n" = "$(wc -l <"$T/id2.all")" ] &&
    grep -q 'id1@localhost' "$T/id.2" && grep -q 'id2@localhost' "$T/id.2" &&
    grep -q -- '--account-changed' "$T/id.2"; then
	t_pass identity_change_refused_names_both
else
	t_fail identity_change_refused_names_both "rc $rc1/$rc, $n on id2's server: $(tr '\n' '|' <"$T/id.2" | tail -c 300)"
fi
"$POPVAULT" fetch --config "$C" --delete=verified --account-changed=moved \
    >"$T/id.3" 2>&1
rc=$?
n=$(nserver id2)
a=$(pv_account_dir "$V")
# Both mailboxes' messages are in the account's one folder now.
cat "$T/id1.distinct" "$T/id2.distinct" | LC_ALL=C sort -u >"$T/id12"
if [ "$rc" = 0 ] && [ "$n" = 0 ] &&
    python3 "$CHECK" maildir "$a" "$T/id12" >"$T/id.check" 2>&1; then
	t_pass identity_moved_every_uidl_proven_before_delete
else
	t_fail identity_moved_every_uidl_proven_before_delete "rc $rc, $n left; $(tail -n 2 "$T/id.check" | tr '\n' ' ') $(tr '\n' '|' <"$T/id.3" | tail -c 300)"
fi
conf id1 >"$C"
"$POPVAULT" fetch --config "$C" --account-changed=new >"$T/id.4" 2>&1
rc=$?
na=$(pv_sql "$V" "select count(*) from accounts")
old=$(pv_sql "$V" "select count(*) from accounts where name like 'box (id2@localhost:%'")
new=$(pv_sql "$V" "select count(*) from sightings s join accounts a on a.id = s.account_id where a.name = 'box'")
if [ "$rc" = 0 ] && [ "$na" = 2 ] && [ "$old" = 1 ] &&
    [ "$new" = "$(wc -l <"$T/id1.all")" ] && [ "$(nserver id1)" = "$(wc -l <"$T/id1.all")" ]; then
	t_pass identity_new_starts_fresh_keeps_old
else
	t_fail identity_new_starts_fresh_keeps_old "rc $rc, $na accounts, $old old, $new sightings: $(tr '\n' '|' <"$T/id.4" | tail -c 300)"
fi
dv_set pop3_uidl_format '%08Xu%08Xv' || t_fail identity "dv_set back failed"

# --- 5. verify: every account, the worst outcome -----------------------------

V=$T/v-two
mailbox va 6 && mailbox vb 7 || t_fail verify_all "set-up failed"
C=$T/two.conf
{
	printf '[defaults]\nhost = localhost\nport = %s\ntls_ca = %s\nvault = %s\n' \
	    "$DV_POP3S_PORT" "$DV_CA" "$V"
	for a in va vb; do
		printf '[account %s]\nuser = %s\npassword_command = echo %s\n' "$a" "$a" "$PW"
	done
} >"$C"
chmod 600 "$C"
"$POPVAULT" fetch --config "$C" >"$T/two.out" 2>&1 || t_fail verify_all "fetch: $(tail -n 2 "$T/two.out")"
# Damage one message in the first account (by name) and one in the second.
for a in va vb; do
	f=$(find "$V/accounts/$a/maildir" -type f | LC_ALL=C sort | head -n 1)
	printf 'X' | dd of="$f" bs=1 seek=3 conv=notrunc 2>/dev/null
done
"$POPVAULT" verify --vault "$V" >"$T/verify.out" 2>&1
rc=$?
if [ "$rc" = 79 ] && [ "$(grep -c '^va: ' "$T/verify.out")" -ge 1 ] &&
    [ "$(grep -c '^vb: ' "$T/verify.out")" -ge 1 ] &&
    [ "$(pv_sql "$V" "select count(*) from messages where note like 'verify:%'")" = 2 ]; then
	t_pass verify_reports_every_account_exit_79
else
	t_fail verify_reports_every_account_exit_79 "rc $rc: $(tr '\n' '|' <"$T/verify.out" | tail -c 300)"
fi

t_done
