"""Files from the description: archives, the root/ overlay tree and <file> elements."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from kiwi_like.description import ResolvedBuild
from kiwi_like.errors import KiwiLikeError
from kiwi_like.log import log
from kiwi_like.rootfs import (
    copy_tree_into_root,
    extract_archive_into_root,
    inside,
    resolve_in_root,
    unshare_file,
)


def unpack_archives(build: ResolvedBuild, root: Path, scratch: Path) -> None:
    for archive in build.archives:
        path = inside(build.description_dir, archive.name)
        if not path.is_file():
            raise KiwiLikeError(f"archive {archive.name} not found in {build.description_dir}")
        target = archive.target_dir or "/"
        count = extract_archive_into_root(path, root, target, scratch)
        log.info("Unpacked archive %s into %s (%d entries)", archive.name, target, count)


def apply_overlays(build: ResolvedBuild, root: Path, scratch: Path) -> None:
    """root/ (or root.tar.gz), then a directory per selected profile, as kiwi does."""
    # inside(): an overlay that is a symlink out of the description is refused, it
    # would copy a host directory into the image.
    directory = build.description_dir
    if (directory / "root").is_dir():
        count = copy_tree_into_root(inside(directory, "root"), root)
        log.info("Copied overlay tree root/ (%d entries)", count)
    elif (directory / "root.tar.gz").is_file():
        archive = inside(directory, "root.tar.gz")
        count = extract_archive_into_root(archive, root, "/", scratch)
        log.info("Unpacked overlay archive root.tar.gz (%d entries)", count)
    for profile in build.profiles:
        if (directory / profile).is_dir():
            count = copy_tree_into_root(inside(directory, profile), root)
            log.info("Copied overlay tree %s/ for profile %s (%d entries)", profile, profile, count)


def copy_files(build: ResolvedBuild, root: Path) -> None:
    """<file name="x" target="/etc/x" owner="user:group" permissions="0644"/>."""
    for entry in build.files:
        source = inside(build.description_dir, entry.name)
        if not source.is_file():
            raise KiwiLikeError(f"<file name='{entry.name}'>: not found in {build.description_dir}")
        target_path = entry.target or f"/{entry.name}"
        destination = resolve_in_root(root, target_path)
        if destination.is_dir():
            destination = destination / source.name
        destination.parent.mkdir(parents=True, exist_ok=True)
        if destination.is_symlink():
            destination.unlink()
        unshare_file(destination)  # never write through a link into the root cache
        shutil.copyfile(source, destination)
        if entry.permissions:
            os.chmod(destination, int(entry.permissions, 8))
        if entry.owner:
            uid, gid = _owner_in_root(root, entry.owner)
            os.chown(destination, uid, gid)
        log.info("Copied file %s to %s", entry.name, target_path)


def _owner_in_root(root: Path, owner: str) -> tuple[int, int]:
    """Look user:group up in the image's passwd/group files, never the host's."""
    user, _, group = owner.partition(":")
    uid = _lookup(root / "etc/passwd", user, 2)
    gid = _lookup(root / "etc/group", group, 2) if group else _lookup(root / "etc/passwd", user, 3)
    return uid, gid


def _lookup(table: Path, name: str, field: int) -> int:
    if name.isdigit():
        return int(name)
    if table.is_file():
        for line in table.read_text(encoding="utf-8").splitlines():
            parts = line.split(":")
            if parts[0] == name and len(parts) > field:
                return int(parts[field])
    raise KiwiLikeError(f"owner '{name}' is not known in the image's {table.name}")
