"""/etc/fstab of a disk image: root, the EFI system partition and swap."""

from __future__ import annotations

from pathlib import Path

from kiwi_like.create.boot.fstab import kept_entry
from kiwi_like.create.disk.identity import Identities
from kiwi_like.create.disk.layout import device_reference
from kiwi_like.description.imagetypes.oem import DiskSettings
from kiwi_like.rootfs import resolve_in_root

HEADER = "# /etc/fstab: written by kiwi-like for this disk image\n"


def fstab_lines(settings: DiskSettings, ids: Identities, mount_options: str) -> list[str]:
    passno = "1" if settings.filesystem.startswith("ext") else "0"
    lines: list[str] = []
    if settings.overlay is None:  # an overlay root is mounted by the initrd alone
        lines.append(
            f"{device_reference(settings, ids, 'root')} / {settings.filesystem} "
            f"{mount_options} 0 {passno}"
        )
    if settings.efi:
        lines.append(f"{device_reference(settings, ids, 'esp')} /boot/efi vfat umask=0077 0 2")
    if settings.swap_mb:
        lines.append(f"{device_reference(settings, ids, 'swap')} none swap sw 0 0")
    return lines


def write_fstab(root: Path, settings: DiskSettings, ids: Identities, mount_options: str) -> None:
    path = resolve_in_root(root, "/etc/fstab")
    existing = path.read_text().splitlines() if path.is_file() else []
    kept = [line for line in existing if kept_entry(line)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "\n".join([*fstab_lines(settings, ids, mount_options), *kept]) + "\n")
    path.chmod(0o644)
