"""GRUB pieces every bootable type uses: the image's grub-mkimage, modules, grub.cfg words."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from kiwi_like.chroot import Bind, run_in_root
from kiwi_like.description.imagetypes.bootmenu import BootMenu
from kiwi_like.errors import KiwiLikeError
from kiwi_like.log import log
from kiwi_like.rootfs import resolve_in_root

GRUB_DIR = "/boot/grub"
# GRUB platform directory in the image -> where grub-install would put its modules
PLATFORMS = {"bios": "i386-pc", "efi": "x86_64-efi"}
MODULES = (
    "part_gpt", "part_msdos", "ext2", "xfs", "btrfs", "fat", "search", "search_fs_uuid",
    "normal", "linux", "boot", "serial", "terminal", "echo", "configfile", "test", "gzio",
)  # fmt: skip
OPTIONAL_MODULES = ("efi_gop", "efi_uga")  # not in every GRUB build
IN_ROOT = "/tmp"  # where the work directory is bound inside the root


def quote(text: str) -> str:
    """A word for GRUB's shell-like parser."""
    return "'" + text.replace("'", "'\\''") + "'"


def mkimage(
    root: Path, platform: str, modules: Sequence[str], early_config: str, output: Path
) -> Path:
    """Run the image's grub-mkimage for `platform`; modules the build lacks are left out
    if they are optional."""
    # i386-pc-eltorito (a CD's BIOS core) is made from the i386-pc modules
    module_dir = resolve_in_root(root, f"/usr/lib/grub/{platform.removesuffix('-eltorito')}")
    wanted = [
        name
        for name in modules
        if name not in OPTIONAL_MODULES or (module_dir / f"{name}.mod").is_file()
    ]
    work = output.parent
    (work / "early.cfg").write_text(early_config)
    log.info("Making the GRUB %s image with the image's grub-mkimage", platform)
    run_in_root(
        root,
        ["grub-mkimage", "-O", platform, "-o", f"{IN_ROOT}/{output.name}",
         "-c", f"{IN_ROOT}/early.cfg", "-p", GRUB_DIR, *wanted],
        binds=[Bind(work, IN_ROOT)],
    )  # fmt: skip
    if not output.is_file():
        raise KiwiLikeError(f"grub-mkimage did not write {output.name}")
    return output


def menu_header(menu: BootMenu) -> list[str]:
    """grub.cfg's first lines: default entry, timeout and terminals."""
    lines = [
        "# GRUB configuration written by kiwi-like",
        "set default=0",
        f"set timeout={menu.timeout}",
    ]
    if menu.timeout_style:
        lines.append(f"set timeout_style={menu.timeout_style}")
    if "serial" in menu.grub_output + menu.grub_input:
        lines.append(menu.serial_line)
    if menu.grub_input:
        lines.append("terminal_input " + " ".join(menu.grub_input))
    if menu.grub_output:
        lines.append("terminal_output " + " ".join(menu.grub_output))
    return lines


def install_grub_modules(root: Path, firmwares: tuple[str, ...]) -> None:
    """Copy the modules to /boot/grub/<platform> like grub-install, for `insmod` in grub.cfg."""
    for firmware in firmwares:
        platform = PLATFORMS[firmware]
        source = resolve_in_root(root, f"/usr/lib/grub/{platform}")
        target = resolve_in_root(root, f"{GRUB_DIR}/{platform}")
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for path in sorted(source.iterdir()):
            if path.suffix in (".mod", ".lst") and path.is_file():
                shutil.copyfile(path, target / path.name)


# Secure Boot (firmware="uefi"): the distribution's signed chain instead of grub-mkimage's
# image. Shim (signed by Microsoft's UEFI CA) boots grubx64.efi beside it, which Debian
# signed and which verifies the kernel through shim.
SECURE_BOOT_FILES = (
    # (in the image root, on the EFI partition, package)
    ("/usr/lib/shim/shimx64.efi.signed", "EFI/BOOT/BOOTX64.EFI", "shim-signed"),
    ("/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed", "EFI/BOOT/grubx64.efi",
     "grub-efi-amd64-signed"),
    ("/usr/lib/shim/mmx64.efi.signed", "EFI/BOOT/mmx64.efi", "shim-helpers-amd64-signed"),
)  # fmt: skip
# Debian's signed GRUB has its modules built in and reads <its partition>/EFI/debian/grub.cfg
# (else $cmdpath/grub.cfg); it cannot load an early config of ours
SIGNED_GRUB_CONFIGS = ("EFI/debian/grub.cfg", "EFI/BOOT/grub.cfg")


def check_secure_boot(root: Path) -> None:
    """Fail before the slow steps, with the package to add, when the signed chain is missing."""
    for source, _, package in SECURE_BOOT_FILES:
        if not resolve_in_root(root, source).is_file():
            raise KiwiLikeError(
                f'firmware="uefi" (Secure Boot) needs {source} in the image: '
                f"add the package {package}"
            )


def secure_boot_tree(root: Path, tree: Path, early_config: str) -> None:
    """Shim, signed GRUB and MokManager under `tree` (an EFI partition's files), with the
    grub.cfg signed GRUB reads: `early_config` finds the real one, which it then reads."""
    check_secure_boot(root)
    for source, target, _ in SECURE_BOOT_FILES:
        path = tree / target
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(resolve_in_root(root, source), path)
    for name in SIGNED_GRUB_CONFIGS:
        path = tree / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(early_config + "configfile $prefix/grub.cfg\n")
