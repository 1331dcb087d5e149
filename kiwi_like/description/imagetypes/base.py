"""What every image-type descriptor has, and the readers its settings share.

A descriptor is facts about one image type: how its `<type>` attributes read
(with kiwi's defaults), what it needs installed, and which builder makes it.
Builders are later-stage code, so a descriptor names its builder as a
"module:function" reference that the create stage loads.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kiwi_like.errors import KiwiLikeError

if TYPE_CHECKING:
    from kiwi_like.description.resolve import ResolvedBuild

FIRMWARES = ("bios", "efi", "uefi")
# firmware="uefi" (kiwi: Secure Boot): Debian's signed shim (with MokManager) and GRUB;
# the kernel of linux-image-amd64 is signed already
SECURE_BOOT_PACKAGES = ("shim-signed", "shim-helpers-amd64-signed", "grub-efi-amd64-signed")


@dataclass(frozen=True)
class TypeSettings:
    """What every type's settings have: the type and its initrd system."""

    image: str
    # kiwi | dracut | none, as kiwi's `$kiwi_initrd_system` says it; kiwi-like's stand-in
    # for kiwi's own initrd ("kiwi") is the image's initramfs-tools
    initrd_system: str


@dataclass(frozen=True)
class ImageTypeKind:
    name: str
    builder: str  # "module:function" of the create stage
    read_settings: Callable[[ResolvedBuild], TypeSettings]
    # Debian packages the image root needs for this type, from its settings
    image_packages: Callable[[TypeSettings], tuple[str, ...]]
    host_packages: tuple[str, ...]  # Debian packages the build host needs
    firmwares: tuple[str, ...] = ()  # empty: the type does not boot by itself
    resizes: bool = False  # the root grows to its disk on first boot unless oem-resize=false
    # how long its create stage takes, relative to the others (1: a file system image);
    # build-all starts the longest first so the short ones run beside it
    create_cost: int = 1


def flag(value: str | None, default: bool = False) -> bool:
    """A kiwi boolean attribute or element text: "true" (any case) or not."""
    return default if value is None or value.strip() == "" else value.strip().lower() == "true"


def positive_number(what: str, value: str | None, default: int, unit: str = "MB") -> int:
    if value is None or value.strip() == "":
        return default
    if not value.strip().isdigit() or int(value) <= 0:
        raise KiwiLikeError(f"{what} must be a positive number of {unit}, not '{value}'")
    return int(value)


def choice(what: str, value: str, allowed: tuple[str, ...], kind: str) -> str:
    if value not in allowed:
        raise KiwiLikeError(
            f"{what} '{value}' is not supported for {kind} (supported: {', '.join(allowed)})"
        )
    return value


def only_x86_64(build: ResolvedBuild, kind: str) -> None:
    if build.arch != "x86_64":
        raise KiwiLikeError(f"{kind} are only supported for x86_64, not {build.arch}")


# The packages that decide the initrd system when the type does not name it. dracut
# conflicts with initramfs-tools (and so with live-boot, which needs it).
DRACUT_PACKAGES = ("dracut",)
INITRAMFS_TOOLS_PACKAGES = ("initramfs-tools", "live-boot", "live-boot-initramfs-tools")


def listed_initrd_system(packages: Collection[str]) -> str | None:
    """The initrd system the package list asks for: dracut, kiwi (initramfs-tools) or None."""
    dracut = [name for name in DRACUT_PACKAGES if name in packages]
    initramfs = [name for name in INITRAMFS_TOOLS_PACKAGES if name in packages]
    if dracut and initramfs:
        raise KiwiLikeError(
            f"the packages list both {dracut[0]} and {initramfs[0]}, which conflict: "
            'set initrd_system="dracut" or "kiwi" in the type, or list only one'
        )
    return "dracut" if dracut else "kiwi" if initramfs else None


def initrd_system(build: ResolvedBuild, default: str, allowed: tuple[str, ...], kind: str) -> str:
    """`initrd_system` as written, else what the packages list, else the type's default."""
    written = build.build_type.get("initrd_system")
    listed = listed_initrd_system(
        (*build.install_packages.bootstrap, *build.install_packages.image)
    )
    return choice("initrd_system", written or listed or default, allowed, kind)


def efi_firmware(firmware: str) -> str:
    """kiwi's uefi (Secure Boot) is an efi firmware; the settings' secure_boot tells them apart."""
    return "efi" if firmware in ("efi", "uefi") else "bios"
