"""The live ISO of build-tests/x86/debian-disk, booted from CD and as a USB stick.

The ISO is created with `system create` from the session's prepared root
(conftest.py) and booted in QEMU with SeaBIOS and OVMF (on the pc and the q35
machine), all boots in the background as soon as the ISO exists: from an IDE CD drive
with no disk attached, and as the only (virtio) disk, which is what a USB
stick written with dd looks like. The image's boot-ok service reports the
root file system: live-boot's overlay. The tests at the end need neither a
root nor QEMU.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from kiwi_like.create.boot.squashfs import compression_options
from kiwi_like.create.iso.boot import (
    HARD_DISK,
    MenuEntry,
    early_config,
    grub_cfg,
    medium_id_file,
)
from kiwi_like.create.iso.live import live_menu_entries
from kiwi_like.create.iso.medium import xorriso_argv
from kiwi_like.create.pipeline import create_image
from kiwi_like.description import BuildOptions, load_build
from kiwi_like.description.imagetypes.iso import live_settings
from kiwi_like.description.imagetypes.medium import iso_settings
from kiwi_like.errors import KiwiLikeError
from kiwi_like.result import RESULT_FILE
from kiwi_like.runtime_config import RuntimeConfig
from tests import qemu
from tests.conftest import BOOT_TEST_DESCRIPTION, MINIMAL, real, selected

BASENAME = "Debian-Disk-Test.x86_64-1.0.0"


FIRMWARES = ["bios", "efi", "efi-q35"]  # q35: OVMF on the machine closest to real hardware


@pytest.fixture(scope="module")
def live_boots() -> qemu.Boots:
    return qemu.Boots()


@pytest.fixture(scope="module")
def live_target(
    request: pytest.FixtureRequest,
    prepared_root: Path,
    tmp_path_factory: pytest.TempPathFactory,
    live_boots: qemu.Boots,
) -> Path:
    """The create stage for the live profile, from the shared root, and the boots of the
    tests, started as soon as their ISO exists. The persistent stick comes first: its
    boots must run one after the other, so they start while the live ISO is created."""
    machines = selected(request, "test_hybridpersistent_stick_keeps_changes", "machine")
    if machines:
        work = tmp_path_factory.mktemp("live-persistent")
        iso = _persistent_iso(prepared_root, work)
        for machine in machines:
            stick = _stick(iso, work / f"stick-{machine}.raw")
            live_boots.start_job(
                ("persistent", machine), _boot_in_turn, stick, PERSISTENT_BOOTS[machine]
            )
    target = tmp_path_factory.mktemp("live")
    build = load_build(BOOT_TEST_DESCRIPTION, BuildOptions(profiles=("live",)), RuntimeConfig())
    create_image(build, prepared_root, target, RuntimeConfig())
    iso = target / f"{BASENAME}.iso"
    for firmware in selected(request, "test_live_iso_boots_from_cd"):
        live_boots.start(("cd", firmware), cdrom=iso, firmware=firmware)
    for firmware in selected(request, "test_live_iso_boots_as_usb_stick"):
        live_boots.start(("usb", firmware), iso, firmware)
    return target


# a persistent stick boots once with each firmware of its machine's chain, in this order:
# each boot sees the last (the q35 chain in `make test-extended`)
PERSISTENT_BOOTS = {"pc": ("bios", "efi"), "q35": ("bios", "efi-q35")}


def _persistent_iso(prepared_root: Path, work: Path) -> Path:
    build = load_build(
        BOOT_TEST_DESCRIPTION, BuildOptions(profiles=("live-persistent",)), RuntimeConfig()
    )
    out = work / "out"
    create_image(build, prepared_root, out, RuntimeConfig())
    return out / f"{BASENAME}.iso"


def _stick(iso: Path, stick: Path) -> Path:
    """The live-persistent ISO written to a stick bigger than the ISO."""
    subprocess.run(["cp", "--sparse=always", iso, stick], check=True)
    os.truncate(stick, 1536 << 20)
    return stick


def _boot_in_turn(stick: Path, firmwares: tuple[str, ...]) -> list[qemu.BootResult]:
    """Boot the writable stick with each firmware in turn, until one fails."""
    results = []
    for firmware in firmwares:
        # the first boot also makes the persistence partition
        results.append(qemu.boot(target=stick, firmware=firmware, timeout=900))
        if not results[-1].marker:
            break
    return results


def _xorriso(iso: Path, *commands: str) -> str:
    done = subprocess.run(
        ["xorriso", "-indev", str(iso), *commands], capture_output=True, text=True, check=True
    )
    return done.stdout + done.stderr


@real
def test_live_results(live_target: Path) -> None:
    data = json.loads((live_target / RESULT_FILE).read_text())
    kinds = {entry["filename"]: entry["kind"] for entry in data["results"].values()}
    assert kinds == {
        f"{BASENAME}.iso": "live_image",
        f"{BASENAME}.iso.sha256": "image_checksum",
        f"{BASENAME}.packages": "image_packages",
        f"{BASENAME}.changes": "image_changes",
        f"{BASENAME}.verified": "image_verified",
    }
    check = subprocess.run(["sha256sum", "-c", f"{BASENAME}.iso.sha256"], cwd=live_target)
    assert check.returncode == 0
    assert data["build"]["image"] == "iso"


@real
def test_el_torito_entries_and_identity(live_target: Path) -> None:
    iso = live_target / f"{BASENAME}.iso"
    report = _xorriso(iso, "-report_el_torito", "plain")
    assert "El Torito boot img :   1  BIOS  y   none" in report
    assert "El Torito boot img :   2  UEFI  y   none" in report
    assert "Volume id    : 'KIWI_LIKE_LIVE'" in report
    pvd = _xorriso(iso, "-pvd_info")  # ISO 9660 keeps these in upper case
    assert "Publisher Id : KIWI-LIKE TESTS" in pvd
    assert "App Id       : DEBIAN-LIVE-TEST" in pvd
    listing = _xorriso(iso, "-find", "/live", "-type", "f")
    for name in ("vmlinuz", "initrd.img", "filesystem.squashfs"):
        assert f"'/live/{name}'" in listing
    config = _grub_cfg(iso, live_target.parent)
    assert "linux /live/vmlinuz boot=live components nonetworking console=ttyS0,115200" in config


@real
@pytest.mark.parametrize("firmware", FIRMWARES)
def test_live_iso_boots_from_cd(live_target: Path, live_boots: qemu.Boots, firmware: str) -> None:
    booted = live_boots["cd", firmware]
    assert booted.marker, booted.tail()
    fields = booted.fields()
    assert (fields["fw"], fields["fs"]) == (firmware.removesuffix("-q35"), "overlay")
    assert booted.returncode == 0, booted.tail()


@real
# CI boots the stick on BIOS (and the persistent stick on BIOS, then UEFI); the CD on q35
@pytest.mark.parametrize(
    "firmware", ["bios", *(pytest.param(f, marks=pytest.mark.extended) for f in FIRMWARES[1:])]
)
def test_live_iso_boots_as_usb_stick(
    live_target: Path, live_boots: qemu.Boots, firmware: str
) -> None:
    booted = live_boots["usb", firmware]
    assert booted.marker, booted.tail()
    fields = booted.fields()
    assert (fields["fw"], fields["fs"]) == (firmware.removesuffix("-q35"), "overlay")


@real
@pytest.mark.parametrize("machine", ["pc", pytest.param("q35", marks=pytest.mark.extended)])
def test_hybridpersistent_stick_keeps_changes(
    live_target: Path, live_boots: qemu.Boots, tmp_path: Path, machine: str
) -> None:
    """Written to a bigger stick, the persistent ISO makes its persistence partition on
    the first boot and every later boot sees what the earlier ones wrote (bios, then
    efi on the machine)."""
    first, *later = live_boots["persistent", machine]
    assert first.marker, first.tail()
    assert "kiwi-like persistence: made /dev/vda3" in first.console
    assert first.fields()["boots"] == "1"
    for count, booted in enumerate(later, start=2):
        assert booted.marker, booted.tail()
        assert booted.fields()["boots"] == str(count)  # the earlier boots' change persisted
        assert "kiwi-like persistence: made" not in booted.console
    assert len(later) == len(PERSISTENT_BOOTS[machine]) - 1
    # the plain live ISO keeps nothing: every boot is its first
    plain = live_target / f"{BASENAME}.iso"
    assert "persistence" not in _grub_cfg(plain, tmp_path)


def _grub_cfg(iso: Path, work: Path) -> str:
    extracted = work / "grub.cfg"
    extracted.unlink(missing_ok=True)
    _xorriso(iso, "-osirrox", "on", "-extract", "/boot/grub/grub.cfg", str(extracted))
    return extracted.read_text()


# ---- without a root or QEMU --------------------------------------------------


def _settings(*attrs: str):  # type: ignore[no-untyped-def]
    build = load_build(
        BOOT_TEST_DESCRIPTION,
        BuildOptions(profiles=("live",), set_type_attrs=attrs),
        RuntimeConfig(),
    )
    return live_settings(build).medium


def test_iso_settings_of_the_test_description() -> None:
    settings = _settings()
    assert (settings.firmware, settings.volid, settings.squashfs_compression) == (
        "efi", "KIWI_LIKE_LIVE", "zstd",
    )  # fmt: skip
    assert (settings.publisher, settings.application_id) == ("kiwi-like tests", "debian-live-test")


def test_iso_defaults(write_description) -> None:  # type: ignore[no-untyped-def]
    build = load_build(write_description(MINIMAL), BuildOptions(build_type="iso"), RuntimeConfig())
    settings = iso_settings(build)
    assert (settings.volid, settings.firmware, settings.publisher) == ("CDROM", "bios", None)
    assert settings.menu.timeout == 10 and settings.menu.title == "minimal"


@pytest.mark.parametrize(
    ("attr", "message"),
    [
        ("firmware=ofw", "firmware 'ofw' is not supported for ISO images"),
        ("squashfscompression=lzma", "squashfscompression"),
    ],
)
def test_unsupported_iso_settings(attr: str, message: str) -> None:
    with pytest.raises(KiwiLikeError, match=message):
        _settings(attr)


def test_live_menu_and_early_config() -> None:
    settings = _settings()
    config = grub_cfg(settings.menu, live_menu_entries(settings))
    assert "set timeout=1\nserial --unit=0 --speed=115200\nterminal_input serial\n" in config
    assert "menuentry 'Debian 12 disk test' {" in config
    assert "    initrd /live/initrd.img\n" in config
    (persistent,) = live_menu_entries(settings, persistent=True)
    assert persistent.commands[0].startswith(
        "linux /live/vmlinuz boot=live components nonetworking persistence console=ttyS0,115200"
    )
    two = grub_cfg(settings.menu, [MenuEntry.linux("a", "/k", "/i", ()), HARD_DISK], 1)
    assert "set default=1" in two
    assert "menuentry 'a' {\n    linux /k\n    initrd /i\n}" in two
    assert "    chainloader +1\n}" in two
    id_file = medium_id_file()
    assert id_file != medium_id_file()  # a new one for every medium
    early = early_config(id_file)
    assert early.startswith(f"search --no-floppy --file --set=root {id_file}\n")
    assert "if" not in early.split()  # the core's rescue parser has no `if`


def test_xorriso_command_line(tmp_path: Path) -> None:
    from kiwi_like.create.iso.boot import MediumBoot

    medium = MediumBoot("boot/grub/eltorito.img", "boot/grub/efi.img", tmp_path / "hybrid")
    argv = xorriso_argv(tmp_path / "tree", tmp_path / "out.iso", medium, _settings())
    joined = " ".join(argv)
    assert "-volid KIWI_LIKE_LIVE" in joined and "-publisher kiwi-like tests" in joined
    assert f"--grub2-mbr {tmp_path / 'hybrid'}" in joined
    assert "-partition_offset 16" in joined  # the ISO file system mountable as partition 1
    assert (
        f"--efi-boot boot/grub/efi.img -append_partition 2 0xef {tmp_path}/tree/boot/grub/efi.img"
        in joined
    )
    bios_only = xorriso_argv(
        tmp_path / "tree", tmp_path / "out.iso", MediumBoot("e.img", None, tmp_path / "h"),
        _settings("firmware=bios"),
    )  # fmt: skip
    assert "--efi-boot" not in bios_only
    assert compression_options("uncompressed") == ["-noI", "-noD", "-noF", "-noX"]
    assert compression_options("xz") == ["-comp", "xz"]
