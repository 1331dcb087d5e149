"""SUSE's zypper, run with a private configuration (kiwi_like/installer/zypper.py)."""

from __future__ import annotations

from kiwi_like.description.packagemanagers.base import PackageManagerKind
from kiwi_like.description.packagemanagers.rpmdb import DATABASE_MARKERS

KIND = PackageManagerKind(
    name="zypper",
    aliases=(),
    repository_types=("rpm-md", "yast2", "rpm-dir"),
    default_repository_type="rpm-md",
    host_packages=("zypper", "rpm"),
    image_packages=(),
    package_naming="rpm",
    root_markers=DATABASE_MARKERS,
    cache_dirs=("zypper",),
    supports_collections=True,  # patterns
    adapter="kiwi_like.installer.zypper:ZypperPackageManager",
)
