#!/usr/bin/env bash
# test_secret_files.sh -- a config file or netrc that can run a command
# or holds a secret is refused when it, or the file a symbolic link
# points to, is writable by group or others, or belongs to another user
# (issue 13, section 7). Refused before anything runs: the command's
# side effect (a marker file) must not appear. The message names the
# file, the link's target, and the fix.
#
# No server is needed: a refused file stops popvault before it
# connects; an accepted one gets as far as the (closed) port, exit 69.
set -u
. "$(dirname "$0")/../lib/common.sh"

T=$(t_tmpdir)
PORT=$(free_port)

# A config whose password command leaves a mark when it runs, through a
# symbolic link to a group- and world-writable file.
printf '[account a]\nhost = 127.0.0.1\nport = %s\nuser = u\nvault = %s\npassword_command = touch %s; echo pw\n' \
    "$PORT" "$T/v" "$T/ran" >"$T/real.conf"
chmod 666 "$T/real.conf"
ln -s "$T/real.conf" "$T/link.conf"
out=$("$POPVAULT" fetch --config "$T/link.conf" 2>&1)
rc=$?
if [ "$rc" -eq 64 ] && [ ! -e "$T/ran" ] &&
    printf '%s' "$out" | grep -qF "$T/link.conf: is a symbolic link to $T/real.conf, which can run a command (password_command), so it must not be writable by group or others (chmod go-w $T/real.conf)"; then
	t_pass symlink_to_writable_config_refused_command_not_run
else
	t_fail symlink_to_writable_config_refused_command_not_run "rc=$rc ran=$([ -e "$T/ran" ] && echo yes || echo no): $out"
fi

# Fixed as told: the command runs (and the run gets to the closed port).
chmod go-w "$T/real.conf"
out=$("$POPVAULT" fetch --config "$T/link.conf" 2>&1)
rc=$?
if [ "$rc" -eq 69 ] && [ -e "$T/ran" ]; then
	t_pass fixed_config_accepted
else
	t_fail fixed_config_accepted "rc=$rc: $out"
fi

# Without a command or a secret, a group-readable config keeps working.
printf '[account b]\nhost = 127.0.0.1\nport = %s\nuser = u\nvault = %s\n' \
    "$PORT" "$T/v2" >"$T/plain.conf"
chmod 640 "$T/plain.conf"
out=$(POPVAULT_PASSWORD=pw "$POPVAULT" fetch --config "$T/plain.conf" 2>&1)
rc=$?
[ "$rc" -eq 69 ] && t_pass group_readable_config_without_secrets_works ||
    t_fail group_readable_config_without_secrets_works "rc=$rc: $out"

# Another user's files: root too is refused (the owner's name and the
# chown that fixes it are said).
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	printf 'machine 127.0.0.1 login u password s3cret\n' >"$T/netrc"
	chmod 600 "$T/netrc"
	chown nobody "$T/netrc"
	printf '[account c]\nhost = 127.0.0.1\nport = %s\nuser = u\nvault = %s\nnetrc = %s\n' \
	    "$PORT" "$T/v3" "$T/netrc" >"$T/c.conf"
	chmod 600 "$T/c.conf"
	out=$("$POPVAULT" fetch --config "$T/c.conf" 2>&1)
	rc=$?
	if [ "$rc" -eq 64 ] &&
	    printf '%s' "$out" | grep -qF "$T/netrc: holds a password but belongs to nobody" &&
	    printf '%s' "$out" | grep -qF "(chown root $T/netrc)"; then
		t_pass netrc_of_another_user_refused_for_root
	else
		t_fail netrc_of_another_user_refused_for_root "rc=$rc: $out"
	fi
	chown root "$T/netrc"
	chown nobody "$T/real.conf"
	rm -f "$T/ran"
	out=$("$POPVAULT" fetch --config "$T/link.conf" 2>&1)
	rc=$?
	if [ "$rc" -eq 64 ] && [ ! -e "$T/ran" ] &&
	    printf '%s' "$out" | grep -qF "but belongs to nobody"; then
		t_pass config_of_another_user_refused_for_root
	else
		t_fail config_of_another_user_refused_for_root "rc=$rc: $out"
	fi
else
	echo "SKIP other-owner cases: need root and a user nobody (chown)"
fi

t_done
