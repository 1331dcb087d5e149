#!/bin/sh
# Mount hook: the root of the system just installed, to boot it.
type getarg > /dev/null 2>&1 || . /lib/dracut-lib.sh
. /lib/kiwi-like-lib.sh

if [ "$root" = kiwi-like:install ] && ! ismounted "$NEWROOT"; then
    installed=$(kl_device "$(cat /run/kiwi-like/installed-root 2> /dev/null)")
    tries=0
    while [ ! -b "$installed" ] && [ "$tries" -lt 30 ]; do
        udevadm settle --timeout=2
        tries=$((tries + 1))
        sleep 1
    done
    options=ro
    getarg rw > /dev/null && options=rw
    mount -n -o "$options" "$installed" "$NEWROOT" || kl_fail "cannot mount the installed root $installed"
fi
