"""The kis type (legacy name pxe): kernel, initrd and root image for network boot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kiwi_like.description.imagetypes.base import (
    ImageTypeKind,
    TypeSettings,
    choice,
    initrd_system,
    only_x86_64,
)
from kiwi_like.description.imagetypes.bootmenu import kernel_options
from kiwi_like.description.imagetypes.medium import squashfs_compression
from kiwi_like.errors import KiwiLikeError

if TYPE_CHECKING:
    from kiwi_like.description.resolve import ResolvedBuild

KIND_NAME = "kis images"
ROOT_FILESYSTEMS = ("squashfs", "ext2", "ext3", "ext4", "xfs", "btrfs")


@dataclass(frozen=True)
class KisSettings(TypeSettings):
    filesystem: str
    squashfs_compression: str
    kernel_options: tuple[str, ...]


def kis_settings(build: ResolvedBuild) -> KisSettings:
    only_x86_64(build, KIND_NAME)
    build_type = build.build_type
    # kiwi's default is dracut; kiwi-like's network boot is initramfs-tools' alone so far
    system = initrd_system(build, "kiwi", ("kiwi", "dracut"), KIND_NAME)
    if system == "dracut":
        raise KiwiLikeError(
            "dracut is not supported for kis images yet (they boot with initramfs-tools): "
            'list initramfs-tools, not dracut, or set initrd_system="kiwi"'
        )
    return KisSettings(
        image="kis",
        initrd_system=system,
        filesystem=choice(
            "filesystem", build_type.filesystem or "squashfs", ROOT_FILESYSTEMS, KIND_NAME
        ),
        squashfs_compression=squashfs_compression(build),
        kernel_options=kernel_options(build),
    )


def image_packages(settings: TypeSettings) -> tuple[str, ...]:
    return ("initramfs-tools", "busybox")  # the network boot initrd


KIND = ImageTypeKind(
    name="kis",
    builder="kiwi_like.create.pxe.builder:create",
    read_settings=kis_settings,
    image_packages=image_packages,
    host_packages=("squashfs-tools", "e2fsprogs", "xfsprogs", "btrfs-progs", "xz-utils"),
)
