"""Checks that the image has what its disk needs, before anything is changed."""

from __future__ import annotations

from pathlib import Path

from kiwi_like.create.boot import resize
from kiwi_like.create.boot.grub import check_secure_boot
from kiwi_like.create.boot.initrd import initrd_tool
from kiwi_like.create.boot.kernel import Kernel, newest_kernel
from kiwi_like.create.boot.tools import GRUB_FILES, has_program
from kiwi_like.description.imagetypes.oem import DiskSettings
from kiwi_like.errors import KiwiLikeError
from kiwi_like.rootfs import resolve_in_root


def grub_firmwares(settings: DiskSettings) -> tuple[str, ...]:
    """Boot loaders to install: BIOS always (efi/uefi disks are hybrid), EFI when asked."""
    return ("bios", "efi") if settings.efi else ("bios",)


def check_image(root: Path, settings: DiskSettings) -> Kernel:
    """Fail early, with the package to add, when the image lacks a tool the disk needs."""
    if not root.is_dir():
        raise KiwiLikeError(f"image root {root} does not exist")
    kernel = newest_kernel(root)
    initrd_tool(root, settings)
    for firmware in grub_firmwares(settings):
        path, package = GRUB_FILES[firmware]
        if not resolve_in_root(root, path).is_file():
            kind = "BIOS" if firmware == "bios" else "EFI"
            raise KiwiLikeError(
                f"the image has no GRUB for {kind} ({path.rsplit('/', 1)[0]}): "
                f"add the package {package}"
            )
    if settings.secure_boot:
        check_secure_boot(root)
    if not has_program(root, "grub-mkimage"):
        raise KiwiLikeError("the image has no grub-mkimage: add the package grub-common")
    if settings.resize:
        for program, package in resize.required_tools(settings.filesystem):
            if not has_program(root, program):
                raise KiwiLikeError(
                    f"oem-resize needs {program} in the image: add the package {package} "
                    "(or set <oem-resize>false</oem-resize>)"
                )
    return kernel
