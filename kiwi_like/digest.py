"""Checksums of image files, reading only the parts of a sparse file that hold data.

A 2 GiB raw disk is mostly holes; hashing a hole feeds the digest zeros from
memory instead of reading them from the kernel, which is what makes the
checksum of a fresh disk about as fast as the hash function itself.
"""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

from kiwi_like.holes import data_ranges

BLOCK = 4 << 20
_ZEROS = memoryview(bytes(BLOCK))


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with path.open("rb", buffering=0) as stream:
        fd = stream.fileno()
        size = os.fstat(fd).st_size
        position = 0
        for start, end in [*data_ranges(fd, size), (size, size)]:
            while position < start:  # a hole
                length = min(BLOCK, start - position)
                digest.update(_ZEROS[:length])
                position += length
            while position < end:
                data = os.pread(fd, min(BLOCK, end - position), position)
                if not data:
                    raise OSError(errno.EIO, f"{path} is shorter than it was")
                digest.update(data)
                position += len(data)
    return digest.hexdigest()
