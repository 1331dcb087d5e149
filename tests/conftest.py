from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kiwi_like.cli.main import main
from tests import descriptions, qemu
from tests.descriptions import Image, Repository, Type
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
def write_description(tmp_path: Path) -> Callable[[Image | str], Path]:
    """Write a description (an Image, or XML text as it is) into a fresh directory."""

    def write(config: Image | str) -> Path:
        return descriptions.write_description(tmp_path / "description", config)

    return write


# The tests that change its text (line numbers, legacy upgrades) rely on this layout.
MINIMAL = descriptions.description_xml(
    Image(
        name="minimal",
        version="1.2.3",
        specification="minimal",
        schemaversion="7.5",
        types=(Type("oem", {"filesystem": "ext4", "firmware": "efi"}), Type("iso")),
        repositories=(
            Repository(
                "http://mirror.example/debian",
                attributes={"distribution": "bookworm", "components": "main contrib"},
            ),
            Repository(
                "http://mirror.example/debian",
                attributes={
                    "imageinclude": "true",
                    "distribution": "bookworm-updates",
                    "components": "main",
                },
            ),
        ),
        packages={"image": ["systemd"], "bootstrap": ["apt"]},
    )
)


def q35_extended(*firmwares: str) -> list[Any]:
    """`firmwares` to parametrise a boot test with, efi-q35 marked extended: CI boots
    each image type on q35 once (in another test), `make test-extended` boots every one."""
    return [pytest.param(f, marks=pytest.mark.extended) if f == "efi-q35" else f for f in firmwares]


def selected(request: pytest.FixtureRequest, test: str, argname: str = "firmware") -> list[Any]:
    """The `argname` values of the selected runs of `test` (a test function of the module
    that requests the fixture), in their order; None for a test that is not parametrised.

    A fixture that starts boots in the background starts only these: with -k or a test
    id, the others would only keep the machine busy.
    """
    values = []
    for item in request.session.items:
        if getattr(item, "module", None) is request.module and (
            getattr(item, "originalname", None) == test
        ):
            callspec = getattr(item, "callspec", None)
            values.append(callspec.params.get(argname) if callspec else None)
    return values


# Directories of session-scoped fixtures start with this; the rest go when their module ends.
SESSION = "session-"
KEPT_AFTER_FAILURE = 64 << 20  # a failed module keeps its logs and small files, not its images


@pytest.fixture(scope="module", autouse=True)
def _module_files_removed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Deletes what a module wrote under the session's temporary directory once it ends (its
    module fixtures are torn down first): the boot modules write several GB each, a whole run
    held them all and filled CI's disk."""
    base = tmp_path_factory.getbasetemp()
    before = set(base.iterdir())
    failures = request.session.testsfailed
    yield
    failed = request.session.testsfailed > failures
    for entry in set(base.iterdir()) - before:
        if entry.name.startswith(SESSION):
            continue
        if entry.is_symlink() or (entry.is_file() and not failed):  # "<name>current" links
            entry.unlink()
        elif not failed:
            shutil.rmtree(entry, ignore_errors=True)
        else:
            for path in (entry, *entry.rglob("*")):
                if (
                    path.is_file()
                    and not path.is_symlink()
                    and _allocated(path) > KEPT_AFTER_FAILURE
                ):
                    path.unlink()


def _allocated(path: Path) -> int:
    return path.stat().st_blocks * 512  # sparse images count by what they hold


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    qemu.stop_all()  # boots nobody waited for (a fixture failed, the run was interrupted)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    line = qemu.summary()
    if line:
        terminalreporter.write_line(line)


def real(test: Callable[..., None]) -> Callable[..., None]:
    """Marks of a test that needs the prepared root (and mostly QEMU)."""
    for mark in (pytest.mark.boot, pytest.mark.network, pytest.mark.slow):
        test = mark(test)
    return test


def prepare_boot_test_root(
    tmp_path_factory: pytest.TempPathFactory, name: str, *options: str
) -> Path:
    """Prepares build-tests/x86/debian-disk (profile ext4) with these extra command-line
    options into a fresh directory named `name`, from the host's apt sources."""
    if os.geteuid() != 0 or not shutil.which("qemu-system-x86_64") or not OVMF.is_file():
        pytest.skip("needs root, qemu-system-x86 and ovmf")
    root = tmp_path_factory.mktemp(name) / "root"
    log = tmp_path_factory.mktemp(f"{name}-log") / "prepare.log"
    code = main(
        [
            "--profile", "ext4", "--logfile", str(log), "system", "prepare",
            "--description", str(BOOT_TEST_DESCRIPTION), "--root", str(root),
            "--shared-cache-dir", str(SHARED_CACHE), *options,
        ]
    )  # fmt: skip
    assert code == 0, log.read_text()[-3000:]
    return root


@pytest.fixture(scope="session")
def prepared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The root of build-tests/x86/debian-disk, prepared once from the host's apt sources.

    Its profiles share the packages, so disk and ISO tests build from this one root.
    KIWI_LIKE_TEST_DISK_ROOT names an already prepared root to use instead (for
    working on these tests; builds change the root's boot files, nothing else).
    """
    existing = os.environ.get("KIWI_LIKE_TEST_DISK_ROOT")
    if existing:
        return Path(existing)
    return prepare_boot_test_root(tmp_path_factory, f"{SESSION}disk-root")
