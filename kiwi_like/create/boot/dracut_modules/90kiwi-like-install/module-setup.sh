#!/bin/bash
# kiwi-like's installer (kiwi: dracut-kiwi-oem-dump): writes the disk image of the
# install medium onto a disk of the machine, then boots, reboots or powers off.
check() { return 255; }
depends() { echo kiwi-like-lib; }
installkernel() {
    hostonly='' instmods isofs sr_mod cdrom ext4 xfs btrfs vfat nls_cp437 nls_iso8859_1 \
        usb_storage uas xhci_pci ehci_pci sd_mod virtio_blk virtio_scsi virtio_pci nvme \
        ata_piix ahci
}
install() {
    local tool
    for tool in dd sha256sum zstd sfdisk blockdev; do
        inst_binary "$(command -v "$tool")" "/kiwi-like/bin/$tool" || return 1
    done
    inst_multiple grep readlink basename dirname tr cat sleep
    inst_simple "$moddir/kiwi-install" /lib/kiwi-like-install.sh
    inst_hook cmdline 30 "$moddir/parse-kiwi-like-install.sh"
    inst_hook pre-mount 50 "$moddir/kiwi-like-install.sh"
    inst_hook mount 10 "$moddir/kiwi-like-installed-root.sh"
}
