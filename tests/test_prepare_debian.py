"""A real Debian 12 root from the build host's apt sources: the shipped JeOS description."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kiwi_like.description import BuildOptions, load_build
from kiwi_like.installer import package_manager_for
from kiwi_like.prepare.metadata import write_package_metadata
from kiwi_like.runtime_config import RuntimeConfig
from tests.conftest import REPO

pytestmark = [pytest.mark.network, pytest.mark.slow]

JEOS = REPO / "descriptions/debian/bookworm-jeos"


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def jeos_root(tmp_path_factory: pytest.TempPathFactory, cache: Path) -> tuple[Path, str]:
    from kiwi_like.cli.main import main

    root = tmp_path_factory.mktemp("jeos") / "root"
    log = tmp_path_factory.mktemp("log") / "prepare.log"
    code = main(
        [
            "--profile", "docker", "--logfile", str(log), "system", "prepare",
            "--description", str(JEOS), "--root", str(root), "--shared-cache-dir", str(cache),
        ]
    )  # fmt: skip
    assert code == 0, log.read_text()[-3000:]
    return root, log.read_text()


def test_packages_from_the_host_sources(jeos_root):
    root, _ = jeos_root
    status = (root / "var/lib/dpkg/status").read_text()
    for package in (
        "systemd",
        "systemd-sysv",
        "dbus",
        "iproute2",
        "tzdata",
        "locales",
        "ca-certificates",
    ):
        assert f"Package: {package}\nStatus: install ok installed" in status, package
    assert "Package: linux-image-amd64" not in status  # the docker profile has no kernel
    assert (root / "usr/bin").is_dir() and (root / "bin").is_symlink()  # merged /usr


def test_overlay_archive_and_config_sh(jeos_root):
    root, _ = jeos_root
    assert "built by kiwi-like" in (root / "etc/motd").read_text()
    assert os.access(root / "usr/local/bin/jeos-info", os.X_OK)
    assert "GREETING=hello" in (root / "etc/jeos/extras.conf").read_text()
    assert (root / "var/lib/jeos/build-id").read_text() == "Debian-Bookworm-JeOS-1.0.0\n"
    wants = root / "etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
    assert wants.is_symlink()
    assert os.readlink(root / "etc/systemd/system/default.target").endswith("multi-user.target")
    assert not list((root / "usr/share/doc").glob("*/README*"))  # baseStripDocs


def test_users_locale_timezone(jeos_root):
    root, _ = jeos_root
    # the line's place depends on the order the packages' scripts ran (one package pass)
    shadow = (root / "etc/shadow").read_text().splitlines()
    assert next(line for line in shadow if line.startswith("root:")).startswith("root:$6$kiwilike$")
    assert (root / "etc/default/locale").read_text() == "LANG=en_US.UTF-8\n"
    assert (root / "usr/lib/locale/locale-archive").is_file()  # locale-gen ran
    assert os.readlink(root / "etc/localtime") == "/usr/share/zoneinfo/UTC"
    assert (root / "etc/vconsole.conf").read_text() == "KEYMAP=us\n"
    assert (root / "etc/hostname").read_text() == "debian-bookworm-jeos\n"
    # generated during the build, emptied so each machine gets its own at first boot
    assert (root / "etc/machine-id").read_text() == ""


def test_repositories_and_build_leftovers(jeos_root):
    root, log = jeos_root
    sources = sorted((root / "etc/apt/sources.list.d").glob("*.sources"))
    assert [s.name for s in sources] == ["debian-1.sources", "debian-2.sources", "debian-3.sources"]
    assert "Signed-By: /etc/apt/keyrings/debian-1.gpg" in sources[0].read_text()
    assert not (root / "etc/apt/sources.list").exists()
    resolv = root / "etc/resolv.conf"
    assert not resolv.exists() or resolv.read_bytes() != Path("/etc/resolv.conf").read_bytes()
    assert not (root / "usr/sbin/policy-rc.d").exists()
    assert not list((root / "var/lib/apt/lists").glob("*Packages*"))
    assert not list((root / "var/cache/apt/archives").glob("*.deb"))
    assert "$6$kiwilike$" not in log  # no password hash in the full log


def test_metadata_of_a_real_root(jeos_root, tmp_path):
    root, _ = jeos_root
    config = RuntimeConfig(shared_cache_dir=tmp_path / "cache")
    build = load_build(JEOS, BuildOptions(profiles=("docker",)), config)
    manager = package_manager_for(build, root, tmp_path, config)
    packages, verified = write_package_metadata(manager, tmp_path, build.result_basename)
    lines = packages.read_text().splitlines()
    systemd = next(line for line in lines if line.startswith("systemd|"))
    name, epoch, version, release, arch, disturl, license_ = systemd.split("|")
    assert (epoch, release, arch, disturl, license_) == ("None", "None", "amd64", "None", "None")
    assert version.startswith("252.")
    assert verified.exists()


def test_warm_cache_prepare_downloads_nothing(jeos_root, cache, tmp_path):
    from kiwi_like.cli.main import main

    log = tmp_path / "second.log"
    runtime = tmp_path / "runtime.yml"
    runtime.write_text("cache:\n  root_cache_size: 0\n")  # a root cache hit would skip apt
    code = main(
        [
            "--profile", "docker", "--logfile", str(log), "system", "prepare",
            "--description", str(JEOS), "--root", str(tmp_path / "root"),
            "--shared-cache-dir", str(cache), "--config", str(runtime),
        ]
    )  # fmt: skip
    assert code == 0
    counts = [line for line in log.read_text().splitlines() if "packages downloaded" in line]
    # one package pass (bootstrap and image packages in one mmdebstrap run): one count
    assert len(counts) == 1 and ": 0 packages downloaded, " in counts[0], counts


def test_system_update_on_the_real_root(jeos_root, cache):
    """The image keeps its signed sources; the build ones must not clash with them."""
    from kiwi_like.cli.main import main

    root, _ = jeos_root
    code = main(
        [
            "system", "update", "--root", str(root), "--shared-cache-dir", str(cache),
            "--add-package", "hello",
        ]
    )  # fmt: skip
    assert code == 0
    assert (root / "usr/bin/hello").is_file()
    assert not (root / "etc/apt/kiwi-like-build").exists()
    assert sorted(p.name for p in (root / "etc/apt/sources.list.d").iterdir()) == [
        "debian-1.sources", "debian-2.sources", "debian-3.sources",
    ]  # fmt: skip
