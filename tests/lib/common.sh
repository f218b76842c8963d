# shellcheck shell=bash
#
# common.sh -- small helpers for integration test scripts. Source it; it sets
# no shell options, but it does install an EXIT trap (and INT/TERM/HUP traps
# that exit) which runs the t_on_exit commands, stops a Dovecot started with
# dovecot.sh (dv_stop, if defined) and removes t_tmpdir directories. Do not
# replace that EXIT trap; register with t_on_exit instead.
#
#   t_pass NAME          print "PASS NAME", count it
#   t_fail NAME MSG      print "FAIL NAME: MSG", count it
#   t_skip NAME REASON   print "SKIP NAME: REASON", count it: a check that
#                        could not run here (a missing tool, no
#                        permission). tests/run.sh counts and lists every
#                        skip; a SKIP line without a reason counts as a
#                        failure there. Never skip silently, and never
#                        skip what this machine can run.
#   t_check NAME CMD...  run CMD; t_pass NAME if it succeeds, else t_fail
#   t_done               exit: 1 if anything failed (or nothing ran), else 0;
#                        prints "N passed, M failed, K skipped" on stderr
#                        only
#   t_tmpdir             print the path of a new temporary directory under
#                        ${TMPDIR:-/tmp}, removed at exit unless KEEP=1
#                        (works inside $(...))
#   t_on_exit CMD        run CMD (eval'd) at exit, last registered first
#   free_port            print a TCP port free on 127.0.0.1 right now
#
# Counts live in this shell: t_pass/t_fail inside a subshell or a pipeline
# are printed but not counted by t_done.
#
# Isolation: scripts run side by side (tests/run.sh JOBS), and beside
# other people's runs on the same machine. Everything a script makes lives
# under its t_tmpdir folders; XDG_CONFIG_HOME and XDG_DATA_HOME point into
# a private one, so a popvault run that forgets --config or --vault cannot
# read or write the default config or vault of the user running the tests.
# Ports come from free_port (or dovecot.sh), never fixed numbers.

T_PASSED=0
T_FAILED=0
T_SKIPPED=0
T_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034  # for the sourcing scripts
T_ROOT=$(cd "$T_LIB_DIR/../.." && pwd)
# Registry of temp dirs, keyed by this shell's pid ($$ is the same in
# subshells, so t_tmpdir works inside command substitution).
_T_REG="${TMPDIR:-/tmp}/.popvault-t.$$.dirs"
_T_EXIT_CMDS=()

t_pass() {
	printf 'PASS %s\n' "$1"
	T_PASSED=$((T_PASSED + 1))
}

t_fail() {
	printf 'FAIL %s: %s\n' "$1" "${2:-failed}"
	T_FAILED=$((T_FAILED + 1))
}

t_skip() {
	printf 'SKIP %s: %s\n' "$1" "${2:?t_skip: say why $1 is skipped}"
	T_SKIPPED=$((T_SKIPPED + 1))
}

t_check() {
	local name=$1
	shift
	if "$@"; then
		t_pass "$name"
	else
		t_fail "$name" "command failed: $*"
	fi
}

t_done() {
	printf '%d passed, %d failed, %d skipped\n' "$T_PASSED" "$T_FAILED" \
	    "$T_SKIPPED" >&2
	if [ "$T_FAILED" -gt 0 ] || [ "$T_PASSED" -eq 0 ]; then
		exit 1
	fi
	exit 0
}

t_tmpdir() {
	local d
	d=$(mktemp -d "${TMPDIR:-/tmp}/popvault-test.XXXXXX") ||
		{ echo "t_tmpdir: mktemp failed" >&2; return 1; }
	# Searchable (not listable) by others: a root-run Dovecot's login and
	# auth processes (users dovenull, dovecot) reach sockets below it.
	chmod 0711 "$d"
	printf '%s\n' "$d" >> "$_T_REG"
	printf '%s\n' "$d"
}

t_on_exit() {
	_T_EXIT_CMDS+=("$*")
}

free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

_t_exit() {
	local rc=$? i d
	trap - EXIT INT TERM HUP
	for ((i = ${#_T_EXIT_CMDS[@]} - 1; i >= 0; i--)); do
		eval "${_T_EXIT_CMDS[i]}" || true
	done
	if declare -F dv_stop >/dev/null; then
		dv_stop || true
	fi
	if [ -f "$_T_REG" ]; then
		while IFS= read -r d; do
			[ -n "$d" ] && [ -d "$d" ] || continue
			if [ "${KEEP:-0}" = 1 ]; then
				echo "KEEP=1: kept $d" >&2
			else
				rm -rf -- "$d"
			fi
		done < "$_T_REG"
		rm -f -- "$_T_REG"
	fi
	exit "$rc"
}

trap _t_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

_T_XDG=$(t_tmpdir) && mkdir -p "$_T_XDG/config" "$_T_XDG/data" &&
	export XDG_CONFIG_HOME=$_T_XDG/config XDG_DATA_HOME=$_T_XDG/data

# python3 on PATH may be a version manager's shim (pyenv's runs several
# shell processes per call, 5-6 times the cost of Python itself) and the
# tests call python3 hundreds of times: put the interpreter it stands for
# first on PATH, once (tests/run.sh does it for all the scripts it runs).
if [ -z "${T_PYTHON_DIR:-}" ]; then
	_t_py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
	if [ -n "$_t_py" ] && [ -x "$_t_py" ] && mkdir -p "$_T_XDG/bin" &&
	    ln -s "$_t_py" "$_T_XDG/bin/python3"; then
		export T_PYTHON_DIR=$_T_XDG/bin PATH=$_T_XDG/bin:$PATH
	fi
	unset _t_py
fi
