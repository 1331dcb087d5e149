#!/bin/sh
# kiwi-like.medium=<id file>: this initrd installs the medium's disk image; kiwi's
# rd.kiwi.install.pxe (or kiwi-like.install=<URL>): the one of a network install
if getarg kiwi-like.medium= > /dev/null || getargbool 0 rd.kiwi.install.pxe ||
    getarg kiwi-like.install= > /dev/null; then
    root=kiwi-like:install
    rootok=1
fi
