"""overlayroot: the root tree as a read-only squashfs partition plus a write partition.

kiwi's layout: the squashfs partition (p.lxreadonly) comes before the write
partition (p.lxroot, of the type's file system, empty), which is last so that
oem-resize can grow it; without a write partition (overlayroot_write_partition=
"false") the squashfs is last and the overlay lives in RAM. GRUB reads the kernel
from the squashfs; kiwi-like's dracut module mounts the overlay as the root.
"""

from __future__ import annotations

from pathlib import Path

from kiwi_like import timing
from kiwi_like.create.boot import filesystems
from kiwi_like.create.boot.filesystems import MIB, round_up
from kiwi_like.create.boot.squashfs import make_squashfs
from kiwi_like.create.boot.tree import excluded_paths
from kiwi_like.create.disk.identity import Identities
from kiwi_like.create.disk.layout import DiskLayout, plan_layout
from kiwi_like.description.imagetypes.oem import DiskSettings
from kiwi_like.errors import KiwiLikeError
from kiwi_like.log import log

# the smallest write partition (without <size>, oem-resize grows it on the first boot)
WRITE_MINIMUM = 64 * MIB


def make_overlay_partitions(
    root: Path, settings: DiskSettings, ids: Identities, work: Path
) -> tuple[DiskLayout, dict[int, Path]]:
    """The squashfs and the empty write file system as files, and the layout they fit."""
    overlay = settings.overlay
    assert overlay is not None
    squashfs = work / "readonly.img"
    with timing.step("read-only root", "filesystem"):
        make_squashfs(root, squashfs, overlay.compression, excluded_paths(root, settings.efi))
    readonly = round_up(squashfs.stat().st_size)
    if overlay.readonly_mb is not None:
        if overlay.readonly_mb * MIB < readonly:
            raise KiwiLikeError(
                f"overlayroot_readonly_partsize {overlay.readonly_mb} MB is too small for the "
                f"read-only root: it needs {readonly // MIB} MB"
            )
        readonly = overlay.readonly_mb * MIB
    log.info("Read-only root (squashfs, %s): %d MiB", overlay.compression, readonly // MIB)
    if not settings.write_partition:
        layout = plan_layout(settings, ids, readonly)
        return layout, {layout.root.number: squashfs}
    layout = plan_layout(settings, ids, WRITE_MINIMUM, readonly)
    found = layout.find("readonly")
    assert found is not None
    empty = work / "write-tree"
    empty.mkdir()
    write = work / "write.img"
    with timing.step("write partition", "filesystem"):
        filesystems.make_root_filesystem(layout.root, empty, write, work, settings.create_options)
    return layout, {found.number: squashfs, layout.root.number: write}
