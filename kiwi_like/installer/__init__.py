"""Package-manager adapters behind one interface; `package_manager_for` picks one.

Which adapter runs a <packagemanager> is the descriptor's fact
(kiwi_like/description/packagemanagers): no name is tested here.
"""

from __future__ import annotations

from pathlib import Path

from kiwi_like import lazy
from kiwi_like.description import ResolvedBuild
from kiwi_like.description.packagemanagers import package_manager_kind
from kiwi_like.installer.base import InstalledPackage, PackageManager
from kiwi_like.progress import Progress
from kiwi_like.runtime_config import RuntimeConfig

__all__ = ["InstalledPackage", "PackageManager", "adapter_class", "package_manager_for"]


def adapter_class(reference: str) -> type[PackageManager]:
    """The adapter class a descriptor's `adapter` reference names."""
    adapter = lazy.load(reference)
    if not (isinstance(adapter, type) and issubclass(adapter, PackageManager)):
        raise TypeError(f"{reference} is not a PackageManager adapter")
    return adapter


def package_manager_for(
    build: ResolvedBuild,
    root: Path,
    scratch: Path,
    config: RuntimeConfig,
    progress: Progress | None = None,
) -> PackageManager:
    """The adapter for the build's package manager; its cache is config.shared_cache_dir."""
    kind = package_manager_kind(build.preferences.packagemanager)
    return adapter_class(kind.adapter)(build, root, scratch, config, progress or Progress())
