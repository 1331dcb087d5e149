from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from kiwi_like.cli.main import main
from tests.qemu import OVMF

REPO = Path(__file__).resolve().parent.parent
BOOT_TEST_DESCRIPTION = REPO / "build-tests/x86/debian-disk"
SHARED_CACHE = Path("/var/cache/kiwi-like")


class Run:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("kiwi-like: error:")]

    def json(self) -> dict:
        return json.loads(self.out)


@pytest.fixture
def kiwi(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Run the CLI in-process and capture what it prints."""

    def run(*argv: str) -> Run:
        code = main(list(argv))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def write_description(tmp_path: Path) -> Callable[[str], Path]:
    """Write a config.xml into a fresh description directory."""

    def write(xml: str, name: str = "config.xml") -> Path:
        directory = tmp_path / "description"
        directory.mkdir(exist_ok=True)
        (directory / name).write_text(xml, encoding="utf-8")
        return directory

    return write


MINIMAL = """<?xml version="1.0" encoding="utf-8"?>
<image schemaversion="7.5" name="minimal">
    <description type="system">
        <author>tester</author>
        <contact>tester@example.org</contact>
        <specification>minimal</specification>
    </description>
    <preferences>
        <version>1.2.3</version>
        <packagemanager>apt</packagemanager>
        <type image="oem" filesystem="ext4" firmware="efi"/>
        <type image="iso"/>
    </preferences>
    <repository type="apt-deb" distribution="bookworm" components="main contrib">
        <source path="http://mirror.example/debian"/>
    </repository>
    <repository type="apt-deb" imageinclude="true" distribution="bookworm-updates" components="main">
        <source path="http://mirror.example/debian"/>
    </repository>
    <packages type="image">
        <package name="systemd"/>
    </packages>
    <packages type="bootstrap">
        <package name="apt"/>
    </packages>
</image>
"""


def real(test: Callable[..., None]) -> Callable[..., None]:
    """Marks of a test that needs the prepared root (and mostly QEMU)."""
    for mark in (pytest.mark.boot, pytest.mark.network, pytest.mark.slow):
        test = mark(test)
    return test


@pytest.fixture(scope="session")
def prepared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The root of build-tests/x86/debian-disk, prepared once from the host's apt sources.

    Its profiles share the packages, so disk and ISO tests build from this one root.
    KIWI_LIKE_TEST_DISK_ROOT names an already prepared root to use instead (for
    working on these tests; builds change the root's boot files, nothing else).
    """
    if os.geteuid() != 0 or not shutil.which("qemu-system-x86_64") or not OVMF.is_file():
        pytest.skip("needs root, qemu-system-x86 and ovmf")
    existing = os.environ.get("KIWI_LIKE_TEST_DISK_ROOT")
    if existing:
        return Path(existing)
    root = tmp_path_factory.mktemp("disk-root") / "root"
    log = tmp_path_factory.mktemp("disk-log") / "prepare.log"
    code = main(
        [
            "--profile", "ext4", "--logfile", str(log), "system", "prepare",
            "--description", str(BOOT_TEST_DESCRIPTION), "--root", str(root),
            "--shared-cache-dir", str(SHARED_CACHE),
        ]
    )  # fmt: skip
    assert code == 0, log.read_text()[-3000:]
    return root
