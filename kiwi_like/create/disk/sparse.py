"""Copying a file into the disk image at an offset, skipping its holes."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from kiwi_like.holes import data_ranges

CHUNK = 8 << 20


def _copy_range(source: int, target: int, start: int, end: int, offset: int) -> None:
    position = start
    while position < end:
        length = min(CHUNK, end - position)
        try:
            done = os.copy_file_range(source, target, length, position, position + offset)
        except OSError as error:
            if error.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
            data = os.pread(source, length, position)
            done = len(data)
            if data.count(0) != done:  # an all-zero block stays a hole
                os.pwrite(target, data, position + offset)
        if done <= 0:
            raise OSError(errno.EIO, "short copy into the disk image")
        position += done


def copy_into(source: Path, image: Path, offset: int) -> None:
    """Write `source` into `image` at byte `offset`; the target area must be empty (a hole)."""
    with open(source, "rb") as src, open(image, "r+b") as dst:
        size = os.fstat(src.fileno()).st_size
        for start, end in data_ranges(src.fileno(), size):
            _copy_range(src.fileno(), dst.fileno(), start, end, offset)
        os.fsync(dst.fileno())
