"""The oem install ISO: installing onto a blank virtual disk in QEMU, and refusing to.

The install profiles of build-tests/x86/debian-disk differ only in <oemconfig>:
`install` is unattended and powers off when done (built through the create
pipeline, like `system build` would), `install-prompt` asks on the serial
console and then boots the installed system, `install-filtered` has a device
filter that leaves out every virtio disk. The ISO boots from an IDE CD drive;
the blank target is a sparse file attached as a virtio disk, so a disk the
installer did not touch still has no allocated block. The tests at the end need
neither a root nor QEMU.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from kiwi_like.create.disk import DiskResult, build_disk
from kiwi_like.create.iso.install import (
    check_installer_tools,
    install_conf,
    install_menu,
)
from kiwi_like.create.pipeline import create_image
from kiwi_like.description import BuildOptions, ResolvedBuild, load_build
from kiwi_like.description.imagetypes.oem import install_settings
from kiwi_like.errors import KiwiLikeError
from kiwi_like.result import RESULT_FILE
from kiwi_like.runtime_config import RuntimeConfig
from tests import qemu
from tests.conftest import BOOT_TEST_DESCRIPTION, q35_extended, real, selected
from tests.http_server import serving
from tests.qemu import GUEST_HTTP, Answer, BootResult, boot

BASENAME = "Debian-Disk-Test.x86_64-1.0.0"
MIB = 1 << 20
TARGET_SIZE = 2560 * MIB  # bigger than the 1600 MiB image: the installed root grows
CONFIRM = re.compile(r"type yes to install, anything else to cancel:")
POWER_OFF_PROMPT = re.compile(r"Press Enter to power off\.")


def _build(profile: str) -> ResolvedBuild:
    return load_build(BOOT_TEST_DESCRIPTION, BuildOptions(profiles=(profile,)), RuntimeConfig())


def _blank(path: Path) -> Path:
    with open(path, "wb") as handle:
        handle.truncate(TARGET_SIZE)
    return path


def _untouched(path: Path) -> bool:
    return path.stat().st_blocks == 0 and path.stat().st_size == TARGET_SIZE


UEFI = ["efi", "efi-q35"]  # OVMF on the pc machine and on q35 (closer to real hardware)
# the prompt variants boot on q35 in `make test-extended` (the unattended install in CI too)
UEFI_VARIANTS = q35_extended(*UEFI)


@dataclass(frozen=True)
class Installed:
    """An install run and the boots of the disk it wrote (none when it did not power off)."""

    target: Path
    install: BootResult
    boots: dict[str, BootResult]
    requested: tuple[str, ...] = ()  # from the test HTTP server


def _boot_installed(
    target: Path, install: BootResult, firmwares: list[str], requested: list[str] | None = None
) -> Installed:
    """Boot the disk an install wrote with each firmware (side by side: QEMU writes an
    overlay), unless the installer did not power off."""
    boots = {}
    if install.returncode == 0:
        jobs = {firmware: qemu.background(boot, target, firmware) for firmware in firmwares}
        boots = {firmware: job.result() for firmware, job in jobs.items()}
    return Installed(target, install, boots, tuple(requested or ()))


def _install_from_iso(iso: Path, target: Path, firmware: str, boots: list[str]) -> Installed:
    """Boot the install ISO with the blank `target` attached until the guest powers off."""
    result = boot(cdrom=iso, target=_blank(target), firmware=firmware, marker=None)
    return _boot_installed(target, result, boots)


def _install_from_network(served: Path, target: Path, boots: list[str]) -> Installed:
    """installpxe: the installer boots over the network and fetches the image by HTTP."""
    append = (served / f"{BASENAME}.append").read_text().strip()
    with serving(served) as (port, requested):
        result = boot(
            target=_blank(target), kernel=served / f"{BASENAME}.kernel",
            initrd=served / f"{BASENAME}.initrd", append=append.replace("{server}", GUEST_HTTP),
            http_port=port, marker=None, timeout=900,
        )  # fmt: skip
    return _boot_installed(target, result, boots, requested)


@pytest.fixture(scope="module")
def install_boots() -> qemu.Boots:
    return qemu.Boots()


@pytest.fixture(scope="module")
def unattended(
    request: pytest.FixtureRequest,
    prepared_root: Path,
    tmp_path_factory: pytest.TempPathFactory,
    install_boots: qemu.Boots,
) -> Path:
    """The create pipeline for the `install` profile: raw disk plus install ISO. The
    installs from it (and the boots of what they wrote) start right away; then the
    variants are built."""
    target = tmp_path_factory.mktemp("install")
    create_image(_build("install"), prepared_root, target, RuntimeConfig())
    work = tmp_path_factory.mktemp("install-runs")
    firmwares = selected(request, "test_unattended_install_then_boot_the_disk")
    if firmwares:
        install_boots.start_job(
            "unattended", _install_from_iso, target / f"{BASENAME}.install.iso",
            work / "unattended.raw", "bios", firmwares,
        )  # fmt: skip
    if selected(request, "test_network_install_then_boot_the_disk"):
        served = work / "served"
        with tarfile.open(target / f"{BASENAME}.install.tar") as tar:
            tar.extractall(served, filter="data")
        install_boots.start_job(
            "network", _install_from_network, served, work / "network.raw", ["bios"]
        )
    if any(selected(request, test) for test in VARIANT_TESTS):
        request.getfixturevalue("variants")  # built now, while these installs run
    return target


VARIANT_TESTS = (
    "test_nothing_is_written_unless_confirmed",
    "test_confirmed_install_boots_the_installed_system",
    "test_device_filter_leaving_no_disk",
)


@pytest.fixture(scope="module")
def variants(
    request: pytest.FixtureRequest,
    prepared_root: Path,
    tmp_path_factory: pytest.TempPathFactory,
    install_boots: qemu.Boots,
) -> dict[str, Path]:
    """Install ISOs of one raw disk for the prompting and the filtered profile; their
    runs start right away."""
    from kiwi_like.create.iso.install import build_install_iso

    out = tmp_path_factory.mktemp("install-variants")
    disk = build_disk(_build("install-prompt"), prepared_root, out / f"{BASENAME}.raw", out)
    isos = {}
    for profile in ("install-prompt", "install-filtered"):
        isos[profile] = out / f"{profile}.install.iso"
        build_install_iso(_build(profile), prepared_root, disk, isos[profile], out)
    prompt = isos["install-prompt"]
    for firmware in selected(request, "test_nothing_is_written_unless_confirmed"):
        install_boots.start(
            ("cancelled", firmware), cdrom=prompt, target=_blank(out / f"cancelled-{firmware}.raw"),
            firmware=firmware, marker=None,
            answers=[Answer(CONFIRM, "no"), Answer(POWER_OFF_PROMPT, "")],
        )  # fmt: skip
    for firmware in selected(request, "test_confirmed_install_boots_the_installed_system"):
        install_boots.start(
            ("confirmed", firmware), cdrom=prompt,
            target=_blank(out / f"confirmed-{firmware}.raw"), firmware=firmware,
            answers=[Answer(CONFIRM, "yes")], timeout=900,  # an install, then a boot
        )  # fmt: skip
    if selected(request, "test_device_filter_leaving_no_disk"):
        install_boots.start(
            "filtered", cdrom=isos["install-filtered"], target=_blank(out / "filtered.raw"),
            firmware="bios", marker=None, answers=[Answer(POWER_OFF_PROMPT, "")],
        )  # fmt: skip
    return isos


@real
def test_install_iso_results_and_medium(unattended: Path) -> None:
    data = json.loads((unattended / RESULT_FILE).read_text())
    kinds = {entry["filename"]: entry["kind"] for entry in data["results"].values()}
    iso = unattended / f"{BASENAME}.install.iso"
    assert kinds[iso.name] == "installation_image"
    assert kinds[f"{iso.name}.sha256"] == "image_checksum"
    assert kinds[f"{BASENAME}.raw"] == "disk_image"
    assert kinds[f"{BASENAME}.install.tar"] == "installation_pxe_archive"
    with tarfile.open(unattended / f"{BASENAME}.install.tar") as tar:
        assert sorted(tar.getnames()) == sorted(
            [
                f"{BASENAME}.append", f"{BASENAME}.initrd", f"{BASENAME}.install.conf",
                f"{BASENAME}.ipxe", f"{BASENAME}.kernel", f"{BASENAME}.raw.zst",
                "pxelinux.cfg/default",
            ]
        )  # fmt: skip
    report = subprocess.run(
        ["xorriso", "-indev", str(iso), "-report_el_torito", "plain"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "El Torito boot img :   1  BIOS  y   none" in report
    assert "El Torito boot img :   2  UEFI  y   none" in report
    listing = subprocess.run(
        ["xorriso", "-indev", str(iso), "-find", "/install", "-type", "f"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    for name in ("vmlinuz", "initrd.img", "install.conf", f"{BASENAME}.raw.zst"):
        assert f"'/install/{name}'" in listing


def _installed_ok(installed: Installed) -> BootResult:
    result = installed.install
    assert result.returncode == 0, f"the installer did not power off:\n{result.tail()}"
    return result


@real
@pytest.mark.parametrize("firmware", UEFI)
def test_unattended_install_then_boot_the_disk(
    unattended: Path, install_boots: qemu.Boots, firmware: str
) -> None:
    installed: Installed = install_boots["unattended"]
    console = _installed_ok(installed).console
    assert "kiwi-like installer: installed Debian 12 disk test onto /dev/vda" in console
    assert "powering off (oem-shutdown)" in console
    check = subprocess.run(["sfdisk", "--verify", installed.target], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout  # backup GPT moved to the end of the disk
    booted = installed.boots[firmware]
    assert booted.marker, booted.tail()
    fields = booted.fields()
    assert (fields["fw"], fields["root"], fields["fs"]) == ("efi", "/dev/vda3", "ext4")
    assert int(fields["size"]) > 2200  # the root grew to the bigger disk


@real
def test_network_install_then_boot_the_disk(unattended: Path, install_boots: qemu.Boots) -> None:
    """installpxe: the installer boots over the network and fetches the image by HTTP."""
    installed: Installed = install_boots["network"]
    append = (installed.target.parent / "served" / f"{BASENAME}.append").read_text().strip()
    assert append.startswith(
        f"boot=kiwi-install kiwi-like.install={{server}}/{BASENAME}.install.conf"
    )
    console = _installed_ok(installed).console
    assert "kiwi-like installer: installed Debian 12 disk test onto /dev/vda" in console
    assert f"/{BASENAME}.raw.zst" in installed.requested
    booted = installed.boots["bios"]
    assert booted.marker, booted.tail()
    assert booted.fields()["root"] == "/dev/vda3"


def _target(variants: dict[str, Path], name: str) -> Path:
    """The disk a run of `variants` had attached (see the fixture)."""
    return variants["install-prompt"].parent / f"{name}.raw"


@real
@pytest.mark.parametrize("firmware", UEFI_VARIANTS)
def test_nothing_is_written_unless_confirmed(
    variants: dict[str, Path], install_boots: qemu.Boots, firmware: str
) -> None:
    result: BootResult = install_boots["cancelled", firmware]
    assert result.returncode == 0, f"the installer did not power off:\n{result.tail()}"
    assert "will be written onto /dev/vda (2560 MiB): everything on it is lost" in result.console
    assert "kiwi-like installer: cancelled: nothing was written to /dev/vda" in result.console
    assert _untouched(_target(variants, f"cancelled-{firmware}"))


@real
@pytest.mark.extended  # CI time: the unattended install and its disk's boot stay in CI
@pytest.mark.parametrize("firmware", UEFI)
def test_confirmed_install_boots_the_installed_system(
    variants: dict[str, Path], install_boots: qemu.Boots, firmware: str
) -> None:
    result: BootResult = install_boots["confirmed", firmware]
    assert "booting the installed system" in result.console
    assert result.marker, result.tail()
    assert result.fields()["root"] == "/dev/vda3"  # the target, not the CD
    assert result.returncode == 0


@real
def test_device_filter_leaving_no_disk(
    variants: dict[str, Path], install_boots: qemu.Boots
) -> None:
    result: BootResult = install_boots["filtered"]
    assert result.returncode == 0, f"the installer did not power off:\n{result.tail()}"
    assert "leaving out /dev/vda: excluded by the device filter '^/dev/vd'" in result.console
    assert "ERROR: no disk to install onto: nothing was written" in result.console
    assert _untouched(_target(variants, "filtered"))


# ---- without a root or QEMU --------------------------------------------------


def test_install_settings_of_the_profiles() -> None:
    unattended = install_settings(_build("install"))
    assert (unattended.unattended, unattended.shutdown, unattended.install_first) == (
        True, True, True,
    )  # fmt: skip
    prompt = install_settings(_build("install-prompt"))
    assert (prompt.unattended, prompt.shutdown, prompt.reboot, prompt.skip_verify) == (
        False, False, False, False,
    )  # fmt: skip
    assert install_settings(_build("install-filtered")).device_filter == "^/dev/vd"


def _disk(tmp_path: Path) -> DiskResult:
    return DiskResult(
        image=tmp_path / "x.raw", size=1600 * MIB, table="gpt", partitions=(),
        root_uuid="1234-abcd", firmware="efi", kernel="6.1.0-9-amd64",
    )  # fmt: skip


def test_install_conf_is_what_the_shell_reads(tmp_path: Path) -> None:
    settings = install_settings(_build("install-filtered"))
    hostile = 'it\'s "quoted" $(touch /tmp/no) `x`'
    text = install_conf(settings, _disk(tmp_path), "x.raw.zst", "ab" * 32, hostile)
    conf = tmp_path / "install.conf"
    conf.write_text(text)
    shown = subprocess.run(
        ["sh", "-c", '. "$1"; printf "%s|" "$KL_TITLE" "$KL_IMAGE_MB" "$KL_DEVICE_FILTER" '
         '"$KL_UNATTENDED" "$KL_ROOT" "$KL_TABLE"', "sh", str(conf)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert shown == f"{hostile}|1600|^/dev/vd|true|UUID=1234-abcd|gpt|"


def test_install_menu_default_entry() -> None:
    entries, default = install_menu(_build("install"), "/boot/grub/kiwi-like-x.id")
    assert [entry.title for entry in entries] == [
        "Install Debian 12 disk test", "Boot from Hard Disk",
    ]  # fmt: skip
    assert default == 0  # installboot="install"
    assert entries[0].commands[0] == (
        "linux /install/vmlinuz boot=kiwi-install kiwi-like.medium=/boot/grub/kiwi-like-x.id "
        "console=ttyS0,115200"
    )
    plain = load_build(
        BOOT_TEST_DESCRIPTION,
        BuildOptions(profiles=("install",), set_type_attrs=("installboot=harddisk",)),
        RuntimeConfig(),
    )
    assert install_menu(plain, "/x")[1] == 1  # kiwi's default: boot from the hard disk


def test_missing_installer_tool_names_the_package(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "usr/sbin").mkdir(parents=True)
    (root / "usr/sbin/mkinitramfs").write_text("#!/bin/sh\n")
    with pytest.raises(KiwiLikeError, match="needs dd in the image: add the package coreutils"):
        check_installer_tools(root)


def test_installer_scripts_parse() -> None:
    installer = Path(__file__).resolve().parent.parent / "kiwi_like/create/iso/installer"
    for script in ("kiwi-install", "hook"):
        check = subprocess.run(["sh", "-n", str(installer / script)], capture_output=True)
        assert check.returncode == 0, check.stderr
    assert os.access(installer / "hook", os.X_OK)
