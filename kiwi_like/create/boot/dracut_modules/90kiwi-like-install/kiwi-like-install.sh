#!/bin/sh
# Pre-mount hook: the installer script of initramfs-tools' install initrd, run by
# dracut (the few initramfs-tools functions it calls are defined here).
type getarg > /dev/null 2>&1 || . /lib/dracut-lib.sh
. /lib/kiwi-like-lib.sh

if [ "$root" = kiwi-like:install ]; then
    wait_for_udev() { udevadm settle --timeout="${1:-10}"; }
    # a network install: the network initrd has kiwi-like's network module
    configure_networking() {
        [ -e /lib/kiwi-like-net.sh ] || kl_stop "ERROR: this installer initrd has no network (it is the install ISO's): nothing was written"
        . /lib/kiwi-like-net.sh
        kl_net_up || kl_stop "ERROR: $KL_NET_ERROR: nothing was written"
    }
    busybox() {
        case "$1" in
        reboot) kl_power reboot ;;
        *) kl_power poweroff ;;
        esac
    }
    # where initramfs-tools would mount the installed root: the mount hook does it
    local_mount_root() { echo "$ROOT" > /run/kiwi-like/installed-root; }
    . /lib/kiwi-like-install.sh
    kl_install
fi
