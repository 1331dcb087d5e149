"""/etc/fstab entries a builder keeps from the image, and fstab for roots not on a disk."""

from __future__ import annotations

from pathlib import Path

from kiwi_like.rootfs import resolve_in_root

OURS = ("/", "/boot/efi")


def kept_entry(line: str) -> bool:
    """Entries of the image's own fstab that the disk does not replace."""
    fields = line.split()
    if not fields or fields[0].startswith("#"):
        return False
    return not (len(fields) >= 3 and (fields[1] in OURS or fields[2] == "swap"))


def write_diskless_fstab(root: Path, system: str) -> None:
    """fstab for a root that is not on a disk partition (live or network boot):
    the image's own entries without root, EFI and swap lines of an earlier disk."""
    path = resolve_in_root(root, "/etc/fstab")
    existing = path.read_text().splitlines() if path.is_file() else []
    kept = [line for line in existing if kept_entry(line)]
    path.parent.mkdir(parents=True, exist_ok=True)
    header = f"# /etc/fstab: written by kiwi-like for this {system}\n"
    path.write_text(header + "".join(f"{line}\n" for line in kept))
    path.chmod(0o644)
