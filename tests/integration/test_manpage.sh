#!/usr/bin/env bash
# test_manpage.sh -- the manual pages against the program:
#
#   lint          "mandoc -Tlint docs/*.[15]", run from the top of the tree,
#                 prints nothing (mandoc is required: tests/deps.sh and .ci
#                 install it, so its absence is a failure);
#   commands      every command "popvault --help" lists is documented in
#                 docs/popvault.1 (as "Cm NAME");
#   opts/CMD      every long (--xxx) and short (-x) option that
#                 "popvault CMD --help" prints (and "popvault --help" for
#                 the top level) appears in docs/popvault.1, as "Fl -xxx"
#                 or "Fl x" in the mdoc source, or literally (an example);
#   help/CMD      "popvault help CMD" prints the same as "popvault CMD
#                 --help", with the same exit status (0);
#   keys/...      docs/popvault.conf.5 against the keys the config parser
#                 knows ("popvault help --keys", hidden, printed from the
#                 option table of core/opt.c): every key has its item
#                 (".It Ic KEY No =") in the section its scope says
#                 ("Account keys" or "Keys of the defaults section only"),
#                 every item names a real key, and a key that takes only
#                 words lists exactly those (on its .It line as "Cm a | b",
#                 or, after "Ar", as Cm words in the item's text).
#
# Environment: POPVAULT (the binary under test), POPVAULT_RELEASE (the
# binary "make install" installs; default: popvault beside POPVAULT).
# Needs no server.
set -u
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

PAGE=$T_ROOT/docs/popvault.1

if [ -z "${POPVAULT:-}" ] || [ ! -x "$POPVAULT" ]; then
	t_fail setup "POPVAULT must name the binary under test"
	t_done
fi
if [ ! -f "$PAGE" ]; then
	t_fail setup "no $PAGE"
	t_done
fi

# --- (a) lint ---------------------------------------------------------------
if ! command -v mandoc >/dev/null 2>&1; then
	t_fail lint "mandoc is not installed (tests/deps.sh installs it)"
else
	# From the top of the tree, as "make lint" runs it: mandoc resolves
	# cross-references against the current folder and the installed
	# manuals, so a page must not depend on either.
	lint=$(cd "$T_ROOT" && mandoc -Tlint docs/*.[15] 2>&1)
	rc=$?
	if [ -z "$lint" ] && [ "$rc" -eq 0 ]; then
		t_pass lint
	else
		t_fail lint "mandoc -Tlint (status $rc): $lint"
	fi
fi

# --- the commands ---------------------------------------------------------
main_help=$("$POPVAULT" --help 2>&1)
rc=$?
if [ "$rc" -ne 0 ]; then
	t_fail main-help "popvault --help exited with status $rc"
fi
# The indented words under "Commands:" up to the next empty line.
cmds=$(printf '%s\n' "$main_help" | awk '
	/^Commands:/ { on = 1; next }
	on && /^[[:space:]]*$/ { exit }
	on && /^[[:space:]]+[a-z]/ { print $1 }')
if [ -z "$cmds" ]; then
	t_fail commands "no command found in popvault --help"
	t_done
fi
missing=""
for c in $cmds; do
	grep -Eq "(^|[ .])Cm $c([^A-Za-z0-9-]|\$)" "$PAGE" ||
		missing="$missing $c"
done
for c in fetch prune verify status search cat probe; do
	case " ${cmds//$'\n'/ } " in
	*" $c "*) ;;
	*) missing="$missing $c(not-in---help)" ;;
	esac
done
if [ -z "$missing" ]; then
	t_pass commands
else
	t_fail commands "not documented:$missing"
fi

# Print the options a help text names, one a line: --long and -x.
help_options() {
	printf '%s\n' "$1" |
	    grep -oE '(^|[][[:space:](,|])--[A-Za-z0-9][A-Za-z0-9-]*' |
	    sed -E 's/^[^-]*//'
	printf '%s\n' "$1" |
	    grep -oE '(^|[][[:space:](,|])-[A-Za-z0-9]([],[:space:]|)]|$)' |
	    sed -E 's/^[^-]*//; s/[^A-Za-z0-9]$//'
}

# Is the option documented in the page? --long: "Fl -long" or the literal
# "--long"; -x: "Fl x" (or "Fl" with x among combined letters, as
# ".Fl qv") or the literal "-x" between blanks.
documented() {
	local o=$1 n
	case "$o" in
	--*)
		n=${o#--}
		grep -Eq "(^|[ .])Fl -$n([^A-Za-z0-9-]|\$)" "$PAGE" ||
		    grep -Eq "(^|[^A-Za-z0-9-])--$n([^A-Za-z0-9-]|\$)" "$PAGE"
		;;
	-*)
		n=${o#-}
		grep -Eq "(^|[ .])Fl [A-Za-z0-9]*${n}[A-Za-z0-9]*([^A-Za-z0-9-]|\$)" \
		    "$PAGE" ||
		    grep -Eq "(^|[[:space:]])-$n([[:space:]]|\$)" "$PAGE"
		;;
	*)
		return 1
		;;
	esac
}

check_options() {
	local name=$1 text=$2 opts o missing="" n=0
	opts=$(help_options "$text" | sort -u)
	for o in $opts; do
		n=$((n + 1))
		documented "$o" || missing="$missing $o"
	done
	if [ "$n" -eq 0 ]; then
		t_fail "opts/$name" "no option found in its --help"
	elif [ -z "$missing" ]; then
		t_pass "opts/$name"
	else
		t_fail "opts/$name" "in --help but not in docs/popvault.1:$missing"
	fi
}

# --- (b) options ------------------------------------------------------------
check_options popvault "$main_help"
for c in $cmds; do
	out=$("$POPVAULT" "$c" --help 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ]; then
		t_fail "opts/$c" "popvault $c --help exited with status $rc"
		continue
	fi
	check_options "$c" "$out"
done

# --- (c) help CMD == CMD --help ---------------------------------------------
T=$(t_tmpdir) || { t_fail tmpdir "t_tmpdir failed"; t_done; }
for c in $cmds; do
	"$POPVAULT" "$c" --help >"$T/$c.opt" 2>&1
	rc1=$?
	"$POPVAULT" help "$c" >"$T/$c.help" 2>&1
	rc2=$?
	if [ "$rc1" -ne 0 ] || [ "$rc2" -ne 0 ]; then
		t_fail "help/$c" "exit status $rc1 ($c --help), $rc2 (help $c)"
	elif [ ! -s "$T/$c.opt" ]; then
		t_fail "help/$c" "popvault $c --help printed nothing"
	elif cmp -s "$T/$c.opt" "$T/$c.help"; then
		t_pass "help/$c"
	else
		t_fail "help/$c" "differs: $(diff "$T/$c.opt" "$T/$c.help" |
		    head -n 5 | tr '\n' ' ')"
	fi
done

# --- (d) popvault.conf(5) against the parser ----------------------------------
CONF=$T_ROOT/docs/popvault.conf.5
keys_out=$("$POPVAULT" help --keys 2>&1)
rc=$?
if [ "$rc" -ne 0 ] || [ -z "$keys_out" ]; then
	t_fail keys "popvault help --keys: status $rc: $keys_out"
else
	# "KEY SCOPE" for each item of the page, by the section it is in.
	items=$(awk '
		/^\.Ss / { sec = $0 }
		/^\.It Ic [a-z_]+ No =/ {
			scope = "elsewhere"
			if (sec ~ /Account keys/)
				scope = "account"
			if (sec ~ /defaults section only/)
				scope = "defaults"
			if (sec ~ /Destination keys/)
				scope = "destination"
			print $3, scope
		}' "$CONF")
	missing="" wrong="" unknown="" badwords=""
	while IFS=$'\t' read -r key scope words; do
		got=$(printf '%s\n' "$items" | awk -v k="$key" '$1 == k { print $2 }')
		if [ -z "$got" ]; then
			missing="$missing $key"
			continue
		fi
		[ "$got" = "$scope" ] || wrong="$wrong $key($got, not $scope)"
		[ -n "$words" ] || continue
		# The words of the item: those of its .It line, or (when the
		# line names an argument) every Cm word of its text.
		doc=$(awk -v k="$key" '
			function cmwords(line,   n, i, t, out) {
				n = split(line, t, /[ \t]+/)
				out = ""
				for (i = 1; i <= n; i++)
					if (t[i] ~ /^[a-z0-9][a-z0-9-]*$/ &&
					    t[i - 1] ~ /^(Cm|\|)$/)
						out = out " " t[i]
				return out
			}
			$0 ~ "^\\.It Ic " k " No =" {
				on = 1
				if ($0 !~ / Ar /) { print cmwords($0); exit }
				next
			}
			on && /^\.(It|El)/ { exit }
			on && /^\.Cm / {
				# ".Cm a , b , c": every word of the line.
				n = split($0, t, /[ \t]+/)
				for (i = 2; i <= n; i++)
					if (t[i] ~ /^[a-z0-9][a-z0-9-]*$/)
						print t[i]
			}' "$CONF" |
		    tr ' ' '\n' | sed '/^$/d' | sort -u)
		want=$(printf '%s\n' $words | sort -u)
		if grep -q " Ar " <(grep -E "^\.It Ic $key No =" "$CONF"); then
			# Named in the text: each word must be there.
			extra=$(comm -23 <(printf '%s\n' "$want") \
			    <(printf '%s\n' "$doc"))
			[ -z "$extra" ] ||
			    badwords="$badwords $key(not in its text: $(echo $extra))"
		elif [ "$doc" != "$want" ]; then
			badwords="$badwords $key(page: $(echo $doc); parser: $words)"
		fi
	done <<<"$keys_out"
	for k in $(printf '%s\n' "$items" | awk '{ print $1 }'); do
		printf '%s\n' "$keys_out" | cut -f1 | grep -qx "$k" ||
		    unknown="$unknown $k"
	done
	[ -z "$missing" ] && t_pass keys/documented ||
	    t_fail keys/documented "keys without an item in popvault.conf.5:$missing"
	[ -z "$wrong" ] && t_pass keys/scope ||
	    t_fail keys/scope "keys in the wrong section of popvault.conf.5:$wrong"
	[ -z "$unknown" ] && t_pass keys/known ||
	    t_fail keys/known "items of popvault.conf.5 the parser does not know:$unknown"
	[ -z "$badwords" ] && t_pass keys/words ||
	    t_fail keys/words "words that differ:$badwords"
fi

# --- make install ------------------------------------------------------------
# Into a scratch DESTDIR, from the build being tested (no rebuild): the
# release binary beside the test binary (POPVAULT_RELEASE; the hooks are
# tested in test_build.sh).
if command -v make >/dev/null 2>&1; then
	bdir=$(dirname "$POPVAULT")
	rel=${POPVAULT_RELEASE:-$bdir/popvault}
	d=$(t_tmpdir)
	if out=$(make -s -C "$T_ROOT" install DESTDIR="$d" PREFIX=/usr \
	    BUILD="$bdir" 2>&1) &&
	    [ -x "$d/usr/bin/popvault" ] &&
	    cmp -s "$d/usr/bin/popvault" "$rel" &&
	    [ -f "$d/usr/share/man/man1/popvault.1" ] &&
	    [ -f "$d/usr/share/man/man5/popvault.conf.5" ] &&
	    "$d/usr/bin/popvault" --version >/dev/null 2>&1; then
		t_pass make_install_destdir_binary_and_man_pages
	else
		t_fail make_install_destdir_binary_and_man_pages "$out $(cd "$d" && find . -type f | head -5)"
	fi
else
	t_skip make_install_destdir_binary_and_man_pages "make is not installed"
fi

t_done
