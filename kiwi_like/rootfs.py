"""Writing into an image root without ever writing outside of it.

Paths are resolved the way the image itself would see them: a symlink inside
the root (absolute or relative) is followed relative to the root, so an
image's `/etc/x -> /run/x` link can never lead a copy onto the build host.
"""

from __future__ import annotations

import lzma
import os
import shutil
import stat
import tarfile
import tempfile
import zlib
from pathlib import Path, PurePosixPath

from kiwi_like.errors import KiwiLikeError

MAX_SYMLINK_HOPS = 40


class UnsafePathError(KiwiLikeError):
    """A path or archive member would end up outside the image root."""


def resolve_in_root(root: Path, path: str | PurePosixPath, follow_last: bool = True) -> Path:
    """Host path for the image path `path`, following symlinks inside `root` only."""
    pending = list(PurePosixPath("/", path).parts[1:])
    resolved: list[str] = []
    hops = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = root.joinpath(*resolved, part)
        is_last = not pending
        if candidate.is_symlink() and (follow_last or not is_last):
            hops += 1
            if hops > MAX_SYMLINK_HOPS:
                raise UnsafePathError(f"too many symlinks resolving {path} in the image")
            target = PurePosixPath(os.readlink(candidate))
            if target.is_absolute():
                resolved = []
            pending = [p for p in target.parts if p != "/"] + pending
            continue
        resolved.append(part)
    return root.joinpath(*resolved)


def unshare_file(path: Path) -> None:
    """Give a hard-linked file an inode of its own (same content, mode, owner, times)
    before it is written in place: its other links (the root cache's) stay as they were."""
    if path.is_symlink() or not path.is_file() or path.stat().st_nlink < 2:
        return
    info = path.stat()
    handle, name = tempfile.mkstemp(prefix=".kiwi-like-", dir=path.parent)
    os.close(handle)
    try:
        shutil.copy2(path, name)
        os.chown(name, info.st_uid, info.st_gid)
        os.chmod(name, stat.S_IMODE(info.st_mode))
        os.replace(name, path)
    finally:
        Path(name).unlink(missing_ok=True)


def unshare_symlink(path: Path) -> None:
    """Give a hard-linked symlink an inode of its own (same target, owner and time)."""
    info = path.lstat()
    if not stat.S_ISLNK(info.st_mode) or info.st_nlink < 2:
        return
    temporary = path.with_name(f".kiwi-like-{path.name}.{os.getpid()}")
    os.symlink(os.readlink(path), temporary)
    try:
        os.lchown(temporary, info.st_uid, info.st_gid)
        os.utime(temporary, ns=(info.st_atime_ns, info.st_mtime_ns), follow_symlinks=False)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def relink(source: Path, path: Path) -> None:
    """Make `path` a hard link to `source` (a file or symlink), replacing what it was."""
    temporary = path.with_name(f".kiwi-like-{path.name}.{os.getpid()}")
    os.link(source, temporary, follow_symlinks=False)
    try:
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _replace_with(destination: Path) -> None:
    """Make room for a new entry: remove an existing non-directory."""
    if destination.is_symlink() or (destination.exists() and not destination.is_dir()):
        destination.unlink()


def copy_tree_into_root(
    source: Path, root: Path, target: str = "/", keep_owner: bool = False
) -> int:
    """Copy a directory tree into the image like `rsync -rptDHl`; return the entry count.

    Files are owned by root unless `keep_owner` (archives carry their owners).
    """
    count = 0
    for directory, dirnames, filenames in os.walk(source):
        relative = PurePosixPath(target, os.path.relpath(directory, source))
        host_dir = resolve_in_root(root, relative)
        if directory == str(source):
            host_dir.mkdir(parents=True, exist_ok=True)  # the target keeps its own mode
        else:
            _copy_entry(Path(directory), host_dir, keep_owner)
        for name in sorted(filenames) + [d for d in dirnames if os.path.islink(Path(directory, d))]:
            _copy_entry(Path(directory, name), host_dir / name, keep_owner)
            count += 1
    return count


def _copy_entry(source: Path, destination: Path, keep_owner: bool) -> None:
    info = source.lstat()
    if stat.S_ISDIR(info.st_mode):
        if destination.is_symlink() or (destination.exists() and not destination.is_dir()):
            destination.unlink()
        destination.mkdir(parents=True, exist_ok=True)
    else:
        _replace_with(destination)
        if stat.S_ISLNK(info.st_mode):
            destination.symlink_to(os.readlink(source))
        elif stat.S_ISREG(info.st_mode):
            shutil.copyfile(source, destination, follow_symlinks=False)
        elif (
            stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) or stat.S_ISFIFO(info.st_mode)
        ):
            os.mknod(destination, info.st_mode, info.st_rdev)
        else:
            return  # sockets and the like are not part of an image
    uid, gid = (info.st_uid, info.st_gid) if keep_owner else (0, 0)
    os.chown(destination, uid, gid, follow_symlinks=False)
    if not stat.S_ISLNK(info.st_mode):
        os.chmod(destination, stat.S_IMODE(info.st_mode))
        os.utime(destination, ns=(info.st_atime_ns, info.st_mtime_ns))


def _member_filter(member: tarfile.TarInfo, destination: str) -> tarfile.TarInfo:
    """Refuse members that would land outside the scratch directory; keep modes and owners."""
    name = PurePosixPath(member.name)
    if name.is_absolute() or ".." in name.parts:
        raise UnsafePathError(f"archive member '{member.name}' points outside the image")
    real_destination = os.path.realpath(destination)
    target = os.path.realpath(os.path.join(destination, member.name))
    if os.path.commonpath([real_destination, target]) != real_destination:
        raise UnsafePathError(f"archive member '{member.name}' is written through a symlink")
    if member.islnk():
        link = PurePosixPath(member.linkname)
        if link.is_absolute() or ".." in link.parts:
            raise UnsafePathError(f"archive hard link '{member.name}' points outside the image")
    return member


def extract_archive_into_root(
    archive: Path, root: Path, target: str = "/", scratch: Path | None = None
) -> int:
    """Unpack a (compressed) tar archive into the image at `target`.

    The archive is unpacked into an empty scratch directory first, where its
    own symlinks cannot point anywhere harmful, then merged into the root.
    """
    try:
        with (
            tarfile.open(archive) as tar,
            tempfile.TemporaryDirectory(dir=scratch, prefix="kiwi-like-archive-") as unpacked,
        ):
            tar.extractall(unpacked, filter=_member_filter, numeric_owner=True)
            return copy_tree_into_root(Path(unpacked), root, target, keep_owner=True)
    except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError) as error:
        first_line = str(error).splitlines()[0].rstrip(":") if str(error) else type(error).__name__
        raise KiwiLikeError(
            f"archive {archive.name} is damaged or not a tar archive: {first_line}"
        ) from None


def inside(base: Path, relative: str) -> Path:
    """`base/relative`, refusing names that leave `base` (for description files)."""
    candidate = (base / relative).resolve()
    if not candidate.is_relative_to(base.resolve()):
        raise UnsafePathError(f"'{relative}' points outside {base}")
    return candidate
