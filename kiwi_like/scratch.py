"""Temporary working directories that are always removed."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kiwi_like import leftovers

PREFIX = "kiwi-like-"


@contextmanager
def scratch_directory(temp_dir: Path | None) -> Iterator[Path]:
    if temp_dir:
        temp_dir.mkdir(parents=True, exist_ok=True)
    leftovers.sweep(Path(temp_dir or tempfile.gettempdir()), PREFIX)
    with tempfile.TemporaryDirectory(prefix=PREFIX, dir=temp_dir) as scratch:
        leftovers.claim(Path(scratch))
        # apt reads keyrings from here as its unprivileged _apt user.
        os.chmod(scratch, 0o711)
        with _temporary_files_in(Path(scratch) / "tmp"):
            yield Path(scratch)


@contextmanager
def _temporary_files_in(directory: Path) -> Iterator[None]:
    """Programs run meanwhile (apt, dpkg, dnf, gpg...) put their temporary files here,
    not in the host's /tmp: what an interrupted run leaves goes with the scratch area.
    Sticky and world-writable, as apt's _apt user writes here too."""
    directory.mkdir()
    directory.chmod(0o1777)
    before = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(directory)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = before
