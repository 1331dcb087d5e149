"""GRUB's configuration files: the early config built into the core image and grub.cfg."""

from __future__ import annotations

from pathlib import Path

from kiwi_like.create.boot.grub import GRUB_DIR, menu_header, quote
from kiwi_like.create.boot.kernel import Kernel
from kiwi_like.create.disk.identity import Identities
from kiwi_like.create.disk.layout import device_reference
from kiwi_like.description.imagetypes.oem import DiskSettings
from kiwi_like.rootfs import resolve_in_root


def early_config(root_uuid: str) -> str:
    """Built into the core image: find the root file system; GRUB then reads its grub.cfg.

    The core runs this with its rescue parser (plain commands only, no `if`);
    afterwards it starts the embedded normal module, which reads $prefix/grub.cfg.
    """
    return f"search --no-floppy --fs-uuid --set=root {root_uuid}\nset prefix=($root){GRUB_DIR}\n"


def kernel_command_line(settings: DiskSettings, ids: Identities) -> str:
    root = device_reference(settings, ids, "root")
    return " ".join([f"root={root}", "rw", *settings.menu.kernel_options])


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
