"""build-tests/x86/debian-trixie-kiwi: a Debian 13 description written as kiwi's are.

It lists `dracut` and kiwi's `dracut-kiwi-*` packages; its repository is replaced
as a kiwi user would (`--ignore-repos --add-repo <mirror>,apt-deb,...,trixie`), the
mirror read from the build host's apt sources. One root serves the three profiles
(their packages are the same): the Disk profile is built with `system build`, the
Virtual and Live profiles are created from its root. Then each boots: the qcow2 on
UEFI with Secure Boot on and on BIOS, the install ISO onto a blank disk on q35 with
1536 MB and then the disk alone, the live ISO from CD on UEFI (pc and q35) and BIOS with
its network up, and written to a USB stick, where its changes persist.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kiwi_like.cli.main import main
from kiwi_like.create.pipeline import create_image
from kiwi_like.description import BuildOptions, load_build
from kiwi_like.description.host_sources import read_host_sources
from kiwi_like.runtime_config import RuntimeConfig
from tests import qemu
from tests.conftest import REPO

# issue 17's kiwi-style description: three Debian 13 builds, eight boots (CI: make test-extended)
pytestmark = [pytest.mark.boot, pytest.mark.network, pytest.mark.slow, pytest.mark.extended]

DESCRIPTION = REPO / "build-tests/x86/debian-trixie-kiwi"
BASENAME = "kiwi-test-image-trixie.x86_64-1.13.1"
STICK_SIZE = 2 << 30


def _trixie_repository() -> str:
    """The host's Debian mirror (the suite of its main archive replaced by trixie)."""
    for source in read_host_sources(Path("/etc/apt")):
        if "security" not in source.uri and not source.suite.endswith(
            ("-updates", "-security", "-backports")
        ):
            return f"{source.uri},apt-deb,trixie,,,,,main,trixie,false"
    pytest.skip("the host's apt sources name no Debian archive")


def _options(profile: str) -> BuildOptions:
    return BuildOptions(profiles=(profile,), ignore_repos=True, add_repos=(_trixie_repository(),))


@pytest.fixture(scope="module")
def disk_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("trixie-disk")
    code = main(
        [
            "--profile", "Disk", "system", "build", "--description", str(DESCRIPTION),
            "--ignore-repos", "--add-repo", _trixie_repository(), "--target-dir", str(target),
        ]
    )  # fmt: skip
    assert code == 0
    return target


def _create(disk_target: Path, profile: str, out: Path) -> Path:
    config = RuntimeConfig()
    build = load_build(DESCRIPTION, _options(profile), config)
    create_image(build, disk_target / "build/image-root", out, config)
    return out


@pytest.fixture(scope="module")
def virtual_target(disk_target: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _create(disk_target, "Virtual", tmp_path_factory.mktemp("trixie-virtual"))


@pytest.fixture(scope="module")
def live_target(disk_target: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _create(disk_target, "Live", tmp_path_factory.mktemp("trixie-live"))


def _booted(result: qemu.BootResult) -> dict[str, str]:
    assert result.marker, result.tail()
    fields = result.fields()
    assert fields["os"] == "trixie"
    return fields


def test_kiwi_packages_were_substituted(disk_target: Path) -> None:
    names = {
        line.split("|", 1)[0]
        for line in (disk_target / f"{BASENAME}.packages").read_text().splitlines()
    }
    assert "dracut" in names
    assert not {n for n in names if n.startswith("dracut-kiwi-")}
    assert "initramfs-tools" not in names
    modules = disk_target / "build/image-root/usr/lib/dracut/modules.d"
    assert (modules / "90kiwi-like-live/module-setup.sh").is_file()


@pytest.mark.parametrize(
    ("firmware", "booted_with", "secure"), [("efi-sb", "efi", "1"), ("bios", "bios", "none")]
)
def test_virtual_qcow2_boots(
    virtual_target: Path, firmware: str, booted_with: str, secure: str
) -> None:
    """firmware="uefi" is kiwi's Secure Boot: shim, signed GRUB and kernel pass OVMF with
    Microsoft's keys enrolled; the same disk boots on BIOS."""
    image = virtual_target / f"{BASENAME}.qcow2"
    result = qemu.boot(image, firmware, fmt="qcow2", timeout=900)
    fields = _booted(result)
    assert (fields["fw"], fields["sb"], fields["fs"]) == (booted_with, secure, "ext4")
    if secure == "1":
        assert "secureboot: Secure boot enabled" in result.console, result.tail()


def test_install_iso_installs_on_q35_then_the_disk_boots(disk_target: Path, tmp_path: Path) -> None:
    disk = tmp_path / "blank.raw"
    with open(disk, "wb") as handle:
        handle.truncate(3 << 30)
    install = qemu.boot(
        cdrom=disk_target / f"{BASENAME}.install.iso", target=disk, firmware="efi-q35",
        memory=1536, marker=None, timeout=1200,
    )  # fmt: skip
    assert "kiwi-like installer: installed Debian 13 kiwi test onto /dev/vda" in install.console, (
        install.tail()
    )
    assert install.returncode == 0, install.tail()  # oem-shutdown
    fields = _booted(qemu.boot(disk, "bios", timeout=900))
    assert fields["fs"] == "ext4"
    assert int(fields["size"]) > 2048  # grown to the 3 GiB disk on the first boot


@pytest.mark.parametrize("firmware", ["efi", "efi-q35", "bios"])
def test_live_iso_boots_from_cd_with_network(live_target: Path, firmware: str) -> None:
    """UEFI on the pc and the q35 machine (there with 1536 MB, the issue's smaller size)."""
    memory = 1536 if firmware == "efi-q35" else 1024
    result = qemu.boot(
        cdrom=live_target / f"{BASENAME}.iso", firmware=firmware, http_port=9, memory=memory,
        timeout=900,
    )  # fmt: skip
    fields = _booted(result)
    assert (fields["fw"], fields["fs"]) == ("bios" if firmware == "bios" else "efi", "overlay")
    assert fields["net"].startswith("10.0.2."), result.tail()


def test_live_iso_on_a_usb_stick_keeps_changes(live_target: Path, tmp_path: Path) -> None:
    stick = tmp_path / "stick.raw"
    shutil.copyfile(live_target / f"{BASENAME}.iso", stick)
    with open(stick, "r+b") as handle:
        handle.truncate(STICK_SIZE)
    first = qemu.boot(target=stick, firmware="efi", timeout=900)
    assert "kiwi-like: made /dev/vda" in first.console, first.tail()
    assert _booted(first)["boots"] == "1"
    second = qemu.boot(target=stick, firmware="bios", timeout=900)
    assert _booted(second)["boots"] == "2"
