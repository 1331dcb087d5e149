"""`image resize`: grow a raw disk result as kiwi does (kiwi/tasks/image_resize.py).

The file grows (sparse; kiwi runs `qemu-img resize`), and a GPT's backup header and
table move to the new end of the disk (kiwi: `sgdisk --resize-table`; here `sfdisk
--relocate gpt-bak-std`); an msdos table needs nothing. The new space stays free: the
partitions keep their size, and the root partition grows on first boot, as kiwi's oem
boot code grows it. Shrinking is refused, it would cut off the image.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from kiwi_like import run as runner
from kiwi_like.errors import KiwiLikeError
from kiwi_like.log import log

SIZE = re.compile(r"^(\d+)([gGmM]?)$")


def size_in_bytes(value: str) -> int:
    """kiwi's StringToSize: bytes, or a number with m (MiB) or g (GiB)."""
    match = SIZE.match(value)
    if not match:
        raise KiwiLikeError(
            f"--size: unsupported size format {value}, a number of bytes or with m or g (20g)"
        )
    unit = {"g": 3, "m": 2}.get(match.group(2).lower(), 0)
    return int(match.group(1)) * 1024**unit


def partition_table(disk: Path) -> str | None:
    output = runner.stdout_of(["sfdisk", "--json", disk], check=False)
    try:
        return str(json.loads(output)["partitiontable"]["label"])
    except (ValueError, KeyError, TypeError):
        return None


def resize_raw_disk(disk: Path, size: int) -> bool:
    """Grow `disk` to `size` bytes; False if it has that size already."""
    current = disk.stat().st_size
    if size < current:
        raise KiwiLikeError(f"shrinking {disk} disk to {size} bytes corrupts the image")
    if size > current:
        log.info("Resizing raw disk to %d bytes", size)
        os.truncate(disk, size)
    else:
        log.info("Raw disk is already at %d bytes", size)
    if partition_table(disk) == "gpt":
        runner.run(["sfdisk", "--relocate", "gpt-bak-std", disk])
    return size > current
