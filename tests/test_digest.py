"""Checksums of sparse files equal those of the same bytes read in full."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from kiwi_like.digest import BLOCK, file_digest


def sparse_file(path: Path, size: int, pieces: dict[int, bytes]) -> bytes:
    with path.open("wb") as stream:
        stream.truncate(size)
        for offset, data in pieces.items():
            stream.seek(offset)
            stream.write(data)
    return path.read_bytes()


@pytest.mark.parametrize(
    ("size", "pieces"),
    [
        (0, {}),
        (10 << 20, {}),  # only a hole
        (10 << 20, {0: b"start", (9 << 20) + 17: b"middle"}),
        (3 * BLOCK + 5, {BLOCK - 2: os.urandom(BLOCK + 9), 3 * BLOCK: b"tail!"}),
        (1 << 20, {0: os.urandom(1 << 20)}),  # no hole at all
    ],
)
@pytest.mark.parametrize("algorithm", ["sha256", "sha512", "md5"])
def test_sparse_digest_is_the_plain_digest(tmp_path, size, pieces, algorithm):
    content = sparse_file(tmp_path / "image", size, pieces)
    assert len(content) == size
    expected = hashlib.new(algorithm, content).hexdigest()
    assert file_digest(tmp_path / "image", algorithm) == expected
