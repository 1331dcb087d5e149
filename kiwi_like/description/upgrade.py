"""Bring descriptions written for older KIWI schema versions up to date, in memory.

kiwi itself runs its stylesheets (kiwi/xsl/convert*.xsl) over a description before
validating it; the renames below are the ones those stylesheets make, plus kiwi-like's
legacy image type name vmx. As in kiwi, a rename is silent in a description of a schema
version older than the one that made it; in a newer description (which kiwi would
refuse) and for the legacy image type names it is reported as a warning, so users can
update their files.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lxml import etree

from kiwi_like.description.imagetypes import RENAMED_TYPES
from kiwi_like.description.xmlload import LoadedXml

SUPPORTED_MAJOR_VERSIONS = (6, 7, 8)


def check_schemaversion(loaded: LoadedXml) -> str:
    version = loaded.root.get("schemaversion", "")
    match = re.fullmatch(r"(\d+)\.(\d+)", version)
    if not match or int(match.group(1)) not in SUPPORTED_MAJOR_VERSIONS:
        raise loaded.error(
            loaded.root,
            f"unsupported schemaversion '{version}' (supported: 6.x to 8.x)",
        )
    return version


# (element, attribute) pairs that name image types.
IMAGE_TYPE_ATTRIBUTES = (("type", "image"), ("packages", "type"))


def _image_type_names(element: etree._Element) -> str | None:
    for tag, attribute in IMAGE_TYPE_ATTRIBUTES:
        old = element.get(attribute, "") if element.tag == tag else ""
        if old in RENAMED_TYPES:
            element.set(attribute, RENAMED_TYPES[old])
            return f"{tag} {attribute} '{old}' is deprecated, using '{RENAMED_TYPES[old]}'"
    return None


def _console(element: etree._Element) -> str | None:
    """convert83to84.xsl: console="OUT IN..." became output_console and input_console."""
    console = element.attrib.pop("console", None)
    if console is None:
        return None
    output, _, given_input = console.strip().partition(" ")
    if "output_console" not in element.attrib:
        element.set("output_console", output)
    if given_input and "input_console" not in element.attrib:
        element.set("input_console", given_input.strip())
    new = f"output_console='{element.get('output_console')}'"
    if element.get("input_console"):
        new += f" input_console='{element.get('input_console')}'"
    return f"bootloader attribute console='{console}' is deprecated, using {new}"


def _snapshot(element: etree._Element) -> str | None:
    """convert82to83.xsl: btrfs_root_is_snapshot became btrfs_root_is_snapper_snapshot."""
    value = element.attrib.pop("btrfs_root_is_snapshot", None)
    if value is None:
        return None
    if "btrfs_root_is_snapper_snapshot" not in element.attrib:
        element.set("btrfs_root_is_snapper_snapshot", value)
    return (
        "type attribute 'btrfs_root_is_snapshot' is deprecated, "
        "using 'btrfs_root_is_snapper_snapshot'"
    )


def _dropped(attribute: str, what: str) -> Callable[[etree._Element], str | None]:
    """Attributes kiwi's stylesheets delete (convert81to82: use_for_bootstrap, 84to85: vga)."""

    def drop(element: etree._Element) -> str | None:
        if element.attrib.pop(attribute, None) is None:
            return None
        return f"{what} attribute '{attribute}' is obsolete (kiwi drops it) and ignored"

    return drop


Rewrite = Callable[[etree._Element], "str | None"]
ALWAYS = (0, 0)  # warn whatever the schema version
# element tag -> (rewrite, the schema version whose stylesheet makes it), in kiwi's order
REWRITES: dict[str, tuple[tuple[Rewrite, tuple[int, int]], ...]] = {
    "type": (
        (_image_type_names, ALWAYS),
        (_snapshot, (8, 3)),
        (_dropped("vga", "type"), (8, 5)),
    ),
    "packages": ((_image_type_names, ALWAYS),),
    "bootloader": ((_console, (8, 4)),),
    "repository": ((_dropped("use_for_bootstrap", "repository"), (8, 2)),),
}


def upgrade(loaded: LoadedXml) -> list[str]:
    """Rewrite legacy constructs in the tree; return the warnings to show."""
    version = tuple(int(n) for n in check_schemaversion(loaded).split("."))
    warnings = []
    for element in loaded.root.iter(*REWRITES):
        for tag, attribute in IMAGE_TYPE_ATTRIBUTES:
            if element.tag == tag and attribute in element.attrib:
                loaded.originals[(element, attribute)] = element.get(attribute, "")
        for rewrite, since in REWRITES[str(element.tag)]:
            message = rewrite(element)
            if message and version >= since:
                file, line = loaded.origin(element)
                warnings.append(f"{file}:{line}: {message}")
    return warnings
