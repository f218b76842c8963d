#!/usr/bin/env bash
# test_password_command.sh -- a password command has a deadline and a
# clean start (issue 13, section 7):
#
#  - one that does not finish within password_command_timeout
#    (--password-command-timeout) fails with a clear error (exit 64), in
#    URL and config mode, and leaves nothing running: the shell and the
#    process it started (a copy of sleep with a unique name, looked for
#    with pgrep) are gone;
#  - it starts with every signal at its default disposition, although
#    popvault was started with SIGINT, SIGPIPE, SIGHUP and SIGQUIT
#    ignored (trap '' in the parent shell), and although popvault itself
#    ignores SIGPIPE and SIGXFSZ: the command reads SigIgn in
#    /proc/self/status. SigBlk is read too, with SIGUSR2 blocked when
#    popvault starts; but dash, Debian's /bin/sh, clears the signal mask
#    when it starts, so on such a system that half cannot tell whether
#    popvault unblocked anything (it does: core/secret.c, child_exec).
#
#  - on a terminal, the command gets the terminal while it runs (it is in
#    a process group of its own): one that reads /dev/tty gets what is
#    typed there (a guard: main ran it in popvault's group, which worked
#    too).
#
# No server is needed: the password is asked for before connecting, and
# the connection that follows goes to a closed port.
set -u
. "$(dirname "$0")/../lib/common.sh"

T=$(t_tmpdir)
PORT=$(free_port)
MARK=$T/pv-sleep-$$-$RANDOM
cp "$(command -v sleep)" "$MARK"

# left: the live processes whose command line names the marker.
left() {
	local p st out=""
	for p in $(pgrep -f -- "$MARK"); do
		st=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1)
		[ -n "$st" ] && [ "$st" != Z ] && out="$out $p"
	done
	printf '%s' "$out"
}
# gone: wait (10 s at most: SIGKILL is delivered at once, but a loaded
# machine may take a moment to run the kernel's exit path) until no
# process of the marker lives; print the ones left.
gone() {
	local i l
	for i in $(seq 1 100); do
		l=$(left)
		[ -z "$l" ] && return 0
		sleep 0.1
	done
	printf '%s' "$l"
	return 1
}

# --- the timeout, URL mode ---------------------------------------------------
start=$SECONDS
out=$(timeout 300 "$POPVAULT" fetch --vault "$T/v1" \
    --password-command-timeout 2 \
    --password-command "$MARK 600; echo never" \
    "pop3s://u@127.0.0.1:$PORT" 2>&1)
rc=$?
took=$((SECONDS - start))
l=$(gone) || true
if [ "$rc" -eq 64 ] &&
    printf '%s' "$out" | grep -q 'password command timed out after 2 s and was killed' &&
    [ -z "$l" ]; then
	t_pass timeout_url_mode_killed_nothing_left
else
	t_fail timeout_url_mode_killed_nothing_left "rc=$rc after ${took}s, left:$l: $out"
fi
# The bound is the run itself ending: timeout(1) would have said 124.
[ "$rc" -ne 124 ] && t_pass timeout_url_mode_bounded ||
    t_fail timeout_url_mode_bounded "still running after 300 s"

# --- the timeout, config mode ------------------------------------------------
printf '[account a]\nhost = 127.0.0.1\nport = %s\nuser = u\nvault = %s\npassword_command = %s 600; echo never\npassword_command_timeout = 1\n' \
    "$PORT" "$T/v2" "$MARK" >"$T/a.conf"
chmod 600 "$T/a.conf"
out=$(timeout 300 "$POPVAULT" fetch --config "$T/a.conf" 2>&1)
rc=$?
l=$(gone) || true
if [ "$rc" -eq 64 ] &&
    printf '%s' "$out" | grep -q 'account a: password command timed out after 1 s and was killed' &&
    [ -z "$l" ]; then
	t_pass timeout_config_mode_killed_nothing_left
else
	t_fail timeout_config_mode_killed_nothing_left "rc=$rc left:$l: $out"
fi
# The command line's value wins over the file's.
out=$(timeout 300 "$POPVAULT" fetch --config "$T/a.conf" \
    --password-command-timeout 3 2>&1)
rc=$?
l=$(gone) || true
if [ "$rc" -eq 64 ] &&
    printf '%s' "$out" | grep -q 'timed out after 3 s' && [ -z "$l" ]; then
	t_pass timeout_command_line_wins
else
	t_fail timeout_command_line_wins "rc=$rc left:$l: $out"
fi
# A bad value is refused before anything runs.
out=$("$POPVAULT" fetch --vault "$T/v3" --password-command-timeout 0 \
    --password-command 'echo pw' "pop3s://u@127.0.0.1:$PORT" 2>&1)
rc=$?
[ "$rc" -eq 64 ] && printf '%s' "$out" | grep -q 'password-command-timeout: 1 to 86400' &&
    t_pass timeout_option_range || t_fail timeout_option_range "rc=$rc $out"

# --- the terminal -------------------------------------------------------------
# Run on a terminal (a pty), popvault hands it to the command's process
# group: a command that reads a passphrase from /dev/tty gets what is
# typed there, instead of being stopped by SIGTTIN until the timeout.
python3 - "$POPVAULT" "$T" "$PORT" >"$T/tty.out" 2>&1 <<'PY'
import os, pty, select, sys, time
pv, t, port = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(pv, [pv, "fetch", "--vault", t + "/v5",
        "--password-command-timeout", "60", "--password-command",
        "head -n 1 /dev/tty >" + t + "/typed; cat " + t + "/typed",
        "pop3s://u@127.0.0.1:" + port])
out, typed, end = b"", False, time.monotonic() + 120
while time.monotonic() < end:
    if not typed and time.monotonic() > end - 118:
        os.write(fd, b"typed-pw-J5\n")
        typed = True
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            d = os.read(fd, 4096)
        except OSError:
            break
        if not d:
            break
        out += d
_, st = os.waitpid(pid, 0)
print(out.decode(errors="replace"))
print("exit", os.waitstatus_to_exitcode(st))
PY
if [ "$(cat "$T/typed" 2>/dev/null)" = typed-pw-J5 ] &&
    grep -q '^exit 69' "$T/tty.out"; then
	t_pass password_command_reads_the_terminal
else
	t_fail password_command_reads_the_terminal "typed: $(cat "$T/typed" 2>/dev/null); $(tail -n 3 "$T/tty.out")"
fi

# --- default signal dispositions ----------------------------------------------
# SIGUSR2 blocked by a wrapper that then runs popvault (a shell cannot
# block a signal); the others ignored by the shell.
(
	trap '' INT PIPE HUP QUIT
	exec python3 -c '
import os, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
os.execv(sys.argv[1], sys.argv[1:])' "$POPVAULT" fetch --vault "$T/v4" \
	    --password-command "grep -E '^Sig(Ign|Blk):' /proc/self/status >$T/sig.txt; echo pw" \
	    "pop3s://u@127.0.0.1:$PORT"
) >"$T/sig.out" 2>&1
# Signals 32 and 33 are the C library's own (thread cancellation and
# set*id): sigaction refuses them, so what popvault inherited for them
# (some CI runners start everything with them ignored) is not its to
# reset, and glibc takes them back in the command when it needs them.
libc_bits() {	# libc_bits HEX: HEX without signals 32 and 33
	[ -n "$1" ] || return 0
	printf '%016x' $((0x$1 & ~0x180000000))
}
ign=$(libc_bits "$(awk '$1 == "SigIgn:" { print $2 }' "$T/sig.txt" 2>/dev/null)")
blk=$(libc_bits "$(awk '$1 == "SigBlk:" { print $2 }' "$T/sig.txt" 2>/dev/null)")
# The wrapper really did set them up for popvault (else this proves nothing).
pv_ign=$(
	trap '' INT PIPE HUP QUIT
	python3 -c '
import signal
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
print(open("/proc/self/status").read())' | awk '$1 == "SigIgn:" || $1 == "SigBlk:" { print $2 }' | tr '\n' ' '
)
case $pv_ign in
0000000000000000*|*" 0000000000000000 ") t_fail signal_setup "the wrapper ignored or blocked nothing: $pv_ign" ;;
*)
	if [ "$ign" = 0000000000000000 ] && [ "$blk" = 0000000000000000 ]; then
		t_pass password_command_default_signal_dispositions
	else
		t_fail password_command_default_signal_dispositions "SigIgn=$ign SigBlk=$blk (popvault started with $pv_ign) $(cat "$T/sig.out")"
	fi ;;
esac

t_done
