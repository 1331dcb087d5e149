"""GRUB on an ISO: El Torito images for BIOS and EFI and the medium's grub.cfg.

The image's own grub-mkimage makes an i386-pc-eltorito core (BIOS, and via
boot_hybrid.img from a USB stick) and a BOOTX64.EFI, which goes into a small
FAT image that is the El Torito EFI entry and, on a USB stick, the EFI
partition. Both cores carry every module they need and an early config that
finds this medium by a file only it has, then read /boot/grub/grub.cfg.
With Secure Boot (firmware="uefi") the FAT image holds the distribution's
signed shim and GRUB instead, and a grub.cfg for that GRUB doing the same.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from kiwi_like import reproducible
from kiwi_like import run as runner
from kiwi_like.create.boot.grub import (
    GRUB_DIR,
    MODULES,
    menu_header,
    mkimage,
    quote,
    secure_boot_tree,
)
from kiwi_like.create.boot.tools import MTOOLS_ENV
from kiwi_like.description.imagetypes.bootmenu import BootMenu
from kiwi_like.rootfs import resolve_in_root

CD_MODULES = (*MODULES, "iso9660", "search_fs_file", "search_label", "chain")
BIOS_MODULES = ("biosdisk", *CD_MODULES)
EFI_MODULES = ("efi_gop", "efi_uga", *CD_MODULES)
ELTORITO = f"{GRUB_DIR}/eltorito.img"  # paths on the medium
EFI_IMAGE = f"{GRUB_DIR}/efi.img"
BOOT_HYBRID = "/usr/lib/grub/i386-pc/boot_hybrid.img"  # in the image root
EFI_IMAGE_SLACK = 512 * 1024  # FAT overhead around BOOTX64.EFI


@dataclass(frozen=True)
class MediumBoot:
    """What the ISO tree got for booting, as paths relative to the tree."""

    eltorito: str
    efi_image: str | None
    boot_hybrid: Path  # host path of GRUB's hybrid MBR code


@dataclass(frozen=True)
class MenuEntry:
    title: str
    commands: tuple[str, ...]

    @classmethod
    def linux(cls, title: str, kernel: str, initrd: str, options: tuple[str, ...]) -> MenuEntry:
        """Boot `kernel` and `initrd` (paths on the medium) with `options`."""
        return cls(title, (f"linux {kernel} {' '.join(options)}".rstrip(), f"initrd {initrd}"))


# kiwi's "Boot from Hard Disk": the first disk's boot code on BIOS, the next boot
# entry of the firmware on EFI
HARD_DISK = MenuEntry(
    "Boot from Hard Disk",
    (
        'if [ "$grub_platform" = "efi" ]; then',
        "    exit",
        "fi",
        "set root=(hd0)",
        "chainloader +1",
    ),
)


def medium_id_file() -> str:
    """A file name no other medium has, for GRUB's `search --file` (in a reproducible
    build one no medium of another image or version has)."""
    setting = reproducible.current()
    token = setting.hex("medium id", 16) if setting is not None else secrets.token_hex(8)
    return f"{GRUB_DIR}/kiwi-like-{token}.id"


def early_config(id_file: str) -> str:
    return f"search --no-floppy --file --set=root {id_file}\nset prefix=($root){GRUB_DIR}\n"


def grub_cfg(menu: BootMenu, entries: list[MenuEntry], default: int = 0) -> str:
    lines = menu_header(menu)
    lines[1] = f"set default={default}"
    for entry in entries:
        lines.append(f"menuentry {quote(entry.title)} {{")
        lines += [f"    {command}" for command in entry.commands]
        lines.append("}")
    return "\n".join(lines) + "\n"


def _efi_fat_image(efi_tree: Path, output: Path) -> None:
    """A FAT image holding the files under `efi_tree` (EFI/BOOT/...)."""
    files = sum(path.stat().st_size for path in efi_tree.rglob("*") if path.is_file())
    size_kib = -(-(files + EFI_IMAGE_SLACK) // (1024 * 1024)) * 1024
    output.unlink(missing_ok=True)
    setting = reproducible.current()
    fixed: list[str] = []
    if setting is not None:  # the volume id from the seed, the label's time fixed
        fixed = ["--invariant", "-i", setting.hex("efi image volume id", 8)]
        reproducible.clamp_mtimes(efi_tree, setting.epoch)  # mcopy -m keeps them
    runner.run(["mkfs.vfat", "-C", *fixed, "-n", "EFIBOOT", output, str(size_kib)])
    entries = sorted(efi_tree.iterdir())
    runner.run(["mcopy", "-s", "-Q", "-m", "-i", output, *entries, "::/"], env=MTOOLS_ENV)


def _efi_tree(root: Path, tree: Path, early: str, secure_boot: bool, work: Path) -> Path:
    """The EFI boot files: grub-mkimage's BOOTX64.EFI, or with Secure Boot the signed chain.

    Signed GRUB reads EFI/debian/grub.cfg of the device it was loaded from, which
    firmware may name as the FAT image or as the whole medium: both have it.
    """
    efi_tree = work / "efi-tree"
    if secure_boot:
        secure_boot_tree(root, efi_tree, early)
        secure_boot_tree(root, tree, early)
        return efi_tree
    binary = mkimage(root, "x86_64-efi", EFI_MODULES, early, work / "BOOTX64.EFI")
    (efi_tree / "EFI" / "BOOT").mkdir(parents=True)
    binary.replace(efi_tree / "EFI" / "BOOT" / "BOOTX64.EFI")
    return efi_tree


def install_medium_boot(
    root: Path,
    tree: Path,
    with_efi: bool,
    config: str,
    id_file: str,
    work: Path,
    secure_boot: bool = False,
) -> MediumBoot:
    """GRUB's images, the id file and grub.cfg into the ISO tree."""
    grub_dir = tree / GRUB_DIR.lstrip("/")
    grub_dir.mkdir(parents=True, exist_ok=True)
    (tree / id_file.lstrip("/")).write_text("kiwi-like medium\n")
    (grub_dir / "grub.cfg").write_text(config)
    early = early_config(id_file)
    bios_work = work / "grub-cd"
    bios_work.mkdir()
    core = mkimage(root, "i386-pc-eltorito", BIOS_MODULES, early, bios_work / "eltorito.img")
    core.replace(tree / ELTORITO.lstrip("/"))
    efi_image = None
    if with_efi:
        efi_work = work / "grub-efi"
        efi_work.mkdir()
        efi_tree = _efi_tree(root, tree, early, secure_boot, efi_work)
        _efi_fat_image(efi_tree, tree / EFI_IMAGE.lstrip("/"))
        efi_image = EFI_IMAGE.lstrip("/")
    return MediumBoot(
        eltorito=ELTORITO.lstrip("/"),
        efi_image=efi_image,
        boot_hybrid=resolve_in_root(root, BOOT_HYBRID),
    )
