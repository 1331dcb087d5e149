"""Names of the disk's parts, chosen before anything is written.

File system UUIDs, partition UUIDs and the disk identifier are random and
fixed up front, so /etc/fstab, the kernel command line and GRUB's search
commands can be written into the root before any file system exists.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

ESP_LABEL = "EFI"
SWAP_LABEL = "SWAP"


def _guid() -> str:
    return str(uuid.uuid4()).upper()


@dataclass(frozen=True)
class Identities:
    root_uuid: str
    esp_volid: str  # FAT volume id, 8 hex digits
    swap_uuid: str
    disk_guid: str  # GPT disk GUID
    dos_id: str  # msdos disk identifier, 8 hex digits
    partition_guids: tuple[str, str, str, str]  # GPT partition GUIDs: bios, esp, swap, root

    @classmethod
    def new(cls) -> Identities:
        return cls(
            root_uuid=str(uuid.uuid4()),
            esp_volid=secrets.token_hex(4).upper(),
            swap_uuid=str(uuid.uuid4()),
            disk_guid=_guid(),
            dos_id=secrets.token_hex(4),
            partition_guids=(_guid(), _guid(), _guid(), _guid()),
        )

    @property
    def esp_uuid(self) -> str:
        """The FAT volume id the way blkid and /dev/disk/by-uuid show it."""
        return f"{self.esp_volid[:4]}-{self.esp_volid[4:]}"
