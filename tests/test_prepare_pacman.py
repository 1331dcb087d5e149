"""`system prepare` and `system build` with pacman, offline, against local repositories.

The packages are built with makepkg and indexed with repo-add (tests/pacmanrepo.py);
the roots have no pacman inside (the `pacman` package is an empty stand-in), so the
adapter serves them from the host with --root. Nothing is mocked: the real kiwi-ng
CLI runs the real pacman.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests import descriptions
from tests.descriptions import Image, Repository, Type
from tests.pacmanrepo import PacmanPackage, PacmanRepo, build_repo, busybox_package, signed_copy

PACKAGES = [
    busybox_package(),
    PacmanPackage("test-lib", files={"/usr/share/test-lib/lib.txt": "library\n"}, license="GPL2"),
    PacmanPackage(
        "test-app",
        depends=("test-lib",),
        files={"/usr/bin/test-app": "#!/bin/sh\necho app\n"},
        modes={"/usr/bin/test-app": 0o755},
        post_install="mkdir -p /var/lib/test-app\necho configured > /var/lib/test-app/marker",
    ),
    PacmanPackage("test-doomed", files={"/usr/share/test-doomed/f": "x\n"}),
    PacmanPackage("test-leaf", depends=("test-leaf-dep",), files={"/usr/share/test-leaf/f": "x\n"}),
    PacmanPackage("test-leaf-dep", files={"/usr/share/test-leaf-dep/f": "x\n"}),
    # test-choice needs test-virtual; <ignore name="test-unwanted"/> leaves test-wanted
    PacmanPackage("test-choice", depends=("test-virtual",)),
    PacmanPackage("test-unwanted", provides=("test-virtual",), files={"/usr/share/unwanted": ""}),
    PacmanPackage("test-wanted", provides=("test-virtual",), files={"/usr/share/wanted": ""}),
    PacmanPackage("test-fail", post_install="echo 'post went wrong' >&2\nexit 3"),
]
NO_CHECKS = {"repository_gpgcheck": "false", "package_gpgcheck": "false"}

# The host's own pacman state, which a build must never change.
HOST_STATE = [
    Path("/etc/pacman.conf"),
    Path("/etc/pacman.d"),
    Path("/var/lib/pacman"),
    Path("/var/cache/pacman"),
    Path("/var/log/pacman.log"),
    Path.home() / ".gnupg",
]

CONTAINERCONFIG = """
    <containerconfig name="example/pacman" tag="1.0">
        <entrypoint execute="/usr/bin/test-app"/>
    </containerconfig>
"""


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


@pytest.fixture(scope="module")
def pacman_repo(tmp_path_factory: pytest.TempPathFactory) -> PacmanRepo:
    return build_repo(tmp_path_factory.mktemp("pacman") / "repo", PACKAGES)


def write_description(
    directory: Path,
    repo: PacmanRepo,
    checks: Mapping[str, str] = NO_CHECKS,
    build_type: Type | None = None,
    key: Path | None = None,
) -> Path:
    image = Image(
        name="Pacman-Image",
        packagemanager="pacman",
        specification="pacman test image",
        types=[build_type or Type("tbz")],
        repositories=[
            # no type, as kiwi's Arch descriptions; the alias names the database
            Repository(repo.uri, "", repo.db_name, key=key, attributes=dict(checks)),
            Repository(
                "https://download.example/arch/extra/os/x86_64",
                "",
                "extra",
                attributes={"imageonly": "true"},
            ),
        ],  # fmt: skip
        packages={
            "bootstrap": ["test-busybox"],
            "image": [
                "test-app",
                "test-doomed",
                "test-leaf",
                "test-choice",
                '<ignore name="test-unwanted"/>',
            ],
            "delete": ["test-doomed"],
            "uninstall": ["test-leaf"],
        },
    )
    config_sh = "#!/bin/sh\nset -e\ntest-app > /etc/config-sh-ran\n"
    # no type="" (the writer always writes one)
    xml = descriptions.description_xml(image).replace(' type=""', "")
    return descriptions.write_description(directory, xml, {"config.sh": config_sh})


def prepare(kiwi, description: Path, root: Path, cache: Path, *extra: str):
    return kiwi(
        "system", "prepare", "--description", str(description), "--root", str(root),
        "--shared-cache-dir", str(cache), *extra,
    )  # fmt: skip


def pacman_query(root: Path) -> dict[str, str]:
    output = subprocess.run(
        ["pacman", "--root", root, "--dbpath", root / "var/lib/pacman", "--config", "/dev/null",
         "--query"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return dict(line.split(" ", 1) for line in output.splitlines())


def test_prepare_builds_a_pacman_root(kiwi, pacman_repo, tmp_path):
    root, cache = tmp_path / "root", tmp_path / "cache"
    description = write_description(tmp_path / "description", pacman_repo)
    before = snapshot(HOST_STATE)
    result = prepare(kiwi, description, root, cache)
    assert result.code == 0, result.err
    assert snapshot(HOST_STATE) == before

    # bootstrap, dependencies, the install scriptlet, config.sh with busybox
    assert (root / "bin").is_symlink() and (root / "usr/bin/sh").is_symlink()
    assert (root / "usr/share/test-lib/lib.txt").read_text() == "library\n"
    assert (root / "var/lib/test-app/marker").read_text() == "configured\n"
    assert (root / "etc/config-sh-ran").read_text() == "app\n"
    # <ignore>: the solver took the other provider
    assert (root / "usr/share/wanted").is_file()
    assert not (root / "usr/share/unwanted").exists()
    # delete (forced) and uninstall (with its dependency nothing else needs)
    assert not (root / "usr/share/test-doomed").exists()
    assert not (root / "usr/share/test-leaf").exists()
    assert not (root / "usr/share/test-leaf-dep").exists()
    installed = pacman_query(root)
    assert installed["test-app"] == "1.0-1"
    # kiwi puts the package manager into the bootstrap (here the empty stand-in)
    assert {"test-busybox", "pacman", "test-lib", "test-choice", "test-wanted"} <= set(installed)
    assert not set(installed) & {"test-doomed", "test-leaf", "test-leaf-dep", "test-unwanted"}
    # pacman's state is the root's own; nothing of the build leaked into it
    assert (root / "var/lib/pacman/local/ALPM_DB_VERSION").is_file()
    assert "installed test-app" in (root / "var/log/pacman.log").read_text()
    assert not (root / "var/lib/pacman/sync").exists()
    assert not (root / "var/lib/pacman/db.lck").exists()
    assert not (root / "var/cache/pacman").exists()
    assert not (root / str(tmp_path).lstrip("/")).exists()
    assert not (root / "run/kiwi-like").exists()
    assert not list((root / "tmp").iterdir())
    # only the imageonly remote repository is configured in the image
    assert sorted(p.name for p in (root / "etc/pacman.d").glob("*.repo")) == ["extra.repo"]
    repo_file = (root / "etc/pacman.d/extra.repo").read_text()
    assert "[extra]" in repo_file and "Server = https://download.example/arch/extra" in repo_file
    assert "Include = /etc/pacman.d/*.repo" in (root / "etc/pacman.conf").read_text()
    # the package cache is kiwi-like's, not the host's
    assert (cache / "pacman/pkg/test-app-1.0-1-any.pkg.tar.zst").is_file()


def test_reusing_the_root(kiwi, pacman_repo, tmp_path):
    root, cache = tmp_path / "root", tmp_path / "cache"
    description = write_description(tmp_path / "description", pacman_repo)
    assert prepare(kiwi, description, root, cache).code == 0
    again = prepare(kiwi, description, root, cache, "--allow-existing-root")
    assert again.code == 0, again.err
    assert "reusing the existing root" in again.err
    assert "test-app" in pacman_query(root)


def test_signed_repository_with_its_key(kiwi, pacman_repo, tmp_path):
    signed = signed_copy(pacman_repo, tmp_path / "signed")
    checks = {"repository_gpgcheck": "true", "package_gpgcheck": "true"}
    description = write_description(tmp_path / "description", signed, checks, key=signed.key)
    before = snapshot(HOST_STATE)
    result = prepare(kiwi, description, tmp_path / "root", tmp_path / "cache")
    assert result.code == 0, result.err
    assert snapshot(HOST_STATE) == before
    assert "test-app" in pacman_query(tmp_path / "root")


def test_unsigned_repository_with_checks_on(kiwi, pacman_repo, tmp_path):
    description = write_description(tmp_path / "description", pacman_repo, checks={})
    result = prepare(kiwi, description, tmp_path / "root", tmp_path / "cache")
    assert result.code == 1
    assert len(result.error_lines) == 1, result.err
    assert "signature check failed" in result.error_lines[0]


def test_unknown_package(kiwi, pacman_repo, tmp_path):
    description = write_description(tmp_path / "description", pacman_repo)
    result = prepare(
        kiwi, description, tmp_path / "root", tmp_path / "cache", "--add-package", "no-such-pkg"
    )
    assert result.error_lines == [
        "kiwi-like: error: package not found in the repositories: no-such-pkg"
    ]


def test_failing_install_scriptlet(kiwi, pacman_repo, tmp_path):
    description = write_description(tmp_path / "description", pacman_repo)
    result = prepare(
        kiwi, description, tmp_path / "root", tmp_path / "cache", "--add-package", "test-fail"
    )
    assert result.code == 1
    assert result.error_lines == ["kiwi-like: error: scriptlet failed: install script of test-fail"]


def test_alias_must_name_the_database(kiwi, pacman_repo, tmp_path):
    description = write_description(tmp_path / "description", pacman_repo)
    config = description / "config.xml"
    config.write_text(config.read_text().replace('alias="kltest"', 'alias="other"'))
    result = prepare(kiwi, description, tmp_path / "root", tmp_path / "cache")
    assert result.error_lines == [
        f"kiwi-like: error: repository other: {pacman_repo.path} has no other.db (pacman reads "
        "the database named by the alias or components; found kltest.db)"
    ]
    assert not (tmp_path / "root").exists() or not any((tmp_path / "root").iterdir())


def test_unreachable_repository(kiwi, pacman_repo, tmp_path):
    description = write_description(tmp_path / "description", pacman_repo)
    result = prepare(
        kiwi, description, tmp_path / "root", tmp_path / "cache",
        "--ignore-repos", "--add-repo", "http://127.0.0.1:9/repo,,dead,,,false,,,,false",
    )  # fmt: skip
    assert result.code == 1
    assert len(result.error_lines) == 1, result.err
    assert result.error_lines[0].startswith(
        "kiwi-like: error: repository unreachable: dead.db from 127.0.0.1"
    )


def test_system_update_adds_and_deletes_packages(kiwi, pacman_repo, tmp_path):
    root, cache = tmp_path / "root", tmp_path / "cache"
    description = write_description(tmp_path / "description", pacman_repo)
    assert prepare(kiwi, description, root, cache).code == 0

    def update(*options: str):
        return kiwi(
            "system", "update", "--root", str(root), "--shared-cache-dir", str(cache), *options
        )

    before = snapshot(HOST_STATE)
    added = update("--add-package", "test-leaf")
    assert added.code == 0, added.err
    assert (root / "usr/share/test-leaf-dep/f").is_file()
    removed = update("--delete-package", "test-app")
    assert removed.code == 0, removed.err
    assert not (root / "usr/bin/test-app").exists()
    assert snapshot(HOST_STATE) == before
    installed = pacman_query(root)
    assert "test-leaf" in installed and "test-app" not in installed
    assert "test-lib" not in installed  # kiwi's update removes with the dependencies


@pytest.fixture(scope="module")
def oci_build(pacman_repo, tmp_path_factory) -> Path:
    """`system build` of an oci container from the pacman root (the CLI in-process)."""
    from kiwi_like.cli.main import main

    tmp = tmp_path_factory.mktemp("oci")
    description = write_description(
        tmp / "description", pacman_repo, build_type=Type("oci", {}, CONTAINERCONFIG)
    )
    target = tmp / "target"
    argv = ["system", "build", "--description", str(description), "--target-dir", str(target),
            "--shared-cache-dir", str(tmp / "cache")]  # fmt: skip
    assert main(argv) == 0
    return target


def test_oci_build_of_a_pacman_root_loads_in_skopeo(oci_build, tmp_path):
    archive = tmp_path / "image.oci.tar"
    with archive.open("wb") as out:
        xz = oci_build / "Pacman-Image.x86_64-1.0.0.oci.tar.xz"
        subprocess.run(["xz", "-dc", xz], stdout=out, check=True)
    command = ["skopeo", "--insecure-policy", "inspect", "--config", f"oci-archive:{archive}:1.0"]
    config = json.loads(subprocess.run(command, check=True, capture_output=True).stdout)
    assert config["config"]["Entrypoint"] == ["/usr/bin/test-app"]
    assert config["architecture"] == "amd64" and config["os"] == "linux"
    # .packages in kiwi's pacman format: name|None|version|release|None|None|None
    lines = (oci_build / "Pacman-Image.x86_64-1.0.0.packages").read_text().splitlines()
    assert "test-app|None|1.0|1|None|None|None" in lines
    assert "test-busybox|None|1.0|1|None|None|None" in lines
    assert not any(line.startswith(("test-doomed|", "test-leaf|")) for line in lines)
    assert lines == sorted(lines)
