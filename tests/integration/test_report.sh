#!/usr/bin/env bash
# test_report.sh -- what a run shows and reports: the live progress under
# a real pseudo-terminal (tmux), the one-line-per-account output without
# a terminal (no control sequences), -q, the --json report checked field
# by field against the index, the archive and the server, and the --log
# event trail.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

T=$(t_tmpdir)
N=1200
dv_start "$T/dv" || { t_fail dovecot_start "could not start Dovecot"; t_done; }
python3 "$T_ROOT/tests/gen/genmail.py" --count "$N" --seed 31 "$T/gen" \
    >/dev/null || { t_fail genmail "generator failed"; t_done; }
for u in r1 r2 r3 r4; do
	dv_adduser "$u" "pw-$u" && pv_fill "$u" "$T/gen/new" ||
	    { t_fail setup "user $u"; t_done; }
done
sleep 1.1

# conf FILE USER... : a config with one account per user.
conf() {
	local f=$1 u
	shift
	{
		printf '[defaults]\nhost = localhost\nport = %s\ntls = implicit\n' \
		    "$DV_POP3S_PORT"
		printf 'tls_ca = %s\n' "$DV_CA"
		for u in "$@"; do
			printf '\n[account %s]\nuser = %s\npassword = pw-%s\n' \
			    "$u" "$u" "$u"
		done
	} >"$f"
	chmod 600 "$f"
}
conf "$T/tty.conf" r1 r2
conf "$T/json.conf" r3 r4

# 1. Progress under a pseudo-terminal: tmux runs popvault in a 120x40
# window; the screen is sampled while it runs and read when it ends.
if command -v tmux >/dev/null; then
	TM="tmux -L pvtest-$$ -f /dev/null"
	t_on_exit "$TM kill-server 2>/dev/null"
	$TM new-session -d -x 120 -y 40 -s pv \
	    "'$POPVAULT' fetch --config '$T/tty.conf' --vault '$T/vtty' -j 2; echo EXIT=\$? >'$T/tty.rc'; sleep 60"
	: >"$T/frames"
	for _ in $(seq 1 600); do
		$TM capture-pane -p -t pv >>"$T/frames" 2>/dev/null
		echo ---- >>"$T/frames"
		[ -s "$T/tty.rc" ] && break
		sleep 0.05
	done
	$TM capture-pane -p -t pv >"$T/screen" 2>/dev/null
	$TM kill-server 2>/dev/null
	rc=$(sed -n 's/^EXIT=//p' "$T/tty.rc" 2>/dev/null)
	# Counts while running: some frame shows both accounts fetching, with
	# fewer than N done.
	mid=$(grep -cE "^r[12] +fetching [0-9]+/$N " "$T/frames")
	part=$(grep -E "^r[12] +fetching [0-9]+/$N " "$T/frames" |
	    awk -v n="$N" '{ split($3, a, "/"); if (a[1] < n) c++ } END { print c + 0 }')
	fin=$(grep -cE "^r[12]: done: $N/$N fetched" "$T/screen")
	live=$(grep -cE '^r[12] +(fetching|listing|connecting)' "$T/screen")
	if [ "$rc" = 0 ] && [ "$mid" -gt 0 ] && [ "$part" -gt 0 ] &&
	    [ "$fin" = 2 ] && [ "$live" = 0 ]; then
		t_pass tty_progress_counts_reach_total
	else
		t_fail tty_progress_counts_reach_total "rc=$rc, $mid live frames ($part partial), $fin finish lines, $live live lines left: $(tr '\n' '|' <"$T/screen" | head -c 600)"
	fi
	grep -qE '^TOTAL +2400 +2400 ' "$T/screen" &&
	    t_pass tty_report_table_after_progress ||
	    t_fail tty_report_table_after_progress "$(tr '\n' '|' <"$T/screen" | head -c 600)"
	# The ETA and the rate are shown while fetching.
	grep -qE "^r[12] +fetching [0-9]+/$N +[0-9.]+/[0-9.]+ MB +[0-9.]+ MB/s +ETA " "$T/frames" &&
	    t_pass tty_progress_shows_bytes_rate_eta ||
	    t_fail tty_progress_shows_bytes_rate_eta "$(grep -m 2 fetching "$T/frames")"
else
	t_fail tty_progress_counts_reach_total "tmux is missing (make deps)"
fi

# 2. No terminal: one line per account, no control sequences, on stderr;
# the report on stdout.
"$POPVAULT" fetch --config "$T/json.conf" --vault "$T/vj" -j 2 --json \
    --log "$T/events.log" >"$T/run1.json" 2>"$T/run1.err"
rc=$?
esc=$(grep -c "$(printf '\033')" "$T/run1.err")
cr=$(grep -c "$(printf '\r')" "$T/run1.err")
fl=$(grep -cE "^r[34]: done: $N/$N fetched" "$T/run1.err")
[ "$rc" = 0 ] && [ "$esc" = 0 ] && [ "$cr" = 0 ] && [ "$fl" = 2 ] &&
    t_pass notty_one_line_per_account_no_control_sequences ||
    t_fail notty_one_line_per_account_no_control_sequences "rc=$rc esc=$esc cr=$cr finish=$fl: $(head -c 300 "$T/run1.err")"

# 3. --json against the index, the archive and the server.
jcheck() {
	python3 - "$@" <<'EOF'
import json, os, sqlite3, sys
doc, vault, mode = sys.argv[1], sys.argv[2], sys.argv[3]
server = dict(a.split("=") for a in sys.argv[4:])
d = json.load(open(doc))
db = sqlite3.connect(os.path.join(vault, "index.sqlite"))
bad = []
def want(what, got, exp):
    if got != exp:
        bad.append("%s is %r, want %r" % (what, got, exp))
want("version", d.get("version"), 1)
want("program", d.get("program"), "popvault")
want("command", d.get("command"), "fetch")
want("exit", d.get("exit"), 0)
fields = ["listed", "new", "known", "archived", "duplicates", "collisions",
          "too_large", "failed", "verified", "verify_failed",
          "planned_deletes", "deleted", "unconfirmed_deletes", "errors",
          "bytes"]
names = [a["name"] for a in d["accounts"]]
want("accounts", sorted(names), sorted(server))
tot = dict((f, 0) for f in fields)
for a in d["accounts"]:
    n = a["name"]
    for f in fields:
        if not isinstance(a.get(f), int) or a[f] < 0:
            bad.append("%s.%s not a count: %r" % (n, f, a.get(f)))
        tot[f] += a.get(f, 0)
    if not isinstance(a.get("seconds"), (int, float)):
        bad.append("%s.seconds missing" % n)
    want(n + ".exit", a["exit"], 0)
    want(n + ".error", a["error"], None)
    want(n + ".user", a["user"], n)
    want(n + ".host", a["host"], "localhost")
    acct = db.execute("select id, dir from accounts where name = ?",
                      (n,)).fetchone()
    if acct is None:
        bad.append("no index account " + n)
        continue
    aid, adir = acct
    want(n + ".archive", a["archive"], os.path.join(vault, "accounts", adir))
    rows = db.execute("select count(*), coalesce(sum(size), 0) from messages "
                      "where account_id = ? and state = 'verified'",
                      (aid,)).fetchone()
    sight = db.execute("select count(*) from sightings where account_id = ?",
                       (aid,)).fetchone()[0]
    listed = int(server[n])
    want(n + ".listed", a["listed"], listed)
    files = 0
    md = os.path.join(a["archive"] or "", "maildir")
    for sub in ("new", "cur"):
        p = os.path.join(md, sub)
        if os.path.isdir(p):
            files += len(os.listdir(p))
    if mode == "first":
        want(n + ".new", a["new"], listed)
        want(n + ".known", a["known"], 0)
        want(n + ".archived", a["archived"], rows[0])
        want(n + ".archived (files)", a["archived"], files)
        want(n + ".verified", a["verified"], rows[0])
        want(n + ".duplicates", a["duplicates"], listed - rows[0])
        want(n + ".sightings", sight, listed)
    elif mode == "again":
        want(n + ".new", a["new"], 0)
        want(n + ".known", a["known"], listed)
        want(n + ".archived", a["archived"], 0)
        want(n + ".bytes", a["bytes"], 0)
    elif mode == "delete":
        dele = db.execute("select count(*) from sightings where "
                          "account_id = ? and state = 'deleted'",
                          (aid,)).fetchone()[0]
        want(n + ".planned_deletes", a["planned_deletes"], a["listed"])
        want(n + ".deleted", a["deleted"], dele)
for f in fields:
    want("totals." + f, d["totals"].get(f), tot[f])
want("totals.accounts", d["totals"].get("accounts"), len(d["accounts"]))
if mode == "first":
    # Every byte stored is counted once: the sum over the vault.
    stored = db.execute("select coalesce(sum(size), 0) from messages").fetchone()[0]
    recv = d["totals"]["bytes"]
    if recv < stored:
        bad.append("bytes %d < stored %d" % (recv, stored))
    want("totals.archived", d["totals"]["archived"],
         db.execute("select count(*) from messages").fetchone()[0])
if bad:
    print("; ".join(bad[:8]))
    sys.exit(1)
EOF
}
srv="r3=$(dv_server_files r3 | wc -l) r4=$(dv_server_files r4 | wc -l)"
# shellcheck disable=SC2086
out=$(jcheck "$T/run1.json" "$T/vj" first $srv 2>&1) &&
    t_pass json_first_run_matches_index_archive_server ||
    t_fail json_first_run_matches_index_archive_server "$out"
"$POPVAULT" fetch --config "$T/json.conf" --vault "$T/vj" --json -q \
    --log "$T/events.log" >"$T/run2.json" 2>"$T/run2.err"
rc=$?
# shellcheck disable=SC2086
out=$(jcheck "$T/run2.json" "$T/vj" again $srv 2>&1) && [ "$rc" = 0 ] &&
    t_pass json_second_run_nothing_new ||
    t_fail json_second_run_nothing_new "rc=$rc $out"
[ ! -s "$T/run2.err" ] && t_pass quiet_run_writes_nothing_to_stderr ||
    t_fail quiet_run_writes_nothing_to_stderr "$(head -c 300 "$T/run2.err")"
"$POPVAULT" fetch --config "$T/json.conf" --vault "$T/vj" --json -q \
    --delete=verified r3 --log "$T/events.log" >"$T/run3.json" 2>"$T/run3.err"
rc=$?
left=$(dv_server_files r3 | wc -l)
# shellcheck disable=SC2086
out=$(jcheck "$T/run3.json" "$T/vj" delete "r3=$N" 2>&1) &&
    [ "$rc" = 0 ] && [ "$left" = 0 ] &&
    t_pass json_delete_run_counts_deletions ||
    t_fail json_delete_run_counts_deletions "rc=$rc left=$left $out"

# A URL run: the same document with one account.
out=$(POPVAULT_PASSWORD=pw-r4 "$POPVAULT" fetch --vault "$T/vurl" --json -q \
    --tls-ca "$DV_CA" "pop3s://r4@localhost:$DV_POP3S_PORT" 2>"$T/url.err")
rc=$?
printf '%s' "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
a = d["accounts"]
assert d["version"] == 1 and d["exit"] == 0 and len(a) == 1, d
assert a[0]["user"] == "r4" and a[0]["listed"] == int(sys.argv[1]), a
assert a[0]["archived"] == a[0]["new"] - a[0]["duplicates"], a
' "$N" 2>"$T/url.py" && [ "$rc" = 0 ] &&
    t_pass json_url_run_one_account ||
    t_fail json_url_run_one_account "rc=$rc $(tail -n 2 "$T/url.py")"

# 4. The event trail: every account's run, in order, whole lines, 0600,
# no password.
python3 - "$T/events.log" "$N" >"$T/ev.out" 2>&1 <<'EOF'
import re, sys
lines = open(sys.argv[1], "rb").read().decode().splitlines()
pat = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z pid=\d+ '
                 r'account=(\S+) event=(\w+)( .*)?$')
seq = {}
bad = []
stored = verified = 0
for l in lines:
    m = pat.match(l)
    if not m:
        bad.append("bad line: " + l[:80])
        continue
    seq.setdefault((m.group(1), l.split()[1]), []).append(m.group(2))
    kv = dict(f.split("=", 1) for f in (m.group(3) or "").split() if "=" in f)
    if m.group(2) == "batch":
        stored += int(kv["stored"])
    elif m.group(2) == "verify":
        verified += int(kv["ok"])
runs = sorted(seq.items())
if len(runs) != 5:
    bad.append("%d runs logged, want 5" % len(runs))
for (acct, pid), ev in runs:
    if ev[0] != "start" or ev[-1] != "done":
        bad.append("%s %s: %s" % (acct, pid, ev))
    for e in ("connect", "login", "listing"):
        if e not in ev:
            bad.append("%s %s: no %s in %s" % (acct, pid, e, ev))
# r3 and r4 hold the same mail: which of the two parallel runs stores a
# given message is a race, but together they store and verify each once.
first = [ev for (a, p), ev in runs if "batch" in ev]
if len(first) != 2 or not any("verify" in ev for ev in first):
    bad.append("batch/verify events: %s" % runs)
if stored != int(sys.argv[2]) or verified != stored:
    bad.append("stored=%d verified=%d, want %s" % (stored, verified,
               sys.argv[2]))
if not any("delete" in ev for (a, p), ev in runs if a == "r3"):
    bad.append("no delete event for r3")
if bad:
    print("; ".join(bad[:6]))
    sys.exit(1)
EOF
rc=$?
mode=$(stat -c %a "$T/events.log")
pw=$(grep -c 'pw-r' "$T/events.log")
[ "$rc" = 0 ] && [ "$mode" = 600 ] && [ "$pw" = 0 ] &&
    t_pass log_events_every_run_0600_no_password ||
    t_fail log_events_every_run_0600_no_password "mode=$mode pw=$pw $(cat "$T/ev.out")"
grep -q 'event=delete chosen=1200 sent=1200 confirmed=1200' "$T/events.log" &&
    t_pass log_delete_event_counts ||
    t_fail log_delete_event_counts "$(grep event=delete "$T/events.log")"

# 5. Verbosity: -v shows the conversation with the password masked; -vv
# adds the TLS version, cipher, subject and the certificate's SHA-256.
out=$(POPVAULT_PASSWORD=pw-r2 "$POPVAULT" fetch --vault "$T/vv" -v \
    --tls-ca "$DV_CA" "pop3s://r2@localhost:$DV_POP3S_PORT" 2>&1)
if printf '%s\n' "$out" | grep -q '^popvault: > CAPA$' &&
    printf '%s\n' "$out" | grep -q '^popvault: > AUTH PLAIN \*\*\*\*$' &&
    ! printf '%s\n' "$out" | grep -q 'pw-r2' &&
    ! printf '%s\n' "$out" | grep -q 'TLS: TLSv'; then
	t_pass verbose_conversation_password_masked
else
	t_fail verbose_conversation_password_masked "$(printf '%s' "$out" | grep -E 'CAPA|AUTH|TLS' | head -n 4 | tr '\n' '|')"
fi
fp=$(openssl x509 -in "$(dirname "$DV_CA")/server.crt" -noout -fingerprint \
    -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
out=$(POPVAULT_PASSWORD=pw-r2 "$POPVAULT" fetch --vault "$T/vv" -vv \
    --tls-ca "$DV_CA" "pop3s://r2@localhost:$DV_POP3S_PORT" 2>&1)
printf '%s\n' "$out" | grep -qE "^popvault: TLS: TLSv1\.[23] [A-Z0-9_-]+, certificate /CN=localhost, sha256:$fp\$" &&
    t_pass very_verbose_tls_details_and_fingerprint ||
    t_fail very_verbose_tls_details_and_fingerprint "want sha256:$fp; $(printf '%s' "$out" | grep 'TLS' | head -n 2 | tr '\n' '|')"

t_done
