"""Where a sparse file holds data: the one place that asks the kernel (SEEK_DATA/SEEK_HOLE)."""

from __future__ import annotations

import errno
import os


def data_ranges(fd: int, size: int) -> list[tuple[int, int]]:
    """(start, end) of every data region; a file system without SEEK_DATA gives one."""
    ranges = []
    position = 0
    try:
        while position < size:
            try:
                start = os.lseek(fd, position, os.SEEK_DATA)
            except OSError as error:
                if error.errno == errno.ENXIO:  # only a hole is left
                    break
                raise
            end = os.lseek(fd, start, os.SEEK_HOLE)
            ranges.append((start, end))
            position = end
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.EOPNOTSUPP):
            raise
        return [(0, size)]
    return ranges
