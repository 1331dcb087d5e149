"""GRUB's configuration files: the early config built into the core image and grub.cfg."""

from __future__ import annotations

from pathlib import Path

from kiwi_like.create.boot.grub import GRUB_DIR, menu_header, quote
from kiwi_like.create.boot.kernel import Kernel
from kiwi_like.create.disk.identity import Identities
from kiwi_like.create.disk.layout import device_reference, partuuid
from kiwi_like.description.imagetypes.oem import DiskSettings
from kiwi_like.rootfs import resolve_in_root

# overlayroot: GRUB reads /boot from the read-only squashfs, which has no UUID to search
# for; a file named after its partition's GUID marks it
OVERLAY_MARK_PREFIX = "/boot/kiwi-like-readonly-root."
# GRUB's squashfs reader, for the kernel and initrd of an overlay root
OVERLAY_GRUB_MODULES = ("squash4", "search_fs_file")


def overlay_mark(settings: DiskSettings, ids: Identities) -> str | None:
    """The path of the file that marks this disk's read-only root (overlayroot only)."""
    if settings.overlay is None:
        return None
    return OVERLAY_MARK_PREFIX + partuuid(settings, ids, "readonly")


def root_search(root_uuid: str, mark: str | None = None) -> str:
    """The GRUB command that finds the file system with /boot (`mark`: overlayroot's)."""
    if mark is not None:
        return f"search --no-floppy --file --set=root {mark}"
    return f"search --no-floppy --fs-uuid --set=root {root_uuid}"


def early_config(root_uuid: str, mark: str | None = None) -> str:
    """Built into the core image: find the root file system; GRUB then reads its grub.cfg.

    The core runs this with its rescue parser (plain commands only, no `if`);
    afterwards it starts the embedded normal module, which reads $prefix/grub.cfg.
    """
    return f"{root_search(root_uuid, mark)}\nset prefix=($root){GRUB_DIR}\n"


def _device_path(reference: str) -> str:
    """UUID=x, LABEL=x or PARTUUID=x as the /dev/disk path kiwi's overlay parameters name."""
    kind, value = reference.split("=", 1)
    return f"/dev/disk/by-{kind.lower()}/{value}"


def kernel_command_line(settings: DiskSettings, ids: Identities) -> str:
    """root= as kiwi writes it; an overlay root: root=overlay:PARTUUID=<squashfs> and
    rd.root.overlay.write=<device> for its write partition (none: the overlay is in RAM)."""
    if settings.overlay is None:
        words = [f"root={device_reference(settings, ids, 'root')}", "rw"]
    else:
        words = [f"root=overlay:{device_reference(settings, ids, 'readonly')}"]
        if settings.write_partition:
            write = _device_path(device_reference(settings, ids, "root"))
            words.append(f"rd.root.overlay.write={write}")
    return " ".join([*words, *settings.menu.kernel_options])


def grub_cfg(settings: DiskSettings, ids: Identities, kernel: Kernel) -> str:
    lines = [
        *menu_header(settings.menu),
        root_search(ids.root_uuid, overlay_mark(settings, ids)),
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
    # the marks of earlier builds of this root go, this disk's comes
    for old in resolve_in_root(root, "/boot").glob(Path(OVERLAY_MARK_PREFIX).name + "*"):
        old.unlink()
    mark = overlay_mark(settings, ids)
    if mark is not None:
        resolve_in_root(root, mark).write_text("kiwi-like: the read-only root of this disk\n")
