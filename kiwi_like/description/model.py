"""Typed, immutable object model of an image description.

`Description` is the document as written (all profiles, all types);
`kiwi_like.description.resolve.ResolvedBuild` is what one build uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiwi_like.description.xmlload import LoadedXml


def frozen_mapping(values: Mapping[str, str] | None = None) -> Mapping[str, str]:
    return MappingProxyType(dict(values or {}))


@dataclass(frozen=True)
class Node:
    """A generic XML element for parts of the language no stage reads yet."""

    tag: str
    attributes: Mapping[str, str] = field(default_factory=frozen_mapping)
    text: str | None = None
    children: tuple[Node, ...] = ()

    def child(self, tag: str) -> Node | None:
        return next((c for c in self.children if c.tag == tag), None)

    def children_named(self, tag: str) -> tuple[Node, ...]:
        return tuple(c for c in self.children if c.tag == tag)

    def to_dict(self) -> dict[str, object]:
        result: dict[str, object] = dict(self.attributes)
        if self.text:
            result["text"] = self.text
        for child in self.children:
            result.setdefault(child.tag, [])
            entries = result[child.tag]
            assert isinstance(entries, list)
            entries.append(child.to_dict())
        return result


# Names users write for the same architecture; kiwi-like uses the first form.
ARCH_ALIASES = {
    "amd64": "x86_64",
    "arm64": "aarch64",
    "i386": "ix86",
    "i586": "ix86",
    "i686": "ix86",
}


def normalize_arch(arch: str) -> str:
    return ARCH_ALIASES.get(arch, arch)


@dataclass(frozen=True)
class Selectable:
    """Mixin data for elements that only count for some profiles or architectures."""

    profiles: tuple[str, ...] = ()
    arch: tuple[str, ...] = ()
    line: int | None = field(default=None, compare=False)

    def counts_for(self, selected: frozenset[str], target_arch: str) -> bool:
        if self.profiles and not selected.intersection(self.profiles):
            return False
        return not self.arch or normalize_arch(target_arch) in map(normalize_arch, self.arch)


@dataclass(frozen=True)
class Profile:
    name: str
    description: str = ""
    import_default: bool = False
    arch: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()  # every <requires profile>, whatever its arch
    # <requires arch="...">: the architectures each entry of `requires` counts for
    # (empty: all); missing entries count for all
    requires_arch: tuple[tuple[str, ...], ...] = ()
    line: int | None = field(default=None, compare=False)

    def required_for(self, arch: str) -> tuple[str, ...]:
        """The profiles this one requires when building for `arch`."""
        wanted = normalize_arch(arch)
        return tuple(
            name
            for index, name in enumerate(self.requires)
            if index >= len(self.requires_arch)
            or not self.requires_arch[index]
            or wanted in map(normalize_arch, self.requires_arch[index])
        )


@dataclass(frozen=True)
class ContainerConfig:
    name: str | None = None
    tag: str | None = None
    # additionaltags (7.x) and the ":tag" entries of additionalnames (8.x)
    additional_tags: tuple[str, ...] = ()
    # additionalnames entries with a repository of their own ("repo:tag", "repo")
    additional_names: tuple[str, ...] = ()
    maintainer: str | None = None
    user: str | None = None
    workingdir: str | None = None
    entrypoint: tuple[str, ...] | None = None  # None: not set; (): cleared
    subcommand: tuple[str, ...] | None = None
    expose_ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    environment: Mapping[str, str] = field(default_factory=frozen_mapping)
    labels: Mapping[str, str] = field(default_factory=frozen_mapping)
    history: Mapping[str, str] = field(default_factory=frozen_mapping)

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "tag": self.tag,
            "additionaltags": list(self.additional_tags),
            "additionalnames": list(self.additional_names),
            "maintainer": self.maintainer,
            "user": self.user,
            "workingdir": self.workingdir,
            "entrypoint": None if self.entrypoint is None else list(self.entrypoint),
            "subcommand": None if self.subcommand is None else list(self.subcommand),
            "expose": list(self.expose_ports),
            "volumes": list(self.volumes),
            "environment": dict(self.environment),
            "labels": dict(self.labels),
            "history": dict(self.history),
        }


@dataclass(frozen=True)
class Volume:
    name: str
    size: str | None = None
    freespace: str | None = None
    mountpoint: str | None = None
    label: str | None = None
    filesystem_check: bool | None = None
    copy_on_write: bool | None = None


@dataclass(frozen=True)
class SystemDisk:
    name: str | None = None
    preferlvm: bool = False
    volumes: tuple[Volume, ...] = ()


@dataclass(frozen=True)
class Bootloader:
    name: str
    # GRUB terminals, as kiwi's schema 8.4 names them (upgrade.py turns the older
    # console="OUT IN" into these): words like "serial console"
    output_console: str | None = None
    input_console: str | None = None  # None: the same as the output
    timeout: int | None = None
    timeout_style: str | None = None
    serial_line: str | None = None
    attributes: Mapping[str, str] = field(default_factory=frozen_mapping)


@dataclass(frozen=True)
class Size:
    value: int
    unit: str = "M"
    additive: bool = False

    @property
    def megabytes(self) -> int:
        return self.value * 1024 if self.unit == "G" else self.value


@dataclass(frozen=True)
class BuildType:
    """One <type> element: attributes exactly as written plus its typed children."""

    image: str
    attributes: Mapping[str, str]
    xpath: str = field(default="", compare=False)
    line: int | None = field(default=None, compare=False)
    bootloader: Bootloader | None = None
    oemconfig: Mapping[str, str] = field(default_factory=frozen_mapping)
    containerconfig: ContainerConfig | None = None
    systemdisk: SystemDisk | None = None
    size: Size | None = None
    other_children: tuple[Node, ...] = ()

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attributes.get(name, default)

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.attributes.get(name)
        return default if value is None else value == "true"

    @property
    def primary(self) -> bool:
        return self.flag("primary")

    @property
    def filesystem(self) -> str | None:
        return self.get("filesystem")

    @property
    def firmware(self) -> str | None:
        return self.get("firmware")

    @property
    def format(self) -> str | None:
        return self.get("format")


@dataclass(frozen=True)
class PreferencesSection(Selectable):
    """One <preferences> element. `values` maps child tag to its text."""

    values: Mapping[str, str] = field(default_factory=frozen_mapping)
    types: tuple[BuildType, ...] = ()


@dataclass(frozen=True)
class Preferences:
    """The merged preferences of the selected profiles."""

    version: str
    packagemanager: str
    locale: str | None = None
    keytable: str | None = None
    timezone: str | None = None
    release_version: str | None = None
    rpm_check_signatures: bool | None = None
    rpm_excludedocs: bool | None = None
    rpm_locale_filtering: bool | None = None
    bootloader_theme: str | None = None
    bootsplash_theme: str | None = None
    values: Mapping[str, str] = field(default_factory=frozen_mapping)


@dataclass(frozen=True)
class Repository(Selectable):
    source: str = ""
    type: str = "rpm-md"
    alias: str | None = None
    priority: int | None = None
    imageinclude: bool = False
    imageonly: bool = False
    package_gpgcheck: bool | None = None
    repository_gpgcheck: bool | None = None
    signing_keys: tuple[str, ...] = ()
    components: tuple[str, ...] = ()
    distribution: str | None = None
    use_for_bootstrap: bool = False
    sourcetype: str | None = None
    customize: str | None = None
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    original_source: str | None = None


@dataclass(frozen=True)
class Package(Selectable):
    name: str = ""
    bootinclude: bool = False
    bootdelete: bool = False


@dataclass(frozen=True)
class Archive(Selectable):
    name: str = ""
    target_dir: str | None = None
    bootinclude: bool = False


@dataclass(frozen=True)
class FileEntry(Selectable):
    name: str = ""
    target: str | None = None
    owner: str | None = None
    permissions: str | None = None


@dataclass(frozen=True)
class PackageSection(Selectable):
    type: str = "image"
    patterntype: str | None = None
    packages: tuple[Package, ...] = ()
    archives: tuple[Archive, ...] = ()
    files: tuple[FileEntry, ...] = ()
    collections: tuple[Package, ...] = ()
    ignore: tuple[Package, ...] = ()
    products: tuple[Package, ...] = ()


@dataclass(frozen=True)
class User:
    name: str
    password: str | None = field(default=None, repr=False)
    pwdformat: str | None = None
    home: str | None = None
    shell: str | None = None
    id: int | None = None
    groups: tuple[str, ...] = ()  # names; the first is the login group
    # groups="name:gid": the ids given to groups (kiwi creates them with these ids)
    group_ids: Mapping[str, str] = field(default_factory=frozen_mapping)
    realname: str | None = None

    @property
    def home_directory(self) -> str:
        if self.home:
            return self.home
        return "/root" if self.name == "root" else f"/home/{self.name}"


@dataclass(frozen=True)
class UserSection(Selectable):
    group: str | None = None
    users: tuple[User, ...] = ()


@dataclass(frozen=True)
class FileList(Selectable):
    """<drivers> or <strip type=...>: a list of file names."""

    kind: str = "drivers"
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class CertificateSection(Selectable):
    """<certificates>: CA certificate files to add to the image's trust store."""

    target_distribution: str = ""
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContainersSection(Selectable):
    """<containers>: container images pulled into the image."""

    source: str = ""
    backend: str = ""
    containers: tuple[Node, ...] = ()


@dataclass(frozen=True)
class Description:
    """The whole description as written, before profile and type selection."""

    file: Path
    name: str
    schemaversion: str
    displayname: str | None = None
    image_id: str | None = None
    meta: Mapping[str, str] = field(default_factory=frozen_mapping)
    profiles: tuple[Profile, ...] = ()
    preferences: tuple[PreferencesSection, ...] = ()
    users: tuple[UserSection, ...] = ()
    repositories: tuple[Repository, ...] = ()
    packages: tuple[PackageSection, ...] = ()
    file_lists: tuple[FileList, ...] = ()
    certificates: tuple[CertificateSection, ...] = ()
    containers: tuple[ContainersSection, ...] = ()
    extension: Node | None = None  # <extension>: data for kiwi's plugins
    warnings: tuple[str, ...] = ()
    # The validated tree, kept to check command-line overrides against the schema.
    xml: LoadedXml | None = field(default=None, compare=False, repr=False)

    @property
    def directory(self) -> Path:
        return self.file.parent

    def profile(self, name: str) -> Profile | None:
        return next((p for p in self.profiles if p.name == name), None)
