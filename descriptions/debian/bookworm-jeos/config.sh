#!/bin/bash
# Runs inside the image root at the end of `system prepare`.
set -euo pipefail
test -f /.kconfig && . /.kconfig
test -f /.profile && . /.profile

echo "Configuring ${kiwi_iname} ${kiwi_iversion} (profiles: ${kiwi_profiles})"

# Wired network by DHCP (the unit file comes from the root/ overlay).
baseInsertService systemd-networkd
baseSetRunlevel 3

# Keep images small: documentation but the licenses goes.
baseStripDocs

mkdir -p /var/lib/jeos
echo "${kiwi_iname}-${kiwi_iversion}" > /var/lib/jeos/build-id
