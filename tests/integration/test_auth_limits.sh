#!/usr/bin/env bash
# test_auth_limits.sh -- APOP on request, the maximum message size, and
# bounded memory: a 100 MB message goes through the Maildir path without
# being held in memory.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

T=$(t_tmpdir)
dv_start "$T/dv" --set "auth_mechanisms=plain login apop" ||
    { t_fail dovecot_start "could not start Dovecot"; t_done; }
dv_adduser dave dave-pw
python3 "$T_ROOT/tests/gen/genmail.py" --count 20 --seed 11 \
    "$(dv_maildir dave)" >/dev/null
dv_adduser erin erin-pw
python3 "$T_ROOT/tests/gen/genmail.py" --count 2 --seed 12 --big-every 1 \
    --big-size 100000000 "$(dv_maildir erin)" >/dev/null
URL_D="pop3s://dave@localhost:$DV_POP3S_PORT"
URL_E="pop3s://erin@localhost:$DV_POP3S_PORT"

# APOP, only because it was asked for; the digest, never the password.
pv_fetch "$T/v-apop" dave-pw -v --auth apop --tls-ca "$DV_CA" "$URL_D"
if [ "$PV_RC" -eq 0 ] && printf '%s' "$PV_OUT" | grep -q '> APOP' &&
    ! printf '%s' "$PV_OUT" | grep -q '> USER' &&
    pv_compare dave "$(pv_account_dir "$T/v-apop")/maildir" >/dev/null; then
	t_pass apop_login
else
	t_fail apop_login "rc=$PV_RC"
fi
pv_fetch "$T/v-user" dave-pw -v --tls-ca "$DV_CA" "$URL_D"
# Without --auth apop the same server (it offers APOP) gets no APOP, and
# the run must still work: a run that failed before sending anything must
# not pass for one that chose not to send APOP.
if [ "$PV_RC" -eq 0 ] && ! printf '%s' "$PV_OUT" | grep -q '> APOP' &&
    [ "$(pv_field archived)" = 20 ]; then
	t_pass apop_only_on_request
else
	t_fail apop_only_on_request "rc=$PV_RC (want 0), archived $(pv_field archived) (want 20), APOP sent: $(printf '%s' "$PV_OUT" | grep -c '> APOP'): $(printf '%s' "$PV_OUT" | tail -n 2 | tr '\n' '|')"
fi

# Bounded memory: peak RSS of runs archiving two ~100 MB messages, to
# Maildir (streamed) and to tar.zst (spooled to a temporary file).
peak_rss() {
	python3 - "$POPVAULT" "$@" <<'PY'
import os, resource, subprocess, sys
exe, args = sys.argv[1], sys.argv[2:]
env = dict(os.environ, POPVAULT_PASSWORD="erin-pw")
r = subprocess.run([exe, "fetch", "-q"] + args, env=env)
print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
}
# ASan's shadow memory inflates RSS; the bounds are for the plain build.
asan=0
case "$POPVAULT" in *asan*) asan=1 ;; esac
for spec in "maildir none 16384" "tar zstd 65536"; do
	set -- $spec
	v=$T/v-big-$1
	out=$(peak_rss --vault "$v" --format "$1" --compress "$2" \
	    --tls-ca "$DV_CA" "$URL_E")
	rc=${out% *}; kb=${out#* }
	limit=$3
	[ "$asan" = 1 ] && limit=300000
	if [ "$rc" -eq 0 ] && [ "$kb" -lt "$limit" ] &&
	    [ "$(pv_sql "$v" "select count(*) from messages where state = 'verified'")" = 2 ]; then
		echo "$1/$2: peak RSS ${kb} KB"
		t_pass "big_messages_bounded_memory_$1"
	else
		t_fail "big_messages_bounded_memory_$1" \
		    "rc=$rc peak RSS ${kb} KB (limit $limit)"
	fi
done
pv_compare erin "$(pv_account_dir "$T/v-big-maildir")/maildir" >/dev/null &&
    t_pass big_messages_byte_identical ||
    t_fail big_messages_byte_identical "archive differs"

# --max-message-size: a larger message is not fetched, reported, exit 1.
pv_fetch "$T/v-max" erin-pw --max-message-size 50M --tls-ca "$DV_CA" "$URL_E"
if [ "$PV_RC" -eq 1 ] && printf '%s' "$PV_OUT" | grep -q 'over the maximum size' &&
    [ "$(pv_field archived)" = 0 ]; then
	t_pass max_message_size_skips
else
	t_fail max_message_size_skips "rc=$PV_RC $PV_OUT"
fi

t_done
