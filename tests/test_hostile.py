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
import os
import re
from pathlib import Path

import pytest

from kiwi_like.description.imagetypes import IMAGE_TYPES
from kiwi_like.description.resultnames import BY_TYPE
from tests.debrepo import DebRepo, build_repo, busybox_package
from tests.descriptions import CUSTOM_BOOTSTRAP, write_description
from tests.faults import mounts
from tests.hostile import CASES, Case, xml
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
    places = {
        "{description}": description, "{root}": tmp_path / "root", "{target}": tmp_path / "target",
        "{canary}": canary, "{repo}": repo.path, "{key}": repo.key, "{tmp}": tmp_path,
    }  # fmt: skip
    args = []
    for arg in case.args:
        for name, value in places.items():
            arg = arg.replace(name, str(value))
        args.append(arg)
    common = ["--description", str(description), "--config", str(runtime), *args]
    if case.stage == "info":
        done = kiwi("image", "info", *common)
    elif case.stage == "accepted":
        done = kiwi("image", "info", *common, "--print-kiwi-env")
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
    if case.stage == "accepted":  # loads, and says what it took
        assert done.code == 0, done.err[-2000:]
        assert case.expected in done.out + done.err, (done.out + done.err)[-2000:]
        return
    assert done.code == 1, done.err[-2000:]
    assert len(done.error_lines) == 1, done.err[-2000:]
    line = done.error_lines[0]
    assert len(line) <= MAX_ERROR_LENGTH, line[:300]
    assert case.expected in line
    jargon = r"XML_PARSE|xml[A-Z]\w+|invalid literal for|with base 10|ConversionSyntax"
    assert not re.search(jargon, line), "libxml2's or Python's jargon reached the user"


def test_corpus_is_large_enough():
    corpus_bad = len(list((Path(__file__).parent / "corpus/bad").iterdir()))
    assert len(CASES) + corpus_bad >= 100


def test_long_result_name_refused_before_any_work(kiwi, repo, tmp_path):
    """Issue 18 class 10: a result name over 255 bytes is refused before the root exists."""
    case = next(c for c in CASES if c.name == "image-name-too-long")
    done = run_case(case, kiwi, repo, tmp_path)
    assert done.code == 1 and "more than the 255" in done.err
    assert not (tmp_path / "root").exists()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (("config.xml",), "must name the description directory, not a file (use --description"),
        (("fifo",), "must name the description directory; this is not a directory"),
        (("/dev/null",), "must name the description directory; this is not a directory"),
        (("", "--kiwi-file", "sub"), "--kiwi-file sub: is not a regular file"),
        (("", "--kiwi-file", "none.xml"), "--kiwi-file none.xml: no such file"),
    ],
)
def test_description_naming_a_file_is_refused(kiwi, tmp_path, given, expected):
    """Issue 18 class 10: --description is a directory, as in kiwi; --kiwi-file a file."""
    description = write_description(tmp_path / "description", xml())
    os.mkfifo(description / "fifo")
    (description / "sub").mkdir()
    where, *more = given
    done = kiwi("image", "info", "--description", str(description / where), *more)
    assert done.code == 1 and len(done.error_lines) == 1, done.err
    assert expected in done.error_lines[0]


def test_every_image_type_names_its_longest_result():
    """resultnames.py knows each registered type's suffixes (else it guesses the longest)."""
    assert set(IMAGE_TYPES) <= set(BY_TYPE)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ((), "missing command, such as 'system build' or 'image info'"),
        (("system",), "missing the command after 'system'"),
        (("sytem", "build"), "unknown service 'sytem' (image, system or result)"),
        (("--description", "d", "image", "info"), "option --description goes after the command"),
        (("--bogus", "image", "info"), "unknown option --bogus"),
        (("--debug=1", "image", "info"), "option --debug takes no value, not '--debug=1'"),
        (("--type",), "option --type needs a value: --type=<build_type>"),
        (("image", "info"), "missing option --description=<directory>"),
        (("system", "build", "--description", "d"), "missing option --target-dir=<directory>"),
        (("result", "list", "--target-dir"), "option --target-dir needs a value"),
        (("system", "prepare", "--descripton", "d"), "did you mean --description?"),
    ],
)
def test_usage_errors_name_the_argument(kiwi, argv, expected):
    """Issue 18 class 9: a refused command line names what was wrong in it."""
    done = kiwi(*argv)
    assert done.code == 1 and len(done.error_lines) == 1, done.err
    assert expected in done.error_lines[0]
    assert "Traceback" not in done.err
