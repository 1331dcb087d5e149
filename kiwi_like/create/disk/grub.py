"""GRUB for a disk image file, without a device to install to.

The image's own GRUB (so modules and core match) makes the core images
inside the root: for BIOS an i386-pc core image that goes into the BIOS boot
partition (GPT) or the gap after the MBR (msdos), for EFI a BOOTX64.EFI for
the EFI system partition. Both carry an early config that finds the root
file system by UUID and reads its /boot/grub/grub.cfg. With Secure Boot
(firmware="uefi") the EFI partition gets the distribution's signed shim and
GRUB instead, with a grub.cfg that does what the early config does.

What grub-bios-setup would do is done here on the file: boot.img's code
goes into the MBR (the partition table stays), its `kernel_sector` points at
the core image's first sector and the core image's first block list at the
sectors after it.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kiwi_like.create.boot.grub import MODULES, PLATFORMS, mkimage, secure_boot_tree
from kiwi_like.create.disk.layout import SECTOR, DiskLayout
from kiwi_like.errors import KiwiLikeError
from kiwi_like.rootfs import resolve_in_root

PLATFORM_MODULES = {"bios": ("biosdisk",), "efi": ("efi_gop",)}
OUTPUT_NAMES = {"bios": "core.img", "efi": "BOOTX64.EFI"}

# boot.S: where boot.img keeps what grub-bios-setup fills in
MBR_CODE_END = 440  # disk signature and partition table follow
KERNEL_SECTOR = 0x5C  # 64-bit LBA of the core image's first sector
DRIVE_CHECK = 0x66  # a jump that grub-bios-setup turns into two NOPs for hard disks
# diskboot.S: the first block list entry at the end of the core image's first sector
BLOCKLIST_START = SECTOR - 12  # 64-bit LBA
BLOCKLIST_LENGTH = SECTOR - 4  # 16-bit sector count


@dataclass(frozen=True)
class BootImages:
    """GRUB's output for one disk: core images by firmware and boot.img's code."""

    bios_core: Path
    boot_img: bytes
    efi_tree: Path | None  # the EFI partition's boot files (EFI/BOOT/...)


def grub_mkimage(
    root: Path, firmware: str, early_config: str, work: Path, extra: Sequence[str] = ()
) -> Path:
    modules = (*PLATFORM_MODULES[firmware], *MODULES, *extra)
    return mkimage(root, PLATFORMS[firmware], modules, early_config, work / OUTPUT_NAMES[firmware])


def efi_boot_tree(
    root: Path, early_config: str, secure_boot: bool, work: Path, extra: Sequence[str] = ()
) -> Path:
    """EFI/BOOT/BOOTX64.EFI: grub-mkimage's image, or with Secure Boot the signed chain."""
    tree = work / "efi-tree"
    if secure_boot:
        secure_boot_tree(root, tree, early_config)
        return tree
    image = grub_mkimage(root, "efi", early_config, work, extra)
    (tree / "EFI" / "BOOT").mkdir(parents=True)
    image.replace(tree / "EFI" / "BOOT" / OUTPUT_NAMES["efi"])
    return tree


def make_boot_images(
    root: Path,
    firmwares: tuple[str, ...],
    early_config: str,
    work: Path,
    secure_boot: bool = False,
    extra: Sequence[str] = (),
) -> BootImages:
    """`extra`: GRUB modules the core images need besides MODULES (signed GRUB has its own)."""
    directory = work / "grub-bios"
    directory.mkdir()
    bios_core = grub_mkimage(root, "bios", early_config, directory, extra)
    efi_tree = None
    if "efi" in firmwares:
        directory = work / "grub-efi"
        directory.mkdir()
        efi_tree = efi_boot_tree(root, early_config, secure_boot, directory, extra)
    boot_img = resolve_in_root(root, "/usr/lib/grub/i386-pc/boot.img").read_bytes()
    if len(boot_img) != SECTOR:
        raise KiwiLikeError(f"the image's boot.img has {len(boot_img)} bytes, not {SECTOR}")
    return BootImages(bios_core=bios_core, boot_img=boot_img, efi_tree=efi_tree)


def patched_mbr(boot_img: bytes, mbr: bytes, core_sector: int) -> bytes:
    """boot.img's code over the MBR, keeping the disk signature and partition table."""
    sector = bytearray(boot_img[:MBR_CODE_END] + mbr[MBR_CODE_END:SECTOR])
    struct.pack_into("<Q", sector, KERNEL_SECTOR, core_sector)
    sector[DRIVE_CHECK : DRIVE_CHECK + 2] = b"\x90\x90"
    return bytes(sector)


def patched_core(core: bytes, core_sector: int) -> bytes:
    """The core image with its block list pointing at the sectors after its first one."""
    image = bytearray(core)
    sectors = -(-len(image) // SECTOR)
    (length,) = struct.unpack_from("<H", image, BLOCKLIST_LENGTH)
    if length != sectors - 1:
        raise KiwiLikeError(
            f"unexpected GRUB core image: block list of {length} sectors for {sectors} sectors"
        )
    struct.pack_into("<Q", image, BLOCKLIST_START, core_sector + 1)
    return bytes(image)


def install_bios_boot(image: Path, layout: DiskLayout, boot: BootImages) -> None:
    """Write the MBR code and the core image into the disk image file."""
    start, room = layout.embed_area
    core = boot.bios_core.read_bytes()
    if len(core) > room:
        raise KiwiLikeError(
            f"the GRUB core image ({len(core)} bytes) does not fit into {room} bytes"
        )
    core_sector = start // SECTOR
    with open(image, "r+b") as disk:
        mbr = disk.read(SECTOR)
        disk.seek(0)
        disk.write(patched_mbr(boot.boot_img, mbr, core_sector))
        disk.seek(start)
        disk.write(patched_core(core, core_sector))
