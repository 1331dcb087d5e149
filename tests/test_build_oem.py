"""README command 1 for real: `system build` of the default JeOS oem disk, results, boots.

Builds descriptions/debian/bookworm-jeos (profile oem) from the host's apt
sources once, checks every result file and boots the raw disk with SeaBIOS and
OVMF until the serial login prompt; the qcow2 profile is created from the same
root (its packages are the same) and booted too.
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
from tests.conftest import REPO

pytestmark = [pytest.mark.boot, pytest.mark.network, pytest.mark.slow]

JEOS = REPO / "descriptions/debian/bookworm-jeos"
BASENAME = "Debian-Bookworm-JeOS.x86_64-1.0.0"
LOGIN = re.compile(r"^debian-bookworm-jeos login:", re.MULTILINE)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("jeos-oem")
    code = main(
        [
            "--profile", "oem", "system", "build", "--description", str(JEOS),
            "--target-dir", str(target),
        ]
    )  # fmt: skip
    assert code == 0
    return target


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


def test_bundle(target: Path, kiwi, tmp_path: Path):
    result = kiwi(
        "result", "bundle", "--target-dir", str(target), "--id", "Build1.1",
        "--bundle-dir", str(tmp_path),
    )  # fmt: skip
    assert result.code == 0, result.err
    names = sorted(p.name for p in tmp_path.iterdir())
    base = f"{BASENAME}-Build1.1"  # kiwi's file set: the disk and the changelog xz-compressed
    assert names == sorted([f"{base}.raw.xz", f"{base}.raw.xz.sha256", f"{base}.packages",
                            f"{base}.changes.xz", f"{base}.verified"])  # fmt: skip
    check = subprocess.run(["sha256sum", "-c", f"{base}.raw.xz.sha256"], cwd=tmp_path)
    assert check.returncode == 0


@pytest.mark.parametrize("firmware", ["bios", "efi", "efi-q35"])
def test_raw_disk_boots(target: Path, firmware: str):
    booted = qemu.boot(target / f"{BASENAME}.raw", firmware, marker=LOGIN)
    assert booted.marker, booted.tail()
    # /etc/issue as the description's images.sh wrote it at the start of system create
    assert "Debian 12 JeOS 1.0.0 (oem) debian-bookworm-jeos ttyS0" in booted.console


def test_qcow2_format_boots(target: Path, tmp_path: Path):
    config = RuntimeConfig()
    build = load_build(JEOS, BuildOptions(profiles=("qcow2",)), config)
    create_image(build, target / "build/image-root", tmp_path, config)
    image = tmp_path / f"{BASENAME}.qcow2"
    check = subprocess.run(["qemu-img", "check", str(image)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    booted = qemu.boot(image, "efi", fmt="qcow2", marker=LOGIN)
    assert booted.marker, booted.tail()
