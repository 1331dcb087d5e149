"""What of an image root goes into a container layer, and how to tell two trees apart."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

# Kept as empty directories: runtimes mount their own dev, proc, sys, run and tmp.
EMPTIED = ("dev", "proc", "sys", "run", "tmp")
# Build-time caches a container does not need (its package manager downloads
# again). The directories themselves stay.
CACHES = ("var/cache/apt/archives", "var/lib/apt/lists", "var/cache/zypp", "var/cache/dnf")
# The build's log files go; the directories under it stay for the services.
LOGS = "var/log/"
# kiwi's own files in the root: never part of an image.
LEFT_OUT = ("image", ".kconfig", ".profile", ".buildenv")
# xattrs that describe the build host, not the image.
HOST_XATTRS = ("security.selinux",)


@dataclass(frozen=True)
class Entry:
    """One file system object of the root, as a layer stores it."""

    path: str  # relative to the root, '/'-separated, no leading slash
    kind: str  # "dir", "file" or "symlink"
    mode: int  # permission bits with setuid/setgid/sticky
    uid: int
    gid: int
    size: int = 0
    target: str = ""  # a symlink's target
    digest: str = ""  # sha256 of a file's content, when asked for
    xattrs: tuple[tuple[str, str], ...] = ()
    mtime: int = field(default=0, compare=False)
    inode: tuple[int, int] = field(default=(0, 0), compare=False)
    links: int = field(default=1, compare=False)

    def signature(self) -> tuple[object, ...]:
        """What makes two entries of the same path different for a derived layer."""
        return (self.kind, self.mode, self.uid, self.gid, self.size, self.target,
                self.digest, self.xattrs)  # fmt: skip


def _emptied(relative: str) -> bool:
    """Whether the path lies in a directory whose contents are left out."""
    return any(relative.startswith(d + "/") for d in (*EMPTIED, *CACHES))


def _xattrs(path: str) -> tuple[tuple[str, str], ...]:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return ()
    values = []
    for name in sorted(names):
        if name in HOST_XATTRS:
            continue
        value = os.getxattr(path, name, follow_symlinks=False)
        values.append((name, value.decode("utf-8", "surrogateescape")))
    return tuple(values)


def file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def scan(root: Path, digests: bool = False) -> Iterator[Entry]:
    """Every entry that belongs in a layer, parents before children, names sorted.

    Device nodes, sockets and FIFOs are left out: a container runtime provides /dev.
    """
    yield from _scan_directory(str(root), "", digests)


def _scan_directory(root: str, relative: str, digests: bool) -> Iterator[Entry]:
    directory = os.path.join(root, relative) if relative else root
    with os.scandir(directory) as found:
        names = sorted(e.name for e in found)
    for name in names:
        child = f"{relative}/{name}" if relative else name
        if not relative and name in LEFT_OUT:
            continue
        if _emptied(child):
            continue
        path = os.path.join(root, child)
        info = os.lstat(path)
        if stat.S_ISREG(info.st_mode) and child.startswith(LOGS):
            continue
        entry = Entry(
            path=child,
            kind="dir",
            mode=stat.S_IMODE(info.st_mode),
            uid=info.st_uid,
            gid=info.st_gid,
            mtime=int(info.st_mtime),
            inode=(info.st_dev, info.st_ino),
            links=info.st_nlink,
        )
        if stat.S_ISDIR(info.st_mode):
            yield replace(entry, xattrs=_xattrs(path))
            yield from _scan_directory(root, child, digests)
        elif stat.S_ISREG(info.st_mode):
            yield replace(
                entry,
                kind="file",
                size=info.st_size,
                digest=file_digest(path) if digests else "",
                xattrs=_xattrs(path),
            )
        elif stat.S_ISLNK(info.st_mode):
            yield replace(entry, kind="symlink", target=os.readlink(path))


@dataclass(frozen=True)
class Difference:
    """What a layer on top of a base must hold to turn the base into the root."""

    entries: tuple[Entry, ...]
    removed: tuple[str, ...]  # topmost paths of the base that are gone


def difference(base: dict[str, Entry], current: list[Entry]) -> Difference:
    present = {entry.path for entry in current}
    changed = [e.path for e in current if _changed(base.get(e.path), e)]
    removed = sorted(p for p in base if p not in present)
    # Only the topmost removed path gets a whiteout, in its parent directory.
    topmost = [p for p in removed if _parent(p) == "" or _parent(p) in present]
    # Changed entries and whiteouts need their parent directories in the layer too.
    wanted = set(changed)
    for path in (*changed, *topmost):
        parent = _parent(path)
        while parent and parent not in wanted:
            wanted.add(parent)
            parent = _parent(parent)
    return Difference(tuple(e for e in current if e.path in wanted), tuple(topmost))


def _changed(before: Entry | None, after: Entry) -> bool:
    return before is None or before.signature() != after.signature()


def _parent(path: str) -> str:
    return path.rpartition("/")[0]


def save_tree(entries: list[Entry], path: Path) -> None:
    path.write_text(json.dumps([asdict(e) for e in entries], separators=(",", ":")))


def load_tree(path: Path) -> dict[str, Entry]:
    loaded = {}
    for item in json.loads(path.read_text()):
        item["xattrs"] = tuple(tuple(pair) for pair in item["xattrs"])
        item["inode"] = tuple(item["inode"])
        loaded[item["path"]] = Entry(**item)
    return loaded
