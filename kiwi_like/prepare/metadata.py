"""Package metadata of a prepared root: kiwi's .packages and .verified files."""

from __future__ import annotations

from pathlib import Path

from kiwi_like.installer import PackageManager
from kiwi_like.log import log


def write_package_metadata(manager: PackageManager, target_dir: Path, basename: str) -> list[Path]:
    target_dir.mkdir(parents=True, exist_ok=True)
    packages = target_dir / f"{basename}.packages"
    verified = target_dir / f"{basename}.verified"
    installed = manager.installed()
    packages.write_text("".join(p.kiwi_line() + "\n" for p in installed))
    verified.write_text(manager.verify())
    log.info("Wrote %s (%d packages) and %s", packages.name, len(installed), verified.name)
    return [packages, verified]
