"""Turn a validated description tree into the typed `Description` model."""

from __future__ import annotations

from pathlib import Path
from typing import TypeAlias, TypedDict

from lxml import etree

from kiwi_like.description import sanity, schematron, upgrade, validate, xmlload
from kiwi_like.description.model import (
    Archive,
    Bootloader,
    BuildType,
    CertificateSection,
    ContainerConfig,
    ContainersSection,
    Description,
    FileEntry,
    FileList,
    Node,
    Package,
    PackageSection,
    PreferencesSection,
    Profile,
    Repository,
    Size,
    SystemDisk,
    User,
    UserSection,
    Volume,
    frozen_mapping,
)
from kiwi_like.errors import DescriptionError

Element: TypeAlias = etree._Element


class _Where(TypedDict):
    """Where an element applies: the `Selectable` fields."""

    profiles: tuple[str, ...]
    arch: tuple[str, ...]
    line: int | None


def load_description(path: Path) -> Description:
    """Read, check and parse a description file (includes resolved)."""
    loaded = xmlload.load(path)
    if loaded.root.tag != "image":
        raise loaded.error(loaded.root, f"root element must be <image>, not <{loaded.root.tag}>")
    upgrade.check_schemaversion(loaded)
    warnings = upgrade.upgrade(loaded)
    validate.validate(loaded)
    sanity.check(loaded)
    warnings += schematron.check(loaded)
    return _Parser(loaded).description(tuple(warnings))


def _split(value: str | None, separator: str = ",") -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(part.strip() for part in value.split(separator) if part.strip())


def _bool(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip().lower() == "true"


def _int(value: str | None) -> int | None:
    return None if value is None or value.strip() == "" else int(value)


def _text(element: Element | None) -> str | None:
    text = xmlload.text_of(element)
    return None if text is None else text.strip()


def _children(element: Element, tag: str) -> list[Element]:
    return list(element.iterchildren(tag))


def node(element: Element) -> Node:
    return Node(
        tag=str(element.tag),
        attributes=frozen_mapping(dict(element.attrib)),
        text=_text(element) or None,
        children=tuple(node(c) for c in element if isinstance(c.tag, str)),
    )


class _Parser:
    def __init__(self, loaded: xmlload.LoadedXml) -> None:
        self.loaded = loaded
        self.root = loaded.root

    def description(self, warnings: tuple[str, ...]) -> Description:
        root = self.root
        # The schema lets <image> children come in any order, so "exactly one
        # <description>" is checked here.
        descriptions = _children(root, "description")
        if len(descriptions) != 1:
            problem = "is missing" if not descriptions else "appears more than once"
            raise self.loaded.error(root, f"element <image>: <description> {problem}")
        description = descriptions[0]
        meta = {str(c.tag): _text(c) or "" for c in description if isinstance(c.tag, str)}
        meta["type"] = description.get("type", "system")
        result = Description(
            file=self.loaded.file,
            name=root.get("name", ""),
            schemaversion=root.get("schemaversion", ""),
            displayname=root.get("displayname"),
            image_id=root.get("id"),
            meta=frozen_mapping(meta),
            profiles=tuple(self._profiles()),
            preferences=tuple(self._preferences(e) for e in _children(root, "preferences")),
            users=tuple(self._users(e) for e in _children(root, "users")),
            repositories=tuple(self._repository(e) for e in _children(root, "repository")),
            packages=tuple(self._packages(e) for e in _children(root, "packages")),
            file_lists=tuple(self._file_list(e) for e in root if e.tag in ("drivers", "strip")),
            certificates=tuple(self._certificates(e) for e in _children(root, "certificates")),
            containers=tuple(self._containers(e) for e in _children(root, "containers")),
            extension=next((node(e) for e in _children(root, "extension")), None),
            warnings=warnings,
            xml=self.loaded,
        )
        self._check_profile_references(result)
        return result

    def _selectable(self, element: Element) -> _Where:
        return {
            "profiles": _split(element.get("profiles")),
            "arch": _split(element.get("arch")),
            "line": element.sourceline,
        }

    def _profiles(self) -> list[Profile]:
        profiles = []
        for section in _children(self.root, "profiles"):
            for element in _children(section, "profile"):
                profiles.append(
                    Profile(
                        name=element.get("name", ""),
                        description=element.get("description", ""),
                        import_default=_bool(element.get("import")) or False,
                        arch=_split(element.get("arch")),
                        requires=tuple(
                            r.get("profile", "") for r in _children(element, "requires")
                        ),
                        requires_arch=tuple(
                            _split(r.get("arch")) for r in _children(element, "requires")
                        ),
                        line=element.sourceline,
                    )
                )
        return profiles

    def _check_profile_references(self, description: Description) -> None:
        """Every profile named anywhere must be defined, and `requires` must not loop."""
        known = {p.name for p in description.profiles}
        seen: set[str] = set()
        for profile in description.profiles:
            if "," in profile.name:
                # profiles="a,b" lists two names: a profile 'a,b' could never be selected
                raise self._error_at(
                    profile.line,
                    f"profile name '{profile.name}' holds a ',', which separates profile "
                    'names in profiles="..." and --profile',
                )
            if profile.name in seen:
                raise self._error_at(profile.line, f"profile '{profile.name}' is defined twice")
            seen.add(profile.name)
        for element in self.root.iter():
            if not isinstance(element.tag, str):
                continue
            names = _split(element.get("profiles")) if element.tag != "profile" else ()
            if element.tag == "requires":
                names = (element.get("profile", ""),)
            for name in names:
                if name not in known:
                    raise self.loaded.error(
                        element, f"<{element.tag}> refers to undefined profile '{name}'"
                    )
        requires = {p.name: p.requires for p in description.profiles}
        lines = {p.name: p.line for p in description.profiles}

        def visit(name: str, path: list[str]) -> None:
            if name in path:
                loop = " -> ".join([*path[path.index(name) :], name])
                raise self._error_at(lines[name], f"circular profile requires: {loop}")
            for required in requires[name]:
                visit(required, [*path, name])

        for name in requires:
            visit(name, [])

    def _error_at(self, line: int | None, message: str) -> DescriptionError:
        return DescriptionError(message, file=str(self.loaded.file), line=line)

    def _preferences(self, element: Element) -> PreferencesSection:
        values = {}
        types = []
        for child in element:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "type":
                types.append(self._type(child))
            else:
                values[str(child.tag)] = _text(child) or ""
        return PreferencesSection(
            values=frozen_mapping(values),
            types=tuple(types),
            **self._selectable(element),
        )

    def _type(self, element: Element) -> BuildType:
        attributes = dict(element.attrib)
        children = [c for c in element if isinstance(c.tag, str)]
        typed = {"bootloader", "oemconfig", "containerconfig", "systemdisk", "size"}
        bootloader = element.find("bootloader")
        oemconfig = element.find("oemconfig")
        containerconfig = element.find("containerconfig")
        systemdisk = element.find("systemdisk")
        size = element.find("size")
        return BuildType(
            image=attributes["image"],
            attributes=frozen_mapping(attributes),
            xpath=element.getroottree().getpath(element),
            line=element.sourceline,
            bootloader=self._bootloader(bootloader) if bootloader is not None else None,
            oemconfig=frozen_mapping(
                {str(c.tag): _text(c) or "" for c in oemconfig if isinstance(c.tag, str)}
                if oemconfig is not None
                else {}
            ),
            containerconfig=(
                self._containerconfig(containerconfig) if containerconfig is not None else None
            ),
            systemdisk=self._systemdisk(systemdisk) if systemdisk is not None else None,
            size=self._size(size) if size is not None else None,
            other_children=tuple(node(c) for c in children if c.tag not in typed),
        )

    def _bootloader(self, element: Element) -> Bootloader:
        return Bootloader(
            name=element.get("name", "grub2"),
            output_console=element.get("output_console"),
            input_console=element.get("input_console"),
            timeout=_int(element.get("timeout")),
            timeout_style=element.get("timeout_style"),
            serial_line=element.get("serial_line"),
            attributes=frozen_mapping(dict(element.attrib)),
        )

    def _size(self, element: Element) -> Size:
        return Size(
            value=int(_text(element) or "0"),
            unit=element.get("unit", "M"),
            additive=_bool(element.get("additive")) or False,
        )

    def _systemdisk(self, element: Element) -> SystemDisk:
        return SystemDisk(
            name=element.get("name"),
            preferlvm=_bool(element.get("preferlvm")) or False,
            volumes=tuple(
                Volume(
                    name=v.get("name", ""),
                    size=v.get("size"),
                    freespace=v.get("freespace"),
                    mountpoint=v.get("mountpoint"),
                    label=v.get("label"),
                    filesystem_check=_bool(v.get("filesystem_check")),
                    copy_on_write=_bool(v.get("copy_on_write")),
                )
                for v in _children(element, "volume")
            ),
        )

    def _containerconfig(self, element: Element) -> ContainerConfig:
        def arguments(tag: str) -> tuple[str, ...] | None:
            found = element.find(tag)
            if found is None:
                return None
            if _bool(found.get("clear")):
                return ()
            execute = found.get("execute")
            head = (execute,) if execute else ()
            return head + tuple(a.get("name", "") for a in _children(found, "argument"))

        def pairs(section: str, tag: str) -> dict[str, str]:
            found = element.find(section)
            if found is None:
                return {}
            return {e.get("name", ""): e.get("value", "") for e in _children(found, tag)}

        names = _split(element.get("additionalnames"))
        history = element.find("history")
        expose = element.find("expose")
        volumes = element.find("volumes")
        return ContainerConfig(
            name=element.get("name"),
            tag=element.get("tag"),
            additional_tags=(
                *_split(element.get("additionaltags")),
                *(name[1:] for name in names if name.startswith(":")),
            ),
            additional_names=tuple(name for name in names if not name.startswith(":")),
            maintainer=element.get("maintainer"),
            user=element.get("user"),
            workingdir=element.get("workingdir"),
            entrypoint=arguments("entrypoint"),
            subcommand=arguments("subcommand"),
            expose_ports=tuple(
                p.get("number", "")
                for p in (_children(expose, "port") if expose is not None else [])
            ),
            volumes=tuple(
                v.get("name", "")
                for v in (_children(volumes, "volume") if volumes is not None else [])
            ),
            environment=frozen_mapping(pairs("environment", "env")),
            labels=frozen_mapping(pairs("labels", "label")),
            history=frozen_mapping(
                {k: v for k, v in history.attrib.items()} | {"comment": _text(history) or ""}
                if history is not None
                else {}
            ),
        )

    def _repository(self, element: Element) -> Repository:
        source = element.find("source")
        path = source.get("path", "") if source is not None else ""
        keys: tuple[str, ...] = ()
        if source is not None:
            keys = tuple(k.get("key", "") for k in source.iter("signing"))
        priority = element.get("priority")
        return Repository(
            source=path,
            original_source=path,
            type=element.get("type", ""),
            alias=element.get("alias"),
            priority=_int(priority),
            imageinclude=_bool(element.get("imageinclude")) or False,
            imageonly=_bool(element.get("imageonly")) or False,
            package_gpgcheck=_bool(element.get("package_gpgcheck")),
            repository_gpgcheck=_bool(element.get("repository_gpgcheck")),
            signing_keys=keys,
            components=_split(element.get("components"), " "),
            distribution=element.get("distribution"),
            use_for_bootstrap=_bool(element.get("use_for_bootstrap")) or False,
            sourcetype=element.get("sourcetype"),
            customize=element.get("customize"),
            username=element.get("username"),
            password=element.get("password"),
            **self._selectable(element),
        )

    def _packages(self, element: Element) -> PackageSection:
        def named(tag: str) -> tuple[Package, ...]:
            return tuple(
                Package(
                    name=e.get("name", ""),
                    bootinclude=_bool(e.get("bootinclude")) or False,
                    bootdelete=_bool(e.get("bootdelete")) or False,
                    **self._selectable(e),
                )
                for e in _children(element, tag)
            )

        return PackageSection(
            type=element.get("type", "image"),
            patterntype=element.get("patternType"),
            packages=named("package"),
            collections=named("namedCollection"),
            ignore=named("ignore"),
            products=named("product"),
            archives=tuple(
                Archive(
                    name=e.get("name", ""),
                    target_dir=e.get("target_dir"),
                    bootinclude=_bool(e.get("bootinclude")) or False,
                    **self._selectable(e),
                )
                for e in _children(element, "archive")
            ),
            files=tuple(
                FileEntry(
                    name=e.get("name", ""),
                    target=e.get("target"),
                    owner=e.get("owner"),
                    permissions=e.get("permissions"),
                    **self._selectable(e),
                )
                for e in _children(element, "file")
            ),
            **self._selectable(element),
        )

    def _users(self, element: Element) -> UserSection:
        users = []
        for user in _children(element, "user"):
            users.append(
                User(
                    name=user.get("name", ""),
                    password=user.get("password"),
                    pwdformat=user.get("pwdformat"),
                    home=user.get("home"),
                    shell=user.get("shell"),
                    id=_int(user.get("id")),
                    groups=tuple(g.partition(":")[0] for g in _split(user.get("groups"))),
                    group_ids=frozen_mapping(
                        dict(g.split(":", 1) for g in _split(user.get("groups")) if ":" in g)
                    ),
                    realname=user.get("realname"),
                )
            )
        return UserSection(
            group=element.get("group"),
            users=tuple(users),
            **self._selectable(element),
        )

    def _certificates(self, element: Element) -> CertificateSection:
        return CertificateSection(
            target_distribution=element.get("target_distribution", ""),
            names=tuple(c.get("name", "") for c in _children(element, "certificate")),
            **self._selectable(element),
        )

    def _containers(self, element: Element) -> ContainersSection:
        return ContainersSection(
            source=element.get("source", ""),
            backend=element.get("backend", ""),
            containers=tuple(node(c) for c in _children(element, "container")),
            **self._selectable(element),
        )

    def _file_list(self, element: Element) -> FileList:
        kind = "drivers" if element.tag == "drivers" else f"strip-{element.get('type', 'delete')}"
        return FileList(
            kind=kind,
            files=tuple(f.get("name", "") for f in _children(element, "file")),
            **self._selectable(element),
        )
