#!/usr/bin/env bash
# demo.sh -- "make demo": start a throwaway private Dovecot on 127.0.0.1
# with a few hundred generated messages and a test CA, archive the
# mailbox over TLS with popvault, run again to show that nothing new is
# fetched, and show where the archive is. The server is stopped and its
# files removed at the end; the archive stays in ./demo-vault.
set -u
. "$(dirname "$0")/lib/common.sh"
. "$T_ROOT/tests/lib/dovecot.sh"
POPVAULT=${POPVAULT:-$T_ROOT/popvault}
VAULT=$T_ROOT/demo-vault
T=$(t_tmpdir)

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Starting a private Dovecot POP3 server on 127.0.0.1 (test CA, TLS)"
dv_start "$T/dovecot" || exit 1
dv_adduser demo demo-password || exit 1
python3 "$T_ROOT/tests/gen/genmail.py" --count 300 --seed 1 \
    --big-every 100 --big-size 2000000 "$(dv_maildir demo)" >/dev/null || exit 1
dv_fix_perms demo
echo "pop3s://demo@localhost:$DV_POP3S_PORT holds 300 messages"

rm -rf "$VAULT"
URL="pop3s://demo@localhost:$DV_POP3S_PORT"
say "popvault fetch --vault demo-vault --tls-ca CA $URL"
POPVAULT_PASSWORD=demo-password "$POPVAULT" fetch --vault "$VAULT" \
    --tls-ca "$DV_CA" "$URL" || exit 1

say "Again: nothing new is fetched"
POPVAULT_PASSWORD=demo-password "$POPVAULT" fetch --vault "$VAULT" \
    --tls-ca "$DV_CA" "$URL" || exit 1

say "Checking the archive against the server's own files"
dv_server_files demo >"$T/files"
dir=$(ls -d "$VAULT"/accounts/*/maildir)
python3 "$T_ROOT/tests/lib/expect.py" compare "$T/files" "$dir" || exit 1
echo "The server still holds $(wc -l <"$T/files") messages (keep on server)."

say "The archive"
echo "index:   $VAULT/index.sqlite"
echo "Maildir: $dir"
ls "$dir/new" | head -3
echo "... $(ls "$dir/new" | wc -l) files"
