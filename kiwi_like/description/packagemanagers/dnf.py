"""Fedora's dnf (kiwi_like/installer/dnf.py); dnf4, dnf5, microdnf and yum are
served by whichever dnf the host has."""

from __future__ import annotations

from kiwi_like.description.packagemanagers.base import PackageManagerKind
from kiwi_like.description.packagemanagers.rpmdb import DATABASE_MARKERS

KIND = PackageManagerKind(
    name="dnf",
    aliases=("dnf4", "dnf5", "microdnf", "yum"),
    repository_types=("rpm-md",),
    default_repository_type="rpm-md",
    host_packages=("dnf", "rpm"),
    image_packages=(),
    package_naming="rpm",
    root_markers=DATABASE_MARKERS,
    cache_dirs=("dnf",),
    supports_collections=True,  # groups
    adapter="kiwi_like.installer.dnf:DnfPackageManager",
    package_names=(("dnf4", "dnf"),),
)
