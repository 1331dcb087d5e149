#!/bin/sh
# Called by the image builder after the bootloader is installed (corpus example).
set -e
echo "custom bootloader setup for $1"
