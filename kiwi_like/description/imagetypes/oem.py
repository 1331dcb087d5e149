"""The oem type: a raw disk (legacy name vmx), optionally wrapped into installers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kiwi_like.description.imagetypes.base import (
    FIRMWARES,
    SECURE_BOOT_PACKAGES,
    ImageTypeKind,
    TypeSettings,
    choice,
    efi_firmware,
    flag,
    initrd_system,
    only_x86_64,
    positive_number,
)
from kiwi_like.description.imagetypes.bootmenu import BootMenu, boot_menu
from kiwi_like.description.imagetypes.medium import IsoSettings, iso_settings, squashfs_compression
from kiwi_like.description.model import Size
from kiwi_like.errors import KiwiLikeError

if TYPE_CHECKING:
    from kiwi_like.description.resolve import ResolvedBuild

KIND_NAME = "disk images"
ROOT_FILESYSTEMS = ("ext2", "ext3", "ext4", "xfs", "btrfs")
TABLE_TYPES = ("gpt", "msdos")
PERSISTENCY = ("by-uuid", "by-label", "by-partuuid")
DEFAULT_ESP_MB = 64
DEFAULT_SWAP_MB = 128
DEFAULT_ROOT_LABEL = "ROOT"
# sfdisk, mkfs.* and mtools assemble the disk, qemu-img converts it, xorriso and zstd
# make the installers
HOST_PACKAGES = ("fdisk", "e2fsprogs", "xfsprogs", "btrfs-progs", "dosfstools", "mtools",
                 "qemu-utils", "xorriso", "zstd", "squashfs-tools")  # fmt: skip
FILESYSTEM_TOOLS = {"ext2": "e2fsprogs", "ext3": "e2fsprogs", "ext4": "e2fsprogs",
                    "xfs": "xfsprogs", "btrfs": "btrfs-progs"}  # fmt: skip


@dataclass(frozen=True)
class InstallSettings:
    """<oemconfig> as the installer reads it (kiwi's names in the comments)."""

    unattended: bool  # oem-unattended
    unattended_id: str | None  # oem-unattended-id: the target's /dev/disk/by-id name
    device_filter: str | None  # oem-device-filter: regex of devices to leave out
    skip_verify: bool  # oem-skip-verify
    reboot: bool  # oem-reboot
    shutdown: bool  # oem-shutdown
    install_first: bool  # installboot="install": the install entry is the default


# GRUB reads the kernel from the overlay root's squashfs: its squash4 knows these only
GRUB_SQUASHFS_COMPRESSIONS = ("uncompressed", "gzip", "lzo", "xz")
# kiwi's default is xz; gzip makes the squashfs several times faster, and GRUB reads it
DEFAULT_OVERLAY_COMPRESSION = "gzip"


@dataclass(frozen=True)
class OverlaySettings:
    """overlayroot="true": a read-only squashfs root under a writable overlay."""

    write_partition: bool  # overlayroot_write_partition; false: the overlay is in RAM
    readonly_mb: int | None  # overlayroot_readonly_partsize; None: as big as the squashfs
    compression: str  # squashfscompression, one GRUB can read


@dataclass(frozen=True)
class DiskSettings(TypeSettings):
    firmware: str  # bios | efi (uefi is read as efi)
    filesystem: str
    table: str  # gpt | msdos
    esp_mb: int
    swap_mb: int | None  # None: no swap partition
    resize: bool
    size: Size | None
    persistency: str
    root_label: str
    mount_options: str  # fsmountoptions
    create_options: str  # fscreateoptions: extra mkfs options
    menu: BootMenu
    disk_format: str | None  # format=: a virtual disk made from the raw one
    install: InstallSettings
    install_iso: IsoSettings | None  # installiso="true": the install ISO's medium
    install_pxe: bool  # installpxe="true"
    # firmware="uefi": the distribution's signed shim -> GRUB -> kernel chain boots EFI
    secure_boot: bool = False
    overlay: OverlaySettings | None = None  # overlayroot="true"

    @property
    def efi(self) -> bool:
        return self.firmware == "efi"

    @property
    def write_partition(self) -> bool:
        """Whether the disk has a partition of `filesystem` (not with an overlay in RAM)."""
        return self.overlay is None or self.overlay.write_partition

    @property
    def installer(self) -> bool:
        return self.install_iso is not None or self.install_pxe


def install_settings(build: ResolvedBuild) -> InstallSettings:
    oem = build.build_type.oemconfig
    return InstallSettings(
        unattended=flag(oem.get("oem-unattended")),
        unattended_id=oem.get("oem-unattended-id") or None,
        device_filter=oem.get("oem-device-filter") or None,
        skip_verify=flag(oem.get("oem-skip-verify")),
        reboot=flag(oem.get("oem-reboot")),
        shutdown=flag(oem.get("oem-shutdown")),
        install_first=build.build_type.get("installboot") in ("install", "failsafe-install"),
    )


def overlay_settings(build: ResolvedBuild, initrd: str) -> OverlaySettings | None:
    attributes = build.build_type.attributes
    if not flag(attributes.get("overlayroot")):
        for name in ("overlayroot_write_partition", "overlayroot_readonly_partsize"):
            if attributes.get(name) is not None:
                raise KiwiLikeError(f'{name} needs overlayroot="true"')
        return None
    if initrd != "dracut":
        raise KiwiLikeError('overlayroot="true" needs initrd_system="dracut"')
    if flag(attributes.get("installiso")) or flag(attributes.get("installpxe")):
        raise KiwiLikeError('overlayroot="true" is not supported with an installer yet')
    compression = build.build_type.get("squashfscompression")
    compression = squashfs_compression(build) if compression else DEFAULT_OVERLAY_COMPRESSION
    if compression not in GRUB_SQUASHFS_COMPRESSIONS:
        raise KiwiLikeError(
            f"squashfscompression '{compression}' cannot be read by GRUB from an overlayroot "
            f"disk (supported: {', '.join(GRUB_SQUASHFS_COMPRESSIONS)})"
        )
    partsize = attributes.get("overlayroot_readonly_partsize")
    return OverlaySettings(
        write_partition=flag(attributes.get("overlayroot_write_partition"), True),
        readonly_mb=positive_number("overlayroot_readonly_partsize", partsize, 1)
        if partsize
        else None,
        compression=compression,
    )


def disk_settings(build: ResolvedBuild) -> DiskSettings:
    """Read the disk settings of the selected type; refuse what kiwi-like cannot build."""
    only_x86_64(build, KIND_NAME)
    build_type = build.build_type
    attributes = build_type.attributes
    oem = build_type.oemconfig
    # kiwi's default for oem disks is dracut; a description listing initramfs-tools keeps it
    system = initrd_system(build, "dracut", ("kiwi", "dracut"), KIND_NAME)
    return DiskSettings(
        image=build_type.image,
        initrd_system=system,
        firmware=efi_firmware(
            choice("firmware", build_type.firmware or "bios", FIRMWARES, KIND_NAME)
        ),
        filesystem=choice(
            "filesystem", build_type.filesystem or "ext4", ROOT_FILESYSTEMS, KIND_NAME
        ),
        table=choice(
            "efiparttable", attributes.get("efiparttable") or "gpt", TABLE_TYPES, KIND_NAME
        ),
        esp_mb=positive_number("efipartsize", attributes.get("efipartsize"), DEFAULT_ESP_MB),
        swap_mb=positive_number("oem-swapsize", oem.get("oem-swapsize"), DEFAULT_SWAP_MB)
        if flag(oem.get("oem-swap"))
        else None,
        resize=flag(oem.get("oem-resize"), KIND.resizes),
        size=build_type.size,
        persistency=choice(
            "devicepersistency",
            attributes.get("devicepersistency") or "by-uuid",
            PERSISTENCY,
            KIND_NAME,
        ),
        root_label=attributes.get("rootfs_label") or DEFAULT_ROOT_LABEL,
        mount_options=attributes.get("fsmountoptions") or "defaults",
        create_options=attributes.get("fscreateoptions") or "",
        menu=boot_menu(build, KIND_NAME),
        disk_format=build_type.format,  # checked by the converter
        install=install_settings(build),
        install_iso=iso_settings(build) if flag(attributes.get("installiso")) else None,
        install_pxe=flag(attributes.get("installpxe")),
        secure_boot=build_type.firmware == "uefi",
        overlay=overlay_settings(build, system),
    )


def image_packages(settings: TypeSettings) -> tuple[str, ...]:
    assert isinstance(settings, DiskSettings)
    packages = [
        FILESYSTEM_TOOLS[settings.filesystem],
        "dracut" if settings.initrd_system == "dracut" else "initramfs-tools",
        "grub-pc-bin",  # BIOS boot code; efi disks are hybrid
    ]
    if settings.initrd_system == "dracut":
        packages.append("zstd")  # dracut compresses with it, fast
    if settings.efi:
        packages.append("grub-efi-amd64-bin")
    if settings.secure_boot:
        packages += SECURE_BOOT_PACKAGES
    if settings.resize or settings.installer:
        packages.append("fdisk")
    if settings.installer:
        packages.append("zstd")  # the installer unpacks the disk image with zstd
        if settings.initrd_system != "dracut" or settings.install_pxe:
            # initramfs-tools' installer shell; dracut's network module: DHCP, wget, tftp
            packages.append("busybox")
    return tuple(dict.fromkeys(packages))


KIND = ImageTypeKind(
    name="oem",
    builder="kiwi_like.create.oem:create",
    read_settings=disk_settings,
    image_packages=image_packages,
    host_packages=HOST_PACKAGES,
    firmwares=FIRMWARES,
    resizes=True,
    create_cost=2,  # an initrd and the disk; the install media add more
)
