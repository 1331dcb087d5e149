#!/bin/sh
# kiwi-like's network in its dracut initrds (POSIX sh: dracut's shell may be dash).
# kl_net_up brings up one interface as ip= says (dracut's and the kernel's syntax, IPv4):
#   ip=dhcp (on, any; also no ip= at all)  DHCP on the first interface that gets a lease
#   ip=<interface>:dhcp                    DHCP on that interface
#   ip=<client>:<peer>:<gateway>:<netmask>:<hostname>:<interface>:{none|off|dhcp}[:<dns1>[:<dns2>]]
# kl_fetch URL FILE fetches http:// (busybox wget) or tftp://host/path (busybox tftp);
# FILE "-" is standard output.

KL_BB=/kiwi-like/bin/busybox

# kiwi-like's installer script calls these by name (initramfs-tools' busybox has them)
wget() { "$KL_BB" wget "$@"; }
tftp() { "$KL_BB" tftp "$@"; }

kl_is_ipv4() {
    case "$1" in
    *[!0-9.]* | *.*.*.*.*) return 1 ;;
    [0-9]*.[0-9]*.[0-9]*.[0-9]*) return 0 ;;
    *) return 1 ;;
    esac
}

# ip= read into KL_NET_METHOD (dhcp | static), KL_NET_IFACE (empty: any), KL_NET_ADDR,
# KL_NET_MASK, KL_NET_GATEWAY, KL_NET_DNS; or KL_NET_ERROR and false.
kl_ip_parse() {
    KL_NET_METHOD= KL_NET_IFACE= KL_NET_ADDR= KL_NET_MASK= KL_NET_GATEWAY= KL_NET_DNS=
    KL_NET_ERROR=
    spec=${1:-dhcp}
    old_ifs=$IFS
    IFS=:
    set -f
    # shellcheck disable=SC2086 # split at the colons on purpose
    set -- $spec
    set +f
    IFS=$old_ifs
    case $# in
    1) method=$1 ;;
    2) KL_NET_IFACE=$1 method=$2 ;;
    7 | 8 | 9)
        KL_NET_ADDR=$1 KL_NET_GATEWAY=$3 KL_NET_MASK=$4 KL_NET_IFACE=$6 method=$7
        for server in "$8" "${9:-}"; do
            [ -n "$server" ] || continue
            if ! kl_is_ipv4 "$server"; then
                KL_NET_ERROR="ip=$spec: '$server' is not an IPv4 DNS server (MTU and MAC fields are not supported)"
                return 1
            fi
            KL_NET_DNS="$KL_NET_DNS $server"
        done
        ;;
    *)
        KL_NET_ERROR="ip=$spec: not of the form dhcp, <interface>:dhcp or <client>:<peer>:<gateway>:<netmask>:<hostname>:<interface>:<method>"
        return 1
        ;;
    esac
    case "$method" in
    dhcp | on | any) KL_NET_METHOD=dhcp ;;
    none | off | "")
        if [ -z "$KL_NET_ADDR" ]; then
            KL_NET_ERROR="ip=$spec: this initrd needs the network (DHCP or a static address)"
            return 1
        fi
        if ! kl_is_ipv4 "$KL_NET_ADDR"; then
            KL_NET_ERROR="ip=$spec: '$KL_NET_ADDR' is not an IPv4 address"
            return 1
        fi
        KL_NET_METHOD=static
        ;;
    *)
        KL_NET_ERROR="ip=$spec: '$method' is not supported (kiwi-like's initrd: dhcp or a static IPv4 address)"
        return 1
        ;;
    esac
}

# Network interfaces of devices (not lo, not virtual ones)
kl_net_interfaces() {
    for dev in /sys/class/net/*; do
        [ -e "$dev/device" ] && echo "${dev##*/}"
    done
}

kl_prefix() {
    case "$1" in
    *.*) "$KL_BB" ipcalc -p 0.0.0.0 "$1" | sed -n 's/^PREFIX=//p' ;;
    *) echo "${1:-24}" ;;
    esac
}

kl_dhcp() {
    "$KL_BB" ip link set "$1" up || return 1
    "$KL_BB" udhcpc -i "$1" -f -q -n -t 10 -T 3 -s /lib/kiwi-like-udhcpc.sh > /dev/null 2>&1
}

kl_static() {
    "$KL_BB" ip link set "$1" up || return 1
    "$KL_BB" ip addr add "$KL_NET_ADDR/$(kl_prefix "$KL_NET_MASK")" dev "$1" || return 1
    if [ -n "$KL_NET_GATEWAY" ]; then
        "$KL_BB" ip route add default via "$KL_NET_GATEWAY" dev "$1" || return 1
    fi
    if [ -n "$KL_NET_DNS" ]; then
        : > /etc/resolv.conf
        for server in $KL_NET_DNS; do
            echo "nameserver $server" >> /etc/resolv.conf
        done
    fi
}

# Bring up the network as ip= says; on failure KL_NET_ERROR says why.
kl_net_up() {
    kl_ip_parse "$(getarg ip=)" || return 1
    modprobe -q virtio_net 2> /dev/null
    tries=0
    while [ -z "$(kl_net_interfaces)" ] && [ "$tries" -lt 30 ]; do
        udevadm settle --timeout=2
        sleep 1
        tries=$((tries + 1))
    done
    interfaces=${KL_NET_IFACE:-$(kl_net_interfaces)}
    if [ -z "$interfaces" ]; then
        KL_NET_ERROR="no network interface found"
        return 1
    fi
    for iface in $interfaces; do
        [ -e "/sys/class/net/$iface" ] || continue
        if [ "$KL_NET_METHOD" = dhcp ]; then
            kl_dhcp "$iface" || continue
        else
            kl_static "$iface" || continue
        fi
        address=$("$KL_BB" ip -4 -o addr show dev "$iface" | awk '{ print $4; exit }')
        kl_log "network up: $iface $address ($KL_NET_METHOD)"
        KL_NET_IFACE=$iface
        return 0
    done
    KL_NET_ERROR="no network on $(echo $interfaces) ($KL_NET_METHOD)"
    return 1
}

kl_fetch() {
    case "$1" in
    http://*) "$KL_BB" wget -q -O "$2" "$1" ;;
    tftp://*)
        rest=${1#tftp://}
        target=$2
        [ "$target" != - ] || target=/dev/stdout
        "$KL_BB" tftp -g -r "/${rest#*/}" -l "$target" "${rest%%/*}"
        ;;
    *) return 1 ;;
    esac
}
