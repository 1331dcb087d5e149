"""What kiwi-like can build of kiwi's language, checked before a build does any work.

`image info` accepts the whole language of KIWI NG 11 (schema and schematron rules).
`system build`, `system prepare` and `system create` call `check_supported(build)`
first: it refuses, in one line naming the element or attribute, the first thing of
the build kiwi-like cannot do yet, and returns a warning for each thing it ignores
because ignoring it does no harm. The verdicts are the tables of `supported.py`.

Only what counts for the build is looked at: the selected `<type>` (its attributes as
the command line left them), the sections of the selected profiles and architecture,
the `<packages>` sections the build reads and the repositories it uses. A type without a
builder (tbz, ...) can still be prepared: `system build` and `system create` refuse it
themselves (`imagetypes.image_type_kind`), and here its `<type>` is not looked at.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from lxml import etree

from kiwi_like.description import resultnames, supported, uri
from kiwi_like.description.imagetypes import IMAGE_TYPES, LEGACY_NAMES
from kiwi_like.description.model import Selectable
from kiwi_like.description.packagemanagers import package_manager_kind
from kiwi_like.description.resolve import ResolvedBuild
from kiwi_like.description.supported import Context, ElementRules, Support
from kiwi_like.description.uri import redact
from kiwi_like.description.xmlload import LoadedXml, text_of
from kiwi_like.errors import DescriptionError

__all__ = ["check_supported"]

# <packages type> values a build reads besides the selected type (resolve._package_lists)
PACKAGE_SECTIONS = ("image", "bootstrap", "delete", "uninstall", "systemfiles")


@dataclass(frozen=True)
class Construct:
    """One element or attribute of the build, its verdict and where it was written."""

    what: str  # <type> attribute luks='...', <systemdisk>, ...
    support: Support
    file: str | None
    line: int | None

    @property
    def message(self) -> str:
        return self.support.message(self.what)

    def located(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file and self.line else ""
        return where + self.message


def check_supported(build: ResolvedBuild) -> list[str]:
    """Refuse the first construct of `build` kiwi-like cannot build; return the warnings."""
    image = LEGACY_NAMES.get(build.build_type.image, build.build_type.image)
    if not build.preferences.version:  # kiwi loads it too, and refuses it when building
        raise DescriptionError(
            "<preferences> of the selected profiles have no <version>",
            str(build.description.file),
        )
    resultnames.check(build)  # a result name over 255 bytes would fail only at the end
    manager = package_manager_kind(build.preferences.packagemanager)
    warnings = []
    for construct in constructs(build, Context(kind=image, manager=manager.name)):
        if construct.support.refuses:
            raise DescriptionError(construct.message, construct.file, construct.line)
        if construct.support.warns:
            warnings.append(construct.located())
    for repository in build.repositories:
        name = repository.alias or redact(repository.source)
        manager.check_repository_type(name, repository.type)
        if repository.line is None and repository.sourcetype not in (None, "baseurl"):
            raise DescriptionError(
                f"repo_sourcetype '{repository.sourcetype}' is not supported yet"
            )
    uri.refuse_unbuildable(build.repositories, str(build.description.file))
    return warnings


def constructs(build: ResolvedBuild, context: Context) -> Iterator[Construct]:
    """Every construct the build uses with its verdict: image, type, preferences,
    packages, repositories, users."""
    loaded = build.description.xml
    if loaded is None:  # a description made in memory: nothing written to look at
        return
    tree = _Tree(loaded, frozenset(build.profiles), build.arch, context)
    yield from tree.element(loaded.root, supported.IMAGE)
    if context.kind in IMAGE_TYPES:
        yield from _type_constructs(build, tree, context)
    yield from tree.preferences()
    sections = (*PACKAGE_SECTIONS, build.build_type.image)
    for section in tree.counting(loaded.root.iterchildren("packages")):
        section_type = section.get("type", "")
        if section_type in sections:
            yield from tree.element(section, supported.packages_rules(section_type))
    used = {repository.line for repository in build.repositories if repository.line}
    for repository in tree.counting(loaded.root.iterchildren("repository")):
        if repository.sourceline in used:  # not dropped by --ignore-repos and the like
            yield from tree.element(repository, supported.REPOSITORY)
    for users in tree.counting(loaded.root.iterchildren("users")):
        yield from tree.element(users, supported.USERS)


def _type_constructs(build: ResolvedBuild, tree: _Tree, context: Context) -> Iterator[Construct]:
    type_element = tree.type_element(build.build_type.xpath)
    file, line = tree.loaded.origin(type_element) if type_element is not None else (None, None)
    for name, value in build.build_type.attributes.items():
        support = supported.verdict(supported.TYPE_ATTRIBUTES, name, value, context)
        yield Construct(f"<type> attribute {name}='{value}'", support, file, line)
    if type_element is not None:
        yield from tree.children(type_element, supported.TYPE)


class _Tree:
    """The description as written, filtered by the build's profiles and architecture."""

    def __init__(
        self, loaded: LoadedXml, profiles: frozenset[str], arch: str, context: Context
    ) -> None:
        self.loaded = loaded
        self.profiles = profiles
        self.arch = arch
        self.context = context

    def counts(self, element: etree._Element) -> bool:
        where = Selectable(
            profiles=_split(element.get("profiles")), arch=_split(element.get("arch"))
        )
        return where.counts_for(self.profiles, self.arch)

    def counting(self, elements: Iterable[etree._Element]) -> list[etree._Element]:
        return [e for e in elements if isinstance(e.tag, str) and self.counts(e)]

    def type_element(self, xpath: str) -> etree._Element | None:
        found = self.loaded.root.getroottree().xpath(xpath) if xpath else None
        if isinstance(found, list) and found and isinstance(found[0], etree._Element):
            return found[0]
        return None

    def construct(self, element: etree._Element, what: str, support: Support) -> Construct:
        file, line = self.loaded.origin(element)
        return Construct(what, support, file, line)

    def element(self, element: etree._Element, rules: ElementRules) -> Iterator[Construct]:
        """The attributes of `element`, then its children that count for the build."""
        for name, value in element.attrib.items():
            if not name.startswith("{"):  # xsi:schemaLocation and the like
                support = supported.verdict(rules.attributes, name, value, self.context)
                yield self.construct(
                    element, f"<{element.tag}> attribute {name}='{value}'", support
                )
        yield from self.children(element, rules)

    def children(self, element: etree._Element, rules: ElementRules) -> Iterator[Construct]:
        for child in self.counting(element):
            tag = str(child.tag)
            text = (text_of(child) or "").strip() if not child.findall("*") else ""
            support = supported.verdict(rules.children, tag, text, self.context)
            yield self.construct(child, f"<{tag}>{text}</{tag}>" if text else f"<{tag}>", support)
            if tag in rules.nested and not support.refuses:
                yield from self.element(child, rules.nested[tag])

    def preferences(self) -> Iterator[Construct]:
        """The merged preferences: the last of each child counts, as in resolve."""
        last: dict[str, etree._Element] = {}
        for section in self.counting(self.loaded.root.iterchildren("preferences")):
            for child in self.counting(section):
                if child.tag != "type":
                    last[str(child.tag)] = child
        for tag, child in last.items():
            text = (text_of(child) or "").strip()
            support = supported.verdict(supported.PREFERENCES.children, tag, text, self.context)
            yield self.construct(child, f"<{tag}>{text}</{tag}>", support)


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())
