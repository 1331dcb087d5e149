"""What a tree holds, for comparing an image's contents with the root it was made from.

    python fsmanifest.py DIRECTORY [SKIP...]

prints a JSON object: root-relative path -> [kind, mode, uid, gid, content, xattrs],
where content is a file's sha256, a symlink's target or a device's number. Also run
inside a private mount namespace with an image mounted (tests/test_rootfs_images.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from typing import Any

HOST_XATTRS = ("security.selinux",)
# how xfs keeps POSIX ACLs on disk, shown to root beside system.posix_acl_*
FILESYSTEM_XATTRS = ("trusted.SGI_ACL_FILE", "trusted.SGI_ACL_DEFAULT")


def _xattrs(path: str) -> list[list[str]]:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return []
    found = []
    for name in sorted(n for n in names if n not in (*HOST_XATTRS, *FILESYSTEM_XATTRS)):
        found.append([name, os.getxattr(path, name, follow_symlinks=False).hex()])
    return found


def _content(path: str, info: os.stat_result) -> str:
    if stat.S_ISREG(info.st_mode):
        digest = hashlib.sha256()
        with open(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    if stat.S_ISLNK(info.st_mode):
        return os.readlink(path)
    if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
        return f"{os.major(info.st_rdev)}:{os.minor(info.st_rdev)}"
    return ""


def manifest(top: str, skip: tuple[str, ...] = ()) -> dict[str, list[Any]]:
    """Every entry under `top` but `skip` (root-relative paths) and what they hold."""
    entries: dict[str, list[Any]] = {}
    for directory, dirnames, filenames in os.walk(top):
        relative_dir = os.path.relpath(directory, top)
        dirnames[:] = [
            d
            for d in sorted(dirnames)
            if os.path.normpath(os.path.join(relative_dir, d)) not in skip
        ]
        for name in [*dirnames, *filenames]:
            relative = os.path.normpath(os.path.join(relative_dir, name))
            if relative in skip:
                continue
            path = os.path.join(directory, name)
            info = os.lstat(path)
            kind = stat.S_IFMT(info.st_mode)
            entries[relative] = [
                kind, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid,
                _content(path, info), _xattrs(path),
            ]  # fmt: skip
    return entries


if __name__ == "__main__":
    print(json.dumps(manifest(sys.argv[1], tuple(sys.argv[2:]))))
