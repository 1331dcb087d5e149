#!/bin/sh
# root=live:CDLABEL=<volume id> (or LABEL=, UUID=, a /dev path): a kiwi-like live medium
[ -z "$root" ] && root=$(getarg root=)
case "$root" in
live:*)
    . /lib/kiwi-like-lib.sh
    rootok=1
    wait_for_dev -n "$(kl_device "${root#live:}")"
    ;;
esac
