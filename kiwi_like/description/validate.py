"""Validate a description tree against the shipped schema.

RelaxNG (lxml) gives the verdict; when it rejects, the XSD generated from the
same source (xmlschema) is asked as well because its messages name the
offending value, which libxml2's RelaxNG messages often do not.
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

from kiwi_like.description.xmlload import LoadedXml
from kiwi_like.errors import DescriptionError

if TYPE_CHECKING:
    import xmlschema

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"
RNG_FILE = SCHEMA_DIR / "kiwi-like.rng"
XSD_FILE = SCHEMA_DIR / "kiwi-like.xsd"


@functools.cache
def relaxng() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(RNG_FILE)))


@functools.cache
def xsd() -> xmlschema.XMLSchema:
    # Imported here: only a description RelaxNG rejected needs it, and its import
    # costs a quarter of a second on every command.
    import xmlschema

    return xmlschema.XMLSchema(str(XSD_FILE))


def rng_errors(root: etree._Element) -> list[tuple[int | None, str, str]]:
    """(line, element path, message) for each RelaxNG complaint; empty if valid."""
    schema = relaxng()
    if schema.validate(root):
        return []
    return [(entry.line, entry.path, entry.message) for entry in schema.error_log]


def xsd_errors(root: etree._Element) -> list[tuple[int | None, str, str]]:
    """(line, element path, message) for each XSD complaint; empty if valid.

    A misplaced child is reported at the child itself, not at its parent.
    """
    # xmlschema counts comments as child elements of simple-content elements;
    # validate a comment-free copy (element paths and lines stay the same).
    root = copy.deepcopy(root)
    etree.strip_elements(root, etree.Comment, etree.ProcessingInstruction, with_tail=False)
    errors = []
    for error in xsd().iter_errors(root):
        element = error.elem if isinstance(error.elem, etree._Element) else None
        child = getattr(error, "invalid_child", None)
        index = getattr(error, "index", None)  # xmlschema < 2 names the child by position only
        if child is None and element is not None and isinstance(index, int):
            child = element[index] if index < len(element) else None
        if isinstance(child, etree._Element):
            element = child
        reason = _with_value(error.reason or str(error.message), error.obj)
        if element is not None:
            path = element.getroottree().getpath(element)
            errors.append((element.sourceline, path, reason))
        else:
            errors.append((error.sourceline, error.path or "", reason))
    return errors


# Python's conversion errors, which xmlschema passes on, in the user's words
_PYTHON_WORDS = (
    (re.compile(r"invalid literal for int\(\) with base \d+: (.*)"), r"\1 is not a whole number"),
    (re.compile(r"could not convert string to float: (.*)"), r"\1 is not a number"),
    (re.compile(r"\[<class 'decimal\.ConversionSyntax'>\]"), "not a number"),
)


def _with_value(reason: str, value: object) -> str:
    """xmlschema names an attribute's bad value but not an element's text: add it."""
    for pattern, words in _PYTHON_WORDS:
        reason = pattern.sub(words, reason)
    if not isinstance(value, str) or f"'{value}'" in reason or f'"{value}"' in reason:
        return reason
    shown = value if len(value) <= 60 else value[:57] + "..."
    if not shown.isprintable():  # a control character must not reach the terminal
        shown = shown.encode("unicode_escape").decode("ascii")
    if reason.startswith("value "):
        return f"value '{shown}' {reason[len('value ') :]}"
    return f"value '{shown}': {reason}"


def validate(loaded: LoadedXml) -> None:
    """Raise a DescriptionError for the first schema violation."""
    root = loaded.root
    rng = rng_errors(root)
    if not rng:
        return
    element = _element_at(root, rng[0][1])
    message = rng[0][2]
    for _line, path, reason in xsd_errors(root):
        found = _element_at(root, path)
        if found is not None:
            element, message = found, reason
            break
    if element is None:
        raise DescriptionError(
            f"schema violation: {message}", file=str(loaded.file), line=rng[0][0]
        )
    raise loaded.error(element, f"element <{element.tag}>: {message}")


def _element_at(root: etree._Element, path: str) -> etree._Element | None:
    if not path:
        return None
    try:
        found = root.getroottree().xpath(path)
    except etree.XPathError:
        return None
    if isinstance(found, list) and found and isinstance(found[0], etree._Element):
        return found[0]
    return None
