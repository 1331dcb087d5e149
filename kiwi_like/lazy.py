"""Resolve a "package.module:attribute" reference to the object it names.

Descriptors in the description layer name code of later stages (adapters,
builders) this way, so the description layer imports nothing from them.
"""

from __future__ import annotations

import importlib


def load(reference: str) -> object:
    """The object `reference` names; a bad reference is a programming error."""
    module_name, separator, attribute = reference.partition(":")
    if not (module_name and separator and attribute):
        raise ValueError(f"reference '{reference}' is not of the form 'package.module:attribute'")
    target: object = importlib.import_module(module_name)
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ValueError(f"reference '{reference}': {part!r} not found") from None
    return target
