"""What the description says about an ISO medium, read and checked once."""

from __future__ import annotations

from dataclasses import dataclass

from kiwi_like.create.disk.settings import FIRMWARES, BootMenu, boot_menu
from kiwi_like.description import ResolvedBuild
from kiwi_like.errors import KiwiLikeError

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

    @property
    def efi(self) -> bool:
        return self.firmware == "efi"


def squashfs_compression(build: ResolvedBuild) -> str:
    """`squashfscompression` of the type (live ISO and kis root images), checked."""
    compression = build.build_type.get("squashfscompression") or DEFAULT_SQUASHFS_COMPRESSION
    if compression not in SQUASHFS_COMPRESSIONS:
        raise KiwiLikeError(
            f"squashfscompression '{compression}' is not supported "
            f"(supported: {', '.join(SQUASHFS_COMPRESSIONS)})"
        )
    return compression


def iso_settings(build: ResolvedBuild) -> IsoSettings:
    """The medium's settings; the live and the install ISO read the same attributes."""
    build_type = build.build_type
    if build.arch != "x86_64":
        raise KiwiLikeError(f"ISO images are only supported for x86_64, not {build.arch}")
    firmware = build_type.firmware or "bios"
    if firmware not in FIRMWARES:
        raise KiwiLikeError(
            f"firmware '{firmware}' is not supported for ISO images "
            f"(supported: {', '.join(FIRMWARES)})"
        )
    volid = build_type.get("volid") or DEFAULT_VOLID  # the schema checks its length
    return IsoSettings(
        firmware="efi" if firmware in ("efi", "uefi") else "bios",
        volid=volid,
        publisher=build_type.get("publisher"),
        application_id=build_type.get("application_id"),
        squashfs_compression=squashfs_compression(build),
        menu=boot_menu(build),
    )
