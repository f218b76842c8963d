# shellcheck shell=bash
#
# pv.sh -- helpers for integration tests of popvault. Source after
# common.sh and dovecot.sh.
#
#   pv_fetch VAULT PASS ARGS...   run popvault fetch with the password in
#                                 POPVAULT_PASSWORD; output in $PV_OUT,
#                                 exit status in $PV_RC
#   pv_compare USER ARCHIVE_MAILDIR   server files == archive (expect.py)
#   pv_sql VAULT SQL              run SQL on the vault's index
#   pv_field NAME                 a number from the last run's summary
#   pv_account_dir VAULT          the one account folder of a vault
#   pv_fmt_args FORMAT            popvault options for a format as
#                                 check_archive.py names it (mbox.gz, ...)
#   pv_fill USER DIR              copy the message files in DIR into the
#                                 Dovecot user's Maildir new/ (fixes perms)
#   pv_index_problems VAULT N     print what is wrong with the index of a
#                                 one-account vault that should hold N
#                                 messages, all verified, none twice, no
#                                 delete left pending (I3, I4); status 1
#                                 if anything is

: "${POPVAULT:?POPVAULT must name the binary under test}"
PV_OUT=
PV_RC=

pv_fetch() {
	local vault=$1 pass=$2
	shift 2
	PV_OUT=$(POPVAULT_PASSWORD=$pass "$POPVAULT" fetch --vault "$vault" \
	    "$@" 2>&1)
	PV_RC=$?
}

pv_compare() {
	local user=$1 md=$2 list
	list=$(mktemp "${TMPDIR:-/tmp}/pv-files.XXXXXX")
	dv_server_files "$user" >"$list"
	python3 "$T_ROOT/tests/lib/expect.py" compare "$list" "$md"
	local rc=$?
	rm -f "$list"
	return $rc
}

pv_sql() {
	sqlite3 "$1/index.sqlite" "$2"
}

pv_field() {
	printf '%s\n' "$PV_OUT" | awk -v k="$1" '$1 == k { print $2; exit }'
}

# The one account folder of a vault (tests use one account per vault).
pv_account_dir() {
	local d
	for d in "$1"/accounts/*/; do
		printf '%s\n' "${d%/}"
		return 0
	done
	return 1
}

pv_fmt_args() {
	case "$1" in
	maildir) echo "--format maildir" ;;
	mbox) echo "--format mbox" ;;
	mbox.gz) echo "--format mbox --compress gzip" ;;
	tar) echo "--format tar" ;;
	tar.gz) echo "--format tar --compress gzip" ;;
	tar.zst) echo "--format tar --compress zstd" ;;
	tar.xz) echo "--format tar --compress xz" ;;
	eml) echo "--format eml" ;;
	*) echo "pv_fmt_args: unknown format '$1'" >&2; return 1 ;;
	esac
}

pv_fill() {
	local md
	md=$(dv_maildir "$1") || return 1
	cp -p -- "$2"/* "$md/new/" && dv_fix_perms "$1"
}

pv_index_problems() {
	local v=$1 n=$2 ic row why=""
	local total distinct unverified pend notes
	ic=$(pv_sql "$v" "pragma integrity_check" 2>&1)
	[ "$ic" = ok ] || why="integrity_check: $(printf '%s' "$ic" | head -n 2 | tr '\n' ' ')"
	row=$(pv_sql "$v" "select (select count(*) from messages),
	    (select count(distinct sha256) from messages),
	    (select count(*) from messages where state <> 'verified'),
	    (select count(*) from sightings where state = 'delete_pending'),
	    (select count(*) from messages where note like 'verify:%')" 2>&1)
	IFS='|' read -r total distinct unverified pend notes <<<"$row"
	[ "$total" = "$n" ] || why="$why; $total message rows, want $n"
	[ "$total" = "$distinct" ] || why="$why; $total rows but $distinct distinct hashes"
	[ "$unverified" = 0 ] || why="$why; $unverified rows pending or archived (not verified)"
	[ "$pend" = 0 ] || why="$why; $pend sightings delete_pending"
	[ "$notes" = 0 ] || why="$why; $notes rows failed verification"
	[ -z "$why" ] && return 0
	printf '%s\n' "${why#; }"
	return 1
}
