"""Root file systems made from a directory (create/boot/filesystems.py), checked with the
file system's own checker."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kiwi_like.create.boot import filesystems
from kiwi_like.create.boot.filesystems import ImageFile

UUID = "0f3c2b9e-5d7a-4c1e-9b2f-6a8d4e1c3b70"


@pytest.mark.skipif(shutil.which("mkfs.btrfs") is None, reason="needs btrfs-progs")
def test_btrfs_from_a_tree_with_hard_links_checks_clean(tmp_path: Path) -> None:
    # what a root restored from the root cache looks like: /usr files linked from the cache
    cache, tree = tmp_path / "cache", tmp_path / "tree"
    (cache / "usr/share").mkdir(parents=True)
    (tree / "usr/share").mkdir(parents=True)
    (tree / "etc").mkdir()
    (cache / "usr/share/data").write_text("from the cache\n")
    os.link(cache / "usr/share/data", tree / "usr/share/data")
    (cache / "usr/share/zone").symlink_to("data")  # cp -al links symlinks too
    os.link(cache / "usr/share/zone", tree / "usr/share/zone", follow_symlinks=False)
    (cache / "usr/share/posix").symlink_to(".")  # a symlink to a directory
    os.link(cache / "usr/share/posix", tree / "usr/share/posix", follow_symlinks=False)
    (tree / "etc/a").write_text("linked inside the tree\n")
    os.link(tree / "etc/a", tree / "etc/b")
    (cache / "usr/share/both").write_text("linked inside and outside\n")
    os.link(cache / "usr/share/both", tree / "usr/share/both")
    os.link(cache / "usr/share/both", tree / "etc/both")
    image = tmp_path / "root.btrfs"
    work = tmp_path / "work"
    work.mkdir()
    filesystems.make_root_filesystem(ImageFile("btrfs", 128 << 20, UUID, "ROOT"), tree, image, work)
    check = subprocess.run(["btrfs", "check", image], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]
    # the cache's files were left as they were, and the tree's content is the same
    assert (cache / "usr/share/data").stat().st_nlink == 1
    assert (cache / "usr/share/data").read_text() == "from the cache\n"
    assert (tree / "usr/share/data").read_text() == "from the cache\n"
    assert (cache / "usr/share/zone").lstat().st_nlink == 1
    # links inside the tree stay links
    assert (tree / "etc/a").stat().st_ino == (tree / "etc/b").stat().st_ino
    assert (tree / "etc/both").stat().st_ino == (tree / "usr/share/both").stat().st_ino
    assert (cache / "usr/share/both").stat().st_nlink == 1
    assert os.readlink(tree / "usr/share/zone") == "data"
