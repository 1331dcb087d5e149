"""The test repository builder: signed flat repos that mmdebstrap installs offline."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.debrepo import (
    GNUPG_PREFIX,
    DebPackage,
    DebRepo,
    build_repo,
    busybox_package,
    gpg_daemons,
)

TOOLS = ("mmdebstrap", "dpkg-deb", "dpkg-scanpackages", "apt-ftparchive", "gpg", "gpgconf")
MISSING = [tool for tool in TOOLS if shutil.which(tool) is None]
if not Path("/bin/busybox").is_file():
    MISSING.append("busybox-static")


def test_host_tools_are_installed():
    """`make setup` installs these; a machine without them must fail here, not skip."""
    assert not MISSING, f"missing host tools (run make setup): {', '.join(MISSING)}"
    assert os.geteuid() == 0, "the tests build image roots and need root"


MARKER = "var/lib/test-app/installed-marker"

PACKAGES = (
    DebPackage("test-base", files={"/usr/share/test-base/hello": "hello"}),
    DebPackage(
        "test-app",
        depends=("test-base",),
        postinst='mkdir -p "$DPKG_ROOT/var/lib/test-app"\n'
        'echo installed > "$DPKG_ROOT/var/lib/test-app/installed-marker"\n',
    ),
    busybox_package(),
)


def leaked_gpg_daemons() -> list[int]:
    """gpg daemons still alive for a throwaway GNUPGHOME that has been removed.

    A home that still exists belongs to a build in progress (say, in a parallel
    test run) and is not counted.
    """
    tmp = Path(tempfile.gettempdir())
    every = gpg_daemons(tmp / GNUPG_PREFIX)  # matches every home with the prefix
    in_progress = {pid for home in tmp.glob(f"{GNUPG_PREFIX}*") for pid in gpg_daemons(home)}
    return [pid for pid in every if pid not in in_progress]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DebRepo]:
    built = build_repo(tmp_path_factory.mktemp("repo") / "repo", PACKAGES)
    yield built
    assert leaked_gpg_daemons() == []


@pytest.fixture(scope="module")
def other_repo(tmp_path_factory: pytest.TempPathFactory) -> DebRepo:
    """Another repository: same tooling, a different throwaway key."""
    return build_repo(tmp_path_factory.mktemp("other") / "repo", [DebPackage("unrelated")])


def mmdebstrap(target: Path, include: str, source: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "mmdebstrap",
            "--mode=chrootless",
            "--variant=custom",
            f"--include={include}",
            "",
            str(target),
            source,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.fixture(scope="module")
def root(repo: DebRepo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("root") / "root"
    result = mmdebstrap(target, "test-app,test-busybox", repo.source_line())
    assert result.returncode == 0, result.stderr
    return target


def test_repository_layout(repo: DebRepo) -> None:
    names = sorted(path.name for path in repo.path.iterdir())
    assert {"Packages", "Release", "InRelease", "Release.gpg"} <= set(names)
    assert len([name for name in names if name.endswith(".deb")]) == len(PACKAGES) + 1  # + apt
    assert repo.key.stat().st_size > 0 and repo.key.parent != repo.path
    assert repo.source_line() == f"deb [signed-by={repo.key}] copy://{repo.path} ./"
    assert "Depends: test-base" in (repo.path / "Packages").read_text()
    assert leaked_gpg_daemons() == []


def test_dependency_is_installed(root: Path) -> None:
    assert (root / "usr/share/test-base/hello").read_text() == "hello"


def test_postinst_ran_against_the_target(root: Path) -> None:
    assert (root / MARKER).read_text() == "installed\n"


def test_busybox_shell_runs_in_chroot(root: Path) -> None:
    assert (root / "bin").is_symlink() and os.readlink(root / "bin") == "usr/bin"
    result = subprocess.run(
        ["chroot", str(root), "/bin/sh", "-c", "echo ok"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"


def test_useradd_works_on_the_root(root: Path) -> None:
    subprocess.run(["useradd", "--root", str(root), "-m", "tester"], check=True)
    grep = subprocess.run(
        ["grep", "tester", str(root / "etc/passwd")], capture_output=True, text=True, check=False
    )
    assert grep.returncode == 0
    assert grep.stdout.startswith("tester:x:")
    assert (root / "home/tester").is_dir()
    # And the new user resolves inside the chroot too.
    result = subprocess.run(
        ["chroot", str(root), "/bin/sh", "-c", "id -un tester"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout == "tester\n", result.stderr


def test_wrong_key_is_refused(repo: DebRepo, other_repo: DebRepo, tmp_path: Path) -> None:
    wrong = DebRepo(path=repo.path, key=other_repo.key)
    result = mmdebstrap(tmp_path / "root", "test-app,test-busybox", wrong.source_line())
    assert result.returncode != 0
    assert "NO_PUBKEY" in result.stderr or "not signed" in result.stderr, result.stderr
    assert not (tmp_path / "root" / MARKER).exists()


def test_unsigned_repo_is_used_as_trusted(tmp_path: Path) -> None:
    unsigned = build_repo(tmp_path / "repo", [PACKAGES[0]], sign=False)
    assert not (unsigned.path / "InRelease").exists()
    assert unsigned.source_line().startswith("deb [trusted=yes] copy://")
    result = mmdebstrap(tmp_path / "root", "test-base", unsigned.source_line())
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "root/usr/share/test-base/hello").is_file()


def test_busybox_package_without_passwd() -> None:
    package = busybox_package(with_passwd=False)
    assert not any(path.startswith("/etc/") for path in package.files)
    assert package.symlinks["/usr/bin/["] == "busybox"
    assert package.mode_of("/usr/bin/busybox") == 0o755


def test_default_modes() -> None:
    package = DebPackage(
        "modes",
        files={"/usr/bin/tool": "", "/etc/conf": "", "/etc/secret": ""},
        modes={"/etc/secret": 0o600},
    )
    assert package.mode_of("/usr/bin/tool") == 0o755
    assert package.mode_of("/etc/conf") == 0o644
    assert package.mode_of("/etc/secret") == 0o600
    with pytest.raises(ValueError, match="not absolute"):
        DebPackage("bad", files={"relative": ""})
