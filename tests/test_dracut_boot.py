"""The JeOS with dracut as its initrd system: the oem disk and the install ISO, booted.

descriptions/debian/bookworm-jeos lists initramfs-tools in its `bootable` profile;
`--set-type-attr initrd_system=dracut` makes kiwi-like leave it out and boot with
the image's dracut and kiwi-like's dracut modules instead. The oem profile is
built once (system build, from the host's apt sources) and booted with SeaBIOS
and OVMF (on the pc and the q35 machine); the install profile is created from the
same root, installs onto a blank disk (asking before it writes, as the description
says) and the disk it wrote boots. The oem profile with `overlayroot="true"` is
created from the same root too: its root is a read-only squashfs under an overlay
whose changes stay on the write partition across a reboot (or, without one, in RAM).
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
from tests.conftest import REPO, q35_extended

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


@pytest.mark.parametrize("firmware", ["bios", *q35_extended("efi", "efi-q35")])
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
    for firmware in ("efi", "efi-q35"):  # UEFI on the pc and the q35 machine
        booted = qemu.boot(disk, firmware, marker=LOGIN, timeout=900)
        assert booted.marker, (firmware, booted.tail())


# ---- overlayroot ------------------------------------------------------------------------

# Log in, report the root's and the overlay's file systems and what an earlier boot left,
# leave a mark, power off. OVERLAY""-OK: the echoed command must not look like the marker.
OVERLAY_REPORT = re.compile(r"OVERLAY-OK root=(\S+) upper=(\S+) kept=(\S+)")
GUEST_REPORTS_OVERLAY = qemu.root_shell(
    "debian-bookworm-jeos",
    "k=$(cat /var/lib/kept 2>/dev/null || echo none); echo yes > /var/lib/kept; sync; "
    'echo OVERLAY""-OK root=$(findmnt -no FSTYPE /)'
    " upper=$(findmnt -no FSTYPE /run/overlay/overlayfs) kept=$k; poweroff",
)


def _overlay_disk(target: Path, out: Path, *attributes: str) -> Path:
    """The oem profile with overlayroot, created from the build's root, as a raw disk."""
    config = RuntimeConfig()
    attrs = (*DRACUT, "overlayroot=true", *attributes)
    build = load_build(JEOS, BuildOptions(profiles=("oem",), set_type_attrs=attrs), config)
    create_image(build, target / "build/image-root", out, config)
    return out / f"{BASENAME}.raw"


def _overlay_boot(disk: Path, firmware: str) -> tuple[str, str, str]:
    """Boot `disk` itself (changes stay on it), return the guest's report."""
    booted = qemu.boot(
        target=disk, firmware=firmware, marker=None, answers=GUEST_REPORTS_OVERLAY, timeout=900
    )
    found = OVERLAY_REPORT.search(booted.console)
    assert found, booted.tail()
    assert booted.returncode == 0, booted.tail()  # powered off cleanly
    return found.group(1), found.group(2), found.group(3)


@pytest.fixture(scope="module")
def overlay_disk(target: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _overlay_disk(target, tmp_path_factory.mktemp("jeos-overlay"))


@pytest.fixture(scope="module")
def overlay_first_boot(overlay_disk: Path) -> tuple[str, str, str]:
    return _overlay_boot(overlay_disk, "efi")


def test_overlayroot_disk_layout(overlay_disk: Path) -> None:
    table = subprocess.run(
        ["sfdisk", "--dump", str(overlay_disk)], capture_output=True, text=True, check=True
    ).stdout
    names = re.findall(r'name="([^"]+)"', table)
    assert names == ["p.legacy", "p.UEFI", "p.lxreadonly", "p.lxroot"], table


def test_overlayroot_boots_with_the_overlay_on_the_write_partition(
    overlay_first_boot: tuple[str, str, str],
) -> None:
    assert overlay_first_boot == ("overlay", "ext4", "none")


@pytest.mark.extended
def test_overlayroot_changes_survive_a_reboot(
    overlay_disk: Path, overlay_first_boot: tuple[str, str, str]
) -> None:
    assert _overlay_boot(overlay_disk, "bios") == ("overlay", "ext4", "yes")


@pytest.mark.extended
def test_overlayroot_without_write_partition_keeps_changes_in_ram(
    target: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    disk = _overlay_disk(
        target, tmp_path_factory.mktemp("jeos-overlay-tmpfs"), "overlayroot_write_partition=false"
    )
    assert _overlay_boot(disk, "efi-q35") == ("overlay", "tmpfs", "none")
    assert _overlay_boot(disk, "efi-q35") == ("overlay", "tmpfs", "none")
