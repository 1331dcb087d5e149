"""The EFI system partition: a FAT image made and filled with mtools, never mounted."""

from __future__ import annotations

from pathlib import Path

from kiwi_like import reproducible
from kiwi_like import run as runner
from kiwi_like.create.boot.filesystems import MIB
from kiwi_like.create.boot.tools import MTOOLS_ENV
from kiwi_like.create.disk.layout import PlannedPartition
from kiwi_like.log import log

FAT32_MINIMUM = 64 * MIB  # below this, FAT16 (FAT32 needs enough clusters)


def make_esp(partition: PlannedPartition, tree: Path, output: Path) -> None:
    """A FAT file system of the partition's size holding the files under `tree`."""
    assert partition.uuid is not None and partition.label is not None
    log.info("Creating the EFI system partition (%d MiB)", partition.size >> 20)
    output.unlink(missing_ok=True)  # mkfs.vfat -C makes the file itself
    fat = ["-F", "32"] if partition.size >= FAT32_MINIMUM else []
    volid = partition.uuid.replace("-", "")
    setting = reproducible.current()
    # --invariant: the label's directory entry gets a fixed time, not the current one
    invariant = ["--invariant"] if setting is not None else []
    if setting is not None and tree.is_dir():
        reproducible.clamp_mtimes(tree, setting.epoch)  # mcopy -m keeps them
    runner.run(
        ["mkfs.vfat", "-C", *invariant, *fat, "-i", volid, "-n", partition.label, output,
         str(partition.size // 1024)]
    )  # fmt: skip
    entries = sorted(tree.iterdir()) if tree.is_dir() else []
    if entries:
        runner.run(["mcopy", "-s", "-Q", "-m", "-i", output, *entries, "::/"], env=MTOOLS_ENV)
