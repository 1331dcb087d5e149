"""Read the build host's apt sources (deb822 *.sources and one-line sources.list)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kiwi_like.errors import DescriptionError


@dataclass(frozen=True)
class AptSource:
    uri: str
    suite: str
    components: tuple[str, ...]
    signed_by: str | None = None


def read_host_sources(apt_dir: Path) -> list[AptSource]:
    """All `deb` entries, sources.list first, then sources.list.d/ files by name."""
    sources: list[AptSource] = []
    one_line_files = [apt_dir / "sources.list"]
    parts = apt_dir / "sources.list.d"
    if parts.is_dir():
        one_line_files += sorted(parts.glob("*.list"))
    for path in one_line_files:
        if path.is_file():
            sources += _one_line(path)
    if parts.is_dir():
        for path in sorted(parts.glob("*.sources")):
            sources += _deb822(path)
    if not sources:
        raise DescriptionError(f"no apt sources found in {apt_dir} for host://")
    return sources


_ONE_LINE = re.compile(
    r"^deb\s+(?:\[(?P<options>[^\]]*)\]\s+)?(?P<uri>\S+)\s+(?P<suite>\S+)(?P<rest>.*)$"
)


def _one_line(path: Path) -> list[AptSource]:
    sources = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        match = _ONE_LINE.match(raw.split("#", 1)[0].strip())
        if not match:
            continue
        options = dict(
            option.split("=", 1) for option in (match["options"] or "").split() if "=" in option
        )
        sources.append(
            AptSource(
                match["uri"], match["suite"], tuple(match["rest"].split()), options.get("signed-by")
            )
        )
    return sources


def _deb822(path: Path) -> list[AptSource]:
    sources = []
    for stanza in _stanzas(path.read_text(encoding="utf-8")):
        if "deb" not in stanza.get("types", "").split():
            continue
        if stanza.get("enabled", "yes").lower() == "no":
            continue
        components = tuple(stanza.get("components", "").split())
        signed_by = stanza.get("signed-by") or None
        if signed_by and "\n" in signed_by:
            signed_by = None  # an inline key block, not a keyring path
        for uri in stanza.get("uris", "").split():
            for suite in stanza.get("suites", "").split():
                sources.append(AptSource(uri, suite, components, signed_by))
    return sources


def _stanzas(text: str) -> list[dict[str, str]]:
    stanzas: list[dict[str, str]] = []
    current: dict[str, str] = {}
    key = None
    for line in text.splitlines() + [""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if current:
                stanzas.append(current)
            current, key = {}, None
        elif line[0] in " \t" and key:
            current[key] += "\n" + line.strip()
        elif ":" in line:
            key, value = line.split(":", 1)
            key = key.strip().lower()
            current[key] = value.strip()
    return stanzas
