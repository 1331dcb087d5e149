"""The JeOS with dracut as its initrd system: the oem disk and the install ISO, booted.

descriptions/debian/bookworm-jeos lists initramfs-tools in its `bootable` profile;
`--set-type-attr initrd_system=dracut` makes kiwi-like leave it out and boot with
the image's dracut and kiwi-like's dracut modules instead. The oem profile is
built once (system build, from the host's apt sources) and booted with SeaBIOS
and OVMF; the install profile is created from the same root, installs onto a
blank disk (asking before it writes, as the description says) and the disk it
wrote boots.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from kiwi_like.cli.main import main
from kiwi_like.create.pipeline import create_image
from kiwi_like.description import BuildOptions, load_build
from kiwi_like.runtime_config import RuntimeConfig
from tests import qemu
from tests.conftest import REPO

pytestmark = [pytest.mark.boot, pytest.mark.network, pytest.mark.slow]

JEOS = REPO / "descriptions/debian/bookworm-jeos"
BASENAME = "Debian-Bookworm-JeOS.x86_64-1.0.0"
LOGIN = re.compile(r"^debian-bookworm-jeos login:", re.MULTILINE)
DRACUT = ("initrd_system=dracut",)
CONFIRM = re.compile(r"type yes to install, anything else to cancel:")
TARGET_SIZE = 3 << 30  # bigger than the 2 GiB image: the installed root grows


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("jeos-dracut")
    code = main(
        [
            "--profile", "oem", "system", "build", "--description", str(JEOS),
            "--set-type-attr", DRACUT[0], "--target-dir", str(target),
        ]
    )  # fmt: skip
    assert code == 0
    return target


def _initrd_listing(root: Path) -> str:
    initrd = max((root / "boot").glob("initrd.img-*"))
    return subprocess.run(
        ["chroot", str(root), "lsinitrd", f"/boot/{initrd.name}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def test_the_image_has_dracut_not_initramfs_tools(target: Path) -> None:
    packages = (target / f"{BASENAME}.packages").read_text().splitlines()
    names = {line.split("|", 1)[0] for line in packages}
    assert "dracut" in names
    assert "initramfs-tools" not in names
    listing = _initrd_listing(target / "build/image-root")
    assert "virtio_blk.ko" in listing
    modules = listing.split("dracut modules:")[1].split("=====")[0].split()
    assert "base" in modules and "rootfs-block" in modules
    assert "systemd-initrd" not in modules  # the shell init, with kiwi-like's hooks


@pytest.mark.parametrize("firmware", ["bios", "efi"])
def test_oem_disk_boots(target: Path, firmware: str) -> None:
    booted = qemu.boot(target / f"{BASENAME}.raw", firmware, marker=LOGIN, timeout=900)
    assert booted.marker, booted.tail()
    assert "Debian 12 JeOS 1.0.0 (oem) debian-bookworm-jeos ttyS0" in booted.console


@pytest.fixture(scope="module")
def install_iso(target: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The install profile created from the oem build's root (same packages)."""
    out = tmp_path_factory.mktemp("jeos-dracut-install")
    config = RuntimeConfig()
    attrs = (*DRACUT, "installboot=install")  # the menu's default: install, not the hard disk
    build = load_build(JEOS, BuildOptions(profiles=("install",), set_type_attrs=attrs), config)
    create_image(build, target / "build/image-root", out, config)
    return out / f"{BASENAME}.install.iso"


@pytest.mark.extended
def test_install_iso_installs_then_the_disk_boots(install_iso: Path, tmp_path: Path) -> None:
    disk = tmp_path / "blank.raw"
    with open(disk, "wb") as handle:
        handle.truncate(TARGET_SIZE)
    install = qemu.boot(
        cdrom=install_iso, target=disk, firmware="bios", marker=None, timeout=1200,
        answers=[qemu.Answer(CONFIRM, "yes")],
    )  # fmt: skip
    assert "kiwi-like installer: installed Debian 12 JeOS onto /dev/vda" in install.console, (
        install.tail()
    )
    assert install.returncode == 0, install.tail()  # oem-reboot: QEMU ends (-no-reboot)
    booted = qemu.boot(disk, "efi", marker=LOGIN, timeout=900)
    assert booted.marker, booted.tail()
