"""The root tree as a compressed squashfs file, made on the host with mksquashfs."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from kiwi_like import run as runner
from kiwi_like.create.steps import step


def compression_options(compression: str) -> list[str]:
    if compression == "uncompressed":
        return ["-noI", "-noD", "-noF", "-noX"]
    if compression == "zstd":
        return ["-comp", "zstd", "-Xcompression-level", "6"]
    return ["-comp", compression]


def make_squashfs(root: Path, output: Path, compression: str, excluded: Sequence[str] = ()) -> None:
    """`excluded`: paths relative to the root that stay out."""
    argv: list[str | Path] = [
        "mksquashfs", root, output, "-noappend", "-no-progress", "-quiet",
        "-processors", str(os.cpu_count() or 1), *compression_options(compression),
    ]  # fmt: skip
    if excluded:
        argv += ["-e", *excluded]
    with step("creating the squashfs root"):
        runner.run(argv)
