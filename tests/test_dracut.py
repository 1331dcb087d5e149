"""dracut as an initrd system: kiwi's defaults, kiwi's dracut-kiwi-* packages, refusals.

All of this is decided when the description is resolved, before a bootstrap:
these tests need no root and no network. The builds and boots are in
tests/test_dracut_boot.py.
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from kiwi_like.create.boot import dracut
from kiwi_like.create.boot.kernel import Kernel
from kiwi_like.create.disk.fstab import fstab_lines
from kiwi_like.create.disk.grubcfg import early_config, kernel_command_line, overlay_mark
from kiwi_like.create.disk.identity import Identities
from kiwi_like.create.disk.layout import partuuid, plan_layout
from kiwi_like.create.iso.live import live_menu_entries
from kiwi_like.description import BuildOptions, ResolvedBuild, load_build
from kiwi_like.description.imagetypes import image_packages
from kiwi_like.description.imagetypes.iso import LiveSettings
from kiwi_like.description.imagetypes.oem import DiskSettings
from kiwi_like.errors import KiwiLikeError
from kiwi_like.runtime_config import RuntimeConfig
from tests.descriptions import Image, Type, write_description

KIWI_PACKAGES = (
    "dracut-kiwi-lib",
    "dracut-kiwi-oem-repart",
    "dracut-kiwi-oem-dump",
    "dracut-kiwi-live",
    "dracut-kiwi-overlay",
)


def _build(
    tmp_path: Path,
    image: str,
    packages: tuple[str, ...] = (),
    *attrs: str,
    **attributes: str,
) -> ResolvedBuild:
    write_description(
        tmp_path,
        Image(types=(Type(image, attributes),), packages={"image": ["systemd", *packages]}),
    )
    options = BuildOptions(target_arch="x86_64", set_type_attrs=attrs)
    return load_build(tmp_path, options, RuntimeConfig())


@pytest.mark.parametrize(
    ("image", "packages", "expected"),
    [
        ("oem", (), "dracut"),  # kiwi's default for oem
        ("vmx", (), "dracut"),
        ("iso", (), "dracut"),  # kiwi: always dracut
        ("kis", (), "dracut"),  # kiwi's default for kis (tests/test_dracut_netboot.py)
        ("kis", ("initramfs-tools",), "kiwi"),
        ("oem", ("initramfs-tools",), "kiwi"),  # the description asks for it
        ("iso", ("live-boot",), "kiwi"),
        ("oem", ("dracut",), "dracut"),
        ("iso", ("dracut",), "dracut"),
    ],
)
def test_initrd_system_defaults(
    tmp_path: Path, image: str, packages: tuple[str, ...], expected: str
) -> None:
    build = _build(tmp_path, image, packages)
    assert build.settings.initrd_system == expected
    added = image_packages(build)
    generator = "dracut" if expected == "dracut" else "initramfs-tools"
    other = "initramfs-tools" if expected == "dracut" else "dracut"
    assert generator in (*added, *build.install_packages.image)
    assert other not in added
    if image == "iso" and expected == "dracut":
        assert "live-boot" not in added


def test_kiwi_dracut_packages_come_from_kiwi_like(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="kiwi_like"):
        build = _build(tmp_path, "oem", ("dracut", *KIWI_PACKAGES), firmware="efi")
        installed = build.install_packages.image
    assert set(KIWI_PACKAGES) <= set(build.packages.image)  # what kiwi resolves (image info)
    assert not set(KIWI_PACKAGES) & set(installed)
    assert "dracut" in build.install_packages.image
    assert build.settings.initrd_system == "dracut"
    lines = [r.getMessage() for r in caplog.records if "dracut-kiwi-" in r.getMessage()]
    assert lines == [
        f"kiwi-like provides {', '.join(sorted(KIWI_PACKAGES))} itself "
        "(its own dracut modules): not installing them"
    ]


def test_kiwi_dracut_packages_alone_bring_dracut(tmp_path: Path) -> None:
    build = _build(tmp_path, "iso", ("dracut-kiwi-live",))
    assert build.install_packages.image == ("systemd", "dracut")
    assert build.settings.initrd_system == "dracut"


def test_the_type_drops_the_conflicting_initrd_packages(tmp_path: Path) -> None:
    """initrd_system on the type wins over a shared package list (the JeOS's bootable
    profile lists initramfs-tools): the conflicting package is not installed."""
    build = _build(tmp_path, "oem", ("initramfs-tools", "live-boot"), "initrd_system=dracut")
    assert "initramfs-tools" not in build.install_packages.image
    assert "live-boot" not in build.install_packages.image
    assert "dracut" in image_packages(build)
    build = _build(tmp_path, "oem", ("dracut",), initrd_system="kiwi")
    assert "dracut" not in build.install_packages.image
    assert "initramfs-tools" in image_packages(build)


@pytest.mark.parametrize(
    ("image", "packages", "attributes", "message"),
    [
        ("oem", ("dracut", "initramfs-tools"), {},
         "the packages list both dracut and initramfs-tools, which conflict"),
        ("iso", ("dracut", "live-boot"), {}, "the packages list both dracut and live-boot"),
        ("kis", ("dracut", "initramfs-tools"), {},
         "the packages list both dracut and initramfs-tools, which conflict"),
        ("oem", (), {"initrd_system": "none"}, "initrd_system 'none' is not supported"),
    ],
)  # fmt: skip
def test_refused_before_the_bootstrap(
    tmp_path: Path,
    image: str,
    packages: tuple[str, ...],
    attributes: dict[str, str],
    message: str,
) -> None:
    build = _build(tmp_path, image, packages, **attributes)
    with pytest.raises(KiwiLikeError, match=message):
        _ = build.settings


def test_dracut_command_is_small_and_fast(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "usr/bin").mkdir(parents=True)
    command = dracut.dracut_command(root, Kernel("6.1.0-1-amd64"), "/boot/x", filesystems=("xfs",))
    assert command[:3] == ["dracut", "--force", "--no-hostonly"]
    omitted = command[command.index("--omit") + 1].split()
    # dracut-network in the image must not break the build (kiwi-like brings its own network)
    assert {"systemd", "kernel-modules", "lvm", "crypt", "network", "ifcfg"} <= set(omitted)
    drivers = command[command.index("--drivers") + 1].split()
    assert {"virtio_blk", "ahci", "nvme", "usb_storage", "xfs"} <= set(drivers)
    assert "--compress" not in command  # the image has no zstd: dracut's default
    (root / "usr/bin/zstd").write_text("")
    everything = dracut.dracut_command(root, Kernel("6.1.0-1-amd64"), "/boot/x", all_drivers=True)
    # zstd at a fast level (dracut's own --zstd is level 15, most of the initrd's time)
    assert everything[everything.index("--compress") + 1] == "zstd -3 -q -T0"
    assert "--drivers" not in everything
    assert "kernel-modules" not in everything[everything.index("--omit") + 1].split()


def test_modules_are_installed_into_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    dracut.install_modules(root, {"90kiwi-like-install/kiwi-install": Path(__file__)})
    modules = root / "usr/lib/dracut/modules.d"
    names = sorted(p.name for p in modules.iterdir())
    assert {"89kiwi-like-lib", "90kiwi-like-install", "90kiwi-like-live",
            "90kiwi-like-overlay"} <= set(names)  # fmt: skip
    assert (modules / "90kiwi-like-install/kiwi-install").is_file()
    for script in modules.glob("*/*.sh"):
        assert script.stat().st_mode & 0o111, script
        check = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr


def test_live_menu_names_the_medium_as_kiwi_does(tmp_path: Path) -> None:
    build = _build(tmp_path, "iso", ("dracut",), hybridpersistent="true", volid="MY_LIVE")
    settings = build.settings
    assert isinstance(settings, LiveSettings)
    [entry] = live_menu_entries(settings.medium, True, "dracut")
    text = " ".join(entry.commands)
    assert "root=live:CDLABEL=MY_LIVE rd.live.image" in text
    assert "rd.live.overlay.persistent rd.live.overlay.cowfs=ext4" in text
    assert "boot=live" not in text


# ---- overlayroot (kiwi's dracut-kiwi-overlay) -------------------------------------------


@pytest.mark.parametrize("write_partition", ["true", "false"])
def test_overlayroot_layout_command_line_and_fstab(tmp_path: Path, write_partition: str) -> None:
    build = _build(
        tmp_path, "oem", (), firmware="efi", overlayroot="true",
        overlayroot_write_partition=write_partition,
    )  # fmt: skip
    settings = build.settings
    assert isinstance(settings, DiskSettings) and settings.overlay is not None
    assert settings.overlay.compression == "gzip"  # GRUB reads it, unlike the default zstd
    ids = Identities.new()
    layout = plan_layout(settings, ids, 300 << 20, 200 << 20)
    names = [p.name for p in layout.partitions]
    readonly = partuuid(settings, ids, "readonly")
    command_line = kernel_command_line(settings, ids)
    assert f"root=overlay:PARTUUID={readonly}" in command_line and " rw" not in command_line
    assert readonly not in {guid.lower() for guid in ids.partition_guids}
    if write_partition == "true":
        assert names == ["p.legacy", "p.UEFI", "p.lxreadonly", "p.lxroot"]
        assert layout.partitions[2].size == 200 << 20 and layout.root.filesystem == "ext4"
        assert f"rd.root.overlay.write=/dev/disk/by-uuid/{ids.root_uuid}" in command_line
        by_label = replace(settings, persistency="by-label")
        assert "rd.root.overlay.write=/dev/disk/by-label/ROOT" in kernel_command_line(by_label, ids)
    else:
        assert names == ["p.legacy", "p.UEFI", "p.lxreadonly"]
        assert layout.root.filesystem == "squashfs"
        assert "rd.root.overlay.write" not in command_line
    # the squashfs has no UUID: GRUB finds it by a file named after its partition
    mark = overlay_mark(settings, ids)
    assert mark == f"/boot/kiwi-like-readonly-root.{readonly}"
    assert early_config(ids.root_uuid, mark).startswith(
        f"search --no-floppy --file --set=root {mark}"
    )
    assert not [line for line in fstab_lines(settings, ids, "defaults") if " / " in line]


def test_overlay_module_is_added_only_for_overlayroot() -> None:
    module = dracut.MODULES / "90kiwi-like-overlay"
    assert (module / "module-setup.sh").is_file()
    assert "rd.root.overlay.write" in (module / "kiwi-like-overlay-root.sh").read_text()
