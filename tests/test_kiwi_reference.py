"""kiwi-like reads KIWI NG's own descriptions as KIWI NG 11.1.6 does.

The reference is kiwi itself: the `kiwi==11.1.6` sdist (its descriptions) and a venv
with kiwi installed (its parser) are made once under the shared test cache, never as a
dependency of kiwi-like. `tests/kiwi_reference.py` runs in that venv and writes what
kiwi reads from every description × profile × type of the sdist; this test reads the
same with kiwi-like and compares name, version, build type, the image, bootstrap and
delete package lists and the repository sources. Every difference left is listed in
KNOWN_DIFFERENCES with its reason; an entry that no longer differs fails the test too.
The whole report is written to differences.txt in the cache on every run.

The first run takes a minute or so (venv, pip, kiwi over 55 files); later runs read the
cache and take seconds. Without PyPI the test is skipped, saying so.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from kiwi_like.description import load_build
from kiwi_like.description.overrides import BuildOptions
from kiwi_like.errors import KiwiLikeError
from kiwi_like.runtime_config import RuntimeConfig
from tests.kiwi_venv import KIWI, cache_root, kiwi_venv, locked, pip, run

SDIST = "kiwi-11.1.6"
SCRIPT = Path(__file__).with_name("kiwi_reference.py")
REPORT_NAME = "differences.txt"  # beside the cached reference
REFERENCE_TIMEOUT = 1200  # seconds for the whole reference run; each kiwi call has 30
MINIMUM_IDENTICAL = 0.99
FACTS = ("load", "name", "version", "type", "image", "bootstrap", "delete", "repositories")


@dataclass(frozen=True)
class Difference:
    file: str
    selection: str
    fact: str
    kiwi: Any
    kiwi_like: Any

    def __str__(self) -> str:
        return (
            f"{self.file} [{self.selection}] {self.fact}\n"
            f"    kiwi:      {json.dumps(self.kiwi)}\n"
            f"    kiwi-like: {json.dumps(self.kiwi_like)}"
        )


@dataclass(frozen=True)
class Known:
    """A difference kiwi-like keeps on purpose or has not fixed yet, and why.

    `file` is a path in the sdist and `selection` is "profile=<name> type=<name>" ("-"
    where kiwi picks: the import profiles, the default type); both are fnmatch patterns.
    `fact` is one of FACTS; `contains`, when given, is text in kiwi-like's value (the
    refusal of a "load" difference, say).
    """

    file: str
    fact: str
    reason: str
    selection: str = "*"
    contains: str = ""

    def matches(self, difference: Difference) -> bool:
        return (
            self.fact == difference.fact
            and fnmatchcase(difference.file, self.file)
            and fnmatchcase(difference.selection, self.selection)
            and self.contains in json.dumps(difference.kiwi_like)
        )


KNOWN_DIFFERENCES: tuple[Known, ...] = ()


# What kiwi itself refuses (not compared): "<file> [<selection>]" -> (text of kiwi's error,
# what kiwi-like does: "refuses", or "loads: <why>").
REFUSED = "refuses"
KIWI_REFUSES: dict[str, tuple[str, str]] = {
    "test/data/example_deprecated_schema.xml [profile=- type=-]": (
        "Schema version must be >= 7.4",
        "loads: kiwi-like upgrades schemaversion 6.x and 7.x descriptions (upgrade.py), as "
        "the kiwi releases did that still read them",
    ),
    "test/data/include.xml [profile=- type=-]": ("Schema version must be >= 7.4", REFUSED),
    "test/data/include_repo.xml [profile=- type=-]": ("could not be parsed", REFUSED),
    "test/data/nested_include.xml [profile=- type=-]": ("does not exist", REFUSED),
    "test/data/example_include_config.xml [profile=- type=-]": (
        "include_repo.xml, line 6",
        REFUSED,
    ),
    "test/data/example_include_config_missing_reference.xml [profile=- type=-]": (
        "does not exist",
        REFUSED,
    ),
    "test/data/example_runtime_checker_include_nested_reference.xml [profile=- type=-]": (
        "does not exist",
        REFUSED,
    ),
    "test/data/example_no_imageinclude_config.xml [profile=- type=-]": (
        "filesystem attribute must be set for the following image types: oem",
        "loads: kiwi-like keeps its default (ext4) for an oem type without filesystem and "
        "warns that kiwi refuses it (schematron.py, rule filesystem_mandatory)",
    ),
    "test/data/example_no_default_type.xml [profile=- type=-]": ("No build type", REFUSED),
    "test/data/example_no_default_type.xml [profile=minimal type=-]": ("No build type", REFUSED),
    "test/data/example_no_default_type.xml [profile=vmxFlavour type=-]": ("No build type", REFUSED),
    "test/data/example_runtime_checker_config.xml [profile=metadata type=-]": (
        "No build type",
        REFUSED,
    ),
    "test/data/example_runtime_checker_config.xml [profile=noVersion type=-]": (
        "No build type",
        REFUSED,
    ),
}

# --- the reference, made once and cached ----------------------------------------------------


@dataclass(frozen=True)
class Reference:
    sdist: Path
    records: list[dict[str, Any]]


def _sdist(root: Path, venv: Path) -> Path:
    """kiwi's sdist, unpacked: its descriptions and the files they refer to."""
    sdist = root / SDIST
    shutil.rmtree(sdist, ignore_errors=True)
    download = root / "download"
    shutil.rmtree(download, ignore_errors=True)
    pip(venv, "download", "--quiet", "--no-deps", "--no-binary", ":all:", "-d", str(download), KIWI)  # fmt: skip
    (archive,) = download.glob(f"{SDIST}.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(root, filter="data")
    shutil.rmtree(download)
    (sdist / ".unpacked").touch()
    return sdist


def _reference_records(venv: Path, sdist: Path, cached: Path) -> None:
    """Run kiwi's parser over the sdist's descriptions."""
    partial = cached.with_suffix(".partial")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent"}
    try:
        process = run(
            [str(venv / "bin/python"), str(SCRIPT), str(sdist), str(partial)],
            REFERENCE_TIMEOUT,
            cwd=sdist,
            env=env | {"LC_ALL": "C.UTF-8"},
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"kiwi's parser took over {REFERENCE_TIMEOUT} s for the sdist")
    assert process.returncode == 0, f"{SCRIPT.name}: {process.stderr[-3000:]}"
    partial.rename(cached)
    for older in cached.parent.glob("reference-*.json"):
        if older != cached:
            older.unlink()


@pytest.fixture(scope="session")
def kiwi_reference() -> Reference:
    """The sdist and what kiwi reads from it, made once: kept as long as the script is the same."""
    root = cache_root()
    sdist = root / SDIST
    digest = hashlib.sha256(SCRIPT.read_bytes() + str(sdist).encode()).hexdigest()[:16]
    cached = root / f"reference-{digest}.json"
    with locked(root):
        if not (sdist / ".unpacked").is_file() or not cached.is_file():
            venv = kiwi_venv(root)
            if not (sdist / ".unpacked").is_file():
                _sdist(root, venv)
            _reference_records(venv, sdist, cached)
    return Reference(sdist, json.loads(cached.read_text(encoding="utf-8")))


# --- the same facts from kiwi-like ---------------------------------------------------------


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text if isinstance(error, KiwiLikeError) else f"{type(error).__name__}: {text}"


def _local(source: str) -> str:
    """A local path as kiwi writes it after translation: the bare absolute path."""
    for scheme in ("dir://", "file://"):
        if source.startswith(scheme) and source[len(scheme) :].startswith("/"):
            return source[len(scheme) :]
    return source


def kiwi_like_facts(sdist: Path, record: dict[str, Any]) -> dict[str, Any]:
    path = sdist / record["file"]
    options = BuildOptions(
        profiles=(record["profile"],) if record.get("profile") else (),
        build_type=record.get("type"),
    )
    build = load_build(path.parent, options, RuntimeConfig(), kiwi_file=path.name)
    return {
        "name": build.name,
        "version": build.version,
        "type": build.build_type.image,
        "image": sorted(set(build.packages.image)),
        "bootstrap": sorted(set(build.packages.bootstrap)),
        "delete": sorted(set(build.packages.delete)),
        "repositories": [_local(r.source) for r in build.repositories],
    }


def kiwi_facts(record: dict[str, Any]) -> dict[str, Any]:
    facts = record["facts"]
    return {
        "name": facts["name"],
        "version": facts["version"],
        "type": facts["type"],
        **{kind: sorted(names) for kind, names in facts["packages"].items()},
        # kiwi refuses obsrepositories:/ outside a worker only when it builds; as written
        "repositories": [r.get("translated", r["source"]) for r in facts["repositories"]],
    }


def selection(record: dict[str, Any]) -> str:
    return f"profile={record.get('profile') or '-'} type={record.get('type') or '-'}"


@dataclass(frozen=True)
class Comparison:
    """The unit of the figure is a description × profile (as kiwi selects with --profile,
    or without one), identical when it is with its default type and with every other."""

    pairs: dict[tuple[str, str], bool]  # (file, profile) kiwi loads: identical?
    selections: int  # description × profile × type kiwi loads
    facts_identical: int  # of the selections × len(FACTS[1:]) facts
    differences: list[Difference]
    kiwi_refuses: list[tuple[dict[str, Any], str]]  # with what kiwi-like does

    @property
    def identical(self) -> int:
        return sum(self.pairs.values())


def compare(reference: Reference) -> Comparison:
    differences: list[Difference] = []
    kiwi_refuses: list[tuple[dict[str, Any], str]] = []
    pairs: dict[tuple[str, str], bool] = {}
    selections = facts_identical = 0
    for record in reference.records:
        try:
            ours: dict[str, Any] | None = kiwi_like_facts(reference.sdist, record)
            refusal = ""
        except Exception as error:  # a traceback is a difference too, shown as such
            ours, refusal = None, _one_line(error)
        if "facts" not in record:
            kiwi_refuses.append((record, f"refuses: {refusal}" if refusal else "loads"))
            continue
        selections += 1
        where = (record["file"], selection(record))
        if ours is None:
            found = [Difference(*where, "load", "loads", f"refuses: {refusal}")]
        else:
            theirs = kiwi_facts(record)
            found = [
                Difference(*where, fact, theirs[fact], ours[fact])
                for fact in FACTS[1:]
                if theirs[fact] != ours[fact]
            ]
            facts_identical += len(FACTS[1:]) - len(found)
        differences += found
        pair = (record["file"], record["profile"] or "-")
        pairs[pair] = pairs.get(pair, True) and not found
    return Comparison(pairs, selections, facts_identical, differences, kiwi_refuses)


# --- the report ----------------------------------------------------------------------------


def report(comparison: Comparison, unknown: list[Difference], stale: list[Known]) -> str:
    pairs = len(comparison.pairs)
    share = comparison.identical / pairs if pairs else 0.0
    facts = comparison.selections * len(FACTS[1:])
    lines = [
        f"kiwi-like against {KIWI}: {comparison.identical} of {pairs} description × profile "
        f"identical ({share:.1%}; needed {MINIMUM_IDENTICAL:.0%}); "
        f"{len(comparison.differences)} differences, {len(unknown)} not in "
        f"KNOWN_DIFFERENCES, {len(stale)} stale entries.",
        f"Compared: {comparison.selections} description × profile × type selections kiwi "
        f"loads; of their {facts} facts ({', '.join(FACTS[1:])}) "
        f"{comparison.facts_identical} identical.",
        "",
    ]
    for fact in FACTS:
        found = [d for d in comparison.differences if d.fact == fact]
        if not found:
            continue
        lines.append(f"== {fact}: {len(found)}")
        for difference in found:
            known = next((k for k in KNOWN_DIFFERENCES if k.matches(difference)), None)
            lines.append(str(difference))
            lines.append(f"    known: {known.reason}" if known else "    NOT KNOWN")
        lines.append("")
    if stale:
        lines.append("== stale KNOWN_DIFFERENCES entries (no longer differ)")
        lines += [f"{k.file} [{k.selection}] {k.fact}: {k.reason}" for k in stale]
        lines.append("")
    lines.append(f"== refused by kiwi itself (not compared): {len(comparison.kiwi_refuses)}")
    for record, ours in comparison.kiwi_refuses:
        where = f"{record['file']} [{selection(record)}]"
        lines.append(f"{where}\n    kiwi:      {record['error']}\n    kiwi-like: {ours}")
    return "\n".join(lines) + "\n"


def _write_report(text: str) -> Path:
    """For whoever works on the differences, beside the cached reference."""
    path = cache_root() / REPORT_NAME
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def comparison(kiwi_reference: Reference) -> Comparison:
    if Path("/.buildenv").exists():
        pytest.skip("a build-service worker resolves obs:// locally; the reference is outside one")
    return compare(kiwi_reference)


@pytest.mark.network
def test_kiwi_like_reads_kiwis_descriptions_as_kiwi(comparison: Comparison) -> None:
    unknown = [
        d for d in comparison.differences if not any(k.matches(d) for k in KNOWN_DIFFERENCES)
    ]
    stale = [k for k in KNOWN_DIFFERENCES if not any(k.matches(d) for d in comparison.differences)]
    text = report(comparison, unknown, stale)
    _write_report(text)
    assert len(comparison.pairs) > 100, text
    assert not unknown, "differences not in KNOWN_DIFFERENCES:\n" + "\n".join(map(str, unknown))
    assert not stale, "KNOWN_DIFFERENCES that no longer differ:\n" + "\n".join(map(str, stale))


@pytest.mark.network
def test_at_least_99_percent_of_kiwis_selections_identical(comparison: Comparison) -> None:
    identical, pairs = comparison.identical, len(comparison.pairs)
    first_line = report(comparison, [], []).split("\n")[0]
    assert identical >= MINIMUM_IDENTICAL * pairs, (
        f"{first_line} (see {cache_root() / REPORT_NAME})"
    )


@pytest.mark.network
def test_what_kiwi_refuses_is_listed(comparison: Comparison) -> None:
    """The descriptions kiwi refuses, and whether kiwi-like refuses them too."""
    found = {
        f"{r['file']} [{selection(r)}]": (r["error"], ours) for r, ours in comparison.kiwi_refuses
    }
    assert sorted(found) == sorted(KIWI_REFUSES)
    for key, (kiwi_error, ours) in found.items():
        text, expected = KIWI_REFUSES[key]
        assert text in kiwi_error, key
        assert ours.split(":")[0] == expected.split(":")[0], f"{key}: kiwi-like {ours}"


def test_every_known_difference_has_a_reason() -> None:
    for known in KNOWN_DIFFERENCES:
        assert known.fact in FACTS, known
        assert len(known.reason) > 20, known
    for _text, expected in KIWI_REFUSES.values():
        assert expected == REFUSED or len(expected) > 20, expected
