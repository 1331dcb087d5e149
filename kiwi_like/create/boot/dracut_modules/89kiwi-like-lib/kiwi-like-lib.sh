#!/bin/sh
# kiwi-like's dracut library: what its modules share.

kl_log() {
    echo "kiwi-like: $*" > /dev/kmsg 2>/dev/null
    echo "kiwi-like: $*"
}

# rd.kiwi.debug: every step on the console and in /run/initramfs/log/boot.kiwi,
# and a shell instead of a reboot when something fails
kl_debug() {
    getargbool 0 rd.kiwi.debug
}

kl_fail() {
    kl_log "ERROR: $*"
    if kl_debug; then
        emergency_shell -n kiwi-like "$*"
    else
        die "$*"
    fi
}

# Power off or reboot at once, without an init to ask: the kernel's SysRq trigger.
kl_power() {
    sync
    case "$1" in
    reboot) echo b > /proc/sysrq-trigger ;;
    *) echo o > /proc/sysrq-trigger ;;
    esac
    while :; do sleep 60; done
}

# A device named LABEL=x, CDLABEL=x, UUID=x, PARTUUID=x or by path, as a /dev path.
kl_device() {
    case "$1" in
    CDLABEL=* | LABEL=*) echo "/dev/disk/by-label/$(echo "${1#*=}" | sed 's,/,\\x2f,g;s, ,\\x20,g')" ;;
    UUID=*) echo "/dev/disk/by-uuid/${1#UUID=}" ;;
    PARTUUID=*) echo "/dev/disk/by-partuuid/${1#PARTUUID=}" ;;
    *) echo "$1" ;;
    esac
}
