#!/usr/bin/env bash
# test_accounts.sh -- many accounts, one vault (isolation,
# cross-account dedup, no secret in logs, one lock per account):
#
#  1. 20 Dovecot users with mail that overlaps across accounts
#     (tests/gen/genoverlap.py); what a vault-wide deduplicating archive
#     must hold is computed here, independently, from the server's files.
#  2. "fetch --config C -j 4": exit 0; each distinct (Message-ID, body hash)
#     and each distinct ID-less message stored exactly once; every
#     (account, UIDL) sighting recorded and pointing at the right content;
#     collisions reported; the archives hold exactly the indexed messages;
#     "popvault verify" exits 0. A second run stores nothing. Then a race
#     probe: two accounts holding the same 150 messages, run at once.
#  3. "status" and "search --message-id".
#  4. A config with five kinds of mistakes: exit 64, every one reported as
#     FILE:LINE: message.
#  5. Password secrecy: a spying password command captures popvault's
#     command line and environment while popvault waits for it, and its own
#     environment; the environment of the forked account runs is captured
#     while they are paused (POPVAULT_TEST_PAUSE). No password, nor its
#     base64, there or in the -v -v output.
#  6. The account lock: a second popvault on one account fails fast (75).
#
# Environment: ACCOUNTS_JOBS (the -j of the runs of 2., default 4; 1 tells
# a race between parallel accounts from other faults), KEEP=1.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

T=$(t_tmpdir)
J=${ACCOUNTS_JOBS:-4}
NA=20
NAMES=()
for i in $(seq 1 $NA); do NAMES+=("$(printf 'acct%02d' "$i")"); done
pw_of() { printf 'Pw-%s-k7Q+x/9z' "$1"; }

dv_start "$T/dv" || { t_fail dovecot_start "could not start Dovecot"; t_done; }
# All users first. twin1 and twin2 are for the race probe in 2.
for a in "${NAMES[@]}" twin1 twin2; do
	dv_adduser "$a" "$(pw_of "$a")" || { t_fail adduser "$a"; t_done; }
done
# The password file read by the password command: "NAME PASSWORD" lines.
(umask 077 && for a in "${NAMES[@]}" twin1 twin2; do printf '%s %s\n' "$a" "$(pw_of "$a")"; done >"$T/passwords")

# --- 1. overlapping mail and what must be stored ---------------------------

intent=$(python3 "$T_ROOT/tests/gen/genoverlap.py" --seed 11 "$DV_DIR/mail" | tail -n 1) ||
	{ t_fail genoverlap "generator failed"; t_done; }
for a in "${NAMES[@]}"; do dv_fix_perms "$a"; done

# ov.py expect MAILROOT NAME...   what the vault must hold (key=value lines)
# ov.py check VAULT MAILROOT NAME...  the index and archives against it
cat >"$T/ov.py" <<'EOF'
import collections, hashlib, os, sqlite3, sys
sys.path.insert(0, os.environ["T_LIB"])
from expect import expected_archive_bytes

def split(stored):
    """(header, body): the body is what follows the first empty line."""
    pos = 0
    while True:
        nl = stored.find(b"\n", pos)
        if nl == -1:
            return stored, b""
        if stored[pos:nl] in (b"", b"\r"):
            return stored[:nl + 1], stored[nl + 1:]
        pos = nl + 1

def message_id(header):
    """The first Message-ID field, unfolded: its first <...>, else the
    trimmed value; None if absent or empty."""
    cur = None
    for line in header.split(b"\n"):
        if line.endswith(b"\r"):
            line = line[:-1]
        if line[:1] in (b" ", b"\t"):
            if cur is not None:
                cur.append(line)
            continue
        if cur is not None:
            break
        name, colon, value = line.partition(b":")
        if colon and name.rstrip(b" \t").lower() == b"message-id":
            cur = [value]
    if cur is None:
        return None
    value = b"".join(cur)
    lt = value.find(b"<")
    gt = value.find(b">", lt + 1) if lt != -1 else -1
    if lt != -1 and gt != -1:
        return value[lt:gt + 1]
    return value.strip(b" \t\r") or None

def key(stored):
    """Lossless deduplication: only the whole message's bytes identify it."""
    return hashlib.sha256(stored).hexdigest()

def mid_body(stored):
    """(Message-ID, body hash), or None without an ID: what makes two
    messages with other headers variants of each other."""
    head, body = split(stored)
    mid = message_id(head)
    if mid is None:
        return None
    return (mid.decode("latin-1"), hashlib.sha256(body).hexdigest())

def server(root, names):
    """account -> [(key, (Message-ID, body hash) or None)] of its server
    files."""
    out = {}
    for a in names:
        md = os.path.join(root, a)
        out[a] = []
        for sub in ("new", "cur"):
            for f in sorted(os.listdir(os.path.join(md, sub))):
                with open(os.path.join(md, sub, f), "rb") as fh:
                    stored = expected_archive_bytes(fh.read())
                out[a].append((key(stored), mid_body(stored)))
    return out

def cmd_expect(root, names):
    srv = server(root, names)
    keys = {k for msgs in srv.values() for k, _ in msgs}
    bodies = collections.defaultdict(set)
    wholes = collections.defaultdict(set)       # (mid, body) -> keys
    seen_in = collections.defaultdict(list)
    for a, msgs in srv.items():
        for k, mb in msgs:
            if mb is not None:
                bodies[mb[0]].add(mb[1])
                wholes[mb].add(k)
                seen_in[mb[0]].append(a)
    print("messages=%d" % sum(len(m) for m in srv.values()))
    print("stored=%d" % len(keys))
    print("collisions=%d" % sum(len(b) - 1 for b in bodies.values()))
    print("variants=%d" % sum(len(w) - 1 for w in wholes.values()))
    five = sorted(m for m, accts in seen_in.items() if len(accts) == 5 and
                  len(set(accts)) == 5 and len(bodies[m]) == 1)
    print("five=%s" % " ".join(five))
    for m in five:
        print("five_%s=%s" % (hashlib.sha1(m.encode()).hexdigest()[:8],
                              " ".join(sorted(seen_in[m]))))
        print("fivecopies_%s=%d" % (hashlib.sha1(m.encode()).hexdigest()[:8],
                                    len(wholes[(m, next(iter(bodies[m])))])))
    print("per_account=%s" % " ".join("%s:%d" % (a, len(srv[a])) for a in names))

def cmd_check(vault, root, names):
    srv = server(root, names)
    db = sqlite3.connect("file:%s/index.sqlite?mode=ro" % vault, uri=True)
    bad = []
    rows = db.execute("SELECT m.id, m.message_id, hex(m.body_sha256), "
                      "hex(m.sha256), a.dir, m.location, m.format "
                      "FROM messages m JOIN accounts a ON a.id = m.account_id"
                      ).fetchall()
    allowed = {k for msgs in srv.values() for k, _ in msgs}
    bykey = collections.defaultdict(list)
    rowkey = {}
    for mid_, mid, body, whole, adir, loc, fmt in rows:
        body, whole = body.lower(), whole.lower()
        k = whole
        bykey[k].append(mid_)
        rowkey[mid_] = k
        path = os.path.join(vault, "accounts", adir, fmt, loc)
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as e:
            bad.append("row %d: %s" % (mid_, e))
            continue
        if hashlib.sha256(data).hexdigest() != whole:
            bad.append("row %d: %s does not hash to the row's sha256" % (mid_, path))
        elif mid_body(data) is not None and (mid, body) != mid_body(data):
            bad.append("row %d: row (Message-ID, body) %r, file %r" % (
                mid_, (mid, body), mid_body(data)))
        if whole not in allowed:
            bad.append("row %d: stored bytes are no server message's" % mid_)
    for k, ids in sorted(bykey.items()):
        if len(ids) > 1:
            bad.append("stored %d times (rows %s): %r" % (len(ids), ids, k))
    for a in names:
        got = collections.Counter(rowkey.get(r[0]) for r in db.execute(
            "SELECT s.msg FROM sightings s JOIN accounts a ON a.id = "
            "s.account_id WHERE a.name = ?", (a,)))
        want = collections.Counter(k for k, _ in srv[a])
        if got != want:
            bad.append("%s: sightings point at %d keys, server has %d; "
                       "missing %r extra %r" % (a, sum(got.values()),
                       sum(want.values()), list((want - got))[:3],
                       list((got - want))[:3]))
    for b in bad[:30]:
        print(b)
    if len(bad) > 30:
        print("... %d more" % (len(bad) - 30))
    return 1 if bad else 0

if sys.argv[1] == "expect":
    cmd_expect(sys.argv[2], sys.argv[3:])
else:
    sys.exit(cmd_check(sys.argv[2], sys.argv[3], sys.argv[4:]))
EOF
export T_LIB="$T_ROOT/tests/lib"
exp=$(python3 "$T/ov.py" expect "$DV_DIR/mail" "${NAMES[@]}") ||
	{ t_fail expectation "ov.py expect failed"; t_done; }
ev() { printf '%s\n' "$exp" | sed -n "s/^$1=//p"; }
N_MSG=$(ev messages)
N_STORED=$(ev stored)
N_COLL=$(ev collisions)
N_VAR=$(ev variants)
# The generator's own bookkeeping must agree with the independent count
# (else this test, not popvault, is wrong), and the mail must overlap.
if [ "$intent" = "intent messages=$N_MSG stored=$N_STORED collisions=$N_COLL variants=$N_VAR" ] &&
    [ "$N_MSG" -gt 300 ] && [ "$N_STORED" -lt "$N_MSG" ] &&
    [ "$N_VAR" -ge 100 ] && [ "$N_COLL" -ge 10 ]; then
	t_pass expectation_matches_generator
else
	t_fail expectation_matches_generator "$intent vs messages=$N_MSG stored=$N_STORED collisions=$N_COLL variants=$N_VAR"
fi
srv_count() { ev per_account | tr ' ' '\n' | sed -n "s/^$1://p"; }

# --- 2. twenty accounts, $J at a time, one vault ---------------------------

V=$T/vault
C=$T/config
{
	printf '# %d accounts on one Dovecot\n[defaults]\n' "$NA"
	printf 'host = localhost\nport = %s\ntls_ca = %s\nvault = %s\n' \
	    "$DV_POP3S_PORT" "$DV_CA" "$V"
	for a in "${NAMES[@]}"; do
		printf '\n[account %s]\nuser = %s\n' "$a" "$a"
		printf "password_command = sed -n 's/^%s //p' %s\n" "$a" "$T/passwords"
	done
} >"$C"
chmod 600 "$C"

# The run reports (--json, docs/json.md): sums and counts over accounts.
sum_field() { python3 -c 'import json, sys; d = json.load(open(sys.argv[2])); print(sum(a[sys.argv[1]] for a in d["accounts"]))' "$1" "$2" 2>/dev/null || echo "bad-json"; }
count_field() { python3 -c 'import json, sys; d = json.load(open(sys.argv[3])); print(sum(1 for a in d["accounts"] if str(a[sys.argv[1]]) == sys.argv[2]))' "$1" "$2" "$3" 2>/dev/null || echo "bad-json"; }
names_of() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print("\n".join(a["name"] for a in d["accounts"]))' "$1" 2>/dev/null; }
sql() { pv_sql "$V" "$1" 2>&1; }

"$POPVAULT" fetch --config "$C" -j "$J" --json >"$T/run1.out" 2>"$T/run1.err"
rc=$?
[ "$rc" -eq 0 ] && t_pass fetch_parallel_exits_0 ||
	t_fail fetch_parallel_exits_0 "rc=$rc: $(head -n 5 "$T/run1.err")"
n=$(names_of "$T/run1.out" | wc -l)
u=$(names_of "$T/run1.out" | sort -u | wc -l)
[ "$n" = "$NA" ] && [ "$u" = "$NA" ] && t_pass one_summary_per_account ||
	t_fail one_summary_per_account "$n summaries, $u accounts"
l=$(sum_field listed "$T/run1.out")
nw=$(sum_field new "$T/run1.out")
ar=$(sum_field archived "$T/run1.out")
du=$(sum_field duplicates "$T/run1.out")
# Without a terminal: one line per account on stderr, no control codes.
nl=$(grep -cE '^acct[0-9]+: done: ' "$T/run1.err")
[ "$nl" = "$NA" ] && ! grep -q "$(printf '\033')" "$T/run1.err" &&
    t_pass one_finish_line_per_account_no_escapes ||
    t_fail one_finish_line_per_account_no_escapes "$nl finish lines for $NA accounts, or escape codes in stderr"
ve=$(sum_field verified "$T/run1.out")
if [ "$l" = "$N_MSG" ] && [ "$nw" = "$N_MSG" ] && [ "$ar" = "$N_STORED" ] &&
    [ "$ve" = "$N_STORED" ] && [ $((ar + du)) = "$N_MSG" ]; then
	t_pass summaries_add_up
else
	t_fail summaries_add_up "listed $l new $nw archived $ar verified $ve duplicates $du; want listed=new=$N_MSG archived=verified=$N_STORED duplicates=$((N_MSG - N_STORED))"
fi
n=$(sql "select count(*) from messages")
[ "$n" = "$N_STORED" ] && t_pass cross_account_duplicates_stored_once ||
	t_fail cross_account_duplicates_stored_once "$n message rows, want $N_STORED: $(sql "
	    select coalesce(message_id, 'no-ID ' || substr(hex(sha256), 1, 12)), count(*)
	    from messages group by sha256 having count(*) > 1 limit 8" |
	    tr '\n' ' ')"
n=$(sql "select count(*) from sightings")
[ "$n" = "$N_MSG" ] && t_pass every_sighting_recorded ||
	t_fail every_sighting_recorded "$n sightings, want $N_MSG"
if out=$(python3 "$T/ov.py" check "$V" "$DV_DIR/mail" "${NAMES[@]}" 2>&1); then
	t_pass index_and_archives_match_server
else
	t_fail index_and_archives_match_server "$(printf '%s' "$out" | head -n 8 | tr '\n' ';')"
fi
c=$(sum_field collisions "$T/run1.out")
w=$(grep -c 'Message-ID <.*> already stored with other content; keeping both' "$T/run1.err")
[ "$c" = "$N_COLL" ] && [ "$w" = "$N_COLL" ] && t_pass collisions_reported ||
	t_fail collisions_reported "summaries say $c, $w warnings, want $N_COLL"
# Variants (same Message-ID and body, other headers) are stored, each
# linked to a copy with that Message-ID and body, and reported apart.
c=$(sum_field variants "$T/run1.out")
n=$(sql "select count(*) from messages m where variant_of is not null and
    exists (select 1 from messages o where o.id = m.variant_of and
    o.message_id = m.message_id and o.body_sha256 = m.body_sha256 and
    o.sha256 <> m.sha256)")
[ "$c" = "$N_VAR" ] && [ "$n" = "$N_VAR" ] && t_pass variants_stored_linked_reported ||
	t_fail variants_stored_linked_reported "summaries say $c, $n linked rows, want $N_VAR"
n=$(sql "select count(*) from messages where state <> 'verified' or note is not null")
ic=$(sql "pragma integrity_check")
[ "$n" = 0 ] && [ "$ic" = ok ] && t_pass all_rows_verified_index_ok ||
	t_fail all_rows_verified_index_ok "$n rows not verified; integrity_check: $ic"
# Each account's archive holds exactly the messages the index gives it.
bad=""
while IFS='|' read -r name dir; do
	sql "select lower(hex(sha256)) from messages m join accounts a on
	    a.id = m.account_id where a.name = '$name'" >"$T/list.$name"
	if [ -s "$T/list.$name" ]; then
		python3 "$T_ROOT/tests/lib/check_archive.py" maildir \
		    "$V/accounts/$dir" "$T/list.$name" >"$T/ca.$name" 2>&1 ||
		    bad="$bad $name($(tail -n 1 "$T/ca.$name"))"
	elif [ -n "$(find "$V/accounts/$dir" -path '*/maildir/*' -type f 2>/dev/null)" ]; then
		bad="$bad $name(files but no rows)"
	fi
done < <(sql "select name, dir from accounts order by name")
[ -z "$bad" ] && t_pass check_archive_every_account ||
	t_fail check_archive_every_account "$bad"
out=$("$POPVAULT" verify --vault "$V" 2>&1)
rc=$?
[ "$rc" -eq 0 ] && t_pass popvault_verify_exits_0 ||
	t_fail popvault_verify_exits_0 "rc=$rc $(printf '%s' "$out" | tail -n 3)"

snap() { sql "select count(*) from messages; select count(*) from sightings;
    select count(*) from messages where state = 'verified'"; }
before=$(snap)
"$POPVAULT" fetch --config "$C" -j "$J" --json -q >"$T/run2.out" 2>"$T/run2.err"
rc=$?
after=$(snap)
n0=$(count_field new 0 "$T/run2.out")
ar=$(sum_field archived "$T/run2.out")
if [ "$rc" -eq 0 ] && [ "$n0" = "$NA" ] && [ "$ar" = 0 ] &&
    [ "$before" = "$after" ] && [ ! -s "$T/run2.err" ]; then
	t_pass second_run_stores_nothing
else
	t_fail second_run_stores_nothing "rc=$rc, $n0 of $NA say new 0, archived $ar, index $(echo $before) -> $(echo $after); $(head -n 2 "$T/run2.err")"
fi

# Two accounts with the same 150 messages (byte for byte: the same bytes
# delivered to two mailboxes), run at once: each downloads while the other
# has committed nothing yet, so a dedup decision that only looks at
# committed rows stores them twice.
python3 - "$DV_DIR/mail" <<'EOF_PY'
import os, sys
for a in ("twin1", "twin2"):
    md = os.path.join(sys.argv[1], a)
    for n in range(150):
        data = ("Received: from relay by mx.example.org; Mon, 1 Jan 2024 00:00:%02d +0000\n"
                "Delivered-To: list@example.org\n"
                "From: twin@example.com\nSubject: twin %d\n"
                "Message-ID: <twin.%d@example.com>\n\nbody of twin %d\n"
                % (n % 60, n, n, n)).encode()
        name = "%d.M%dP1.twins" % (1700000000 + n, n)
        with open(os.path.join(md, "tmp", name), "wb") as fh:
            fh.write(data)
        os.rename(os.path.join(md, "tmp", name), os.path.join(md, "new", name))
EOF_PY
dv_fix_perms twin1 && dv_fix_perms twin2
VT=$T/vault-twins
{
	printf '[defaults]\nhost = localhost\nport = %s\ntls_ca = %s\nvault = %s\n' \
	    "$DV_POP3S_PORT" "$DV_CA" "$VT"
	for a in twin1 twin2; do
		printf '[account %s]\nuser = %s\n' "$a" "$a"
		printf "password_command = sed -n 's/^%s //p' %s\n" "$a" "$T/passwords"
	done
} >"$T/twins.conf"
"$POPVAULT" fetch --config "$T/twins.conf" -j 2 >"$T/twins.out" 2>&1
rc=$?
n=$(pv_sql "$VT" "select count(*) from messages" 2>&1)
s=$(pv_sql "$VT" "select count(*) from sightings" 2>&1)
[ "$rc" -eq 0 ] && [ "$n" = 150 ] && [ "$s" = 300 ] &&
    t_pass parallel_twin_accounts_stored_once ||
    t_fail parallel_twin_accounts_stored_once "rc=$rc, $n messages stored (want 150), $s sightings (want 300)"

# --- 3. status and search ---------------------------------------------------

"$POPVAULT" status --vault "$V" >"$T/status" 2>&1
rc=$?
rows=$(awk 'NR > 1 && $1 ~ /^acct[0-9][0-9]$/' "$T/status" | wc -l)
[ "$rc" -eq 0 ] && [ "$rows" = "$NA" ] && t_pass status_lists_20_accounts ||
	t_fail status_lists_20_accounts "rc=$rc, $rows rows: $(head -n 3 "$T/status")"
# Columns: account listed archived verified dups deleted bad variants
# unproven last-run.
bad=""
for a in acct01 acct07 acct13 acct20; do
	want=$(srv_count "$a")
	row=$(awk -v a="$a" '$1 == a { print $2, $3 + $5, $3, $4, $6, $7 }' "$T/status")
	db=$(sql "select count(*) from messages m join accounts a on a.id = m.account_id where a.name = '$a'")
	[ "$row" = "$want $want $db $db 0 0" ] ||
		bad="$bad $a: '$row' want '$want $want $db $db 0 0';"
done
tot=$(awk 'NR > 1 { a += $3; d += $5 } END { print a, d }' "$T/status")
[ "$tot" = "$N_STORED $((N_MSG - N_STORED))" ] ||
	bad="$bad totals archived dups '$tot' want '$N_STORED $((N_MSG - N_STORED))'"
[ -z "$bad" ] && t_pass status_archived_plus_dups ||
	t_fail status_archived_plus_dups "$bad"
tot=$(awk 'NR > 1 { v += $8; u += $9 } END { print v, u }' "$T/status")
[ "$tot" = "$N_VAR 0" ] && t_pass status_variants_none_unproven ||
	t_fail status_variants_none_unproven "variants unproven '$tot', want '$N_VAR 0'"

bad=""
nfive=0
for mid in $(ev five); do
	nfive=$((nfive + 1))
	[ "$nfive" -le 6 ] || break
	want=$(ev "five_$(printf '%s' "$mid" | sha1sum | cut -c1-8)")
	"$POPVAULT" search --vault "$V" --message-id "$mid" >"$T/search" 2>&1 ||
		bad="$bad $mid: exit $?;"
	lines=$(wc -l <"$T/search")
	accts=$(cut -f1 "$T/search" | sort | tr '\n' ' ' | sed 's/ $//')
	locs=$(cut -f6 "$T/search" | sort -u)
	nloc=$(printf '%s\n' "$locs" | grep -c .)
	ncopies=$(ev "fivecopies_$(printf '%s' "$mid" | sha1sum | cut -c1-8)")
	nvar=$(cut -f7 "$T/search" | grep -c '^variant')
	missing=0
	for l in $locs; do [ -f "$V/$l" ] || missing=$((missing + 1)); done
	if [ "$lines" != 5 ] || [ "$accts" != "$want" ] ||
	    [ "$nloc" != "$ncopies" ] || [ "$missing" != 0 ] ||
	    [ "$nvar" -lt $((ncopies - 1)) ]; then
		bad="$bad $mid: $lines lines, accounts '$accts' want '$want', $nloc locations want $ncopies, $missing missing, $nvar variants;"
	fi
done
[ "$nfive" -gt 0 ] && [ -z "$bad" ] && t_pass search_message_id_five_sightings_each_copy ||
	t_fail search_message_id_five_sightings_each_copy "${bad:-no message delivered to 5 accounts}"
a=acct07
n=$("$POPVAULT" search --vault "$V" --account "$a" --limit 100000 | wc -l)
[ "$n" = "$(srv_count "$a")" ] && t_pass search_account_lists_every_sighting ||
	t_fail search_account_lists_every_sighting "$n lines, want $(srv_count "$a")"

# --- 4. a config with five kinds of mistakes -----------------------------

B=$T/bad.conf
cat >"$B" <<EOF
# five mistakes, on lines 2, 5, 10, 15 and 17
vault = $T/vault-bad
[defaults]
host = localhost
port = 99999
tls_ca = $DV_CA

[account a1]
user = u1
tls_ca $DV_CA
password_command = true

[account a2]
user = u2
pasword_command = true

[account a1]
user = u3
password_command = true
EOF
out=$("$POPVAULT" fetch --config "$B" 2>&1)
rc=$?
nl=$(printf '%s\n' "$out" | grep -c .)
got=$(printf '%s\n' "$out" | grep -o "^$B:[0-9]*: " | sed "s|^$B:||; s|: \$||" | tr '\n' ' ')
if [ "$rc" -eq 64 ] && [ "$nl" = 5 ] && [ "$got" = "2 5 10 15 17 " ] &&
    printf '%s\n' "$out" | sed -n 2p | grep -q 99999 &&
    printf '%s\n' "$out" | sed -n 4p | grep -q pasword_command &&
    printf '%s\n' "$out" | sed -n 5p | grep -q a1 && [ ! -e "$T/vault-bad" ]; then
	t_pass config_mistakes_all_reported_exit_64
else
	t_fail config_mistakes_all_reported_exit_64 "rc=$rc lines at '$got': $out"
fi

# --- 5. passwords stay secret ----------------------------------------------

# spy.sh DIR ACCOUNT: a password command that, while popvault waits for it,
# saves popvault's command line and environment and its own environment.
cat >"$T/spy.sh" <<'EOF'
#!/bin/sh
d=$1 a=$2 p=$PPID
while [ "$p" -gt 1 ]; do
	case $(cat /proc/$p/comm 2>/dev/null) in popvault|popvault-test) break ;; esac
	p=$(sed 's/.*) //' /proc/$p/stat | cut -d' ' -f2)
done
cat /proc/$p/cmdline >"$d/pv.cmdline.$a" || exit 1
cat /proc/$p/environ >"$d/pv.environ.$a" || exit 1
cat /proc/$$/environ >"$d/spy.environ.$a" || exit 1
sed -n "s/^$a //p" "$d/../passwords"
EOF
chmod 755 "$T/spy.sh"
mkdir -p "$T/spy" "$T/pause"
S=$T/secret.conf
VS=$T/vault-secret
cat >"$S" <<EOF
[defaults]
host = localhost
port = $DV_POP3S_PORT
tls_ca = $DV_CA
vault = $VS
[account acct01]
user = acct01
password_command = $T/spy.sh $T/spy acct01
[account acct02]
user = acct02
password_env = PV_TEST_SECRET
[account acct03]
user = acct03
[account acct04]
user = acct04
password_command = $T/spy.sh $T/spy acct04
EOF
chmod 600 "$S"
SECRETS=()
for a in acct01 acct02 acct03 acct04; do
	p=$(pw_of "$a")
	SECRETS+=("$p" "$(printf '%s' "$p" | base64 -w0)"
	    "$(printf '\0%s\0%s' "$a" "$p" | base64 -w0)"
	    "$(printf '%s\0%s\0%s' "$a" "$a" "$p" | base64 -w0)")
done
leaks() {	# leaks FILE...: which secrets the files hold
	local f s
	for f in "$@"; do
		for s in "${SECRETS[@]}"; do
			if tr '\0' '\n' <"$f" | grep -qF -- "$s"; then
				printf '%s holds %s; ' "${f#"$T"/}" "$s"
			fi
		done
	done
}
# Four accounts at once, paused at their first verify (test hook), so the
# forked account runs can be looked at while they run.
PV_TEST_SECRET=$(pw_of acct02) POPVAULT_PASSWORD=$(pw_of acct03) \
    POPVAULT_TEST_PAUSE=$T/pause POPVAULT_TEST_PAUSE_AT=verify \
    "$POPVAULT" fetch --config "$S" -j 4 -v -v >"$T/secret.out" 2>&1 &
pv=$!
t_on_exit "kill $pv 2>/dev/null"
for _ in $(seq 1 1200); do
	[ -e "$T/pause/ready" ] && break
	kill -0 "$pv" 2>/dev/null || break
	sleep 0.05
done
sleep 0.3	# let the other account runs reach the pause too
kids=$(pgrep -P "$pv" | tr '\n' ' ')
nk=0
for k in $kids; do
	case $(cat "/proc/$k/comm" 2>/dev/null) in
	popvault|popvault-test) ;;
	*) continue ;;
	esac
	cat "/proc/$k/environ" >"$T/spy/child.environ.$k" 2>/dev/null &&
	    cat "/proc/$k/cmdline" >"$T/spy/child.cmdline.$k" 2>/dev/null &&
	    nk=$((nk + 1))
done
touch "$T/pause/go"
wait "$pv"
rc=$?
[ "$rc" -eq 0 ] && [ "$(grep -cE '^acct[0-9]+: done: ' "$T/secret.out")" = 4 ] &&
    t_pass secret_run_exits_0 ||
    t_fail secret_run_exits_0 "rc=$rc $(grep -v '^[<>]' "$T/secret.out" | head -n 5)"
# The captures must really have happened, or the checks below prove nothing.
caught=1
for a in acct01 acct04; do
	tr '\0' ' ' <"$T/spy/pv.cmdline.$a" 2>/dev/null | grep -q 'fetch --config' &&
	    tr '\0' '\n' <"$T/spy/pv.environ.$a" | grep -q '^POPVAULT_TEST_PAUSE_AT=verify$' &&
	    tr '\0' '\n' <"$T/spy/spy.environ.$a" | grep -q '^POPVAULT_TEST_PAUSE_AT=verify$' ||
	    caught=0
done
[ "$caught" = 1 ] && [ "$nk" -ge 2 ] && t_pass secret_captures_taken ||
	t_fail secret_captures_taken "spy files: $(ls "$T/spy" | tr '\n' ' '); $nk account runs caught (children: $kids)"
l=$(leaks "$T"/spy/pv.cmdline.* "$T"/spy/child.cmdline.*)
[ -z "$l" ] && t_pass password_not_in_cmdlines || t_fail password_not_in_cmdlines "$l"
l=$(leaks "$T"/spy/pv.environ.*)
[ -z "$l" ] && t_pass password_not_in_popvault_environ_during_command ||
	t_fail password_not_in_popvault_environ_during_command "$l"
l=$(leaks "$T"/spy/spy.environ.*)
v=$(cat "$T"/spy/spy.environ.* | tr '\0' '\n' | grep -E '^(PV_TEST_SECRET|POPVAULT_PASSWORD)=' | cut -d= -f1 | sort -u | tr '\n' ' ')
[ -z "$l" ] && [ -z "$v" ] && t_pass password_command_environ_clean ||
	t_fail password_command_environ_clean "$l variables: $v"
l=$(leaks "$T"/spy/child.environ.*)
# A forked run's /proc environ is the block popvault was started with: the
# variables must be gone from it, or at least hold nothing any more.
v=$(cat "$T"/spy/child.environ.* 2>/dev/null | tr '\0' '\n' | grep -E '^(PV_TEST_SECRET|POPVAULT_PASSWORD)=.' | cut -d= -f1 | sort -u | tr '\n' ' ')
[ "$nk" -gt 0 ] && [ -z "$l" ] && [ -z "$v" ] && t_pass password_env_absent_from_account_runs ||
	t_fail password_env_absent_from_account_runs "$nk caught; $l set: $v"
l=$(leaks "$T/secret.out")
f=$(grep -rlF -e "$(pw_of acct01)" -e "$(pw_of acct02)" -e "$(pw_of acct03)" -e "$(pw_of acct04)" "$VS" 2>/dev/null | wc -l)
np=$(grep -cE '(PASS|AUTH PLAIN) \*\*\*\*' "$T/secret.out")
[ -z "$l" ] && [ "$f" = 0 ] && [ "$np" -ge 4 ] && t_pass password_not_logged_at_v_v ||
	t_fail password_not_logged_at_v_v "$l $f vault files; $np 'PASS ****' or 'AUTH PLAIN ****' lines"

# --- 6. one popvault per account -------------------------------------------

dir_of() { sql "select dir from accounts where name = '$1'"; }
HOLDERS=()
hold_lock() {	# hold_lock ACCOUNT: flock its lock until release_locks
	local l
	l="$V/accounts/$(dir_of "$1")/lock"
	flock "$l" sleep 60 &
	HOLDERS+=($!)
	for _ in $(seq 1 100); do
		flock -n "$l" true 2>/dev/null || return 0
		sleep 0.02
	done
	return 1
}
release_locks() {
	local h
	for h in "${HOLDERS[@]}"; do
		kill $(pgrep -P "$h") "$h" 2>/dev/null
		wait "$h" 2>/dev/null
	done
	HOLDERS=()
}
t_on_exit release_locks

# "Fails fast" is not timed (a loaded machine makes any bound flaky): the
# holder keeps the lock for 60 s, so a popvault that waited for it would
# get it in the end and exit 0, not 75.
hold_lock acct05 || t_fail lock_held "could not take acct05's lock"
out=$("$POPVAULT" fetch --config "$C" acct05 2>&1)
rc=$?
[ "$rc" -eq 75 ] &&
    printf '%s' "$out" | grep -q 'another popvault' &&
    t_pass second_popvault_on_account_fails_fast ||
    t_fail second_popvault_on_account_fails_fast "rc=$rc: $out"
# The others still run: results differ, so exit 1.
"$POPVAULT" fetch --config "$C" -j 4 --json >"$T/lock.out" 2>"$T/lock.err"
rc=$?
n=$(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(sum(1 for a in d["accounts"] if a["exit"] == 0 and a["name"] != "acct05"))' "$T/lock.out")
e=$(grep -c '^popvault: .*another popvault' "$T/lock.err")
[ "$rc" -eq 1 ] && [ "$n" = $((NA - 1)) ] && [ "$e" = 1 ] &&
    t_pass one_locked_account_others_run_exit_1 ||
    t_fail one_locked_account_others_run_exit_1 "rc=$rc, $n other summaries, $e lock errors: $(head -n 2 "$T/lock.err")"
hold_lock acct06
out=$("$POPVAULT" fetch --config "$C" -j 2 acct05 acct06 2>&1)
rc=$?
[ "$rc" -eq 75 ] && [ "$(printf '%s\n' "$out" | grep -c '^popvault: .*another popvault')" = 2 ] &&
    t_pass all_locked_same_failure_exit_75 ||
    t_fail all_locked_same_failure_exit_75 "rc=$rc $out"
release_locks

# Two real popvault processes: the first paused in its run, holding the lock.
MD=$(dv_maildir acct20)
printf '%s\n' "From: lock@example.com" "To: acct20@example.org" \
    "Subject: one more for the lock test" "Message-ID: <lock.1@example.com>" \
    "" "A message no other account has." >"$MD/tmp/lock.msg" &&
    mv "$MD/tmp/lock.msg" "$MD/new/1800000000.M1P1.locktest"
dv_fix_perms acct20
rm -f "$T/pause/ready" "$T/pause/go"
POPVAULT_TEST_PAUSE=$T/pause POPVAULT_TEST_PAUSE_AT=verify \
    "$POPVAULT" fetch --config "$C" acct20 >"$T/first.out" 2>&1 &
first=$!
t_on_exit "kill $first 2>/dev/null"
for _ in $(seq 1 1200); do
	[ -e "$T/pause/ready" ] && break
	kill -0 "$first" 2>/dev/null || break
	sleep 0.05
done
# Not timed: the first stays paused (holding the lock) until "go" below,
# or 60 s, so a second that waited for the lock would end with 0, not 75.
out=$("$POPVAULT" fetch --config "$C" acct20 2>&1)
rc=$?
touch "$T/pause/go"
wait "$first"
rc1=$?
[ -e "$T/pause/ready" ] && [ "$rc" -eq 75 ] &&
    printf '%s' "$out" | grep -q 'another popvault' && [ "$rc1" -eq 0 ] &&
    grep -q '^archived *1$' "$T/first.out" &&
    t_pass two_processes_one_account_second_fails_fast ||
    t_fail two_processes_one_account_second_fails_fast "paused: $([ -e "$T/pause/ready" ] && echo yes || echo no); second rc=$rc: $out; first rc=$rc1 $(grep -E '^(new|archived)' "$T/first.out" | tr '\n' ' ')"

t_done
