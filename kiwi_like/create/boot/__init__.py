"""What every bootable image type shares: the image's kernel and initrds, GRUB images and
configuration, root file systems and squashfs, and the root tree's handling."""
