"""Debian's apt: mmdebstrap bootstraps, apt-get installs (kiwi_like/installer/apt.py)."""

from __future__ import annotations

from kiwi_like.description.packagemanagers.base import PackageManagerKind

KIND = PackageManagerKind(
    name="apt",
    aliases=("apt-get",),
    repository_types=("apt-deb",),
    default_repository_type="apt-deb",
    host_packages=("mmdebstrap", "gpg"),
    image_packages=(),
    package_naming="debian",
    root_markers=("var/lib/dpkg/status",),
    cache_dirs=("apt",),
    supports_collections=False,
    adapter="kiwi_like.installer.apt:AptPackageManager",
    builds_from_host_sources=True,
)
