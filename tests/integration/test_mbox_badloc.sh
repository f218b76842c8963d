#!/usr/bin/env bash
# test_mbox_badloc.sh -- "popvault verify" on an mbox archive whose index
# holds a location that does not parse (issue 13, section 7): that item is
# reported (unreadable, with its location), the others are verified as
# usual, the row gets its "verify:" note, and the exit status is 79 (the
# verification-failed code of core/util.h), not an error for the whole
# account. Plain mbox and mbox.gz, against a scripted server
# (tests/lib/fakepop.py). Where valgrind is installed (and the binary is
# not an ASan build), the same verify runs under it and must read no
# uninitialised memory: the verifier used to sort and compare the
# half-parsed entry of such a location.
set -u
. "$(dirname "$0")/../lib/common.sh"

T=$(t_tmpdir)
. "$T_ROOT/tests/lib/fakepop.sh"

python3 - "$T/three.json" <<'EOF'
import json, sys
body = "".join("line %04d of a longer body\n" % i for i in range(400))
msgs = [
    {"uidl": "u1", "text": "From: a@example.org\nSubject: one\n"
     "Message-ID: <1@example.org>\n\nFrom here on\n"},
    {"uidl": "u2", "text": "From: b@example.org\nSubject: two\n"
     "Message-ID: <2@example.org>\n\n" + body},
    {"uidl": "u3", "text": "From: c@example.org\nSubject: three\n"
     "Message-ID: <3@example.org>\n\nthird\n"},
]
json.dump({"capa": ["UIDL", "USER", "PIPELINING"], "messages": msgs},
          open(sys.argv[1], "w"))
EOF

VG=
if command -v valgrind >/dev/null 2>&1; then
	case "$POPVAULT" in
	*asan*) ;;
	*) ldd "$POPVAULT" 2>/dev/null | grep -q libasan || VG=valgrind ;;
	esac
fi

# badloc NAME [--compress gzip]
badloc() {
	local name=$1 v=$T/vault-$1 loc out rc n note want_sum
	shift
	fp_start three --mode plain --max-conns 1 --timeout 30 ||
		{ t_fail "${name}_fetch" "fakepop did not start"; return; }
	POPVAULT_PASSWORD=x "$POPVAULT" fetch -q --vault "$v" --format mbox \
	    "$@" --insecure-plaintext "pop3://u@127.0.0.1:$FP_PORT" \
	    >"$T/$name.fetch" 2>&1
	rc=$?
	fp_wait 10
	n=$(sqlite3 "$v/index.sqlite" \
	    "select count(*) from messages where state = 'verified'" 2>&1)
	if [ "$rc" != 0 ] || [ "$n" != 3 ]; then
		t_fail "${name}_fetch" "exit $rc, $n verified: $(head -c 300 "$T/$name.fetch")"
		return
	fi
	t_pass "${name}_fetch"
	# The long message's location, its numbers broken: it still names
	# the file the third message is in.
	loc=$(sqlite3 "$v/index.sqlite" "select location from messages m
	    join sightings s on s.msg = m.id where s.uidl = 'u2'")
	bad="${loc%%:*}:0:x:1:-"
	sqlite3 "$v/index.sqlite" "update messages set location = '$bad'
	    where location = '$loc'"
	out=$("$POPVAULT" verify --vault "$v" 2>&1)
	rc=$?
	want_sum="3 checked, 2 ok, 0 missing, 0 altered, 1 unreadable"
	if [ "$rc" = 79 ] && printf '%s\n' "$out" | grep -qxF "u@127.0.0.1:$FP_PORT: $bad: unreadable" &&
	    printf '%s\n' "$out" | grep -qxF "$want_sum" &&
	    [ "$(printf '%s\n' "$out" | grep -c ': unreadable$')" = 1 ]; then
		t_pass "${name}_verify_reports_that_item"
	else
		t_fail "${name}_verify_reports_that_item" "exit $rc: $(printf '%s' "$out" | tr '\n' '|')"
	fi
	note=$(sqlite3 "$v/index.sqlite" "select group_concat(x, ' ') from
	    (select s.uidl || '=' || coalesce(m.note, '') || '/' || m.state
	    as x from messages m join sightings s on s.msg = m.id
	    order by s.uidl)")
	[ "$note" = "u1=/verified u2=verify: unreadable/verified u3=/verified" ] &&
	    t_pass "${name}_only_that_row_noted" ||
	    t_fail "${name}_only_that_row_noted" "$note"
	if [ -z "$VG" ]; then
		echo "note: ${name}_verify_reads_no_uninitialised_memory not run (no valgrind, or an ASan build)"
		return
	fi
	out=$(valgrind -q --error-exitcode=99 "$POPVAULT" verify --vault "$v" 2>&1)
	rc=$?
	if [ "$rc" = 79 ] && ! printf '%s\n' "$out" | grep -q '^=='; then
		t_pass "${name}_verify_reads_no_uninitialised_memory"
	else
		t_fail "${name}_verify_reads_no_uninitialised_memory" "exit $rc: $(printf '%s\n' "$out" | grep -m 3 -A 3 '^==' | tr '\n' '|' | head -c 600)"
	fi
}

badloc mbox
badloc mbox_gz --compress gzip

t_done
