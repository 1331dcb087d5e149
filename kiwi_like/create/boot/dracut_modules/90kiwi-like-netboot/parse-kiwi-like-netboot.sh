#!/bin/sh
# kiwi-like.image=<URL of the root image>: this initrd boots it (no root= needed)
if getarg kiwi-like.image= > /dev/null; then
    root=kiwi-like:netboot
    rootok=1
fi
