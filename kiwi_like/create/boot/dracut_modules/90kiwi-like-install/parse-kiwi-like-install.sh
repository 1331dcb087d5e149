#!/bin/sh
# kiwi-like.medium=<id file>: this initrd installs the medium's disk image
if getarg kiwi-like.medium= > /dev/null; then
    root=kiwi-like:install
    rootok=1
fi
