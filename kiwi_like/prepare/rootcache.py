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
import stat
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from kiwi_like import __version__, buildservice, leftovers
from kiwi_like import run as runner
from kiwi_like.background import beside
from kiwi_like.description import ResolvedBuild
from kiwi_like.installer import PackageManager
from kiwi_like.log import log
from kiwi_like.prepare.settings import run_locale_gen as settings_locale_gen
from kiwi_like.runtime_config import DEFAULT_ROOT_CACHE_SIZE

CACHE_FORMAT = 4  # bump when what a cached root holds changes
ROOTS = "roots"
LOCK = ".lock"
ENTRY = "entry.json"
TEMP_PREFIX = ".tmp-"
# Subtrees shared by hard links between the cache and the roots made from it, not
# copied: /usr (nine tenths of a Debian root's bytes, most of its files) and apt's
# package lists. Packages, scripts and kiwi-like itself replace such files (dpkg,
# depmod, sed -i, apt rename new ones into place) or delete them, which leaves the
# cached inode alone; kiwi-like's own writers break a link before writing into a
# file (rootfs.unshare_file). A script that writes into one in place changes the
# cached file too: each entry records its linked files' names, sizes, modification
# times, modes and owners (linked_state), and an entry that no longer matches is
# discarded as soon as the prepare ends (and at every restore).
LINKED = ("usr", "var/lib/apt/lists")
LOCALE_ARCHIVE = "usr/lib/locale/locale-archive"
# Files below LINKED that builds rewrite in place: always copied.
COPIED = (LOCALE_ARCHIVE,)  # localedef adds to it in place
LOCALES = "locales"  # an entry's generated locale archives, by locale.gen's hash


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
    inputs = {**package_state(build, image_packages, collections, variant), "metadata": fingerprint}
    text = json.dumps(inputs, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def package_state(
    build: ResolvedBuild, image_packages: Sequence[str], collections: Sequence[str], variant: str
) -> dict[str, object]:
    """What the root after its package steps depends on, but the repositories' metadata:
    builds with equal states share one cached root (also `system build-all`'s groups)."""
    script = build.description_dir / "post_bootstrap.sh"
    return {
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
        # the script may read the image settings from /.profile
        "post_bootstrap": _file_hash(script) if script.is_file() else None,
        "settings": [build.name, build.version, list(build.profiles), build.build_type.image]
        if script.is_file()
        else None,
    }


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


def copy_tree(
    source: Path, target: Path, linked: Sequence[str] = (), copied: Sequence[str] = ()
) -> None:
    """Copy a root with everything (owners, modes, links, xattrs), sharing blocks if it can.

    The `linked` subtrees are hard-linked instead of copied when source and target
    are on one file system (see LINKED), except the `copied` files; the rest is
    copied around them (`-n`) without walking a linked top-level tree again.
    """
    target.mkdir(parents=True, exist_ok=True)
    same_fs = os.stat(source).st_dev == os.stat(target).st_dev
    done: list[str] = []
    for relative in linked if same_fs else ():
        subtree = source / relative
        if subtree.is_dir() and not any(p.is_symlink() for p in _parents(source, relative)):
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            runner.run(["cp", "-al", str(subtree), str((target / relative).parent)])
            done.append(relative)
    for relative in copied:
        path = target / relative
        if path.is_file() and not path.is_symlink() and path.stat().st_nlink > 1:
            path.unlink()  # the copy below puts a file of its own there
    whole = {relative for relative in done if "/" not in relative}
    rest = [str(source / name) for name in sorted(os.listdir(source)) if name not in whole]
    if rest:
        runner.run(["cp", "-a", "-n", "--reflink=auto", *rest, f"{target}/"])
    for relative in copied:
        if Path(relative).parts[0] in whole and os.path.lexists(source / relative):
            copy = ["cp", "-a", "--reflink=auto", str(source / relative), str(target / relative)]
            runner.run(copy)
    # the root directory itself, as `cp -a source/. target/` would have left it
    info = os.lstat(source)
    os.chown(target, info.st_uid, info.st_gid)
    os.chmod(target, stat.S_IMODE(info.st_mode))
    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))


def _empty(directory: Path) -> None:
    """Remove what a directory holds (a root copied from a discarded entry)."""
    for child in directory.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _parents(root: Path, relative: str) -> list[Path]:
    parts = Path(relative).parts
    return [root.joinpath(*parts[: n + 1]) for n in range(len(parts))]


FIND_FORMAT = "%p\\0%s\\0%T@\\0%m\\0%U\\0%G\\0"  # name, size, mtime, mode, owner, group
FIELDS = 6


def linked_state(root: Path, linked: Sequence[str]) -> str:
    """A digest of the hard-linked files' names, sizes, times, modes and owners.

    Writing to one of them through any of its links changes it, so a cache entry
    whose digest no longer matches is discarded instead of used. find lists them
    (ten times faster than walking /usr in Python, which every warm build does twice).
    """
    present = [relative for relative in linked if (root / relative).is_dir()]
    # mode and owner too: a chmod or chown through a link changes the cached inode
    # (not its ctime: every restore's new links change that)
    listing = (
        runner.stdout_of(["find", *present, "-type", "f", "-printf", FIND_FORMAT], cwd=root)
        if present
        else ""
    )
    fields = listing.split("\0")
    skipped = set(COPIED)
    entries = sorted(
        "\0".join(fields[n : n + FIELDS])
        for n in range(0, len(fields) - FIELDS + 1, FIELDS)
        if fields[n] not in skipped
    )
    return hashlib.sha256("\0".join(entries).encode()).hexdigest()


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
            # The entry's check (find, on the other core) runs while it is copied.
            with beside(linked_state, entry / "root", LINKED) as state:
                copy_tree(entry / "root", root, LINKED, COPIED)
                intact = recorded == state.result()
            if intact:
                log.info("Root cache: reused %s", entry)
                os.utime(entry / ENTRY)  # last used, for the eviction order
        if not intact:
            log.warning("Root cache: %s was changed through a hard link, discarded", entry.name)
            _empty(root)
            with self._locked(exclusive=True):
                shutil.rmtree(entry, ignore_errors=True)
        return intact

    def check(self, key: str) -> bool:
        """Whether the entry is still as stored; one changed through a hard link (a script
        wrote into a shared file in place) is discarded at once, before another build uses it.
        """
        entry = self.directory / key
        with self._locked(exclusive=False):
            if not (entry / ENTRY).is_file():
                return True  # not stored (or evicted): nothing to guard
            intact = _entry_data(entry).get("linked_state") == linked_state(entry / "root", LINKED)
        if not intact:
            log.warning(
                "Root cache: this build wrote into a file it shares with cache entry %s "
                "(in place, through a hard link): the entry is discarded",
                entry.name,
            )
            with self._locked(exclusive=True):
                shutil.rmtree(entry, ignore_errors=True)
        return intact

    def locale_generator(self, key: str) -> Callable[[Path], None]:
        """locale-gen for roots of the entry `key`, whose result is kept in the entry.

        Its output depends on /etc/locale.gen and on the entry's packages (the locale
        sources, localedef), so a warm build with the same locale.gen copies the archive
        the first build generated instead of compiling the locales again.
        """

        def generate(root: Path) -> None:
            archive = root / LOCALE_ARCHIVE
            user_locales = root / "usr/local/share/i18n/locales"
            kept = self.directory / key / LOCALES / _file_hash(root / "etc/locale.gen")
            if kept.is_file() and not user_locales.exists():
                try:
                    archive.unlink(missing_ok=True)
                    archive.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(kept, archive)
                    log.info("Root cache: locales as generated before (%s)", kept.name[:16])
                    return
                except OSError:  # evicted meanwhile: generate them
                    archive.unlink(missing_ok=True)
            settings_locale_gen(root)
            if archive.is_file() and (self.directory / key / ENTRY).is_file():
                try:
                    kept.parent.mkdir(exist_ok=True)
                    shutil.copy2(archive, f"{kept}.tmp")
                    os.replace(f"{kept}.tmp", kept)
                except OSError as error:
                    log.warning("Root cache: cannot keep the locales (%s)", error)

        return generate

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
            copy_tree(root, temporary / "root", LINKED, COPIED)
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
