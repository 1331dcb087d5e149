"""Repository aliases every package manager reads (issue 18, class 4).

The alias names a repository's file: zypper, dnf and apt skip hidden files, dnf refuses
some ids, and two aliases that clean up to the same name would share one file. Real
zypper, dnf and apt install from two local repositories (tests/rpmrepo.py,
tests/debrepo.py) whose aliases are each kind of trouble; the packages of both must be
installed. And when a manager skips a repository file anyway, the adapter names it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import debrepo, rpmrepo
from tests.descriptions import CUSTOM_BOOTSTRAP, Image, Repository, Type, write_description
from tests.test_prepare_rpm import NO_CHECKS, rpm_qa

# (first alias, second alias): hidden, colliding after the clean-up, option-like, non-ASCII
ALIASES = [
    (".hidden", "visible"),
    (".repo", "_repo"),
    ("a b", "a_b"),
    ("-dash", "d\u00e9p\u00f4t"),
    ("x" * 300, "x" * 301),
]


@pytest.fixture(scope="module")
def rpm_repos(tmp_path_factory: pytest.TempPathFactory) -> tuple[rpmrepo.RpmRepo, ...]:
    base = tmp_path_factory.mktemp("alias-rpm")
    one = rpmrepo.build_repo(
        base / "one",
        [rpmrepo.busybox_package(), rpmrepo.RpmPackage("test-one", files={"/usr/share/one": "1"})],
    )
    two = rpmrepo.build_repo(
        base / "two", [rpmrepo.RpmPackage("test-two", files={"/usr/share/two": "2"})]
    )
    return one, two


@pytest.fixture(scope="module")
def deb_repos(tmp_path_factory: pytest.TempPathFactory) -> tuple[debrepo.DebRepo, ...]:
    base = tmp_path_factory.mktemp("alias-deb")
    one = debrepo.build_repo(
        base / "one",
        [debrepo.busybox_package(), debrepo.DebPackage("test-one", files={"/usr/share/one": "1"})],
    )
    # signed with a key of its own: a shared keyring file would break one of them
    two = debrepo.build_repo(
        base / "two", [debrepo.DebPackage("test-two", files={"/usr/share/two": "2"})]
    )
    return one, two


def rpm_description(tmp_path: Path, manager: str, repos, aliases: tuple[str, str]) -> Path:
    image = Image(
        name="aliases",
        packagemanager=manager,
        types=[Type("tbz")],
        repositories=[
            Repository(repo.uri, "rpm-md", alias, attributes=NO_CHECKS)
            for repo, alias in zip(repos, aliases, strict=True)
        ],
        packages={"bootstrap": ["test-busybox"], "image": ["test-one", "test-two"]},
    )
    return write_description(tmp_path / "description", image)


def deb_description(tmp_path: Path, repos, aliases: tuple[str, str]) -> Path:
    image = Image(
        name="aliases",
        types=[Type("tbz")],
        repositories=[
            Repository(f"dir://{repo.path}", alias=alias, key=repo.key)
            for repo, alias in zip(repos, aliases, strict=True)
        ],
        packages={"bootstrap": ["test-busybox"], "image": ["test-one", "test-two"]},
    )
    return write_description(tmp_path / "description", image)


def prepare(kiwi, tmp_path: Path, description: Path, *extra: str):
    return kiwi(
        "system", "prepare", "--description", str(description), "--root", str(tmp_path / "root"),
        "--shared-cache-dir", str(tmp_path / "cache"), *extra,
    )  # fmt: skip


@pytest.mark.parametrize("aliases", ALIASES, ids=lambda a: f"{a[0][:8]!r}+{a[1][:8]!r}")
@pytest.mark.parametrize("manager", ["zypper", "dnf"])
def test_rpm_managers_read_every_alias(kiwi, rpm_repos, tmp_path, manager, aliases):
    done = prepare(kiwi, tmp_path, rpm_description(tmp_path, manager, rpm_repos, aliases))
    assert done.code == 0, done.err[-2000:]
    assert {"test-one", "test-two"} <= rpm_qa(tmp_path / "root")
    repo_files = list((tmp_path / "root").rglob("*.repo"))
    assert not [f for f in repo_files if f.name.startswith((".", "-"))]


@pytest.mark.parametrize("aliases", ALIASES, ids=lambda a: f"{a[0][:8]!r}+{a[1][:8]!r}")
def test_apt_reads_every_alias(kiwi, deb_repos, tmp_path, aliases):
    runtime = tmp_path / "runtime.yml"
    runtime.write_text(CUSTOM_BOOTSTRAP)
    description = deb_description(tmp_path, deb_repos, aliases)
    done = prepare(kiwi, tmp_path, description, "--config", str(runtime))
    assert done.code == 0, done.err[-2000:]
    status = (tmp_path / "root/var/lib/dpkg/status").read_text()
    assert "Package: test-one" in status and "Package: test-two" in status


def _adapter(description: Path, tmp_path: Path, config=None):
    from kiwi_like.description import BuildOptions, load_build
    from kiwi_like.installer import package_manager_for
    from kiwi_like.runtime_config import RuntimeConfig

    config = config or RuntimeConfig()
    build = load_build(description, BuildOptions(), config)
    (tmp_path / "root").mkdir()
    settings = RuntimeConfig(
        shared_cache_dir=tmp_path / "cache", apt_bootstrap_variant=config.apt_bootstrap_variant
    )
    return package_manager_for(build, tmp_path / "root", tmp_path / "scratch", settings)


@pytest.mark.parametrize("manager", ["zypper", "dnf"])
def test_a_repository_zypper_or_dnf_skip_is_named(rpm_repos, tmp_path, manager):
    """The manager itself skips the file (a hidden name): the adapter says which one."""
    from kiwi_like.errors import KiwiLikeError

    adapter = _adapter(rpm_description(tmp_path, manager, rpm_repos, ("one", "two")), tmp_path)
    repos = tmp_path / "scratch" / manager / "repos-host"
    (repos / "two.repo").rename(repos / ".two.repo")
    with pytest.raises(KiwiLikeError, match=f"^{manager} did not read repository two "):
        adapter.bootstrap(["test-busybox"])


def test_a_repository_apt_skips_is_named(deb_repos, tmp_path):
    """apt is given sources without the second repository: the adapter says so."""
    from kiwi_like.errors import KiwiLikeError
    from kiwi_like.installer.apt_sources import BUILD_SOURCES
    from kiwi_like.runtime_config import read_file

    runtime = tmp_path / "runtime.yml"
    runtime.write_text(CUSTOM_BOOTSTRAP)
    from kiwi_like.runtime_config import RuntimeConfig

    config = RuntimeConfig(**read_file(runtime))
    description = deb_description(tmp_path, deb_repos, ("one", "two"))
    adapter = _adapter(description, tmp_path, config)
    adapter.bootstrap(["test-busybox"])
    sources = tmp_path / "root" / BUILD_SOURCES
    sources.write_text(sources.read_text().split("\n\n")[0] + "\n")  # the first stanza only
    with pytest.raises(KiwiLikeError, match="^apt did not read repository two$"):
        adapter.install(["test-one"])
