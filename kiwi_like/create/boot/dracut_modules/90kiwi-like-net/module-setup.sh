#!/bin/bash
# kiwi-like's network for its network boot and network install initrds (kiwi: the
# network part of dracut-kiwi-lib): ip= with busybox's DHCP client or a static address,
# URLs fetched with busybox's wget (http://) and tftp (tftp://).
check() { return 255; }
depends() { echo kiwi-like-lib; }
installkernel() {
    # the network cards a machine may boot from
    hostonly='' instmods virtio_net =drivers/net/ethernet
}
install() {
    inst_binary "$(command -v busybox)" /kiwi-like/bin/busybox || return 1
    inst_simple "$moddir/kiwi-like-net.sh" /lib/kiwi-like-net.sh
    inst_simple "$moddir/kiwi-like-udhcpc.sh" /lib/kiwi-like-udhcpc.sh
}
