"""Result files: atomic publishing, kiwi's result files, result list/bundle, image resize,
disk formats."""

from __future__ import annotations

import hashlib
import json
import pickle
import subprocess
import sys
import tarfile
import threading
import types
from pathlib import Path
from typing import NamedTuple

import pytest

from kiwi_like.create import formats
from kiwi_like.description import BuildOptions, load_build
from kiwi_like.errors import KiwiLikeError
from kiwi_like.prepare.pipeline import save_state
from kiwi_like.result import KIWI_RESULT, KIWI_RESULT_JSON, RESULT_FILE, collecting_results
from kiwi_like.result.kiwipickle import Call, Global, New, dumps
from kiwi_like.runtime_config import RuntimeConfig
from tests.descriptions import Image, Type, write_description

BASENAME = "Test.x86_64-1.0.0"
BUILD = {
    "name": "Test", "arch": "x86_64", "version": "1.0.0", "image": "oem",
    "profiles": ["Disk", "Cloud"], "author": "me", "contact": "me@example.org",
    "specification": "a test image",
}  # fmt: skip


def publish_fake_build(
    target: Path, bundle_compress: bool | None = None, bundle_format: str | None = None
) -> None:
    """What the oem builder and the create pipeline publish for a build without a format."""
    with collecting_results(target, bundle_compress) as results:
        results.build = dict(BUILD)
        results.bundle_format = bundle_format
        with results.stage(f"{BASENAME}.raw").open("wb") as raw:
            raw.truncate(8 * 1024 * 1024)
            raw.write(b"boot")
        results.publish_image("disk_image", f"{BASENAME}.raw", "sha256", compress=True)
        results.stage(f"{BASENAME}.packages").write_text("bash|None|5.2|None|amd64|None|None\n")
        results.publish("image_packages", f"{BASENAME}.packages", shasum=False)
        results.stage(f"{BASENAME}.changes").write_text(f"bash|\nnames {BASENAME}.raw\n")
        results.publish("image_changes", f"{BASENAME}.changes", compress=True, shasum=False)
        results.stage(f"{BASENAME}.verified").write_text("")
        results.publish("image_verified", f"{BASENAME}.verified", shasum=False)
        results.write_result_file()


def test_results_are_published_whole_and_listed(tmp_path, kiwi):
    publish_fake_build(tmp_path)
    data = json.loads((tmp_path / RESULT_FILE).read_text())
    named = {entry["filename"] for entry in data["results"].values()}
    assert named == {
        f"{BASENAME}.{suffix}"
        for suffix in ("raw", "raw.sha256", "packages", "changes", "verified")
    }
    assert all((tmp_path / name).is_file() for name in named)
    assert data["build"] == BUILD
    digest = hashlib.sha256((tmp_path / f"{BASENAME}.raw").read_bytes()).hexdigest()
    assert (tmp_path / f"{BASENAME}.raw.sha256").read_text() == f"{digest}  {BASENAME}.raw\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".kiwi-like-staging")]
    listing = kiwi("result", "list", "--target-dir", str(tmp_path))
    assert listing.code == 0
    assert f"disk_image         {tmp_path}/{BASENAME}.raw" in listing.out


def test_kiwi_result_json_has_kiwis_structure(tmp_path):
    """kiwi's Result.dump: key -> filename (absolute), use_for_bundle, compress, shasum."""
    publish_fake_build(tmp_path)
    text = (tmp_path / KIWI_RESULT_JSON).read_text()
    assert text == json.dumps(json.loads(text), indent=4, sort_keys=True) + "\n"

    def entry(suffix: str, compress: bool, shasum: bool) -> dict:
        return {"compress": compress, "filename": f"{tmp_path}/{BASENAME}.{suffix}",
                "shasum": shasum, "use_for_bundle": True}  # fmt: skip

    assert json.loads(text) == {
        "disk_image": entry("raw", compress=True, shasum=True),
        "image_packages": entry("packages", compress=False, shasum=False),
        "image_changes": entry("changes", compress=True, shasum=False),
        "image_verified": entry("verified", compress=False, shasum=False),
    }


@pytest.mark.parametrize(
    ("kind", "config", "expected"),
    [("disk_image", None, True), ("disk_image", False, False), ("disk_format_image", None, True),
     ("kis_archive", None, False), ("kis_archive", True, True), ("live_image", True, False)],
)  # fmt: skip
def test_bundle_compression_follows_kiwi_and_the_runtime_config(tmp_path, kind, config, expected):
    with collecting_results(tmp_path, bundle_compress=config) as results:
        results.build = dict(BUILD)
        results.stage("image").write_text("x")
        results.publish(kind, "image")
        results.write_result_file()
    assert json.loads((tmp_path / KIWI_RESULT_JSON).read_text())[kind]["compress"] is expected


class _FileType(NamedTuple):
    filename: str
    use_for_bundle: bool
    compress: bool
    shasum: bool


class _Tags(NamedTuple):
    N: str
    P: str
    A: str
    I: str  # noqa: E741 (kiwi's name)
    T: str
    M: str
    m: str
    p: str
    v: str


class _Description(NamedTuple):
    author: str
    contact: str
    specification: str


class _Result:
    pass


@pytest.fixture
def kiwi_classes(monkeypatch):
    """Stand-ins of the kiwi classes the pickle names, where unpickling looks them up."""
    result = types.ModuleType("kiwi.system.result")
    result.Result, result.result_file_type, result.result_name_tags = _Result, _FileType, _Tags  # type: ignore[attr-defined]
    state = types.ModuleType("kiwi.xml_state")
    state.description_type = _Description  # type: ignore[attr-defined]
    for name, module in (("kiwi", types.ModuleType("kiwi")), ("kiwi.system", types.ModuleType("kiwi.system")),
                         ("kiwi.system.result", result), ("kiwi.xml_state", state)):  # fmt: skip
        monkeypatch.setitem(sys.modules, name, module)


def test_pickle_writer_matches_pickle():
    values = [
        None,
        True,
        False,
        0,
        -5,
        2**40,
        "ä",
        [],
        [1, "a"],
        {},
        {"a": [1, {"b": None}]},
        (1, 2),
    ]
    for value in values:
        assert pickle.loads(dumps(value)) == value
    assert pickle.loads(dumps(Call(Global("builtins", "int"), ("42",)))) == 42
    namespace = pickle.loads(dumps(New(Global("types", "SimpleNamespace"), state={"x": 1})))
    assert namespace == types.SimpleNamespace(x=1)


def test_kiwi_result_is_kiwis_pickled_result(tmp_path, kiwi_classes):
    publish_fake_build(tmp_path, bundle_format="%N-%v")
    result = pickle.loads((tmp_path / KIWI_RESULT).read_bytes())
    assert isinstance(result, _Result) and result.class_version == 1
    files = result.result_files
    assert files["disk_image"] == _FileType(f"{tmp_path}/{BASENAME}.raw", True, True, True)
    assert files["bundle_format"] == {
        "pattern": "%N-%v",
        "tags": _Tags("Test", "Disk_Cloud", "x86_64", "", "oem", "1", "0", "0", "1.0.0"),
    }
    # what kiwi's result list/bundle ask of the XMLState
    state = result.xml_state
    assert state.xml_data.get_name() == "Test"
    assert (state.get_image_version(), state.get_build_type_name()) == ("1.0.0", "oem")
    assert state.get_description_section() == _Description("me", "me@example.org", "a test image")
    assert (state.profiles, state.host_architecture) == (["Disk", "Cloud"], "x86_64")


def test_a_failed_build_publishes_nothing_that_looks_complete(tmp_path):
    publish_fake_build(tmp_path)  # an earlier, finished build
    with pytest.raises(KiwiLikeError), collecting_results(tmp_path) as results:
        results.stage("Test.x86_64-1.0.0.raw.next").write_bytes(b"half")
        raise KiwiLikeError("disk full")
    for name in (RESULT_FILE, KIWI_RESULT, KIWI_RESULT_JSON):
        assert not (tmp_path / name).exists(), "an old result file would name stale files"
    assert not list(tmp_path.glob("*.next"))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".kiwi-like-staging")]


def test_result_list_without_a_build(tmp_path, kiwi):
    result = kiwi("result", "list", "--target-dir", str(tmp_path))
    assert result.code == 1
    assert result.error_lines == [
        f"kiwi-like: error: no {RESULT_FILE} in {tmp_path}: not a finished kiwi-like build"
    ]


def bundle(kiwi, tmp_path: Path, *options: str, into: str = "bundle") -> tuple[Path, list[str]]:
    target, bundle_dir = tmp_path / "target", tmp_path / into
    argv = ["result", "bundle", "--target-dir", str(target), "--id", "Build1.1"]
    result = kiwi(*argv, "--bundle-dir", str(bundle_dir), *options)
    assert result.code == 0, result.err
    return bundle_dir, sorted(p.name for p in bundle_dir.iterdir())


def test_bundle_of_an_oem_build_compresses_by_default(tmp_path, kiwi):
    """kiwi's file set: the disk and the .changes xz-compressed, checksums of the images."""
    publish_fake_build(tmp_path / "target")
    bundle_dir, names = bundle(kiwi, tmp_path)
    base = f"{BASENAME}-Build1.1"
    assert names == sorted([f"{base}.raw.xz", f"{base}.raw.xz.sha256", f"{base}.packages",
                            f"{base}.changes.xz", f"{base}.verified"])  # fmt: skip
    image = bundle_dir / f"{base}.raw.xz"
    assert image.read_bytes().startswith(b"\xfd7zXZ\0")
    digest = hashlib.sha256(image.read_bytes()).hexdigest()
    assert (bundle_dir / f"{image.name}.sha256").read_text() == f"{digest}  {image.name}\n"
    check = subprocess.run(["sha256sum", "-c", f"{image.name}.sha256"], cwd=bundle_dir, check=False)
    assert check.returncode == 0
    # kiwi: a text result that names a result file names it by its bundle name
    assert (
        f"names {base}.raw\n"
        in subprocess.run(
            ["xz", "-dc", bundle_dir / f"{base}.changes.xz"], capture_output=True, text=True
        ).stdout
    )


def test_bundle_no_compress_and_the_runtime_configs_choice(tmp_path, kiwi):
    publish_fake_build(tmp_path / "target")
    _, names = bundle(kiwi, tmp_path, "--no-compress")
    base = f"{BASENAME}-Build1.1"
    assert f"{base}.raw" in names and f"{base}.changes" in names
    # bundle.compress: false in the runtime config of the build
    publish_fake_build(tmp_path / "target", bundle_compress=False)
    _, names = bundle(kiwi, tmp_path, into="again")
    assert f"{base}.raw" in names and f"{base}.raw.sha256" in names
    assert f"{base}.changes.xz" in names  # kiwi always compresses the changelog


def test_bundle_format_from_the_build_and_the_command_line(tmp_path, kiwi):
    publish_fake_build(tmp_path / "target", bundle_format="%N-%P-%A-%T-%M_%m_%p-%I")
    _, names = bundle(kiwi, tmp_path, "--no-compress")
    base = "Test-Disk_Cloud-x86_64-oem-1_0_0-Build1.1"
    assert names == sorted([f"{base}.raw", f"{base}.raw.sha256", f"{base}.packages",
                            f"{base}.changes", f"{base}.verified"])  # fmt: skip
    _, names = bundle(kiwi, tmp_path, "--bundle-format", "%N_%v", into="other")
    assert "Test_1.0.0.raw.xz" in names


def test_bundle_refusals_are_one_line(tmp_path, kiwi):
    publish_fake_build(tmp_path / "target")
    argv = ["result", "bundle", "--target-dir", str(tmp_path / "target"), "--id", "1"]
    same = kiwi(*argv, "--bundle-dir", str(tmp_path / "target"))
    assert same.error_lines == [
        "kiwi-like: error: the bundle directory must be different from the target directory"
    ]
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep").write_text("mine")
    full = kiwi(*argv, "--bundle-dir", str(tmp_path / "full"), "--package-as-rpm")
    assert full.code == 1 and "is not empty" in full.error_lines[0]
    assert (tmp_path / "full" / "keep").read_text() == "mine"


@pytest.mark.skipif(not Path("/usr/bin/rpmbuild").exists(), reason="needs rpmbuild")
def test_bundle_as_rpm(tmp_path, kiwi):
    publish_fake_build(tmp_path / "target")
    bundle_dir, names = bundle(kiwi, tmp_path, "--no-compress", "--package-as-rpm")
    assert names == ["Test-1.0.0-0.noarch.rpm"]  # kiwi: the image name, or the bundle format
    listed = subprocess.run(["rpm", "-qlp", bundle_dir / names[0]], capture_output=True, text=True)
    assert f"/var/tmp/Test/{BASENAME}-Build1.1.raw.sha256" in listed.stdout.splitlines()


def test_zsync_source_without_zsyncmake_is_refused(tmp_path, kiwi, monkeypatch):
    publish_fake_build(tmp_path / "target")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    argv = ["result", "bundle", "--target-dir", str(tmp_path / "target"), "--id", "1"]
    done = kiwi(*argv, "--bundle-dir", str(tmp_path / "b"), "--zsync-source", "http://x/")
    assert done.error_lines == [
        "kiwi-like: error: --zsync-source needs zsyncmake (Debian package zsync), not found"
    ]
    assert not (tmp_path / "b").exists()


# --- image resize ------------------------------------------------------------------------


def oem_build_dir(tmp_path: Path, disk_format: str | None, label: str = "gpt") -> Path:
    """A target dir as `system build` leaves it: the root's state and a partitioned raw disk."""
    attributes = {"firmware": "efi"} | ({"format": disk_format} if disk_format else {})
    description = write_description(
        tmp_path / "description",
        Image(name="Test", version="1.0.0", types=(Type("oem", attributes),)),
    )
    build = load_build(description, BuildOptions(target_arch="x86_64"), RuntimeConfig())
    target = tmp_path / "target"
    save_state(target / "build/image-root", build, BuildOptions(target_arch="x86_64"))
    raw = target / f"{BASENAME}.raw"
    raw.parent.mkdir(parents=True, exist_ok=True)
    with raw.open("wb") as stream:
        stream.truncate(32 << 20)
    layout = f"label: {label}\n,8M\n,\n"
    subprocess.run(["sfdisk", "-q", raw], input=layout, text=True, check=True)
    (target / f"{BASENAME}.raw.sha256").write_text("stale\n")
    return target


def sfdisk_dump(raw: Path) -> dict:
    done = subprocess.run(["sfdisk", "--json", raw], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)["partitiontable"]


def test_image_resize_grows_the_disk_and_moves_the_gpt_backup(tmp_path, kiwi):
    target = oem_build_dir(tmp_path, "qcow2")
    raw = target / f"{BASENAME}.raw"
    before = sfdisk_dump(raw)
    done = kiwi("image", "resize", "--target-dir", str(target), "--size", "64m")
    assert done.code == 0, done.err
    assert raw.stat().st_size == 64 << 20
    after = sfdisk_dump(raw)
    assert after["partitions"] == before["partitions"]  # the new space stays free
    assert after["lastlba"] > before["lastlba"]
    verify = subprocess.run(["sfdisk", "--verify", raw], capture_output=True, text=True)
    assert "not on the end of the device" not in verify.stdout + verify.stderr
    digest = hashlib.sha256(raw.read_bytes()).hexdigest()
    assert (target / f"{BASENAME}.raw.sha256").read_text() == f"{digest}  {raw.name}\n"
    info = subprocess.run(["qemu-img", "info", "--output=json", target / f"{BASENAME}.qcow2"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert json.loads(info.stdout)["virtual-size"] == 64 << 20


def test_image_resize_refusals(tmp_path, kiwi):
    target = oem_build_dir(tmp_path, None, label="dos")
    argv = ["image", "resize", "--target-dir", str(target)]
    assert kiwi(*argv, "--size", "40m").code == 0  # msdos: the table needs nothing
    assert kiwi(*argv, "--size", "40m").code == 0  # already that size
    smaller = kiwi(*argv, "--size", "1m")
    assert smaller.error_lines == [
        f"kiwi-like: error: shrinking {target}/{BASENAME}.raw disk to 1048576 bytes corrupts "
        "the image"
    ]
    bad = kiwi(*argv, "--size", "1t")
    assert bad.code == 1 and "unsupported size format 1t" in bad.error_lines[0]
    (target / f"{BASENAME}.raw").unlink()
    missing = kiwi(*argv, "--size", "50m")
    assert missing.error_lines == [
        f"kiwi-like: error: no raw disk image {target}/{BASENAME}.raw found in build results"
    ]


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


def test_build_constraint_max_size_refuses_a_larger_image(tmp_path):
    """kiwi's build_constraints.max_size: the image is not published, nothing is left."""
    target = tmp_path / "target"
    refused = pytest.raises(KiwiLikeError, match=r"build constraint failed: big\.raw has 2048")
    with refused, collecting_results(target) as results:
        results.max_image_size = 1024
        results.stage("small.raw").write_bytes(b"x" * 1024)
        results.publish_image("disk_format_image", "small.raw", "sha256")
        results.stage("big.raw").write_bytes(b"x" * 2048)
        results.publish_image("disk_image", "big.raw", "sha256")
    assert not (target / "big.raw").exists()
    assert not [p for p in target.iterdir() if p.name.startswith(".kiwi-like-staging")]


def test_checksums_made_while_the_build_goes_on_match_sha256sum(tmp_path):
    # several images, sparse with data here and there, hashed in a thread while the
    # build goes on: each .sha256 is what sha256sum says of the published file
    names = [f"image-{number}.raw" for number in range(3)]
    with collecting_results(tmp_path) as results:
        results.build = dict(BUILD)
        for number, name in enumerate(names):
            with results.stage(name).open("wb") as image:
                image.truncate((number + 1) * 16 << 20)
                for offset in (0, 5 << 20, (number + 1) * 16 << 20):
                    image.seek(offset)
                    image.write(bytes(range(256)) * 64 + name.encode())
            results.publish_image("disk_image" if number == 0 else f"kind-{number}", name, "sha256")
            # the build goes on writing other results meanwhile
            results.stage(f"{name}.packages").write_text("bash|None|5.2|None|amd64|None|None\n")
        results.write_result_file()
    for name in names:
        expected = subprocess.run(
            ["sha256sum", name], cwd=tmp_path, capture_output=True, text=True, check=True
        ).stdout
        assert (tmp_path / f"{name}.sha256").read_text() == expected
    listed = json.loads((tmp_path / RESULT_FILE).read_text())["results"]
    assert {f"image_checksum:{name}.sha256" for name in names} <= set(listed)


def test_a_failed_build_leaves_no_checksum_thread_and_no_checksum(tmp_path):
    with pytest.raises(KiwiLikeError), collecting_results(tmp_path) as results:
        with results.stage("image.raw").open("wb") as image:
            image.truncate(64 << 20)
        results.publish_image("disk_image", "image.raw", "sha256")
        raise KiwiLikeError("the next step failed")
    assert not (tmp_path / "image.raw.sha256").exists()
    assert not [t for t in threading.enumerate() if t.name.startswith("checksum")]


def test_package_metadata_made_beside_the_image_is_what_a_later_query_says(kiwi, tmp_path):
    # .packages and .verified are written in a thread while the image is made: they must
    # be what dpkg says of the finished root (a file config.sh changed shows in .verified)
    from kiwi_like.installer import package_manager_for
    from kiwi_like.prepare.metadata import write_package_metadata
    from tests.debrepo import DebPackage, build_repo, busybox_package
    from tests.descriptions import CUSTOM_BOOTSTRAP, Repository

    repo = build_repo(
        tmp_path / "repo",
        [busybox_package(), DebPackage("test-data", files={"/usr/share/test-data/v": "1.0\n"})],
    )
    image = Image(
        name="Metadata-Test",
        repositories=[Repository(f"dir://{repo.path}", alias="local", key=repo.key)],
        packages={"bootstrap": ["test-busybox"], "image": ["test-data"]},
    )
    config_sh = "#!/bin/sh\nsed -i s/1.0/changed/ /usr/share/test-data/v\n"
    description = write_description(
        tmp_path / "description", image, {"config.sh": config_sh, "runtime.yml": CUSTOM_BOOTSTRAP}
    )
    target = tmp_path / "target"
    done = kiwi(
        "system", "build", "--description", str(description), "--target-dir", str(target),
        "--shared-cache-dir", str(tmp_path / "cache"), "--config", str(description / "runtime.yml"),
    )  # fmt: skip
    assert done.code == 0, done.err
    [verified] = target.glob("*.verified")
    [listed] = target.glob("*.packages")
    assert "/usr/share/test-data/v" in verified.read_text()
    assert "\ntest-data|" in "\n" + listed.read_text()
    root = target / "build/image-root"
    config = RuntimeConfig(shared_cache_dir=tmp_path / "cache")
    build = load_build(description, BuildOptions(), config)
    manager = package_manager_for(build, root, tmp_path, config)
    later = write_package_metadata(manager, tmp_path / "later", "later")
    assert [path.read_text() for path in later] == [listed.read_text(), verified.read_text()]
