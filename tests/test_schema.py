"""Tests for the description schema in schema/.

The RELAX NG schema (validated with lxml) and the XSD generated from the same
source by trang (validated with xmlschema) must reach the same verdict on
every document. The fixtures under tests/schema_cases pin what is valid and
what is not; the description corpus under tests/corpus and randomly mutated
fixtures probe that the two translations agree.

One difference is inherent to XML Schema and handled in `xsd_accepts`: an XSD
cannot single out the document element. Every global element declaration may
be the root of a valid document, and trang declares every element of the
schema globally, so on its own the XSD would accept, say, a lone
<repository>. RELAX NG's `start` allows only <image>; the XSD verdict therefore
also requires the document element to be <image>, which is how the XSD is
meant to be used.

Known remaining difference, not exercised by any fixture: XML Schema allows
xsi:schemaLocation and xsi:noNamespaceSchemaLocation on every element, the
RELAX NG schema only on <image>.
"""

from __future__ import annotations

import copy
import inspect
import random
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from lxml import etree

# xmlschema >= 2 reads schema locations from the document unless told not to; 1.10
# (Debian 12's) has no such keyword and never does
NO_LOCATION_HINTS = (
    {"use_location_hints": False}
    if "use_location_hints" in inspect.signature(xmlschema.XMLSchema.iter_errors).parameters
    else {}
)

TESTS_DIR = Path(__file__).resolve().parent
REPO_DIR = TESTS_DIR.parent
SCHEMA_DIR = REPO_DIR / "schema"
RNC_FILE = SCHEMA_DIR / "kiwi-like.rnc"
RNG_FILE = SCHEMA_DIR / "kiwi-like.rng"
XSD_FILE = SCHEMA_DIR / "kiwi-like.xsd"
MAKE_FRAGMENT = SCHEMA_DIR / "Makefile.inc"
CASES_DIR = TESTS_DIR / "schema_cases"
CORPUS_DIR = TESTS_DIR / "corpus"

DOCUMENT_ELEMENT = "image"
MIN_FIXTURES = 25
MUTANTS_PER_FIXTURE = 25

VALID_CASES = sorted((CASES_DIR / "valid").glob("*.xml"))
INVALID_CASES = sorted((CASES_DIR / "invalid").glob("*.xml"))


def _schema_checkable(path: Path) -> bool:
    """Corpus files the schemas can judge: well-formed, no DTD, no <include> to splice."""
    raw = path.read_bytes()
    if b"<!DOCTYPE" in raw or b"<include" in raw:
        return False
    try:
        etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return False
    return True


def _corpus_files() -> list[Path]:
    return sorted(
        path
        for path in CORPUS_DIR.rglob("*")
        if path.suffix in {".xml", ".kiwi"} and path.is_file() and _schema_checkable(path)
    )


def _ids(paths: list[Path], base: Path) -> list[str]:
    return [str(path.relative_to(base)) for path in paths]


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _refuse_network(*_args: Any, **_kwargs: Any) -> None:
    raise AssertionError("schema validation tried to open a network connection")


@pytest.fixture(scope="module", autouse=True)
def no_network() -> Iterator[None]:
    """Loading and applying the schemas must work offline."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", _refuse_network)
        patch.setattr(socket, "create_connection", _refuse_network)
        yield


@pytest.fixture(scope="module")
def relaxng(no_network: None) -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(RNG_FILE), _parser()))


@pytest.fixture(scope="module")
def xsd(no_network: None) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD_FILE))


def rng_errors(relaxng: etree.RelaxNG, document: etree._ElementTree) -> list[str]:
    if relaxng.validate(document):
        return []
    return [f"line {entry.line}: {entry.message}" for entry in relaxng.error_log]


def xsd_errors(xsd: xmlschema.XMLSchema, document: etree._ElementTree) -> list[str]:
    """XSD complaints; an empty list means the XSD accepts the document.

    xmlschema gets serialized bytes, not the lxml tree: it parses them itself
    and drops comments and processing instructions, while it mistakes an lxml
    comment inside an element with simple content for a child element.
    """
    root = document.getroot()
    errors = []
    if root.tag != DOCUMENT_ELEMENT:
        errors.append(f"document element is <{root.tag}>, not <{DOCUMENT_ELEMENT}>")
    data = etree.tostring(document, encoding="utf-8")
    errors.extend(
        f"{error.path}: {error.reason}" for error in xsd.iter_errors(data, **NO_LOCATION_HINTS)
    )
    return errors


def xsd_accepts(xsd: xmlschema.XMLSchema, document: etree._ElementTree) -> bool:
    return not xsd_errors(xsd, document)


def verdicts(
    relaxng: etree.RelaxNG, xsd: xmlschema.XMLSchema, document: etree._ElementTree
) -> tuple[list[str], list[str]]:
    return rng_errors(relaxng, document), xsd_errors(xsd, document)


def load(path: Path) -> etree._ElementTree:
    return etree.parse(str(path), _parser())


# ==== fixtures ====


def test_enough_fixtures() -> None:
    assert len(VALID_CASES) >= MIN_FIXTURES
    assert len(INVALID_CASES) >= MIN_FIXTURES


@pytest.mark.parametrize("path", VALID_CASES, ids=_ids(VALID_CASES, CASES_DIR))
def test_valid_fixture_accepted(
    relaxng: etree.RelaxNG, xsd: xmlschema.XMLSchema, path: Path
) -> None:
    rng, xsd_ = verdicts(relaxng, xsd, load(path))
    assert rng == [], f"RELAX NG rejects {path.name}: {rng}"
    assert xsd_ == [], f"XSD rejects {path.name}: {xsd_}"


@pytest.mark.parametrize("path", INVALID_CASES, ids=_ids(INVALID_CASES, CASES_DIR))
def test_invalid_fixture_rejected(
    relaxng: etree.RelaxNG, xsd: xmlschema.XMLSchema, path: Path
) -> None:
    document = load(path)
    first = document.getroot().getprevious()
    while first is not None and first.getprevious() is not None:
        first = first.getprevious()
    assert isinstance(first, etree._Comment), f"{path.name} must start with a comment"
    assert first.text and first.text.strip() and "\n" not in first.text, (
        f"{path.name}: the leading comment must be one line saying what is wrong"
    )
    rng, xsd_ = verdicts(relaxng, xsd, document)
    assert rng, f"RELAX NG accepts {path.name} ({first.text.strip()})"
    assert xsd_, f"XSD accepts {path.name} ({first.text.strip()})"


# ==== corpus ====

CORPUS_FILES = _corpus_files()


@pytest.mark.parametrize("path", CORPUS_FILES, ids=_ids(CORPUS_FILES, TESTS_DIR))
def test_corpus_verdicts_agree(
    relaxng: etree.RelaxNG, xsd: xmlschema.XMLSchema, path: Path
) -> None:
    rng, xsd_ = verdicts(relaxng, xsd, load(path))
    assert bool(rng) == bool(xsd_), (
        f"verdicts differ on {path}: RELAX NG errors {rng}, XSD errors {xsd_}"
    )


# ==== mutated fixtures ====

JUNK_VALUES = ["", "foo", "-1", "0", "true", "1.5", "x y", "all", "8.2", "efi", "200M"]
JUNK_ATTRIBUTES = ["name", "arch", "profiles", "type", "size", "id", "foo"]
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"


def _element_names(xsd: xmlschema.XMLSchema) -> list[str]:
    names = set()
    for component in xsd.iter_components(xmlschema.XsdElement):
        if component.name:
            names.add(component.local_name)
    return sorted(names)


def _mutate(root: etree._Element, rnd: random.Random, names: list[str]) -> None:
    """Apply one random, usually invalidating, change to the tree."""
    elements = [node for node in root.iter() if isinstance(node.tag, str)]
    node = rnd.choice(elements)
    is_root = node is root
    kind = rnd.randrange(12)
    if kind == 0 and not is_root:  # repeat an element
        node.addnext(copy.deepcopy(node))
    elif kind == 1 and not is_root:  # drop an element
        node.getparent().remove(node)
    elif kind == 2 and node.attrib:  # drop an attribute
        del node.attrib[rnd.choice(list(node.attrib))]
    elif kind == 3 and node.attrib:  # change an attribute value
        node.set(rnd.choice(list(node.attrib)), rnd.choice(JUNK_VALUES))
    elif kind == 4 and not is_root:  # move an element elsewhere
        target = rnd.choice(elements)
        if target is not node and node not in target.iterancestors():
            target.append(node)
    elif kind == 5 and not is_root:  # swap with the next sibling element
        sibling = node.getnext()
        while sibling is not None and not isinstance(sibling.tag, str):
            sibling = sibling.getnext()
        if sibling is not None:
            sibling.addnext(node)
    elif kind == 6:  # add text
        node.text = (node.text or "") + rnd.choice(["x", " ", "\n", "12"])
    elif kind == 7:  # rename an element
        node.tag = rnd.choice(names)
    elif kind == 8:  # add or overwrite an attribute
        node.set(rnd.choice(JUNK_ATTRIBUTES), rnd.choice(JUNK_VALUES))
    elif kind == 9:  # add an empty child element
        node.append(etree.Element(rnd.choice(names)))
    elif kind == 10:  # add a comment
        node.append(etree.Comment(" note "))
    else:  # schema instance attributes on the document element
        name = rnd.choice(["schemaLocation", "noNamespaceSchemaLocation", "nil", "foo"])
        root.set(XSI + name, rnd.choice(["a b", "true", "kiwi.xsd"]))


@pytest.mark.parametrize("path", VALID_CASES, ids=_ids(VALID_CASES, CASES_DIR))
def test_mutated_fixture_verdicts_agree(
    relaxng: etree.RelaxNG, xsd: xmlschema.XMLSchema, path: Path
) -> None:
    """Faithfulness probe: random edits of valid fixtures get the same verdicts."""
    names = _element_names(xsd)
    rnd = random.Random(path.name)
    disagreements = []
    for number in range(MUTANTS_PER_FIXTURE):
        document = load(path)
        for _ in range(rnd.randint(1, 3)):
            _mutate(document.getroot(), rnd, names)
        rng, xsd_ = verdicts(relaxng, xsd, document)
        if bool(rng) != bool(xsd_):
            disagreements.append(
                f"mutant {number}: RELAX NG {rng[:2]}, XSD {xsd_[:2]}\n"
                + etree.tostring(document, encoding="unicode")
            )
    assert not disagreements, "\n\n".join(disagreements)


# ==== generated files ====


def test_xsd_is_self_contained(xsd: xmlschema.XMLSchema) -> None:
    """No imports or includes: validation needs no other files or network."""
    tree = etree.parse(str(XSD_FILE), _parser())
    ns = {"xs": "http://www.w3.org/2001/XMLSchema"}
    assert tree.xpath("//xs:import | //xs:include | //xs:redefine", namespaces=ns) == []
    assert DOCUMENT_ELEMENT in xsd.elements


def _trang(output_format: str, output: Path) -> None:
    result = subprocess.run(
        ["trang", "-I", "rnc", "-O", output_format, str(RNC_FILE), str(output)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == "", (
        f"trang warns, the {output_format} output only approximates the source:\n"
        + result.stderr
        + result.stdout
    )


@pytest.mark.skipif(shutil.which("trang") is None, reason="trang is not installed")
def test_generated_schemas_up_to_date(tmp_path: Path) -> None:
    _trang("rng", tmp_path / RNG_FILE.name)
    _trang("xsd", tmp_path / XSD_FILE.name)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [RNG_FILE.name, XSD_FILE.name]
    ), "trang wrote extra schema documents"
    for committed in (RNG_FILE, XSD_FILE):
        fresh = tmp_path / committed.name
        assert fresh.read_bytes() == committed.read_bytes(), (
            f"{committed.relative_to(REPO_DIR)} is out of date: run 'make schema'"
        )


@pytest.mark.skipif(
    shutil.which("trang") is None or shutil.which("make") is None,
    reason="trang or make is not installed",
)
def test_make_schema_target(tmp_path: Path) -> None:
    """`make schema` from the repository root regenerates the committed files."""
    makefile = tmp_path / "Makefile"
    makefile.write_text(f"include {MAKE_FRAGMENT.relative_to(REPO_DIR)}\n")
    output = tmp_path / "out"
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-f",
            str(makefile),
            "schema",
            f"KIWI_SCHEMA_OUT={output}",
        ],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for committed in (RNG_FILE, XSD_FILE):
        assert (output / committed.name).read_bytes() == committed.read_bytes(), (
            f"{committed.relative_to(REPO_DIR)} differs from 'make schema' output"
        )
