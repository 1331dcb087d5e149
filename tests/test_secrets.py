"""Repository credentials and passwords: used by the build, shown nowhere.

The test repository is served over HTTP with basic auth; the build must get
through with the credentials and never print them: not on stderr, not in the
debug log file, not in `image info`, not in kiwi.result.json or other results,
not in the image unless the repository is imageinclude (then only in apt's
auth.conf.d, readable by root alone). Masking goes by place (URL user-info, a
password key's value, a crypt hash), so a password that is also a word, such as
`linux`, leaves package names and paths alone.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import pytest

from kiwi_like import redaction
from kiwi_like import run as runner
from kiwi_like.log import setup_logging
from kiwi_like.redaction import register
from tests import descriptions
from tests.debrepo import DebPackage, DebRepo, build_repo, busybox_package
from tests.descriptions import CUSTOM_BOOTSTRAP, Image, Repository
from tests.http_server import serving
from tests.test_prepare import PACKAGES

USER, PASSWORD = "alice", "Tr0ub4dor-secret"
USER_PASSWORD = "$6$salt$SecretUserHashValue0123456789"


def private_source(form: str, port: int, password: str) -> tuple[str, dict[str, str]]:
    """The repository's URL and attributes: the credentials as attributes or in the URL."""
    if form == "attributes":
        return f"http://127.0.0.1:{port}/", {"username": USER, "password": password}
    return f"http://{USER}:{password}@127.0.0.1:{port}/", {}


def write_description(
    tmp_path: Path, source: str, key: Path, attributes: Mapping[str, str] | None = None
) -> tuple[Path, Path]:
    """The description with the private repository, and a runtime config beside it."""
    image = Image(
        name="Secret-Image",
        specification="s",
        users=[{"name": "root", "password": USER_PASSWORD, "home": "/root"}],
        repositories=[Repository(source, alias="private", key=key, attributes=attributes or {})],
        packages={"bootstrap": ["test-busybox"], "image": ["test-app"]},
    )
    runtime = tmp_path / "runtime.yml"
    runtime.write_text(CUSTOM_BOOTSTRAP)
    return descriptions.write_description(tmp_path / "description", image), runtime


@pytest.fixture(autouse=True)
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no registered secrets and leaves none behind (in-process CLI)."""
    monkeypatch.setattr(redaction, "_known", set())
    monkeypatch.setattr(redaction, "_patterns", None)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> DebRepo:
    return build_repo(tmp_path_factory.mktemp("repo"), [*PACKAGES, busybox_package()])


def files_containing(top: Path, needle: bytes) -> list[str]:
    found = []
    for path in top.rglob("*"):
        if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
            found.append(str(path.relative_to(top)))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("form", ["attributes", "in-uri"])
@pytest.mark.parametrize("imageinclude", [False, True], ids=["build-only", "imageinclude"])
def test_credentials_are_used_but_never_shown(kiwi, repo, tmp_path, form, imageinclude):
    with serving(repo.path, credentials=(USER, PASSWORD)) as (port, requested):
        source, credentials = private_source(form, port, PASSWORD)
        include = {"imageinclude": str(imageinclude).lower()}
        description, runtime = write_description(tmp_path, source, repo.key, include | credentials)
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


@pytest.mark.slow
def test_wrong_credentials_are_one_line_without_the_password(kiwi, repo, tmp_path):
    with serving(repo.path, credentials=(USER, "the-right-one")) as (port, _):
        source, _ = private_source("in-uri", port, PASSWORD)
        description, runtime = write_description(tmp_path, source, repo.key)
        done = kiwi("system", "prepare", "--description", str(description), "--root", str(tmp_path / "root"),
                    "--shared-cache-dir", str(tmp_path / "cache"), "--config", str(runtime))  # fmt: skip
    assert done.code == 1 and len(done.error_lines) == 1, done.err[-2000:]
    assert PASSWORD not in done.err
    assert "401" in done.error_lines[0] or "Unauthorized" in done.error_lines[0]


@pytest.fixture(scope="module")
def kernel_repo(tmp_path_factory: pytest.TempPathFactory) -> DebRepo:
    """test-app pulls in a package whose name holds the word `linux`."""
    kernel = DebPackage(
        "linux-image-amd64",
        files={"/boot/vmlinuz-linux": "not a kernel\n", "/etc/kernel/linux.cfg": "x\n"},
    )
    app = next(p for p in PACKAGES if p.name == "test-app")
    packages = [p for p in PACKAGES if p is not app]
    packages.append(replace(app, depends=(*app.depends, kernel.name)))
    return build_repo(
        tmp_path_factory.mktemp("kernel-repo"), [*packages, kernel, busybox_package()]
    )


@pytest.mark.slow
@pytest.mark.parametrize(("password", "form"), [("linux", "attributes"), ("test", "in-uri")])
def test_password_that_is_a_word_leaves_package_names_alone(
    kiwi, kernel_repo, tmp_path, password, form
):
    """`linux` and `test` stand inside package names (linux-image-amd64, test-app): only
    the URL's password is masked, through a real prepare and its logging."""
    with serving(kernel_repo.path, credentials=(USER, password)) as (port, requested):
        source, credentials = private_source(form, port, password)
        description, runtime = write_description(tmp_path, source, kernel_repo.key, credentials)
        log = tmp_path / "build.log"
        done = kiwi("--debug", "--logfile", str(log), "system", "prepare",
                    "--description", str(description), "--root", str(tmp_path / "root"),
                    "--shared-cache-dir", str(tmp_path / "cache"), "--config", str(runtime))  # fmt: skip
    assert done.code == 0, done.err[-3000:]
    assert any(path.endswith("Packages") or "Release" in path for path in requested)
    assert (tmp_path / "root/boot/vmlinuz-linux").is_file()
    for text in (log.read_text(), done.err):
        assert "--include=test-busybox,apt " in text  # the bootstrap (apt: kiwi adds it)
        for name in ("linux-image-amd64", "test-app", "test-base"):
            assert f"Unpacking {name} (1.0)" in text and f"Setting up {name} (1.0)" in text, name
        assert f"{USER}:***@127.0.0.1:{port}" in text  # the mmdebstrap sources line
        assert f"{USER}:{password}@" not in text
        # the URL password is the only thing masked: no word or name lost a part
        assert "***" not in text.replace(f"{USER}:***@", ""), text[-3000:]


LOGGED = [
    "Unpacking linux-image-amd64 (6.1-1) over /boot/vmlinuz-linux from linux.cfg for linux",
    "Get:1 http://alice:linux@deb.example.org:8080/debian bookworm InRelease",
    "URIs: https://alice:p%40ss%3Aw%2Frd%25@mirror.example.org/image/",
    "Get:2 https://bob:p@ss:w@mirror.example.org/ ./ Packages  (an unquoted @ and : too)",
    "machine mirror.example.org login alice password p@ss:w/rd%",
    "password = linux",
    '{"password": "p%40ss%3Aw%2Frd%25", "user": "linux", "image": "Image-image"}',
    f"root:{USER_PASSWORD}",
    "ftp://linux:2121/linux@image and http://127.0.0.1:8080 ./ image linux",
]
MASKED = [
    "Unpacking linux-image-amd64 (6.1-1) over /boot/vmlinuz-linux from linux.cfg for linux",
    "Get:1 http://alice:***@deb.example.org:8080/debian bookworm InRelease",
    "URIs: https://alice:***@mirror.example.org/image/",
    "Get:2 https://bob:***@mirror.example.org/ ./ Packages  (an unquoted @ and : too)",
    "machine mirror.example.org login alice password ***",
    "password = ***",
    '{"password": "***", "user": "linux", "image": "Image-image"}',
    "root:***",
    "ftp://linux:2121/linux@image and http://127.0.0.1:8080 ./ image linux",
]


def test_masked_by_place_in_command_lines_output_and_errors(tmp_path):
    """Through run() and the log handlers: common words as passwords, URL-quoted forms."""
    for secret in ("linux", "image", "p@ss:w/rd%", USER_PASSWORD):
        register(secret)
    logfile = tmp_path / "debug.log"
    setup_logging(debug=True, logfile=str(logfile))
    argv = ["printf", r"%s\n", *LOGGED]
    output = runner.run(argv, keep_output=True).output
    assert output.splitlines() == MASKED
    logged = [line.split(": ", 1)[1] for line in logfile.read_text().splitlines()]
    assert [line.removeprefix("  ") for line in logged[1:]] == MASKED
    assert logged[0].startswith("$ printf")
    assert "linux-image-amd64" in logged[0] and "alice:***@deb.example.org" in logged[0]

    # a failing program echoing its arguments on one line: the error line shows that
    options = ["--password", "linux", "--user", "linux", "--token=p@ss:w/rd%", "linux-image-amd64"]
    with pytest.raises(runner.CommandError) as failed:
        runner.run(["sh", "-c", 'echo "$@"; exit 3', "sh", *options])
    assert str(failed.value) == (
        "command failed with exit code 3: sh -c 'echo \"$@\"; exit 3' sh --password '***' "
        "--user linux '--token=***' linux-image-amd64: "
        "--password *** --user linux --token=*** linux-image-amd64"
    )
    setup_logging()
    for secret in ("p@ss:w/rd%", "p%40ss%3Aw%2Frd%25", USER_PASSWORD):
        assert secret not in logfile.read_text()
