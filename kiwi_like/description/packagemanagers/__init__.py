"""The package managers kiwi-like can build with: one descriptor module each.

Adding one: a descriptor module here (`KIND = PackageManagerKind(...)`), its line
in PACKAGE_MANAGERS, and the adapter module its `adapter` names.
"""

from __future__ import annotations

from pathlib import Path

from kiwi_like.description.packagemanagers import apt, dnf, pacman, zypper
from kiwi_like.description.packagemanagers.base import PackageManagerKind
from kiwi_like.errors import KiwiLikeError

__all__ = [
    "PACKAGE_MANAGERS",
    "PackageManagerKind",
    "all_cache_dirs",
    "all_host_packages",
    "default_repository_type",
    "find_package_manager",
    "holds_package_database",
    "manager_package",
    "package_manager_kind",
]

PACKAGE_MANAGERS: tuple[PackageManagerKind, ...] = (
    apt.KIND,
    zypper.KIND,
    dnf.KIND,
    pacman.KIND,
)

# kiwi's own default, for the managers the schema accepts but kiwi-like has no adapter
# for (apk): their descriptions still resolve, e.g. for `image info`.
FALLBACK_REPOSITORY_TYPE = "rpm-md"

# The same for the package of a manager without a descriptor (kiwi's names)
FALLBACK_PACKAGE_NAMES = {"apk": "apk-tools"}

_BY_NAME = {name: kind for kind in PACKAGE_MANAGERS for name in kind.names}


def find_package_manager(name: str) -> PackageManagerKind | None:
    return _BY_NAME.get(name)


def package_manager_kind(name: str) -> PackageManagerKind:
    """The descriptor for a <packagemanager> value (a name or an alias)."""
    kind = find_package_manager(name)
    if kind is None:
        supported = ", ".join(_BY_NAME)
        raise KiwiLikeError(
            f"packagemanager '{name}' is not supported yet (supported: {supported})"
        )
    return kind


def default_repository_type(name: str) -> str:
    kind = find_package_manager(name)
    return kind.default_repository_type if kind else FALLBACK_REPOSITORY_TYPE


def manager_package(name: str) -> str:
    """The package that brings the package manager `name` (a <packagemanager> value)
    into the image: kiwi adds it to the bootstrap packages of an image that has image
    packages (XMLState.get_bootstrap_packages), so the image can manage its packages."""
    kind = find_package_manager(name)
    return kind.package_name(name) if kind else FALLBACK_PACKAGE_NAMES.get(name, name)


def all_host_packages() -> tuple[str, ...]:
    """The Debian packages the build host needs for every package manager."""
    return tuple(dict.fromkeys(p for kind in PACKAGE_MANAGERS for p in kind.host_packages))


def all_cache_dirs() -> tuple[str, ...]:
    """Every package manager's directories under the shared cache directory."""
    return tuple(dict.fromkeys(d for kind in PACKAGE_MANAGERS for d in kind.cache_dirs))


def holds_package_database(root: Path) -> bool:
    """Whether `root` is a system some package manager made (it has their database)."""
    return any(
        (root / marker).is_file() for kind in PACKAGE_MANAGERS for marker in kind.root_markers
    )
