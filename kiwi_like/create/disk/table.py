"""The partition table, written with sfdisk into the image file and read back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kiwi_like import run as runner
from kiwi_like.create.disk.layout import SECTOR, DiskLayout
from kiwi_like.errors import KiwiLikeError


def sfdisk_script(layout: DiskLayout) -> str:
    if layout.table == "gpt":
        lines = [
            "label: gpt",
            f"label-id: {layout.disk_id}",
            "unit: sectors",
            f"sector-size: {SECTOR}",
            "",
        ]
        for part in layout.partitions:
            lines.append(
                f"start={part.start // SECTOR}, size={part.size // SECTOR}, "
                f'type={part.type_code}, uuid={part.partuuid.upper()}, name="{part.name}"'
            )
    else:
        lines = ["label: dos", f"label-id: 0x{layout.disk_id}", "unit: sectors", ""]
        for part in layout.partitions:
            bootable = ", bootable" if part.role == "root" else ""
            lines.append(
                f"start={part.start // SECTOR}, size={part.size // SECTOR}, "
                f"type={part.mbr_type}{bootable}"
            )
    return "\n".join(lines) + "\n"


def write_table(image: Path, layout: DiskLayout) -> None:
    runner.run(
        ["sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", image],
        stdin=sfdisk_script(layout),
    )


def read_table(image: Path) -> dict[str, Any]:
    """`sfdisk --json` of the image: the `partitiontable` object."""
    text = runner.stdout_of(["sfdisk", "--json", image])
    try:
        table = json.loads(text)["partitiontable"]
    except (ValueError, KeyError) as error:
        raise KiwiLikeError(f"cannot read the partition table back: {error}") from None
    assert isinstance(table, dict)
    return table
