#!/bin/sh
# Mount hook of kiwi-like's overlay root. Kernel parameters, as kiwi reads them:
#   root=overlay:<device>          the read-only root (a squashfs partition)
#   rd.root.overlay.write=<device> the write partition that keeps the changes
#   rd.root.overlay.temporary      the changes go to RAM even with a write partition
#   rd.root.overlay.size=<size>    the RAM overlay's size (tmpfs size=, 50%)
#   rd.root.overlay.readonly       no overlay: the read-only root alone
# The mounts stay under /run/overlay, which switch_root moves into the booted system.
type getarg > /dev/null 2>&1 || . /lib/dracut-lib.sh
. /lib/kiwi-like-lib.sh

KL_BASE=/run/overlay

kl_overlay_root() {
    readonly_device=$(kl_device "${root#overlay:}")
    mkdir -p "$KL_BASE/rootfsbase" "$KL_BASE/overlayfs"
    modprobe -qa squashfs overlay 2> /dev/null
    mount -n -t squashfs -o ro "$readonly_device" "$KL_BASE/rootfsbase" ||
        kl_fail "cannot mount the read-only root $readonly_device"
    if getargbool 0 rd.root.overlay.readonly; then
        mount -n --bind "$KL_BASE/rootfsbase" "$NEWROOT" || kl_fail "cannot mount the root"
        kl_log "read-only root from $readonly_device, no overlay"
        return
    fi
    write=$(getarg rd.root.overlay.write=)
    if [ -n "$write" ] && ! getargbool 0 rd.root.overlay.temporary; then
        write=$(kl_device "$write")
        mount -n "$write" "$KL_BASE/overlayfs" || kl_fail "cannot mount the write partition $write"
        where="the write partition $write"
    else
        size=$(getarg rd.root.overlay.size=)
        mount -n -t tmpfs -o "mode=0755,size=${size:-50%}" tmpfs "$KL_BASE/overlayfs" ||
            kl_fail "cannot mount the RAM overlay"
        where="RAM"
    fi
    mkdir -p "$KL_BASE/overlayfs/rw" "$KL_BASE/overlayfs/work"
    mount -n -t overlay \
        -o "lowerdir=$KL_BASE/rootfsbase,upperdir=$KL_BASE/overlayfs/rw,workdir=$KL_BASE/overlayfs/work" \
        overlay "$NEWROOT" || kl_fail "cannot mount the overlay root"
    kl_log "overlay root: $readonly_device, changes on $where"
}

case "$root" in
overlay:*) ismounted "$NEWROOT" || kl_overlay_root ;;
esac
