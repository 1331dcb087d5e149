#!/bin/bash
# kiwi-like's overlay root (kiwi: dracut-kiwi-overlay): root=overlay:<device> mounts a
# read-only squashfs under a writable overlay (a write partition or RAM) as the root.
check() { return 255; }
depends() { echo kiwi-like-lib; }
installkernel() {
    hostonly='' instmods squashfs overlay ext4 xfs btrfs
}
install() {
    inst_hook cmdline 30 "$moddir/parse-kiwi-like-overlay.sh"
    inst_hook mount 20 "$moddir/kiwi-like-overlay-root.sh"
}
