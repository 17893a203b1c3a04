#!/bin/sh
# `make run`: a throw-away demo. On first run it creates a DEMO admin vault (passphrase in a
# file next to it), an instance in DEMO_DIR and a demo staff account, then serves it: as
# onion services when tor is installed, else on loopback with a warning. Never use a demo
# for real sources.
#
#   sh deploy/demo.sh [DEMO_DIR [SERVE_OPTIONS...]]   (default: ./demo)
#   sh deploy/demo.sh demo --no-tor --port 9080 --staff-port 9081   (options go to `sealdrop serve`)
set -eu

DEMO=${1:-demo}
[ $# -gt 0 ] && shift
VAULT=$DEMO/vault
INSTANCE=$DEMO/instance
PASSPHRASE_FILE=$DEMO/DEMO-ADMIN-PASSPHRASE.txt
STAFF_LOGIN_FILE=$DEMO/DEMO-STAFF-LOGIN.txt
STAFF_NAME=demo

need() {
  # $1: command, $2: subcommand that must exist
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "Error: '$1' is not on PATH. Run 'make run' (it installs .venv first)." >&2
    exit 1
  fi
  if ! "$1" "$2" --help >/dev/null 2>&1; then
    echo "Error: this build has no '$1 $2' command yet, so the demo cannot be set up." >&2
    exit 1
  fi
}

# quote WORD: WORD as one shell word, so that printed commands work when pasted.
quote() {
  case $1 in
    *[!A-Za-z0-9_./:=@%+-]*) printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" ;;
    *) printf '%s' "$1" ;;
  esac
}

need sealdrop-admin init
need sealdrop init
need sealdrop serve

# The ports `sealdrop serve` will use (its defaults unless given), for the printed URLs.
PORT=8080
STAFF_PORT=8081
previous=
for arg in "$@"; do
  case $previous in
    --port) PORT=$arg ;;
    --staff-port) STAFF_PORT=$arg ;;
  esac
  case $arg in
    --port=*) PORT=${arg#--port=} ;;
    --staff-port=*) STAFF_PORT=${arg#--staff-port=} ;;
  esac
  previous=$arg
done

mkdir -p "$DEMO"
chmod 700 "$DEMO"

if [ ! -f "$VAULT/admin-identity.pub" ]; then
  if [ ! -f "$PASSPHRASE_FILE" ]; then
    umask 077
    # 24 random bytes as hex: a passphrase for the demo vault, kept in a file on purpose.
    od -An -N24 -tx1 /dev/urandom | tr -d ' \n' > "$PASSPHRASE_FILE"
  fi
  sealdrop-admin init --vault "$VAULT" --passphrase-file "$PASSPHRASE_FILE"
  cat <<BANNER

########################################################################
#  THIS IS A DEMO ADMIN IDENTITY. DO NOT USE IT FOR REAL SOURCES.
#  Its passphrase is stored in plain text in:
#      $PASSPHRASE_FILE
#  Anyone who can read that file can decrypt every tip sent to this demo.
#  Real instances: keys are made on an offline laptop (docs/operations.md).
########################################################################

BANNER
fi

if [ ! -f "$INSTANCE/config.toml" ]; then
  sealdrop init --instance "$INSTANCE" --admin-identity "$VAULT/admin-identity.pub"
fi

if [ ! -f "$STAFF_LOGIN_FILE" ]; then
  # Kept in a file (like the vault passphrase) so every `make run` can show it again.
  (umask 077 && sealdrop staff add --instance "$INSTANCE" "$STAFF_NAME" > "$STAFF_LOGIN_FILE.tmp")
  mv "$STAFF_LOGIN_FILE.tmp" "$STAFF_LOGIN_FILE"
fi

BIN=$(dirname "$(command -v sealdrop-admin)")
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
PASS=$(quote "$PASSPHRASE_FILE")
cat <<EOT

DEMO: staff app http://127.0.0.1:$STAFF_PORT/staff/login : the demo staff account
(its one-time password works until you choose your own at the first login; kept in
$STAFF_LOGIN_FILE):
  Name: $STAFF_NAME
EOT
# Without its first line ("created ... shown once"): true only the first time.
sed '1d; s/^/  /' "$STAFF_LOGIN_FILE"
cat <<EOT

DEMO: admin vault $VAULT (passphrase in $PASSPHRASE_FILE)
DEMO: next steps, in another terminal once the apps below are ready (each line works as typed):
  cd $(quote "$(pwd)")
  export PATH=$(quote "$BIN"):"\$PATH"  # sealdrop and sealdrop-admin, as docs/*.md type them
  # 1. Send a tip as a source: open http://127.0.0.1:$PORT/ in a browser.
  # 2. Carry the sealed tips to the offline side, and read them there:
  bundle=$(quote "$DEMO")/bundle-\$(date +%Y%m%d-%H%M%S).sdb
  sealdrop export --instance $(quote "$INSTANCE") --out "\$bundle"
  sealdrop-admin import --vault $(quote "$VAULT") --passphrase-file $PASS "\$bundle"
  sealdrop-admin inbox --vault $(quote "$VAULT") --passphrase-file $PASS
  # docs/admin.md and docs/staff.md go on from here, in this same shell.

EOT
# --allow-loopback: the demo is also browsed at http://127.0.0.1:$PORT/ (README).
exec sealdrop serve --instance "$INSTANCE" --allow-loopback "$@"
