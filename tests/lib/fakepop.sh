# fakepop.sh -- start the scripted fake POP3 server (fakepop.py) from an
# integration test. Needs common.sh (t_on_exit) and $T. Every server
# started here is killed when the test exits.
#
#   fp_start NAME [fakepop options]
#       run fakepop on the script $T/NAME.json, logging to $T/NAME.fplog,
#       and wait (at most 10 s) for it to listen. Sets FP_PID, FP_PORT and
#       FP_LOG. Status 1, with FP_PORT=1 and the reason on stderr, if it
#       did not start.
#
#   fp_wait [SECONDS]
#       wait (at most SECONDS, default 20) for the last started fakepop to
#       exit: with --max-conns N it exits once its N sessions have ended,
#       so its log is then complete. Status 1 if it is still running.

FP_PIDS=()
_fp_cleanup() {
	local p
	for p in "${FP_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	return 0
}
t_on_exit _fp_cleanup

fp_start() {
	local name=$1 i
	shift
	FP_LOG=$T/$name.fplog
	: >"$FP_LOG"
	rm -f "$T/$name.port"
	python3 "$T_ROOT/tests/lib/fakepop.py" --script "$T/$name.json" \
	    --log "$FP_LOG" --port-file "$T/$name.port" "$@" \
	    >/dev/null 2>"$T/$name.fperr" &
	FP_PID=$!
	FP_PIDS+=("$FP_PID")
	for i in $(seq 1 200); do
		[ -s "$T/$name.port" ] && break
		kill -0 "$FP_PID" 2>/dev/null || break
		sleep 0.05
	done
	FP_PORT=$(cat "$T/$name.port" 2>/dev/null)
	if [ -z "$FP_PORT" ]; then
		echo "fakepop $name did not start: $(cat "$T/$name.fperr")" >&2
		FP_PORT=1
		return 1
	fi
}

fp_wait() {
	local i n=$(( ${1:-20} * 20 ))
	for i in $(seq 1 "$n"); do
		kill -0 "$FP_PID" 2>/dev/null || return 0
		sleep 0.05
	done
	return 1
}
