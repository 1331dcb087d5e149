"""File system images made from a directory, each in a file of the partition's size.

ext2/3/4 (`mke2fs -d`) and btrfs (`mkfs.btrfs --rootdir`) are filled without
mounting anything. xfsprogs 6.1 cannot fill a file system from a directory,
so an xfs image is loop-mounted inside a private mount namespace (`unshare
--mount`) and filled with `cp -a`: the mount exists only for that one
command, and the loop device is set up with autoclear, so it goes away with
the mount, also when the build is killed. The same way, the device nodes of a
btrfs tree get their numbers back, which mkfs.btrfs --rootdir loses.
"""

from __future__ import annotations

import os
import shlex
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kiwi_like import reproducible
from kiwi_like import run as runner
from kiwi_like.errors import KiwiLikeError
from kiwi_like.log import log
from kiwi_like.rootfs import relink, unshare_file, unshare_symlink

MIB = 1 << 20
ROOT_GROWTH = 1.3  # the root file system gets this much of the tree's size...
ROOT_RESERVE = 300 * MIB  # ...plus this


class FileSystemPlace(Protocol):
    """Where a file system goes and what identifies it (a disk partition or an image file)."""

    @property
    def filesystem(self) -> str | None: ...
    @property
    def start(self) -> int: ...  # bytes into the disk image; 0 for an image file
    @property
    def size(self) -> int: ...
    @property
    def uuid(self) -> str | None: ...
    @property
    def label(self) -> str | None: ...


@dataclass(frozen=True)
class ImageFile:
    """A file system in a file of its own (a kis root image), not in a disk."""

    filesystem: str
    size: int
    uuid: str
    label: str
    start: int = 0


def round_up(value: int, unit: int = MIB) -> int:
    return -(-value // unit) * unit


def root_minimum(tree_bytes: int) -> int:
    """Room for a root tree of `tree_bytes` (apparent size) in its own file system."""
    return round_up(int(tree_bytes * ROOT_GROWTH) + ROOT_RESERVE)


_FILL_XFS = r"""
set -e
mount -t xfs -o loop "$1" "$2"
if ! cp -a "$3/." "$2/"; then
    umount "$2"
    exit 1
fi
umount "$2"
"""


# mkfs.btrfs --rootdir (btrfs-progs 6.2) writes device nodes as 0:0: they are made again
# through a loop mount that exists only for this command, as the xfs fill does
_FIX_BTRFS_DEVICES = r"""
set -e
image=$1; mountpoint=$2; shift 2
mount -t btrfs -o loop "$image" "$mountpoint"
while [ $# -gt 0 ]; do
    rm -f "$mountpoint/$1"
    mknod -m "$3" "$mountpoint/$1" "$2" "$4" "$5"
    chown -h "$6:$7" "$mountpoint/$1"
    shift 7
done
umount "$mountpoint"
"""


def _device_nodes(tree: Path) -> list[str]:
    """path, c|b, mode, major, minor, uid, gid of every device node under `tree`."""
    found = []
    for directory, _dirnames, filenames in os.walk(tree):
        for name in filenames:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
                kind = "c" if stat.S_ISCHR(info.st_mode) else "b"
                found += [os.path.relpath(path, tree), kind, f"{stat.S_IMODE(info.st_mode):o}",
                          str(os.major(info.st_rdev)), str(os.minor(info.st_rdev)),
                          str(info.st_uid), str(info.st_gid)]  # fmt: skip
    return found


def _unshare_hard_links(tree: Path) -> None:
    """mkfs.btrfs --rootdir (btrfs-progs 6.2) gives an inode the link count of the file it
    copies: a file or symlink with links outside the tree (the root cache's, since /usr is
    restored by hard links) gets a count no directory entry makes up, which `btrfs check`
    reports as an error. Such inodes are replaced by copies of their own first; links
    inside the tree stay links."""
    paths: dict[tuple[int, int], list[Path]] = {}
    counts: dict[tuple[int, int], int] = {}
    for directory, dirnames, filenames in os.walk(tree):
        for name in (*dirnames, *filenames):  # a symlink to a directory is in dirnames
            path = Path(directory, name)
            info = path.lstat()
            if not stat.S_ISDIR(info.st_mode) and info.st_nlink > 1:
                paths.setdefault((info.st_dev, info.st_ino), []).append(path)
                counts[info.st_dev, info.st_ino] = info.st_nlink
    shared = [group for inode, group in paths.items() if counts[inode] > len(group)]
    if shared:
        log.info("btrfs: copying %d files linked from outside the root", len(shared))
    for first, *others in shared:
        if first.is_symlink():
            unshare_symlink(first)
        else:
            unshare_file(first)
        for other in others:
            relink(first, other)


def _fix_btrfs_devices(output: Path, tree: Path, work: Path) -> None:
    devices = _device_nodes(tree)
    if not devices:
        return
    mountpoint = work / "btrfs-mount"
    mountpoint.mkdir()
    try:
        runner.run(
            [*runner.private_mounts(), "sh", "-c", _FIX_BTRFS_DEVICES,
             "kiwi-like-btrfs-devices", output, mountpoint, *devices]
        )  # fmt: skip
    finally:
        os.rmdir(mountpoint)


class RootTooSmall(KiwiLikeError):
    """The file system needs more room than its partition has (mkfs.btrfs --rootdir grows
    its file to its own estimate of what the tree needs)."""

    def __init__(self, needed: int, available: int) -> None:
        self.needed = needed
        super().__init__(
            f"the root file system needs {needed >> 20} MiB, the partition has {available >> 20}"
        )


def sized_file(path: Path, size: int) -> None:
    """A sparse file of `size` bytes (replacing what was there)."""
    with open(path, "wb") as handle:
        handle.truncate(size)


def make_root_filesystem(
    partition: FileSystemPlace, tree: Path, output: Path, work: Path, create_options: str = ""
) -> None:
    fs = partition.filesystem
    assert fs is not None and partition.uuid is not None
    extra = shlex.split(create_options)
    # an empty label: none (kiwi's file system images have none)
    label = ["-L", partition.label] if partition.label else []
    log.info("Creating the %s root file system (%d MiB)", fs, partition.size >> 20)
    sized_file(output, partition.size)
    setting = reproducible.current()
    if setting is not None and fs not in IN_PLACE:  # said, not silently ignored
        log.warning("a %s file system is not made reproducibly: use ext2/3/4", fs)
    if fs in ("ext2", "ext3", "ext4"):
        extra = _ext_reproducible(partition.uuid, extra, setting)
        runner.run(
            ["mke2fs", "-q", "-F", "-t", fs, "-U", partition.uuid, *label,
             *extra, "-d", tree, output], env=_ext_environment(setting),
        )  # fmt: skip
        if setting is not None:
            fix_ext_times(str(output), tree, setting)
    elif fs == "btrfs":
        _unshare_hard_links(tree)
        runner.run(
            ["mkfs.btrfs", "-q", "-f", "-U", partition.uuid, *label,
             *extra, "--rootdir", tree, output]
        )  # fmt: skip
        if output.stat().st_size <= partition.size:  # else RootTooSmall below
            _fix_btrfs_devices(output, tree, work)
    elif fs == "xfs":
        runner.run(
            ["mkfs.xfs", "-q", "-f", "-m", f"uuid={partition.uuid}", *label,
             *extra, output]
        )  # fmt: skip
        mountpoint = work / "xfs-mount"
        mountpoint.mkdir()
        try:
            runner.run(
                [*runner.private_mounts(), "sh", "-c", _FILL_XFS,
                 "kiwi-like-fill-xfs", output, mountpoint, tree]
            )  # fmt: skip
        finally:
            os.rmdir(mountpoint)
    else:
        raise KiwiLikeError(f"cannot create a {fs} root file system")
    actual = output.stat().st_size
    if actual > partition.size:
        raise RootTooSmall(actual, partition.size)


IN_PLACE = ("ext2", "ext3", "ext4")


def can_make_in_place(filesystem: str, create_options: str) -> bool:
    """Whether mke2fs can fill the file system straight into the disk image.

    Not with an -E of the type's own: mke2fs keeps only the last -E it is given.
    """
    return filesystem in IN_PLACE and "-E" not in shlex.split(create_options)


def make_root_filesystem_in_place(
    partition: FileSystemPlace, tree: Path, image: Path, create_options: str = ""
) -> None:
    """An ext2/3/4 root file system filled from `tree`, written into the disk image file
    at the partition's offset (`mke2fs -E offset=`): no partition file, no copy."""
    fs = partition.filesystem
    assert fs in IN_PLACE and partition.uuid is not None and partition.label is not None
    log.info("Creating the %s root file system (%d MiB) in the disk", fs, partition.size >> 20)
    setting = reproducible.current()
    extended = f"offset={partition.start}"
    if setting is not None:
        extended += f",hash_seed={setting.uuid('hash_seed:' + partition.uuid)}"
    runner.run(
        ["mke2fs", "-q", "-F", "-t", fs, "-U", partition.uuid, "-L", partition.label,
         "-E", extended, *shlex.split(create_options), "-d", tree, image,
         f"{partition.size // 1024}k"], env=_ext_environment(setting),
    )  # fmt: skip
    if setting is not None:
        fix_ext_times(f"{image}?offset={partition.start}", tree, setting)


# Reproducible ext2/3/4: mke2fs takes its own time from E2FSPROGS_FAKE_TIME and the
# directory hash seed from -E hash_seed; it copies each file's times from the tree (the
# build's, and atimes change when a file is read), so debugfs sets them afterwards. The
# tree itself is left alone: its /usr may share inodes with the root cache.
def _ext_environment(setting: reproducible.Reproducible | None) -> dict[str, str]:
    return {"E2FSPROGS_FAKE_TIME": str(setting.epoch)} if setting is not None else {}


def _ext_reproducible(
    fs_uuid: str, options: list[str], setting: reproducible.Reproducible | None
) -> list[str]:
    """The options with a hash seed from the seed (added to the options' own -E, since
    mke2fs keeps only the last -E)."""
    if setting is None:
        return options
    seed = f"hash_seed={setting.uuid('hash_seed:' + fs_uuid)}"
    if "-E" not in options:
        return [*options, "-E", seed]
    position = len(options) - 1 - options[::-1].index("-E")
    if position + 1 >= len(options):
        return [*options, seed]
    return [*options[: position + 1], f"{options[position + 1]},{seed}", *options[position + 2 :]]


TIMES = ("mtime", "atime", "ctime")


def _debugfs_word(path: str) -> str:
    """A path as one debugfs word: in double quotes, a quote doubled."""
    return '"' + path.replace('"', '""') + '"'


def fix_ext_times(device: str, tree: Path, setting: reproducible.Reproducible) -> None:
    """Every inode made from `tree` gets its mtime, clamped to the epoch, as mtime, atime
    and ctime (`device`: an image file, `file?offset=N` for one inside a disk image)."""
    lines = []
    for directory, dirnames, filenames in os.walk(tree):
        for name in sorted((*dirnames, *filenames)):
            path = os.path.join(directory, name)
            inside = "/" + os.path.relpath(path, tree)
            if "\n" in inside:
                raise KiwiLikeError(f"cannot make {inside!r} reproducibly: a newline in its name")
            mtime = min(int(os.lstat(path).st_mtime), setting.epoch)
            lines += [f"sif {_debugfs_word(inside)} {field} @{mtime}" for field in TIMES]
    mtime = min(int(tree.stat().st_mtime), setting.epoch)
    lines += [f"sif / {field} @{mtime}" for field in TIMES]
    # debugfs echoes every command on stdout and reports failures only on stderr; its
    # write time in the superblock is E2FSPROGS_FAKE_TIME too
    result = runner.run(
        ["sh", "-c", 'debugfs -w -f - "$1" >/dev/null', "kiwi-like-debugfs", device],
        stdin="\n".join(lines) + "\n", keep_output=True, env=_ext_environment(setting),
    )  # fmt: skip
    errors = [line for line in result.output.splitlines() if not line.startswith("debugfs ")]
    if errors:
        raise KiwiLikeError(f"setting the file times of the {device} file system: {errors[0]}")


def make_swap(partition: FileSystemPlace, output: Path) -> None:
    assert partition.uuid is not None and partition.label is not None
    sized_file(output, partition.size)
    runner.run(["mkswap", "-U", partition.uuid, "-L", partition.label, output])
