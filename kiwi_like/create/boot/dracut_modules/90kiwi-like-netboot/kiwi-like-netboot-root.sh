#!/bin/sh
# Mount hook of kiwi-like's network boot. Kernel parameters (the kis tarball's .append):
#   kiwi-like.image=<URL>       the root image, http:// or tftp://host/path
#   kiwi-like.sha256=<digest>   its SHA-256: anything else is not booted
#   kiwi-like.fstype=<type>     squashfs (default: read-only under a RAM overlay),
#                               ext2/3/4, xfs or btrfs (read-write in RAM)
#   ip=...                      the network (see kiwi-like-net.sh), DHCP by default
type getarg > /dev/null 2>&1 || . /lib/dracut-lib.sh
. /lib/kiwi-like-lib.sh
. /lib/kiwi-like-net.sh

KN_RUN=/run/kiwi-like

kn_say() {
    echo "kiwi-like netboot: $*"
}

# The messages of initramfs-tools' network boot; rd.kiwi.debug: a shell instead
kn_fail() {
    kn_say "ERROR: $*"
    kl_debug && emergency_shell -n kiwi-like "$*"
    kn_say "This system cannot boot. Press Enter to power off."
    read -r -t 600 _ || true
    kl_power poweroff
}

kn_mount_root() {
    if [ "$1" = squashfs ]; then
        mkdir -p "$KN_RUN/lower" "$KN_RUN/upper" "$KN_RUN/work"
        mount -n -t squashfs -o loop,ro "$KN_RUN/root.img" "$KN_RUN/lower" || return 1
        mount -n -t overlay \
            -o "lowerdir=$KN_RUN/lower,upperdir=$KN_RUN/upper,workdir=$KN_RUN/work" \
            overlay "$NEWROOT"
    else
        mount -n -t "$1" -o loop,rw "$KN_RUN/root.img" "$NEWROOT"
    fi
}

kn_netboot() {
    url=$(getarg kiwi-like.image=)
    sha256=$(getarg kiwi-like.sha256=)
    fstype=$(getarg kiwi-like.fstype=)
    fstype=${fstype:-squashfs}
    [ -n "$sha256" ] || kn_fail "no kiwi-like.sha256= on the kernel command line"
    case "$url" in
    http://* | tftp://*) ;;
    *) kn_fail "cannot fetch $url: only http:// and tftp:// are supported" ;;
    esac
    kl_net_up || kn_fail "$KL_NET_ERROR"
    # RAM for the image and the overlay; /run moves into the booted system with it
    mkdir -p "$KN_RUN"
    mount -n -t tmpfs -o mode=0755,size=90% kiwi-like "$KN_RUN" || kn_fail "cannot mount a tmpfs"
    kn_say "fetching $url"
    kl_fetch "$url" "$KN_RUN/root.img" || kn_fail "fetching $url failed"
    sum=$("$KL_BB" sha256sum "$KN_RUN/root.img")
    if [ "${sum%% *}" != "$sha256" ]; then
        rm -f "$KN_RUN/root.img"
        kn_fail "checksum mismatch for $url (expected $sha256, got ${sum%% *}): not booting it"
    fi
    kn_say "checksum ok, mounting the $fstype root"
    modprobe -qa squashfs overlay loop "$fstype" 2> /dev/null
    kn_mount_root "$fstype" || kn_fail "mounting the $fstype root image failed"
}

if [ "$root" = kiwi-like:netboot ] && ! ismounted "$NEWROOT"; then
    kn_netboot
fi
