#!/usr/bin/env bash
# test_delete_big.sh -- "fetch --delete=verified" on a 1,000-message
# mailbox (4 messages over 1 MiB): one run archives, verifies and deletes
# everything; the server is left empty; the archive holds every message
# exactly once, byte-identical (check_archive.py against hashes taken
# before the run), "popvault verify" and "popvault cat" read them back; a
# second run finds nothing to do.
#
# Environment: DELETE_BIG_FORMATS (check_archive.py names, default
# "maildir mbox.gz tar.zst"): one mailbox and vault per format.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

FORMATS=${DELETE_BIG_FORMATS:-"maildir mbox.gz tar.zst"}
N=1000
PW=big-delete-pw
CHECK=$T_ROOT/tests/lib/check_archive.py
T=$(t_tmpdir)
dv_start "$T/dv" || { t_fail dovecot_start "could not start Dovecot"; t_done; }
python3 "$T_ROOT/tests/gen/genmail.py" --count "$N" --seed 1000 \
    --big-every 250 --big-size 1200000 "$T/gen" >/dev/null ||
    { t_fail genmail "generator failed"; t_done; }
(cd "$T/gen/new" && python3 "$T_ROOT/tests/lib/expect.py" sha256 *) >"$T/expected" ||
    { t_fail expect "expect.py sha256 failed"; t_done; }
i=0
for f in $FORMATS; do
	i=$((i + 1))
	dv_adduser "big$i" "$PW" && pv_fill "big$i" "$T/gen/new" ||
	    { t_fail setup "user big$i"; t_done; }
done
sleep 1.1

i=0
for f in $FORMATS; do
	i=$((i + 1))
	u=big$i
	v=$T/vault-$i
	url="pop3s://$u@localhost:$DV_POP3S_PORT"
	name=delete_verified_${N}_$f
	start=$SECONDS
	# shellcheck disable=SC2046
	pv_fetch "$v" "$PW" $(pv_fmt_args "$f") --delete=verified \
	    --tls-ca "$DV_CA" "$url"
	secs=$((SECONDS - start))
	if [ "$PV_RC" -ne 0 ] || [ "$(pv_field archived)" != "$N" ] ||
	    [ "$(pv_field verified)" != "$N" ] || [ "$(pv_field deleted)" != "$N" ]; then
		t_fail "$name" "rc=$PV_RC archived=$(pv_field archived) verified=$(pv_field verified) deleted=$(pv_field deleted): $(printf '%s' "$PV_OUT" | tail -n 3 | tr '\n' '|')"
		continue
	fi
	t_pass "$name"
	echo "note: $name: ${secs} s"
	n=$(dv_server_files "$u" | wc -l)
	[ "$n" = 0 ] && t_pass "${name}_server_empty" ||
	    t_fail "${name}_server_empty" "the server still has $n"
	ad=$(pv_account_dir "$v")
	if python3 "$CHECK" "$f" "$ad" "$T/expected" >"$T/check" 2>&1; then
		t_pass "${name}_archive_complete"
	else
		t_fail "${name}_archive_complete" "$(head -n 8 "$T/check" | tr '\n' '|')"
	fi
	why=$(pv_index_problems "$v" "$N")
	d=$(pv_sql "$v" "select count(*) from sightings where state = 'deleted'")
	[ -z "$why" ] && [ "$d" = "$N" ] && t_pass "${name}_index" ||
	    t_fail "${name}_index" "$why; $d sightings deleted"
	out=$("$POPVAULT" verify --vault "$v" 2>&1)
	rc=$?
	[ "$rc" -eq 0 ] && printf '%s\n' "$out" | grep -q "^$N checked, $N ok, 0 missing" &&
	    t_pass "${name}_popvault_verify" ||
	    t_fail "${name}_popvault_verify" "rc=$rc: $(printf '%s' "$out" | tail -n 3 | tr '\n' '|')"
	# "popvault cat" gives back the stored bytes of a few UIDLs.
	acct=$(pv_sql "$v" "select name from accounts")
	bad=0
	while IFS='|' read -r uidl sha; do
		got=$("$POPVAULT" cat --vault "$v" "$acct" "$uidl" | sha256sum | cut -d' ' -f1)
		[ "$got" = "$sha" ] || bad=$((bad + 1))
	done < <(pv_sql "$v" "select s.uidl, lower(hex(m.sha256)) from sightings s
	    join messages m on m.id = s.msg order by s.uidl limit 5 offset 100")
	[ "$bad" = 0 ] && t_pass "${name}_cat" || t_fail "${name}_cat" "$bad of 5 differ"
	# shellcheck disable=SC2046
	pv_fetch "$v" "$PW" $(pv_fmt_args "$f") --delete=verified --tls-ca "$DV_CA" "$url"
	[ "$PV_RC" -eq 0 ] && [ "$(pv_field listed)" = 0 ] && [ "$(pv_field archived)" = 0 ] &&
	    t_pass "${name}_second_run_nothing" ||
	    t_fail "${name}_second_run_nothing" "rc=$PV_RC listed=$(pv_field listed)"
done

t_done
