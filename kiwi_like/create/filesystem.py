"""The file system image builder: `<name>.<arch>-<version>.<filesystem>` from the root.

Made straight from the tree (create/boot/filesystems.py: mke2fs -d, mkfs.btrfs --rootdir,
mksquashfs; xfs through a loop mount in a private namespace), without /image, as the
root file system of a disk would be. The image has a random UUID and, as kiwi's, no label.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from kiwi_like import reproducible
from kiwi_like.create.boot.filesystems import (
    MIB,
    ImageFile,
    RootTooSmall,
    make_root_filesystem,
    root_minimum,
    round_up,
)
from kiwi_like.create.boot.squashfs import make_squashfs
from kiwi_like.create.boot.tree import METADATA_DIR, parked, tree_size
from kiwi_like.create.steps import step
from kiwi_like.description import ResolvedBuild
from kiwi_like.description.imagetypes import settings_of
from kiwi_like.description.imagetypes.filesystem import FilesystemSettings
from kiwi_like.log import log
from kiwi_like.result import Results
from kiwi_like.runtime_config import RuntimeConfig

EXCLUDED = (METADATA_DIR,)


def image_size(settings: FilesystemSettings, needed: int) -> int:
    """kiwi's rule: `<size>` as given (a warning when it looks too small), `<size
    additive="true">` on top of what the tree needs, else what the tree needs."""
    if settings.size is None:
        return needed
    requested = settings.size.megabytes * MIB
    if settings.size.additive:
        return needed + requested
    if requested < needed:
        log.warning(
            "<size> %d MB may be too small for the tree, which needs about %d MB",
            settings.size.megabytes,
            needed // MIB,
        )
    return requested


def create(
    build: ResolvedBuild, root: Path, results: Results, scratch: Path, config: RuntimeConfig
) -> None:
    settings = settings_of(build, FilesystemSettings)
    fs = settings.filesystem
    name = f"{build.result_basename}.{fs}"
    output = results.stage(name)
    if fs == "squashfs":
        make_squashfs(root, output, settings.squashfs_compression, EXCLUDED)
    else:
        needed = root_minimum(tree_size(root, EXCLUDED))
        _make_image(settings, root, output, scratch, image_size(settings, needed))
    results.publish_image("filesystem_image", name, config.checksum_algorithm)


def _make_image(
    settings: FilesystemSettings, root: Path, output: Path, scratch: Path, size: int
) -> None:
    """If mkfs needs more room than estimated (btrfs), made again at the size it needs,
    once; unless a fixed <size> says how big the image is."""
    fs = settings.filesystem
    fixed = settings.size is not None and not settings.size.additive
    setting = reproducible.current()  # a reproducible build: the UUID from its seed
    identity = setting.uuid(f"{fs} image") if setting is not None else str(uuid.uuid4())
    for attempt in (1, 2):
        place = ImageFile(filesystem=fs, size=size, uuid=identity, label="")
        try:
            with (
                tempfile.TemporaryDirectory(dir=scratch, prefix="kiwi-like-fs-") as work,
                parked(root, EXCLUDED, Path(work) / "parked"),
                step(f"creating the {fs} file system image"),
            ):
                make_root_filesystem(place, root, output, Path(work), settings.create_options)
            return
        except RootTooSmall as error:
            if fixed or attempt == 2:
                raise
            log.info("%s: making it again at that size", error)
            size = round_up(error.needed)
