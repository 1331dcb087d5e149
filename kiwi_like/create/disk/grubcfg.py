"""GRUB's configuration files: the early config built into the core image and grub.cfg."""

from __future__ import annotations

import shutil
from pathlib import Path

from kiwi_like.create.disk.identity import Identities
from kiwi_like.create.disk.kernel import Kernel
from kiwi_like.create.disk.layout import device_reference
from kiwi_like.create.disk.settings import BootMenu, DiskSettings
from kiwi_like.rootfs import resolve_in_root

GRUB_DIR = "/boot/grub"
# GRUB platform directory in the image -> where grub-install would put its modules
PLATFORMS = {"bios": "i386-pc", "efi": "x86_64-efi"}


def quote(text: str) -> str:
    """A word for GRUB's shell-like parser."""
    return "'" + text.replace("'", "'\\''") + "'"


def early_config(root_uuid: str) -> str:
    """Built into the core image: find the root file system; GRUB then reads its grub.cfg.

    The core runs this with its rescue parser (plain commands only, no `if`);
    afterwards it starts the embedded normal module, which reads $prefix/grub.cfg.
    """
    return f"search --no-floppy --fs-uuid --set=root {root_uuid}\nset prefix=($root){GRUB_DIR}\n"


def kernel_command_line(settings: DiskSettings, ids: Identities) -> str:
    root = device_reference(settings, ids, "root")
    return " ".join([f"root={root}", "rw", *settings.menu.kernel_options])


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


def grub_cfg(settings: DiskSettings, ids: Identities, kernel: Kernel) -> str:
    lines = [
        *menu_header(settings.menu),
        f"search --no-floppy --fs-uuid --set=root {ids.root_uuid}",
        f"menuentry {quote(settings.menu.title)} --id kiwi-like-default {{",
        f"    linux {kernel.image} {kernel_command_line(settings, ids)}",
        f"    initrd {kernel.initrd}",
        "}",
    ]
    return "\n".join(lines) + "\n"


def write_grub_cfg(root: Path, settings: DiskSettings, ids: Identities, kernel: Kernel) -> None:
    directory = resolve_in_root(root, GRUB_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "grub.cfg").write_text(grub_cfg(settings, ids, kernel))


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
