#!/bin/bash
# kiwi-like's live root (kiwi: dracut-kiwi-live): root=live:<device> mounts the
# medium's squashfs under a RAM or persistent overlay as the root.
check() { return 255; }
depends() { echo kiwi-like-lib; }
installkernel() {
    hostonly='' instmods isofs squashfs overlay loop sr_mod cdrom ext4 vfat nls_cp437 \
        nls_iso8859_1 usb_storage uas xhci_pci ehci_pci sd_mod virtio_blk virtio_scsi \
        virtio_pci ata_piix ahci
}
install() {
    inst_hook cmdline 30 "$moddir/parse-kiwi-like-live.sh"
    inst_hook mount 20 "$moddir/kiwi-like-live-root.sh"
    inst_multiple -o cp
}
