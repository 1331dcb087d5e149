"""Reproducible layer tarballs: sorted entries, numeric owners, clamped mtimes.

The same root and the same SOURCE_DATE_EPOCH give the same bytes: entries come
in a fixed order, user and group names of the build host are left out, gzip
gets no timestamp or file name, and every mtime later than the epoch is set to it.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from kiwi_like.oci.tree import Entry

WHITEOUT_PREFIX = ".wh."
KINDS = {"dir": tarfile.DIRTYPE, "file": tarfile.REGTYPE, "symlink": tarfile.SYMTYPE}


@dataclass(frozen=True)
class LayerBlob:
    """A compressed layer written into an OCI blob directory."""

    digest: str  # sha256 of the compressed blob, as in the manifest
    diff_id: str  # sha256 of the uncompressed tar, as in the image config
    size: int
    path: Path


class _Digesting:
    """A write-only stream that hashes and counts what passes through it."""

    def __init__(self, target: BinaryIO) -> None:
        self.target = target
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        return self.target.write(data)

    def flush(self) -> None:
        self.target.flush()


def _info(entry: Entry, mtime: int, hardlink_to: str | None) -> tarfile.TarInfo:
    name = entry.path + ("/" if entry.kind == "dir" else "")
    info = tarfile.TarInfo(name)
    info.mode = entry.mode
    info.uid, info.gid = entry.uid, entry.gid
    info.uname = info.gname = ""
    info.mtime = mtime
    if hardlink_to is not None:
        info.type = tarfile.LNKTYPE
        info.linkname = hardlink_to
    else:
        info.type = KINDS[entry.kind]
        info.linkname = entry.target
        info.size = entry.size if entry.kind == "file" else 0
    if entry.xattrs:
        info.pax_headers = {f"SCHILY.xattr.{name}": value for name, value in entry.xattrs}
    return info


def _whiteout(path: str, mtime: int) -> tarfile.TarInfo:
    parent, _, name = path.rpartition("/")
    info = tarfile.TarInfo(f"{parent}/{WHITEOUT_PREFIX}{name}".lstrip("/"))
    info.mode = 0o644
    info.uname = info.gname = ""
    info.mtime = mtime
    return info


def write_tar(
    root: Path,
    entries: Iterable[Entry],
    stream: BinaryIO,
    epoch: int | None,
    removed: Iterable[str] = (),
) -> None:
    """Write the entries (and whiteouts for removed paths) as one tar stream."""

    def clamp(mtime: int) -> int:
        return mtime if epoch is None else min(mtime, epoch)

    whiteouts = {path: _whiteout(path, epoch or 0) for path in removed}
    first_of_inode: dict[tuple[int, int], str] = {}
    with tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for entry in _merged(entries, whiteouts):
            if isinstance(entry, tarfile.TarInfo):
                tar.addfile(entry)
                continue
            hardlink_to = None
            if entry.kind == "file" and entry.links > 1:
                hardlink_to = first_of_inode.setdefault(entry.inode, entry.path)
                if hardlink_to == entry.path:
                    hardlink_to = None
            info = _info(entry, clamp(entry.mtime), hardlink_to)
            if info.type == tarfile.REGTYPE:
                with open(os.path.join(root, entry.path), "rb") as content:
                    tar.addfile(info, content)
            else:
                tar.addfile(info)


def _merged(
    entries: Iterable[Entry], whiteouts: dict[str, tarfile.TarInfo]
) -> Iterable[Entry | tarfile.TarInfo]:
    """Entries in their order with each whiteout right after its parent directory."""
    by_parent: dict[str, list[tarfile.TarInfo]] = {}
    for path in sorted(whiteouts):
        by_parent.setdefault(path.rpartition("/")[0], []).append(whiteouts[path])
    yield from by_parent.pop("", [])
    for entry in entries:
        yield entry
        if entry.kind == "dir":
            yield from by_parent.pop(entry.path, [])


def write_layer_blob(
    root: Path,
    entries: Iterable[Entry],
    blobs: Path,
    epoch: int | None,
    removed: Iterable[str] = (),
) -> LayerBlob:
    """A gzip-compressed layer in `blobs` (an OCI blobs/sha256 directory)."""
    blobs.mkdir(parents=True, exist_ok=True)
    partial = blobs / ".layer.partial"
    with partial.open("wb") as output:
        compressed = _Digesting(output)
        gz = gzip.GzipFile(fileobj=compressed, mode="wb", compresslevel=6, mtime=0, filename="")
        with gz:
            uncompressed = _Digesting(cast(BinaryIO, gz))
            write_tar(root, entries, cast(BinaryIO, uncompressed), epoch, removed)
    digest = compressed.hash.hexdigest()
    final = blobs / digest
    os.replace(partial, final)
    return LayerBlob(f"sha256:{digest}", f"sha256:{uncompressed.hash.hexdigest()}",
                     compressed.size, final)  # fmt: skip
