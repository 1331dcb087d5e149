#!/bin/sh
# busybox udhcpc's script: puts the lease it got ($interface, $ip, $mask, $router,
# $dns, $domain) onto the interface.
KL_BB=/kiwi-like/bin/busybox
case "$1" in
deconfig)
    $KL_BB ip -4 addr flush dev "$interface"
    $KL_BB ip link set "$interface" up
    ;;
bound | renew)
    $KL_BB ip -4 addr flush dev "$interface"
    $KL_BB ip addr add "$ip/${mask:-24}" dev "$interface"
    for gateway in $router; do
        $KL_BB ip route add default via "$gateway" dev "$interface" && break
    done
    : > /etc/resolv.conf
    [ -z "$domain" ] || echo "search $domain" >> /etc/resolv.conf
    for server in $dns; do
        echo "nameserver $server" >> /etc/resolv.conf
    done
    ;;
esac
exit 0
