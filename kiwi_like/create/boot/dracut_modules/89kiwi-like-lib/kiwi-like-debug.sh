#!/bin/sh
# rd.kiwi.debug: trace kiwi-like's hooks into /run/initramfs/log/boot.kiwi
type getargbool > /dev/null 2>&1 || . /lib/dracut-lib.sh
if getargbool 0 rd.kiwi.debug; then
    mkdir -p /run/initramfs/log
    exec 9>> /run/initramfs/log/boot.kiwi
    BASH_XTRACEFD=9
    export BASH_XTRACEFD
    set -x
fi
