#!/usr/bin/env bash
# Install Sealdrop on Debian 12 as a sandboxed systemd service. Safe to run again: every
# step checks what is already there (use it to upgrade, too).
#
#   sudo deploy/install-debian.sh                         # install or upgrade the code
#   sudo deploy/install-debian.sh --admin-identity FILE   # ...and create the instance
#
# Layout: code in /opt/sealdrop/src, virtualenv /opt/sealdrop/venv, instance (keys, tips,
# database, onion keys) in /var/lib/sealdrop/instance, owned by the system user sealdrop.
# Read docs/operations.md first.
set -euo pipefail

PREFIX=/opt/sealdrop
STATE=/var/lib/sealdrop
INSTANCE=$STATE/instance
UNIT=/etc/systemd/system/sealdrop.service
SERVICE_USER=sealdrop
SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ADMIN_IDENTITY=""

usage() {
  # The comment block at the top of this file.
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --admin-identity) ADMIN_IDENTITY=${2:?--admin-identity needs a file}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "Error: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "Error: run as root (sudo $0)" >&2
  exit 1
fi
if [ -n "$ADMIN_IDENTITY" ] && [ ! -f "$ADMIN_IDENTITY" ]; then
  echo "Error: $ADMIN_IDENTITY does not exist" >&2
  exit 1
fi

step() { printf '\n==> %s\n' "$*"; }

step "Debian packages (python3-venv, tor)"
missing=()
for pkg in python3-venv tor; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "already installed"
fi
# sealdrop serve launches its own tor inside its sandbox; Debian's tor client service is
# not needed for that (leave it alone if you use it for something else).

step "System user $SERVICE_USER"
if id "$SERVICE_USER" >/dev/null 2>&1; then
  echo "exists"
else
  adduser --system --group --home "$STATE" --no-create-home --shell /usr/sbin/nologin \
    "$SERVICE_USER"
fi
install -d -m 0700 -o "$SERVICE_USER" -g "$SERVICE_USER" "$STATE"

step "Code in $PREFIX/src and virtualenv $PREFIX/venv"
install -d -m 0755 "$PREFIX" "$PREFIX/src"
# Copy the source tree (not the local venv, demo data or git history).
tar -C "$SRC_DIR" --exclude=./.venv --exclude=./.git --exclude=./demo \
  --exclude='*.egg-info' --exclude='__pycache__' -cf - . | tar -C "$PREFIX/src" -xf -
if [ ! -x "$PREFIX/venv/bin/python" ]; then
  python3 -m venv "$PREFIX/venv"
fi
"$PREFIX/venv/bin/pip" install --quiet --upgrade pip
"$PREFIX/venv/bin/pip" install --quiet --upgrade "$PREFIX/src"
"$PREFIX/venv/bin/sealdrop" --version

step "systemd unit $UNIT"
if cmp -s "$SRC_DIR/deploy/sealdrop.service" "$UNIT"; then
  echo "up to date"
else
  install -m 0644 "$SRC_DIR/deploy/sealdrop.service" "$UNIT"
  systemctl daemon-reload
fi

step "Instance $INSTANCE"
if [ -f "$INSTANCE/config.toml" ]; then
  echo "exists (not touched)"
elif [ -n "$ADMIN_IDENTITY" ]; then
  install -m 0644 "$ADMIN_IDENTITY" "$STATE/admin-identity.pub.new"
  runuser -u "$SERVICE_USER" -- "$PREFIX/venv/bin/sealdrop" init --instance "$INSTANCE" \
    --admin-identity "$STATE/admin-identity.pub.new"
  rm -f "$STATE/admin-identity.pub.new"
else
  echo "not created yet: copy admin-identity.pub from the offline laptop, then run"
  echo "  sudo $0 --admin-identity /path/to/admin-identity.pub"
fi

if [ -f "$INSTANCE/config.toml" ]; then
  step "Service"
  systemctl enable sealdrop.service >/dev/null
  systemctl restart sealdrop.service
  echo "Started. The onion addresses are in: journalctl -u sealdrop -n 40"
  echo "Staff access: sudo -u $SERVICE_USER $PREFIX/venv/bin/sealdrop staff onion-auth add \\"
  echo "                --instance $INSTANCE NAME   (then: systemctl restart sealdrop)"
fi
echo
echo "Back up now (docs/operations.md): $INSTANCE/tor/ and $INSTANCE/secrets/"
