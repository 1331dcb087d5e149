"""The iso type: a live ISO booted by kiwi-like's dracut module or Debian's live-boot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kiwi_like.description.imagetypes.base import (
    FIRMWARES,
    SECURE_BOOT_PACKAGES,
    ImageTypeKind,
    TypeSettings,
    flag,
    initrd_system,
)
from kiwi_like.description.imagetypes.medium import IsoSettings, iso_settings
from kiwi_like.errors import KiwiLikeError

if TYPE_CHECKING:
    from kiwi_like.description.resolve import ResolvedBuild


@dataclass(frozen=True)
class LiveSettings(TypeSettings):
    medium: IsoSettings
    persistent: bool  # hybridpersistent: a persistence partition made on first boot


def live_settings(build: ResolvedBuild) -> LiveSettings:
    attributes = build.build_type.attributes
    persistent = flag(attributes.get("hybridpersistent"))
    if persistent and attributes.get("hybridpersistent_filesystem", "ext4") != "ext4":
        raise KiwiLikeError("hybridpersistent_filesystem: only ext4 is supported")
    return LiveSettings(
        image="iso",
        # kiwi boots every live ISO with dracut; one listing live-boot or initramfs-tools
        # boots with Debian's live-boot
        initrd_system=initrd_system(build, "dracut", ("kiwi", "dracut"), "live ISOs"),
        medium=iso_settings(build),
        persistent=persistent,
    )


def image_packages(settings: TypeSettings) -> tuple[str, ...]:
    assert isinstance(settings, LiveSettings)
    if settings.initrd_system == "dracut":
        packages = ["dracut", "zstd", "grub-pc-bin"]  # zstd: dracut compresses with it
    else:
        packages = ["initramfs-tools", "live-boot", "grub-pc-bin"]
    if settings.medium.efi:
        packages.append("grub-efi-amd64-bin")
    if settings.medium.secure_boot:
        packages += SECURE_BOOT_PACKAGES
    if settings.persistent:
        packages += ["fdisk", "e2fsprogs"]  # to make the persistence partition at boot
    return tuple(packages)


KIND = ImageTypeKind(
    name="iso",
    builder="kiwi_like.create.iso.live:create",
    read_settings=live_settings,
    image_packages=image_packages,
    host_packages=("xorriso", "squashfs-tools", "dosfstools", "mtools"),
    firmwares=FIRMWARES,
    create_cost=3,  # an initrd, a compressed squashfs of the root, the ISO
)
