#!/bin/sh
# `make run`: a throw-away demo. On first run it creates a DEMO admin vault (passphrase in a
# file next to it) and an instance in DEMO_DIR, then serves it: as onion services when
# tor is installed, else on loopback with a warning. Never use a demo for real sources.
#
#   sh deploy/demo.sh [DEMO_DIR [SERVE_OPTIONS...]]   (default: ./demo)
#   sh deploy/demo.sh demo --no-tor --port 8090        (options go to `sealdrop serve`)
set -eu

DEMO=${1:-demo}
[ $# -gt 0 ] && shift
VAULT=$DEMO/vault
INSTANCE=$DEMO/instance
PASSPHRASE_FILE=$DEMO/DEMO-ADMIN-PASSPHRASE.txt

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

need sealdrop-admin init
need sealdrop init
need sealdrop serve

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

echo "DEMO: admin vault $VAULT (passphrase in $PASSPHRASE_FILE)"
echo "DEMO: try the offline side with: sealdrop-admin inbox --vault $VAULT --passphrase-file $PASSPHRASE_FILE"
# --allow-loopback: the demo is also browsed at http://127.0.0.1:8080/ (README).
exec sealdrop serve --instance "$INSTANCE" --allow-loopback "$@"
