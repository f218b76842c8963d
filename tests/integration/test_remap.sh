#!/usr/bin/env bash
# test_remap.sh -- a server that gives every message a new UIDL (a
# migration) is not downloaded again unasked; --remap downloads each once,
# proves it by its bytes and relinks it to the stored copy (core/run.c,
# remap_check; popvault(1) --remap, exit status 65). Against a private
# Dovecot:
#
#  1. 2,000 small genmail messages are archived (and a 20-message user
#     "mix" too).
#  2. pop3_uidl_format changes from %08Xu%08Xv to %g (the Maildir base
#     name): poplib sees every UIDL changed, the LIST sizes and the
#     server's files unchanged.
#  3. fetch stops with exit 65 and "the server's UIDLs changed": Dovecot's
#     log shows no RETR, the index is unchanged; with --delete=verified
#     no DELE either and the server still holds every message.
#  4. fetch --remap: exit 0, each message RETRieved once (Dovecot's log),
#     reported as 2,000 duplicates and 0 archived, still 2,000 message
#     rows, and every new UIDL's sighting points at a message whose
#     SHA-256 is that of the server's own file for that UIDL.
#  5. the next fetch downloads nothing.
#  6. fetch --delete=verified empties the server; the archive holds every
#     message the server had, each once (expect.py compare).
#  7. "mix": the UIDLs changed and 5 new messages came: 65, then --remap
#     relinks the 20 and stores the 5. Control: an account whose 20
#     messages are all still listed gets 30 new ones: fetched as usual,
#     no "UIDLs changed".
#
# Expected values come from the server's files (tests/lib/expect.py),
# Dovecot's own log (dv_log_pop3) and poplib, never from popvault's rules.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

T=$(t_tmpdir)
N=2000
PW='remap-Pw-9'
GEN=$T_ROOT/tests/gen/genmail.py
EXPECT=$T_ROOT/tests/lib/expect.py
WARN="the server's UIDLs changed"
dv_start "$T/dv" || { t_fail dovecot_start "could not start Dovecot"; t_done; }

# pop USER uidl|stat: the server's view through Python's poplib (plain
# POP3 on 127.0.0.1, which Dovecot treats as secured): "n uidl size" per
# message, or "count octets".
cat >"$T/pop.py" <<'EOF'
import poplib, sys
port, user, pw, what = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
p = poplib.POP3("127.0.0.1", port, timeout=30)
p.user(user)
p.pass_(pw)
if what == "stat":
    print("%d %d" % p.stat())
else:
    uidl = dict(l.decode().split(" ", 1) for l in p.uidl()[1])
    for l in p.list()[1]:
        n, size = l.decode().split()
        print(n, uidl[n], size)
p.quit()
EOF
pop() { python3 "$T/pop.py" "$DV_POP3_PORT" "$1" "$PW" "$2"; }

url() { printf 'pop3s://%s@localhost:%s' "$1" "$DV_POP3S_PORT"; }
# run VAULT USER [options]: popvault fetch of USER into VAULT; the output
# in PV_OUT, the status in PV_RC.
run() {
	local v=$1 u=$2
	shift 2
	pv_fetch "$v" "$PW" --tls-ca "$DV_CA" "$@" "$(url "$u")"
}
# runj VAULT USER [options]: the same with --json: the JSON in $T/json,
# stderr in $T/json.err.
runj() {
	local v=$1 u=$2
	shift 2
	POPVAULT_PASSWORD=$PW "$POPVAULT" fetch --vault "$v" --tls-ca "$DV_CA" \
	    --json "$@" "$(url "$u")" >"$T/json" 2>"$T/json.err"
	PV_RC=$?
}
# jf FIELD...: "FIELD=value" of the JSON report's one account, space
# separated.
jf() {
	python3 - "$T/json" "$@" <<'EOF'
import json, sys
try:
    a = json.load(open(sys.argv[1]))["accounts"][0]
except Exception as e:
    print("no-json(%s)" % e)
    sys.exit(0)
print(" ".join("%s=%s" % (k, a.get(k)) for k in sys.argv[2:]))
EOF
}
why() { printf 'rc=%s: %s' "$PV_RC" "$(printf '%s' "$PV_OUT" | tail -n 3 | tr '\n' '|')"; }
rows() { pv_sql "$1" "select count(*) from messages"; }
# sightings_digest VAULT: the sightings table, hashed, but for their state
# (a run that lists marks the archived UIDLs the server no longer lists
# "gone" before it decides anything: that is the listing's news, not a
# download).
sightings_digest() {
	pv_sql "$1" "select account_id, uidl, msg, size, first_seen, proven,
	    odd_size from sightings order by account_id, uidl" | sha256sum
}
# server_hashes USER: "basename sha256" of the user's files on the server,
# the Maildir base name (before ":2,") first, sorted.
server_hashes() {
	local f
	dv_server_files "$1" >"$T/files.$1" || return 1
	[ -s "$T/files.$1" ] || return 0
	xargs -d '\n' python3 "$EXPECT" sha256 <"$T/files.$1" >"$T/sha.$1" || return 1
	while IFS= read -r f; do
		f=${f##*/}
		printf '%s\n' "${f%%:*}"
	done <"$T/files.$1" | paste -d ' ' - "$T/sha.$1" | LC_ALL=C sort
}
# logged USER MARK: "sessions retr dele" from Dovecot's log since MARK.
logged() { dv_log_pop3 "$1" "$2" || echo "log-error"; }
field() { printf '%s\n' "$1" | cut -d' ' -f"$2"; }
# deliver USER SEED START COUNT: genmail messages into USER's Maildir.
deliver() {
	python3 "$GEN" --count "$4" --start "$3" --seed "$2" "$T/gen-$1-$3" \
	    >/dev/null && pv_fill "$1" "$T/gen-$1-$3/new"
}
# uidl_map_ok VAULT USER: every UIDL the server lists now (poplib) has an
# on-server, proven sighting pointing at a message whose SHA-256 is the
# one expect.py gives for the server's file of that UIDL (%g: its Maildir
# base name), and no other sighting is on the server. Prints what differs.
uidl_map_ok() {
	local v=$1 u=$2 why=""
	server_hashes "$u" >"$T/map.want.$u" || why="server hashes failed;"
	pop "$u" uidl | cut -d' ' -f2 | LC_ALL=C sort >"$T/map.uidls.$u" ||
	    why="$why poplib failed;"
	cut -d' ' -f1 "$T/map.want.$u" | cmp -s - "$T/map.uidls.$u" ||
	    why="$why poplib's UIDLs are not the files' base names;"
	pv_sql "$v" "select s.uidl || ' ' || lower(hex(m.sha256)) from sightings s
	    join messages m on m.id = s.msg where s.state = 'on_server' and
	    s.proven = 1" | LC_ALL=C sort >"$T/map.got.$u"
	if ! cmp -s "$T/map.want.$u" "$T/map.got.$u"; then
		why="$why $(LC_ALL=C comm -23 "$T/map.want.$u" "$T/map.got.$u" | wc -l) UIDLs without the right proven sighting, $(LC_ALL=C comm -13 "$T/map.want.$u" "$T/map.got.$u" | wc -l) sightings not on the server: $(diff "$T/map.want.$u" "$T/map.got.$u" | sed -n 2,3p | tr '\n' '|')"
	fi
	[ -z "$why" ] && return 0
	printf '%s\n' "$why"
	return 1
}

# --- 1. 2,000 messages archived ---------------------------------------------

# Small messages: genmail's first 2,000 that are not multipart with
# attachments (the tricky kinds 0..20 all stay), about 15 MB.
dv_adduser big "$PW" || { t_fail setup "dv_adduser big"; t_done; }
python3 "$GEN" --count 2600 --seed remap --list "$T/gen-big" >"$T/gen.list" ||
    { t_fail setup "genmail failed"; t_done; }
awk -v n="$N" '($1 < 21 || $2 != "multipart") && k < n { k++; next } { print $3 }' \
    "$T/gen.list" | while IFS= read -r f; do rm -f "$T/gen-big/new/$f"; done
n=$(find "$T/gen-big/new" -type f | wc -l)
[ "$n" = "$N" ] || { t_fail setup "$n messages generated, want $N"; t_done; }
pv_fill big "$T/gen-big/new" || { t_fail setup "pv_fill big"; t_done; }
dv_adduser mix "$PW" && deliver mix mix 0 20 ||
    { t_fail setup "user mix"; t_done; }
sleep 1.1
V=$T/v-big
VM=$T/v-mix
pop big uidl >"$T/uidl.before"

m=$(dv_log_mark)
run "$V" big
got=$(logged big "$m")
n=$(rows "$V")
if [ "$PV_RC" = 0 ] && [ "$n" = "$N" ] && [ "$(field "$got" 2)" = "$N" ] &&
    [ "$(wc -l <"$T/uidl.before")" = "$N" ]; then
	t_pass first_fetch_archives_2000
else
	t_fail first_fetch_archives_2000 "$(why); $n rows; Dovecot logged sessions/retr/dele $got; poplib listed $(wc -l <"$T/uidl.before")"
fi
run "$VM" mix
[ "$PV_RC" = 0 ] && [ "$(rows "$VM")" = 20 ] && t_pass mix_first_fetch_archives_20 ||
	t_fail mix_first_fetch_archives_20 "$(why); $(rows "$VM") rows"

# --- 2. Dovecot hands out new UIDLs for the same messages -------------------

server_hashes big >"$T/files.before" || t_fail server_hashes "expect.py failed"
dv_set pop3_uidl_format %g || { t_fail dv_set "could not restart Dovecot"; t_done; }
pop big uidl >"$T/uidl.after"
server_hashes big >"$T/files.after"
why=""
[ "$(wc -l <"$T/uidl.after")" = "$N" ] || why="$why $(wc -l <"$T/uidl.after") listed;"
n=$(LC_ALL=C comm -12 <(cut -d' ' -f2 "$T/uidl.before" | LC_ALL=C sort) \
    <(cut -d' ' -f2 "$T/uidl.after" | LC_ALL=C sort) | wc -l)
[ "$n" = 0 ] || why="$why $n UIDLs unchanged;"
[ "$(cut -d' ' -f2 "$T/uidl.after" | LC_ALL=C sort -u | wc -l)" = "$N" ] ||
    why="$why new UIDLs not unique;"
# The same message under each number, with the same LIST size.
cmp -s <(cut -d' ' -f1,3 "$T/uidl.before") <(cut -d' ' -f1,3 "$T/uidl.after") ||
    why="$why LIST sizes changed;"
cmp -s "$T/files.before" "$T/files.after" || why="$why server files changed;"
[ "$(wc -l <"$T/files.after")" = "$N" ] || why="$why $(wc -l <"$T/files.after") server files;"
# %g: each new UIDL is its file's Maildir base name (the map of step 4).
cmp -s <(cut -d' ' -f1 "$T/files.after") <(cut -d' ' -f2 "$T/uidl.after" | LC_ALL=C sort) ||
    why="$why new UIDLs are not the files' base names;"
[ -z "$why" ] && t_pass uidls_changed_messages_unchanged ||
	t_fail uidls_changed_messages_unchanged "$why"

# --- 3. fetch stops: exit 65, nothing downloaded or deleted -----------------

rows0=$(rows "$V")
dig0=$(sightings_digest "$V")
m=$(dv_log_mark)
run "$V" big
got=$(logged big "$m")
why=""
[ "$PV_RC" = 65 ] || why="$why $(why);"
printf '%s' "$PV_OUT" | grep -qF "$WARN" || why="$why no warning: $(printf '%s' "$PV_OUT" | head -n 2 | tr '\n' '|');"
[ "$(field "$got" 2)" = 0 ] || why="$why Dovecot logged sessions/retr/dele $got;"
[ "$(field "$got" 1)" -ge 1 ] 2>/dev/null || why="$why no session logged ($got);"
[ "$(rows "$V")" = "$rows0" ] || why="$why $(rows "$V") rows, were $rows0;"
[ "$(sightings_digest "$V")" = "$dig0" ] || why="$why sightings changed;"
[ -z "$why" ] && t_pass changed_uidls_exit_65_nothing_downloaded ||
	t_fail changed_uidls_exit_65_nothing_downloaded "$why"

m=$(dv_log_mark)
run "$V" big --delete=verified
got=$(logged big "$m")
st=$(pop big stat)
why=""
[ "$PV_RC" = 65 ] || why="$why $(why);"
printf '%s' "$PV_OUT" | grep -qF "$WARN" || why="$why no warning;"
[ "$(field "$got" 2) $(field "$got" 3)" = "0 0" ] ||
    why="$why Dovecot logged sessions/retr/dele $got;"
[ "${st%% *}" = "$N" ] || why="$why STAT $st;"
[ "$(dv_server_files big | wc -l)" = "$N" ] || why="$why server files $(dv_server_files big | wc -l);"
[ "$(rows "$V")" = "$rows0" ] && [ "$(sightings_digest "$V")" = "$dig0" ] ||
    why="$why index changed;"
[ -z "$why" ] && t_pass changed_uidls_delete_verified_deletes_nothing ||
	t_fail changed_uidls_delete_verified_deletes_nothing "$why"

# prune never downloads, so it cannot prove a new UIDL: nothing deleted.
m=$(dv_log_mark)
POPVAULT_PASSWORD=$PW "$POPVAULT" prune --vault "$V" --tls-ca "$DV_CA" \
    --delete=verified "$(url big)" >"$T/prune.out" 2>&1
rc=$?
got=$(logged big "$m")
st=$(pop big stat)
if [ "$(field "$got" 3)" = 0 ] && [ "${st%% *}" = "$N" ] &&
    [ "$(sightings_digest "$V")" = "$dig0" ]; then
	t_pass changed_uidls_prune_deletes_nothing
else
	t_fail changed_uidls_prune_deletes_nothing "rc $rc, Dovecot logged $got, STAT $st: $(tail -n 2 "$T/prune.out" | tr '\n' '|')"
fi

# --- 4. --remap: each downloaded once, proven, relinked ----------------------

m=$(dv_log_mark)
runj "$V" big --remap
got=$(logged big "$m")
j=$(jf exit new archived duplicates failed)
why=""
[ "$PV_RC" = 0 ] || why="$why rc $PV_RC: $(tail -n 2 "$T/json.err" | tr '\n' '|');"
[ "$j" = "exit=0 new=$N archived=0 duplicates=$N failed=0" ] || why="$why report $j;"
[ "$(field "$got" 2) $(field "$got" 3)" = "$N 0" ] ||
    why="$why Dovecot logged sessions/retr/dele $got, want $N RETR;"
[ -z "$why" ] && t_pass remap_downloads_each_once_all_duplicates ||
	t_fail remap_downloads_each_once_all_duplicates "$why"

n=$(pv_sql "$V" "select count(*) || ' ' || count(distinct sha256) from messages")
[ "$n" = "$N $N" ] && t_pass remap_stores_nothing_twice ||
	t_fail remap_stores_nothing_twice "rows/distinct hashes: $n, want $N $N"

why=$(uidl_map_ok "$V" big) && t_pass remap_every_new_uidl_proven_by_server_bytes ||
	t_fail remap_every_new_uidl_proven_by_server_bytes "$why"

why=$(pv_index_problems "$V" "$N") && t_pass remap_index_sound ||
	t_fail remap_index_sound "$why"

# --- 5. the next fetch has nothing to do -----------------------------------

m=$(dv_log_mark)
runj "$V" big
got=$(logged big "$m")
j=$(jf exit new archived duplicates)
if [ "$PV_RC" = 0 ] && [ "$j" = "exit=0 new=0 archived=0 duplicates=0" ] &&
    [ "$(field "$got" 2)" = 0 ] && [ "$(rows "$V")" = "$N" ]; then
	t_pass after_remap_next_fetch_downloads_nothing
else
	t_fail after_remap_next_fetch_downloads_nothing "rc $PV_RC, report $j, Dovecot logged $got: $(tail -n 2 "$T/json.err" | tr '\n' '|')"
fi

# --- 6. --delete=verified empties the server; the archive has it all --------

cut -d' ' -f2 "$T/files.after" >"$T/final.list"
m=$(dv_log_mark)
run "$V" big --delete=verified
got=$(logged big "$m")
st=$(pop big stat)
why=""
[ "$PV_RC" = 0 ] || why="$why $(why);"
[ "$st" = "0 0" ] || why="$why STAT $st;"
[ "$(field "$got" 2) $(field "$got" 3)" = "0 $N" ] ||
    why="$why Dovecot logged sessions/retr/dele $got, want 0 RETR, $N DELE;"
python3 "$EXPECT" compare "$T/final.list" "$(pv_account_dir "$V")/maildir" \
    >"$T/compare" 2>&1 || why="$why archive differs: $(head -n 4 "$T/compare" | tr '\n' '|');"
[ "$(rows "$V")" = "$N" ] || why="$why $(rows "$V") rows;"
[ -z "$why" ] && t_pass delete_verified_empties_server_every_message_archived ||
	t_fail delete_verified_empties_server_every_message_archived "$why"

# --- 7. mixed: relinked and new; control: new mail, UIDLs unchanged ---------

# mix: its 20 messages are renamed too (%g); 5 new ones arrive.
deliver mix mix 20 5 || t_fail setup "mix delivery"
sleep 1.1
m=$(dv_log_mark)
run "$VM" mix
got=$(logged mix "$m")
if [ "$PV_RC" = 65 ] && printf '%s' "$PV_OUT" | grep -qF "$WARN" &&
    [ "$(field "$got" 2)" = 0 ] && [ "$(rows "$VM")" = 20 ]; then
	t_pass mix_exit_65_nothing_downloaded
else
	t_fail mix_exit_65_nothing_downloaded "$(why); Dovecot logged $got; $(rows "$VM") rows"
fi
m=$(dv_log_mark)
runj "$VM" mix --remap
got=$(logged mix "$m")
j=$(jf exit new archived duplicates)
why=""
[ "$PV_RC" = 0 ] || why="$why rc $PV_RC: $(tail -n 2 "$T/json.err" | tr '\n' '|');"
[ "$j" = "exit=0 new=25 archived=5 duplicates=20" ] || why="$why report $j;"
[ "$(field "$got" 2)" = 25 ] || why="$why Dovecot logged $got, want 25 RETR;"
n=$(pv_sql "$VM" "select count(*) || ' ' || count(distinct sha256) from messages")
[ "$n" = "25 25" ] || why="$why rows/distinct $n;"
w=$(uidl_map_ok "$VM" mix) || why="$why $w"
[ -z "$why" ] && t_pass mix_remap_relinks_old_stores_new ||
	t_fail mix_remap_relinks_old_stores_new "$why"

# Control: every archived message is still listed under its UIDL, and
# more new ones than old came: not a migration (no archived message has
# left the listing), fetched as usual.
dv_adduser ctl "$PW" && deliver ctl ctl 0 20 || t_fail setup "user ctl"
sleep 1.1
VC=$T/v-ctl
run "$VC" ctl
[ "$PV_RC" = 0 ] && [ "$(rows "$VC")" = 20 ] || t_fail control_setup "$(why)"
deliver ctl ctl 20 30 || t_fail setup "ctl delivery"
sleep 1.1
server_hashes ctl | cut -d' ' -f2 >"$T/ctl.list"
m=$(dv_log_mark)
run "$VC" ctl
got=$(logged ctl "$m")
why=""
[ "$PV_RC" = 0 ] || why="$why $(why);"
printf '%s' "$PV_OUT" | grep -qF "UIDLs changed" && why="$why warned: $(printf '%s' "$PV_OUT" | grep -F "UIDLs changed" | head -n 1);"
[ "$(pv_field archived)" = 30 ] || why="$why archived $(pv_field archived);"
[ "$(field "$got" 2)" = 30 ] || why="$why Dovecot logged $got, want 30 RETR;"
[ "$(rows "$VC")" = 50 ] || why="$why $(rows "$VC") rows;"
python3 "$EXPECT" compare "$T/ctl.list" "$(pv_account_dir "$VC")/maildir" \
    >"$T/ctl.compare" 2>&1 || why="$why archive differs: $(head -n 3 "$T/ctl.compare" | tr '\n' '|');"
[ -z "$why" ] && t_pass control_new_mail_fetched_no_remap_warning ||
	t_fail control_new_mail_fetched_no_remap_warning "$why"

t_done
