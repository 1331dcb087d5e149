"""README command 1 for real: `system build` of the default JeOS oem disk, results, boots.

Builds descriptions/debian/bookworm-jeos (profile oem) from the host's apt
sources once, checks every result file and boots the raw disk with SeaBIOS and
OVMF until the serial login prompt; the qcow2 profile is created from the same
root (its packages are the same) and booted too, on both UEFI machines. The boots
run in the background (tests/qemu.py) from the moment their image exists.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest

from kiwi_like.cli.main import main
from kiwi_like.create.pipeline import create_image
from kiwi_like.description import BuildOptions, load_build
from kiwi_like.result import RESULT_FILE
from kiwi_like.runtime_config import RuntimeConfig
from tests import qemu
from tests.conftest import REPO, q35_extended, selected

pytestmark = [pytest.mark.boot, pytest.mark.network, pytest.mark.slow]

JEOS = REPO / "descriptions/debian/bookworm-jeos"
BASENAME = "Debian-Bookworm-JeOS.x86_64-1.0.0"
LOGIN = re.compile(r"^debian-bookworm-jeos login:", re.MULTILINE)


# Log in on the serial console and mount the second disk, a file system image
# not at a line's start: bash's bracketed-paste escape may come first
FSIMAGE = re.compile(r"FSIMAGE-OK fs=\S* id=\S*")
GUEST_MOUNTS_VDB = qemu.root_shell(
    "debian-bookworm-jeos",
    # FSIMAGE""-OK: the echoed command line must not look like the marker
    'mount -o ro /dev/vdb /mnt && echo FSIMAGE""-OK fs=$(findmnt -no FSTYPE /mnt)'
    " id=$(. /mnt/etc/os-release && echo $ID) && poweroff",
)

FIRMWARES = ["bios", "efi", "efi-q35"]  # q35: OVMF on the machine closest to real hardware
QCOW2_FIRMWARES = q35_extended("efi", "efi-q35")  # the raw disk boots on q35 in CI


@pytest.fixture(scope="module")
def jeos_boots() -> qemu.Boots:
    return qemu.Boots()


@pytest.fixture(scope="module")
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, jeos_boots: qemu.Boots
) -> Path:
    """The build. The raw disk's boots start right away, then the qcow2 profile is created
    from the build's root (its packages are the same) and its boots start: they all run
    while the tests go on."""
    target = tmp_path_factory.mktemp("jeos-oem")
    code = main(
        [
            "--profile", "oem", "system", "build", "--description", str(JEOS),
            "--target-dir", str(target),
        ]
    )  # fmt: skip
    assert code == 0
    for firmware in selected(request, "test_raw_disk_boots"):
        jeos_boots.start(("raw", firmware), target / f"{BASENAME}.raw", firmware, marker=LOGIN)
    qcow2_firmwares = selected(request, "test_qcow2_format_boots")
    if qcow2_firmwares:
        config = RuntimeConfig()
        build = load_build(JEOS, BuildOptions(profiles=("qcow2",)), config)
        create_image(build, target / "build/image-root", _qcow2_dir(target), config)
        image = _qcow2_dir(target) / f"{BASENAME}.qcow2"
        for firmware in qcow2_firmwares:
            jeos_boots.start(("qcow2", firmware), image, firmware, fmt="qcow2", marker=LOGIN)
    if selected(request, "test_filesystem_image_mounts_in_the_guest"):
        # the rootfs profile's ext4 image, from the same root (a subset of its packages)
        config = RuntimeConfig()
        build = load_build(JEOS, BuildOptions(profiles=("rootfs",), build_type="ext4"), config)
        images = target.parent / f"{target.name}-ext4"
        create_image(build, target / "build/image-root", images, config)
        jeos_boots.start(
            "ext4-image", target / f"{BASENAME}.raw", "bios", marker=FSIMAGE,
            target=images / f"{BASENAME}.ext4", answers=GUEST_MOUNTS_VDB,
        )  # fmt: skip
    return target


def _qcow2_dir(target: Path) -> Path:
    return target.parent / f"{target.name}-qcow2"


def test_result_files(target: Path, kiwi):
    data = json.loads((target / RESULT_FILE).read_text())
    named = sorted(entry["filename"] for entry in data["results"].values())
    assert named == sorted(
        [
            f"{BASENAME}.raw",
            f"{BASENAME}.raw.sha256",
            f"{BASENAME}.packages",
            f"{BASENAME}.changes",
            f"{BASENAME}.verified",
        ]
    )
    raw = target / f"{BASENAME}.raw"
    digest = hashlib.sha256(raw.read_bytes()).hexdigest()
    assert (target / f"{BASENAME}.raw.sha256").read_text() == f"{digest}  {raw.name}\n"
    packages = (target / f"{BASENAME}.packages").read_text().splitlines()
    assert any(line.startswith("linux-image-amd64|None|") for line in packages)
    assert any(line.startswith("grub-efi-amd64-bin|None|") for line in packages)
    assert not [p for p in target.iterdir() if p.name.startswith(".kiwi-like-staging")]
    listing = kiwi("result", "list", "--target-dir", str(target))
    assert listing.code == 0 and f"{target}/{BASENAME}.raw" in listing.out


@pytest.mark.extended
def test_bundle(target: Path, kiwi, tmp_path: Path):
    # CI time: xz of the whole 2 GiB disk beside two boots took 128 s; what a bundle holds
    # and compresses is checked on small builds in CI (test_results.py, the kiwi reference)
    # xz -0 from the runtime config: -6 of a 1.5 GB disk takes minutes on CI's two cores
    config = tmp_path.parent / "bundle-runtime.yml"
    config.write_text("xz:\n  options: -T0 -0\n")
    result = kiwi(
        "--config", str(config), "result", "bundle", "--target-dir", str(target),
        "--id", "Build1.1", "--bundle-dir", str(tmp_path),
    )  # fmt: skip
    assert result.code == 0, result.err
    names = sorted(p.name for p in tmp_path.iterdir())
    base = f"{BASENAME}-Build1.1"  # kiwi's file set: the disk and the changelog xz-compressed
    assert names == sorted([f"{base}.raw.xz", f"{base}.raw.xz.sha256", f"{base}.packages",
                            f"{base}.changes.xz", f"{base}.verified"])  # fmt: skip
    check = subprocess.run(["sha256sum", "-c", f"{base}.raw.xz.sha256"], cwd=tmp_path)
    assert check.returncode == 0


@pytest.mark.parametrize("firmware", FIRMWARES)
def test_raw_disk_boots(target: Path, jeos_boots: qemu.Boots, firmware: str):
    booted = jeos_boots["raw", firmware]
    assert booted.marker, booted.tail()
    # /etc/issue as the description's images.sh wrote it at the start of system create
    assert "Debian 12 JeOS 1.0.0 (oem) debian-bookworm-jeos ttyS0" in booted.console


@pytest.mark.parametrize("firmware", QCOW2_FIRMWARES)
def test_qcow2_format_boots(target: Path, jeos_boots: qemu.Boots, firmware: str):
    image = _qcow2_dir(target) / f"{BASENAME}.qcow2"
    check = subprocess.run(["qemu-img", "check", str(image)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    booted = jeos_boots["qcow2", firmware]
    assert booted.marker, booted.tail()


def test_filesystem_image_mounts_in_the_guest(target: Path, jeos_boots: qemu.Boots):
    """The rootfs profile's ext4 image, attached as a second disk to the JeOS guest,
    mounts there and holds a Debian root."""
    result = jeos_boots["ext4-image"]
    assert result.marker == "FSIMAGE-OK fs=ext4 id=debian", result.tail()
