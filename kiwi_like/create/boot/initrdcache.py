"""Disk initrds kept in the shared cache, keyed by everything they can be made from.

The key covers the kernel version, the generator and its module selection and
the state of the root outside /boot, /var and the other run-time trees: every
small file (up to 64 KiB: configuration, scripts, hooks) by its content, every
larger one (binaries, libraries, modules) by size and modification time, and
every link by its target. Left out: /etc/fstab (it only carries the disk's
fresh UUIDs, which the initrd does not contain), the locale archive (locale-gen
rewrites it in every build) and documentation. A root restored from the root
cache keeps its files' times, so a rebuild of an unchanged image finds its
initrd; any change a script makes to such files makes a new one. In a build-service
worker the cache is off unless the runtime config turns it on (`cache_directory`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

from kiwi_like import buildservice
from kiwi_like.log import log
from kiwi_like.runtime_config import RuntimeConfig

INITRDS = "initrd"
KEEP = 8  # initrds kept, the most recently used
SMALL = 64 << 10
FORMAT = 1
# Top-level trees whose content never goes into an initrd (or is its output).
SKIPPED_TOP = {"boot", "dev", "home", "image", "media", "mnt", "proc", "root", "run", "srv",
               "sys", "tmp", "var"}  # fmt: skip
# The disk's UUIDs; what locale-gen rewrites in every build; documentation.
SKIPPED_FILES = {"etc/fstab", "usr/lib/locale", "usr/share/doc", "usr/share/man",
                 "usr/share/locale"}  # fmt: skip


def initrd_key(root: Path, kernel_version: str, tool: str, modules: str) -> str:
    digest = hashlib.sha256(json.dumps([FORMAT, kernel_version, tool, modules]).encode() + b"\0")
    for relative, info in _walk(root):
        digest.update(relative.encode(errors="surrogateescape") + b"\0")
        kind = stat.S_IFMT(info.st_mode)
        digest.update(f"{kind:o} {info.st_mode & 0o7777:o} {info.st_uid} {info.st_gid}".encode())
        path = os.path.join(root, relative)
        if kind == stat.S_IFLNK:
            digest.update(os.readlink(path).encode(errors="surrogateescape"))
        elif kind == stat.S_IFREG and info.st_size <= SMALL:
            with open(path, "rb") as stream:
                digest.update(hashlib.sha256(stream.read()).digest())
        elif kind == stat.S_IFREG:
            digest.update(f"{info.st_size} {info.st_mtime_ns}".encode())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def _walk(root: Path) -> list[tuple[str, os.stat_result]]:
    found: list[tuple[str, os.stat_result]] = []
    pending = [""]
    while pending:
        directory = pending.pop()
        with os.scandir(os.path.join(root, directory)) as entries:
            for entry in entries:
                relative = f"{directory}/{entry.name}" if directory else entry.name
                if (not directory and entry.name in SKIPPED_TOP) or relative in SKIPPED_FILES:
                    continue
                info = entry.stat(follow_symlinks=False)
                found.append((relative, info))
                if stat.S_ISDIR(info.st_mode):
                    pending.append(relative)
    found.sort(key=lambda item: item[0])
    return found


def cache_directory(config: RuntimeConfig) -> Path | None:
    """The shared cache directory if initrds are cached there, else None.

    `cache.initrd_cache` of the runtime config decides where it is set; without it the
    cache is on, but off in a build-service worker, whose build root (and the cache in
    it) is thrown away after one build.
    """
    configured: bool | None = config.initrd_cache
    if configured is None:
        configured = buildservice.worker() is None
        if not configured:
            log.info("Initrd cache: off in a build-service worker (cache.initrd_cache turns it on)")
    return config.shared_cache_dir if configured else None


class InitrdCache:
    def __init__(self, cache_dir: Path) -> None:
        self.directory = cache_dir / INITRDS

    def fetch(self, key: str, target: Path) -> bool:
        cached = self.directory / f"{key}.img"
        try:
            shutil.copyfile(cached, target)
            os.utime(cached)
        except FileNotFoundError:
            return False
        log.info("Initrd cache: reusing %s", cached.name)
        return True

    def store(self, key: str, initrd: Path) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix=".tmp-", dir=self.directory)
            os.close(handle)
            try:
                shutil.copyfile(initrd, name)
                os.chmod(name, 0o644)
                os.replace(name, self.directory / f"{key}.img")
            finally:
                Path(name).unlink(missing_ok=True)
            self._evict()
        except OSError as error:
            log.warning("Initrd cache: cannot store the initrd (%s)", error)

    def _evict(self) -> None:
        images = sorted(self.directory.glob("*.img"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in images[KEEP:]:
            old.unlink(missing_ok=True)

    def clear(self) -> None:
        if self.directory.is_dir():
            log.info("Clearing initrd cache %s", self.directory)
            shutil.rmtree(self.directory, ignore_errors=True)
