"""What a disk build made, as read back from the finished image."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiwi_like.create.disk.layout import SECTOR, DiskLayout
from kiwi_like.errors import KiwiLikeError


@dataclass(frozen=True)
class PartitionInfo:
    name: str  # GPT partition name (kiwi's p.legacy, p.UEFI, p.swap, p.lxroot)
    number: int
    start: int  # bytes
    size: int  # bytes
    filesystem: str | None
    uuid: str | None  # file system UUID
    partuuid: str
    type: str  # GPT type GUID or msdos type code


@dataclass(frozen=True)
class DiskResult:
    image: Path
    size: int  # bytes
    table: str  # gpt | msdos
    partitions: tuple[PartitionInfo, ...]
    root_uuid: str
    firmware: str  # bios | efi (efi disks boot on BIOS too)
    kernel: str

    def partition(self, name: str) -> PartitionInfo:
        return next(p for p in self.partitions if p.name == name)


def describe(
    image: Path, layout: DiskLayout, table: dict[str, Any], firmware: str, kernel: str
) -> DiskResult:
    """Join the planned layout with the table sfdisk wrote; any difference is an error."""
    found = table.get("partitions", [])
    expected_label = "gpt" if layout.table == "gpt" else "dos"
    if table.get("label") != expected_label or len(found) != len(layout.partitions):
        raise KiwiLikeError(
            f"the partition table of {image.name} is not what was planned "
            f"({table.get('label')}, {len(found)} partitions)"
        )
    partitions = []
    for planned, entry in zip(layout.partitions, found, strict=True):
        start, size = int(entry["start"]) * SECTOR, int(entry["size"]) * SECTOR
        if (start, size) != (planned.start, planned.size):
            raise KiwiLikeError(f"partition {planned.number} of {image.name} is not where planned")
        partitions.append(
            PartitionInfo(
                name=planned.name,
                number=planned.number,
                start=start,
                size=size,
                filesystem=planned.filesystem,
                uuid=planned.uuid,
                partuuid=str(entry.get("uuid", planned.partuuid)).lower(),
                type=str(entry["type"]),
            )
        )
    return DiskResult(
        image=image,
        size=layout.size,
        table=layout.table,
        partitions=tuple(partitions),
        root_uuid=layout.root.uuid or "",
        firmware=firmware,
        kernel=kernel,
    )
