#!/bin/sh
# Mount hook of kiwi-like's live root. Kernel parameters, as kiwi reads them:
#   rd.live.dir=<dir>            directory of the squashfs on the medium (LiveOS)
#   rd.live.squashimg=<file>     the squashfs file name (squashfs.img)
#   rd.live.ram                  copy the squashfs into RAM first (the medium may go)
#   rd.live.overlay.size=<MiB|%> size of the RAM overlay (50%)
#   rd.live.overlay.persistent   keep changes on a partition labelled "cow" that is made
#                                from the free space of the USB stick on first boot
#   rd.live.overlay.cowfs=ext4   its file system (only ext4)
#   rd.live.overlay.readonly     keep the persistent partition's changes out (RAM on top)
type getarg > /dev/null 2>&1 || . /lib/dracut-lib.sh
. /lib/kiwi-like-lib.sh

KL_MEDIUM=/run/initramfs/live
KL_SQUASH=/run/initramfs/squashfs
KL_OVERLAY=/run/overlayfs
KL_COW_LABEL=cow
KL_COW_MIN_MB=64

# The disk a block device belongs to: sda for sda1, the name itself for disks.
kl_disk_of() {
    name=${1##*/}
    if [ -e "/sys/class/block/$name/partition" ]; then
        name=$(basename "$(dirname "$(readlink -f "/sys/class/block/$name")")")
    fi
    echo "$name"
}

# hybridpersistent: a partition of the stick's free space after the ISO, made once.
kl_make_cow() {
    disk=$1
    [ "$(cat "/sys/block/$disk/ro" 2>/dev/null)" = 0 ] || return 1
    if sfdisk --dump "/dev/$disk" 2> /dev/null | grep -q '^label: gpt'; then
        sfdisk --quiet --relocate gpt-bak-std "/dev/$disk" || return 1
    fi
    free_mb=$(sfdisk --list-free --bytes "/dev/$disk" 2> /dev/null |
        awk '$1 ~ /^[0-9]+$/ { size = $4 } END { print int(size / 1048576) }')
    if [ "${free_mb:-0}" -lt "$KL_COW_MIN_MB" ]; then
        kl_log "no room for a persistent overlay on /dev/$disk"
        return 1
    fi
    before=$(ls -d "/sys/block/$disk/$disk"* 2> /dev/null)
    echo ',,L' | sfdisk --quiet --append --no-reread "/dev/$disk" || return 1
    partx --update "/dev/$disk" 2> /dev/null || partx --add "/dev/$disk" 2> /dev/null || true
    udevadm settle --timeout=10
    part=
    for entry in $(ls -d "/sys/block/$disk/$disk"* 2> /dev/null); do
        echo "$before" | grep -qx "$entry" || part=${entry##*/}
    done
    [ -n "$part" ] && [ -b "/dev/$part" ] || return 1
    mke2fs -q -t ext4 -L "$KL_COW_LABEL" "/dev/$part" || return 1
    kl_log "made /dev/$part ($free_mb MiB) the persistent overlay"
    KL_COW_MADE=/dev/$part
}

kl_cow_device() {
    udevadm settle --timeout=10
    # no blkid cache: it may predate the partition
    set -- $(blkid -c /dev/null -t "LABEL=$KL_COW_LABEL" -o device 2> /dev/null)
    echo "$1"
}

kl_upper() {
    if getargbool 0 rd.live.overlay.persistent; then
        cowfs=$(getarg rd.live.overlay.cowfs=)
        [ -z "$cowfs" ] || [ "$cowfs" = ext4 ] || kl_log "rd.live.overlay.cowfs=$cowfs: only ext4, using it"
        cow=$(kl_cow_device)
        if [ -z "$cow" ] && kl_make_cow "$(kl_disk_of "$(readlink -f "$1")")"; then
            cow=$KL_COW_MADE
        fi
        if [ -n "$cow" ] && mount -n -t ext4 "$cow" "$KL_OVERLAY"; then
            if getargbool 0 rd.live.overlay.readonly; then
                mkdir -p /run/initramfs/cow-ro
                mount -n --move "$KL_OVERLAY" /run/initramfs/cow-ro
                KL_LOWER="/run/initramfs/cow-ro/rw:$KL_LOWER"
            else
                kl_log "persistent overlay on $cow"
                return 0
            fi
        else
            kl_log "no persistent overlay: the changes stay in RAM"
        fi
    fi
    size=$(getarg rd.live.overlay.size=)
    case "$size" in
    "") size=50% ;;
    *%) ;;
    *) size=${size}m ;;
    esac
    mount -n -t tmpfs -o "mode=0755,size=$size" tmpfs "$KL_OVERLAY"
}

kl_live_root() {
    device=$(kl_device "${root#live:}")
    live_dir=$(getarg rd.live.dir=)
    image=$(getarg rd.live.squashimg=)
    mkdir -p "$KL_MEDIUM" "$KL_SQUASH" "$KL_OVERLAY"
    modprobe -qa isofs squashfs overlay loop 2> /dev/null
    mount -n -o ro "$device" "$KL_MEDIUM" || kl_fail "cannot mount the live medium $device"
    image=$KL_MEDIUM/${live_dir:-LiveOS}/${image:-squashfs.img}
    [ -f "$image" ] || kl_fail "the live medium has no ${image#"$KL_MEDIUM"/}"
    if getargbool 0 rd.live.ram; then
        kl_log "copying the root image into RAM"
        cp "$image" /run/initramfs/squashfs.img || kl_fail "copying the root image into RAM failed"
        image=/run/initramfs/squashfs.img
    fi
    mount -n -t squashfs -o ro,loop "$image" "$KL_SQUASH" || kl_fail "cannot mount $image"
    KL_LOWER=$KL_SQUASH
    kl_upper "$device"
    mkdir -p "$KL_OVERLAY/rw" "$KL_OVERLAY/work"
    mount -n -t overlay -o "lowerdir=$KL_LOWER,upperdir=$KL_OVERLAY/rw,workdir=$KL_OVERLAY/work" \
        overlay "$NEWROOT" || kl_fail "cannot mount the overlay root"
    kl_log "live root from $device"
}

case "$root" in
live:*) ismounted "$NEWROOT" || kl_live_root ;;
esac
