"""The kernel a disk boots: the newest /boot/vmlinuz-* of the image."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kiwi_like.errors import KiwiLikeError
from kiwi_like.rootfs import resolve_in_root


@dataclass(frozen=True)
class Kernel:
    version: str

    @property
    def image(self) -> str:
        return f"/boot/vmlinuz-{self.version}"

    @property
    def initrd(self) -> str:
        return f"/boot/initrd.img-{self.version}"


def _version_key(version: str) -> tuple[tuple[int, str], ...]:
    return tuple(
        (int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"(\d+)", version)
    )


def newest_kernel(root: Path) -> Kernel:
    boot = resolve_in_root(root, "/boot")
    versions = [
        path.name.removeprefix("vmlinuz-")
        for path in (boot.glob("vmlinuz-*") if boot.is_dir() else ())
        if path.is_file()
    ]
    if not versions:
        raise KiwiLikeError(
            "the image has no kernel (/boot/vmlinuz-*): add a kernel package "
            "such as linux-image-amd64"
        )
    version = max(versions, key=_version_key)
    if not resolve_in_root(root, f"/lib/modules/{version}").is_dir():
        raise KiwiLikeError(f"kernel {version} has no modules in /lib/modules/{version}")
    return Kernel(version)
