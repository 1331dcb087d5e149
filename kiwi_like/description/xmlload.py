"""Read a description file into an lxml tree, safely, with <include> resolved.

Entity declarations and DTDs are refused before the parser sees the document (on the
decoded text, in any encoding) and again in what the parser built, so nothing is ever
expanded or fetched (kiwi_like/description/xmlguard.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from kiwi_like.description import xmlguard
from kiwi_like.errors import DescriptionError

MAX_INCLUDE_DEPTH = 8
MAX_FILE_SIZE = 16 * 1024 * 1024


def text_of(element: etree._Element | None) -> str | None:
    """An element's own text, whole: `.text` stops at the first comment or processing
    instruction (`1.<!--x-->0` would read `1.`), the schema validated all of it."""
    if element is None:
        return None
    pieces = [element.text or ""]
    pieces += [child.tail or "" for child in element]
    if element.text is None and not any(pieces):
        return None
    return "".join(pieces)


@dataclass
class LoadedXml:
    """The merged tree plus where each element came from, for error messages."""

    root: etree._Element
    file: Path
    _origins: dict[etree._Element, Path] = field(default_factory=dict)
    # (element, attribute) -> the value as written, for values upgrade.py rewrote
    originals: dict[tuple[etree._Element, str], str] = field(default_factory=dict)

    def origin(self, element: etree._Element | None) -> tuple[str, int | None]:
        """(file name, line) of an element, following it back into included files."""
        node = element
        while node is not None:
            if node in self._origins:
                return str(self._origins[node]), element.sourceline if element is not None else None
            node = node.getparent()
        return str(self.file), element.sourceline if element is not None else None

    def error(self, element: etree._Element | None, message: str) -> DescriptionError:
        file, line = self.origin(element)
        return DescriptionError(message, file=file, line=line)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def parse_file(path: Path) -> etree._Element:
    """Parse one XML file; every problem becomes a DescriptionError at file:line."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_SIZE:
            raise DescriptionError(f"file is larger than {MAX_FILE_SIZE} bytes", file=str(path))
        data = path.read_bytes()
    except OSError as error:
        raise DescriptionError(f"cannot read: {error.strerror}", file=str(path)) from None
    if not data.strip():
        raise DescriptionError("file is empty", file=str(path), line=1)
    forbidden = xmlguard.prolog_problem(data)
    if forbidden:
        raise DescriptionError(forbidden[0], file=str(path), line=forbidden[1])
    try:
        root = etree.fromstring(data, _parser(), base_url=str(path))
    except etree.XMLSyntaxError as error:
        message = xmlguard.plain_message(error.msg or "malformed XML")
        raise DescriptionError(
            f"malformed XML: {message}", file=str(path), line=error.lineno or None
        ) from None
    problem = xmlguard.check_parsed(root)
    if problem:
        raise DescriptionError(problem, file=str(path), line=1)
    return root


def _include_path(description_dir: Path, including: Path, element: etree._Element) -> Path:
    source = element.get("from", "")
    if not source.startswith("this://"):
        raise DescriptionError(
            f"<include from='{source}'>: only this:// paths are supported",
            file=str(including),
            line=element.sourceline,
        )
    target = (description_dir / source[len("this://") :]).resolve()
    if not target.is_relative_to(description_dir.resolve()):
        raise DescriptionError(
            f"<include from='{source}'> points outside the description directory",
            file=str(including),
            line=element.sourceline,
        )
    if not target.is_file():
        what = (
            "is a directory, not a file"
            if target.is_dir()
            else "is not a regular file"
            if target.exists()
            else "file not found"
        )
        raise DescriptionError(
            f"<include from='{source}'>: {what}",
            file=str(including),
            line=element.sourceline,
        )
    return target


def load(path: Path) -> LoadedXml:
    """Parse the description and splice included files in place of <include>."""
    root = parse_file(path)
    loaded = LoadedXml(root=root, file=path)
    _resolve_includes(loaded, root, path, [path.resolve()])
    return loaded


def _resolve_includes(
    loaded: LoadedXml, root: etree._Element, file: Path, chain: list[Path]
) -> None:
    for include in list(root.iterchildren("include")):
        target = _include_path(loaded.file.parent, file, include)
        if target in chain or len(chain) > MAX_INCLUDE_DEPTH:
            raise DescriptionError(
                "include loop or too deep nesting", file=str(file), line=include.sourceline
            )
        included = parse_file(target)
        if included.tag != "image":
            raise DescriptionError(
                f"included file must have <image> as root, not <{included.tag}>",
                file=str(target),
                line=included.sourceline,
            )
        _resolve_includes(loaded, included, target, [*chain, target])
        parent = include.getparent()
        assert parent is not None
        position = parent.index(include)
        for offset, child in enumerate(c for c in included if isinstance(c.tag, str)):
            if child not in loaded._origins:
                loaded._origins[child] = target
            parent.insert(position + offset, child)
        parent.remove(include)
