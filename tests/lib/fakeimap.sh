# shellcheck shell=bash
# fakeimap.sh -- start the scripted fake IMAP server (fakeimap.py) from an
# integration test. Needs common.sh (t_on_exit) and $T. Every server
# started here is stopped when the test exits.
#
#   fi_start NAME [fakeimap options]
#       run fakeimap logging to $T/NAME.filog (appended to: one log may
#       span several runs on one --state) and wait (at most 10 s) for it
#       to listen. Sets FI_PID, FI_PORT and FI_LOG. Status 1, with
#       FI_PORT=1 and the reason on stderr, if it did not start.
#
#   fi_wait [SECONDS]
#       wait (at most SECONDS, default 20) for the last started fakeimap
#       to exit (with --max-conns N it exits once its N sessions have
#       ended, so its log and state are then complete). Status 1 if it
#       is still running.
#
#   fi_stop
#       stop the last started fakeimap (SIGTERM) and wait for it: its
#       state file is complete once a session's command has been
#       answered, so stopping between sessions loses nothing.

FI_PIDS=()
_fi_cleanup() {
	local p
	for p in "${FI_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	return 0
}
t_on_exit _fi_cleanup

fi_start() {
	local name=$1 i
	shift
	FI_LOG=$T/$name.filog
	touch "$FI_LOG"
	rm -f "$T/$name.port"
	python3 "$T_ROOT/tests/lib/fakeimap.py" --log "$FI_LOG" \
	    --port-file "$T/$name.port" "$@" \
	    >/dev/null 2>"$T/$name.fierr" &
	FI_PID=$!
	FI_PIDS+=("$FI_PID")
	for i in $(seq 1 200); do
		[ -s "$T/$name.port" ] && break
		kill -0 "$FI_PID" 2>/dev/null || break
		sleep 0.05
	done
	FI_PORT=$(cat "$T/$name.port" 2>/dev/null)
	if [ -z "$FI_PORT" ]; then
		echo "fakeimap $name did not start: $(cat "$T/$name.fierr")" >&2
		FI_PORT=1
		return 1
	fi
}

fi_wait() {
	local i n=$(( ${1:-20} * 20 ))
	for i in $(seq 1 "$n"); do
		kill -0 "$FI_PID" 2>/dev/null || return 0
		sleep 0.05
	done
	return 1
}

fi_stop() {
	kill "$FI_PID" 2>/dev/null
	wait "$FI_PID" 2>/dev/null
	return 0
}
