"""Programs and files of the image root that builders check for and use."""

from __future__ import annotations

from pathlib import Path

from kiwi_like.rootfs import resolve_in_root

MTOOLS_ENV = {"MTOOLS_SKIP_CHECK": "1"}  # mtools on image files, not floppies
PROGRAM_DIRS = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")
# firmware -> (a file of GRUB's platform directory, the package shipping it)
GRUB_FILES = {
    "bios": ("/usr/lib/grub/i386-pc/boot.img", "grub-pc-bin"),
    "efi": ("/usr/lib/grub/x86_64-efi/kernel.img", "grub-efi-amd64-bin"),
}


def has_program(root: Path, name: str) -> bool:
    return any(resolve_in_root(root, f"{directory}/{name}").is_file() for directory in PROGRAM_DIRS)
