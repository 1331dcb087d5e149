"""Reproducible images (issue 21): two builds of the same description, the same bytes.

The JeOS oem disk is built twice with `--reproducible` (SOURCE_DATE_EPOCH from the newest
package), into different target directories at different times, with the root and initrd
caches off, so both builds prepare and create everything themselves; the packages come
through the shared apt cache from the host's apt sources, and the test checks that both
builds got the same package versions before it compares. The raw disks must be identical
byte for byte; where they are not, the assertion names the first differing byte's
partition and file (tests/imagediff.py). The disk of the first build boots (BIOS), gets a
machine-id of its own and a root grown to a bigger disk. The extended part (live ISO,
install ISO, qcow2, kis tarball, each built twice with SOURCE_DATE_EPOCH set, and
diffoscope on the disks) runs in `make test-extended`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from kiwi_like import reproducible
from kiwi_like.cli.main import main
from kiwi_like.create import oem
from kiwi_like.create.boot import filesystems
from kiwi_like.create.boot.filesystems import ImageFile
from kiwi_like.create.disk.esp import make_esp
from kiwi_like.create.disk.identity import Identities
from kiwi_like.create.disk.layout import PlannedPartition
from kiwi_like.create.pipeline import create_image
from kiwi_like.description import BuildOptions, load_build
from kiwi_like.description.imagetypes import settings_of
from kiwi_like.description.imagetypes.oem import DiskSettings
from kiwi_like.errors import KiwiLikeError
from kiwi_like.prepare import load_state
from kiwi_like.runtime_config import RuntimeConfig, load_runtime_config
from tests import imagediff, qemu
from tests.conftest import REPO
from tests.descriptions import Image, Type, write_description

JEOS = REPO / "descriptions/debian/bookworm-jeos"
BASENAME = "Debian-Bookworm-JeOS.x86_64-1.0.0"
# the root and the initrd built anew by both builds; packages from the shared apt cache
NO_CACHES = "cache:\n  root_cache_size: 0\n  initrd_cache: false\n"
EPOCH = "1700000000"
FIRSTBOOT = re.compile(r"FIRSTBOOT-OK id=\S* size=\d+")
GUEST_REPORTS_FIRST_BOOT = qemu.root_shell(
    "debian-bookworm-jeos",
    # FIRSTBOOT""-OK: the echoed command line must not look like the marker
    # (starting the resize service waits for it if it is still running)
    "systemctl start kiwi-like-resize.service; "
    'echo FIRSTBOOT""-OK id=$(cat /etc/machine-id) size=$(findmnt -bno SIZE /) && poweroff',
)


def _config(directory: Path) -> Path:
    path = directory / "no-caches.yml"
    path.write_text(NO_CACHES)
    return path


def _build(target: Path, config: Path, *extra: str, profile: str = "oem") -> None:
    code = main(
        ["--profile", profile, "system", "build", "--description", str(JEOS),
         "--target-dir", str(target), "--config", str(config), *extra]
    )  # fmt: skip
    assert code == 0, (target / "build/image-root.log").read_text()[-3000:]


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The JeOS oem disk built twice, one build after the other, with --reproducible."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    config = _config(tmp_path_factory.mktemp("reproducible-config"))
    first = tmp_path_factory.mktemp("reproducible-first")
    second = tmp_path_factory.mktemp("reproducible-second")
    _build(first, config, "--reproducible")
    _build(second, config, "--reproducible")
    return first, second


def _same_packages(first: Path, second: Path) -> None:
    packages = [(t / f"{BASENAME}.packages").read_text() for t in (first, second)]
    assert packages[0] == packages[1], (
        "the two builds got different package versions (the mirror changed between them)"
    )


def assert_identical(a: Path, b: Path, explain: str = "disk") -> None:
    """Byte for byte; else say where the first difference lies."""
    offset = imagediff.first_difference(a, b)
    if offset is None:
        return
    where = {"disk": imagediff.explain_disk, "iso": imagediff.explain_iso}
    detail = where[explain](a, offset) if explain in where else f"byte {offset}"
    other = where[explain](b, offset) if explain in where else ""
    pytest.fail(f"{a.name} differs from the other build's: {detail} (other build: {other})")


def built(test: Callable[..., None]) -> Callable[..., None]:
    """Marks of a test that needs the two JeOS builds."""
    return pytest.mark.network(pytest.mark.slow(test))


@built
def test_raw_disks_are_identical(builds: tuple[Path, Path]):
    first, second = builds
    _same_packages(first, second)
    assert_identical(first / f"{BASENAME}.raw", second / f"{BASENAME}.raw")
    checksums = [(t / f"{BASENAME}.raw.sha256").read_text() for t in builds]
    assert checksums[0] == checksums[1]


@built
def test_result_records_the_seed_and_the_epoch(builds: tuple[Path, Path]):
    records = [json.loads((t / "kiwi.result.json").read_text())["reproducible"] for t in builds]
    assert records[0] == records[1]
    record = records[0]
    assert re.fullmatch(r"[0-9a-f]{64}", record["seed"])
    # --reproducible without SOURCE_DATE_EPOCH: the newest package's date
    assert record["epoch_from"] == "newest package"
    root = builds[0] / "build/image-root"
    assert record["source_date_epoch"] == reproducible.newest_package_time(root)
    own = json.loads((builds[0] / "kiwi-like.result.json").read_text())
    assert own["build"]["reproducible"] == record


@built
def test_image_has_no_machine_id_and_no_random_seed(builds: tuple[Path, Path]):
    root = builds[0] / "build/image-root"
    assert (root / "etc/machine-id").read_text() == ""  # systemd makes one on first boot
    assert not (root / "var/lib/systemd/random-seed").exists()
    assert not [p for p in (root / "var/log").rglob("*") if p.is_file()]


@built
@pytest.mark.boot
@pytest.mark.parametrize("firmware", ["bios", pytest.param("efi", marks=pytest.mark.extended)])
def test_reproducible_disk_boots_with_its_own_machine_id_and_grows(
    builds: tuple[Path, Path], tmp_path: Path, firmware: str
):
    """The first build's disk written onto a disk 1 GiB larger boots (CI: BIOS)."""
    disk = tmp_path / "bigger.raw"
    subprocess.run(
        ["cp", "--sparse=always", str(builds[0] / f"{BASENAME}.raw"), str(disk)], check=True
    )
    size = disk.stat().st_size
    os.truncate(disk, size + (1 << 30))
    booted = qemu.boot(disk, firmware, marker=FIRSTBOOT, answers=GUEST_REPORTS_FIRST_BOOT)
    assert booted.marker, booted.tail()
    fields = booted.fields()
    assert re.fullmatch(r"[0-9a-f]{32}", fields["id"]), booted.marker
    assert int(fields["size"]) > size, booted.marker  # bigger than the whole image was


# --- extended: the ISOs, the qcow2, the kis tarball, diffoscope ------------------------


@pytest.fixture(scope="module")
def epoch_set() -> Iterator[None]:
    saved = os.environ.get(reproducible.ENV)
    os.environ[reproducible.ENV] = EPOCH
    yield
    if saved is None:
        os.environ.pop(reproducible.ENV, None)
    else:
        os.environ[reproducible.ENV] = saved


def _create_twice(
    builds: tuple[Path, Path], profile: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """The profile's image from each build's root (SOURCE_DATE_EPOCH set)."""
    outputs = []
    for target in builds:
        config = load_runtime_config(str(_config(tmp_path_factory.mktemp("config"))))
        # the build's own options (--add-package) with the other profile
        options = replace(load_state(target / "build/image-root")[1], profiles=(profile,))
        build = load_build(JEOS, options, config)
        output = tmp_path_factory.mktemp(f"reproducible-{profile}")
        create_image(build, target / "build/image-root", output, config)
        outputs.append(output)
    return outputs[0], outputs[1]


@built
@pytest.mark.extended
def test_qcow2_is_identical(
    builds: tuple[Path, Path], epoch_set: None, tmp_path_factory: pytest.TempPathFactory
):
    """The qcow2 profile (an oem type of the same packages), from the two builds' roots."""
    first, second = _create_twice(builds, "qcow2", tmp_path_factory)
    assert_identical(first / f"{BASENAME}.qcow2", second / f"{BASENAME}.qcow2", "bytes")
    _same_record(first, second)


@pytest.fixture(scope="module")
def install_builds(tmp_path_factory: pytest.TempPathFactory, epoch_set: None) -> tuple[Path, Path]:
    """The install profile built twice with SOURCE_DATE_EPOCH set (its installer adds
    packages to the image, so it has roots of its own)."""
    return _build_twice(tmp_path_factory, "install")


@built
@pytest.mark.extended
def test_install_isos_are_identical(install_builds: tuple[Path, Path]):
    first, second = install_builds
    _same_packages(first, second)
    assert_identical(first / f"{BASENAME}.raw", second / f"{BASENAME}.raw")
    iso = f"{BASENAME}.install.iso"
    assert_identical(first / iso, second / iso, "iso")
    _same_record(first, second)


def _same_record(first: Path, second: Path) -> None:
    records = [
        json.loads((t / "kiwi.result.json").read_text())["reproducible"] for t in (first, second)
    ]
    assert records[0]["source_date_epoch"] == int(EPOCH) and records[0] == records[1]


@pytest.fixture(scope="module")
def live_builds(tmp_path_factory: pytest.TempPathFactory, epoch_set: None) -> tuple[Path, Path]:
    """The live profile built twice with SOURCE_DATE_EPOCH set; with curl, which the kis
    type needs too (its tarball is created from these roots)."""
    return _build_twice(tmp_path_factory, "live", "--add-package", "curl")


def _build_twice(
    tmp_path_factory: pytest.TempPathFactory, profile: str, *extra: str
) -> tuple[Path, Path]:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    config = _config(tmp_path_factory.mktemp("reproducible-config"))
    targets = []
    for name in ("first", "second"):
        target = tmp_path_factory.mktemp(f"reproducible-{profile}-{name}")
        _build(target, config, *extra, profile=profile)
        targets.append(target)
    return targets[0], targets[1]


@built
@pytest.mark.extended
def test_live_isos_are_identical(live_builds: tuple[Path, Path]):
    first, second = live_builds
    _same_packages(first, second)
    assert_identical(first / f"{BASENAME}.iso", second / f"{BASENAME}.iso", "iso")
    _same_record(first, second)


@built
@pytest.mark.extended
def test_kis_tarballs_are_identical(
    live_builds: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
):
    first, second = _create_twice(live_builds, "pxe", tmp_path_factory)
    assert_identical(first / f"{BASENAME}.tar.xz", second / f"{BASENAME}.tar.xz", "bytes")
    _same_record(first, second)


@built
@pytest.mark.extended
def test_diffoscope_finds_no_difference(builds: tuple[Path, Path]):
    if not shutil.which("diffoscope"):
        pytest.skip("diffoscope is not installed (make setup installs diffoscope-minimal)")
    first, second = (t / f"{BASENAME}.raw" for t in builds)
    result = subprocess.run(
        ["diffoscope", "--no-progress", "--text", "-", str(first), str(second)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


# --- fast: the pieces, on small trees ----------------------------------------------------

SETTING = reproducible.Reproducible(epoch=int(EPOCH), seed="5e" * 32, epoch_source="test")


def _tree(directory: Path) -> Path:
    """A small root-like tree, its files written now (so ctimes and mtimes are now)."""
    tree = directory / "tree"
    (tree / "etc/sub").mkdir(parents=True)
    (tree / "etc/hostname").write_text("host\n")
    (tree / "etc/sub/b").write_text("b\n")
    (tree / "etc/sub/a").write_text("a\n")
    (tree / "etc/old").write_text("from a package\n")
    os.utime(tree / "etc/old", (1_000_000_000, 1_000_000_000))
    (tree / "etc/link").symlink_to("hostname")
    os.link(tree / "etc/hostname", tree / "etc/hard")
    return tree


def test_seed_depends_on_name_version_and_packages_not_their_order():
    seed = reproducible.seed_of("jeos", "1.0", ["a|1", "b|2"])
    assert seed == reproducible.seed_of("jeos", "1.0", ["b|2", "a|1"])
    assert seed != reproducible.seed_of("jeos", "1.1", ["a|1", "b|2"])
    assert seed != reproducible.seed_of("jeos", "1.0", ["a|1", "b|3"])
    assert seed != reproducible.seed_of("other", "1.0", ["a|1", "b|2"])


def test_disk_identities_come_from_the_seed():
    with reproducible.reproducing(SETTING):
        first, second = Identities.new(), Identities.new()
        assert os.environ[reproducible.ENV] == EPOCH
    assert first == second
    other = reproducible.Reproducible(epoch=int(EPOCH), seed="77" * 32, epoch_source="test")
    with reproducible.reproducing(other):
        assert Identities.new() != first
    assert Identities.new() != Identities.new()  # no reproducible build: random
    values = [first.root_uuid, first.swap_uuid, first.disk_guid, *first.partition_guids]
    assert len({v.lower() for v in values}) == len(values)


def test_source_date_epoch_must_be_a_number(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(reproducible.ENV, "yesterday")
    with pytest.raises(KiwiLikeError, match="SOURCE_DATE_EPOCH must be a number"):
        reproducible.source_date_epoch()


@pytest.mark.parametrize("in_place", [False, True])
def test_ext4_is_identical_from_trees_written_at_different_times(tmp_path: Path, in_place: bool):
    images = []
    for number in (1, 2):
        work = tmp_path / str(number)
        work.mkdir()
        tree = _tree(work)
        (tree / "etc/hostname").read_text()  # an atime of its own
        image = work / "disk.img"
        partition = ImageFile("ext4", 32 << 20, SETTING.uuid("root"), "ROOT", start=1 << 20)
        with reproducible.reproducing(SETTING):
            if in_place:
                filesystems.sized_file(image, 34 << 20)
                filesystems.make_root_filesystem_in_place(partition, tree, image)
            else:
                filesystems.make_root_filesystem(partition, tree, image, work)
        images.append(image)
        time.sleep(1.1)  # the second tree's files are written a second later
    assert images[0].read_bytes() == images[1].read_bytes()
    device = f"{images[0]}?offset={1 << 20}" if in_place else str(images[0])
    stat = subprocess.run(
        ["debugfs", "-R", "stat /etc/sub/a", device], capture_output=True, text=True, check=True
    ).stdout
    times = dict(re.findall(r"^\s*(\w+): (0x[0-9a-f]+)", stat, re.MULTILINE))
    assert {times["ctime"], times["atime"], times["mtime"], times["crtime"]} == {hex(int(EPOCH))}
    old = subprocess.run(
        ["debugfs", "-R", "stat /etc/old", device], capture_output=True, text=True, check=True
    ).stdout
    assert f"mtime: {1_000_000_000:#x}" in old  # older than the epoch: kept


def test_esp_is_identical_and_keeps_the_volume_id(tmp_path: Path):
    images = []
    with reproducible.reproducing(SETTING):
        ids = Identities.new()
        for number in (1, 2):
            work = tmp_path / str(number)
            work.mkdir()
            tree = _tree(work)
            esp = PlannedPartition("esp", 2, 1 << 20, 64 << 20, "vfat", ids.esp_uuid, "EFI", "x")
            make_esp(esp, tree, work / "esp.img")
            images.append(work / "esp.img")
            time.sleep(1.1)
    assert images[0].read_bytes() == images[1].read_bytes()
    probe = subprocess.run(
        ["blkid", "-o", "value", "-s", "UUID", str(images[0])], capture_output=True, text=True
    )
    assert probe.stdout.strip() == ids.esp_uuid


def test_scrub_takes_the_build_out_of_the_root(tmp_path: Path):
    root = tmp_path / "root"
    for name in ("etc", "var/lib/systemd", "var/lib/dbus", "var/log/apt", "var/cache/ldconfig"):
        (root / name).mkdir(parents=True)
    (root / "etc/machine-id").write_text("0123456789abcdef0123456789abcdef\n")
    (root / "var/lib/systemd/random-seed").write_bytes(os.urandom(32))
    (root / "var/cache/ldconfig/aux-cache").write_bytes(b"cache")
    (root / "var/lib/dbus/machine-id").symlink_to("/etc/machine-id")
    (root / "var/log/apt/history.log").write_text("Start-Date: today\n")
    day = int(EPOCH) // 86400
    (root / "etc/shadow").write_text(f"root:x:{day + 30}:0:99999:7:::\nold:x:{day - 5}::::::\n")
    (root / "etc/shadow").chmod(0o640)
    changed = reproducible.scrub_root(root, int(EPOCH))
    assert (root / "etc/machine-id").read_text() == ""
    assert not (root / "var/lib/systemd/random-seed").exists()
    assert not (root / "var/cache/ldconfig/aux-cache").exists()
    assert (root / "var/lib/dbus/machine-id").is_symlink()  # Debian's link stays
    assert (root / "var/log/apt").is_dir() and not (root / "var/log/apt/history.log").exists()
    lines = (root / "etc/shadow").read_text().splitlines()
    assert lines == [f"root:x:{day}:0:99999:7:::", f"old:x:{day - 5}::::::"]
    assert (root / "etc/shadow").stat().st_mode & 0o777 == 0o640
    assert reproducible.scrub_root(root, int(EPOCH)) == []  # nothing left to change
    assert "etc/shadow" in changed


def test_runtime_config_key_and_command_line(tmp_path: Path, kiwi):
    path = tmp_path / "config.yml"
    path.write_text("reproducible:\n  enabled: true\n")
    assert load_runtime_config(str(path)).reproducible is True
    assert load_runtime_config(None).reproducible is False
    assert "--reproducible" in kiwi("system", "create", "--help").out
    assert "--reproducible" in kiwi("system", "build", "--help").out


@pytest.mark.parametrize(
    ("attributes", "warned"),
    [
        ({"format": "vmdk"}, "the vmdk file is not made reproducibly"),
        ({"format": "vhdx"}, "the vhdx file is not made reproducibly"),
        ({"installpxe": "true"}, "the network install tarball (installpxe) is not made"),
        ({"format": "qcow2"}, None),
    ],
)
def test_what_is_not_reproducible_is_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, attributes: dict[str, str], warned: str | None
):
    image = Image(types=(Type("oem", {"filesystem": "ext4", **attributes}),))
    build = load_build(write_description(tmp_path / "d", image), BuildOptions(), RuntimeConfig())
    settings = settings_of(build, DiskSettings)
    setting = reproducible.Reproducible(epoch=1, seed="00" * 32, epoch_source="description")
    caplog.clear()  # loading the description logs at INFO when an earlier test set it
    with caplog.at_level(logging.WARNING, logger="kiwi_like"):
        oem._warn_unreproducible(settings)  # an ordinary build: nothing to say
        assert not caplog.records
        with reproducible.reproducing(setting):
            oem._warn_unreproducible(settings)
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any(warned in m for m in messages) if warned else not messages, messages
