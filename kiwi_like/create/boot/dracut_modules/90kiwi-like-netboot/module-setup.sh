#!/bin/bash
# kiwi-like's network boot of kis images (initramfs-tools: create/pxe/netboot): fetches
# the root image named by kiwi-like.image=, checks it against kiwi-like.sha256= and
# boots it from RAM.
check() { return 255; }
depends() { echo kiwi-like-net; }
installkernel() {
    hostonly='' instmods squashfs overlay loop ext4 xfs btrfs
}
install() {
    inst_hook cmdline 30 "$moddir/parse-kiwi-like-netboot.sh"
    inst_hook mount 10 "$moddir/kiwi-like-netboot-root.sh"
}
