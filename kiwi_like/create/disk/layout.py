"""The partition layout: which partitions, where, how big.

kiwi's hybrid layout: a BIOS boot partition for GRUB's core image (GPT only;
on msdos the core image sits between the MBR and the first partition), an
EFI system partition for efi/uefi firmware (so those disks boot on BIOS
too), an optional swap partition, and the root partition last so it can
grow to the end of a bigger disk. With overlayroot the root tree is a
read-only squashfs partition before it, and the last partition (if any) is
the overlay's write partition, of the type's file system.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from kiwi_like.create.boot.filesystems import MIB
from kiwi_like.create.disk.identity import ESP_LABEL, SWAP_LABEL, Identities
from kiwi_like.description.imagetypes.oem import DiskSettings
from kiwi_like.errors import KiwiLikeError

SECTOR = 512
HEAD = MIB  # partition table and alignment before the first partition
TAIL = MIB  # the GPT backup table, rounded to a MiB
BIOS_BOOT_SIZE = MIB

GPT_TYPES = {
    "bios": "21686148-6449-6E6F-744E-656564454649",
    "esp": "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
    "swap": "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F",
    "readonly": "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
    "root": "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
}
MBR_TYPES = {"esp": "ef", "swap": "82", "readonly": "83", "root": "83"}
# kiwi's partition names
NAMES = {"bios": "p.legacy", "esp": "p.UEFI", "swap": "p.swap", "readonly": "p.lxreadonly",
         "root": "p.lxroot"}  # fmt: skip
_GUID_INDEX = {"bios": 0, "esp": 1, "swap": 2, "root": 3}
# the read-only partition's GUID follows from the root's (the identities have four)
_READONLY_NAMESPACE = uuid.UUID("9a1d3c52-6a0e-4a43-9b6e-6b69776c696b")


@dataclass(frozen=True)
class PlannedPartition:
    role: str  # bios | esp | swap | readonly | root
    number: int
    start: int  # bytes
    size: int  # bytes
    filesystem: str | None  # None for the BIOS boot partition
    uuid: str | None
    label: str | None
    partuuid: str

    @property
    def name(self) -> str:
        return NAMES[self.role]

    @property
    def end(self) -> int:
        return self.start + self.size

    @property
    def type_code(self) -> str:
        return GPT_TYPES[self.role]

    @property
    def mbr_type(self) -> str:
        return MBR_TYPES[self.role]


@dataclass(frozen=True)
class DiskLayout:
    table: str  # gpt | msdos
    size: int  # bytes
    disk_id: str  # GPT disk GUID or msdos identifier
    partitions: tuple[PlannedPartition, ...]

    def find(self, role: str) -> PlannedPartition | None:
        return next((p for p in self.partitions if p.role == role), None)

    @property
    def root(self) -> PlannedPartition:
        return self.partitions[-1]

    @property
    def embed_area(self) -> tuple[int, int]:
        """Byte range for GRUB's BIOS core image: the BIOS boot partition or the MBR gap."""
        bios = self.find("bios")
        if bios is not None:
            return bios.start, bios.size
        return SECTOR, self.partitions[0].start - SECTOR


def fixed_partitions(settings: DiskSettings, readonly_size: int = 0) -> list[tuple[str, int]]:
    """The partitions before the last one, in order, with their sizes."""
    roles: list[tuple[str, int]] = []
    if settings.table == "gpt":
        roles.append(("bios", BIOS_BOOT_SIZE))
    if settings.efi:
        roles.append(("esp", settings.esp_mb * MIB))
    if settings.swap_mb:
        roles.append(("swap", settings.swap_mb * MIB))
    if settings.overlay is not None and settings.write_partition:
        roles.append(("readonly", readonly_size))
    return roles


def last_role(settings: DiskSettings) -> str:
    """The partition that takes what <size> leaves: the root, or the overlay's write
    partition, or without one the read-only root."""
    return "root" if settings.write_partition else "readonly"


def partition_number(settings: DiskSettings, role: str) -> int:
    roles = [name for name, _ in fixed_partitions(settings)] + [last_role(settings)]
    return roles.index(role) + 1


def partuuid(settings: DiskSettings, ids: Identities, role: str) -> str:
    """The partition UUID as udev names it in /dev/disk/by-partuuid (lower case)."""
    if settings.table == "gpt":
        if role == "readonly":
            return str(uuid.uuid5(_READONLY_NAMESPACE, ids.partition_guids[3].lower()))
        return ids.partition_guids[_GUID_INDEX[role]].lower()
    return f"{ids.dos_id}-{partition_number(settings, role):02x}"


def device_reference(settings: DiskSettings, ids: Identities, role: str) -> str:
    """How fstab and the kernel command line name a partition (devicepersistency; a
    squashfs has neither UUID nor label: the read-only root goes by its PARTUUID, as in kiwi)."""
    if settings.persistency == "by-partuuid" or role == "readonly":
        return f"PARTUUID={partuuid(settings, ids, role)}"
    if settings.persistency == "by-label":
        label = _label(role, settings)
        assert label is not None
        return f"LABEL={label}"
    return f"UUID={_uuid(role, ids)}"


def plan_layout(
    settings: DiskSettings, ids: Identities, root_min: int, readonly_size: int = 0
) -> DiskLayout:
    """Place the partitions; the last partition takes what `<size>` leaves.

    `readonly_size`: the overlay root's squashfs partition (`root_min` is then the
    smallest write partition, or without one the squashfs again)."""
    roles = fixed_partitions(settings, readonly_size)
    fixed = HEAD + sum(size for _, size in roles) + TAIL
    minimum = fixed + root_min
    disk_size = minimum
    if settings.size is not None:
        requested = settings.size.megabytes * MIB
        if settings.size.additive:
            disk_size = minimum + requested
        elif requested < minimum:
            raise KiwiLikeError(
                f"<size> {settings.size.megabytes} MB is too small for this image: "
                f'it needs at least {minimum // MIB} MB (or use additive="true")'
            )
        else:
            disk_size = requested
    roles.append((last_role(settings), disk_size - fixed))
    partitions: list[PlannedPartition] = []
    start = HEAD
    for number, (role, size) in enumerate(roles, start=1):
        partitions.append(
            PlannedPartition(
                role=role,
                number=number,
                start=start,
                size=size,
                filesystem=_filesystem(role, settings),
                uuid=_uuid(role, ids),
                label=_label(role, settings),
                partuuid=partuuid(settings, ids, role),
            )
        )
        start += size
    return DiskLayout(
        table=settings.table,
        size=disk_size,
        disk_id=ids.disk_guid if settings.table == "gpt" else ids.dos_id,
        partitions=tuple(partitions),
    )


def _filesystem(role: str, settings: DiskSettings) -> str | None:
    return {"bios": None, "esp": "vfat", "swap": "swap", "readonly": "squashfs"}.get(
        role, settings.filesystem
    )


def _uuid(role: str, ids: Identities) -> str | None:
    return {"esp": ids.esp_uuid, "swap": ids.swap_uuid, "root": ids.root_uuid}.get(role)


def _label(role: str, settings: DiskSettings) -> str | None:
    return {"esp": ESP_LABEL, "swap": SWAP_LABEL, "root": settings.root_label}.get(role)
