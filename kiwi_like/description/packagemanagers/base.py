"""What every package-manager descriptor says about its manager.

A descriptor is facts about one package manager: the names a description may
give it, the repositories it reads, what the build host and the image need,
how a root it made looks, where its packages are cached, and which adapter
runs it. Adapters are later-stage code (kiwi_like/installer), so a descriptor
names its adapter as a "module:Class" reference that the installer loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kiwi_like.errors import KiwiLikeError


@dataclass(frozen=True)
class PackageManagerKind:
    name: str  # the canonical name, as messages show it
    aliases: tuple[str, ...]  # other <packagemanager> values that select it
    repository_types: tuple[str, ...]  # the <repository type> values it reads
    default_repository_type: str  # for a repository without a type
    host_packages: tuple[str, ...]  # Debian packages the build host needs to run it
    # Packages the image root needs so this manager can build it (empty: the adapter
    # runs the manager from the host while the root lacks it)
    image_packages: tuple[str, ...]
    # Which names the image-type requirements are written in for its images
    package_naming: Literal["debian", "rpm", "arch"]
    root_markers: tuple[str, ...]  # root-relative files that show a root it made
    # Directories under the shared cache directory; the adapter keeps its packages
    # in the first, `--clear-cache` removes them all
    cache_dirs: tuple[str, ...]
    supports_collections: bool  # whether <namedCollection> (patterns, groups) works
    adapter: str  # "module:Class" of its kiwi_like.installer adapter
    # Without any repository the build uses the host's apt sources (host://)
    builds_from_host_sources: bool = False
    # <packagemanager> values whose package has another name (dnf4 is in package dnf)
    package_names: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.default_repository_type not in self.repository_types:
            raise ValueError(f"{self.name}: default repository type is not one it reads")
        if not self.cache_dirs:
            raise ValueError(f"{self.name}: a package manager needs a cache directory")

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    @property
    def package_cache(self) -> str:
        """The directory under the shared cache directory the adapter keeps packages in."""
        return self.cache_dirs[0]

    def package_name(self, value: str) -> str:
        """The package that brings the manager a description names `value`."""
        return dict(self.package_names).get(value, value)

    def check_repository_type(self, alias: str, repository_type: str) -> None:
        if repository_type not in self.repository_types:
            raise KiwiLikeError(
                f"repository {alias}: type '{repository_type}' cannot be used with the "
                f"{self.name} package manager (use {' or '.join(self.repository_types)})"
            )
