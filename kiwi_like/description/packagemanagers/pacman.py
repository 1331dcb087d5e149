"""Arch Linux's pacman, run from the host with a private configuration
(kiwi_like/installer/pacman.py)."""

from __future__ import annotations

from kiwi_like.description.packagemanagers.base import PackageManagerKind

KIND = PackageManagerKind(
    name="pacman",
    aliases=(),
    # kiwi's schema has no pacman repository type and kiwi ignores the type for pacman:
    # a repository without one (as kiwi's Arch descriptions write them) gets kiwi's
    # own default, rpm-md, which here just means "a pacman repository".
    repository_types=("rpm-md",),
    default_repository_type="rpm-md",
    host_packages=("pacman-package-manager", "gpg"),
    image_packages=(),
    package_naming="arch",
    root_markers=("var/lib/pacman/local/ALPM_DB_VERSION",),
    cache_dirs=("pacman",),
    supports_collections=True,  # pacman groups are targets like packages (as kiwi)
    adapter="kiwi_like.installer.pacman:PacmanPackageManager",
)
