#!/bin/sh
# Fill in the clearnet "how to reach us" pages and the nginx snippets with our onion address
# and OpenPGP fingerprint, and copy them into place.
#
# Usage:   deploy/clearnet/install.sh ONION_ADDRESS OPENPGP_FINGERPRINT [SITE_DIR] [NGINX_DIR]
# Example: deploy/clearnet/install.sh \
#            abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion \
#            "0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567" /srv/sealdrop-clearnet /etc/nginx
set -eu

if [ $# -lt 2 ] || [ $# -gt 4 ]; then
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
onion=$1
fingerprint=$2
site_dir=${3:-/srv/sealdrop-clearnet}
nginx_dir=${4:-/etc/nginx}
here=$(cd "$(dirname "$0")" && pwd)

# A v3 onion address: 56 base32 characters, then .onion. Refuse anything else, so a typo
# never reaches the page people are told to compare against.
if ! printf '%s\n' "$onion" | grep -Eq '^[a-z2-7]{56}\.onion$'; then
    echo "Error: '$onion' is not a v3 onion address (56 letters a-z and digits 2-7, then .onion)." >&2
    exit 1
fi
if ! printf '%s\n' "$fingerprint" | grep -Eq '^[0-9A-Fa-f ]{40,60}$'; then
    echo "Error: '$fingerprint' does not look like an OpenPGP fingerprint (40 hex digits)." >&2
    exit 1
fi

fill() {
    sed -e "s/__ONION_ADDRESS__/$onion/g" -e "s/__OPENPGP_FINGERPRINT__/$fingerprint/g" "$1" > "$2"
}

mkdir -p "$site_dir" "$nginx_dir/conf.d" "$nginx_dir/snippets" "$nginx_dir/sites-available"
for page in "$here"/site/*; do
    fill "$page" "$site_dir/$(basename "$page")"
done
fill "$here/nginx/sealdrop-clearnet-map.conf" "$nginx_dir/conf.d/sealdrop-clearnet-map.conf"
fill "$here/nginx/sealdrop-clearnet-headers.conf" "$nginx_dir/snippets/sealdrop-clearnet-headers.conf"
if [ ! -e "$nginx_dir/sites-available/sealdrop-clearnet" ]; then
    fill "$here/nginx/sealdrop-clearnet.site.example" "$nginx_dir/sites-available/sealdrop-clearnet"
fi
echo "Pages in $site_dir; nginx files in $nginx_dir. Edit server_name and certificates in"
echo "$nginx_dir/sites-available/sealdrop-clearnet, enable it, then: nginx -t && systemctl reload nginx"
