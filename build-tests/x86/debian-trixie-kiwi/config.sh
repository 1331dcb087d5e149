#!/bin/bash
# Runs inside the image root at the end of `system prepare`.
set -euo pipefail
test -f /.kconfig && . /.kconfig
test -f /.profile && . /.profile

# The boot report (unit and script come from the root/ overlay).
baseInsertService boot-ok
baseSetRunlevel 3
