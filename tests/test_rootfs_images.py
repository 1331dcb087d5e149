"""The JeOS description's rootfs profile: the root as a tbz tarball and as file system
images (ext2, ext3, ext4, xfs, btrfs, squashfs), checked with the tools a user would use.

One real Debian root (the profile's packages, from the host's apt sources) is prepared
per module and given what a root tarball must keep: an odd numeric owner with a setuid
mode, a user xattr, a POSIX ACL and a hard link. Every type is created from it with
`system create`; the images are fsck'ed and mounted (read-only, loop, in a private mount
namespace) and their contents compared with the root, file by file. The tarball is
unpacked as GNU tar would and compared the same way. The JeOS guest mounting an ext4
image is in test_build_oem.py.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kiwi_like.oci import tree
from tests import fsmanifest
from tests.conftest import REPO

pytestmark = [pytest.mark.network, pytest.mark.slow]

JEOS = REPO / "descriptions/debian/bookworm-jeos"
BASENAME = "Debian-Bookworm-JeOS.x86_64-1.0.0"
FILESYSTEMS = ["ext2", "ext3", "ext4", "xfs", "btrfs", "squashfs"]
ODD_OWNER = (4242, 4343)
# the build's own directory, kept out of every image (create/boot/tree.py)
SKIPPED = ("image",)
# ACL entry tags of the kernel's system.posix_acl_access format (version 2)
USER_OBJ, USER, GROUP_OBJ, MASK, OTHER = 0x01, 0x02, 0x04, 0x10, 0x20
NO_ID = 0xFFFFFFFF


def _acl(*entries: tuple[int, int, int]) -> bytes:
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)


ACL = _acl((USER_OBJ, 6, NO_ID), (USER, 4, ODD_OWNER[0]), (GROUP_OBJ, 4, NO_ID),
           (MASK, 4, NO_ID), (OTHER, 0, NO_ID))  # fmt: skip


def _kiwi(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "kiwi_like", *map(str, argv)]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rootfs")


@pytest.fixture(scope="module")
def root(work: Path) -> Path:
    """The prepared root, with the special files added."""
    root = work / "root"
    done = _kiwi("--profile", "rootfs", "system", "prepare", "--description", JEOS,
                 "--root", root)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    special = root / "usr/local/bin/kiwi-like-special"
    special.write_text("#!/bin/sh\necho special\n")
    os.chown(special, *ODD_OWNER)
    special.chmod(0o4750)  # after chown, which clears setuid
    os.link(special, root / "usr/local/bin/kiwi-like-special-link")
    marked = root / "etc/kiwi-like-marked"
    marked.write_text("marked\n")
    os.setxattr(marked, "user.kiwi-like", b"kept")
    os.setxattr(marked, "system.posix_acl_access", ACL)
    return root


@pytest.fixture(scope="module")
def runtime_config(work: Path) -> Path:
    """The tarball's xz level is a runtime config knob; a fast one keeps the test short."""
    config = work / "kiwi.yml"
    config.write_text("xz:\n  options: -T0 -1\n")
    return config


def create(work: Path, root: Path, config: Path, image_type: str) -> Path:
    target = work / image_type
    done = _kiwi("--profile", "rootfs", "--type", image_type, "--config", config,
                 "system", "create", "--root", root, "--target-dir", target)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return target


def mounted_manifest(image: Path, skip: tuple[str, ...]) -> dict[str, list[Any]]:
    mountpoint = image.parent / "mnt"
    mountpoint.mkdir(exist_ok=True)
    script = 'mount -o ro,loop "$1" "$2" && exec "$3" "$4" "$2" ${5:+"$5"}'
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "mount-and-list",
         image, mountpoint, sys.executable, fsmanifest.__file__, *skip],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def assert_same_tree(actual: dict[str, list[Any]], expected: dict[str, list[Any]]) -> None:
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    changed = sorted(p for p in set(actual) & set(expected) if actual[p] != expected[p])
    assert not missing and not extra and not changed, (
        f"missing {missing[:10]}, extra {extra[:10]}, "
        f"changed {[(p, expected[p], actual[p]) for p in changed[:5]]}"
    )


@pytest.mark.parametrize("filesystem", FILESYSTEMS)
def test_filesystem_image(work, root, runtime_config, filesystem) -> None:
    target = create(work, root, runtime_config, filesystem)
    root_manifest = fsmanifest.manifest(str(root), SKIPPED)  # after images.sh ran
    image = target / f"{BASENAME}.{filesystem}"
    result = json.loads((target / "kiwi.result.json").read_text())
    assert result["filesystem_image"]["filename"] == str(image)
    assert (target / f"{BASENAME}.packages").read_text().count("|") > 100
    if filesystem.startswith("ext"):
        check = subprocess.run(["e2fsck", "-fn", image], capture_output=True, text=True)
        header = subprocess.run(["dumpe2fs", "-h", image], capture_output=True, text=True).stdout
        assert "Filesystem volume name:   <none>" in header  # no label, as kiwi's
        features = header.split("Filesystem features:")[1].splitlines()[0]
        assert ("has_journal" in features) == (filesystem != "ext2")
    elif filesystem == "xfs":
        check = subprocess.run(["xfs_repair", "-n", "-f", image], capture_output=True, text=True)
    elif filesystem == "btrfs":
        check = subprocess.run(["btrfs", "check", image], capture_output=True, text=True)
    else:
        check = subprocess.run(["unsquashfs", "-l", image], capture_output=True, text=True)
        assert "squashfs-root/etc/kiwi-like-marked" in check.stdout
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]
    skip = ("lost+found",) if filesystem.startswith("ext") else ()
    if filesystem == "squashfs":  # it stores user, trusted and security xattrs: no ACLs
        root_manifest = {path: _without_acls(value) for path, value in root_manifest.items()}
    assert_same_tree(mounted_manifest(image, skip), root_manifest)


def _without_acls(value: list[Any]) -> list[Any]:
    xattrs = [x for x in value[5] if not x[0].startswith("system.posix_acl_")]
    return [*value[:5], xattrs]


def test_tbz_root_tarball(work, root, runtime_config) -> None:
    target = create(work, root, runtime_config, "tbz")
    root_manifest = fsmanifest.manifest(str(root), SKIPPED)  # after images.sh ran
    tarball = target / f"{BASENAME}.tar.xz"
    result = json.loads((target / "kiwi.result.json").read_text())
    assert result["root_archive"]["filename"] == str(tarball)
    assert (target / f"{tarball.name}.sha256").is_file()
    listing = subprocess.run(["tar", "--numeric-owner", "-tvJf", tarball],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
    special = next(line for line in listing.splitlines() if "kiwi-like-special" in line)
    assert special.startswith("-rwsr-x--- 4242/4343 ")
    assert "usr/local/bin/kiwi-like-special-link link to usr/local/bin/kiwi-like-special" in listing
    names = [line.split()[-1] for line in listing.splitlines()]
    assert not [n for n in names if n.split("/")[0] in ("image", ".kconfig", ".profile")]
    assert not [n for n in names if n.startswith("var/cache/apt/archives/") and n.endswith(".deb")]

    unpacked = work / "tbz-unpacked"
    unpacked.mkdir()
    # ACLs are xattrs in the tarball (as GNU tar --xattrs writes them): --xattrs restores them
    subprocess.run(["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpJf",
                    tarball, "-C", unpacked], check=True)  # fmt: skip
    marked = unpacked / "etc/kiwi-like-marked"
    assert os.getxattr(marked, "user.kiwi-like") == b"kept"
    assert os.getxattr(marked, "system.posix_acl_access") == ACL
    # everything of the root a layer keeps (oci/tree.py), as the root has it
    kept = {entry.path for entry in tree.scan(root)}
    expected = {path: value for path, value in root_manifest.items() if path in kept}
    unpacked_manifest = fsmanifest.manifest(str(unpacked))
    assert_same_tree(unpacked_manifest, expected)
