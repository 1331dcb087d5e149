"""Reproducible builds: SOURCE_DATE_EPOCH and the seed an image's identifiers come from.

With `SOURCE_DATE_EPOCH` set (or `--reproducible` / the runtime config's
`reproducible: true`, which derive it from the newest package when it is unset),
`system create` makes the same bytes from the same root: every identifier a
build would draw at random (file system and partition UUIDs, the disk GUID, a
medium's id file) comes from a seed of the description's name and version and
the installed packages, every time stamp is clamped to the epoch, and what holds
the time or randomness of the build (logs, caches, random seeds) stays out of the
image. `reproducing()` makes one such setting current for the builders (and puts
the epoch into the environment of every program they run); `current()` reads it.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from kiwi_like.errors import KiwiLikeError

ENV = "SOURCE_DATE_EPOCH"


def source_date_epoch() -> int | None:
    """SOURCE_DATE_EPOCH of the environment, validated; None when unset or empty."""
    value = os.environ.get(ENV)
    if not value:
        return None
    if not value.isdigit():
        raise KiwiLikeError(f"{ENV} must be a number of seconds, not '{value}'")
    return int(value)


@dataclass(frozen=True)
class Reproducible:
    """The epoch every time stamp is clamped to and the seed of every identifier."""

    epoch: int
    seed: str  # hex SHA-256
    epoch_source: str  # "SOURCE_DATE_EPOCH", "newest package" or "description"

    def digest(self, purpose: str) -> bytes:
        return hashlib.sha256(f"{self.seed}:{purpose}".encode()).digest()

    def uuid(self, purpose: str) -> str:
        """A random-looking (version 4) UUID that only depends on the seed and `purpose`."""
        return str(uuid.UUID(bytes=self.digest(purpose)[:16], version=4))

    def hex(self, purpose: str, digits: int) -> str:
        return self.digest(purpose).hex()[:digits]

    def as_json(self) -> dict[str, object]:
        return {"seed": self.seed, "source_date_epoch": self.epoch, "epoch_from": self.epoch_source}


def seed_of(name: str, version: str, packages: Iterable[str]) -> str:
    """The seed: the image's name and version and its packages (one line each, any order)."""
    digest = hashlib.sha256(f"{name}\n{version}\n".encode())
    for line in sorted(packages):
        digest.update(line.encode() + b"\n")
    return digest.hexdigest()


# Debian's package builds clamp every file's mtime to the date of the package's newest
# changelog entry, and dpkg keeps it: a package's copyright file (kept where a description
# leaves out the rest of /usr/share/doc) and changelog carry the package's date
_CHANGELOGS = (
    "usr/share/doc/*/copyright",
    "usr/share/doc/*/changelog.Debian.gz",
    "usr/share/doc/*/changelog.gz",
)


def newest_package_time(root: Path) -> int | None:
    """The newest package date of a Debian root (its changelogs), or None."""
    newest = None
    for pattern in _CHANGELOGS:
        for path in root.glob(pattern):
            try:
                info = path.lstat()
            except OSError:
                continue
            if path.is_file() and not path.is_symlink():
                newest = max(newest or 0, int(info.st_mtime))
    return newest


def description_time(description: Path) -> int:
    """The newest mtime among the description's files (for roots without package dates)."""
    times = [int(p.stat().st_mtime) for p in description.rglob("*") if p.is_file()]
    return max(times, default=int(description.stat().st_mtime))


def derive_epoch(root: Path, description: Path) -> tuple[int, str]:
    """SOURCE_DATE_EPOCH when set, else the newest package, else the description."""
    epoch = source_date_epoch()
    if epoch is not None:
        return epoch, ENV
    newest = newest_package_time(root)
    if newest is not None:
        return newest, "newest package"
    return description_time(description), "description"


_CURRENT: ContextVar[Reproducible | None] = ContextVar("reproducible", default=None)


def current() -> Reproducible | None:
    """The reproducible setting of the build being created, None for an ordinary build."""
    return _CURRENT.get()


@contextmanager
def reproducing(setting: Reproducible | None) -> Iterator[Reproducible | None]:
    """Make `setting` current, with SOURCE_DATE_EPOCH in the environment of every program."""
    if setting is None:
        yield None
        return
    saved = os.environ.get(ENV)
    os.environ[ENV] = str(setting.epoch)
    token = _CURRENT.set(setting)
    try:
        yield setting
    finally:
        _CURRENT.reset(token)
        if saved is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = saved


def environment() -> dict[str, str]:
    """SOURCE_DATE_EPOCH for programs that run with a clean environment (chroots)."""
    epoch = source_date_epoch()
    return {ENV: str(epoch)} if epoch is not None else {}


def clamp_mtimes(tree: Path, epoch: int) -> None:
    """Every time stamp under `tree` (itself included) no newer than `epoch`; atime = mtime."""
    for directory, dirnames, filenames in os.walk(tree):
        for name in (*dirnames, *filenames):
            _clamp(os.path.join(directory, name), epoch)
    _clamp(str(tree), epoch)


def _clamp(path: str, epoch: int) -> None:
    info = os.lstat(path)
    mtime = min(int(info.st_mtime), epoch)
    if info.st_mtime != mtime or info.st_atime != mtime:
        os.utime(path, (mtime, mtime), follow_symlinks=False)


# What holds the randomness or the time of the build, not of the image: left out of a
# reproducible image (systemd, dbus and ldconfig make them again when they are missing)
VOLATILE_FILES = (
    "var/lib/systemd/random-seed",
    "var/lib/systemd/credential.secret",
    "var/lib/urandom/random-seed",
    "var/cache/ldconfig/aux-cache",
    "run/blkid/blkid.tab",  # the build host's devices (roots made before BLKID_FILE was set)
    "run/blkid/blkid.tab.old",
)
LOG_DIR = "var/log"
SHADOW = "etc/shadow"
DAY = 86400


def scrub_root(root: Path, epoch: int) -> list[str]:
    """Take the build's randomness and time out of the image root; return what changed.

    Random seeds and the ldconfig cache go, /etc/machine-id is emptied (systemd makes a
    unique one on first boot), /var/lib/dbus/machine-id goes unless it is a link to it,
    the build's log files go (their directories stay), and /etc/shadow's dates of the
    last password change are clamped to the epoch's day.
    """
    changed = []
    for name in VOLATILE_FILES:
        path = root / name
        if path.is_file() and not path.is_symlink():
            path.unlink()
            changed.append(name)
    machine_id = root / "etc/machine-id"
    if machine_id.is_file() and not machine_id.is_symlink() and machine_id.stat().st_size:
        machine_id.write_text("")
        changed.append("etc/machine-id")
    dbus_id = root / "var/lib/dbus/machine-id"
    if dbus_id.is_file() and not dbus_id.is_symlink():
        dbus_id.unlink()
        changed.append("var/lib/dbus/machine-id")
    logs = root / LOG_DIR
    if logs.is_dir() and not logs.is_symlink():
        for directory, _dirnames, filenames in os.walk(logs):
            for name in filenames:
                os.unlink(os.path.join(directory, name))
                changed.append(os.path.relpath(os.path.join(directory, name), root))
    if _clamp_shadow(root / SHADOW, epoch // DAY):
        changed.append(SHADOW)
    return changed


def _clamp_shadow(path: Path, day: int) -> bool:
    """The third field (day of the last password change) no later than `day`."""
    if not path.is_file() or path.is_symlink():
        return False
    lines = path.read_text().splitlines(keepends=True)
    clamped = []
    for line in lines:
        fields = line.split(":")
        if len(fields) > 2 and fields[2].isdigit() and int(fields[2]) > day:
            fields[2] = str(day)
        clamped.append(":".join(fields))
    if clamped == lines:
        return False
    mode = path.stat().st_mode
    path.write_text("".join(clamped))
    path.chmod(mode)
    return True
