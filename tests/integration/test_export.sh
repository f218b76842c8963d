#!/usr/bin/env bash
# test_export.sh -- "popvault export" against messages a private Dovecot
# served, checked with readers nobody here wrote (tests/lib/check_archive.py:
# Python's mailbox, email, gzip and tarfile, bsdtar, gzip/zstd/xz -t, mutt)
# and expected hashes taken from the server's own message files
# (tests/lib/expect.py: the stored form, CRLF -> LF), never from popvault.
#
#   setup    two accounts: ea (EXPORT_N messages, some large) and eb (60
#            others, and 10 with the very bytes of ea's); fetched into
#            one vault V, ea as Maildir, eb as mbox, so eb's 10 shared
#            messages are stored once, in ea's Maildir (dedup across the
#            vault): the export must read them from there;
#   formats  V exported to maildir, mbox, mbox.gz, tar, tar.gz, tar.zst,
#            tar.xz and eml: each DEST account holds exactly its server's
#            messages, each once; "popvault verify --vault DEST" passes;
#            the JSON report names the files' folder; a second export
#            changes no file and stores nothing;
#   select   --account, --since/--until, --from and --message-id pick
#            exactly the messages Python finds by the same rule in the
#            server's files;
#   crash    an export killed with SIGKILL in the middle (killwhen.py, on
#            a count of stored rows), and one abort()ed at a crash point
#            (POPVAULT_CRASH), then rerun: every message exactly once,
#            verify passes;
#   damaged  an origin file altered: the account's export stops (exit 79)
#            without storing those bytes; a copy marked as failed
#            verification in the origin: left out, counted ("unsound"),
#            exit 1;
#   refuse   exit 64 and nothing written: DEST an account exported from
#            another vault, or in another format, DEST a folder of other files, DEST the vault
#            itself, an unknown account, a compression the format lacks.
#
# Environment: EXPORT_N (300), EXPORT_FORMATS (all eight).
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

EXPORT_N=${EXPORT_N:-300}
EXPORT_FORMATS=${EXPORT_FORMATS:-"maildir mbox mbox.gz tar tar.gz tar.zst tar.xz eml"}
CHECK=$T_ROOT/tests/lib/check_archive.py
EXPECT=$T_ROOT/tests/lib/expect.py
KILLWHEN=$T_ROOT/tests/lib/killwhen.py
PY=$(python3 -c 'import sys; print(sys.executable)') || PY=python3
T=$(t_tmpdir)
PW=export-pw
V=$T/vault

dv_start "$T/dv" || { t_fail dovecot_start "could not start Dovecot"; t_done; }
dv_adduser ea "$PW" && dv_adduser eb "$PW" || { t_fail adduser "ea/eb"; t_done; }
"$PY" "$T_ROOT/tests/gen/genmail.py" --count "$EXPORT_N" --seed 41 \
    --big-every 100 --big-size 300000 "$(dv_maildir ea)" >/dev/null &&
    "$PY" "$T_ROOT/tests/gen/genmail.py" --count 60 --start 3000 --seed 42 \
    "$(dv_maildir eb)" >/dev/null || { t_fail generate genmail; t_done; }
# Ten of ea's messages, byte for byte, in eb's mailbox too.
for f in $(find "$(dv_maildir ea)/new" -type f | sort | head -n 10); do
	cp -p "$f" "$(dv_maildir eb)/new/shared-$(basename "$f")"
done
dv_fix_perms ea
dv_fix_perms eb

# Expected: the sorted distinct hashes of each server's files (an account
# exports each content once), and the files themselves for the filters.
for u in ea eb; do
	dv_server_files "$u" >"$T/files.$u"
	xargs -d '\n' "$PY" "$EXPECT" sha256 <"$T/files.$u" | sort -u >"$T/exp.$u"
done
[ "$(wc -l <"$T/exp.eb")" = 70 ] ||
    t_fail expected "eb: $(wc -l <"$T/exp.eb") distinct messages, want 70"

pv_fetch "$V" "$PW" --format maildir --tls-ca "$DV_CA" \
    "pop3s://ea@localhost:$DV_POP3S_PORT"
[ "$PV_RC" = 0 ] || { t_fail fetch_ea "exit $PV_RC: $PV_OUT"; t_done; }
pv_fetch "$V" "$PW" --format mbox --tls-ca "$DV_CA" \
    "pop3s://eb@localhost:$DV_POP3S_PORT"
[ "$PV_RC" = 0 ] || { t_fail fetch_eb "exit $PV_RC: $PV_OUT"; t_done; }
A=$(pv_sql "$V" "select name from accounts where name like 'ea@%'")
B=$(pv_sql "$V" "select name from accounts where name like 'eb@%'")
shared=$(pv_sql "$V" "select count(*) from sightings s join accounts a on
    a.id = s.account_id join messages m on m.id = s.msg where a.name = '$B'
    and m.account_id <> a.id")
[ "$shared" = 10 ] && t_pass origin_shared_copies ||
    t_fail origin_shared_copies "$shared of eb's sightings point at ea's copies, want 10"

check_opts() {
	case "$1" in mbox*)
		command -v mutt >/dev/null 2>&1 && echo --mutt
		echo --cl-padding ;;
	esac
}

# The hashes check_archive.py reads back from DEST's account NAME, one a
# line, sorted (a message stored twice is listed twice).
dest_hashes() {	# FORMAT DEST NAME OUT
	local d
	d=$(pv_sql "$2" "select dir from accounts where name = '$3'")
	if [ -z "$d" ]; then
		echo "no account $3 in $2" >"$4.err"
		: >"$4"
		return 1
	fi
	# shellcheck disable=SC2046
	"$PY" "$CHECK" hashes $(check_opts "$1") "$1" "$2/accounts/$d" \
	    2>"$4.err" | cut -d' ' -f1 >"$4"
}

# same_set NAME GOT WANT: the multisets are equal.
same_set() {
	if cmp -s "$2" "$3"; then
		t_pass "$1"
	else
		t_fail "$1" "$(wc -l <"$2") read back, $(wc -l <"$3") expected; $(diff "$3" "$2" | grep -c '^[<>]') differ; $(head -c 600 "$2.err" 2>/dev/null)"
	fi
}

# Every regular file under DEST/accounts with its size and hash.
snapshot() {
	(cd "$1/accounts" && find . -type f ! -name lock -print0 | sort -z |
	    xargs -0 -r sha256sum)
}

export_to() {	# DEST ARGS...: exit status in RC, output in OUT
	local d=$1
	shift
	OUT=$("$POPVAULT" export --vault "$V" "$@" "$d" 2>&1)
	RC=$?
}

json_total() {	# FILE KEY
	"$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"][sys.argv[2]])' "$1" "$2"
}

# ---- every format -------------------------------------------------------
for f in $EXPORT_FORMATS; do
	D=$T/exp-$f
	# shellcheck disable=SC2046
	"$POPVAULT" export --vault "$V" $(pv_fmt_args "$f") --batch 50 --json \
	    "$D" >"$T/json.$f" 2>"$T/err.$f"
	rc=$?
	if [ "$rc" != 0 ]; then
		t_fail "export_$f" "exit $rc: $(head -c 600 "$T/err.$f")"
		continue
	fi
	t_pass "export_$f"
	dest_hashes "$f" "$D" "$A" "$T/got.a"
	same_set "export_${f}_ea_exactly" "$T/got.a" "$T/exp.ea"
	dest_hashes "$f" "$D" "$B" "$T/got.b"
	same_set "export_${f}_eb_exactly" "$T/got.b" "$T/exp.eb"
	t_check "export_${f}_verify" "$POPVAULT" verify -q --vault "$D"
	files=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join(a["files"] for a in d["accounts"]))' "$T/json.$f" 2>&1)
	want="$D/accounts/$(pv_sql "$D" "select dir from accounts where name = '$A'")/${f%%.*}/"
	case " $files " in
	*" $want "*) t_pass "export_${f}_report_files" ;;
	*) t_fail "export_${f}_report_files" "files \"$files\", want $want among them" ;;
	esac
	# Again: nothing stored, no file changed or added.
	snapshot "$D" >"$T/snap1"
	# shellcheck disable=SC2046
	"$POPVAULT" export --vault "$V" $(pv_fmt_args "$f") --json "$D" \
	    >"$T/json2.$f" 2>"$T/err2.$f"
	rc=$?
	snapshot "$D" >"$T/snap2"
	arch=$(json_total "$T/json2.$f" archived 2>&1)
	if [ "$rc" = 0 ] && [ "$arch" = 0 ] && cmp -s "$T/snap1" "$T/snap2"; then
		t_pass "export_${f}_again_changes_nothing"
	else
		t_fail "export_${f}_again_changes_nothing" "exit $rc, archived $arch, $(diff "$T/snap1" "$T/snap2" | grep -c '^[<>]') file lines differ"
	fi
	# A finished export is kept only while checking the next format.
	[ "$f" = eml ] || rm -rf "$D"
done

# ---- selection ------------------------------------------------------------

# Python's own reading of the server files: the hashes of the messages
# whose headers match. RULE: since:S:U (Date in [S, U) days, UTC),
# from:TEXT (From contains TEXT, ASCII case ignored), mid:ID.
cat >"$T/selexpect.py" <<'EOF'
import calendar, email, email.utils, importlib.util, os, sys
spec = importlib.util.spec_from_file_location("expect", os.environ["EXPECT"])
expect = importlib.util.module_from_spec(spec)
spec.loader.exec_module(expect)
rule, files = sys.argv[1], sys.argv[2:]
kind, _, arg = rule.partition(":")


def day(x):
    return calendar.timegm(tuple(map(int, x.split("-"))) + (0, 0, 0))


for f in files:
    p = expect._resolve(f)
    with open(p, "rb") as fh:
        data = fh.read()
    m = email.message_from_bytes(data)
    ok = False
    if kind == "since":
        s, u = arg.split(":")
        try:
            t = email.utils.parsedate_to_datetime(str(m["Date"])).timestamp()
        except Exception:
            t = None
        ok = t is not None and day(s) <= t < day(u)
    elif kind == "from":
        ok = arg.lower() in str(m.get("From", "")).lower()
    elif kind == "mid":
        ok = str(m.get("Message-ID", "")).strip() == arg
    elif kind == "firstmid":
        if m.get("Message-ID"):
            print(str(m["Message-ID"]).strip())
            break
        continue
    if ok:
        print(expect.sha256_file_expected(p))
EOF
select_expected() {	# USER RULE
	xargs -d '\n' "$PY" "$T/selexpect.py" "$2" <"$T/files.$1" | sort -u
}
export EXPECT

sel_check() {	# NAME RULE ARGS...
	local name=$1 rule=$2 D=$T/sel-$1 u n=0
	shift 2
	export_to "$D" --format eml "$@"
	if [ "$RC" != 0 ]; then
		t_fail "select_$name" "exit $RC: $OUT"
		return
	fi
	for u in ea eb; do
		select_expected "$u" "$rule" >"$T/sexp.$u"
		n=$((n + $(wc -l <"$T/sexp.$u")))
		if [ ! -s "$T/sexp.$u" ] && [ -z "$(pv_sql "$D" "select dir from accounts where name = '$( [ $u = ea ] && echo "$A" || echo "$B")'")" ]; then
			: >"$T/sgot.$u"
		else
			dest_hashes eml "$D" "$( [ $u = ea ] && echo "$A" || echo "$B")" "$T/sgot.$u"
		fi
	done
	if [ "$n" = 0 ]; then
		t_fail "select_$name" "the rule $rule selects nothing: a test that cannot fail"
		return
	fi
	if cmp -s "$T/sgot.ea" "$T/sexp.ea" && cmp -s "$T/sgot.eb" "$T/sexp.eb"; then
		t_pass "select_$name"
	else
		t_fail "select_$name" "ea: $(wc -l <"$T/sgot.ea") exported, $(wc -l <"$T/sexp.ea") expected; eb: $(wc -l <"$T/sgot.eb") exported, $(wc -l <"$T/sexp.eb") expected"
	fi
}

# --account: one account only, and the other is not in DEST at all.
export_to "$T/sel-acct" --format eml --account "$B"
dest_hashes eml "$T/sel-acct" "$B" "$T/got.acct"
if [ "$RC" = 0 ] && cmp -s "$T/got.acct" "$T/exp.eb" &&
    [ "$(pv_sql "$T/sel-acct" "select count(*) from accounts")" = 1 ]; then
	t_pass select_account
else
	t_fail select_account "exit $RC, $(wc -l <"$T/got.acct") messages, $(pv_sql "$T/sel-acct" "select group_concat(name) from accounts")"
fi
# Repeated --account: both.
export_to "$T/sel-acct2" --format eml --account "$B" --account "$A"
[ "$RC" = 0 ] && [ "$(pv_sql "$T/sel-acct2" "select count(*) from accounts")" = 2 ] &&
    t_pass select_accounts_repeated ||
    t_fail select_accounts_repeated "exit $RC: $OUT"

# Dates: ea's messages run from BASE_TIME, eb's 3000 * 97 s later; the day
# after ea's first and the day after that split them.
d0=$(pv_sql "$V" "select min(date_epoch) from messages")
s=$(date -u -d "@$((d0 + 86400))" +%F)
u=$(date -u -d "@$((d0 + 3 * 86400))" +%F)
sel_check dates "since:$s:$u" --since "$s" --until "$u"
sel_check from "from:USER2" --from USER2
mid=$(select_expected eb firstmid: | head -n 1)
sel_check message_id "mid:$mid" --message-id "$mid"

# ---- kill -9 and crash hooks, then a rerun ----------------------------------

crash_check() {	# NAME FORMAT DEST
	local name=$1 f=$2 D=$3
	# shellcheck disable=SC2046
	export_to "$D" $(pv_fmt_args "$f") --batch 20
	if [ "$RC" != 0 ]; then
		t_fail "${name}_rerun" "exit $RC: $OUT"
		return
	fi
	dest_hashes "$f" "$D" "$A" "$T/cgot.a"
	dest_hashes "$f" "$D" "$B" "$T/cgot.b"
	if cmp -s "$T/cgot.a" "$T/exp.ea" && cmp -s "$T/cgot.b" "$T/exp.eb"; then
		t_pass "${name}_each_once"
	else
		t_fail "${name}_each_once" "ea $(wc -l <"$T/cgot.a")/$(wc -l <"$T/exp.ea"), eb $(wc -l <"$T/cgot.b")/$(wc -l <"$T/exp.eb"); $(head -c 400 "$T/cgot.a.err")"
	fi
	t_check "${name}_verify" "$POPVAULT" verify -q --vault "$D"
}

for f in eml mbox.gz tar.gz; do
	D=$T/kill-$f
	rm -f "$T/pgid" "$T/kready"
	"$PY" "$KILLWHEN" --pgid-file "$T/pgid" --ready-file "$T/kready" \
	    --index "$D/index.sqlite" \
	    --sql "select count(*) >= 120 from messages" >"$T/kill.$f" 2>&1 &
	kpid=$!
	for _ in $(seq 1 600); do
		[ -e "$T/kready" ] && break
		sleep 0.05
	done
	# shellcheck disable=SC2016,SC2046
	setsid sh -c 'echo $$ >"$1.tmp" && mv "$1.tmp" "$1"; shift; exec "$@"' \
	    sh "$T/pgid" "$POPVAULT" export --vault "$V" $(pv_fmt_args "$f") \
	    --batch 20 "$D" >"$T/kout.$f" 2>&1 </dev/null &
	bg=$!
	{ wait "$bg"; } 2>/dev/null
	rc=$?
	wait "$kpid"
	case "$(cat "$T/kill.$f")" in
	none*) t_fail "kill9_$f" "the export ended (exit $rc) before it was killed: $(cat "$T/kill.$f")" ;;
	*) t_pass "kill9_$f" ;;
	esac
	crash_check "kill9_$f" "$f" "$D"
done

for spec in eml:eml-first-rename:3 maildir:batch-committed:4 \
    mbox:intent-committed:2 eml:verify:2; do
	f=${spec%%:*}
	pt=${spec#*:}
	D=$T/hook-${pt%%:*}-$f
	# shellcheck disable=SC2046
	OUT=$(POPVAULT_CRASH=$pt "$POPVAULT" export --vault "$V" \
	    $(pv_fmt_args "$f") --batch 20 "$D" 2>&1)
	rc=$?
	if [ "$rc" -lt 128 ]; then
		t_fail "crash_${pt%%:*}_$f" "no crash at $pt (exit $rc): $OUT"
		continue
	fi
	t_pass "crash_${pt%%:*}_$f"
	crash_check "crash_${pt%%:*}_$f" "$f" "$D"
done

# ---- a damaged origin ----------------------------------------------------

# One of ea's stored files altered (one byte, same length): that account's
# export stops there (exit 79) and never stores the altered bytes; what it
# stored before is sound.
cp -a "$V" "$T/vbad"
f=$T/vbad/accounts/$(pv_sql "$T/vbad" "select ha.dir || '/maildir/' ||
    m.location from messages m join accounts ha on ha.id = m.account_id
    where ha.name = '$A' order by m.id limit 1 offset 100")
"$PY" - "$f" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x20
open(p, "wb").write(bytes(b))
EOF
bad=$(sha256sum "$f" | cut -d' ' -f1)
OUT=$("$POPVAULT" export --vault "$T/vbad" --format eml --account "$A"     "$T/exp-bad" 2>&1)
RC=$?
dest_hashes eml "$T/exp-bad" "$A" "$T/got.bad"
if [ "$RC" = 79 ] && ! grep -q "$bad" "$T/got.bad" &&
    [ -z "$(comm -23 "$T/got.bad" "$T/exp.ea")" ] &&
    printf '%s' "$OUT" | grep -q "other bytes"; then
	t_pass altered_origin_stops
else
	t_fail altered_origin_stops "exit $RC, $(wc -l <"$T/got.bad") stored, altered bytes stored: $(grep -c "$bad" "$T/got.bad"): $OUT"
fi
t_check altered_origin_dest_verifies "$POPVAULT" verify -q --vault "$T/exp-bad"

# One of eb's own copies marked as failed verification in the origin: left
# out, counted, exit 1; the others exported.
cp -a "$V" "$T/vuns"
gone=$(pv_sql "$T/vuns" "select lower(hex(m.sha256)) from messages m join
    accounts a on a.id = m.account_id where a.name = '$B' order by m.id
    limit 1 offset 3")
pv_sql "$T/vuns" "update messages set note = 'verify: test' where
    lower(hex(sha256)) = '$gone'"
OUT=$("$POPVAULT" export --vault "$T/vuns" --format eml --account "$B"     --json "$T/exp-uns" 2>"$T/err.uns")
RC=$?
printf '%s\n' "$OUT" >"$T/json.uns"
dest_hashes eml "$T/exp-uns" "$B" "$T/got.uns"
grep -v "$gone" "$T/exp.eb" >"$T/want.uns"
uns=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["accounts"][0]["unsound"])' "$T/json.uns" 2>&1)
if [ "$RC" = 1 ] && [ "$uns" = 1 ] && grep -q "$gone" "$T/exp.eb" &&
    cmp -s "$T/got.uns" "$T/want.uns"; then
	t_pass unsound_left_out
else
	t_fail unsound_left_out "exit $RC, unsound $uns, $(wc -l <"$T/got.uns") exported, $(wc -l <"$T/want.uns") wanted: $(head -c 300 "$T/err.uns")"
fi

# ---- refusals ---------------------------------------------------------------

D=$T/exp-eml
snapshot "$D" >"$T/snap-before"
# Another vault with an account of the same name, into the same DEST.
pv_fetch "$T/other" "$PW" --tls-ca "$DV_CA" "pop3s://ea@localhost:$DV_POP3S_PORT"
OUT=$("$POPVAULT" export --vault "$T/other" --format eml "$D" 2>&1)
RC=$?
snapshot "$D" >"$T/snap-after"
if [ "$RC" = 64 ] && cmp -s "$T/snap-before" "$T/snap-after" &&
    printf '%s' "$OUT" | grep -q "not from account"; then
	t_pass refuse_other_vault
else
	t_fail refuse_other_vault "exit $RC, files changed: $(cmp -s "$T/snap-before" "$T/snap-after" && echo no || echo yes): $OUT"
fi
mkdir -p "$T/busy" && echo keep >"$T/busy/note.txt"
export_to "$T/busy" --format eml
[ "$RC" = 64 ] && [ ! -e "$T/busy/index.sqlite" ] && [ ! -e "$T/busy/accounts" ] &&
    [ "$(cat "$T/busy/note.txt")" = keep ] && t_pass refuse_folder_of_other_files ||
    t_fail refuse_folder_of_other_files "exit $RC: $OUT"
snapshot "$D" >"$T/snap-before"
export_to "$D" --format tar
snapshot "$D" >"$T/snap-after"
[ "$RC" = 64 ] && cmp -s "$T/snap-before" "$T/snap-after" &&
    printf '%s' "$OUT" | grep -q "was exported as eml" &&
    t_pass refuse_other_format ||
    t_fail refuse_other_format "exit $RC: $OUT"
export_to "$V" --format eml
[ "$RC" = 64 ] && t_pass refuse_origin_itself ||
    t_fail refuse_origin_itself "exit $RC: $OUT"
export_to "$T/none1" --format eml --account nobody@nowhere
[ "$RC" = 64 ] && [ ! -e "$T/none1" ] && t_pass refuse_unknown_account ||
    t_fail refuse_unknown_account "exit $RC: $OUT"
export_to "$T/none2" --format maildir --compress gzip
[ "$RC" = 64 ] && [ ! -e "$T/none2" ] && t_pass refuse_bad_compress ||
    t_fail refuse_bad_compress "exit $RC: $OUT"

t_done
