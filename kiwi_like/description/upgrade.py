"""Bring descriptions written for older KIWI schema versions up to date, in memory.

Each rewrite is reported as a warning so users can update their files.
"""

from __future__ import annotations

import re

from kiwi_like.description.xmlload import LoadedXml

SUPPORTED_MAJOR_VERSIONS = (6, 7, 8)

# Image type names that kiwi renamed; the old name still selects the type.
RENAMED_IMAGE_TYPES = {"vmx": "oem", "pxe": "kis"}


def check_schemaversion(loaded: LoadedXml) -> str:
    version = loaded.root.get("schemaversion", "")
    match = re.fullmatch(r"(\d+)\.(\d+)", version)
    if not match or int(match.group(1)) not in SUPPORTED_MAJOR_VERSIONS:
        raise loaded.error(
            loaded.root,
            f"unsupported schemaversion '{version}' (supported: 6.x to 8.x)",
        )
    return version


def upgrade(loaded: LoadedXml) -> list[str]:
    """Rewrite legacy names in the tree; return the warnings to show."""
    warnings = []
    for element in loaded.root.iter("type"):
        image = element.get("image", "")
        if image in RENAMED_IMAGE_TYPES:
            element.set("image", RENAMED_IMAGE_TYPES[image])
            file, line = loaded.origin(element)
            warnings.append(
                f"{file}:{line}: image type '{image}' is deprecated, "
                f"using '{RENAMED_IMAGE_TYPES[image]}'"
            )
    for element in loaded.root.iter("packages"):
        kind = element.get("type", "")
        if kind in RENAMED_IMAGE_TYPES:
            element.set("type", RENAMED_IMAGE_TYPES[kind])
            file, line = loaded.origin(element)
            warnings.append(
                f"{file}:{line}: packages type '{kind}' is deprecated, "
                f"using '{RENAMED_IMAGE_TYPES[kind]}'"
            )
    return warnings
