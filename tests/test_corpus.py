"""Corpus tests: `image info --format json` on KIWI NG descriptions with hand-written results.

tests/corpus/good/<case>/ holds a description, an optional `args` file (extra command-line
arguments, shlex syntax, `{case}` stands for the case directory) and `expected.json`, which
must be a subset of the printed JSON. tests/corpus/bad/<case>/ holds `expected.txt` instead:
substrings of the single `kiwi-like: error:` line. A case may name its own runtime config
in a `config` file (path relative to the case directory).
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

CORPUS = Path(__file__).resolve().parent / "corpus"
CORPUS_RUNTIME_CONFIG = CORPUS / "runtime.yml"
ERROR_PREFIX = "kiwi-like: error:"


def cases(kind: str) -> list[Path]:
    return sorted(path for path in (CORPUS / kind).iterdir() if path.is_dir())


def run(case: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from kiwi_like.cli.main import main  # imported here so the corpus collects on its own

    config = CORPUS_RUNTIME_CONFIG
    if (case / "config").is_file():
        config = case / (case / "config").read_text(encoding="utf-8").strip()
    args = []
    if (case / "args").is_file():
        text = (case / "args").read_text(encoding="utf-8")
        args = [arg.replace("{case}", str(case)) for arg in shlex.split(text)]
    argv = ["image", "info", "--description", str(case), "--format", "json"]
    code = main([*argv, "--config", str(config), *args])
    out, err = capsys.readouterr()
    return code, out, err


def substitute(value: Any, case: Path) -> Any:
    if isinstance(value, str):
        return value.replace("{case}", str(case))
    if isinstance(value, list):
        return [substitute(item, case) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, case) for key, item in value.items()}
    return value


def assert_subset(expected: Any, actual: Any, where: str = "$") -> None:
    """Dicts: expected keys must match; lists: same length, element by element; else equal."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}: key {key!r} missing in {sorted(actual)}"
            assert_subset(value, actual[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), (
            f"{where}: expected {expected!r}, got {actual!r}"
        )
        for index, (item, got) in enumerate(zip(expected, actual, strict=True)):
            assert_subset(item, got, f"{where}[{index}]")
    else:
        assert type(actual) is type(expected) and actual == expected, (
            f"{where}: expected {expected!r}, got {actual!r}"
        )


def passwords(case: Path) -> list[str]:
    found = []
    for path in case.rglob("*"):
        if path.suffix in (".xml", ".kiwi"):
            found += re.findall(r'\bpassword="([^"]+)"', path.read_text(encoding="utf-8"))
    return found


@pytest.mark.parametrize("case", cases("good"), ids=lambda path: path.name)
def test_good_description(case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(case, capsys)
    assert code == 0, err
    printed = json.loads(out)
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    assert_subset(substitute(expected, case), printed)
    for password in passwords(case):
        assert password not in out, "a user password was printed"


@pytest.mark.parametrize("case", cases("bad"), ids=lambda path: path.name)
def test_bad_description(case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(case, capsys)
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith(ERROR_PREFIX)]
    assert len(errors) == 1, f"expected one error line, stderr was:\n{err}"
    for needle in (case / "expected.txt").read_text(encoding="utf-8").splitlines():
        if needle.strip():
            assert needle in errors[0]
    assert code == 1
    for password in passwords(case):
        assert password not in out + err, "a user password was printed"
    if any("/etc/passwd" in path.read_text(encoding="utf-8") for path in case.glob("*.xml")):
        assert "root:" not in err and "root:" not in out, "an external entity was expanded"


def test_corpus_size() -> None:
    assert len(cases("good")) >= 40
    assert len(cases("bad")) >= 30
