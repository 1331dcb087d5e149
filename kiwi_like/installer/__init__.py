"""Package-manager adapters behind one interface; `package_manager_for` picks one."""

from __future__ import annotations

from pathlib import Path

from kiwi_like.description import ResolvedBuild
from kiwi_like.errors import KiwiLikeError
from kiwi_like.installer.base import InstalledPackage, PackageManager
from kiwi_like.progress import Progress
from kiwi_like.runtime_config import RuntimeConfig

__all__ = ["InstalledPackage", "PackageManager", "package_manager_for"]

APT_NAMES = ("apt", "apt-get")
ZYPPER_NAMES = ("zypper",)
SUPPORTED = "apt, zypper, dnf, dnf4, dnf5, microdnf"


def package_manager_for(
    build: ResolvedBuild,
    root: Path,
    cache_dir: Path,
    scratch: Path,
    config: RuntimeConfig,
    progress: Progress | None = None,
) -> PackageManager:
    name = build.preferences.packagemanager
    if name in APT_NAMES:
        from kiwi_like.installer.apt import AptPackageManager

        return AptPackageManager(
            build, root, cache_dir, progress or Progress(), scratch, config.apt_bootstrap_variant
        )
    if name in ZYPPER_NAMES:
        from kiwi_like.installer.zypper import ZypperPackageManager

        return ZypperPackageManager(build, root, cache_dir, progress or Progress(), scratch)
    from kiwi_like.installer.dnf import DNF_NAMES, DnfPackageManager

    if name in DNF_NAMES:
        return DnfPackageManager(build, root, cache_dir, progress or Progress(), scratch)
    raise KiwiLikeError(f"packagemanager '{name}' is not supported yet (supported: {SUPPORTED})")
