"""Repository URIs as kiwi resolves them, built from for real.

obs:// outside a build-service worker goes to the runtime config's download server (a
local HTTP server here); inside a worker (simulated: KIWI_LIKE_BUILDSERVICE_ROOT names a
directory with a .buildenv) obs:// and obsrepositories:/ are the worker's own, unsigned
repositories laid out as obs-build's kiwi recipe lays them out; outside one
obsrepositories:/ is shown by `image info` and refused by a build; iso:// is read with
xorriso. `image info` runs without a network.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from kiwi_like import buildservice
from kiwi_like.description import BuildOptions, load_build
from kiwi_like.description.model import Repository as ResolvedRepository
from kiwi_like.description.uri import refuse_unbuildable
from kiwi_like.errors import DescriptionError
from kiwi_like.runtime_config import OBS_DOWNLOAD_URL, RuntimeConfig
from tests.conftest import REPO
from tests.debrepo import (
    MANAGER_STAND_IN,
    DebPackage,
    build_deb,
    build_repo,
    busybox_package,
    host_architecture,
)
from tests.descriptions import CUSTOM_BOOTSTRAP, Image, Repository, write_description
from tests.http_server import serving

STANDARD = DebPackage("test-standard", files={"/usr/share/test-standard/f": "standard\n"})
EXTRA = DebPackage("test-extra", files={"/usr/share/test-extra/f": "extra\n"})
WORKER_REPOS = "usr/src/packages/SOURCES/repos"


@pytest.fixture
def outside(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Not a worker, whatever this host is."""
    monkeypatch.setenv(buildservice.ROOT_VARIABLE, str(tmp_path / "no-worker"))


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A simulated worker: its root, with /.buildenv."""
    root = tmp_path / "worker"
    (root / WORKER_REPOS).mkdir(parents=True)
    (root / ".buildenv").write_text("BUILD_DIST=test\n")
    monkeypatch.setenv(buildservice.ROOT_VARIABLE, str(root))
    return root


def obs_repository(
    repos: Path, prp: str, packages: Sequence[DebPackage], distribution: str | None = None
) -> Path:
    """A repository as obs-build's kiwi recipe makes it (createrepo_debian_kiwi): debs,
    `dpkg-scanpackages -m` and an unsigned flat Release; with a distribution also
    `dists/<distribution>/main` (createrepo_debian_dist_kiwi)."""
    directory = repos / prp
    directory.mkdir(parents=True)
    for package in packages:
        build_deb(package, directory)
    arch = host_architecture()
    project, _, name = prp.rpartition("/")
    header = (
        f"Origin: obs:/{prp}\nLabel: {project}\nCodename: {name}\nArchitectures: {arch}\n"
        f"Description: obs repository for {prp}\n"
    )
    _index(directory, directory, header)
    if distribution:
        binary = directory / f"dists/{distribution}/main/binary-{arch}"
        binary.mkdir(parents=True)
        (directory / "dists/stable").symlink_to(distribution)
        dist_header = (
            f"Origin: obs:/{prp}\nLabel: {project}\nSuite: stable\nCodename: {distribution}\n"
            f"Architectures: {arch}\nDescription: obs repository for {prp}\nComponents: main\n"
        )
        _index(directory, binary, dist_header, directory / f"dists/{distribution}")
    return directory


def _index(directory: Path, index: Path, header: str, release_dir: Path | None = None) -> None:
    scan = subprocess.run(
        ["dpkg-scanpackages", "-m", "."], cwd=directory, capture_output=True, check=True
    )
    (index / "Packages").write_bytes(scan.stdout)
    (index / "Packages.gz").write_bytes(gzip.compress(scan.stdout))
    release_dir = release_dir or directory
    lines = [header + "SHA256:"]
    for file in (index / "Packages", index / "Packages.gz"):
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        lines.append(f" {digest} {file.stat().st_size} {file.relative_to(release_dir)}")
    (release_dir / "Release").write_text("\n".join(lines) + "\n")


def description(
    directory: Path, repositories: Sequence[Repository], image: Sequence[str] = ("test-standard",)
) -> Path:
    return write_description(
        directory,
        Image(
            repositories=repositories,
            packages={"bootstrap": ["test-busybox"], "image": list(image)},
        ),
        {"runtime.yml": CUSTOM_BOOTSTRAP},
    )


def resolved(directory: Path, config: RuntimeConfig | None = None) -> list[ResolvedRepository]:
    return list(load_build(directory, BuildOptions(), config or RuntimeConfig()).repositories)


def prepare(kiwi, directory: Path, root: Path, cache: Path, *extra: str):
    return kiwi(
        "system", "prepare", "--description", str(directory), "--root", str(root),
        "--shared-cache-dir", str(cache), "--config", str(directory / "runtime.yml"), *extra,
    )  # fmt: skip


def mounts() -> str:
    return Path("/proc/self/mountinfo").read_text()


# -- obs:// outside a worker ----------------------------------------------------------------


@pytest.mark.usefixtures("outside")
def test_obs_outside_a_worker_uses_kiwis_download_server(tmp_path):
    directory = description(
        tmp_path / "d",
        [
            Repository("obs://Debian:12/standard"),
            Repository("obs://home:alice:images/Debian_12#fragment"),
            Repository("obs://13.1/repo/oss", type="rpm-md"),
        ],
    )
    assert [r.source for r in resolved(directory)] == [
        f"{OBS_DOWNLOAD_URL}/Debian:/12/standard",
        f"{OBS_DOWNLOAD_URL}/home:/alice:/images/Debian_12",
        f"{OBS_DOWNLOAD_URL}/13.1/repo/oss",
    ]
    local = replace(RuntimeConfig(), obs_download_url="http://127.0.0.1:9/obs")
    assert resolved(directory, local)[0].source == "http://127.0.0.1:9/obs/Debian:/12/standard"
    # nothing special about them: signatures are checked as for any remote repository
    assert {r.repository_gpgcheck for r in resolved(directory)} == {None}


@pytest.mark.usefixtures("outside")
def test_prepare_from_obs_through_the_configured_download_server(kiwi, tmp_path):
    served = tmp_path / "served"
    repo = build_repo(
        served / "Debian:/12/standard", [busybox_package(), MANAGER_STAND_IN, STANDARD]
    )
    with serving(served) as (port, requested):
        directory = description(
            tmp_path / "d", [Repository("obs://Debian:12/standard", key=repo.key)]
        )
        (directory / "runtime.yml").write_text(
            f"{CUSTOM_BOOTSTRAP}obs:\n  download_url: http://127.0.0.1:{port}/\n"
        )
        root = tmp_path / "root"
        result = prepare(kiwi, directory, root, tmp_path / "cache")
    assert result.code == 0, result.err
    assert (root / "usr/share/test-standard/f").read_text() == "standard\n"
    assert any(path.startswith("/Debian:/12/standard/") for path in requested)


# -- inside a worker -------------------------------------------------------------------------


def test_obs_in_a_worker_is_its_local_directory_and_trusted(worker, tmp_path):
    repos = worker / WORKER_REPOS
    directory = description(
        tmp_path / "d",
        [
            Repository("obs://Debian:12/standard"),
            Repository("obs://Debian:/12/update", attributes={"repository_gpgcheck": "true"}),
        ],
    )
    first, second = resolved(directory)
    assert first.source == f"dir://{repos}/Debian:12/standard"
    assert first.repository_gpgcheck is False  # the worker's own repositories are trusted
    assert second.source == f"dir://{repos}/Debian:12/update"
    assert second.repository_gpgcheck is True  # unless the description asks otherwise


def test_distribution_kept_only_where_the_worker_made_dists(worker, tmp_path):
    repos = worker / WORKER_REPOS
    obs_repository(repos, "Debian:12/standard", [STANDARD], distribution="bookworm")
    obs_repository(repos, "Debian:12/flat", [EXTRA])
    attributes = {"distribution": "bookworm"}
    directory = description(
        tmp_path / "d",
        [
            Repository("obs://Debian:12/standard", attributes=attributes),
            Repository("obs://Debian:12/flat", attributes=attributes),
        ],
    )
    dists, flat = resolved(directory)
    assert (dists.distribution, dists.components) == ("bookworm", ("main",))
    assert (flat.distribution, flat.components) == (None, ())


def test_obsrepositories_in_a_worker_builds_from_all_its_repositories(kiwi, worker, tmp_path):
    repos = worker / WORKER_REPOS
    obs_repository(
        repos, "Debian:12/standard", [busybox_package(), MANAGER_STAND_IN, STANDARD], "bookworm"
    )
    obs_repository(repos, "home:me:extras/Debian_12", [EXTRA], "bookworm")
    # obs-build's compatibility link for old kiwi versions is not a repository
    (repos / "home:").mkdir()
    (repos / "home:/me:").symlink_to("../home:me:extras")
    directory = description(
        tmp_path / "d",
        [Repository("obsrepositories:/", alias="obs", attributes={"distribution": "bookworm"})],
        image=("test-standard", "test-extra"),
    )
    first, second = resolved(directory)
    assert (first.source, first.alias) == (f"dir://{repos}/Debian:12/standard", "obs-1")
    assert (second.source, second.alias) == (f"dir://{repos}/home:me:extras/Debian_12", "obs-2")
    assert first.distribution == second.distribution == "bookworm"

    info = kiwi("image", "info", "--description", str(directory), "--format", "json")
    assert info.code == 0, info.err
    assert [r["source"] for r in info.json()["repositories"]] == [first.source, second.source]

    root = tmp_path / "root"
    before = mounts()
    result = prepare(kiwi, directory, root, tmp_path / "cache")
    assert result.code == 0, result.err
    assert mounts() == before
    assert (root / "usr/share/test-standard/f").read_text() == "standard\n"
    assert (root / "usr/share/test-extra/f").read_text() == "extra\n"


def test_flat_worker_repository_without_signature(kiwi, worker, tmp_path):
    """obs-build without a distribution: flat, unsigned; no gpgcheck attribute needed."""
    obs_repository(
        worker / WORKER_REPOS, "Debian:12/standard", [busybox_package(), MANAGER_STAND_IN, STANDARD]
    )
    directory = description(tmp_path / "d", [Repository("obs://Debian:12/standard")])
    root = tmp_path / "root"
    result = prepare(kiwi, directory, root, tmp_path / "cache")
    assert result.code == 0, result.err
    assert (root / "usr/share/test-standard/f").read_text() == "standard\n"


def test_obsrepositories_in_a_worker_without_repositories(worker, tmp_path):
    directory = description(tmp_path / "d", [Repository("obsrepositories:/")])
    repositories = resolved(directory)
    assert [r.source for r in repositories] == ["obsrepositories:/"]
    with pytest.raises(DescriptionError, match="the build service worker has no repositories"):
        refuse_unbuildable(repositories)


# -- obsrepositories:/ outside a worker ------------------------------------------------------


@pytest.mark.usefixtures("outside")
def test_obsrepositories_outside_a_worker_shown_then_refused(kiwi, tmp_path):
    directory = description(tmp_path / "d", [Repository("obsrepositories:/")])
    info = kiwi("image", "info", "--description", str(directory), "--format", "json")
    assert info.code == 0, info.err
    assert [r["source"] for r in info.json()["repositories"]] == ["obsrepositories:/"]

    root = tmp_path / "root"
    result = prepare(kiwi, directory, root, tmp_path / "cache")
    assert result.code != 0
    assert len(result.error_lines) == 1, result.err
    assert result.error_lines[0] == (
        f"kiwi-like: error: {directory / 'config.xml'}:{_line(directory, '<repository')}: "
        "repository source 'obsrepositories:/' stands for the repositories of an Open Build "
        "Service worker and this is not one (no /.buildenv): "
        "use --ignore-repos --add-repo=<source> to build here"
    )
    assert "Traceback" not in result.err
    assert not root.exists()  # refused before any work

    replaced = kiwi(
        "image", "info", "--description", str(directory), "--format", "json",
        "--ignore-repos", "--add-repo", "http://127.0.0.1:9/debian,apt-deb",
    )  # fmt: skip
    assert [r["source"] for r in replaced.json()["repositories"]] == ["http://127.0.0.1:9/debian"]


def _line(directory: Path, text: str) -> int:
    lines = (directory / "config.xml").read_text().splitlines()
    return next(number for number, line in enumerate(lines, start=1) if text in line)


# -- iso:// ----------------------------------------------------------------------------------


def test_prepare_from_an_iso_read_with_xorriso(kiwi, tmp_path):
    repo = build_repo(tmp_path / "medium", [busybox_package(), MANAGER_STAND_IN, STANDARD])
    iso = tmp_path / "repo.iso"
    subprocess.run(
        ["xorriso", "-as", "mkisofs", "-quiet", "-r", "-J", "-V", "REPO", "-o", iso, repo.path],
        check=True,
        capture_output=True,
    )
    directory = description(tmp_path / "d", [Repository(f"iso://{iso}", key=repo.key)])
    assert [r.source for r in resolved(directory)] == [f"iso://{iso}"]
    root = tmp_path / "root"
    before = mounts()
    result = prepare(kiwi, directory, root, tmp_path / "cache", "--logfile", str(tmp_path / "log"))
    assert result.code == 0, result.err
    assert mounts() == before
    assert (root / "usr/share/test-standard/f").read_text() == "standard\n"
    log = (tmp_path / "log").read_text()
    assert "$ xorriso -abort_on FAILURE -osirrox on -indev" in log  # read, not mounted
    assert "$ mount " not in log and "$ losetup " not in log


def test_missing_iso_refused_in_one_line(kiwi, tmp_path):
    missing = tmp_path / "missing.iso"
    directory = description(tmp_path / "d", [Repository(f"iso://{missing}", alias="dvd")])
    root = tmp_path / "root"
    result = prepare(kiwi, directory, root, tmp_path / "cache")
    assert result.code != 0
    assert result.error_lines == [
        f"kiwi-like: error: {directory / 'config.xml'}:{_line(directory, '<repository')}: "
        f"repository source 'iso://{missing}': {missing} not found"
    ]
    assert not root.exists()


# -- image info needs no network -------------------------------------------------------------


@pytest.mark.skipif(not shutil.which("unshare"), reason="needs unshare (util-linux)")
def test_image_info_without_a_network(tmp_path):
    directory = description(
        tmp_path / "d",
        [
            Repository("obs://Debian:12/standard"),
            Repository("obsrepositories:/"),
            Repository(f"iso://{tmp_path}/nowhere.iso"),
            Repository("http://unreachable.invalid/debian"),
        ],
    )
    isolate = ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "-r", "--net"]
    environment = {**os.environ, buildservice.ROOT_VARIABLE: str(tmp_path / "no-worker")}
    result = subprocess.run(
        [*isolate, sys.executable, "-m", "kiwi_like", "image", "info", "--format", "json",
         "--description", str(directory), "--config", str(directory / "runtime.yml")],
        cwd=REPO, env=environment, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert [r["source"] for r in json.loads(result.stdout)["repositories"]] == [
        f"{OBS_DOWNLOAD_URL}/Debian:/12/standard",
        "obsrepositories:/",
        f"iso://{tmp_path}/nowhere.iso",
        "http://unreachable.invalid/debian",
    ]
