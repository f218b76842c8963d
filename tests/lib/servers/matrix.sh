# shellcheck shell=bash
#
# servers/matrix.sh -- the checks every POP3 server of the matrix must
# pass (issue 15), for one server behind the interface of README.md.
# Source after common.sh and pv.sh.
#
#   matrix_run NAME PREFIX
#       sources tests/lib/servers/NAME.sh, sets the server up (a server
#       that cannot be set up here is one SKIP line with the reason, never
#       a pass), starts it, and checks, with test names NAME_...:
#         full_fetch      the first fetch archives every message, and the
#                         archive holds exactly the bytes the server's own
#                         store says RETR gives (PREFIX_server_messages,
#                         read from the store, CRLF as LF)
#         rewritten       (SRV_REWRITES_ON_READ only, below) the next
#                         fetch archives exactly the messages whose size
#                         the server changed by serving them, in their new
#                         version, and the archive holds both versions
#         nothing_new     a second fetch stores nothing
#         crash_rerun     more mail; a fetch killed (abort) after its first
#                         archive sync, then a rerun: everything archived
#                         once, nothing pending, the index sound
#         delete_verified --delete=verified empties the store, and the
#                         archive still matches what the server held
#
# Environment: POPVAULT (the test build: crash_rerun needs its crash
# hook, POPVAULT_CRASH), SRV_CACHE (where servers are unpacked; default
# build/servers), MATRIX_N (messages, default 60). A server file may set
# SRV_KEEP_KINDS (genmail kinds it carries intact although the list below
# leaves them out: Courier keeps header_8bit, served as stored once
# popvault sends UTF8), SRV_FETCH_OPTS (words added to every fetch:
# Courier's "--login-delay ignore", as it announces LOGIN-DELAY 10 and
# does not enforce it), and SRV_REWRITES_ON_READ=1: serving a message
# changes its bytes in the store (GNU Mailutils writes "Status: OR" into a
# message once it is RETR'd, and a new X-IMAPbase into the first message
# when mail arrives). All three are reset before PREFIX_start.
#
# With SRV_REWRITES_ON_READ=1 the matrix reads the store again after
# every fetch and expects what popvault's rule says (docs/delete.md,
# "Content drift"): a message is downloaded when its UIDL is new or its
# LIST size differs from the size it had at its last download, and every
# version downloaded is kept (stored once per distinct content). The
# store's messages are keyed by their place in the store (an mbox: stable
# while nothing is deleted); the size is that of the RETR bytes, as LIST
# counts it. The model (_MX_MODEL_PY) says, for each fetch, which versions
# the archive must then hold (all it held before, plus the store's
# version of each message to download), how many the fetch archives, and,
# for a fetch killed and rerun, which versions the killed fetch may have
# archived besides (the version it was served, before the server rewrote
# it). "expect.py compare" checks the archive against that: exactly, or,
# after a killed fetch, every required version and nothing but those and
# the optional ones (--may). A message whose bytes changed with the same
# size is not seen by a fetch that keeps mail (the model does not expect
# it, and says so on a NOTE line); a fetch that deletes compares the
# header section (TOP n 0) of each message it did not download with the
# archived copy's and downloads those that differ (docs/delete.md), so
# its step expects every version the store shows (this server rewrites
# headers only); the final check after --delete=verified requires, for
# each message the store held, its version in the archive (or one with
# the same size, said on a NOTE line).

MATRIX_SKIP_KINDS="nul bare_cr cr_at_end crlf_lines dot_last_line dot_no_newline header_8bit big_header"

# _mx_expected DIR LIST: the sha256 of each server message with CRLF as
# LF (what popvault stores), one per line.
_mx_expected() {
	python3 -c '
import hashlib, os, sys
d = sys.argv[1]
for n in sorted(os.listdir(d)):
    with open(os.path.join(d, n), "rb") as fh:
        print(hashlib.sha256(fh.read().replace(b"\r\n", b"\n")).hexdigest())
' "$1" >"$2"
}

# The model of a server that rewrites what it serves (SRV_REWRITES_ON_READ;
# the header of this file). Commands:
#   snap DIR OUT          OUT: "NAME SHA256 SIZE" for each message file of
#                         DIR (PREFIX_server_messages' output): the sha256
#                         of what popvault stores (CRLF as LF), the size
#                         of the RETR bytes (what LIST says)
#   archive ADIR          the sha256 of each file of the Maildir ADIR
#   plan STATE ALIST PRE SNAP [SNAP2]
#                         a fetch that saw the store SNAP (or, killed, saw
#                         SNAP, and its rerun SNAP2), the archive holding
#                         ALIST before: writes PRE.must (every version the
#                         archive must then hold), PRE.may (versions it may
#                         hold besides: what the killed fetch was served),
#                         PRE.notes (NOTE lines: same-size rewrites, not
#                         expected; "lost:" lines: a message known with
#                         its size whose no version of that size is
#                         archived);
#                         prints how many messages the fetch archives;
#                         STATE (JSON: each message's size at its last
#                         download, every version seen) is updated
#   cover STATE SNAP ADIR every message of SNAP (the store before a
#                         --delete=verified) has its version in ADIR, or a
#                         version of it with the same size (a NOTE line)
_MX_MODEL_PY='
import hashlib, json, os, sys

def sha(p):
    with open(p, "rb") as fh:
        return hashlib.sha256(fh.read().replace(b"\r\n", b"\n")).hexdigest()

def load_snap(p):
    out = {}
    with open(p) as fh:
        for l in fh:
            n, h, z = l.split()
            out[n] = (h, int(z))
    return out

def load_state(p):
    try:
        with open(p) as fh:
            return json.load(fh)
    except FileNotFoundError:
        return {"size": {}, "seen": {}}

def archive(adir):
    out = []
    for sub in ("new", "cur"):
        for root, dirs, files in os.walk(os.path.join(adir, sub)):
            dirs.sort()
            out += [sha(os.path.join(root, f)) for f in sorted(files)]
    return out

def lines(p, items):
    with open(p, "w") as fh:
        fh.writelines(x + "\n" for x in sorted(items))

cmd, a = sys.argv[1], sys.argv[2:]
if cmd == "snap":
    with open(a[1], "w") as fh:
        for n in sorted(os.listdir(a[0])):
            p = os.path.join(a[0], n)
            fh.write("%s %s %d\n" % (n, sha(p), os.path.getsize(p)))
elif cmd == "archive":
    print("\n".join(archive(a[0])))
elif cmd == "plan":
    st = load_state(a[0])
    with open(a[1]) as fh:
        have = set(l.strip() for l in fh if l.strip())
    pre, k = a[2], load_snap(a[3])
    r = load_snap(a[4]) if len(a) > 4 else k
    size, seen = st["size"], st["seen"]
    for snap in (k, r):
        for n, (h, z) in snap.items():
            seen.setdefault(n, {})[h] = z
    # A fetch that deletes (MX_DELETE=1) checks the header section (TOP
    # n 0) of every message it did not download against the archived
    # copy, and downloads one that differs: this server rewrites only
    # headers, so every version not archived is downloaded.
    deleting = os.environ.get("MX_DELETE") == "1"
    moved = lambda snap, n: (n not in size or size[n] != snap[n][1] or
                             (deleting and snap[n][0] not in have))
    dk = set(n for n in k if moved(k, n))
    dr = dk | set(n for n in r if moved(r, n))
    got = set(r[n][0] for n in dr)
    must = have | got
    may = set(k[n][0] for n in dk) - must if r is not k else set()
    notes = []
    for n in sorted(r):
        h, z = r[n]
        if n in dr or h in have:
            continue
        same = [x for x, y in seen[n].items() if y == z and x in have]
        if same:
            notes.append("NOTE message %s: its bytes changed, its size (%d) "
                         "did not: not visible over POP3, so not expected in "
                         "the archive (its version %s is)" % (n, z, same[0][:12]))
        else:
            notes.append("lost: message %s (%d bytes, %s): no version of it "
                         "with that size is archived" % (n, z, h[:12]))
    for n in dr:
        size[n] = r[n][1]
    lines(pre + ".must", must)
    lines(pre + ".may", may)
    with open(pre + ".notes", "w") as fh:
        fh.writelines(x + "\n" for x in notes)
    with open(a[0], "w") as fh:
        json.dump(st, fh)
    print(len(got - have))
elif cmd == "cover":
    st, snap, have = load_state(a[0]), load_snap(a[1]), set(archive(a[2]))
    bad = 0
    for n in sorted(snap):
        h, z = snap[n]
        if h in have:
            continue
        same = [x for x, y in st["seen"].get(n, {}).items()
                if y == z and x in have]
        if same:
            print("NOTE message %s: not archived in the version the store "
                  "last held, which has the size of its archived version "
                  "%s (a rewrite POP3 does not show)" % (n, same[0][:12]))
        else:
            bad += 1
            print("message %s (%d bytes, %s): no version of that size is "
                  "archived" % (n, z, h[:12]))
    sys.exit(1 if bad else 0)
else:
    sys.exit("matrix model: unknown command " + cmd)
'

_mx_model() {
	python3 -c "$_MX_MODEL_PY" "$@"
}

# _mx_snap PREFIX SNAP: the store now, as PREFIX_server_messages says,
# into the folder SNAP.d, with SNAP (model snapshot) and SNAP.list
# (hashes, for expect.py). Non-zero if the server's reader failed.
_mx_snap() {
	local p=$1 out=$2
	rm -rf -- "$out.d" && mkdir -p "$out.d" &&
	"${p}_server_messages" "$out.d" &&
	_mx_model snap "$out.d" "$out" &&
	_mx_expected "$out.d" "$out.list"
}

# _mx_fetch VAULT URL ARGS...: one fetch of the matrix account.
_mx_fetch() {
	local v=$1 url=$2
	shift 2
	# shellcheck disable=SC2086  # SRV_FETCH_OPTS: words
	pv_fetch "$v" "$SRV_PASS" --tls-ca "$SRV_CA" $SRV_FETCH_OPTS "$@" "$url"
}

# _mx_notes D FILE: keep FILE's NOTE lines for the end of the run (each
# once); its other lines (lost:) go to MX_WHY.
_mx_notes() {
	grep '^NOTE' "$2" >>"$1/notes"
	MX_WHY="$MX_WHY$(grep -v '^NOTE' "$2" | head -n 3 | sed 's/^/; /' | tr '\n' ' ')"
}

# _mx_step NAME P D V URL ARGS...: one fetch of a rewriting server that
# completes (exit 0): the store is read before it, the model says which
# versions the archive must then hold exactly and how many the fetch
# archives. Returns 1 with the reasons in MX_WHY; the plan's prediction is
# left in MX_PLANNED.
_mx_step() {
	local tag=$1 p=$2 d=$3 v=$4 url=$5 ad
	shift 5
	MX_WHY=""
	MX_PLANNED=""
	ad=$(pv_account_dir "$v" 2>/dev/null)
	if ! _mx_snap "$p" "$d/$tag.snap" 2>"$d/$tag.err"; then
		MX_WHY="reading the store failed: $(tail -n 2 "$d/$tag.err")"
		return 1
	fi
	if [ -n "$ad" ]; then
		_mx_model archive "$ad/maildir" >"$d/$tag.before"
	else
		: >"$d/$tag.before"
	fi
	case " $* " in *" --delete="*) MX_DELETE=1 ;; *) MX_DELETE=0 ;; esac
	MX_PLANNED=$(MX_DELETE=$MX_DELETE _mx_model plan "$d/model.json" \
	    "$d/$tag.before" "$d/$tag" "$d/$tag.snap") ||
	    { MX_WHY="model failed"; return 1; }
	_mx_notes "$d" "$d/$tag.notes"
	_mx_fetch "$v" "$url" "$@"
	[ "$PV_RC" = 0 ] || MX_WHY="exit $PV_RC: $(printf '%s' "$PV_OUT" | tail -n 3)"
	[ "$(pv_field archived)" = "$MX_PLANNED" ] ||
	    MX_WHY="$MX_WHY; archived '$(pv_field archived)', the store says $MX_PLANNED"
	python3 "$T_ROOT/tests/lib/expect.py" compare "$d/$tag.must" \
	    "$(pv_account_dir "$v")/maildir" >"$d/$tag.cmp" 2>&1 ||
	    MX_WHY="$MX_WHY; $(head -n 3 "$d/$tag.cmp")"
	MX_WHY=${MX_WHY#; }
	[ -z "$MX_WHY" ]
}

matrix_run() {
	local name=$1 p=$2 cache=${SRV_CACHE:-$T_ROOT/build/servers}
	local d v gen why url n total i f rw ad
	local -a files=()
	d=$(t_tmpdir) || { t_fail "${name}_setup" "no temp dir"; return; }
	# shellcheck disable=SC1090
	. "$T_ROOT/tests/lib/servers/$name.sh" ||
	    { t_fail "${name}_setup" "cannot source servers/$name.sh"; return; }
	mkdir -p "$cache"
	if ! why=$("${p}_setup" "$cache" 2>"$d/setup.err"); then
		t_skip "${name}_matrix" "${why:-$(tail -n 1 "$d/setup.err")}"
		return
	fi
	SRV_USER=matrix
	SRV_KEEP_KINDS=""
	SRV_FETCH_OPTS=""
	SRV_REWRITES_ON_READ=""
	SRV_PASS=matrix-pw-$RANDOM
	export SRV_USER SRV_PASS
	if ! "${p}_start" "$d/srv" >"$d/start.out" 2>&1; then
		t_fail "${name}_start" "$(tail -n 3 "$d/start.out")"
		"${p}_stop" >/dev/null 2>&1
		return
	fi
	t_on_exit "${p}_stop >/dev/null 2>&1"
	url="pop3s://$SRV_USER@127.0.0.1:$SRV_PORT"
	v=$d/vault
	rw=${SRV_REWRITES_ON_READ:-0}

	# The mail: genmail's messages, without the kinds an mbox store or a
	# line-based server cannot carry intact (docs/servers.md).
	gen=$d/gen
	python3 "$T_ROOT/tests/gen/genmail.py" --count "${MATRIX_N:-60}" \
	    --seed 15 --list "$gen" >"$d/kinds" || {
		t_fail "${name}_genmail" "genmail failed"; "${p}_stop"; return; }
	while read -r n kind f; do
		case " ${SRV_KEEP_KINDS:-} " in *" $kind "*) ;; *)
			case " $MATRIX_SKIP_KINDS " in *" $kind "*) continue ;; esac
		esac
		files+=("$gen/new/$f")
	done <"$d/kinds"
	total=${#files[@]}
	n=$((total * 2 / 3))
	if [ "$total" -lt 20 ]; then
		t_fail "${name}_genmail" "only $total messages to deliver"
		"${p}_stop"
		return
	fi

	"${p}_deliver" "${files[@]:0:n}" || {
		t_fail "${name}_deliver" "could not deliver"; "${p}_stop"; return; }

	# full_fetch
	if [ "$rw" = 1 ]; then
		_mx_step s1 "$p" "$d" "$v" "$url"
		why=$MX_WHY
		[ "$(wc -l <"$d/s1.snap")" = "$n" ] ||
		    why="$why; the store says $(wc -l <"$d/s1.snap") messages, $n delivered"
	else
		mkdir -p "$d/exp1"
		"${p}_server_messages" "$d/exp1" && _mx_expected "$d/exp1" "$d/list1"
		_mx_fetch "$v" "$url"
		why=""
		[ "$PV_RC" = 0 ] || why="exit $PV_RC: $(printf '%s' "$PV_OUT" | tail -n 3)"
		[ "$(wc -l <"$d/list1")" = "$n" ] || why="$why; the store says $(wc -l <"$d/list1") messages, $n delivered"
		python3 "$T_ROOT/tests/lib/expect.py" compare "$d/list1" \
		    "$(pv_account_dir "$v")/maildir" >"$d/cmp1" 2>&1 ||
		    why="$why; $(head -n 3 "$d/cmp1")"
	fi
	why=${why#; }
	if [ -z "$why" ]; then t_pass "${name}_full_fetch"; else
		t_fail "${name}_full_fetch" "$why"; fi

	# rewritten, nothing_new
	if [ "$rw" = 1 ]; then
		# The store after the first fetch: each message it rewrote
		# (size changed) is downloaded again, the old version kept.
		if _mx_step s1b "$p" "$d" "$v" "$url"; then
			t_pass "${name}_rewritten"
			printf 'NOTE %s: the fetch after the first archived %s rewritten messages again\n' \
			    "$name" "$MX_PLANNED" >>"$d/notes"
		else
			t_fail "${name}_rewritten" "$MX_WHY"
		fi
		_mx_step s1c "$p" "$d" "$v" "$url"
		why=$MX_WHY
		[ "$MX_PLANNED" = 0 ] ||
		    why="$why; the store changed again: the model plans $MX_PLANNED downloads"
		why=${why#; }
		if [ -z "$why" ]; then t_pass "${name}_nothing_new"; else
			t_fail "${name}_nothing_new" "$why"; fi
	else
		_mx_fetch "$v" "$url"
		if [ "$PV_RC" = 0 ] && [ "$(pv_field archived)" = 0 ]; then
			t_pass "${name}_nothing_new"
		else
			t_fail "${name}_nothing_new" "exit $PV_RC, archived '$(pv_field archived)'"
		fi
	fi

	# crash_rerun
	"${p}_deliver" "${files[@]:n}" || {
		t_fail "${name}_deliver" "could not deliver"; "${p}_stop"; return; }
	why=""
	if [ "$rw" = 1 ]; then
		ad=$(pv_account_dir "$v")
		_mx_snap "$p" "$d/s2.snap" 2>"$d/s2.err" ||
		    why="reading the store failed: $(tail -n 2 "$d/s2.err")"
		_mx_model archive "$ad/maildir" >"$d/s2.before"
	else
		mkdir -p "$d/exp2"
		"${p}_server_messages" "$d/exp2" && _mx_expected "$d/exp2" "$d/list2"
	fi
	POPVAULT_CRASH=archive-synced:1 _mx_fetch "$v" "$url" --batch 5
	[ "$PV_RC" = 134 ] || why="$why; the crashing run exited $PV_RC, not 134"
	if [ "$rw" = 1 ]; then
		# What the rerun is served: the killed session's reads
		# rewrote some messages (pop3d writes them without QUIT).
		_mx_snap "$p" "$d/s2c.snap" 2>"$d/s2c.err" ||
		    why="$why; reading the store failed: $(tail -n 2 "$d/s2c.err")"
		_mx_model plan "$d/model.json" "$d/s2.before" "$d/s2" \
		    "$d/s2.snap" "$d/s2c.snap" >/dev/null || why="$why; model failed"
		MX_WHY=""
		_mx_notes "$d" "$d/s2.notes"
		why="$why$MX_WHY"
	fi
	_mx_fetch "$v" "$url" --batch 5
	[ "$PV_RC" = 0 ] || why="$why; the rerun exited $PV_RC: $(printf '%s' "$PV_OUT" | tail -n 2)"
	if [ "$rw" = 1 ]; then
		if python3 "$T_ROOT/tests/lib/expect.py" compare --may "$d/s2.may" \
		    "$d/s2.must" "$ad/maildir" >"$d/cmp2" 2>&1; then
			printf 'NOTE %s: after the killed fetch and its rerun, %s\n' \
			    "$name" "$(cat "$d/cmp2")" >>"$d/notes"
		else
			why="$why; $(head -n 3 "$d/cmp2")"
		fi
		# The rerun's reads rewrote what it downloaded: one more fetch
		# archives exactly those again, the next nothing.
		if [ -z "$why" ]; then
			_mx_step s3 "$p" "$d" "$v" "$url" ||
			    why="after the rerun: $MX_WHY"
		fi
		if [ -z "$why" ]; then
			_mx_step s3b "$p" "$d" "$v" "$url" ||
			    why="the second fetch after the rerun: $MX_WHY"
			[ "$MX_PLANNED" = 0 ] ||
			    why="$why; the store changed again: the model plans $MX_PLANNED downloads"
		fi
		i=$(pv_index_problems "$v" "$(_mx_model archive "$ad/maildir" | wc -l)") ||
		    why="$why; index: $i"
	else
		python3 "$T_ROOT/tests/lib/expect.py" compare "$d/list2" \
		    "$(pv_account_dir "$v")/maildir" >"$d/cmp2" 2>&1 ||
		    why="$why; $(head -n 3 "$d/cmp2")"
		i=$(pv_index_problems "$v" "$(sort -u "$d/list2" | wc -l)") ||
		    why="$why; index: $i"
	fi
	why=${why#; }
	if [ -z "$why" ]; then t_pass "${name}_crash_rerun"; else
		t_fail "${name}_crash_rerun" "$why"; fi

	# delete_verified
	if [ "$rw" = 1 ]; then
		_mx_step s4 "$p" "$d" "$v" "$url" --delete=verified
		why=$MX_WHY
		[ "$("${p}_count")" = 0 ] || why="$why; the store still holds $("${p}_count") messages"
		# Everything the store held before this run is archived.
		_mx_model cover "$d/model.json" "$d/s4.snap" "$ad/maildir" \
		    >"$d/cover" 2>&1 || why="$why; $(grep -v '^NOTE' "$d/cover" | head -n 3)"
		grep '^NOTE' "$d/cover" >>"$d/notes"
	else
		_mx_fetch "$v" "$url" --delete=verified
		why=""
		[ "$PV_RC" = 0 ] || why="exit $PV_RC: $(printf '%s' "$PV_OUT" | tail -n 3)"
		[ "$("${p}_count")" = 0 ] || why="$why; the store still holds $("${p}_count") messages"
		python3 "$T_ROOT/tests/lib/expect.py" compare "$d/list2" \
		    "$(pv_account_dir "$v")/maildir" >"$d/cmp3" 2>&1 ||
		    why="$why; $(head -n 3 "$d/cmp3")"
	fi
	why=${why#; }
	if [ -z "$why" ]; then t_pass "${name}_delete_verified"; else
		t_fail "${name}_delete_verified" "$why"; fi
	[ ! -s "$d/notes" ] || awk '!seen[$0]++' "$d/notes" | sed "s/^NOTE \(message\)/NOTE $name: \1/"
	"${p}_stop" >/dev/null 2>&1
}
