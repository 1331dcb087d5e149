"""Repository credentials and passwords: used by the build, shown nowhere.

The test repository is served over HTTP with basic auth; the build must get
through with the credentials and never print them: not on stderr, not in the
debug log file, not in `image info`, not in kiwi.result.json or other results,
not in the image unless the repository is imageinclude (then only in apt's
auth.conf.d, readable by root alone).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.debrepo import DebRepo, build_repo, busybox_package
from tests.http_server import serving
from tests.test_prepare import PACKAGES

pytestmark = pytest.mark.slow
USER, PASSWORD = "alice", "Tr0ub4dor-secret"
USER_PASSWORD = "$6$salt$SecretUserHashValue0123456789"

DESCRIPTION = """<?xml version="1.0" encoding="utf-8"?>
<image schemaversion="8.0" name="Secret-Image">
    <description type="system">
        <author>t</author><contact>t@example.org</contact><specification>s</specification>
    </description>
    <preferences>
        <version>1.0.0</version>
        <packagemanager>apt</packagemanager>
        <type image="docker"/>
    </preferences>
    <users>
        <user name="root" password="{user_password}" home="/root"/>
    </users>
    <repository type="apt-deb" alias="private" {include} {credentials}>
        <source path="{source}"><signing key="file://{key}"/></source>
    </repository>
    <packages type="bootstrap"><package name="test-busybox"/></packages>
    <packages type="image"><package name="test-app"/></packages>
</image>
"""


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> DebRepo:
    return build_repo(tmp_path_factory.mktemp("repo"), [*PACKAGES, busybox_package()])


def files_containing(top: Path, needle: bytes) -> list[str]:
    found = []
    for path in top.rglob("*"):
        if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
            found.append(str(path.relative_to(top)))
    return found


@pytest.mark.parametrize("form", ["attributes", "in-uri"])
@pytest.mark.parametrize("imageinclude", [False, True], ids=["build-only", "imageinclude"])
def test_credentials_are_used_but_never_shown(kiwi, repo, tmp_path, form, imageinclude):
    with serving(repo.path, credentials=(USER, PASSWORD)) as (port, requested):
        if form == "attributes":
            source, credentials = (
                f"http://127.0.0.1:{port}/",
                f'username="{USER}" password="{PASSWORD}"',
            )
        else:
            source, credentials = f"http://{USER}:{PASSWORD}@127.0.0.1:{port}/", ""
        description = tmp_path / "description"
        description.mkdir()
        (description / "config.xml").write_text(DESCRIPTION.format(
            source=source, credentials=credentials, key=repo.key, user_password=USER_PASSWORD,
            include=f'imageinclude="{str(imageinclude).lower()}"'))  # fmt: skip
        runtime = tmp_path / "runtime.yml"
        runtime.write_text("apt:\n  bootstrap_variant: custom\n")
        log = tmp_path / "build.log"
        target = tmp_path / "target"
        done = kiwi("--debug", "--logfile", str(log), "system", "build",
                    "--description", str(description), "--target-dir", str(target),
                    "--shared-cache-dir", str(tmp_path / "cache"), "--config", str(runtime))  # fmt: skip
        info = kiwi("image", "info", "--description", str(description), "--config", str(runtime),
                    "--format", "json")  # fmt: skip
    assert done.code == 0, done.err[-3000:]
    assert any(path.endswith("Packages") or "Release" in path for path in requested)
    for secret in (PASSWORD, USER_PASSWORD):
        assert secret not in done.out + done.err
        assert secret not in log.read_text()
        assert secret not in info.out + info.err
        results = [p for p in target.iterdir() if p.is_file()]
        assert not [p.name for p in results if secret.encode() in p.read_bytes()]
    assert "***" in log.read_text()  # the masked command lines and URIs
    root = target / "build/image-root"
    leaked = files_containing(root, PASSWORD.encode())
    if imageinclude:
        assert leaked == ["etc/apt/auth.conf.d/private.conf"] or (
            form == "in-uri" and leaked == ["etc/apt/sources.list.d/private.sources"]
        ), leaked
        mode = stat.S_IMODE(os.stat(root / leaked[0]).st_mode)
        assert form == "in-uri" or mode == 0o600
    else:
        assert leaked == []


def test_wrong_credentials_are_one_line_without_the_password(kiwi, repo, tmp_path):
    with serving(repo.path, credentials=(USER, "the-right-one")) as (port, _):
        description = tmp_path / "description"
        description.mkdir()
        (description / "config.xml").write_text(DESCRIPTION.format(
            source=f"http://{USER}:{PASSWORD}@127.0.0.1:{port}/", credentials="", key=repo.key,
            user_password=USER_PASSWORD, include=""))  # fmt: skip
        runtime = tmp_path / "runtime.yml"
        runtime.write_text("apt:\n  bootstrap_variant: custom\n")
        done = kiwi("system", "prepare", "--description", str(description), "--root", str(tmp_path / "root"),
                    "--shared-cache-dir", str(tmp_path / "cache"), "--config", str(runtime))  # fmt: skip
    assert done.code == 1 and len(done.error_lines) == 1, done.err[-2000:]
    assert PASSWORD not in done.err
    assert "401" in done.error_lines[0] or "Unauthorized" in done.error_lines[0]
