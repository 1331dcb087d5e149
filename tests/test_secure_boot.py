"""firmware="uefi": Secure Boot through Debian's signed chain, on disks and ISOs.

One Debian 12 description of the test's own (three profiles sharing one prepared
root): an oem disk, a live ISO and an install ISO, all firmware="uefi". The disk
boots with OVMF's Secure-Boot firmware (Microsoft's keys enrolled) and the guest
reports the SecureBoot variable; the live ISO boots with Secure Boot on and with
user networking, and reports the address its overlay's ifupdown file gave; the
install ISO installs onto a blank disk on q35 at 1536 MB. The guest's report
service prints one BOOT-OK line on the serial console and powers off.
The tests at the end need neither a root nor QEMU.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from kiwi_like.cli.main import main
from kiwi_like.create.boot.grub import SECURE_BOOT_FILES, SIGNED_GRUB_CONFIGS, secure_boot_tree
from kiwi_like.create.pipeline import create_image
from kiwi_like.description import BuildOptions, ResolvedBuild, load_build
from kiwi_like.description.imagetypes import image_packages, settings_of
from kiwi_like.description.imagetypes.iso import LiveSettings
from kiwi_like.description.imagetypes.oem import DiskSettings
from kiwi_like.errors import KiwiLikeError
from kiwi_like.runtime_config import RuntimeConfig
from tests.conftest import SHARED_CACHE, real
from tests.descriptions import Image, Type, description_xml, write_description
from tests.qemu import OVMF_SECURE_CODE, boot

NAME = "sb-test"
BASENAME = f"{NAME}.x86_64-1.0.0"
MIB = 1 << 20
ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
# generous: TCG, and other boots may share the two cores (an install reads and verifies
# the whole disk image through the emulated CPU)
BOOT_TIMEOUT = 1200
INSTALL_TIMEOUT = 2400
LAN_ADDRESS = "10.0.2.77/24"  # not what DHCP would give (10.0.2.15)
OPTIONS = "console=ttyS0,115200 net.ifnames=0"
MENU = '<bootloader name="grub2" console="serial" timeout="1"/>'
REPORT = """#!/bin/sh
# How this system booted: firmware, Secure Boot state, root, eth0's address and state.
if [ -d /sys/firmware/efi ]; then fw=efi; else fw=bios; fi
var=/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c
sb=$( [ -r $var ] && od -An -tu1 -j4 -N1 $var | tr -d ' ' || echo none)
net=$(ip -4 -o addr show dev eth0 2>/dev/null | awk '{print $4}' | head -n 1)
state=$(cat /sys/class/net/eth0/operstate 2>/dev/null || echo none)
root=$(findmnt -no SOURCE /)
# a line of its own, even if systemd's status output shares the console
printf '\\nBOOT-OK fw=%s sb=%s root=%s net=%s state=%s\\n' "$fw" "$sb" "$root" "${net:-none}" \\
    "$state" >/dev/ttyS0
systemctl --no-block poweroff
"""
SERVICE = """[Unit]
Description=Report the boot on the serial line and power off
After=multi-user.target network-online.target
Wants=network-online.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/boot-report

[Install]
WantedBy=multi-user.target
"""
# the description's own network config, which the live system must keep
LAN0 = f"allow-hotplug eth0\niface eth0 inet static\n    address {LAN_ADDRESS}\n"
CONFIG_SH = """#!/bin/bash
set -euo pipefail
systemctl enable boot-report.service
systemctl set-default multi-user.target
"""
PACKAGES = (
    "linux-image-amd64", "initramfs-tools", "systemd", "systemd-sysv", "udev", "e2fsprogs",
    "fdisk", "zstd", "busybox", "live-boot", "ifupdown", "iproute2", "grub-pc-bin",
    "grub-efi-amd64-bin", "shim-signed", "grub-efi-amd64-signed",
)  # fmt: skip


INSTALL_CONFIG = (
    "<oemconfig><oem-unattended>true</oem-unattended><oem-shutdown>true</oem-shutdown></oemconfig>"
)
TYPES = {
    "disk": Type("oem", {"filesystem": "ext4", "firmware": "uefi", "kernelcmdline": OPTIONS},
                 MENU),
    "live": Type("iso", {"firmware": "uefi", "kernelcmdline": OPTIONS}, MENU),
    "install": Type("oem", {"filesystem": "ext4", "firmware": "uefi", "installiso": "true",
                            "installboot": "install", "kernelcmdline": OPTIONS},
                    MENU + INSTALL_CONFIG),
}  # fmt: skip
IMAGE = Image(
    name=NAME,
    profiles={"disk": "oem disk", "live": "live ISO", "install": "install ISO"},
    preferences={"locale": "POSIX", "timezone": "UTC"},
    types=(),
    packages={"image": PACKAGES, "bootstrap": ("ca-certificates",)},
)


def config_xml() -> str:
    """IMAGE with one <preferences profiles=...> per profile after the common one."""
    text = description_xml(IMAGE)
    blocks = []
    for profile, build_type in TYPES.items():
        typed = description_xml(Image(types=(build_type,)))
        start, end = typed.index("<preferences>"), typed.index("</preferences>")
        body = typed[start + len("<preferences>") : end]
        body = body[body.index("<type") :]
        blocks.append(f'<preferences profiles="{profile}">\n        {body}</preferences>\n')
    cut = text.index("</preferences>") + len("</preferences>\n")
    return text[:cut] + "    " + "    ".join(blocks) + text[cut:]


def _description(directory: Path) -> Path:
    return write_description(
        directory,
        config_xml(),
        {
            "config.sh": CONFIG_SH,
            "root/usr/local/sbin/boot-report": REPORT,
            "root/etc/systemd/system/boot-report.service": SERVICE,
            "root/etc/network/interfaces.d/lan0": LAN0,
        },
    )


def _build(description: Path, profile: str) -> ResolvedBuild:
    return load_build(description, BuildOptions(profiles=(profile,)), RuntimeConfig())


@pytest.fixture(scope="module")
def description(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = _description(tmp_path_factory.mktemp("sb-description"))
    (path / "root/usr/local/sbin/boot-report").chmod(0o755)
    return path


@pytest.fixture(scope="module")
def root(description: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The description prepared once; every profile is created from it."""
    if not OVMF_SECURE_CODE.is_file():
        pytest.skip("needs ovmf with the Secure-Boot firmware")
    root = tmp_path_factory.mktemp("sb-root") / "root"
    log = tmp_path_factory.mktemp("sb-log") / "prepare.log"
    code = main(
        [
            "--profile", "disk", "--logfile", str(log), "system", "prepare",
            "--description", str(description), "--root", str(root),
            "--shared-cache-dir", str(SHARED_CACHE),
        ]
    )  # fmt: skip
    assert code == 0, log.read_text()[-3000:]
    return root


def _create(description: Path, root: Path, profile: str, target: Path) -> Path:
    create_image(_build(description, profile), root, target, RuntimeConfig())
    return target


@pytest.fixture(scope="module")
def disk(description: Path, root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = _create(description, root, "disk", tmp_path_factory.mktemp("sb-disk"))
    return target / f"{BASENAME}.raw"


@pytest.fixture(scope="module")
def live(description: Path, root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = _create(description, root, "live", tmp_path_factory.mktemp("sb-live"))
    return target / f"{BASENAME}.iso"


@pytest.fixture(scope="module")
def install(description: Path, root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = _create(description, root, "install", tmp_path_factory.mktemp("sb-install"))
    return target / f"{BASENAME}.install.iso"


def _esp_listing(image: Path) -> str:
    """The files of the disk's EFI system partition, by mtools at its offset."""
    table = subprocess.run(
        ["sfdisk", "--json", str(image)], capture_output=True, text=True, check=True
    ).stdout
    (esp,) = [
        part
        for part in json.loads(table)["partitiontable"]["partitions"]
        if part["type"] == ESP_TYPE
    ]
    listing = subprocess.run(
        ["mdir", "-/", "-b", "-i", f"{image}@@{esp['start'] * 512}", "::/"],
        capture_output=True,
        text=True,
        check=True,
        env={"MTOOLS_SKIP_CHECK": "1", "PATH": "/usr/bin:/bin"},
    )
    return listing.stdout


@real
def test_disk_boots_with_secure_boot_on(disk: Path) -> None:
    esp = _esp_listing(disk)
    for _, target, _ in SECURE_BOOT_FILES:
        assert f"::/{target}" in esp, esp
    booted = boot(disk, "efi-sb", timeout=BOOT_TIMEOUT)
    assert booted.marker, booted.tail()
    assert (booted.fields()["fw"], booted.fields()["sb"]) == ("efi", "1")
    assert "secureboot: Secure boot enabled" in booted.console
    assert booted.returncode == 0, booted.tail()


@pytest.mark.extended
@real
@pytest.mark.parametrize("firmware", ["bios", "efi"])
def test_disk_boots_without_secure_boot(disk: Path, firmware: str) -> None:
    """Shim boots GRUB where Secure Boot is off too; the BIOS code is GRUB's as for efi."""
    booted = boot(disk, firmware, timeout=BOOT_TIMEOUT)
    assert booted.marker, booted.tail()
    assert booted.fields()["fw"] == firmware
    assert booted.fields()["sb"] != "1"


@real
def test_live_iso_secure_boot_and_the_descriptions_network(live: Path) -> None:
    """live-boot must not replace the image's ifupdown config: eth0 is up with the overlay's
    static address, not DHCP's."""
    # http_port: a NIC on QEMU's user network (the test serves nothing on port 9)
    booted = boot(cdrom=live, firmware="efi-sb", http_port=9, timeout=BOOT_TIMEOUT)
    assert booted.marker, booted.tail()
    fields = booted.fields()
    assert (fields["fw"], fields["sb"]) == ("efi", "1")
    assert (fields["net"], fields["state"]) == (LAN_ADDRESS, "up"), booted.tail()


@pytest.mark.extended
@real
def test_live_iso_on_q35_at_1536_mb(live: Path) -> None:
    booted = boot(cdrom=live, firmware="efi-q35", memory=1536, timeout=BOOT_TIMEOUT)
    assert booted.marker, booted.tail()
    assert booted.fields()["fw"] == "efi"


@pytest.mark.extended
@real
def test_install_iso_on_q35_at_1536_mb(install: Path, tmp_path: Path) -> None:
    """The q35 machine (pflash OVMF) with 1536 MB: the installer boots and writes the disk,
    which then boots with Secure Boot on."""
    target = tmp_path / "target.raw"
    with open(target, "wb") as handle:
        handle.truncate(2560 * MIB)
    installed = boot(
        cdrom=install,
        target=target,
        firmware="efi-q35",
        memory=1536,
        marker=None,
        timeout=INSTALL_TIMEOUT,
    )
    assert installed.returncode == 0, f"the installer did not power off:\n{installed.tail()}"
    assert target.stat().st_blocks > 0, installed.tail()
    booted = boot(target, "efi-sb", timeout=BOOT_TIMEOUT)
    assert booted.marker, booted.tail()
    assert booted.fields()["sb"] == "1"


# ---- without a root or QEMU --------------------------------------------------


def test_uefi_means_secure_boot(tmp_path: Path) -> None:
    description = _description(tmp_path / "d")
    disk_settings = settings_of(_build(description, "disk"), DiskSettings)
    assert (disk_settings.firmware, disk_settings.secure_boot) == ("efi", True)
    live_settings = settings_of(_build(description, "live"), LiveSettings)
    assert live_settings.medium.secure_boot
    install_settings = settings_of(_build(description, "install"), DiskSettings)
    assert install_settings.install_iso is not None and install_settings.install_iso.secure_boot
    for profile in ("disk", "live", "install"):
        packages = image_packages(_build(description, profile))
        assert {"shim-signed", "grub-efi-amd64-signed"} <= set(packages)
    plain = _build(description, "disk")
    efi = load_build(
        description,
        BuildOptions(profiles=("disk",), set_type_attrs=("firmware=efi",)),
        RuntimeConfig(),
    )
    assert not settings_of(efi, DiskSettings).secure_boot
    assert "shim-signed" not in image_packages(efi)
    assert plain.build_type.firmware == "uefi"


def test_missing_signed_chain_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(KiwiLikeError, match="add the package shim-signed"):
        secure_boot_tree(tmp_path, tmp_path / "tree", "")


def test_signed_grub_config_finds_the_real_one(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for source, _, _ in SECURE_BOOT_FILES:
        path = root / source.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(source.encode())
    tree = tmp_path / "tree"
    secure_boot_tree(root, tree, "search --fs-uuid --set=root X\nset prefix=($root)/boot/grub\n")
    assert (tree / "EFI/BOOT/BOOTX64.EFI").read_bytes().endswith(b"shimx64.efi.signed")
    assert (tree / "EFI/BOOT/grubx64.efi").read_bytes().endswith(b"grubx64.efi.signed")
    for name in SIGNED_GRUB_CONFIGS:
        assert (
            (tree / name)
            .read_text()
            .endswith("set prefix=($root)/boot/grub\nconfigfile $prefix/grub.cfg\n")
        )
