"""The tbz type: the root tree as an xz-compressed tarball (kiwi's root archive).

Named `<name>.<arch>-<version>.tar.xz` as kiwi names it; it seeds containers and
chroots, so it needs no kernel, boot loader or initrd.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kiwi_like.description.imagetypes.base import ImageTypeKind, TypeSettings

if TYPE_CHECKING:
    from kiwi_like.description.resolve import ResolvedBuild


@dataclass(frozen=True)
class ArchiveSettings(TypeSettings):
    """tbz has no settings of its own: the root goes in as it is."""


def archive_settings(build: ResolvedBuild) -> ArchiveSettings:
    return ArchiveSettings(image=build.build_type.image, initrd_system="none")


def image_packages(settings: TypeSettings) -> tuple[str, ...]:
    return ()


KIND = ImageTypeKind(
    name="tbz",
    builder="kiwi_like.create.archive:create",
    read_settings=archive_settings,
    image_packages=image_packages,
    host_packages=("xz-utils",),
    create_cost=4,  # xz of the whole root
)
