"""ext* root file systems written straight into a disk image at the partition's offset."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest

from kiwi_like.create.boot import filesystems
from kiwi_like.create.disk.layout import MIB, PlannedPartition


@pytest.mark.parametrize(
    ("filesystem", "options", "expected"),
    [("ext4", "", True), ("ext2", "-O ^has_journal", True), ("ext4", "-E stride=4", False),
     ("xfs", "", False), ("btrfs", "", False)],
)  # fmt: skip
def test_which_file_systems_are_made_in_place(filesystem, options, expected):
    assert filesystems.can_make_in_place(filesystem, options) is expected


def test_ext4_in_place_leaves_the_rest_of_the_image_alone(tmp_path):
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc/hostname").write_text("inplace\n")
    (tree / "usr/bin").mkdir(parents=True)
    (tree / "usr/bin/tool").write_bytes(os.urandom(300_000))
    os.symlink("usr/bin", tree / "bin")
    image = tmp_path / "disk.raw"
    filesystems.sized_file(image, 64 * MIB)
    marker = b"partition table and friends"
    with image.open("r+b") as disk:  # what lies before and after the partition stays
        disk.write(marker)
        disk.seek(63 * MIB)
        disk.write(marker)
    fs_uuid = str(uuid.uuid4())
    partition = PlannedPartition("root", 1, 2 * MIB, 60 * MIB, "ext4", fs_uuid, "ROOT", "x")
    filesystems.make_root_filesystem_in_place(partition, tree, image)

    assert image.stat().st_size == 64 * MIB
    data = image.read_bytes()
    assert data.startswith(marker) and data[63 * MIB :].startswith(marker)
    device = f"{image}?offset={partition.start}"
    check = subprocess.run(["e2fsck", "-fn", device], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    blocks = subprocess.run(["dumpe2fs", "-h", device], capture_output=True, text=True).stdout
    assert f"Filesystem UUID:          {fs_uuid}" in blocks
    header = dict(line.split(":", 1) for line in blocks.splitlines() if ":" in line)
    size = int(header["Block count"]) * int(header["Block size"])
    assert size == partition.size  # the whole partition, not the rest of the file
    cat = subprocess.run(["debugfs", "-R", "cat /etc/hostname", device], capture_output=True)
    assert cat.stdout == b"inplace\n"
    link = subprocess.run(["debugfs", "-R", "stat /bin", device], capture_output=True, text=True)
    assert 'Fast link dest: "usr/bin"' in link.stdout
