#!/bin/sh
# root=overlay:PARTUUID=<id> (or UUID=, LABEL=, a /dev path): kiwi's overlay root;
# rd.root.overlay.write=<device>: its write partition
[ -z "$root" ] && root=$(getarg root=)
case "$root" in
overlay:*)
    . /lib/kiwi-like-lib.sh
    rootok=1
    wait_for_dev -n "$(kl_device "${root#overlay:}")"
    write=$(getarg rd.root.overlay.write=)
    if [ -n "$write" ] && ! getargbool 0 rd.root.overlay.temporary; then
        wait_for_dev -n "$(kl_device "$write")"
    fi
    ;;
esac
