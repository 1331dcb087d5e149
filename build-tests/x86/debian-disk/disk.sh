#!/bin/bash
# kiwi's disk.sh: runs after pre_disk_sync.sh, with the disk's fstab in place.
set -euo pipefail
test -f /.profile && . /.profile
fstab=no
grep -q '^UUID=.* / ' /etc/fstab && fstab=yes
echo "disk.sh type=${kiwi_type} fstab=${fstab}" >> /var/log/kiwi-like-disk-hooks
