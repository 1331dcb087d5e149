"""Working directories that name the run owning them, so a later run can clean up after a dead one.

A build killed by SIGKILL or a power cut runs no cleanup. Each scratch and
staging directory therefore holds an owner file with the process id and its
start time; the next run removes those of its kind whose owner is gone, and
never touches a directory without that file or one whose owner still runs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from kiwi_like.log import log

OWNER_FILE = ".kiwi-like-owner"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[19]


def claim(directory: Path) -> None:
    """Mark `directory` as belonging to this process."""
    pid = os.getpid()
    (directory / OWNER_FILE).write_text(f"{pid} {_start_time(pid)}\n")


def _owner_alive(directory: Path) -> bool | None:
    """True/False for a claimed directory, None for one that is not ours to judge."""
    try:
        pid_text, start = (directory / OWNER_FILE).read_text().split()
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    return _start_time(pid) == start


def sweep(parent: Path, prefix: str) -> list[Path]:
    """Remove `parent/prefix*` directories left by kiwi-like runs that no longer exist."""
    removed: list[Path] = []
    try:
        candidates = [p for p in parent.iterdir() if p.name.startswith(prefix) and p.is_dir()]
    except OSError:
        return removed
    for directory in candidates:
        if directory.is_symlink() or _owner_alive(directory) is not False:
            continue
        log.info("Removing %s, left behind by an earlier run that was killed", directory)
        shutil.rmtree(directory, ignore_errors=True)
        removed.append(directory)
    return removed
