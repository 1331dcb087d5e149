"""The docker and oci types: container images of the root."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kiwi_like.description.imagetypes.base import ImageTypeKind, TypeSettings
from kiwi_like.description.model import ContainerConfig

if TYPE_CHECKING:
    from kiwi_like.description.resolve import ResolvedBuild


@dataclass(frozen=True)
class ContainerSettings(TypeSettings):
    derived_from: str | None  # the base image the container is built on
    config: ContainerConfig | None  # <containerconfig>; None: kiwi's defaults


def container_settings(build: ResolvedBuild) -> ContainerSettings:
    build_type = build.build_type
    return ContainerSettings(
        image=build_type.image,
        initrd_system="none",
        derived_from=build_type.get("derived_from") or None,
        config=build_type.containerconfig,
    )


def image_packages(settings: TypeSettings) -> tuple[str, ...]:
    return ()


def _kind(name: str) -> ImageTypeKind:
    return ImageTypeKind(
        name=name,
        builder="kiwi_like.create.container.builder:create",
        read_settings=container_settings,
        image_packages=image_packages,
        host_packages=("skopeo", "umoci", "xz-utils", "zstd"),
        create_cost=4,  # the layer and the archive compress the whole root (xz by default)
    )


DOCKER = _kind("docker")
OCI = _kind("oci")
