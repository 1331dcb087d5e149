"""Result files: atomic publishing, kiwi.result.json, result list/bundle, disk formats."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from kiwi_like.create import formats
from kiwi_like.errors import KiwiLikeError
from kiwi_like.result import RESULT_FILE, collecting_results

BASENAME = "Test.x86_64-1.0.0"


def publish_fake_build(target: Path) -> None:
    with collecting_results(target) as results:
        results.build = {"name": "Test", "arch": "x86_64", "version": "1.0.0", "image": "oem"}
        with results.stage(f"{BASENAME}.raw").open("wb") as raw:
            raw.truncate(8 * 1024 * 1024)
            raw.write(b"boot")
        results.publish("disk_image", f"{BASENAME}.raw", compress=True)
        results.publish_checksum(f"{BASENAME}.raw")
        results.stage(f"{BASENAME}.packages").write_text("bash|None|5.2|None|amd64|None|None\n")
        results.publish("image_packages", f"{BASENAME}.packages", shasum=False)
        results.write_result_file()


def test_results_are_published_whole_and_listed(tmp_path, kiwi):
    publish_fake_build(tmp_path)
    data = json.loads((tmp_path / RESULT_FILE).read_text())
    named = {entry["filename"] for entry in data["results"].values()}
    assert named == {f"{BASENAME}.raw", f"{BASENAME}.raw.sha256", f"{BASENAME}.packages"}
    assert all((tmp_path / name).is_file() for name in named)
    digest = hashlib.sha256((tmp_path / f"{BASENAME}.raw").read_bytes()).hexdigest()
    assert (tmp_path / f"{BASENAME}.raw.sha256").read_text() == f"{digest}  {BASENAME}.raw\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".kiwi-like-staging")]
    listing = kiwi("result", "list", "--target-dir", str(tmp_path))
    assert listing.code == 0
    assert f"disk_image         {tmp_path}/{BASENAME}.raw" in listing.out


def test_a_failed_build_publishes_nothing_that_looks_complete(tmp_path):
    publish_fake_build(tmp_path)  # an earlier, finished build
    with pytest.raises(KiwiLikeError), collecting_results(tmp_path) as results:
        results.stage("Test.x86_64-1.0.0.raw.next").write_bytes(b"half")
        raise KiwiLikeError("disk full")
    assert not (tmp_path / RESULT_FILE).exists(), "the old result file would name stale files"
    assert not list(tmp_path.glob("*.next"))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".kiwi-like-staging")]


def test_result_list_without_a_build(tmp_path, kiwi):
    result = kiwi("result", "list", "--target-dir", str(tmp_path))
    assert result.code == 1
    assert result.error_lines == [
        f"kiwi-like: error: no {RESULT_FILE} in {tmp_path}: not a finished build"
    ]


@pytest.mark.parametrize("compress", [False, True])
def test_bundle_names_checksums_and_compression(tmp_path, kiwi, compress):
    target, bundle_dir = tmp_path / "target", tmp_path / "bundle"
    publish_fake_build(target)
    argv = ["result", "bundle", "--target-dir", str(target), "--id", "Build1.1"]
    result = kiwi(*argv, "--bundle-dir", str(bundle_dir), *(["--compress"] if compress else []))
    assert result.code == 0, result.err
    image = f"Test.x86_64-1.0.0-Build1.1.raw{'.xz' if compress else ''}"
    assert sorted(p.name for p in bundle_dir.iterdir()) == sorted(
        [image, f"{image}.sha256", "Test.x86_64-1.0.0-Build1.1.packages"]
    )
    digest = hashlib.sha256((bundle_dir / image).read_bytes()).hexdigest()
    assert (bundle_dir / f"{image}.sha256").read_text() == f"{digest}  {image}\n"
    check = subprocess.run(["sha256sum", "-c", f"{image}.sha256"], cwd=bundle_dir, check=False)
    assert check.returncode == 0


@pytest.mark.parametrize("disk_format", ["qcow2", "vmdk", "vhdx", "vhd-fixed", "vdi"])
def test_formats_convert_with_qemu_img(tmp_path, disk_format):
    raw = tmp_path / "disk.raw"
    with raw.open("wb") as stream:
        stream.truncate(16 * 1024 * 1024)
        stream.write(b"\x55" * 4096)
    output = tmp_path / f"disk.{disk_format}"
    formats.convert(raw, disk_format, output)
    # A fixed VHD is the raw disk plus a footer, so it must be named to be recognised.
    forced = ["-f", "vpc"] if disk_format == "vhd-fixed" else []
    info = json.loads(
        subprocess.run(
            ["qemu-img", "info", *forced, "--output=json", str(output)],
            capture_output=True,
            check=True,
        ).stdout
    )
    expected = {"qcow2": "qcow2", "vmdk": "vmdk", "vhdx": "vhdx", "vhd-fixed": "vpc", "vdi": "vdi"}
    assert info["format"] == expected[disk_format]
    assert info["virtual-size"] >= 16 * 1024 * 1024
    back = tmp_path / "back.raw"
    subprocess.run(
        ["qemu-img", "convert", *forced, "-O", "raw", str(output), str(back)], check=True
    )
    if disk_format == "vhd-fixed":
        assert output.read_bytes()[-512:].startswith(b"conectix")
    assert back.read_bytes()[:4096] == b"\x55" * 4096


def test_unknown_format(tmp_path):
    with pytest.raises(KiwiLikeError, match="format 'gce' is not supported"):
        formats.convert(tmp_path / "x.raw", "gce", tmp_path / "x.gce")


def test_vagrant_box(tmp_path):
    raw = tmp_path / "disk.raw"
    raw.write_bytes(b"\0" * 1024 * 1024)
    box = tmp_path / "x.vagrant.libvirt.box"
    formats.vagrant_box(raw, box, tmp_path)
    with tarfile.open(box) as tar:
        assert sorted(tar.getnames()) == ["Vagrantfile", "box.img", "metadata.json"]
        metadata = json.load(tar.extractfile("metadata.json"))  # type: ignore[arg-type]
    assert metadata == {"provider": "libvirt", "format": "qcow2", "virtual_size": 1}
