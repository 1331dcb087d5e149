"""Resolve a description plus command-line options into one immutable build.

Profiles, the build type, architecture filters and every override are applied
here, once; later stages read only the `ResolvedBuild`.
"""

from __future__ import annotations

import copy
import platform
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TypeVar

from kiwi_like import buildservice
from kiwi_like.description import ambiguity, dracutkiwi, host_sources, imagetypes, uri, validate
from kiwi_like.description.model import (
    Archive,
    BuildType,
    ContainerConfig,
    Description,
    FileEntry,
    FileList,
    Preferences,
    Repository,
    Selectable,
    User,
    frozen_mapping,
    normalize_arch,
)
from kiwi_like.description.overrides import (
    BuildOptions,
    parse_assignment,
    parse_repository,
    with_credentials,
)
from kiwi_like.description.packagemanagers import (
    default_repository_type,
    find_package_manager,
    manager_package,
)
from kiwi_like.errors import CommandLineError, DescriptionError
from kiwi_like.log import log
from kiwi_like.runtime_config import RuntimeConfig

PREFERENCE_FLAGS = ("rpm-check-signatures", "rpm-excludedocs", "rpm-locale-filtering")


@dataclass(frozen=True)
class PackageLists:
    bootstrap: tuple[str, ...] = ()
    image: tuple[str, ...] = ()
    delete: tuple[str, ...] = ()
    uninstall: tuple[str, ...] = ()
    collections: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    products: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResolvedBuild:
    """What one build of one description does; the input of every later stage."""

    description: Description
    arch: str
    profiles: tuple[str, ...]
    preferences: Preferences
    build_type: BuildType
    repositories: tuple[Repository, ...]
    packages: PackageLists
    archives: tuple[Archive, ...]
    files: tuple[FileEntry, ...]
    users: tuple[User, ...]
    file_lists: tuple[FileList, ...]

    @property
    def name(self) -> str:
        return self.description.name

    @property
    def version(self) -> str:
        return self.preferences.version

    @property
    def description_dir(self) -> Path:
        return self.description.directory

    @property
    def result_basename(self) -> str:
        """kiwi's result naming: <name>.<arch>-<version>."""
        return f"{self.name}.{self.arch}-{self.version}"

    @property
    def bundle_format(self) -> str | None:
        """`bundle_format` of the type: how `result bundle` names the files."""
        return self.build_type.get("bundle_format")

    @cached_property
    def install_packages(self) -> PackageLists:
        """`packages` as prepare installs them: kiwi's dracut-kiwi-* packages out (kiwi-like
        provides their boot code), and no initrd system that conflicts with the type's.
        `packages` stays what kiwi resolves (image info shows it)."""
        return dracutkiwi.substitute_boot_packages(self.packages, self.build_type)

    @cached_property
    def settings(self) -> imagetypes.TypeSettings:
        """The selected type's typed settings, read once; refuses what cannot be built."""
        return imagetypes.type_settings(self)


def host_arch() -> str:
    return normalize_arch(platform.machine())


def resolve(
    description: Description, options: BuildOptions, config: RuntimeConfig
) -> ResolvedBuild:
    arch = normalize_arch(options.target_arch) if options.target_arch else host_arch()
    profiles = select_profiles(description, options.profiles, arch)
    selected = frozenset(profiles)
    preferences, types = _merge_preferences(description, selected, arch, options)
    build_type = _apply_type_overrides(
        description, _select_type(description, types, options), options
    )
    packages, archives, files = _package_lists(
        description, selected, arch, build_type, options, preferences.packagemanager
    )
    users = tuple(
        _user_with_group(user, section.group)
        for section in _counting(description.users, selected, arch)
        for user in section.users
    )
    return ResolvedBuild(
        description=description,
        arch=arch,
        profiles=profiles,
        preferences=preferences,
        build_type=build_type,
        repositories=_repositories(description, selected, arch, preferences, options, config),
        packages=packages,
        archives=archives,
        files=files,
        users=users,
        file_lists=tuple(_counting(description.file_lists, selected, arch)),
    )


_Item = TypeVar("_Item", bound=Selectable)
DEFAULT_PACKAGE_MANAGER = "dnf4"  # kiwi's Defaults.get_default_package_manager


def _counting(items: Iterable[_Item], selected: frozenset[str], arch: str) -> list[_Item]:
    return [item for item in items if item.counts_for(selected, arch)]


def select_profiles(
    description: Description, requested: Sequence[str], arch: str
) -> tuple[str, ...]:
    """Requested profiles plus what they require; without --profile the import="true"
    ones alone, as kiwi takes them (XMLState._used_profiles skips their <requires>)."""
    available = {
        p.name: p for p in description.profiles if not p.arch or arch in map(normalize_arch, p.arch)
    }
    names = [n for item in requested for n in item.split(",") if n]
    for name in names:
        if description.profile(name) is None:
            known = ", ".join(f"'{p.name}'" for p in description.profiles) or "none"
            raise DescriptionError(
                f"profile '{name}' is not defined (available: {known})", file=str(description.file)
            )
        if name not in available:
            raise DescriptionError(
                f"profile '{name}' is not available for architecture {arch}",
                file=str(description.file),
            )
    if not names:
        imported = [p for p in available.values() if p.import_default]
        for profile in imported:
            skipped = [r for r in profile.required_for(arch) if r not in {p.name for p in imported}]
            if skipped:
                log.warning(
                    "profile '%s' is imported without --profile, and as kiwi does, without "
                    "the profiles it requires (%s); name it with --profile to include them",
                    profile.name,
                    ", ".join(skipped),
                )
        return tuple(p.name for p in imported)
    selected: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in selected:
            continue
        if name not in available:
            raise DescriptionError(
                f"required profile '{name}' is not available for architecture {arch}",
                file=str(description.file),
            )
        selected.add(name)
        pending.extend(available[name].required_for(arch))
    return tuple(p.name for p in description.profiles if p.name in selected)


def _merge_preferences(
    description: Description, selected: frozenset[str], arch: str, options: BuildOptions
) -> tuple[Preferences, list[BuildType]]:
    sections = _counting(description.preferences, selected, arch)
    # several sections giving one value: kiwi's pick, with a warning (ambiguity.py)
    values = ambiguity.merged_values(sections, str(description.file))
    types = [t for section in sections for t in section.types]
    # A missing <version> loads, as in kiwi (whose runtime check refuses it when building:
    # support.check_supported does); a missing <packagemanager> is kiwi's default
    if not values.get("packagemanager"):
        log.warning(
            "%s: <preferences> of the selected profiles have no <packagemanager>: "
            "using kiwi's default, %s",
            description.file,
            DEFAULT_PACKAGE_MANAGER,
        )
        values["packagemanager"] = DEFAULT_PACKAGE_MANAGER
    flags = {
        name: (values[name] == "true" if name in values else None) for name in PREFERENCE_FLAGS
    }
    preferences = Preferences(
        version=values.get("version", ""),
        packagemanager=values["packagemanager"],
        locale=values.get("locale"),
        keytable=values.get("keytable"),
        timezone=values.get("timezone"),
        release_version=options.set_release_version or values.get("release-version"),
        rpm_check_signatures=flags["rpm-check-signatures"],
        rpm_excludedocs=flags["rpm-excludedocs"],
        rpm_locale_filtering=flags["rpm-locale-filtering"],
        bootloader_theme=values.get("bootloader-theme"),
        bootsplash_theme=values.get("bootsplash-theme"),
        values=frozen_mapping(values),
    )
    return preferences, types


def _select_type(
    description: Description, types: list[BuildType], options: BuildOptions
) -> BuildType:
    if not types:
        raise DescriptionError(
            "no <type> in the <preferences> of the selected profiles", file=str(description.file)
        )
    if options.build_type:
        wanted = imagetypes.RENAMED_TYPES.get(options.build_type, options.build_type)
        matching = [t for t in types if t.image == wanted]
        if matching:
            return ambiguity.pick_type(matching, options.build_type, str(description.file))
        available = ", ".join(dict.fromkeys(t.image for t in types))
        raise DescriptionError(
            f"build type '{options.build_type}' is not in the description "
            f"for the selected profiles (available: {available})",
            file=str(description.file),
        )
    return ambiguity.pick_type(types, None, str(description.file))


def _apply_type_overrides(
    description: Description, build_type: BuildType, options: BuildOptions
) -> BuildType:
    changes = [parse_assignment("--set-type-attr", text) for text in options.set_type_attrs]
    if options.set_container_derived_from:
        changes.append(("derived_from", options.set_container_derived_from))
    attributes = dict(build_type.attributes)
    for name, value in changes:
        attributes[name] = value
        _check_type_attribute(description, build_type, name, value)
    containerconfig = build_type.containerconfig
    if options.set_container_tag or options.add_container_labels:
        containerconfig = containerconfig or ContainerConfig(name=description.name)
        labels = dict(containerconfig.labels)
        for text in options.add_container_labels:
            key, value = parse_assignment("--add-container-label", text)
            labels[key] = value
        containerconfig = replace(
            containerconfig,
            tag=options.set_container_tag or containerconfig.tag,
            labels=frozen_mapping(labels),
        )
    return replace(
        build_type,
        image=attributes["image"],
        attributes=frozen_mapping(attributes),
        containerconfig=containerconfig,
    )


def _check_type_attribute(
    description: Description, build_type: BuildType, name: str, value: str
) -> None:
    """Validate an overridden attribute with the schema, on a copy of the tree."""
    if description.xml is None or not build_type.xpath:
        return
    root = copy.deepcopy(description.xml.root)
    element = root.getroottree().xpath(build_type.xpath)
    assert isinstance(element, list) and element
    element[0].set(name, value)
    if validate.rng_errors(root):
        errors = validate.xsd_errors(root)
        reason = errors[0][2] if errors else "not allowed by the schema"
        raise CommandLineError(f"--set-type-attr {name}={value}: {reason}")


def _package_lists(
    description: Description,
    selected: frozenset[str],
    arch: str,
    build_type: BuildType,
    options: BuildOptions,
    packagemanager: str,
) -> tuple[PackageLists, tuple[Archive, ...], tuple[FileEntry, ...]]:
    lists: dict[str, list[str]] = {key: [] for key in ("bootstrap", "image", "delete", "uninstall")}
    collections: list[str] = []
    ignore: list[str] = []
    products: list[str] = []
    archives: list[Archive] = []
    files: list[FileEntry] = []
    for section in _counting(description.packages, selected, arch):
        kind = "image" if section.type == build_type.image else section.type
        if kind not in lists:
            continue
        lists[kind] += [p.name for p in _counting(section.packages, selected, arch)]
        if kind in ("image", "bootstrap"):
            collections += [c.name for c in _counting(section.collections, selected, arch)]
            ignore += [i.name for i in _counting(section.ignore, selected, arch)]
            products += [p.name for p in _counting(section.products, selected, arch)]
            archives += _counting(section.archives, selected, arch)
            files += _counting(section.files, selected, arch)
    if lists["bootstrap"] and lists["image"]:  # kiwi's rule, before the command line's
        lists["bootstrap"].append(manager_package(packagemanager))
    lists["image"] += options.add_packages
    lists["bootstrap"] += options.add_bootstrap_packages
    lists["delete"] += options.delete_packages

    def unique(names: Iterable[str]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(names))

    packages = PackageLists(
        bootstrap=unique(lists["bootstrap"]),
        image=unique(lists["image"]),
        delete=unique(lists["delete"]),
        uninstall=unique(lists["uninstall"]),
        collections=unique(collections),
        ignore=unique(ignore),
        products=unique(products),
    )
    return packages, tuple(archives), tuple(files)


def _user_with_group(user: User, group: str | None) -> User:
    if not group or group in user.groups:
        return user
    return replace(user, groups=(group, *user.groups))


def _repositories(
    description: Description,
    selected: frozenset[str],
    arch: str,
    preferences: Preferences,
    options: BuildOptions,
    config: RuntimeConfig,
) -> tuple[Repository, ...]:
    repositories = _counting(description.repositories, selected, arch)
    if options.ignore_repos:
        repositories = []
    elif options.ignore_repos_used_for_build:
        # kiwi keeps the repositories not used for the build: the imageonly ones
        repositories = [r for r in repositories if r.imageonly]
    if options.set_repo:
        replacement = with_credentials(
            "--set-repo-credentials",
            parse_repository("--set-repo", options.set_repo),
            options.set_repo_credentials,
        )
        repositories = [replacement, *repositories[1:]]
    # which option gave a repository: its errors name the option, not config.xml
    given_by = {id(replacement): "--set-repo"} if options.set_repo else {}
    for index, text in enumerate(options.add_repos):
        credentials = (
            options.add_repo_credentials[index]
            if index < len(options.add_repo_credentials)
            else None
        )
        added = with_credentials(
            "--add-repo-credentials", parse_repository("--add-repo", text), credentials
        )
        given_by[id(added)] = "--add-repo"
        repositories.append(added)
    # The package manager's facts; a name without a descriptor fails later, in prepare.
    kind = find_package_manager(preferences.packagemanager)
    default_type = default_repository_type(preferences.packagemanager)
    if not repositories and kind is not None and kind.builds_from_host_sources:
        repositories = [Repository(source=uri.HOST_SOURCES, type=default_type)]
    worker = buildservice.worker()
    resolved: list[Repository] = []
    for repository in repositories:
        option = given_by.get(id(repository))
        if not repository.type:
            repository = replace(repository, type=default_type)
        if repository.source.rstrip("/") == uri.HOST_SOURCES.rstrip("/"):
            resolved += _host_repositories(repository, config)
            continue
        try:
            resolved += uri.repositories_of(
                repository, description.directory, config.obs_download_url, worker
            )
        except DescriptionError as error:
            if option:
                raise CommandLineError(f"{option}: {error.reason}") from None
            raise DescriptionError(
                error.reason, file=str(description.file), line=repository.line
            ) from None
    if options.signing_keys:  # --signing-key: trusted for every repository
        resolved = [
            replace(r, signing_keys=(*r.signing_keys, *options.signing_keys)) for r in resolved
        ]
    return tuple(resolved)


def _host_repositories(template: Repository, config: RuntimeConfig) -> list[Repository]:
    """Expand `host://` into one repository per suite of the host's apt sources."""
    return [
        replace(
            template,
            source=source.uri,
            alias=f"{template.alias or 'host'}-{number}",
            distribution=source.suite,
            components=source.components,
            signing_keys=template.signing_keys or ((source.signed_by,) if source.signed_by else ()),
        )
        for number, source in enumerate(
            host_sources.read_host_sources(config.host_apt_sources), start=1
        )
    ]
