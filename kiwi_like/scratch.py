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
        yield Path(scratch)
