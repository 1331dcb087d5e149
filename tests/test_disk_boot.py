"""Disk images from a real Debian 12 root, booted in QEMU with SeaBIOS and OVMF.

The root of build-tests/x86/debian-disk is prepared once per test session
(the `prepared_root` fixture of conftest.py); disks are built from it with
`build_disk` and booted until the image's boot-ok service prints
`BOOT-OK fw=... root=... fs=... size=...`. The tests at the end
(layout planning, GRUB patching, sparse copies, a root without GRUB) need
neither a root nor QEMU.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from kiwi_like.create.boot import filesystems as disk_filesystems
from kiwi_like.create.boot.kernel import Kernel
from kiwi_like.create.boot.tree import excluded_paths, parked, tree_size
from kiwi_like.create.disk import DiskResult, build_disk
from kiwi_like.create.disk.grub import patched_core, patched_mbr
from kiwi_like.create.disk.grubcfg import early_config, grub_cfg
from kiwi_like.create.disk.identity import Identities
from kiwi_like.create.disk.layout import device_reference, partuuid, plan_layout
from kiwi_like.create.disk.sparse import copy_into
from kiwi_like.description import BuildOptions, load_build
from kiwi_like.description.imagetypes.oem import DiskSettings, disk_settings
from kiwi_like.description.model import Size
from kiwi_like.errors import KiwiLikeError
from kiwi_like.runtime_config import RuntimeConfig
from tests import qemu
from tests.conftest import BOOT_TEST_DESCRIPTION, q35_extended, real, selected
from tests.qemu import BootResult

DESCRIPTION = BOOT_TEST_DESCRIPTION
MIB = 1 << 20
BIOS_BOOT = "21686148-6449-6E6F-744E-656564454649"
ESP = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
LINUX = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"


@pytest.fixture(scope="module")
def disks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("disks")


def _build(root: Path, out: Path, profile: str, *attrs: str) -> DiskResult:
    build = load_build(
        DESCRIPTION, BuildOptions(profiles=(profile,), set_type_attrs=attrs), RuntimeConfig()
    )
    scratch = out / f"scratch-{profile}"
    scratch.mkdir()
    name = "-".join([profile, *(a.split("=")[1] for a in attrs)])
    return build_disk(build, root, out / f"{name}.raw", scratch)


@pytest.fixture(scope="module")
def disk_boots() -> qemu.Boots:
    """The boots of this module's disks, keyed (disk, firmware). The disks never change
    (QEMU writes an overlay), so one boot per disk and firmware serves every test."""
    return qemu.Boots()


def _firmwares(request: pytest.FixtureRequest, name: str) -> list[str]:
    """The firmwares the selected tests boot the disk `name` with."""
    grows = selected(request, "test_root_grows_on_a_bigger_disk")
    wanted = {
        "ext4": {*selected(request, "test_ext4_disk_boots"), *grows},
        "xfs": set(selected(request, "test_xfs_disk_boots")),
        "btrfs": {"bios"} if selected(request, "test_btrfs_msdos_disk_with_swap_boots") else set(),
    }
    return sorted(wanted[name], key=qemu.FIRMWARES.index)


def _built(request: pytest.FixtureRequest, name: str) -> DiskResult:
    """Build the disk and start its boots at once: they run while the tests go on (and
    the next disk builds)."""
    disks: Path = request.getfixturevalue("disks")
    boots: qemu.Boots = request.getfixturevalue("disk_boots")
    disk = _build(request.getfixturevalue("prepared_root"), disks, name)
    for firmware in _firmwares(request, name):
        boots.start((name, firmware), disk.image, firmware)
    grows = selected(request, "test_root_grows_on_a_bigger_disk")
    if name == "ext4" and grows:
        bigger = disks / "bigger.raw"
        subprocess.run(["cp", "--sparse=always", disk.image, bigger], check=True)
        os.truncate(bigger, disk.size + 1024 * MIB)
        for firmware in grows:
            boots.start(("bigger", firmware), bigger, firmware)
    return disk


@pytest.fixture(scope="module")
def ext4_disk(request: pytest.FixtureRequest) -> DiskResult:
    return _built(request, "ext4")


@pytest.fixture(scope="module")
def xfs_disk(request: pytest.FixtureRequest) -> DiskResult:
    return _built(request, "xfs")


@pytest.fixture(scope="module")
def btrfs_disk(request: pytest.FixtureRequest) -> DiskResult:
    return _built(request, "btrfs")


def _boot_ok(boots: qemu.Boots, disk: str, firmware: str) -> dict[str, str]:
    result: BootResult = boots[disk, firmware]
    print(f"{disk} {firmware}: {result.marker} after {result.seconds:.0f} s")
    assert result.marker, f"no BOOT-OK within the timeout:\n{result.tail()}"
    assert result.returncode == 0, f"QEMU did not power off cleanly:\n{result.tail()}"
    return result.fields()


# ---- what is written ---------------------------------------------------------


def _sfdisk_json(image: Path) -> dict:
    done = subprocess.run(["sfdisk", "--json", image], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)["partitiontable"]


def _partition_file(disk: DiskResult, name: str, target: Path) -> Path:
    partition = disk.partition(name)
    subprocess.run(
        ["dd", f"if={disk.image}", f"of={target}", "bs=1M", "conv=sparse", "status=none",
         f"skip={partition.start // MIB}", f"count={partition.size // MIB}"],
        check=True,
    )  # fmt: skip
    return target


def _head(image: Path, size: int) -> bytes:
    with open(image, "rb") as handle:
        return handle.read(size)


@real
def test_gpt_layout(ext4_disk: DiskResult) -> None:
    table = _sfdisk_json(ext4_disk.image)
    assert table["label"] == "gpt"
    parts = table["partitions"]
    assert [p["type"] for p in parts] == [BIOS_BOOT, ESP, LINUX]
    assert [p["name"] for p in parts] == ["p.legacy", "p.UEFI", "p.lxroot"]
    assert parts[0]["start"] == 2048 and parts[0]["size"] == 2048
    assert parts[1]["size"] * 512 == 64 * MIB
    root_end = (parts[-1]["start"] + parts[-1]["size"]) * 512
    assert root_end == ext4_disk.size - MIB  # root last, up to the GPT backup's MiB
    assert ext4_disk.size == 1600 * MIB == ext4_disk.image.stat().st_size
    assert ext4_disk.partition("p.lxroot").uuid == ext4_disk.root_uuid
    verify = subprocess.run(["sfdisk", "--verify", ext4_disk.image], capture_output=True)
    assert verify.returncode == 0, verify.stdout


@real
def test_mbr_boot_code_points_at_the_core_image(ext4_disk: DiskResult, prepared_root: Path) -> None:
    data = _head(ext4_disk.image, 3 * MIB)
    boot_img = (prepared_root / "usr/lib/grub/i386-pc/boot.img").read_bytes()
    mbr = data[:512]
    assert mbr[510:512] == b"\x55\xaa"
    assert mbr[0x1BE + 4] == 0xEE  # the protective MBR entry survived
    assert struct.unpack_from("<Q", mbr, 0x5C)[0] == 2048
    assert mbr[0x66:0x68] == b"\x90\x90"
    patched = set(range(0x5C, 0x64)) | {0x66, 0x67}
    assert all(mbr[i] == boot_img[i] for i in range(440) if i not in patched)
    core = data[2048 * 512 : 2049 * 512]
    assert struct.unpack_from("<Q", core, 500)[0] == 2049


@real
def test_esp_and_root_content(ext4_disk: DiskResult, tmp_path: Path) -> None:
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    esp = ext4_disk.partition("p.UEFI")
    listing = subprocess.run(
        ["mdir", "-b", "-i", f"{ext4_disk.image}@@{esp.start}", "::/EFI/BOOT"],
        capture_output=True, text=True, env=env, check=True,
    ).stdout  # fmt: skip
    assert "BOOTX64.EFI" in listing
    root = _partition_file(ext4_disk, "p.lxroot", tmp_path / "root.img")

    def debugfs(request: str) -> str:
        done = subprocess.run(
            ["debugfs", "-R", request, root], capture_output=True, text=True, check=True
        )
        return done.stdout + done.stderr

    fstab = debugfs("cat /etc/fstab")
    assert f"UUID={ext4_disk.root_uuid} / ext4 defaults 0 1" in fstab
    assert f"UUID={esp.uuid} /boot/efi vfat umask=0077 0 2" in fstab
    grub_cfg = debugfs("cat /boot/grub/grub.cfg")
    assert f"root=UUID={ext4_disk.root_uuid} rw console=ttyS0,115200" in grub_cfg
    assert "terminal_output serial" in grub_cfg and "set timeout=1" in grub_cfg
    assert f"initrd.img-{ext4_disk.kernel}" in debugfs("ls /boot")
    assert "File not found" in debugfs("stat /image")  # the root's metadata stays out
    assert "kiwi-like-resize.service" in debugfs("ls /etc/systemd/system/multi-user.target.wants")
    # the description's disk hooks ran in order, disk.sh with the disk's fstab in place
    hooks = debugfs("cat /var/log/kiwi-like-disk-hooks")
    assert "pre_disk_sync.sh\ndisk.sh type=oem fstab=yes\n" in hooks


@real
def test_msdos_layout_with_swap(btrfs_disk: DiskResult) -> None:
    table = _sfdisk_json(btrfs_disk.image)
    assert table["label"] == "dos"
    parts = table["partitions"]
    assert [p["type"] for p in parts] == ["82", "83"]
    assert parts[-1].get("bootable") is True
    assert parts[0]["start"] == 2048 and parts[0]["size"] * 512 == 64 * MIB
    data = _head(btrfs_disk.image, MIB)
    assert struct.unpack_from("<Q", data, 0x5C)[0] == 1  # core image right after the MBR
    assert struct.unpack_from("<Q", data, 512 + 500)[0] == 2


# ---- failures leave nothing behind ------------------------------------------


def _loops_and_mounts(*paths: Path) -> tuple[list[str], list[str]]:
    """Loop devices and mounts that involve any of `paths`."""
    names = [str(p) for p in paths]
    loops = subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout
    mounts = Path("/proc/self/mountinfo").read_text()
    return (
        [line for line in loops.splitlines() if any(n in line for n in names)],
        [line for line in mounts.splitlines() if any(n in line for n in names)],
    )


@pytest.fixture
def fake_root_without_bios_grub(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "root"
    for directory in ("boot", "lib/modules/6.1.0-1-amd64", "usr/sbin", "usr/bin",
                      "usr/lib/grub/x86_64-efi", "etc"):  # fmt: skip
        (root / directory).mkdir(parents=True)
    (root / "boot/vmlinuz-6.1.0-1-amd64").write_bytes(b"kernel")
    (root / "usr/sbin/update-initramfs").write_text("#!/bin/sh\n")
    (root / "usr/bin/grub-mkimage").write_text("#!/bin/sh\n")
    (root / "usr/lib/grub/x86_64-efi/kernel.img").write_bytes(b"grub")
    yield root


def test_root_without_grub_pc_bin(fake_root_without_bios_grub: Path, tmp_path: Path) -> None:
    build = load_build(DESCRIPTION, BuildOptions(profiles=("ext4",)), RuntimeConfig())
    image = tmp_path / "out" / "disk.raw"
    before = _loops_and_mounts(tmp_path)
    with pytest.raises(KiwiLikeError) as error:
        build_disk(build, fake_root_without_bios_grub, image, tmp_path)
    message = str(error.value)
    assert "grub-pc-bin" in message and "\n" not in message
    assert not image.exists()
    assert not image.parent.exists() or list(image.parent.iterdir()) == []
    assert _loops_and_mounts(tmp_path) == before == ([], [])
    assert not (fake_root_without_bios_grub / "etc/fstab").exists()  # nothing was changed


@real
def test_failure_inside_the_xfs_mount_cleans_up(
    prepared_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The xfs image is loop-mounted in a private namespace: a failure there leaves no loop."""
    # fail right after the mount, without unmounting: the namespace must take it along
    broken = disk_filesystems._FILL_XFS.replace("if ! cp", "exit 1\nif ! cp")
    assert broken != disk_filesystems._FILL_XFS
    monkeypatch.setattr(disk_filesystems, "_FILL_XFS", broken)
    build = load_build(DESCRIPTION, BuildOptions(profiles=("xfs",)), RuntimeConfig())
    out = tmp_path / "out"
    out.mkdir()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    watched = (tmp_path, prepared_root)
    before = _loops_and_mounts(*watched)
    with pytest.raises(KiwiLikeError) as error:
        build_disk(build, prepared_root, out / "disk.raw", scratch)
    assert str(error.value).startswith("creating the xfs root file system failed")
    assert "\n" not in str(error.value)
    assert _loops_and_mounts(*watched) == before
    assert list(out.iterdir()) == []  # no image, no partial file
    assert list(scratch.iterdir()) == []  # work files removed
    assert (prepared_root / "image").is_dir()  # parked paths are back in the root


# ---- booting (at the end: the boots run in the background meanwhile) --------

# OVMF on the pc machine and on q35 (closer to real hardware); CI boots a disk on q35 in
# test_build_oem, these disks boot there in `make test-extended`
UEFI = q35_extended("efi", "efi-q35")
FIRMWARES = ["bios", *UEFI]


@real
@pytest.mark.parametrize("firmware", FIRMWARES)
def test_ext4_disk_boots(ext4_disk: DiskResult, disk_boots: qemu.Boots, firmware: str) -> None:
    fields = _boot_ok(disk_boots, "ext4", firmware)
    assert fields["fw"] == firmware.removesuffix("-q35")
    assert fields["fs"] == "ext4"
    assert fields["root"] == "/dev/vda3"


@real
@pytest.mark.parametrize("firmware", FIRMWARES)
def test_xfs_disk_boots(xfs_disk: DiskResult, disk_boots: qemu.Boots, firmware: str) -> None:
    fields = _boot_ok(disk_boots, "xfs", firmware)
    assert (fields["fw"], fields["fs"]) == (firmware.removesuffix("-q35"), "xfs")


@real
def test_btrfs_msdos_disk_with_swap_boots(btrfs_disk: DiskResult, disk_boots: qemu.Boots) -> None:
    fields = _boot_ok(disk_boots, "btrfs", "bios")
    assert (fields["fw"], fields["fs"], fields["root"]) == ("bios", "btrfs", "/dev/vda2")


@real
@pytest.mark.parametrize("firmware", UEFI)
def test_root_grows_on_a_bigger_disk(
    ext4_disk: DiskResult, disk_boots: qemu.Boots, firmware: str
) -> None:
    before = _boot_ok(disk_boots, "ext4", firmware)
    after = _boot_ok(disk_boots, "bigger", firmware)
    grown = int(after["size"]) - int(before["size"])
    assert 900 <= grown <= 1024, (before, after)


# ---- without a root or QEMU --------------------------------------------------


def _settings(profile: str = "ext4", *attrs: str) -> DiskSettings:
    build = load_build(
        DESCRIPTION, BuildOptions(profiles=(profile,), set_type_attrs=attrs), RuntimeConfig()
    )
    return disk_settings(build)


def test_settings_of_the_test_description() -> None:
    settings = _settings()
    assert (settings.firmware, settings.filesystem, settings.table) == ("efi", "ext4", "gpt")
    assert settings.menu.kernel_options == ("console=ttyS0,115200",)  # not added twice
    assert settings.menu.grub_output == settings.menu.grub_input == ("serial",)
    assert (settings.menu.timeout, settings.resize, settings.swap_mb) == (1, True, None)
    btrfs = _settings("btrfs")
    assert (btrfs.firmware, btrfs.table, btrfs.swap_mb) == ("bios", "msdos", 64)


@pytest.mark.parametrize(
    ("attr", "message"),
    [
        ("firmware=ofw", "firmware 'ofw' is not supported"),
        ("filesystem=squashfs", "filesystem 'squashfs' is not supported"),
        ("initrd_system=none", "initrd_system 'none' is not supported"),
    ],
)
def test_unsupported_settings(attr: str, message: str) -> None:
    with pytest.raises(KiwiLikeError, match=message):
        _settings("ext4", attr)


def test_gpt_layout_plan() -> None:
    settings = _settings()
    layout = plan_layout(settings, Identities.new(), 1000 * MIB)
    assert [(p.name, p.number) for p in layout.partitions] == [
        ("p.legacy", 1), ("p.UEFI", 2), ("p.lxroot", 3),
    ]  # fmt: skip
    assert layout.size == 1600 * MIB  # <size>1600</size>
    assert layout.root.start == 66 * MIB and layout.root.end == layout.size - MIB
    assert layout.embed_area == (MIB, MIB)
    with pytest.raises(KiwiLikeError, match="too small for this image"):
        plan_layout(settings, Identities.new(), 1600 * MIB)
    additive = replace(settings, size=Size(100, "M", additive=True))
    assert (
        plan_layout(additive, Identities.new(), 1000 * MIB).size
        == (1 + 1 + 64 + 1000 + 1 + 100) * MIB
    )


def test_msdos_layout_plan_and_references() -> None:
    settings = replace(_settings("btrfs"), persistency="by-partuuid")
    ids = Identities.new()
    layout = plan_layout(settings, ids, 1000 * MIB)
    assert [(p.name, p.mbr_type) for p in layout.partitions] == [
        ("p.swap", "82"),
        ("p.lxroot", "83"),
    ]
    assert layout.embed_area == (512, MIB - 512)  # the gap after the MBR
    assert device_reference(settings, ids, "root") == f"PARTUUID={ids.dos_id}-02"
    gpt = replace(settings, table="gpt", persistency="by-uuid")
    assert device_reference(gpt, ids, "root") == f"UUID={ids.root_uuid}"
    assert partuuid(gpt, ids, "root") == ids.partition_guids[3].lower()


def test_grub_cfg_and_early_config() -> None:
    settings = _settings()
    ids = Identities.new()
    text = grub_cfg(settings, ids, Kernel("6.1.0-9-amd64"))
    assert "serial --unit=0 --speed=115200\nterminal_input serial\nterminal_output serial\n" in text
    assert f"search --no-floppy --fs-uuid --set=root {ids.root_uuid}" in text
    assert (
        f"linux /boot/vmlinuz-6.1.0-9-amd64 root=UUID={ids.root_uuid} rw console=ttyS0,115200"
        in text
    )
    assert "menuentry 'Debian 12 disk test'" in text
    early = early_config(ids.root_uuid)
    assert "if" not in early.split()  # the core's rescue parser has no `if`


def test_mbr_and_core_image_patching() -> None:
    boot_img = bytes(range(256)) * 2
    mbr = bytes(440) + b"\x11" * 70 + b"\x55\xaa"
    sector = patched_mbr(boot_img, mbr, 2048)
    assert sector[440:] == mbr[440:]  # disk signature and partition table kept
    assert struct.unpack_from("<Q", sector, 0x5C)[0] == 2048
    assert sector[0x66:0x68] == b"\x90\x90" and sector[:0x5C] == boot_img[:0x5C]
    core = bytearray(5 * 512)
    struct.pack_into("<H", core, 508, 4)  # grub-mkimage: the sectors after the first
    assert struct.unpack_from("<Q", patched_core(bytes(core), 2048), 500)[0] == 2049
    struct.pack_into("<H", core, 508, 7)
    with pytest.raises(KiwiLikeError, match="unexpected GRUB core image"):
        patched_core(bytes(core), 2048)


def test_sparse_copy_into_an_image(tmp_path: Path) -> None:
    source = tmp_path / "fs.img"
    with open(source, "wb") as handle:
        handle.truncate(64 * MIB)
        handle.seek(MIB)
        handle.write(b"A" * 4096)
        handle.seek(40 * MIB)
        handle.write(b"B" * 8192)
    image = tmp_path / "disk.img"
    with open(image, "wb") as handle:
        handle.truncate(100 * MIB)
    copy_into(source, image, 2 * MIB)
    with open(image, "rb") as handle:
        handle.seek(3 * MIB)
        assert handle.read(4096) == b"A" * 4096
        handle.seek(42 * MIB)
        assert handle.read(8192) == b"B" * 8192
    assert image.stat().st_size == 100 * MIB
    assert image.stat().st_blocks * 512 < 4 * MIB  # the holes stayed holes


def test_tree_size_and_parking(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "image").mkdir(parents=True)
    (root / "image/kiwi-like.json").write_text("{}")
    (root / "boot/efi/EFI").mkdir(parents=True)
    (root / "data").write_bytes(b"x" * 10000)
    os.link(root / "data", root / "data-link")
    (root / "link").symlink_to("data")
    excluded = excluded_paths(root, with_esp=True)
    assert excluded == ("image", "boot/efi/EFI")
    size = tree_size(root, excluded)
    assert 10000 < size < 10000 + 5 * 4096 + 100  # the hard link counted once
    with pytest.raises(RuntimeError), parked(root, excluded, tmp_path / "parking"):
        assert not (root / "image").exists() and (root / "boot/efi").is_dir()
        raise RuntimeError("mkfs failed")
    assert (root / "image/kiwi-like.json").read_text() == "{}"
    assert (root / "boot/efi/EFI").is_dir()
