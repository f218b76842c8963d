#!/usr/bin/env bash
# test_durable.sh -- folders and adopted files are durable before the index
# counts on them (issue 13, item 3; docs/decisions.md "Durable folders").
#
# A power cut can undo a directory entry that was never fsynced: a folder
# made by mkdir, a file renamed into new/, a tar volume renamed from .part.
# Nothing may be committed in the index (and later deleted on the server)
# on the strength of such an entry. No fault-injecting file system here:
# the runs are traced with strace, and tests/lib/fstrace.py checks the
# order of the system calls.
#
# Per format (maildir, mbox, tar.gz, eml):
#   <format>_new_vault_folders_durable
#       a first fetch into a vault whose folder and two parents do not
#       exist: every folder the run creates (vault and parents, accounts/,
#       the account, the format's folders) is fsynced, and so is its
#       parent, after the mkdir and before the next index commit.
#   maildir_adopt_fsyncs_new, tar.gz_adopt_fsyncs_volume,
#   eml_adopt_fsyncs_file
#       a run killed by the crash hook right after it renamed a file into
#       new/ (maildir-first-rename) or eml/ (eml-first-rename), or a
#       volume from .part (tar-volume-renamed); the next run's recovery adopts it by hash:
#       the adopted file and its folder are fsynced before the recovery's
#       index commit, and the recovery's folders pass the mkdir check.
#   mbox_cut_quarantine_durable
#       a run killed after writing a second batch it never committed
#       (mbox-written:2): recovery adopts no uncommitted mbox bytes, it
#       moves them to quarantine/: the quarantine folder is created
#       durably (mkdir check) and the quarantine file and folder are
#       fsynced before the mbox file is cut.
#   Every vault is then checked by tests/lib/check_archive.py.
#
# Needs strace (tests/deps.sh); skipped with a note without it.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
. "$T_ROOT/tests/lib/pv.sh"

if ! command -v strace >/dev/null 2>&1 || ! strace -qq -o /dev/null true 2>/dev/null; then
	t_skip durable "strace missing or not allowed to trace"
	t_done
fi

FORMATS=${DURABLE_FORMATS:-"maildir mbox tar.gz eml"}
FSTRACE=$T_ROOT/tests/lib/fstrace.py
CHECK=$T_ROOT/tests/lib/check_archive.py
T=$(t_tmpdir)
PW=durable-pw
dv_start "$T/dv" || { t_fail dovecot_start "could not start Dovecot"; t_done; }
dv_adduser dru "$PW" || { t_fail adduser dru; t_done; }
python3 "$T_ROOT/tests/gen/genmail.py" --count 30 --seed 13 \
    "$(dv_maildir dru)" >/dev/null || { t_fail generate genmail; t_done; }
dv_fix_perms dru
URL="pop3s://dru@localhost:$DV_POP3S_PORT"
dv_server_files dru >"$T/list"

# traced FORMAT VAULT TRACE: a fetch under strace; PV_OUT, PV_RC as pv_fetch.
traced() {
	local f=$1 v=$2 tr=$3
	# shellcheck disable=SC2046
	# LeakSanitizer cannot work under ptrace (make asan): leaks are
	# the business of every other test.
	PV_OUT=$(POPVAULT_PASSWORD=$PW \
	    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	    strace -f -y -qq -o "$tr" \
	    -e trace=mkdir,mkdirat,open,openat,fsync,fdatasync,rename,renameat,renameat2,link,linkat,ftruncate \
	    "$POPVAULT" fetch --vault "$v" $(pv_fmt_args "$f") --batch 10 \
	    --tls-ca "$DV_CA" "$URL" 2>&1)
	PV_RC=$?
}

crash() {	# FORMAT VAULT SPEC: a run the crash hook stops (exit 134)
	local f=$1 v=$2
	# shellcheck disable=SC2046
	POPVAULT_CRASH=$3 pv_fetch "$v" "$PW" $(pv_fmt_args "$f") --batch 10 \
	    --tls-ca "$DV_CA" "$URL"
	[ "$PV_RC" -eq 134 ] && return 0
	echo "crash at $3: rc=$PV_RC: $(printf '%s' "$PV_OUT" | tail -n 2)"
	return 1
}

archive_ok() {	# FORMAT VAULT: prints why not
	local ad
	ad=$(pv_account_dir "$2") || { echo "no account folder"; return 1; }
	python3 "$CHECK" --cl-padding "$1" "$ad" "$T/list" >"$T/check.out" 2>&1 ||
	    { echo "archive: $(head -n 5 "$T/check.out")"; return 1; }
}

for f in $FORMATS; do
	# 1. A new vault, two levels below folders that do not exist yet.
	name=${f}_new_vault_folders_durable
	v=$T/new-$f/deeper/vault
	traced "$f" "$v" "$T/trace-new-$f"
	if [ "$PV_RC" -ne 0 ]; then
		t_fail "$name" "rc=$PV_RC: $(printf '%s' "$PV_OUT" | tail -n 3)"
	elif ! out=$(python3 "$FSTRACE" mkdirs "$T/trace-new-$f"); then
		t_fail "$name" "$(printf '%s' "$out" | head -n 8 | tr '\n' ';')"
	elif [ "$(printf '%s\n' "$out" | sed -n 's/^created //p')" -lt 6 ]; then
		t_fail "$name" "the trace shows too few folders created: $out"
	elif ! why=$(archive_ok "$f" "$v"); then
		t_fail "$name" "$why"
	else
		t_pass "$name"
	fi

	# 2. Recovery after a crash that left something to adopt or cut.
	v=$T/rec-$f
	case $f in
	maildir) name=maildir_adopt_fsyncs_new; spec=maildir-first-rename:1 ;;
	eml) name=eml_adopt_fsyncs_file; spec=eml-first-rename:1 ;;
	tar*) name=${f}_adopt_fsyncs_volume; spec=tar-volume-renamed:1 ;;
	mbox*) name=${f}_cut_quarantine_durable; spec=mbox-written:2 ;;
	esac
	if ! why=$(crash "$f" "$v" "$spec"); then
		t_fail "$name" "$why"
		continue
	fi
	ad=$(pv_account_dir "$v")
	traced "$f" "$v" "$T/trace-rec-$f"
	if [ "$PV_RC" -ne 0 ]; then
		t_fail "$name" "rc=$PV_RC: $(printf '%s' "$PV_OUT" | tail -n 3)"
		continue
	fi
	why=
	case $f in
	maildir)
		printf '%s' "$PV_OUT" | grep -q 'recovery: [1-9][0-9]* messages\{0,1\} of an interrupted run kept' ||
		    why="recovery adopted nothing: $(printf '%s' "$PV_OUT" | head -n 3)"
		out=$(python3 "$FSTRACE" adopt "$T/trace-rec-$f" "$ad/maildir" \
		    "$ad/maildir/new" '/maildir/(new|cur)/[^/]+$') ||
		    why="$why; $out"
		;;
	eml)
		printf '%s' "$PV_OUT" | grep -q 'recovery: [1-9][0-9]* messages\{0,1\} of an interrupted run kept' ||
		    why="recovery adopted nothing: $(printf '%s' "$PV_OUT" | head -n 3)"
		out=$(python3 "$FSTRACE" adopt "$T/trace-rec-$f" "$ad/eml" \
		    "$ad/eml" '/eml/[0-9a-f]{64}(-[0-9]+)?\.eml$') ||
		    why="$why; $out"
		;;
	tar*)
		printf '%s' "$PV_OUT" | grep -q 'recovery: [1-9][0-9]* messages\{0,1\} of an interrupted run kept' ||
		    why="recovery adopted nothing: $(printf '%s' "$PV_OUT" | head -n 3)"
		out=$(python3 "$FSTRACE" adopt "$T/trace-rec-$f" "$ad/tar" \
		    "$ad/tar" '/tar/[^/]+\.tar(\.gz|\.zst|\.xz)?$') ||
		    why="$why; $out"
		;;
	mbox*)
		printf '%s' "$PV_OUT" | grep -q 'moved to quarantine/' ||
		    why="recovery quarantined nothing: $(printf '%s' "$PV_OUT" | head -n 3)"
		out=$(python3 "$FSTRACE" cut "$T/trace-rec-$f" "$ad/quarantine" \
		    '/mbox/[^/]+\.mbox(\.gz)?$') || why="$why; $out"
		;;
	esac
	out=$(python3 "$FSTRACE" mkdirs "$T/trace-rec-$f") ||
	    why="$why; $(printf '%s' "$out" | head -n 8 | tr '\n' ';')"
	w=$(archive_ok "$f" "$v") || why="$why; $w"
	if [ -z "$why" ]; then t_pass "$name"; else t_fail "$name" "${why#; }"; fi
done

t_done
