"""Where `--logfile` may not point: at what the run reads or makes.

Appending the log to the description's config.xml (then blaming the description),
into the image root, onto a result or into the bundle directory would damage the
very thing the command works on; such a log file is refused before any work starts.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from kiwi_like.errors import CommandLineError
from kiwi_like.log import STDOUT_NAMES

MAX_SCANNED = 10000  # files of a description compared by inode (hard links)
# the first line of a kiwi-like log (2026-12-01 22:00:00,123 INFO ...) or of kiwi's
# ([ INFO    ]: 22:00:00 | ...)
LOG_LINE = re.compile(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ |\[ [A-Z]+ *\]")


def _inside(path: Path, directory: Path) -> bool:
    return path == directory or directory in path.parents


def _given(args: Mapping[str, Any], option: str) -> Iterator[Path]:
    value = args.get(option)
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str) and item:
            yield Path(item).resolve()


def _same_inode(path: Path, others: Iterator[Path]) -> Path | None:
    try:
        mine = path.stat()
    except OSError:
        return None  # a new file is no other file
    for count, other in enumerate(others):
        if count >= MAX_SCANNED:
            break
        try:
            theirs = other.stat()
        except OSError:
            continue
        if (theirs.st_dev, theirs.st_ino) == (mine.st_dev, mine.st_ino):
            return other
    return None


def _regular_or_new(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return True


def _check_existing(path: Path, refuse: str) -> None:
    """Appending to an existing file is for logs only: `--logfile /etc/passwd` (a typo, or
    a name chosen by someone else) must not get log lines appended as root."""
    if path.name.endswith(".log") or not path.is_file():
        return
    try:
        with path.open("rb") as file:
            head = file.readline(200)
    except OSError:
        return  # opening it for the log says why
    if head and not LOG_LINE.match(head):
        raise CommandLineError(
            f"{refuse} the file exists and is not a log (name it *.log, or remove it first)"
        )


def check_logfile(args: Mapping[str, Any]) -> None:
    """Refuse a --logfile inside the description, the root, the build directory, the
    bundle directory, onto a result, the same file as one the run reads, a kernel
    interface, or an existing file that is not a log."""
    logfile = args.get("--logfile")
    if logfile == "":
        raise CommandLineError("--logfile: the file name is empty")
    if not logfile or logfile in STDOUT_NAMES:
        return
    path = Path(logfile).resolve()  # through symlinks: a link to config.xml is config.xml
    refuse = f"--logfile {logfile}: refused,"
    if any(_inside(path, Path(system)) for system in ("/proc", "/sys")) and _regular_or_new(
        Path(logfile)
    ):
        # /proc/self/mem, /sys/...; /dev/stdout (a pipe behind /proc/self/fd) is fine
        raise CommandLineError(f"{refuse} it is a kernel interface, not a file")
    for description in _given(args, "--description"):
        directory = description if description.is_dir() else description.parent
        if _inside(path, directory):
            raise CommandLineError(f"{refuse} it is inside the description directory {directory}")
        if path.is_file() and (twin := _same_inode(path, directory.rglob("*"))):
            raise CommandLineError(f"{refuse} it is the description's file {twin} (a hard link)")
    for root in _given(args, "--root"):
        if _inside(path, root):
            raise CommandLineError(f"{refuse} it is inside the image root {root}")
    for bundle in _given(args, "--bundle-dir"):
        if _inside(path, bundle):
            raise CommandLineError(f"{refuse} it is inside the bundle directory {bundle}")
    for target in _given(args, "--target-dir"):
        if _inside(path, target / "build"):
            raise CommandLineError(f"{refuse} it is inside the build directory {target / 'build'}")
        if _inside(path, target) and not path.name.endswith(".log"):
            raise CommandLineError(
                f"{refuse} results are written to {target}: a log file there must be named *.log"
            )
    inputs = [
        p for option in ("--config", "--signing-key", "--ca-cert") for p in _given(args, option)
    ]
    for option in ("--set-repo-credentials", "--add-repo-credentials"):
        inputs += [p for p in _given(args, option) if p.is_file()]
    if path in inputs or (path.is_file() and _same_inode(path, iter(inputs))):
        raise CommandLineError(f"{refuse} the run reads that file")
    _check_existing(path, refuse)
