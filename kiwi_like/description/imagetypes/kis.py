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
# kiwi's kernel parameters that only its oem installer reads (also rd.kiwi.install.*)
INSTALLER_PARAMETERS = ("rd.kiwi.ramdisk",)


@dataclass(frozen=True)
class KisSettings(TypeSettings):
    filesystem: str
    squashfs_compression: str
    kernel_options: tuple[str, ...]


def kis_settings(build: ResolvedBuild) -> KisSettings:
    only_x86_64(build, KIND_NAME)
    build_type = build.build_type
    # kiwi's default is dracut; a description listing initramfs-tools keeps it
    system = initrd_system(build, "dracut", ("kiwi", "dracut"), KIND_NAME)
    options = kernel_options(build)
    for word in options:
        if word.split("=", 1)[0] in INSTALLER_PARAMETERS or word.startswith("rd.kiwi.install."):
            raise KiwiLikeError(
                f"kernelcmdline '{word}' is a parameter of kiwi's oem installer, not of kis "
                "images (their root always runs from RAM): use an oem type with installpxe"
            )
    return KisSettings(
        image="kis",
        initrd_system=system,
        filesystem=choice(
            "filesystem", build_type.filesystem or "squashfs", ROOT_FILESYSTEMS, KIND_NAME
        ),
        squashfs_compression=squashfs_compression(build),
        kernel_options=options,
    )


def image_packages(settings: TypeSettings) -> tuple[str, ...]:
    # the network boot initrd: its generator, and busybox's DHCP client, wget and tftp
    if settings.initrd_system == "dracut":
        return ("dracut", "busybox", "zstd")  # zstd: dracut compresses with it, fast
    return ("initramfs-tools", "busybox")


KIND = ImageTypeKind(
    name="kis",
    builder="kiwi_like.create.pxe.builder:create",
    read_settings=kis_settings,
    image_packages=image_packages,
    host_packages=("squashfs-tools", "e2fsprogs", "xfsprogs", "btrfs-progs", "xz-utils"),
    create_cost=3,  # an initrd, a squashfs of the root, an xz tarball
)
