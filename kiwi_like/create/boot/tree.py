"""The root tree as the root file system sees it: its size, and what it leaves out.

/image (kiwi-like's metadata of the root) is not part of the disk, and the
content of /boot/efi goes into the EFI system partition instead, so both are
parked outside the root while its file system is made, and always put back.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from kiwi_like.log import log

METADATA_DIR = "image"
ESP_MOUNTPOINT = "boot/efi"


def excluded_paths(root: Path, with_esp: bool) -> tuple[str, ...]:
    """Root-relative paths that stay out of the root file system."""
    paths = [METADATA_DIR]
    esp = root / ESP_MOUNTPOINT
    if with_esp and esp.is_dir() and not esp.is_symlink():
        paths += [f"{ESP_MOUNTPOINT}/{name}" for name in sorted(os.listdir(esp))]
    return tuple(paths)


def tree_size(root: Path, excluded: Sequence[str] = ()) -> int:
    """Apparent size in bytes (like `du --apparent-size`), hard links counted once."""
    skip = {os.path.join(root, path) for path in excluded}
    seen: set[tuple[int, int]] = set()
    total = 0
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if os.path.join(directory, d) not in skip]
        total += os.lstat(directory).st_size
        # symbolic links to directories are listed with the directories, not walked
        links = [d for d in dirnames if os.path.islink(os.path.join(directory, d))]
        for name in [*filenames, *links]:
            path = os.path.join(directory, name)
            if path in skip:
                continue
            info = os.lstat(path)
            if info.st_nlink > 1:
                key = (info.st_dev, info.st_ino)
                if key in seen:
                    continue
                seen.add(key)
            total += info.st_size
    return total


@contextmanager
def parked(root: Path, paths: Sequence[str], parking: Path) -> Iterator[None]:
    """Move `paths` out of the root for the duration; put them back whatever happens."""
    moved: list[tuple[Path, Path]] = []
    parking.mkdir(parents=True, exist_ok=True)
    try:
        for index, relative in enumerate(paths):
            source = root / relative
            if not (source.exists() or source.is_symlink()):
                continue
            target = parking / str(index)
            shutil.move(source, target)
            moved.append((source, target))
        yield
    finally:
        for source, target in reversed(moved):
            try:
                shutil.move(target, source)
            except OSError as error:  # keep restoring the others
                log.error("could not put %s back from %s: %s", source, target, error)
