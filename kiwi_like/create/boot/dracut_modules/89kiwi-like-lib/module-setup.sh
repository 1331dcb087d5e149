#!/bin/bash
# kiwi-like's dracut library (kiwi: dracut-kiwi-lib): rd.kiwi.debug and messages.
check() { return 255; }
depends() { return 0; }
install() {
    inst_simple "$moddir/kiwi-like-lib.sh" /lib/kiwi-like-lib.sh
    inst_hook cmdline 05 "$moddir/kiwi-like-debug.sh"
    inst_multiple -o sfdisk blkid partx blockdev mke2fs sha256sum zstd dd tr cut basename \
        dirname grep awk sed sync head
}
