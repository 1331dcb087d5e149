"""Names of the disk's parts, chosen before anything is written.

File system UUIDs, partition UUIDs and the disk identifier are fixed up front,
so /etc/fstab, the kernel command line and GRUB's search commands can be
written into the root before any file system exists. They are random, or in
a reproducible build derived from its seed (kiwi_like/reproducible.py).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from kiwi_like import reproducible

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
        setting = reproducible.current()
        if setting is not None:
            return cls.derived(setting)
        return cls(
            root_uuid=str(uuid.uuid4()),
            esp_volid=secrets.token_hex(4).upper(),
            swap_uuid=str(uuid.uuid4()),
            disk_guid=_guid(),
            dos_id=secrets.token_hex(4),
            partition_guids=(_guid(), _guid(), _guid(), _guid()),
        )

    @classmethod
    def derived(cls, setting: reproducible.Reproducible) -> Identities:
        """The same identities for the same seed."""

        def guid(purpose: str) -> str:
            return setting.uuid(f"disk:{purpose}").upper()

        return cls(
            root_uuid=setting.uuid("disk:root"),
            esp_volid=setting.hex("disk:esp", 8).upper(),
            swap_uuid=setting.uuid("disk:swap"),
            disk_guid=guid("gpt"),
            dos_id=setting.hex("disk:msdos", 8),
            partition_guids=(guid("bios"), guid("esp"), guid("swapguid"), guid("rootguid")),
        )

    @property
    def esp_uuid(self) -> str:
        """The FAT volume id the way blkid and /dev/disk/by-uuid show it."""
        return f"{self.esp_volid[:4]}-{self.esp_volid[4:]}"
