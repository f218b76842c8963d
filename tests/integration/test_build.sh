#!/usr/bin/env bash
# test_build.sh -- the build and the binary it ships (docs/decisions.md,
# "Build" and "Test hooks"):
#
#   release_*     the binary "make install" installs (into a scratch
#                 DESTDIR) holds none of the test hooks' variable names,
#                 and a run against the fake server with POPVAULT_CRASH,
#                 POPVAULT_NOW and POPVAULT_TEST_PAUSE set archives as if
#                 they were not; the same run of the test binary
#                 (POPVAULT) aborts, dates its tar volume 1970 and
#                 pauses, so the hooks are on that path;
#   hardening_*   "make -n" compiles with -D_FORTIFY_SOURCE=2 and
#                 -fstack-protector-strong and links with
#                 -Wl,-z,relro,-z,now; the release binary has BIND_NOW, a
#                 GNU_RELRO segment and fortified, stack-protected calls;
#   user_flags    CPPFLAGS, CFLAGS and LDFLAGS reach the commands; a
#                 _FORTIFY_SOURCE in CPPFLAGS replaces ours;
#   missing_dev   with libarchive's pkg-config file hidden, "make" stops
#                 before compiling with the Debian package to install and
#                 "make deps"; "make -n deps" and "make -n clean" still work;
#   header_deps   in a copy of the tree, an object is rebuilt when a header
#                 it includes changes, and only then (-MMD -MP);
#   lint_man      "make lint" fails on a manual page mandoc warns about;
#   include_graph the module include graph has no cycle, and the lint
#                 (tests/lint/includes.py) fails on a new cycle, on core/
#                 including cmd/ and on a format including the index.
#
# Environment: POPVAULT (the test binary), POPVAULT_RELEASE (the release
# binary; default: popvault beside POPVAULT). Needs make, a C compiler,
# mandoc, python3 (the fake server), readelf and strings.
set -u
. "$(dirname "$0")/../lib/common.sh"

if [ -z "${POPVAULT:-}" ] || [ ! -x "$POPVAULT" ]; then
	t_fail setup "POPVAULT must name the test binary"
	t_done
fi
BDIR=$(dirname "$POPVAULT")
REL=${POPVAULT_RELEASE:-$BDIR/popvault}
if [ ! -x "$REL" ]; then
	t_fail setup "no release binary $REL (POPVAULT_RELEASE)"
	t_done
fi
T=$(t_tmpdir) || { t_fail tmpdir "t_tmpdir failed"; t_done; }
. "$T_ROOT/tests/lib/fakepop.sh"

# --- release: installed binary without hooks ----------------------------
d=$T/destdir
if out=$(make -s -C "$T_ROOT" install DESTDIR="$d" PREFIX=/usr \
    BUILD="$BDIR" 2>&1) && cmp -s "$d/usr/bin/popvault" "$REL"; then
	t_pass release_installed_is_the_release_binary
else
	t_fail release_installed_is_the_release_binary "$out"
fi
INST=$d/usr/bin/popvault
[ -x "$INST" ] || INST=$REL
names=$(strings "$INST" | grep -E 'POPVAULT_(CRASH|NOW|TEST_PAUSE)' | head -3)
if [ -z "$names" ] &&
    strings "$POPVAULT" | grep -q 'POPVAULT_CRASH'; then
	t_pass release_has_no_hook_names
else
	t_fail release_has_no_hook_names "in the installed binary: ${names:-none}; in the test binary: $(strings "$POPVAULT" | grep -c 'POPVAULT_CRASH')"
fi

# One message; three sessions: the release run and two of the test binary.
printf '%s\n' '{"messages": [{"uidl": "u1", "text": "From: a@example.org\nMessage-ID: <1@example.org>\nSubject: hooks\n\nbody\n"}]}' \
    >"$T/fp.json"
if ! fp_start fp --mode plain --max-conns 3 --timeout 60; then
	t_fail release_fakepop "the fake server did not start"
	t_done
fi
URL="pop3://u@127.0.0.1:$FP_PORT"
# hooked_run NAME BINARY [VAR=VALUE...]: a tar fetch into $T/NAME.v with
# those variables; exit status in RC, output in $T/NAME.out.
hooked_run() {
	local name=$1 bin=$2
	shift 2
	env POPVAULT_PASSWORD=pw "$@" "$bin" fetch --vault "$T/$name.v" \
	    --format tar --insecure-plaintext "$URL" >"$T/$name.out" 2>&1
	RC=$?
}
volume() {	# NAME: the file names in the vault's tar folders
	find "$T/$1.v/accounts" -path '*/tar/*' -type f -printf '%f\n' 2>/dev/null
}
mkdir -p "$T/pause"
: >"$T/pause/go"	# a pause that happens returns at once
hooked_run rel "$INST" POPVAULT_CRASH=batch-committed POPVAULT_NOW=86400 \
    POPVAULT_TEST_PAUSE="$T/pause" POPVAULT_TEST_PAUSE_AT=verify
vol=$(volume rel)
if [ "$RC" -eq 0 ] && ! grep -q 'crash hook' "$T/rel.out" &&
    [ ! -e "$T/pause/ready" ] && [ -n "$vol" ] &&
    case "$vol" in 19700102T*) false ;; *) true ;; esac; then
	t_pass release_ignores_crash_now_and_pause_hooks
else
	t_fail release_ignores_crash_now_and_pause_hooks "rc=$RC volume=${vol:-none} ready=$([ -e "$T/pause/ready" ] && echo yes || echo no): $(tail -n 3 "$T/rel.out")"
fi
# The controls: the test binary reacts to each hook on that path.
hooked_run testnow "$POPVAULT" POPVAULT_NOW=86400 \
    POPVAULT_TEST_PAUSE="$T/pause" POPVAULT_TEST_PAUSE_AT=verify
rc_now=$RC
vol=$(volume testnow)
hooked_run testcrash "$POPVAULT" POPVAULT_CRASH=batch-committed
if grep -q 'crash hook: abort at batch-committed' "$T/testcrash.out" &&
    [ "$rc_now" -eq 0 ] && [ -e "$T/pause/ready" ] &&
    case "$vol" in 19700102T*) true ;; *) false ;; esac; then
	t_pass release_control_test_binary_hooks_act
else
	t_fail release_control_test_binary_hooks_act "crash: $(tail -n 1 "$T/testcrash.out"); now run rc=$rc_now volume=${vol:-none} ready=$([ -e "$T/pause/ready" ] && echo yes || echo no)"
fi

# --- hardening ---------------------------------------------------------
nb=$T/nobuild	# make -n only: nothing is written there
cmds=$(make -n -B -C "$T_ROOT" BUILD="$nb" "$nb/core/util.o" "$nb/popvault" 2>&1)
cc_line=$(printf '%s\n' "$cmds" | grep -e ' -c -o [^ ]*/core/util\.o' | head -n 1)
ld_line=$(printf '%s\n' "$cmds" | grep -e "-o $nb/popvault " | head -n 1)
miss=""
for f in -D_FORTIFY_SOURCE=2 -fstack-protector-strong; do
	case " $cc_line " in *" $f "*) ;; *) miss="$miss compile:$f" ;; esac
done
case " $ld_line " in *" -Wl,-z,relro,-z,now "*) ;; *) miss="$miss link:-Wl,-z,relro,-z,now" ;; esac
if [ -n "$cc_line" ] && [ -n "$ld_line" ] && [ -z "$miss" ]; then
	t_pass hardening_flags_by_default
else
	t_fail hardening_flags_by_default "missing:$miss; compile: ${cc_line:-none}; link: ${ld_line:-none}"
fi
dyn=$(readelf -dW "$REL" 2>&1)
seg=$(readelf -lW "$REL" 2>&1)
syms=$(readelf --dyn-syms -W "$REL" 2>&1)
why=""
printf '%s\n' "$dyn" | grep -Eq 'BIND_NOW|Flags:.* NOW' || why="$why no BIND_NOW;"
printf '%s\n' "$seg" | grep -q GNU_RELRO || why="$why no GNU_RELRO;"
printf '%s\n' "$syms" | grep -q '__stack_chk_fail' || why="$why no __stack_chk_fail;"
printf '%s\n' "$syms" | grep -Eq '__[a-z]+_chk' || why="$why no fortified call;"
if [ -z "$why" ]; then
	t_pass hardening_in_release_binary
else
	t_fail hardening_in_release_binary "$why"
fi

# --- CPPFLAGS, CFLAGS, LDFLAGS -------------------------------------------
cmds=$(make -n -B -C "$T_ROOT" BUILD="$nb" CPPFLAGS=-DPV_FROM_CPPFLAGS \
    CFLAGS=-DPV_FROM_CFLAGS LDFLAGS=-Wl,--as-needed \
    "$nb/core/util.o" "$nb/popvault" 2>&1)
cc_line=$(printf '%s\n' "$cmds" | grep -e ' -c -o [^ ]*/core/util\.o' | head -n 1)
ld_line=$(printf '%s\n' "$cmds" | grep -e "-o $nb/popvault " | head -n 1)
cmds3=$(make -n -B -C "$T_ROOT" BUILD="$nb" CPPFLAGS=-D_FORTIFY_SOURCE=3 \
    "$nb/core/util.o" 2>&1)
case " $cc_line " in *" -DPV_FROM_CPPFLAGS "*" -DPV_FROM_CFLAGS "*) c1=ok ;; *) c1=no ;; esac
case " $ld_line " in *" -Wl,--as-needed "*) c2=ok ;; *) c2=no ;; esac
case "$cmds3" in *-D_FORTIFY_SOURCE=2*) c3=no ;; *-D_FORTIFY_SOURCE=3*) c3=ok ;; *) c3=no ;; esac
if [ "$c1$c2$c3" = okokok ]; then
	t_pass user_flags_honoured
else
	t_fail user_flags_honoured "CPPFLAGS/CFLAGS $c1, LDFLAGS $c2, FORTIFY=3 $c3: $cc_line / $ld_line"
fi

# --- a missing -dev package --------------------------------------------
# A pkg-config search path with every .pc file but libarchive's.
pc=$T/pc
mkdir -p "$pc"
IFS=: read -r -a pcdirs <<<"$(pkg-config --variable pc_path pkg-config)"
for p in "${pcdirs[@]}"; do
	[ -d "$p" ] && find "$p" -maxdepth 1 -name '*.pc' ! -name 'libarchive.pc' \
	    -exec cp {} "$pc/" \; 2>/dev/null
done
out=$(PKG_CONFIG_LIBDIR=$pc PKG_CONFIG_PATH= make -C "$T_ROOT" \
    BUILD="$T/nodev" 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && printf '%s' "$out" | grep -q 'libarchive-dev' &&
    printf '%s' "$out" | grep -q '"make deps"' &&
    ! printf '%s' "$out" | grep -Eq 'libssl-dev|zlib1g-dev|^CC |error:' &&
    [ ! -e "$T/nodev/core" ] &&
    PKG_CONFIG_LIBDIR=$pc PKG_CONFIG_PATH= make -n -C "$T_ROOT" deps \
    >/dev/null 2>&1 &&
    PKG_CONFIG_LIBDIR=$pc PKG_CONFIG_PATH= make -n -C "$T_ROOT" clean \
    >/dev/null 2>&1; then
	t_pass missing_dev_package_named
else
	t_fail missing_dev_package_named "rc=$rc: $(printf '%s' "$out" | tail -n 3)"
fi

# --- header dependencies, lint: in a copy of the tree --------------------
src=$T/src
mkdir -p "$src"
cp -R "$T_ROOT/Makefile" "$T_ROOT/core" "$T_ROOT/formats" "$T_ROOT/cmd" \
    "$T_ROOT/docs" "$src/"
# rebuilds NAME: does "make -n" in the copy compile core/log.c?
rebuilds() {
	make -n -C "$src" BUILD=b b/core/log.o 2>/dev/null | grep -q '^echo "CC core/log.c"'
}
why=""
make -s -C "$src" BUILD=b b/core/log.o >"$T/hdr.out" 2>&1 ||
    why="build failed: $(tail -n 3 "$T/hdr.out");"
grep -q 'core/log\.h' "$src/b/core/log.d" 2>/dev/null || why="$why no log.h in log.d;"
rebuilds && why="$why rebuilt when up to date;"
touch -d '+2 seconds' "$src/formats/format.h"
rebuilds && why="$why rebuilt for a header it does not include;"
touch -d '+4 seconds' "$src/core/log.h"
rebuilds || why="$why not rebuilt after core/log.h changed;"
if [ -z "$why" ]; then
	t_pass header_deps_tracked
else
	t_fail header_deps_tracked "$why"
fi

printf '.Dd January 1, 2030\n.Dt BROKEN 1\n.Os\n.Sh NAME\n.Nm broken\n.Nd a page mandoc warns about\n.Sh DESCRIPTION\n.Bl -tag\n.It x\ny\n.El\n' \
    >"$src/docs/broken.1"
out=$(make -C "$src" lint 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && printf '%s' "$out" | grep -q 'broken\.1.*WARNING'; then
	t_pass lint_man_page_warning_fails
else
	t_fail lint_man_page_warning_fails "rc=$rc: $(printf '%s' "$out" | tail -n 3)"
fi

# --- the include graph (make lint: tests/lint/includes.py) ---------------
if out=$("$T_ROOT/tests/lint/includes.py" "$T_ROOT" 2>&1); then
	t_pass include_graph_has_no_cycle
else
	t_fail include_graph_has_no_cycle "$out"
fi
# A new cycle between two modules, a core file that includes a cmd
# header and a format that includes the index: each is named, exit 1.
inc=$T/inc
mkdir -p "$inc"
cp -R "$T_ROOT/core" "$T_ROOT/formats" "$T_ROOT/cmd" "$inc/"
printf '#include "zz_b.h"\n' >"$inc/core/zz_a.h"
printf '#include "zz_a.h"\n' >"$inc/core/zz_b.h"
out=$("$T_ROOT/tests/lint/includes.py" "$inc" 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && printf '%s' "$out" | grep -q 'cycle.*core/zz_a.*core/zz_b'; then
	t_pass include_graph_new_cycle_fails
else
	t_fail include_graph_new_cycle_fails "rc=$rc: $out"
fi
rm -f "$inc/core/zz_a.h" "$inc/core/zz_b.h"
printf '#include "cmd.h"\n' >>"$inc/core/hash.c"
printf '#include "idx.h"\n' >>"$inc/formats/registry.c"
out=$("$T_ROOT/tests/lint/includes.py" "$inc" 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && printf '%s' "$out" | grep -q 'core/hash.c.*cmd/cmd.h' &&
    printf '%s' "$out" | grep -q 'formats/registry.c.*core/idx.h'; then
	t_pass include_graph_layers_enforced
else
	t_fail include_graph_layers_enforced "rc=$rc: $out"
fi

t_done
