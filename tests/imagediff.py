"""Where two images differ: the first differing byte, mapped to a partition and a file.

Used by tests/test_reproducible.py to say *what* differs when two builds that should be
byte-identical are not: a disk's offset is mapped to its partition (sfdisk --json), in
an ext2/3/4 partition to the file whose data block or inode it is (dumpe2fs for the
inode tables, debugfs icheck/ncheck for data blocks); an ISO's offset to the file whose
extent holds it (xorriso -find -exec report_lba). Nothing is mounted.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

BLOCK = 1 << 20
SECTOR = 512


def first_difference(a: Path, b: Path) -> int | None:
    """The offset of the first byte that differs (or where the shorter file ends), or None."""
    with open(a, "rb") as left, open(b, "rb") as right:
        offset = 0
        while True:
            x, y = left.read(BLOCK), right.read(BLOCK)
            if x != y:
                for index, (p, q) in enumerate(zip(x, y, strict=False)):
                    if p != q:
                        return offset + index
                return offset + min(len(x), len(y))
            if not x:
                return None
            offset += len(x)


def _run(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout


def _partitions(disk: Path) -> list[tuple[int, int, int, str]]:
    """(number, start, size, type) in bytes of each partition of a disk image."""
    try:
        table = json.loads(_run("sfdisk", "--json", str(disk)))["partitiontable"]
    except (ValueError, KeyError):
        return []
    found = []
    for number, part in enumerate(table.get("partitions", []), start=1):
        found.append((number, part["start"] * SECTOR, part["size"] * SECTOR, part["type"]))
    return found


def _ext_geometry(device: str) -> tuple[int, int, int, list[tuple[int, int]]] | None:
    """block size, inode size, inodes per group, inode table (first, last block) per group."""
    text = _run("dumpe2fs", device)
    sizes = {}
    for key in ("Block size", "Inode size", "Inodes per group"):
        match = re.search(rf"^{key}:\s+(\d+)", text, re.MULTILINE)
        if not match:
            return None
        sizes[key] = int(match.group(1))
    tables = [
        (int(first), int(last)) for first, last in re.findall(r"Inode table at (\d+)-(\d+)", text)
    ]
    return sizes["Block size"], sizes["Inode size"], sizes["Inodes per group"], tables


def _ext_path(device: str, inode: int) -> str:
    match = re.search(rf"^{inode}\s+(\S.*)$", _run("debugfs", "-R", f"ncheck {inode}", device),
                      re.MULTILINE)  # fmt: skip
    return match.group(1) if match else f"<inode {inode}, no path>"


def explain_ext(device: str, offset: int) -> str:
    """What of an ext2/3/4 file system lies at `offset` bytes into it."""
    geometry = _ext_geometry(device)
    if geometry is None:
        return "not an ext2/3/4 file system"
    block_size, inode_size, per_group, tables = geometry
    block = offset // block_size
    if block == 0:
        return "the superblock"
    for group, (first, last) in enumerate(tables):
        if first <= block <= last:
            index = ((block - first) * block_size + offset % block_size) // inode_size
            inode = group * per_group + index + 1
            stat = _run("debugfs", "-R", f"stat <{inode}>", device)
            times = " ".join(re.findall(r"^\s*(\w+time: \S+)", stat, re.MULTILINE))
            return f"inode {inode} ({_ext_path(device, inode)}): {times}"
    owner = re.search(r"^\d+\s+(\d+)$", _run("debugfs", "-R", f"icheck {block}", device),
                      re.MULTILINE)  # fmt: skip
    if owner:
        return f"block {block}, data of {_ext_path(device, int(owner.group(1)))}"
    return f"block {block}: file system metadata (no file's data)"


def explain_disk(disk: Path, offset: int) -> str:
    """Which partition, and in an ext* partition which file, holds byte `offset`."""
    if offset < 1 << 20:
        return f"byte {offset}: the partition table / boot code area"
    for number, start, size, kind in _partitions(disk):
        if start <= offset < start + size:
            where = f"byte {offset}: partition {number} (type {kind}) + {offset - start}"
            device = f"{disk}?offset={start}"
            probe = _run("blkid", "-p", "-O", str(start), "-o", "export", str(disk))
            if re.search(r"^TYPE=ext[234]$", probe, re.MULTILINE):
                return f"{where}: {explain_ext(device, offset - start)}"
            return where
    return f"byte {offset}: outside every partition"


def explain_iso(iso: Path, offset: int) -> str:
    """Which file of an ISO 9660 image holds byte `offset` (2048-byte blocks)."""
    report = _run("xorriso", "-indev", str(iso), "-find", "/", "-exec", "report_lba", "--")
    lba = offset // 2048
    # File data lba:  <extent> , <start lba> , <blocks> , <file size> , '<path>'
    pattern = r"File data lba:\s*\d+\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*\d+\s*,\s*'([^']*)'"
    for match in re.finditer(pattern, report):
        start, blocks, path = int(match.group(1)), int(match.group(2)), match.group(3)
        if start <= lba < start + blocks:
            return f"byte {offset}: {path} + {offset - start * 2048}"
    return f"byte {offset}: ISO metadata or boot area (block {lba})"
