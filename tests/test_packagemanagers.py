"""The package-manager descriptors: one table, and every stage asks it.

Real descriptions are loaded and real adapters made (no package is installed:
making an adapter writes its configuration only), roots and caches are real
directories.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from kiwi_like import lazy
from kiwi_like.description import BuildOptions, ResolvedBuild, load_build
from kiwi_like.description.overrides import REPOSITORY_TYPES
from kiwi_like.description.packagemanagers import (
    PACKAGE_MANAGERS,
    PackageManagerKind,
    all_cache_dirs,
    all_host_packages,
    package_manager_kind,
)
from kiwi_like.errors import KiwiLikeError
from kiwi_like.installer import PackageManager, adapter_class, package_manager_for
from kiwi_like.installer.apt import AptPackageManager
from kiwi_like.prepare.pipeline import clear_cache, setup_root
from kiwi_like.runtime_config import RuntimeConfig
from tests.conftest import REPO
from tests.descriptions import Image, Repository, write_description

NAMES = {
    "apt": "apt",
    "apt-get": "apt",
    "zypper": "zypper",
    "dnf": "dnf",
    "dnf4": "dnf",
    "dnf5": "dnf",
    "microdnf": "dnf",
    "yum": "dnf",
    "pacman": "pacman",
}
KINDS = pytest.mark.parametrize("kind", PACKAGE_MANAGERS, ids=lambda kind: kind.name)


def load(
    tmp_path: Path, image: Image, options: BuildOptions | None = None, **config
) -> ResolvedBuild:
    description = write_description(tmp_path / "description", image)
    return load_build(description, options or BuildOptions(), RuntimeConfig(**config))


def kind_image(kind: PackageManagerKind, repository_type: str | None = None) -> Image:
    """A description for `kind` with one remote repository (nothing is fetched)."""
    repository = Repository(
        "http://mirror.example/repo",
        type=repository_type or kind.default_repository_type,
        alias="remote",
        attributes={"distribution": "stable"} if kind.name == "apt" else {},
    )
    return Image(packagemanager=kind.name, repositories=(repository,))


# -- the table -------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "canonical"), NAMES.items())
def test_names_and_aliases(name, canonical):
    assert package_manager_kind(name).name == canonical


def test_unknown_name_is_one_line_naming_the_supported_ones():
    with pytest.raises(KiwiLikeError) as error:
        package_manager_kind("apk")
    message = str(error.value)
    assert message == (
        "packagemanager 'apk' is not supported yet "
        "(supported: apt, apt-get, zypper, dnf, dnf4, dnf5, microdnf, yum, pacman)"
    )


def test_every_name_is_registered_once_and_accepted_by_the_schema():
    names = [name for kind in PACKAGE_MANAGERS for name in kind.names]
    assert sorted(names) == sorted(NAMES)
    schema = (REPO / "schema/kiwi-like.rnc").read_text()
    accepted = re.search(r"element packagemanager \{([^}]*)\}", schema)
    assert accepted is not None
    assert set(names) <= set(re.findall(r'"([^"]+)"', accepted.group(1)))


def test_repository_types_are_the_schemas():
    schema = (REPO / "schema/kiwi-like.rnc").read_text()
    types = re.search(r"attribute type \{([^}]*)\}\?\s*& profiles.attr", schema)
    assert types is not None
    assert tuple(re.findall(r'"([^"]+)"', types.group(1))) == REPOSITORY_TYPES
    for kind in PACKAGE_MANAGERS:
        assert set(kind.repository_types) <= set(REPOSITORY_TYPES), kind.name


@KINDS
def test_every_adapter_reference_loads_to_its_adapter(kind):
    adapter = adapter_class(kind.adapter)
    assert issubclass(adapter, PackageManager)
    assert adapter.kind is kind


def test_lazy_load_refuses_bad_references():
    assert lazy.load("kiwi_like.lazy:load") is lazy.load
    for reference in ("kiwi_like.lazy", "kiwi_like.lazy:missing", ":load"):
        with pytest.raises(ValueError, match="reference"):
            lazy.load(reference)


def test_host_packages_are_in_the_makefile():
    """`make setup` installs HOST_PACKAGES: every manager's host tools must be there."""
    makefile = (REPO / "Makefile").read_text().replace("\\\n", " ")
    line = re.search(r"^HOST_PACKAGES\s*:?=(.*)$", makefile, re.MULTILINE)
    assert line is not None
    missing = set(all_host_packages()) - set(shlex.split(line.group(1)))
    assert not missing, f"add {' '.join(sorted(missing))} to HOST_PACKAGES in the Makefile"


# -- the description layer -------------------------------------------------------------


def test_apt_get_add_repo_without_type_is_apt_deb(tmp_path):
    """The bug of issue 14: apt-get descriptions got rpm-md repositories from --add-repo."""
    image = Image(
        packagemanager="apt-get",
        repositories=(Repository("http://mirror.example/debian", alias="main"),),
    )
    options = BuildOptions(add_repos=("http://extra.example/debian,,extra",))
    build = load(tmp_path, image, options)
    assert [(r.alias, r.type) for r in build.repositories] == [
        ("main", "apt-deb"),
        ("extra", "apt-deb"),
    ]


@pytest.mark.parametrize("name", ["zypper", "dnf", "microdnf"])
def test_rpm_managers_add_repo_without_type_is_rpm_md(tmp_path, name):
    options = BuildOptions(add_repos=("http://extra.example/repo",))
    build = load(tmp_path, Image(packagemanager=name), options)
    assert [r.type for r in build.repositories] == ["rpm-md"]


def test_apt_get_without_repositories_uses_the_host_sources(tmp_path):
    apt_dir = tmp_path / "etc-apt"
    apt_dir.mkdir()
    (apt_dir / "sources.list").write_text("deb http://mirror.example/debian bookworm main\n")
    build = load(tmp_path, Image(packagemanager="apt-get"), host_apt_sources=apt_dir)
    assert [(r.source, r.type, r.distribution) for r in build.repositories] == [
        ("http://mirror.example/debian", "apt-deb", "bookworm")
    ]


def test_rpm_managers_without_repositories_have_none(tmp_path):
    assert load(tmp_path, Image(packagemanager="zypper")).repositories == ()


def test_a_manager_without_adapter_still_resolves_and_fails_in_prepare(tmp_path):
    """apk is schema-valid: `image info` works, making its adapter is the one-line error."""
    options = BuildOptions(add_repos=("http://extra.example/repo",))
    build = load(tmp_path, Image(packagemanager="apk"), options)
    assert [r.type for r in build.repositories] == ["rpm-md"]
    with pytest.raises(KiwiLikeError, match="packagemanager 'apk' is not supported yet"):
        package_manager_for(build, tmp_path / "root", tmp_path / "scratch", RuntimeConfig())


# -- the adapters ----------------------------------------------------------------------


@KINDS
def test_package_manager_for_makes_the_descriptors_adapter(tmp_path, kind):
    build = load(tmp_path, kind_image(kind))
    config = RuntimeConfig(shared_cache_dir=tmp_path / "cache", apt_bootstrap_variant="custom")
    manager = package_manager_for(build, tmp_path / "root", tmp_path / "scratch", config)
    assert type(manager) is adapter_class(kind.adapter)
    assert manager.supports_collections is kind.supports_collections
    # the adapter keeps its packages where --clear-cache looks
    assert manager.package_cache == tmp_path / "cache" / kind.package_cache
    assert manager.package_cache.is_dir()
    if isinstance(manager, AptPackageManager):
        assert manager.variant == "custom"  # apt's bootstrap variant comes from the config


@KINDS
def test_a_repository_type_the_manager_cannot_read_is_one_line(tmp_path, kind):
    wrong = next(t for t in ("yast2", "apt-deb") if t not in kind.repository_types)
    build = load(tmp_path, kind_image(kind, wrong))
    config = RuntimeConfig(shared_cache_dir=tmp_path / "cache")
    with pytest.raises(KiwiLikeError) as error:
        package_manager_for(build, tmp_path / "root", tmp_path / "scratch", config)
    assert str(error.value) == (
        f"repository remote: type '{wrong}' cannot be used with the {kind.name} package "
        f"manager (use {' or '.join(kind.repository_types)})"
    )


# -- prepare: root detection and the package cache ---------------------------------------


@pytest.mark.parametrize(
    "marker",
    [
        "var/lib/dpkg/status",
        "usr/lib/sysimage/rpm/rpmdb.sqlite",
        "var/lib/rpm/Packages",
        "var/lib/rpm/Packages.db",
    ],
)
def test_an_existing_root_is_recognised_by_its_package_database(tmp_path, marker):
    assert marker in {m for kind in PACKAGE_MANAGERS for m in kind.root_markers}
    root = tmp_path / "root"
    (root / marker).parent.mkdir(parents=True)
    (root / marker).write_text("")
    assert setup_root(root, allow_existing=True) is True


def test_a_root_without_package_database_is_not_bootstrapped(tmp_path):
    root = tmp_path / "root"
    (root / "var/lib/dpkg").mkdir(parents=True)  # a directory is no database
    (root / "var/lib/rpm").mkdir(parents=True)
    assert setup_root(root, allow_existing=True) is False
    with pytest.raises(KiwiLikeError, match="already exists and is not empty"):
        setup_root(root, allow_existing=False)
    assert setup_root(tmp_path / "new", allow_existing=False) is False
    assert (tmp_path / "new").is_dir()


def test_clear_cache_removes_the_package_managers_directories_only(tmp_path):
    cache = tmp_path / "cache"
    for name in all_cache_dirs():
        (cache / name / "packages").mkdir(parents=True)
        (cache / name / "packages/some.pkg").write_text("x")
    (cache / "unrelated").mkdir()
    (cache / "unrelated/keep").write_text("x")
    assert set(all_cache_dirs()) == {"apt", "zypper", "dnf", "pacman"}
    clear_cache(cache)
    assert not any((cache / name).exists() for name in all_cache_dirs())
    assert (cache / "unrelated/keep").is_file()
