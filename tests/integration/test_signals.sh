#!/usr/bin/env bash
# test_signals.sh -- SIGTERM and SIGINT stop popvault after the current
# batch is committed and verified: exit status 80, nothing deleted, the
# index consistent, and the next run finishes the job.
#
# What the archive must hold comes from the server, not from popvault:
# the SHA-256 of the stored form of every message file Dovecot holds,
# taken before the first run (tests/lib/expect.py). After the stopped run
# the messages the index calls verified are among them; after the rerun
# (which empties the server) the archive, read by tests/lib/check_archive.py,
# holds exactly that multiset: nothing missing, nothing twice.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

T=$(t_tmpdir)
dv_start "$T/dv" || { t_fail dovecot_start "could not start Dovecot"; t_done; }

# Every user before any login: Dovecot caches "unknown user" briefly.
for u in sigterm sigint; do
	dv_adduser "$u" pw
	python3 "$T_ROOT/tests/gen/genmail.py" --count 40 --seed 21 \
	    "$(dv_maildir "$u")" >/dev/null
	dv_fix_perms "$u"
done
for sig in TERM INT; do
	u=sig$(echo "$sig" | tr 'A-Z' 'a-z')
	dv_server_files "$u" >"$T/files-$u"
	n0=$(wc -l <"$T/files-$u")
	# shellcheck disable=SC2046  # Dovecot's file names have no spaces
	python3 "$T_ROOT/tests/lib/expect.py" sha256 $(cat "$T/files-$u") |
	    LC_ALL=C sort >"$T/expected-$u"
	if [ "$n0" -ne 40 ] || [ "$(LC_ALL=C sort -u "$T/expected-$u" | wc -l)" -ne 40 ]; then
		t_fail "sig${sig}_setup" "want 40 distinct messages on the server, have $n0 files, $(LC_ALL=C sort -u "$T/expected-$u" | wc -l) hashes"
		continue
	fi
	url="pop3s://$u@localhost:$DV_POP3S_PORT"
	v=$T/v-$u
	p=$T/pause-$u
	mkdir -p "$p"
	POPVAULT_PASSWORD=pw POPVAULT_TEST_PAUSE=$p POPVAULT_TEST_PAUSE_AT=verify \
	    "$POPVAULT" fetch --vault "$v" --batch 10 --delete=verified \
	    --tls-ca "$DV_CA" "$url" >"$T/out-$u" 2>&1 &
	pid=$!
	for i in $(seq 600); do [ -e "$p/ready" ] && break; sleep 0.1; done
	[ -e "$p/ready" ] || t_fail "sig${sig}_pause" "never paused before verify"
	kill -s "$sig" "$pid"
	touch "$p/go"
	wait "$pid"
	rc=$?
	n1=$(dv_server_files "$u" | wc -l)
	ver=$(pv_sql "$v" "select count(*) from messages where state = 'verified'")
	other=$(pv_sql "$v" "select count(*) from messages where state <> 'verified'")
	# The verified rows are messages the server holds (by hash).
	foreign=$(pv_sql "$v" "select lower(hex(sha256)) from messages
	    where state = 'verified'" | LC_ALL=C sort |
	    LC_ALL=C comm -23 - "$T/expected-$u" | wc -l)
	if [ "$rc" -eq 80 ] && [ "$n1" -eq "$n0" ] && [ "$ver" -eq 10 ] &&
	    [ "$other" -eq 0 ] && [ "$foreign" -eq 0 ]; then
		t_pass "sig${sig}_stops_after_verified_batch"
	else
		t_fail "sig${sig}_stops_after_verified_batch" \
		    "rc=$rc server $n0->$n1 verified=$ver other=$other, $foreign verified hashes the server never had: $(tail -2 "$T/out-$u")"
	fi
	pv_fetch "$v" pw --batch 10 --delete=verified --tls-ca "$DV_CA" "$url"
	n2=$(dv_server_files "$u" | wc -l)
	ver=$(pv_sql "$v" "select count(*) from messages where state = 'verified'")
	if [ "$PV_RC" -eq 0 ] && [ "$n2" -eq 0 ] && [ "$ver" -eq "$n0" ]; then
		t_pass "sig${sig}_next_run_finishes"
	else
		t_fail "sig${sig}_next_run_finishes" "rc=$PV_RC server=$n2 verified=$ver"
	fi
	# The server is empty now: its messages are in the archive, each
	# once, byte for byte, as an independent reader sees them.
	if python3 "$T_ROOT/tests/lib/check_archive.py" maildir \
	    "$(pv_account_dir "$v")" "$T/expected-$u" >"$T/check-$u" 2>&1; then
		t_pass "sig${sig}_archive_holds_every_server_message_once"
	else
		t_fail "sig${sig}_archive_holds_every_server_message_once" \
		    "$(head -n 8 "$T/check-$u" | tr '\n' '|')"
	fi
done
t_done
