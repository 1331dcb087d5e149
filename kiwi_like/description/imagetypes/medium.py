"""The ISO medium's settings: the live ISO and the oem install ISO read the same attributes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kiwi_like.description.imagetypes.base import FIRMWARES, choice, efi_firmware, only_x86_64
from kiwi_like.description.imagetypes.bootmenu import BootMenu, boot_menu

if TYPE_CHECKING:
    from kiwi_like.description.resolve import ResolvedBuild

DEFAULT_VOLID = "CDROM"  # kiwi's default volume id
SQUASHFS_COMPRESSIONS = ("uncompressed", "gzip", "lzo", "lz4", "xz", "zstd")
# kiwi uses xz; zstd makes the squashfs many times faster at a slightly larger size
DEFAULT_SQUASHFS_COMPRESSION = "zstd"


@dataclass(frozen=True)
class IsoSettings:
    firmware: str  # bios | efi (efi media boot on BIOS too)
    volid: str
    publisher: str | None
    application_id: str | None
    squashfs_compression: str
    menu: BootMenu
    # firmware="uefi": the distribution's signed shim -> GRUB -> kernel chain boots EFI
    secure_boot: bool = False

    @property
    def efi(self) -> bool:
        return self.firmware == "efi"


def squashfs_compression(build: ResolvedBuild) -> str:
    """`squashfscompression` of the type (live ISO and kis root images), checked."""
    compression = build.build_type.get("squashfscompression") or DEFAULT_SQUASHFS_COMPRESSION
    return choice("squashfscompression", compression, SQUASHFS_COMPRESSIONS, "squashfs images")


def iso_settings(build: ResolvedBuild) -> IsoSettings:
    only_x86_64(build, "ISO images")
    build_type = build.build_type
    firmware = choice("firmware", build_type.firmware or "bios", FIRMWARES, "ISO images")
    return IsoSettings(
        firmware=efi_firmware(firmware),
        volid=build_type.get("volid") or DEFAULT_VOLID,  # the schema checks its length
        publisher=build_type.get("publisher"),
        application_id=build_type.get("application_id"),
        squashfs_compression=squashfs_compression(build),
        menu=boot_menu(build, "ISO images"),
        secure_boot=firmware == "uefi",
    )
