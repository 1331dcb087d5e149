"""The root cache: image roots as they are right after their package steps.

A root is stored under `<shared cache>/roots/<key>/root` once bootstrap,
post_bootstrap.sh and the image packages are installed, keyed by everything
that determines that state: the package lists, the repositories with their
signing keys and the current state of their metadata (the hash of each
repository's InRelease/Release file, as the package manager fingerprints it),
the bootstrap variant, architecture, package manager and post_bootstrap.sh.
A later prepare with the same key copies the stored root (`cp -a
--reflink=auto`) and runs only the customization steps (archives, overlays,
users, settings, config.sh, ...).

Entries are written under a temporary name and renamed into place; a lock
file serialises storing, evicting and clearing against restoring. The total
size is kept under `cache.root_cache_size`, oldest-used entries go first. In a
build-service worker the cache is off unless the runtime config sets that size.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from kiwi_like import __version__, buildservice, leftovers
from kiwi_like import run as runner
from kiwi_like.description import ResolvedBuild
from kiwi_like.installer import PackageManager
from kiwi_like.log import log
from kiwi_like.runtime_config import DEFAULT_ROOT_CACHE_SIZE

CACHE_FORMAT = 2  # bump when what a cached root holds changes
ROOTS = "roots"
LOCK = ".lock"
ENTRY = "entry.json"
TEMP_PREFIX = ".tmp-"
# Subtrees shared by hard links between the cache and the roots made from it, not
# copied: the kernel modules (half the bytes of a Debian disk root, a third of its
# files). Builds replace or delete such files (dpkg, depmod rename new ones into
# place) but do not write into them; if something does, the entry's linked_state
# no longer matches and it is discarded at its next use.
LINKED = ("usr/lib/modules",)


@dataclass(frozen=True)
class RootCacheInfo:
    """What the root cache did in one prepare (recorded in the metrics)."""

    key: str | None
    hit: bool
    stored: bool = False
    reason: str = ""


def cache_key(
    build: ResolvedBuild,
    manager: PackageManager,
    image_packages: Sequence[str],
    collections: Sequence[str],
    variant: str,
) -> str | None:
    """The key of the root after its package steps, or None if it cannot be cached."""
    fingerprint = manager.metadata_fingerprint()
    if fingerprint is None:
        return None
    script = build.description_dir / "post_bootstrap.sh"
    inputs = {
        "format": CACHE_FORMAT,
        "kiwi_like": __version__,
        "arch": build.arch,
        "packagemanager": build.preferences.packagemanager,
        "variant": variant,
        "bootstrap": list(build.install_packages.bootstrap),
        "image": list(image_packages),
        "collections": list(collections),
        # credentials do not change what is installed, and stay out of the key
        "repositories": [
            {**asdict(r), "username": None, "password": None} for r in build.repositories
        ],
        "metadata": fingerprint,
        # the script may read the image settings from /.profile
        "post_bootstrap": _file_hash(script) if script.is_file() else None,
        "settings": [build.name, build.version, list(build.profiles), build.build_type.image]
        if script.is_file()
        else None,
    }
    text = json.dumps(inputs, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_size(path: Path) -> int:
    """Bytes the tree occupies (each hard-linked file once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for directory, _dirs, files in os.walk(path):
        for name in files:
            info = os.lstat(os.path.join(directory, name))
            if (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            total += info.st_blocks * 512
    return total


def copy_tree(source: Path, target: Path, linked: Sequence[str] = ()) -> None:
    """Copy a root with everything (owners, modes, links, xattrs), sharing blocks if it can.

    The `linked` subtrees are hard-linked instead of copied when source and target
    are on one file system (see LINKED); the rest is copied around them (`-n`).
    """
    target.mkdir(parents=True, exist_ok=True)
    same_fs = os.stat(source).st_dev == os.stat(target).st_dev
    for relative in linked if same_fs else ():
        subtree = source / relative
        if subtree.is_dir() and not any(p.is_symlink() for p in _parents(source, relative)):
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            runner.run(["cp", "-al", str(subtree), str((target / relative).parent)])
    runner.run(["cp", "-a", "-n", "--reflink=auto", f"{source}/.", f"{target}/"])


def _parents(root: Path, relative: str) -> list[Path]:
    parts = Path(relative).parts
    return [root.joinpath(*parts[: n + 1]) for n in range(len(parts))]


def linked_state(root: Path, linked: Sequence[str]) -> str:
    """A digest of the hard-linked files' names, sizes and modification times.

    Writing to one of them through any of its links changes it, so a cache entry
    whose digest no longer matches is discarded instead of used.
    """
    digest = hashlib.sha256()
    for relative in linked:
        for directory, dirs, files in os.walk(root / relative):
            dirs.sort()
            for name in sorted(files):
                info = os.lstat(os.path.join(directory, name))
                where = os.path.relpath(os.path.join(directory, name), root)
                digest.update(f"{where}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def effective_size_limit(configured: int | None) -> int:
    """The root cache's size limit: `cache.root_cache_size` of the runtime config, if it
    sets one; else 4 GiB, but 0 (off) in a build-service worker, whose build root is
    thrown away after one build: a stored root would only cost the time and space."""
    if configured is not None:
        return configured
    if buildservice.worker() is not None:
        log.info("Root cache: off in a build-service worker (cache.root_cache_size turns it on)")
        return 0
    return DEFAULT_ROOT_CACHE_SIZE


class RootCache:
    def __init__(self, cache_dir: Path, size_limit: int | None) -> None:
        """`size_limit`: the runtime config's root_cache_size, None if it sets none."""
        self.directory = cache_dir / ROOTS
        self.size_limit = effective_size_limit(size_limit)

    @property
    def enabled(self) -> bool:
        return self.size_limit > 0

    @contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def entries(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(
            p for p in self.directory.iterdir() if p.is_dir() and not p.name.startswith(".")
        )

    def restore(self, key: str, root: Path) -> bool:
        """Copy the cached root for `key` into the (empty) `root`; False if there is none."""
        entry = self.directory / key
        with self._locked(exclusive=False):
            if not (entry / ENTRY).is_file():
                return False
            recorded = _entry_data(entry).get("linked_state")
            intact = recorded == linked_state(entry / "root", LINKED)
            if intact:
                log.info("Root cache: reusing %s", entry)
                copy_tree(entry / "root", root, LINKED)
                os.utime(entry / ENTRY)  # last used, for the eviction order
        if not intact:
            log.warning("Root cache: %s was changed through a hard link, discarded", entry.name)
            with self._locked(exclusive=True):
                shutil.rmtree(entry, ignore_errors=True)
        return intact

    def store(self, key: str, root: Path, private: Sequence[str] = ()) -> bool:
        """Keep a copy of `root` under `key`; False if it was not stored (too large, no room).

        A cache that cannot be written costs the next build time, not this one its result.
        """
        try:
            return self._store(key, root, private)
        except (OSError, runner.CommandError) as error:
            log.warning("Root cache: cannot store the root (%s)", error)
            return False

    def _store(self, key: str, root: Path, private: Sequence[str]) -> bool:
        size = tree_size(root)
        if size > self.size_limit:
            log.info(
                "Root cache: root of %d MiB is larger than cache.root_cache_size, not stored",
                size >> 20,
            )
            return False
        self.directory.mkdir(parents=True, exist_ok=True)
        leftovers.sweep(self.directory, TEMP_PREFIX)  # half-stored roots of killed runs
        temporary = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=self.directory))
        leftovers.claim(temporary)
        try:
            copy_tree(root, temporary / "root", LINKED)
            for relative in private:  # build-time secrets, written anew after a restore
                (temporary / "root" / relative).unlink(missing_ok=True)
            entry = {
                "key": key,
                "size": size,
                "created": time.time(),
                "linked_state": linked_state(temporary / "root", LINKED),
            }
            (temporary / ENTRY).write_text(json.dumps(entry) + "\n")
            with self._locked(exclusive=True):
                final = self.directory / key
                if final.exists():
                    return True  # another build stored the same root meanwhile
                os.rename(temporary, final)
                log.info("Root cache: stored %s (%d MiB)", final, size >> 20)
                self._evict(keep=final)
            return True
        finally:
            shutil.rmtree(temporary, ignore_errors=True)

    def _evict(self, keep: Path) -> None:
        """Remove the least recently used entries until the cache fits its limit."""
        sizes = {entry: _entry_size(entry) for entry in self.entries()}
        total = sum(sizes.values())
        by_age = sorted(
            sizes, key=lambda e: (e / ENTRY).stat().st_mtime if (e / ENTRY).exists() else 0
        )
        for entry in by_age:
            if total <= self.size_limit:
                break
            if entry == keep:
                continue
            log.info("Root cache: evicting %s", entry.name)
            shutil.rmtree(entry, ignore_errors=True)
            total -= sizes[entry]

    def clear(self) -> None:
        if not self.directory.is_dir():
            return
        log.info("Clearing root cache %s", self.directory)
        with self._locked(exclusive=True):
            for entry in self.directory.iterdir():
                if entry.name != LOCK:
                    shutil.rmtree(entry, ignore_errors=True)


def _entry_data(entry: Path) -> dict[str, object]:
    try:
        data = json.loads((entry / ENTRY).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _entry_size(entry: Path) -> int:
    size = _entry_data(entry).get("size")
    return size if isinstance(size, int) else tree_size(entry)
