"""Image-type descriptors: one module per type, registered in `IMAGE_TYPES`.

Adding a type: a descriptor module here (settings, packages, builder reference),
its builder under `kiwi_like/create/`, and one line in `IMAGE_TYPES`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from kiwi_like.description.imagetypes import archive, container, filesystem, iso, kis, oem
from kiwi_like.description.imagetypes.base import ImageTypeKind, TypeSettings
from kiwi_like.description.packagemanagers import find_package_manager
from kiwi_like.errors import KiwiLikeError

if TYPE_CHECKING:
    from kiwi_like.description.resolve import ResolvedBuild

__all__ = [
    "IMAGE_TYPES",
    "LEGACY_NAMES",
    "RENAMED_TYPES",
    "ImageTypeKind",
    "TypeSettings",
    "image_type_kind",
    "is_buildable",
]

IMAGE_TYPES: dict[str, ImageTypeKind] = {
    kind.name: kind
    for kind in (
        oem.KIND,
        iso.KIND,
        kis.KIND,
        container.DOCKER,
        container.OCI,
        archive.KIND,
        *filesystem.KINDS,
    )
}
# Image type names that kiwi renamed; the old name still selects the type.
LEGACY_NAMES = {"vmx": "oem", "pxe": "kis"}
# The ones a description is rewritten from, with a warning: kiwi 11 has no vmx any more,
# but keeps pxe as a type name of its own (built as kis: Defaults.get_kis_image_types).
RENAMED_TYPES = {"vmx": "oem"}


def is_buildable(image: str) -> bool:
    """Whether kiwi-like has a builder for the image type `image` (a legacy name too)."""
    return LEGACY_NAMES.get(image, image) in IMAGE_TYPES


def image_type_kind(image: str) -> ImageTypeKind:
    """The descriptor of `image` (a legacy name selects its successor)."""
    kind = IMAGE_TYPES.get(LEGACY_NAMES.get(image, image))
    if kind is None:
        raise KiwiLikeError(
            f"image type '{image}' cannot be created yet (supported: {', '.join(IMAGE_TYPES)})"
        )
    return kind


def type_settings(build: ResolvedBuild) -> TypeSettings:
    return image_type_kind(build.build_type.image).read_settings(build)


def image_packages(build: ResolvedBuild) -> tuple[str, ...]:
    """Packages the selected type needs in the image, which kiwi-like adds during prepare.

    kiwi makes users list these; adding the missing ones means a description cannot
    fail at the very end of a build for want of a boot loader. The requirements are
    Debian package names: roots of other package managers get none.
    """
    manager = find_package_manager(build.preferences.packagemanager)
    if not is_buildable(build.build_type.image) or not manager:
        return ()
    if manager.package_naming != "debian":
        return ()
    return image_type_kind(build.build_type.image).image_packages(build.settings)


_Settings = TypeVar("_Settings", bound=TypeSettings)


def settings_of(build: ResolvedBuild, kind: type[_Settings]) -> _Settings:
    """The build's settings as the builder of its type expects them."""
    settings = build.settings
    if not isinstance(settings, kind):
        raise KiwiLikeError(
            f"image type '{build.build_type.image}' has no {kind.__name__} "
            "(a builder was called for the wrong type)"
        )
    return settings
