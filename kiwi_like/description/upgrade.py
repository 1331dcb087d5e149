"""Bring descriptions written for older KIWI schema versions up to date, in memory.

Each rewrite is reported as a warning so users can update their files.
"""

from __future__ import annotations

import re

from kiwi_like.description.imagetypes import LEGACY_NAMES
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


def upgrade(loaded: LoadedXml) -> list[str]:
    """Rewrite legacy names in the tree; return the warnings to show."""
    warnings = []
    for tag, attribute in IMAGE_TYPE_ATTRIBUTES:
        for element in loaded.root.iter(tag):
            old = element.get(attribute, "")
            if old in LEGACY_NAMES:
                new = LEGACY_NAMES[old]
                element.set(attribute, new)
                file, line = loaded.origin(element)
                warnings.append(
                    f"{file}:{line}: {tag} {attribute} '{old}' is deprecated, using '{new}'"
                )
    return warnings
