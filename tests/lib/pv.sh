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
