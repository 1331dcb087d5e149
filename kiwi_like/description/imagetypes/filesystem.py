"""File system images: `image="ext2|ext3|ext4|xfs|btrfs|squashfs"`, the root tree as one
file system in a file of its own (kiwi's FileSystemBuilder), no partition table.

Named `<name>.<arch>-<version>.<filesystem>` as kiwi names them. kiwi's attributes for
them: `fscreateoptions` (passed to mkfs), `squashfscompression`, and `<size>` (the
file system's size, or with `additive="true"` what is added to the size the tree needs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kiwi_like.description.imagetypes.base import ImageTypeKind, TypeSettings
from kiwi_like.description.imagetypes.medium import squashfs_compression
from kiwi_like.description.model import Size

if TYPE_CHECKING:
    from kiwi_like.description.resolve import ResolvedBuild

FILESYSTEM_IMAGES = ("ext2", "ext3", "ext4", "xfs", "btrfs", "squashfs")
HOST_PACKAGES = {
    "ext2": ("e2fsprogs",),
    "ext3": ("e2fsprogs",),
    "ext4": ("e2fsprogs",),
    "xfs": ("xfsprogs", "util-linux"),  # filled through a loop mount (create/boot/filesystems)
    "btrfs": ("btrfs-progs",),
    "squashfs": ("squashfs-tools",),
}


@dataclass(frozen=True)
class FilesystemSettings(TypeSettings):
    filesystem: str
    create_options: str  # fscreateoptions, as written
    squashfs_compression: str
    size: Size | None  # <size>: None, the size the tree needs


def filesystem_settings(build: ResolvedBuild) -> FilesystemSettings:
    build_type = build.build_type
    return FilesystemSettings(
        image=build_type.image,
        initrd_system="none",
        filesystem=build_type.image,
        create_options=build_type.get("fscreateoptions") or "",
        squashfs_compression=squashfs_compression(build),
        size=build_type.size,
    )


def image_packages(settings: TypeSettings) -> tuple[str, ...]:
    return ()


def _kind(name: str) -> ImageTypeKind:
    return ImageTypeKind(
        name=name,
        builder="kiwi_like.create.filesystem:create",
        read_settings=filesystem_settings,
        image_packages=image_packages,
        host_packages=HOST_PACKAGES[name],
    )


KINDS = tuple(_kind(name) for name in FILESYSTEM_IMAGES)
