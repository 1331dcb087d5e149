"""What the command line refuses before any work (issue 18, classes 3, 6 and 8).

* Commands that need root refuse an unprivileged user up front, as kiwi does
  ("operation requires root permissions"), creating nothing; `image info` and
  `result list` keep working. Run as `nobody` through the installed entry point.
* A refused override or log file writes nothing anywhere (strace).
* A log file that fills up during the run ends it with one line and exit 1.

The hostile corpus (tests/hostile.py) holds the single cases of each class.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.debrepo import DebRepo, build_repo, busybox_package
from tests.descriptions import CUSTOM_BOOTSTRAP
from tests.hostile import config
from tests.hostwrites import traced
from tests.test_prepare import PACKAGES

ENTRY_POINT = Path(sys.executable).parent / "kiwi-ng"
UNPRIVILEGED = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="switches to nobody, needs root")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> DebRepo:
    return build_repo(tmp_path_factory.mktemp("repo"), [*PACKAGES, busybox_package()])


@pytest.fixture
def shared() -> Iterator[Path]:
    """A directory nobody can read (pytest's tmp_path is root's alone)."""
    directory = Path(tempfile.mkdtemp(prefix="kiwi-like-guards-"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory)


def description(directory: Path, repo: DebRepo) -> Path:
    path = directory / "description"
    path.mkdir()
    config()(path, directory / "canary")
    xml = path / "config.xml"
    xml.write_text(
        xml.read_text().replace("{repo}", str(repo.path)).replace("{key}", str(repo.key))
    )
    for item in (path, xml):
        item.chmod(0o755 if item.is_dir() else 0o644)
    return path


def as_nobody(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*UNPRIVILEGED, ENTRY_POINT, *map(str, argv)],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "HOME": "/nonexistent", "LANG": "C.UTF-8"},
        cwd="/",
        check=False,
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("kiwi-like: error:")]


@pytest.mark.parametrize(
    "command",
    [
        ["system", "prepare", "--description", "{description}", "--root", "{new}"],
        ["system", "build", "--description", "{description}", "--target-dir", "{new}"],
        ["system", "create", "--root", "{description}", "--target-dir", "{new}"],
        ["system", "update", "--root", "{new}"],
        [
            "system",
            "build",
            "--description",
            "{description}",
            "--target-dir",
            "{new}",
            "--logfile",
            "{new}.log",
        ],
        [
            "result",
            "bundle",
            "--target-dir",
            "{description}",
            "--id",
            "1",
            "--bundle-dir",
            "{new}",
            "--package-as-rpm",
        ],
    ],  # fmt: skip
    ids=lambda command: (
        "-".join(c for c in command[:2]) + ("-log" if "--logfile" in command else "")
    ),
)
def test_root_commands_refuse_an_unprivileged_user(repo, shared, command):
    places = {"{description}": str(description(shared, repo)), "{new}": str(shared / "new")}
    argv = [places.get(word, word).replace("{new}", str(shared / "new")) for word in command]
    before = sorted(p.name for p in shared.iterdir())
    done = as_nobody(*argv)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert error_lines(done.stderr) == [
        f"kiwi-like: error: {command[0]} {command[1]}: operation requires root permissions"
    ]
    assert sorted(p.name for p in shared.iterdir()) == before  # nothing created


def test_info_and_result_list_work_unprivileged(repo, shared):
    info = as_nobody("image", "info", "--description", description(shared, repo))
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["image"] == "hostile"
    target = shared / "target"
    target.mkdir()
    (target / "kiwi-like.result.json").write_text(
        json.dumps(
            {
                "build": {"name": "hostile", "version": "1.0.0", "image": "docker"},
                "results": {"container": {"kind": "container", "filename": "h.tar.xz"}},
            }
        )
    )
    listed = as_nobody("result", "list", "--target-dir", target)
    assert listed.returncode == 0, listed.stderr
    assert "h.tar.xz" in listed.stdout
    # result bundle without --package-as-rpm does not need root either (as in kiwi)
    bundle = as_nobody("result", "bundle", "--target-dir", target, "--id", "1",
                       "--bundle-dir", shared / "bundle")  # fmt: skip
    assert "requires root" not in bundle.stderr


@pytest.mark.parametrize(
    "extra",
    [
        ["--add-package", "-oEvil=1"],
        ["--add-repo", "dir://{repo},apt-deb,../../etc/evil"],
        ["--set-release-version", "1\n[evil]"],
        ["--target-arch", "pdp11"],
        ["--set-repo-credentials", "/nonexistent/creds"],
        ["--logfile", "{description}/config.xml"],
        ["--logfile", "/dev/full"],
    ],
    ids=lambda extra: extra[0].lstrip("-") + ("-full" if "/dev/full" in extra else ""),
)
def test_refused_before_any_write(repo, tmp_path, extra):
    """Under strace: a refused option leaves nothing behind, not even the root."""
    path = description(tmp_path, repo)
    runtime = tmp_path / "runtime.yml"
    runtime.write_text(CUSTOM_BOOTSTRAP)
    extra = [e.replace("{repo}", str(repo.path)).replace("{description}", str(path)) for e in extra]
    trace_dir = tmp_path / "trace"
    trace_dir.mkdir()
    argv = [
        "system", "prepare", "--description", str(path), "--root", str(tmp_path / "root"),
        "--config", str(runtime), "--shared-cache-dir", str(tmp_path / "cache"), *extra,
    ]  # fmt: skip
    trace = traced(argv, trace_dir / "strace.log")
    assert trace.returncode == 1, trace.stderr
    assert len(error_lines(trace.stderr)) == 1, trace.stderr
    assert "Traceback" not in trace.stderr
    assert trace.outside(trace_dir, "/dev/full") == []
    assert not (tmp_path / "root").exists() and not (tmp_path / "cache").exists()


def test_a_log_file_that_fills_up_ends_the_run_in_one_line(kiwi, repo, tmp_path):
    """The first record fits, later ones do not: the run says so once and exits 1."""
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", small], check=True)
    try:
        path = description(tmp_path, repo)
        runtime = tmp_path / "runtime.yml"
        runtime.write_text(CUSTOM_BOOTSTRAP)
        done = kiwi(
            "system", "prepare", "--description", str(path), "--root", str(tmp_path / "root"),
            "--config", str(runtime), "--shared-cache-dir", str(tmp_path / "cache"),
            "--logfile", str(small / "build.log"),
        )  # fmt: skip
    finally:
        subprocess.run(["umount", small], check=True)
    assert done.code == 1, done.err[-2000:]
    assert "Logging error" not in done.err and "Traceback" not in done.err
    assert done.error_lines == [
        f"kiwi-like: error: --logfile {small}/build.log: cannot be written "
        "(No space left on device): the log is incomplete"
    ]


def test_a_cache_directory_with_white_space_is_refused_from_the_runtime_config(kiwi, tmp_path):
    """mmdebstrap's sync-in/sync-out hooks split at spaces: refused wherever it is set."""
    runtime = tmp_path / "kiwi.yml"
    runtime.write_text(f"cache:\n  shared_dir: {tmp_path}/ca che\n")
    path = tmp_path / "description"
    path.mkdir()
    config()(path, tmp_path / "canary")
    done = kiwi("image", "info", "--description", str(path), "--config", str(runtime))
    assert done.code == 1
    assert done.error_lines == [
        f"kiwi-like: error: runtime config cache.shared_dir: '{tmp_path}/ca che' must be a "
        "directory without white space"
    ]


@pytest.mark.parametrize("logfile", ["/dev/stdout", "/dev/stderr", "/dev/null", "{tmp}/old.txt"])
def test_usual_log_files_keep_working(repo, tmp_path, logfile):
    """A pipe behind /dev/stdout, /dev/null, and an earlier kiwi-like log of another name."""
    (tmp_path / "old.txt").write_text("2026-12-01 22:00:00,123 INFO kiwi_like: earlier run\n")
    path = description(tmp_path, repo)
    done = subprocess.run(
        [ENTRY_POINT, "--logfile", logfile.replace("{tmp}", str(tmp_path)), "image", "info",
         "--description", path],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Selected type docker" in done.stdout + done.stderr + (tmp_path / "old.txt").read_text()
