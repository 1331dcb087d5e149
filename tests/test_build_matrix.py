"""`system build-all`: every profile × type of a description in one command.

The selections and their groups are checked on the real JeOS description (no network);
the matrix itself runs offline on tiny packages (tests/debrepo.py): results, the shared
package root, a failing selection and Ctrl-C. The JeOS matrix (oem, live, docker) is
built from the host's apt sources once: the docker archive is loaded and the oem disk
booted as the single builds' tests do; the live ISO's boot is in `make test-extended`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kiwi_like.create.matrix import Selection, plan, selections
from kiwi_like.description import BuildOptions
from kiwi_like.errors import KiwiLikeError
from kiwi_like.result import RESULT_FILE
from kiwi_like.runtime_config import RuntimeConfig
from tests import qemu
from tests.conftest import REPO
from tests.debrepo import DebPackage, DebRepo, build_repo, busybox_package
from tests.descriptions import CUSTOM_BOOTSTRAP, write_description
from tests.faults import interrupt, processes_mentioning, result_files

JEOS = REPO / "descriptions/debian/bookworm-jeos"
JEOS_NAME = "Debian-Bookworm-JeOS.x86_64-1.0.0"


def _names(found: list[Selection]) -> list[str]:
    return [s.name for s in found]


# -- the selections of a real description (fast, no network) ----------------------------


def test_every_profile_with_a_type_is_a_selection() -> None:
    names = _names(selections(JEOS, BuildOptions()))
    # bootable has no type of its own: it is required, not built
    assert names == [
        "oem-oem", "install-oem", "qcow2-oem", "live-iso", "pxe-kis", "docker-docker",
        "rootfs-tbz", "rootfs-ext4", "rootfs-ext2", "rootfs-ext3", "rootfs-xfs",
        "rootfs-btrfs", "rootfs-squashfs",
    ]  # fmt: skip


def test_profiles_and_types_choose_rows_and_columns() -> None:
    chosen = selections(JEOS, BuildOptions(), profiles=["live", "rootfs"], types=["iso", "ext4"])
    assert _names(chosen) == ["live-iso", "rootfs-ext4"]
    assert _names(selections(JEOS, BuildOptions(), types=["vmx"])) == [
        "oem-oem", "install-oem", "qcow2-oem"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("profiles", "types", "message"),
    [
        (["nosuch"], [], "profile 'nosuch' is not defined"),
        (["bootable"], [], "--profile bootable: the profile has no image type"),
        (["docker"], ["iso"], "--type iso: no selected profile has this image type"),
    ],
)
def test_selections_that_cannot_be_are_refused(
    profiles: list[str], types: list[str], message: str
) -> None:
    with pytest.raises(KiwiLikeError, match=re.escape(message)):
        selections(JEOS, BuildOptions(), profiles=profiles, types=types)


def test_selections_are_grouped_by_their_package_root() -> None:
    planned = plan(JEOS, BuildOptions(), RuntimeConfig())
    groups: dict[str, list[str]] = {}
    for item in planned:
        groups.setdefault(item.group, []).append(item.selection.name)
    # the install ISO's type needs more packages; containers and root file systems none
    assert sorted(groups.values()) == sorted(
        [
            ["oem-oem", "qcow2-oem"],
            ["install-oem"],
            ["live-iso"],
            ["pxe-kis"],
            ["docker-docker", "rootfs-tbz", "rootfs-ext4", "rootfs-ext2", "rootfs-ext3",
             "rootfs-xfs", "rootfs-btrfs", "rootfs-squashfs"],
        ]
    )  # fmt: skip
    # each group's selections follow each other: the first one stores the root
    order = [item.group for item in planned]
    assert all(order.index(g) + order.count(g) - 1 == max(
        i for i, o in enumerate(order) if o == g) for g in set(order))  # fmt: skip
    docker = next(p for p in planned if p.selection.name == "docker-docker").build
    assert docker.profiles == ("docker",) and docker.build_type.image == "docker"


def test_the_longest_create_goes_first() -> None:
    # docker compresses the whole root, the live ISO makes a squashfs and an initrd, the
    # oem disk an initrd and a file system: started first, docker runs beside the others
    chosen = plan(JEOS, BuildOptions(), RuntimeConfig(), profiles=["oem", "live", "docker"])
    assert _names([p.selection for p in chosen]) == ["docker-docker", "live-iso", "oem-oem"]
    everything = _names([p.selection for p in plan(JEOS, BuildOptions(), RuntimeConfig())])
    assert everything[0] == "docker-docker" and everything[-3:] == [
        "oem-oem", "qcow2-oem", "install-oem"
    ]  # fmt: skip


def test_no_root_cache_no_shared_roots() -> None:
    planned = plan(
        JEOS, BuildOptions(), RuntimeConfig(root_cache_size=0), profiles=["oem", "qcow2"]
    )
    assert len({item.group for item in planned}) == 2


def test_post_bootstrap_sh_sees_the_selection(tmp_path: Path) -> None:
    """post_bootstrap.sh reads /.profile before the packages: the root cache keys each
    selection apart then, and so do the groups."""
    copy = tmp_path / "jeos"
    subprocess.run(["cp", "-a", str(JEOS), str(copy)], check=True)
    (copy / "post_bootstrap.sh").write_text("#!/bin/sh\n")
    planned = plan(copy, BuildOptions(), RuntimeConfig(), profiles=["oem", "qcow2"])
    assert len({item.group for item in planned}) == 2


def test_command_line_refusals(kiwi, tmp_path: Path) -> None:
    target = tmp_path / "target"
    base = ["system", "build-all", "--description", str(JEOS), "--target-dir", str(target)]
    for extra, message in [
        (["--jobs", "0"], "--jobs: expected a number of at least 1, not '0'"),
        (["--profile", "nosuch"], "profile 'nosuch' is not defined"),
        (["--set-type-attr", "nosuch=1"], "oem-oem:"),
    ]:
        done = kiwi(*base, "--profile", "oem", *extra)
        assert done.code == 1 and len(done.error_lines) == 1, done.err
        assert message in done.error_lines[0]
        assert not target.exists()  # refused before anything is written


def test_type_before_the_service_joins_the_ones_after(kiwi, tmp_path: Path) -> None:
    """`--type` before `system` is kept (the options merge), so a wrong one is refused."""
    done = kiwi("--type", "nosuch", "system", "build-all", "--description", str(JEOS),
                "--target-dir", str(tmp_path / "t"), "--type", "iso")  # fmt: skip
    assert done.code == 1 and "--type nosuch:" in done.error_lines[0], done.err


# -- the matrix, offline on tiny packages ---------------------------------------------------

TINY = """<?xml version="1.0" encoding="utf-8"?>
<image schemaversion="8.0" name="Matrix-Test">
    <description type="system">
        <author>tests</author><contact>tests@example.org</contact>
        <specification>build-all test</specification>
    </description>
    <profiles>
        <profile name="small" description="the base"/>
        <profile name="big" description="one more package"/>
        <profile name="broken" description="a package nobody has"/>
        <profile name="slow" description="config.sh waits"/>
    </profiles>
    <preferences>
        <version>1.0.0</version>
        <packagemanager>apt</packagemanager>
        <type image="docker"><containerconfig name="matrix" tag="1"/></type>
        <type image="oci"><containerconfig name="matrix" tag="1"/></type>
    </preferences>
    <repository type="apt-deb" alias="local"><source path="dir://{repo}"/></repository>
    <packages type="bootstrap"><package name="test-busybox"/></packages>
    <packages type="image"><package name="test-base"/></packages>
    <packages type="image" profiles="big"><package name="test-extra"/></packages>
    <packages type="image" profiles="broken"><package name="test-nosuch"/></packages>
</image>
"""

CONFIG_SH = """#!/bin/sh
. /.profile
echo "$kiwi_profiles $kiwi_type" > /etc/selection
case "$kiwi_profiles" in slow) touch /started; sleep 600;; esac
"""


@pytest.fixture(scope="module")
def tiny_repo(tmp_path_factory: pytest.TempPathFactory) -> DebRepo:
    packages = [
        busybox_package(),
        DebPackage("test-base", files={"/usr/share/test-base/hello": "hello\n"}),
        DebPackage("test-extra", files={"/usr/share/test-extra/more": "more\n"}),
    ]
    return build_repo(tmp_path_factory.mktemp("repo"), packages)


def _tiny(directory: Path, repo: DebRepo) -> Path:
    files = {"config.sh": CONFIG_SH, "runtime.yml": CUSTOM_BOOTSTRAP}
    return write_description(directory, TINY.replace("{repo}", str(repo.path)), files)


def _build_all(description: Path, repo: DebRepo, tmp_path: Path, *extra: str) -> list[str]:
    return [
        "system", "build-all", "--description", str(description),
        "--target-dir", str(tmp_path / "target"), "--shared-cache-dir", str(tmp_path / "cache"),
        "--temp-dir", str(tmp_path / "scratch"), "--config", str(description / "runtime.yml"),
        "--signing-key", str(repo.key), *extra,
    ]  # fmt: skip


@pytest.mark.slow
def test_matrix_builds_shares_and_reports(kiwi, tmp_path: Path, tiny_repo: DebRepo) -> None:
    description = _tiny(tmp_path / "description", tiny_repo)
    done = kiwi(*_build_all(description, tiny_repo, tmp_path, "--profile", "small", "--profile", "big",
                            "--profile", "broken"))  # fmt: skip
    target = tmp_path / "target"
    summary = json.loads((target / "build-all.json").read_text())
    rows = {row["name"]: row for row in summary["selections"]}
    assert list(rows) == ["small-docker", "small-oci", "big-docker", "big-oci",
                          "broken-docker", "broken-oci"]  # fmt: skip
    # one failing selection: one line each, the others are built, the exit code says so
    assert done.code == 1 and len(done.error_lines) == 1, done.err
    assert "2 of 6 selections failed: broken-docker, broken-oci" in done.error_lines[0]
    for name in ("broken-docker", "broken-oci"):
        assert rows[name]["status"] == "failed" and "test-nosuch" in rows[name]["error"]
        assert result_files(target / name) == []
        assert "failed" in done.out.split(name, 1)[1].splitlines()[0]
    for name in ("small-docker", "small-oci", "big-docker", "big-oci"):
        row = rows[name]
        assert row["status"] == "ok" and row["error"] is None, row
        assert (target / name / RESULT_FILE).is_file()
        root = target / name / "build/image-root"
        # config.sh ran for the selection, not for the one whose packages it reused
        profile, image = name.split("-")
        assert (root / "etc/selection").read_text() == f"{profile} {image}\n"
        extra = (root / "usr/share/test-extra/more").exists()
        assert extra == (profile == "big")
        assert (target / "logs" / f"{name}.log").is_file()
    # the second selection of a package set restores the first one's root
    assert (
        rows["small-docker"]["root_cache"] == "miss" and rows["big-docker"]["root_cache"] == "miss"
    )
    assert (
        rows["small-oci"]["root_cache"] == "hit"
        and rows["small-oci"]["packages_from"] == "small-docker"
    )
    assert rows["big-oci"]["root_cache"] == "hit"
    docker = target / "small-docker" / "Matrix-Test.x86_64-1.0.0.docker.tar.xz"
    archive = tmp_path / "small.docker.tar"
    with archive.open("wb") as plain:
        subprocess.run(["xz", "-dc", docker], stdout=plain, check=True)
    inspect = ["skopeo", "--insecure-policy", "inspect", f"docker-archive:{archive}"]
    assert json.loads(subprocess.run(inspect, check=True, capture_output=True).stdout)["Layers"]
    assert re.search(r"^small-docker +ok +\d+s +\d+s *$", done.out, re.MULTILINE), done.out


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_interrupted_matrix_stops_every_child(
    tmp_path: Path, tiny_repo: DebRepo, sig: signal.Signals
) -> None:
    description = _tiny(tmp_path / "description", tiny_repo)
    ready = tmp_path / "target/slow-docker/build/image-root/started"
    argv = _build_all(description, tiny_repo, tmp_path, "--profile", "slow", "--profile", "small")
    outcome = interrupt(argv, "slow-docker: prepare started", [sig], ready=ready)
    assert outcome.returncode == 128 + sig, outcome.stderr[-3000:]
    errors = [line for line in outcome.lines_seen if line.startswith("kiwi-like: error:")]
    assert errors == [f"kiwi-like: error: interrupted by {sig.name}"], outcome.stderr[-3000:]
    assert not processes_mentioning(tmp_path)
    assert not [m for m in outcome.new_mounts if m.startswith(str(tmp_path))]
    rows = json.loads((tmp_path / "target/build-all.json").read_text())["selections"]
    assert {row["name"]: row["status"] for row in rows}["slow-docker"] == "interrupted"
    assert all(row["status"] != "ok" for row in rows if row["name"].startswith("slow"))
    root = tmp_path / "target/slow-docker/build/image-root"
    assert not (root / ".profile").exists() and result_files(root.parent.parent) == []


# -- the JeOS matrix from the host's apt sources --------------------------------------------

JEOS_LOGIN = re.compile(r"^debian-bookworm-jeos login:", re.MULTILINE)
JEOS_SELECTIONS = {
    "oem-oem": f"{JEOS_NAME}.raw",
    "live-iso": f"{JEOS_NAME}.iso",
    "docker-docker": f"{JEOS_NAME}.docker.tar.zst",  # zstd: see the fixture
}


@pytest.fixture(scope="module")
def jeos_matrix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """oem, live and docker of the JeOS description in one command, as a user runs it."""
    target = tmp_path_factory.mktemp("jeos-matrix")
    # CI time: zstd instead of xz -6 for the docker archive (minutes on two cores); the
    # plan starts docker first on its own (test_the_longest_create_goes_first)
    runtime = tmp_path_factory.mktemp("jeos-matrix-config") / "runtime.yml"
    runtime.write_text("container:\n  compress: zstd\n")
    done = subprocess.run(
        [sys.executable, "-m", "kiwi_like", "--config", str(runtime), "system", "build-all",
         "--description", str(JEOS), "--target-dir", str(target), "--profile", "oem",
         "--profile", "live", "--profile", "docker"],
        capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout
    return target


@pytest.mark.network
@pytest.mark.slow
def test_jeos_matrix_results(jeos_matrix: Path) -> None:
    rows = json.loads((jeos_matrix / "build-all.json").read_text())["selections"]
    assert {row["name"]: row["status"] for row in rows} == dict.fromkeys(JEOS_SELECTIONS, "ok")
    for name, image in JEOS_SELECTIONS.items():
        directory = jeos_matrix / name
        assert (directory / image).stat().st_size > 10 << 20
        built = json.loads((directory / RESULT_FILE).read_text())["build"]
        assert built["profiles"][0] == name.split("-")[0] and built["image"] == name.split("-")[1]
        packages = (directory / f"{JEOS_NAME}.packages").read_text()
        kernel = "linux-image-amd64|" in packages
        assert kernel == (name != "docker-docker")
    live = (jeos_matrix / "live-iso" / f"{JEOS_NAME}.packages").read_text()
    assert "live-boot|" in live


@pytest.mark.network
@pytest.mark.slow
def test_jeos_matrix_docker_loads(jeos_matrix: Path, tmp_path: Path) -> None:
    archive = tmp_path / f"{JEOS_NAME}.docker.tar"
    with archive.open("wb") as plain:
        packed = jeos_matrix / "docker-docker" / JEOS_SELECTIONS["docker-docker"]
        subprocess.run(["zstd", "-dc", packed], stdout=plain, check=True)
    inspect = ["skopeo", "--insecure-policy", "inspect", "--config", f"docker-archive:{archive}"]
    config = json.loads(subprocess.run(inspect, check=True, capture_output=True).stdout)
    assert config["config"]["Entrypoint"] == ["/bin/bash"]
    assert config["config"]["Labels"]["org.opencontainers.image.title"] == "Debian 12 JeOS"


@pytest.mark.network
@pytest.mark.slow
@pytest.mark.boot
def test_jeos_matrix_oem_disk_boots(jeos_matrix: Path) -> None:
    booted = qemu.boot(jeos_matrix / "oem-oem" / f"{JEOS_NAME}.raw", "efi", marker=JEOS_LOGIN)
    assert booted.marker, booted.tail()
    assert "Debian 12 JeOS 1.0.0 (oem) debian-bookworm-jeos ttyS0" in booted.console


@pytest.mark.network
@pytest.mark.slow
@pytest.mark.boot
@pytest.mark.extended
def test_jeos_matrix_live_iso_boots(jeos_matrix: Path) -> None:
    booted = qemu.boot(cdrom=jeos_matrix / "live-iso" / f"{JEOS_NAME}.iso", firmware="bios",
                       marker=JEOS_LOGIN)  # fmt: skip
    assert booted.marker, booted.tail()
