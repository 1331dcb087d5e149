#!/bin/bash
# kiwi's pre_disk_sync.sh: runs in the root right before the disk's root file
# system is made from it. Leaves a trace the tests look for on the disk.
set -euo pipefail
echo "pre_disk_sync.sh" >> /var/log/kiwi-like-disk-hooks
