"""Packages an image type needs in the root to be created, added during prepare.

kiwi makes users list these; kiwi-like adds the missing ones and says so, so a
description cannot fail at the very end of a build for want of a boot loader.
"""

from __future__ import annotations

from kiwi_like.description import ResolvedBuild

FILESYSTEM_TOOLS = {"ext2": "e2fsprogs", "ext3": "e2fsprogs", "ext4": "e2fsprogs",
                    "xfs": "xfsprogs", "btrfs": "btrfs-progs"}  # fmt: skip


def required_packages(build: ResolvedBuild) -> tuple[str, ...]:
    """Debian package names the selected type needs (empty for other package managers)."""
    if build.preferences.packagemanager not in ("apt", "apt-get"):
        return ()
    build_type = build.build_type
    if build_type.image == "iso":
        return _live_packages(build)
    if build_type.image in ("kis", "pxe"):
        return ("initramfs-tools", "busybox")  # the network boot initrd
    if build_type.image != "oem":
        return ()
    packages = [FILESYSTEM_TOOLS.get(build_type.filesystem or "ext4", "e2fsprogs")]
    packages.append("dracut" if build_type.get("initrd_system") == "dracut" else "initramfs-tools")
    firmware = build_type.firmware or "bios"
    if build.arch == "x86_64":
        packages.append("grub-pc-bin")
        if firmware in ("efi", "uefi"):
            packages.append("grub-efi-amd64-bin")
    elif build.arch == "aarch64":
        packages.append("grub-efi-arm64-bin")
    installer = build_type.flag("installiso") or build_type.flag("installpxe")
    if build_type.oemconfig.get("oem-resize", "true") != "false" or installer:
        packages.append("fdisk")
    if installer:
        packages += ["zstd", "busybox"]  # the installer unpacks the disk image with zstd
    return tuple(packages)


def _live_packages(build: ResolvedBuild) -> tuple[str, ...]:
    if build.arch != "x86_64":
        return ()
    packages = ["initramfs-tools", "live-boot", "grub-pc-bin"]
    if build.build_type.firmware in ("efi", "uefi"):
        packages.append("grub-efi-amd64-bin")
    if build.build_type.flag("hybridpersistent"):
        packages += ["fdisk", "e2fsprogs"]  # to make the persistence partition at boot
    return tuple(packages)
