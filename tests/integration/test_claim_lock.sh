#!/usr/bin/env bash
# test_claim_lock.sh -- the index's write lock is never held while popvault
# waits for the network (issue 13, section 7).
#
# A message is claimed in the index as soon as it is complete (core/batch.c,
# claim()); claims are grouped in one transaction, which holds SQLite's
# write lock until it commits. The group used to stay open while bytes of
# the next response were buffered, even when they were not enough to go
# on: popvault then waited for the server with the lock held, and every
# parallel account of the vault waited too.
#
# The scripted server (tests/lib/fakepop.py) sends message 1 whole, then
# the first bytes of the next response ("+OK", no line end), and pauses
# 6 s before the rest. During the pause:
#   - another process takes the write lock at once (sqlite3, BEGIN
#     IMMEDIATE, busy timeout 300 ms), and
#   - message 1's claim is committed (its sighting visible to a reader).
# Then the run ends with both messages archived. Over plain POP3 and over
# TLS (the wait comes after SSL_read instead of recv).
set -u
. "$(dirname "$0")/../lib/common.sh"

T=$(t_tmpdir)
. "$T_ROOT/tests/lib/fakepop.sh"
C=$T/certs
"$T_ROOT/tests/lib/mkcerts.sh" "$C" >/dev/null 2>&1 ||
	{ t_fail mkcerts "tests/lib/mkcerts.sh failed"; t_done; }

python3 - "$T/split.json" <<'EOF'
import json, sys
m1 = "From: a@example.org\nSubject: one\nMessage-ID: <one@example.org>\n\nfirst\n"
m2 = "From: b@example.org\nSubject: two\nMessage-ID: <two@example.org>\n\nsecond\n"
wire2 = m2.replace("\n", "\r\n") + ".\r\n"
json.dump({
    "capa": ["UIDL", "USER", "PIPELINING"],
    "messages": [{"uidl": "u1", "text": m1}, {"uidl": "u2", "text": m2}],
    "rules": [
        # Message 1 whole, then the start of RETR 2's status line.
        {"match": "RETR 1", "builtin": True, "extra": "+OK"},
        # The rest of it, 8 s later.
        {"match": "RETR 2", "delay": 6,
         "raw": " %d octets\r\n%s" % (len(m2), wire2)},
    ]}, open(sys.argv[1], "w"))
EOF

# lock_probe NAME MODE URL-SCHEME [popvault options]
lock_probe() {
	local name=$1 mode=$2 scheme=$3 i rc got seen
	shift 3
	local v=$T/vault-$name
	local -a fpo=(--mode "$mode" --max-conns 1 --timeout 60)
	[ "$mode" = plain ] || fpo+=(--cert "$C/valid.crt" --key "$C/valid.key")
	fp_start split "${fpo[@]}" ||
		{ t_fail "${name}_lock_free_during_pause" "fakepop did not start"; return; }
	POPVAULT_PASSWORD=x "$POPVAULT" fetch --vault "$v" --timeout 30 "$@" \
	    "$scheme://u@localhost:$FP_PORT" >"$T/$name.out" 2>&1 &
	local pv=$!
	# The server has read RETR 2: message 1 and "+OK" are on their way.
	for i in $(seq 1 200); do
		grep -qE '^S1 C (plain|tls) q=[0-9]+ RETR 2$' "$FP_LOG" && break
		sleep 0.05
	done
	# Let popvault receive and claim message 1 (the pause lasts 6 s).
	sleep 1.5
	got=$(sqlite3 -cmd '.timeout 300' "$v/index.sqlite" \
	    'BEGIN IMMEDIATE; ROLLBACK;' 2>&1)
	rc=$?
	seen=$(sqlite3 "$v/index.sqlite" \
	    "select group_concat(uidl) from sightings" 2>&1)
	if [ "$rc" = 0 ] && [ -z "$got" ]; then
		t_pass "${name}_lock_free_during_pause"
	else
		t_fail "${name}_lock_free_during_pause" "sqlite3 exit $rc: $got"
	fi
	[ "$seen" = u1 ] && t_pass "${name}_claim_committed_before_the_wait" ||
	    t_fail "${name}_claim_committed_before_the_wait" "sightings during the pause: '$seen'"
	wait "$pv"
	rc=$?
	n=$(sqlite3 "$v/index.sqlite" \
	    "select count(*) from messages where state = 'verified'" 2>&1)
	if [ "$rc" = 0 ] && [ "$n" = 2 ]; then
		t_pass "${name}_run_archives_both"
	else
		t_fail "${name}_run_archives_both" "exit $rc, $n verified: $(tr '\n' '|' <"$T/$name.out" | head -c 300)"
	fi
	fp_wait 10
}

lock_probe plain plain pop3 --insecure-plaintext
lock_probe tls tls pop3s --tls-ca "$C/ca.crt"

t_done
