"""One package pass: the bootstrap installs the image packages in its own resolver run
when nothing has to run between the two (no post_bootstrap.sh, no --ca-cert).

The root it makes must be the root the two passes make: the same packages in the same
versions, the same automatically-installed marks and the same files. A description with
a post_bootstrap.sh gets kiwi's two passes, which is the reference (Debian archive).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from kiwi_like.prepare.pipeline import STATE_FILE
from tests import descriptions
from tests.debrepo import DebPackage, DebRepo, build_repo, busybox_package
from tests.descriptions import CUSTOM_BOOTSTRAP, Image, Repository

# Left out of the comparison: what records when (logs, the prepare's own state).
VOLATILE = (STATE_FILE, "var/log/", "var/lib/dpkg/status-old", "var/cache/")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> DebRepo:
    packages = [
        busybox_package(),
        DebPackage("test-lib", files={"/usr/lib/test/lib.so": "lib 1\n"}),
        DebPackage("test-lib-other", files={"/usr/lib/test/other.so": "other\n"}),
        # an alternative: which one is chosen must not depend on the number of passes
        DebPackage(
            "test-app", depends=("test-lib | test-lib-other",), files={"/usr/bin/test-app": "app\n"}
        ),  # fmt: skip
        DebPackage(
            "test-tool",
            depends=("test-lib",),
            files={"/usr/bin/test-tool": "tool\n"},
            postinst='echo configured > "$DPKG_ROOT/etc/test-tool.conf"\n',
        ),  # fmt: skip
        DebPackage("test-boot-extra", files={"/etc/boot-extra": "bootstrap\n"}),
    ]
    return build_repo(tmp_path_factory.mktemp("one-pass-repo") / "repo", packages)


def description(directory: Path, repo: DebRepo, post_bootstrap: bool) -> Path:
    image = Image(
        name="One-Pass",
        specification="one package pass",
        repositories=[Repository(f"dir://{repo.path}", alias="local", key=repo.key)],
        packages={
            "bootstrap": ["test-busybox", "test-boot-extra"],
            "image": ["test-app", "test-tool"],
        },
    )
    files = {"runtime.yml": CUSTOM_BOOTSTRAP, "config.sh": "#!/bin/sh\ntrue\n"}
    if post_bootstrap:  # kiwi's hook between the passes: it forces two
        files["post_bootstrap.sh"] = "#!/bin/sh\ntrue\n"
    return descriptions.write_description(directory, image, files)


def prepare(kiwi, description: Path, root: Path, cache: Path) -> dict:
    done = kiwi(
        "system", "prepare", "--description", str(description), "--root", str(root),
        "--shared-cache-dir", str(cache), "--config", str(description / "runtime.yml"),
    )  # fmt: skip
    assert done.code == 0, done.err
    return json.loads((root / STATE_FILE).read_text())["prepare"]


def installed(root: Path) -> dict[str, str]:
    """name -> version of every installed package, from the root's dpkg status."""
    packages: dict[str, str] = {}
    for stanza in (root / "var/lib/dpkg/status").read_text().split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in stanza.splitlines() if ": " in line and line[0] != " "
        )
        if fields.get("Status") == "install ok installed":
            packages[fields["Package"]] = fields["Version"]
    return packages


def auto_installed(root: Path) -> set[str]:
    """The packages apt marked automatically installed."""
    marked = set()
    for stanza in (root / "var/lib/apt/extended_states").read_text().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line)
        if fields.get("Auto-Installed") == "1":
            marked.add(fields["Package"])
    return marked


def tree(root: Path, volatile: tuple[str, ...] = VOLATILE) -> dict[str, tuple]:
    found = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory, name)
            relative = str(path.relative_to(root))
            if relative.startswith(volatile):
                continue
            info = path.lstat()
            content = path.read_bytes() if stat.S_ISREG(info.st_mode) else None
            if stat.S_ISLNK(info.st_mode):
                content = os.readlink(path).encode()
            found[relative] = (stat.S_IFMT(info.st_mode), info.st_mode & 0o7777, content)
    return found


def test_custom_variant_keeps_two_passes(kiwi, repo, tmp_path):
    # mmdebstrap's custom variant installs from the host, where apt records no
    # automatically-installed marks; the image packages' own apt run does (kiwi's
    # uninstall with auto-remove reads them): so such roots are made in two passes
    metrics = prepare(
        kiwi, description(tmp_path / "d", repo, False), tmp_path / "root", tmp_path / "cache"
    )
    steps = {step["name"]: step for step in metrics["steps"]}
    assert steps["image packages"]["skipped"] is False
    packages = installed(tmp_path / "root")
    assert {"test-app", "test-tool", "test-lib", "test-boot-extra"} <= set(packages)
    assert "test-lib-other" not in packages
    marks = (tmp_path / "root/var/lib/apt/extended_states").read_text()
    assert "Package: test-lib\n" in marks and "Auto-Installed: 1" in marks
    assert (tmp_path / "root/etc/test-tool.conf").read_text() == "configured\n"


NO_ROOT_CACHE = "cache:\n  root_cache_size: 0\n"
# extended_states: compared by its marks (apt writes them in the order it met them)
DEBIAN_VOLATILE = (
    *VOLATILE, "var/lib/apt/lists/", "etc/ld.so.cache", "var/lib/dpkg/triggers/",
    "var/lib/apt/extended_states",
)  # fmt: skip


def debian(directory: Path, post_bootstrap: bool) -> Path:
    image = Image(
        name="One-Pass-Debian",
        specification="one package pass, Debian",
        repositories=[Repository("host://", alias="debian")],
        packages={"bootstrap": ["ca-certificates"], "image": ["less", "iproute2", "tzdata"]},
    )
    files = {"runtime.yml": NO_ROOT_CACHE}
    if post_bootstrap:
        files["post_bootstrap.sh"] = "#!/bin/sh\ntrue\n"
    return descriptions.write_description(directory, image, files)


@pytest.mark.network
@pytest.mark.slow
def test_one_pass_debian_root_is_the_two_pass_root(kiwi, tmp_path):
    cache = tmp_path / "cache"  # one package cache: the second prepare downloads nothing
    one = prepare(kiwi, debian(tmp_path / "one", False), tmp_path / "root-one", cache)
    two = prepare(kiwi, debian(tmp_path / "two", True), tmp_path / "root-two", cache)
    assert {s["name"]: s for s in one["steps"]}["image packages"]["skipped"] is True
    assert {s["name"]: s for s in two["steps"]}["image packages"]["skipped"] is False
    packages = installed(tmp_path / "root-one")
    assert {"less", "iproute2", "tzdata", "ca-certificates", "apt"} <= set(packages)
    assert packages == installed(tmp_path / "root-two")
    # the same packages are marked automatically installed (uninstall's auto-remove)
    assert auto_installed(tmp_path / "root-one") == auto_installed(tmp_path / "root-two")
    one_tree = tree(tmp_path / "root-one", DEBIAN_VOLATILE)
    two_tree = tree(tmp_path / "root-two", DEBIAN_VOLATILE)
    assert sorted(set(one_tree) ^ set(two_tree)) == []  # the same paths
    assert [path for path in one_tree if one_tree[path] != two_tree[path]] == []
