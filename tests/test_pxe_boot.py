"""The kis (PXE) tarball of build-tests/x86/debian-disk, network-booted in QEMU.

The tarball is created from the session's prepared root and unpacked into a
directory that a test HTTP server on 127.0.0.1 serves. QEMU boots the
tarball's kernel and initrd directly with its `.append` line, `{server}`
replaced by the address under which the guest reaches that server (QEMU's
user-mode networking, emulated inside QEMU, restricted to that one address).
The tests at the end need neither a root nor QEMU.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tarfile
from pathlib import Path

import pytest

from kiwi_like.create.boot.netboot_samples import ipxe_script, pxelinux_default
from kiwi_like.create.pipeline import create_image
from kiwi_like.create.pxe.builder import append_line
from kiwi_like.description import BuildOptions, load_build
from kiwi_like.description.imagetypes.kis import kis_settings
from kiwi_like.errors import KiwiLikeError
from kiwi_like.result import RESULT_FILE
from kiwi_like.runtime_config import RuntimeConfig
from tests import qemu
from tests.conftest import BOOT_TEST_DESCRIPTION, real, selected
from tests.netboot import NetBoot, netboot
from tests.qemu import GUEST_HTTP, Answer

BASE = "Debian-Disk-Test.x86_64-1.0.0"
CONTENT = sorted(
    [
        f"{BASE}.append",
        f"{BASE}.initrd",
        f"{BASE}.ipxe",
        f"{BASE}.kernel",
        f"{BASE}.squashfs",
        f"{BASE}.squashfs.sha256",
        "pxelinux.cfg/default",
    ]
)


def _build(*attrs: str):  # type: ignore[no-untyped-def]
    return load_build(
        BOOT_TEST_DESCRIPTION,
        BuildOptions(profiles=("pxe",), set_type_attrs=attrs),
        RuntimeConfig(),
    )


@pytest.fixture(scope="module")
def kis_target(prepared_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("kis")
    create_image(_build(), prepared_root, target, RuntimeConfig())
    return target


@pytest.fixture(scope="module")
def served(request: pytest.FixtureRequest, kis_target: Path, kis_boots: qemu.Boots) -> Path:
    """The tarball unpacked, as a boot server would hold it. The network boots start
    right away: from it and from a copy with a corrupted root image."""
    directory = kis_target.parent / "kis-served"
    with tarfile.open(kis_target / f"{BASE}.tar.xz") as tar:
        tar.extractall(directory, filter="data")
    if selected(request, "test_network_boot_from_http"):
        kis_boots.start_job("good", netboot, directory, BASE)
    if selected(request, "test_corrupted_root_image_is_not_booted"):
        corrupt = kis_target.parent / "kis-corrupt"
        shutil.copytree(directory, corrupt)
        image = corrupt / f"{BASE}.squashfs"
        with open(image, "r+b") as handle:
            handle.seek(image.stat().st_size // 2)
            byte = handle.read(1)
            handle.seek(-1, 1)
            handle.write(bytes([byte[0] ^ 0xFF]))
        power_off = Answer(re.compile(r"Press Enter to power off"), "")
        kis_boots.start_job("corrupt", netboot, corrupt, BASE, answers=(power_off,))
    return directory


@pytest.fixture(scope="module")
def kis_boots() -> qemu.Boots:
    return qemu.Boots()


@real
def test_tarball_content_and_results(kis_target: Path, served: Path) -> None:
    data = json.loads((kis_target / RESULT_FILE).read_text())
    kinds = {entry["filename"]: entry["kind"] for entry in data["results"].values()}
    assert kinds[f"{BASE}.tar.xz"] == "kis_archive"
    assert kinds[f"{BASE}.tar.xz.sha256"] == "image_checksum"
    assert {f"{BASE}.packages", f"{BASE}.verified"} <= set(kinds)
    names = sorted(str(p.relative_to(served)) for p in served.rglob("*") if p.is_file())
    assert names == CONTENT
    digest = hashlib.sha256((served / f"{BASE}.squashfs").read_bytes()).hexdigest()
    assert (served / f"{BASE}.squashfs.sha256").read_text() == f"{digest}  {BASE}.squashfs\n"
    append = (served / f"{BASE}.append").read_text()
    assert append.count("{server}") == 1
    assert f"kiwi-like.image={{server}}/{BASE}.squashfs kiwi-like.sha256={digest}" in append
    assert append.strip().endswith("ip=dhcp console=ttyS0,115200")
    assert append.strip() in (served / "pxelinux.cfg/default").read_text()
    assert f"kernel {{server}}/{BASE}.kernel" in (served / f"{BASE}.ipxe").read_text()


@real
def test_network_boot_from_http(served: Path, kis_boots: qemu.Boots) -> None:
    fetched: NetBoot = kis_boots["good"]
    booted = fetched.result
    assert booted.marker, booted.tail()
    assert booted.fields()["fs"] == "overlay"
    assert f"/{BASE}.squashfs" in fetched.requested
    assert "kiwi-like netboot: checksum ok" in booted.console


@real
def test_corrupted_root_image_is_not_booted(served: Path, kis_boots: qemu.Boots) -> None:
    result = kis_boots["corrupt"].result
    assert result.marker is None
    assert re.search(
        rf"kiwi-like netboot: ERROR: checksum mismatch for {GUEST_HTTP}/{BASE}\.squashfs "
        r"\(expected [0-9a-f]{64}, got [0-9a-f]{64}\): not booting it",
        result.console,
    ), result.tail()
    assert result.returncode == 0  # it powered off


# ---- without a root or QEMU --------------------------------------------------


def test_kis_settings_and_append_line() -> None:
    settings = kis_settings(_build())
    assert (settings.filesystem, settings.squashfs_compression) == ("squashfs", "zstd")
    line = append_line(settings, "x.squashfs", "ab" * 32)
    assert line == (
        f"boot=kiwi-netboot kiwi-like.image={{server}}/x.squashfs kiwi-like.sha256={'ab' * 32} "
        "kiwi-like.fstype=squashfs ip=dhcp console=ttyS0,115200"
    )
    assert kis_settings(_build("filesystem=ext4")).filesystem == "ext4"


@pytest.mark.parametrize(
    ("attr", "message"),
    [
        ("filesystem=erofs", "filesystem 'erofs' is not supported for kis images"),
        ("initrd_system=none", "initrd_system 'none' is not supported for kis images"),
    ],
)
def test_unsupported_kis_settings(attr: str, message: str) -> None:
    with pytest.raises(KiwiLikeError, match=message):
        kis_settings(_build(attr))


def test_boot_server_samples() -> None:
    default = pxelinux_default("jeos", "j.kernel", "j.initrd", "boot=kiwi-netboot a=b")
    assert "DEFAULT jeos\nLABEL jeos\n    KERNEL j.kernel\n" in default
    assert "    APPEND initrd=j.initrd boot=kiwi-netboot a=b\n" in default
    script = ipxe_script("j.kernel", "j.initrd", "x={server}/r")
    assert script.startswith("#!ipxe\n")
    assert "kernel {server}/j.kernel initrd=j.initrd x={server}/r\n" in script
    assert "initrd {server}/j.initrd\nboot\n" in script
