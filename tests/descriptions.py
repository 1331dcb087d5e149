"""The one writer of test descriptions: config.xml from a few parameters, and the files beside it.

Values are XML text and are written as given, not escaped: the hostile cases put entities
and markup into them on purpose, and the other tests write plain words. Elements come in a
fixed order (description, profiles, preferences, users, repositories, packages), one to a
line, so a test can still point at a line or replace a piece of the text when the XML
itself is what it checks (tests/conftest.py's MINIMAL).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# The tiny test repositories bootstrap busybox alone: mmdebstrap's custom variant (no apt).
CUSTOM_BOOTSTRAP = "apt:\n  bootstrap_variant: custom\n"

INDENT = "    "


@dataclass(frozen=True)
class Type:
    """A <type>: image="...", then `attributes` in order; `children` is XML (re-indented)."""

    image: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    children: str = ""


@dataclass(frozen=True)
class Repository:
    """A <repository> with one <source>; `key` is a signing key file on the host."""

    source: str
    type: str = "apt-deb"
    alias: str | None = None
    key: str | Path | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)  # after type and alias


@dataclass(frozen=True)
class Image:
    """What a test description says; every field has a plain default."""

    name: str = "test-image"
    version: str = "1.0.0"
    packagemanager: str = "apt"
    specification: str = "test image"
    schemaversion: str = "8.0"
    profiles: Mapping[str, str] = field(default_factory=dict)  # name -> description
    preferences: Mapping[str, str] = field(default_factory=dict)  # element -> text
    types: Sequence[Type | str] = (Type("docker"),)  # a str is raw XML in <preferences>
    users: Sequence[Mapping[str, str]] = ()  # the attributes of each <user>
    extra: str = ""  # raw XML after <users>, for what the fields cannot say
    repositories: Sequence[Repository] = ()
    # section type -> package names; an entry starting with "<" is raw XML (<archive>, <file>...)
    packages: Mapping[str, Sequence[str]] = field(default_factory=dict)
    prolog: str = ""  # raw text between the XML declaration and <image> (a DOCTYPE)


def description_xml(image: Image) -> str:
    """The config.xml text of `image`."""
    body = _element(
        "description",
        {"type": "system"},
        [
            "<author>tests</author>",
            "<contact>tests@example.org</contact>",
            f"<specification>{image.specification}</specification>",
        ],
    )
    if image.profiles:
        profiles = [
            _tag("profile", {"name": n, "description": d}) for n, d in image.profiles.items()
        ]
        body += _element("profiles", {}, profiles)
    preferences = [
        f"<version>{image.version}</version>",
        f"<packagemanager>{image.packagemanager}</packagemanager>",
        *(f"<{name}>{text}</{name}>" for name, text in image.preferences.items()),
    ]
    for build_type in image.types:
        if isinstance(build_type, str):
            preferences.append(build_type)
        else:
            attributes = {"image": build_type.image, **build_type.attributes}
            children = textwrap.dedent(build_type.children).strip().splitlines()
            preferences += _element("type", attributes, children)
    body += _element("preferences", {}, preferences)
    if image.users:
        body += _element("users", {}, [_tag("user", user) for user in image.users])
    if image.extra:
        body.append(image.extra)
    for repository in image.repositories:
        body += _element("repository", _repository_attributes(repository), [_source(repository)])
    for section, entries in image.packages.items():
        packages = [e if e.startswith("<") else _tag("package", {"name": e}) for e in entries]
        body += _element("packages", {"type": section}, packages)
    opening = _opening("image", {"schemaversion": image.schemaversion, "name": image.name})
    lines = [image.prolog + opening + ">", *_indented(body), "</image>"]
    return '<?xml version="1.0" encoding="utf-8"?>\n' + "\n".join(lines) + "\n"


def write_description(
    directory: Path, config: Image | str, files: Mapping[str, str | bytes] | None = None
) -> Path:
    """Write config.xml (an Image, or XML text as it is) and `files` into `directory`."""
    text = config if isinstance(config, str) else description_xml(config)
    write_files(directory, {"config.xml": text, **(files or {})})
    return directory


def write_files(directory: Path, files: Mapping[str, str | bytes]) -> None:
    """Write files by their path relative to `directory` (overlay trees, scripts, archives)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def _repository_attributes(repository: Repository) -> dict[str, str]:
    alias = {"alias": repository.alias} if repository.alias else {}
    return {"type": repository.type, **alias, **repository.attributes}


def _source(repository: Repository) -> str:
    source = _opening("source", {"path": repository.source})
    if repository.key is None:
        return source + "/>"
    return f'{source}><signing key="file://{repository.key}"/></source>'


def _opening(name: str, attributes: Mapping[str, str]) -> str:
    """A start tag without its closing bracket: <name a="1" b="2"."""
    return "<" + " ".join([name, *(f'{k}="{v}"' for k, v in attributes.items())])


def _tag(name: str, attributes: Mapping[str, str]) -> str:
    return _opening(name, attributes) + "/>"


def _element(name: str, attributes: Mapping[str, str], children: list[str]) -> list[str]:
    """An element with its children one level deeper, one to a line."""
    if not children:
        return [_tag(name, attributes)]
    return [_opening(name, attributes) + ">", *_indented(children), f"</{name}>"]


def _indented(lines: list[str]) -> list[str]:
    return [INDENT + line for line in lines]
