"""The ISO 9660 file: xorriso over a directory tree, bootable from CD and USB stick.

The same layout as grub-mkrescue: the El Torito BIOS entry is GRUB's
eltorito core, GRUB's boot_hybrid.img in the system area boots it from a
USB stick, and the EFI entry is a FAT image that xorriso also exposes as a
partition, so UEFI firmware finds it on a stick as well.
"""

from __future__ import annotations

from pathlib import Path

from kiwi_like import run as runner
from kiwi_like.create.disk.steps import step
from kiwi_like.create.iso.boot import MediumBoot
from kiwi_like.create.iso.settings import IsoSettings


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
    if boot.efi_image:
        argv += ["--efi-boot", boot.efi_image, "-efi-boot-part", "--efi-boot-image"]
    argv += ["--protective-msdos-label", "-o", str(output), str(tree)]
    return argv


def make_iso(tree: Path, output: Path, boot: MediumBoot, settings: IsoSettings) -> None:
    with step("creating the ISO image"):
        runner.run(xorriso_argv(tree, output, boot, settings))
