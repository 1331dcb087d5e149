"""The selections of `system build-all`: every profile × type of a description, grouped
by the root their package steps make.

A selection is what one `system build` builds: one requested profile (with the profiles
it requires) and one image type. Selections whose roots are equal after the package
steps (the root cache's `package_state`: packages, repositories, bootstrap variant,
post_bootstrap.sh) form a group: the first one's prepare installs the packages and
stores the root in the root cache, the others restore it from there.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kiwi_like.description import BuildOptions, ResolvedBuild, load_build
from kiwi_like.description.imagetypes import RENAMED_TYPES, image_type_kind
from kiwi_like.description.imagetypes.container import ContainerSettings
from kiwi_like.description.locate import find_description_file
from kiwi_like.description.model import Profile, normalize_arch
from kiwi_like.description.packagemanagers import package_manager_kind
from kiwi_like.description.parse import load_description
from kiwi_like.description.resolve import host_arch, select_profiles
from kiwi_like.errors import CommandLineError, DescriptionError, KiwiLikeError
from kiwi_like.log import log
from kiwi_like.prepare.pipeline import image_package_lists
from kiwi_like.prepare.rootcache import RootCache, package_state
from kiwi_like.runtime_config import RuntimeConfig

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


@dataclass(frozen=True)
class Selection:
    """One cell of the matrix; `profile` is None for a description without profiles."""

    profile: str | None
    image: str

    @property
    def name(self) -> str:
        """Its directory under the matrix's target directory: `<profile>-<type>`."""
        name = f"{self.profile}-{self.image}" if self.profile else self.image
        return _UNSAFE.sub("_", name)


@dataclass(frozen=True)
class Planned:
    """A selection with its resolved build and the group of its package root."""

    selection: Selection
    build: ResolvedBuild
    group: str  # equal for selections that share the root after the package steps


def selections(
    description_dir: str | Path,
    options: BuildOptions,
    kiwi_file: str | None = None,
    profiles: Sequence[str] = (),
    types: Sequence[str] = (),
) -> list[Selection]:
    """Every profile that has an image type (its own or one outside any profile) × each of
    its types, in the description's order; `profiles` and `types` keep only those.

    A description without profiles gives one selection per type. A profile without any
    type (one that others require, such as a package set) is no selection of its own.
    """
    description = load_description(find_description_file(description_dir, kiwi_file))
    arch = normalize_arch(options.target_arch) if options.target_arch else host_arch()
    wanted_types = [RENAMED_TYPES.get(t, t) for t in types]
    rows: list[str | None] = [p.name for p in description.profiles if _for_arch(p, arch)]
    rows = rows if description.profiles else [None]
    if profiles:
        if rows == [None]:
            raise CommandLineError("--profile: the description has no profiles")
        for name in profiles:
            select_profiles(description, [name], arch)  # unknown names: one line
        rows = [name for name in dict.fromkeys(profiles)]
    found: list[Selection] = []
    for row in rows:
        try:
            selected = frozenset(select_profiles(description, [row], arch) if row else ())
        except DescriptionError as error:
            if profiles:
                raise
            log.warning("build-all: skipping profile %s: %s", row, error)
            continue
        images = dict.fromkeys(
            build_type.image
            for section in description.preferences
            if section.counts_for(selected, arch)
            for build_type in section.types
        )
        if row is not None and profiles and not images:
            raise CommandLineError(f"--profile {row}: the profile has no image type")
        found += [Selection(row, image) for image in images if image in wanted_types or not types]
    for image in wanted_types:
        if not any(s.image == image for s in found):
            raise CommandLineError(f"--type {image}: no selected profile has this image type")
    if not found:
        raise CommandLineError(f"{description.file}: no profile has an image type to build")
    return found


def _for_arch(profile: Profile, arch: str) -> bool:
    return not profile.arch or arch in map(normalize_arch, profile.arch)


def resolve_selection(
    description_dir: str | Path,
    options: BuildOptions,
    config: RuntimeConfig,
    selection: Selection,
    kiwi_file: str | None = None,
) -> ResolvedBuild:
    """The build `system build --profile P --type T` would make of the selection."""
    selected = dataclasses.replace(
        options,
        profiles=(selection.profile,) if selection.profile else (),
        build_type=selection.image,
    )
    return load_build(description_dir, selected, config, kiwi_file)


def package_group(build: ResolvedBuild, options: BuildOptions, config: RuntimeConfig) -> str:
    """The key of the root after the package steps, without the repositories' metadata
    (equal for every selection of one run); a root the root cache does not keep (cache
    off, --ca-cert, a derived container) is a group of its own."""
    own = json.dumps([build.profiles, build.build_type.image])
    settings = build.settings
    derived = isinstance(settings, ContainerSettings) and settings.derived_from
    if not RootCache(config.shared_cache_dir, config.root_cache_size).enabled:
        return "own:" + own
    if options.ca_certs or derived:
        return "own:" + own
    kind = package_manager_kind(build.preferences.packagemanager)
    image, collections = image_package_lists(build, kind.supports_collections)
    state = package_state(build, image, collections, config.apt_bootstrap_variant)
    text = json.dumps(state, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def plan(
    description_dir: str | Path,
    options: BuildOptions,
    config: RuntimeConfig,
    kiwi_file: str | None = None,
    profiles: Sequence[str] = (),
    types: Sequence[str] = (),
) -> list[Planned]:
    """The selections, resolved (what a selection cannot build is refused now, naming it),
    ordered group by group (each group's first selection prepares its package root), the
    group with the longest create first and the longest create first in each group: the
    long one then runs beside the other prepares instead of after them."""
    planned = []
    for selection in selections(description_dir, options, kiwi_file, profiles, types):
        try:
            build = resolve_selection(description_dir, options, config, selection, kiwi_file)
            group = package_group(build, options, config)
        except KiwiLikeError as error:
            raise KiwiLikeError(f"{selection.name}: {error}") from None
        planned.append(Planned(selection, build, group))
    cost = {p.selection: image_type_kind(p.selection.image).create_cost for p in planned}
    longest: dict[str, int] = {}
    for item in planned:
        longest[item.group] = max(longest.get(item.group, 0), cost[item.selection])
    order = sorted(longest, key=lambda group: -longest[group])  # stable: ties keep theirs
    return sorted(planned, key=lambda p: (order.index(p.group), -cost[p.selection]))
