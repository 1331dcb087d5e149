"""`system prepare` with zypper and dnf, offline, against a local rpm-md repository.

The packages are built with rpmbuild (tests/rpmrepo.py); the roots have no zypper
or dnf inside, so both adapters serve them from the host with --root/--installroot.
Nothing is mocked: the real kiwi-ng CLI runs the real zypper, dnf and rpm.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests import descriptions
from tests.conftest import SESSION
from tests.descriptions import Image, Repository, Type
from tests.rpmrepo import (
    CompsGroup,
    RpmPackage,
    RpmRepo,
    SusePattern,
    build_repo,
    busybox_package,
)

MANAGERS = ["zypper", "dnf"]
PASSWORD = "s3cret-Pa55"

PACKAGES = [
    busybox_package(),
    RpmPackage("test-base", files={"/usr/share/test-base/hello": "hello\n"}, license="GPL-2.0"),
    RpmPackage(
        "test-app",
        requires=("test-base",),
        files={"/usr/bin/test-app": "#!/bin/sh\necho app\n"},
        modes={"/usr/bin/test-app": 0o755},
        post="mkdir -p /var/lib/test-app\necho configured > /var/lib/test-app/installed-marker\n",
    ),
    RpmPackage("test-epoch", version="3.1", release="7", epoch=2, files={"/usr/share/e/f": "e\n"}),
    RpmPackage("test-doomed", files={"/usr/share/test-doomed/file": "x\n"}),
    RpmPackage("test-leaf", requires=("test-leaf-dep",), files={"/usr/share/test-leaf/f": "x\n"}),
    RpmPackage("test-leaf-dep", files={"/usr/share/test-leaf-dep/f": "x\n"}),
    RpmPackage("test-tool", files={"/usr/share/test-tool/f": "tool\n"}),
    # test-choice needs test-virtual; <ignore name="test-unwanted"/> leaves test-wanted
    RpmPackage("test-choice", requires=("test-virtual",)),
    RpmPackage(
        "test-unwanted", provides=("test-virtual",), files={"/usr/share/test-unwanted/f": "x\n"}
    ),
    RpmPackage(
        "test-wanted", provides=("test-virtual",), files={"/usr/share/test-wanted/f": "x\n"}
    ),
    # openSUSE's form of a pattern (see SusePattern for why the repository has both)
    RpmPackage(
        "patterns-test-tools", provides=("pattern() = test-tools",), requires=("test-tool",)
    ),
    RpmPackage("test-extra", files={"/usr/share/test-extra/f": "extra\n"}),
    RpmPackage("test-fail", post="echo 'post went wrong' >&2\nexit 3\n"),
]

NO_CHECKS = {"repository_gpgcheck": "false", "package_gpgcheck": "false"}
IMAGE_PACKAGES = [
    "test-app",
    "test-epoch",
    "test-doomed",
    "test-leaf",
    "test-choice",
    '<namedCollection name="test-tools"/>',  # the pattern / group
    '<ignore name="test-unwanted"/>',  # test-choice gets test-wanted then
    '<ignore name="no-such-package-to-ignore"/>',
]

# The host's own rpm, zypper and dnf state, which a build must never change.
HOST_STATE = [
    Path("/etc/zypp"),
    Path("/etc/dnf"),
    Path("/etc/yum.repos.d"),
    Path("/var/lib/rpm"),
    Path("/var/lib/dnf"),
    Path("/var/cache/dnf"),
    Path("/var/cache/zypp"),
    Path("/usr/lib/sysimage/rpm"),
    Path.home() / ".rpmdb",
    Path.home() / ".rpmmacros",
]


def snapshot(paths: list[Path]) -> dict[str, str]:
    state = {}
    for top in paths:
        if not top.exists():
            state[str(top)] = "absent"
            continue
        for path in [top, *sorted(top.rglob("*"))]:
            info = path.lstat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
            state[str(path)] = f"{info.st_mode:o} {info.st_size} {info.st_mtime_ns} {digest}"
    return state


@pytest.fixture(scope="session")
def rpm_repo(tmp_path_factory: pytest.TempPathFactory) -> RpmRepo:
    return build_repo(
        tmp_path_factory.mktemp(f"{SESSION}rpm") / "repo",
        PACKAGES,
        groups=[CompsGroup("test-tools", ("test-tool",))],
        patterns=[SusePattern("test-tools", ("test-tool",))],
    )


def write_description(
    tmp_path: Path, repo: RpmRepo, manager: str, checks: Mapping[str, str] = NO_CHECKS
) -> Path:
    updates = {"imageonly": "true", "username": "alice", "password": PASSWORD}
    image = Image(
        name="Rpm-Image",
        packagemanager=manager,
        specification="rpm test image",
        preferences={"rpm-excludedocs": "true"},
        types=[Type("tbz")],
        repositories=[
            Repository(repo.uri, "rpm-md", "local", attributes={"priority": "10", **checks}),
            Repository(
                "https://download.example/updates/", "rpm-md", "updates", attributes=updates
            ),
        ],
        packages={
            "bootstrap": ["test-busybox"],
            "image": IMAGE_PACKAGES,
            "delete": ["test-doomed"],
            "uninstall": ["test-leaf"],
        },
    )
    config_sh = "#!/bin/sh\nset -e\ntest-app > /etc/config-sh-ran\n"
    return descriptions.write_description(tmp_path / "description", image, {"config.sh": config_sh})


def prepare(kiwi, description: Path, root: Path, cache: Path, *extra: str):
    return kiwi(
        "system", "prepare", "--description", str(description), "--root", str(root),
        "--shared-cache-dir", str(cache), *extra,
    )  # fmt: skip


def rpm_qa(root: Path, dbpath: str = "/usr/lib/sysimage/rpm") -> set[str]:
    from kiwi_like import run as runner

    output = runner.stdout_of(
        ["rpm", f"--root={root}", f"--dbpath={dbpath}", "-qa", "--qf", "%{NAME}\n"],
        env={"HOME": str(root / "nonexistent-home")},
    )
    return set(output.split())


@pytest.mark.parametrize("manager", MANAGERS)
def test_prepare_builds_an_rpm_root(kiwi, rpm_repo, tmp_path, manager):
    root, cache = tmp_path / "root", tmp_path / "cache"
    description = write_description(tmp_path, rpm_repo, manager)
    before = snapshot(HOST_STATE)
    result = prepare(kiwi, description, root, cache)
    assert result.code == 0, result.err
    assert snapshot(HOST_STATE) == before

    # bootstrap, dependency resolution, the %post scriptlet, config.sh with busybox
    assert (root / "bin/sh").is_symlink()
    assert (root / "usr/share/test-base/hello").read_text() == "hello\n"
    assert (root / "var/lib/test-app/installed-marker").read_text() == "configured\n"
    assert (root / "etc/config-sh-ran").read_text() == "app\n"
    # the pattern / group, and <ignore>
    assert (root / "usr/share/test-tool/f").read_text() == "tool\n"
    assert not (root / "usr/share/test-unwanted").exists()
    assert (root / "usr/share/test-wanted/f").is_file()
    # delete (forced) and uninstall (with its now unneeded dependency)
    assert not (root / "usr/share/test-doomed/file").exists()
    assert not (root / "usr/share/test-leaf/f").exists()
    assert not (root / "usr/share/test-leaf-dep/f").exists()
    # the rpm database is in the root, at the distribution's path, and lists the packages
    assert (root / "usr/lib/sysimage/rpm/rpmdb.sqlite").is_file()
    assert (root / "var/lib/rpm").is_symlink()
    assert (root / "var/lib/rpm").resolve() == (root / "usr/lib/sysimage/rpm").resolve()
    assert not (root / "root/.rpmdb").exists()
    installed = rpm_qa(root)
    assert {"test-busybox", "test-app", "test-base", "test-epoch", "test-tool"} <= installed
    assert not installed & {"test-doomed", "test-leaf", "test-leaf-dep", "test-unwanted"}
    # no host path (cache, private configuration) leaked into the root
    assert not (root / str(tmp_path).lstrip("/")).exists()
    assert not (root / "tmp/kiwi-like").exists()
    assert not (root / "run/kiwi-like").exists()
    assert not list((root / "tmp").glob("kiwi-like-*"))
    # only the imageonly remote repository is configured in the image, its password apart
    repos_d = root / ("etc/zypp/repos.d" if manager == "zypper" else "etc/yum.repos.d")
    assert sorted(p.name for p in repos_d.iterdir()) == ["updates.repo"]
    repo_file = (repos_d / "updates.repo").read_text()
    assert "baseurl=https://download.example/updates/" in repo_file
    if manager == "zypper":
        assert PASSWORD not in repo_file and "credentials=updates" in repo_file
        credentials = root / "etc/zypp/credentials.d/updates"
        assert credentials.read_text() == f"username=alice\npassword={PASSWORD}\n"
        assert credentials.stat().st_mode & 0o777 == 0o600
    else:
        assert f"password={PASSWORD}" in repo_file
        assert (repos_d / "updates.repo").stat().st_mode & 0o777 == 0o600
    assert PASSWORD not in result.err
    # the shared package cache has the manager's directory, not the host's
    assert (cache / manager).is_dir()


@pytest.mark.parametrize("manager", MANAGERS)
def test_package_metadata(kiwi, rpm_repo, tmp_path, manager):
    from kiwi_like.description import BuildOptions, load_build
    from kiwi_like.installer import package_manager_for
    from kiwi_like.prepare.metadata import write_package_metadata
    from kiwi_like.runtime_config import RuntimeConfig

    root = tmp_path / "root"
    description = write_description(tmp_path, rpm_repo, manager)
    assert prepare(kiwi, description, root, tmp_path / "cache").code == 0
    (root / "usr/share/test-base/hello").write_text("changed\n")
    build = load_build(description, BuildOptions(), RuntimeConfig())
    config = RuntimeConfig(shared_cache_dir=tmp_path / "cache")
    manager_ = package_manager_for(build, root, tmp_path, config)
    packages, verified = write_package_metadata(manager_, tmp_path / "out", build.result_basename)
    lines = packages.read_text().splitlines()
    assert "test-app|(none)|1.0|1|noarch|(none)|MIT" in lines
    assert "test-base|(none)|1.0|1|noarch|(none)|GPL-2.0" in lines
    assert "test-epoch|2|3.1|7|noarch|(none)|MIT" in lines
    assert f"test-busybox|(none)|1.0|1|{os.uname().machine}|(none)|MIT" in lines
    assert not any(line.startswith("test-doomed|") for line in lines)
    assert lines == sorted(lines)
    assert "/usr/share/test-base/hello" in verified.read_text()
    assert "/usr/share/test-app" not in verified.read_text()


@pytest.mark.parametrize("manager", MANAGERS)
def test_reusing_the_root_and_the_package_cache(kiwi, rpm_repo, tmp_path, manager):
    root, cache = tmp_path / "root", tmp_path / "cache"
    description = write_description(tmp_path, rpm_repo, manager)
    assert prepare(kiwi, description, root, cache).code == 0
    again = prepare(kiwi, description, root, cache, "--allow-existing-root")
    assert again.code == 0, again.err
    assert "reusing the existing root" in again.err
    assert rpm_qa(root) >= {"test-app", "test-busybox"}


@pytest.mark.parametrize("manager", MANAGERS)
def test_unknown_package(kiwi, rpm_repo, tmp_path, manager):
    description = write_description(tmp_path, rpm_repo, manager)
    result = prepare(
        kiwi, description, tmp_path / "root", tmp_path / "cache", "--add-package", "no-such-pkg"
    )
    assert result.code == 1
    assert result.error_lines == [
        "kiwi-like: error: package not found in the repositories: no-such-pkg"
    ]


@pytest.mark.parametrize("manager", MANAGERS)
def test_unreachable_repository(kiwi, rpm_repo, tmp_path, manager):
    description = write_description(tmp_path, rpm_repo, manager)
    result = prepare(
        kiwi, description, tmp_path / "root", tmp_path / "cache",
        "--ignore-repos", "--add-repo", "http://127.0.0.1:9/repo,rpm-md,dead,,,false,,,,false",
    )  # fmt: skip
    assert result.code == 1
    assert len(result.error_lines) == 1, result.err
    assert "repository unreachable:" in result.error_lines[0]
    assert "dead" in result.error_lines[0] or "127.0.0.1:9" in result.error_lines[0]


@pytest.mark.parametrize("manager", MANAGERS)
def test_failing_post_scriptlet(kiwi, rpm_repo, tmp_path, manager):
    description = write_description(tmp_path, rpm_repo, manager)
    result = prepare(
        kiwi, description, tmp_path / "root", tmp_path / "cache", "--add-package", "test-fail"
    )
    assert result.code == 1
    assert len(result.error_lines) == 1, result.err
    assert "%post of test-fail" in result.error_lines[0]


@pytest.mark.parametrize("manager", MANAGERS)
def test_unsigned_repository_with_checks_on(kiwi, rpm_repo, tmp_path, manager):
    # With credentials: dnf prints the failing repository's settings, password included.
    checks = {"username": "alice", "password": PASSWORD}
    description = write_description(tmp_path, rpm_repo, manager, checks=checks)
    before = snapshot(HOST_STATE)
    log = tmp_path / "prepare.log"
    result = prepare(
        kiwi, description, tmp_path / "root", tmp_path / "cache", "--logfile", str(log)
    )
    assert result.code == 1
    assert len(result.error_lines) == 1, result.err
    assert "signature check failed" in result.error_lines[0]
    assert snapshot(HOST_STATE) == before
    assert PASSWORD not in result.err and PASSWORD not in log.read_text()


@pytest.mark.parametrize("manager", MANAGERS)
def test_signature_checks_off_warns(kiwi, rpm_repo, tmp_path, manager):
    description = write_description(tmp_path, rpm_repo, manager, checks={})
    config = description / "config.xml"
    config.write_text(
        config.read_text()
        .replace(
            "<rpm-excludedocs>",
            "<rpm-check-signatures>false</rpm-check-signatures><rpm-excludedocs>",
        )
        .replace('alias="local" priority="10"', 'alias="local" repository_gpgcheck="false"')
    )
    result = prepare(kiwi, description, tmp_path / "root", tmp_path / "cache")
    assert result.code == 0, result.err
    assert "rpm-check-signatures is off" in result.err


@pytest.mark.parametrize("manager", MANAGERS)
def test_repository_password_is_never_logged(kiwi, rpm_repo, tmp_path, manager):
    description = write_description(tmp_path, rpm_repo, manager)
    log = tmp_path / "prepare.log"
    result = kiwi(
        "--debug", "--logfile", str(log), "system", "prepare",
        "--description", str(description), "--root", str(tmp_path / "root"),
        "--shared-cache-dir", str(tmp_path / "cache"), "--ignore-repos",
        "--add-repo", "http://127.0.0.1:9/repo,rpm-md,dead,,,false,,,,false",
        "--add-repo-credentials", f"alice:{PASSWORD}",
    )  # fmt: skip
    assert result.code == 1
    assert "repository unreachable:" in result.error_lines[0]
    assert PASSWORD not in result.err
    assert PASSWORD not in log.read_text()


@pytest.mark.parametrize("name", ["dnf4", "dnf5", "microdnf"])
def test_dnf_names_are_served_by_the_installed_dnf(kiwi, rpm_repo, tmp_path, name):
    description = write_description(tmp_path, rpm_repo, name)
    result = prepare(kiwi, description, tmp_path / "root", tmp_path / "cache")
    assert result.code == 0, result.err
    assert (tmp_path / "root/var/lib/test-app/installed-marker").is_file()


def test_wrong_repository_type(kiwi, rpm_repo, tmp_path):
    description = write_description(tmp_path, rpm_repo, "dnf")
    config = description / "config.xml"
    config.write_text(
        config.read_text().replace('type="rpm-md" alias="local"', 'type="yast2" alias="local"')
    )
    result = prepare(kiwi, description, tmp_path / "root", tmp_path / "cache")
    assert result.error_lines == [
        "kiwi-like: error: repository local: type 'yast2' cannot be used with the dnf "
        "package manager (use rpm-md)"
    ]


def test_rpm_dir_repository_with_zypper(kiwi, rpm_repo, tmp_path):
    """A plain directory of rpms (no repodata): zypper's plaindir type."""
    import shutil

    plain = tmp_path / "plain"
    plain.mkdir()
    for rpm in rpm_repo.path.glob("*.rpm"):
        shutil.copy(rpm, plain)
    description = write_description(tmp_path, rpm_repo, "zypper")
    config = description / "config.xml"
    text = config.read_text().replace('type="rpm-md" alias="local"', 'type="rpm-dir" alias="local"')
    config.write_text(
        text.replace(str(rpm_repo.path), str(plain)).replace(
            '<namedCollection name="test-tools"/>', '<package name="test-tool"/>'
        )
    )
    result = prepare(kiwi, description, tmp_path / "root", tmp_path / "cache")
    assert result.code == 0, result.err
    assert (tmp_path / "root/var/lib/test-app/installed-marker").is_file()


@pytest.mark.parametrize("manager", MANAGERS)
def test_system_update_adds_and_deletes_packages(kiwi, rpm_repo, tmp_path, manager):
    root, cache = tmp_path / "root", tmp_path / "cache"
    description = write_description(tmp_path, rpm_repo, manager)
    assert prepare(kiwi, description, root, cache).code == 0

    def update(*options: str):
        return kiwi(
            "system", "update", "--root", str(root), "--shared-cache-dir", str(cache), *options
        )

    added = update("--add-package", "test-extra")
    assert added.code == 0, added.err
    assert (root / "usr/share/test-extra/f").read_text() == "extra\n"
    removed = update("--delete-package", "test-app")
    assert removed.code == 0, removed.err
    assert not (root / "usr/bin/test-app").exists()
    assert update().code == 0
    assert "test-extra" in rpm_qa(root) and "test-app" not in rpm_qa(root)


@pytest.mark.parametrize("manager", MANAGERS)
def test_repositories_for_a_manager_inside_the_root(rpm_repo, tmp_path, manager):
    """With zypper/dnf in the root, local repositories are reached through bind mounts."""
    from kiwi_like.description import BuildOptions, load_build
    from kiwi_like.installer import package_manager_for
    from kiwi_like.runtime_config import RuntimeConfig

    description = write_description(tmp_path, rpm_repo, manager)
    options = BuildOptions(add_repos=("https://mirror.example/oss/,rpm-md,oss",))
    build = load_build(description, options, RuntimeConfig())
    scratch = tmp_path / "scratch"
    config = RuntimeConfig(shared_cache_dir=tmp_path / "cache")
    package_manager_for(build, tmp_path / "root", scratch, config)
    chroot_repos = scratch / manager / "repos-chroot"
    local = (chroot_repos / "local.repo").read_text()
    scheme = "dir" if manager == "zypper" else "file"
    assert f"baseurl={scheme}:///run/kiwi-like/{manager}/repos/local" in local
    assert "baseurl=https://mirror.example/oss/" in (chroot_repos / "oss.repo").read_text()
    assert "priority=10" in local


@pytest.mark.parametrize("manager", MANAGERS)
def test_rpm_root_as_an_oci_image(kiwi, rpm_repo, tmp_path, manager):
    """rpm roots cannot boot here (no rpm distribution mirror), but make valid containers."""
    import json
    import subprocess

    description = write_description(tmp_path, rpm_repo, manager)
    config = description / "config.xml"
    config.write_text(config.read_text().replace('<type image="tbz"/>', '<type image="oci"/>'))
    target = tmp_path / "target"
    done = kiwi("system", "build", "--description", str(description), "--target-dir", str(target),
                "--shared-cache-dir", str(tmp_path / "cache"))  # fmt: skip
    assert done.code == 0, done.err
    archive = target / "Rpm-Image.x86_64-1.0.0.oci.tar"
    with archive.open("wb") as plain:
        subprocess.run(["xz", "-dc", f"{archive}.xz"], stdout=plain, check=True)
    inspect = [
        "skopeo",
        "--insecure-policy",
        "inspect",
        "--config",
        f"oci-archive:{archive}:latest",
    ]
    image = json.loads(subprocess.run(inspect, check=True, capture_output=True).stdout)
    assert image["config"]["Cmd"] == ["/bin/sh"]  # no bash in this root
    layout = tmp_path / "layout"
    layout.mkdir()
    subprocess.run(["tar", "-C", layout, "-xf", archive], check=True)
    bundle = tmp_path / "bundle"
    subprocess.run(["umoci", "unpack", "--image", f"{layout}:latest", bundle], check=True,
                   capture_output=True)  # fmt: skip
    rootfs = bundle / "rootfs"
    assert {"test-app", "test-base", "test-busybox"} <= rpm_qa(rootfs)
    assert (rootfs / "var/lib/test-app/installed-marker").read_text() == "configured\n"
    for cache in ("var/cache/zypp", "var/cache/dnf"):
        assert not (rootfs / cache).is_dir() or not any((rootfs / cache).iterdir())
