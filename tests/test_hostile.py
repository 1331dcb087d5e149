"""The hostile corpus (tests/hostile.py): every case ends in one clean line, nothing escapes.

Each case runs the real CLI in-process: `image info` for what the description layer
must refuse, `system prepare`/`build` (offline, the tiny signed apt repository of
tests/debrepo.py) for what only shows while building. For every case: exit code 1
with exactly one `kiwi-like: error:` line of bounded length naming the cause, no
traceback, the host canary directory unchanged and no new mount. "contained" cases
must build, with the canary unchanged.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.debrepo import DebRepo, build_repo, busybox_package
from tests.descriptions import CUSTOM_BOOTSTRAP
from tests.faults import mounts
from tests.hostile import CASES, Case
from tests.test_prepare import PACKAGES

MAX_ERROR_LENGTH = 600


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> DebRepo:
    return build_repo(tmp_path_factory.mktemp("repo"), [*PACKAGES, busybox_package()])


def fingerprint(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        if p.is_file()
        else "dir"
        for p in sorted(directory.rglob("*"))
    }


def run_case(case: Case, kiwi, repo: DebRepo, tmp_path: Path):
    canary = tmp_path / "canary"
    canary.mkdir()
    (canary / "canary.txt").write_text("untouched\n")
    description = tmp_path / "description"
    description.mkdir()
    case.write(description, canary)
    config = description / "config.xml"
    if config.is_file() and not config.is_symlink():
        data = config.read_bytes()
        for name, value in ((b"{repo}", repo.path), (b"{key}", repo.key), (b"{canary}", canary)):
            data = data.replace(name, str(value).encode())
        config.write_bytes(data)
    runtime = tmp_path / "runtime.yml"
    runtime.write_text(CUSTOM_BOOTSTRAP)
    before, snapshot = mounts(), fingerprint(canary)
    common = ["--description", str(description), "--config", str(runtime)]
    if case.stage == "info":
        done = kiwi("image", "info", *common)
    else:
        command = "build" if case.stage == "build" else "prepare"
        where = (
            ["--target-dir", str(tmp_path / "target")]
            if command == "build"
            else ["--root", str(tmp_path / "root")]
        )
        done = kiwi(
            "system", command, *common, *where, "--shared-cache-dir", str(tmp_path / "cache")
        )
    assert fingerprint(canary) == snapshot, "the host canary was changed"
    assert mounts() == before
    assert "Traceback" not in done.err
    return done


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_hostile_case(case: Case, kiwi, repo, tmp_path):
    done = run_case(case, kiwi, repo, tmp_path)
    if case.stage == "contained":
        assert done.code == 0, done.err
        return
    assert done.code == 1, done.err[-2000:]
    assert len(done.error_lines) == 1, done.err[-2000:]
    line = done.error_lines[0]
    assert len(line) <= MAX_ERROR_LENGTH, line[:300]
    assert case.expected in line


def test_corpus_is_large_enough():
    corpus_bad = len(list((Path(__file__).parent / "corpus/bad").iterdir()))
    assert len(CASES) + corpus_bad >= 100
