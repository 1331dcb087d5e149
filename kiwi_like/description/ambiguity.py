"""What kiwi takes where a description says one thing twice, and a warning that says so.

kiwi accepts these descriptions without a word; kiwi-like takes the same value (the
description may be built by both) and names it in one warning line:

- several `<preferences>` of the selected profiles with different values: kiwi's
  XMLState reads the first `<version>`, `<packagemanager>`, `<release-version>` and rpm
  flags (xml_state.get_image_version & co. stop at the first), but its system setup
  and bootloader read the last `<locale>`, `<keytable>`, `<timezone>` and themes (they
  overwrite as they go);
- several `<type primary="true">`: the first (xml_state._build_type_section);
- `--type` matching several `<type>`s: the first of them, primary or not.
"""

from __future__ import annotations

from collections.abc import Sequence

from kiwi_like.description.model import BuildType, PreferencesSection
from kiwi_like.log import log

# the preferences kiwi reads from the first section that has them
FIRST_WINS = frozenset(
    {
        "version",
        "packagemanager",
        "release-version",
        "rpm-check-signatures",
        "rpm-excludedocs",
        "rpm-locale-filtering",
    }
)


def merged_values(sections: Sequence[PreferencesSection], file: str) -> dict[str, str]:
    """The children of the selected `<preferences>`, as kiwi takes them, in document order
    of first appearance; `version` comes back as kiwi's image version (the first)."""
    seen: dict[str, list[tuple[str, int | None, bool]]] = {}
    for section in sections:
        for tag, value in section.values.items():
            seen.setdefault(tag, []).append((value, section.line, not section.profiles))
    values = {}
    for tag, found in seen.items():
        first = tag in FIRST_WINS
        value, line, _ = found[0] if first else found[-1]
        values[tag] = value
        # a profile's section that overrides a later-wins value does what it says; a
        # first-wins value given again, or two sections for every build, is ambiguous
        unprofiled = {v for v, _, everywhere in found if everywhere}
        if len({v for v, _, _ in found}) > 1 and (first or len(unprofiled) > 1):
            listed = ", ".join(f"'{v}' (line {where})" for v, where, _ in found)
            log.warning(
                "%s: the <preferences> of the selected profiles give <%s> %d times: %s; "
                "using '%s' (line %s), the %s, as kiwi does",
                file,
                tag,
                len(found),
                listed,
                value,
                line,
                "first" if first else "last",
            )
    return values


def pick_type(types: Sequence[BuildType], wanted: str | None, file: str) -> BuildType:
    """kiwi's choice among the selected types (`types` is not empty; with `wanted`, the
    types of that image only)."""
    if wanted:
        chosen = types[0]
        if len(types) > 1:
            log.warning(
                "%s: --type %s matches %d <type>s (lines %s); using the first (line %s), "
                "as kiwi does, whichever is primary",
                file,
                wanted,
                len(types),
                ", ".join(str(t.line) for t in types),
                chosen.line,
            )
        return chosen
    primary = [t for t in types if t.primary]
    if len(primary) > 1:
        log.warning(
            '%s: %d <type>s are primary="true" (%s); using the first, %s (line %s), as kiwi does',
            file,
            len(primary),
            ", ".join(f"{t.image} at line {t.line}" for t in primary),
            primary[0].image,
            primary[0].line,
        )
    return primary[0] if primary else types[0]
