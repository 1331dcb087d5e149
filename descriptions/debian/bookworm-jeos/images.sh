#!/bin/bash
# kiwi's images.sh: runs in the root as the first step of `system create`,
# for every image type, after config.sh and before the image is made.
set -euo pipefail
test -f /.profile && . /.profile

# The console greeting names the image, so you can tell what you booted.
printf '%s %s (%s) \\n \\l\n\n' "${kiwi_displayname}" "${kiwi_iversion}" "${kiwi_type}" > /etc/issue
