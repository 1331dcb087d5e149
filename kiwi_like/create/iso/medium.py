"""The ISO 9660 file: xorriso over a directory tree, bootable from CD and USB stick.

The El Torito BIOS entry is GRUB's eltorito core, and GRUB's boot_hybrid.img
in the system area boots it from a USB stick; the El Torito EFI entry is a FAT
image. For sticks the MBR has two partitions: 1 holds the ISO file system
(from 32 KiB on, so it can be mounted from the partition, and live-boot's
persistence may use other partitions of the stick) and 2 a copy of the FAT
image (type EF), which UEFI firmware boots.
"""

from __future__ import annotations

from pathlib import Path

from kiwi_like import reproducible
from kiwi_like import run as runner
from kiwi_like.create.iso.boot import MediumBoot
from kiwi_like.create.steps import step
from kiwi_like.description.imagetypes.medium import IsoSettings


def xorriso_argv(tree: Path, output: Path, boot: MediumBoot, settings: IsoSettings) -> list[str]:
    argv = [
        "xorriso", "-as", "mkisofs", "-quiet",
        "-iso-level", "3", "-full-iso9660-filenames", "-rational-rock", "-joliet",
        "-joliet-long", "-volid", settings.volid, "-preparer", "kiwi-like",
    ]  # fmt: skip
    if settings.publisher:
        argv += ["-publisher", settings.publisher]
    if settings.application_id:
        argv += ["-appid", settings.application_id]
    argv += [
        "-b", boot.eltorito, "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
        "--grub2-boot-info", "--grub2-mbr", str(boot.boot_hybrid),
    ]  # fmt: skip
    # partition 1: the ISO file system from 32 KiB on, mountable from a stick's partition
    argv += ["-partition_offset", "16"]
    if boot.efi_image:
        # El Torito's EFI entry for CDs, a copy as partition 2 (type EF) for sticks
        argv += ["--efi-boot", boot.efi_image]
        argv += ["-append_partition", "2", "0xef", str(tree / boot.efi_image)]
    argv += ["-o", str(output), str(tree)]
    return argv


def make_iso(tree: Path, output: Path, boot: MediumBoot, settings: IsoSettings) -> None:
    setting = reproducible.current()
    if setting is not None:
        # xorriso's SOURCE_DATE_EPOCH fixes the volume's dates; a file's dates are its mtime
        reproducible.clamp_mtimes(tree, setting.epoch)
    with step("creating the ISO image"):
        runner.run(xorriso_argv(tree, output, boot, settings))
