"""Stage 1: from a description directory to one resolved, immutable build."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from kiwi_like.description.locate import find_description_file
from kiwi_like.description.overrides import BuildOptions
from kiwi_like.description.parse import load_description
from kiwi_like.description.resolve import ResolvedBuild, resolve
from kiwi_like.log import log
from kiwi_like.redaction import register
from kiwi_like.runtime_config import RuntimeConfig

__all__ = ["BuildOptions", "ResolvedBuild", "load_build"]


def load_build(
    description_dir: str | Path,
    options: BuildOptions,
    config: RuntimeConfig,
    kiwi_file: str | None = None,
) -> ResolvedBuild:
    path = find_description_file(description_dir, kiwi_file)
    log.info("Loading description %s", path)
    description = load_description(path)
    for warning in description.warnings:
        log.warning(warning)
    build = resolve(description, options, config)
    _register_secrets(build)
    log.info(
        "Selected type %s, profiles: %s", build.build_type.image, ", ".join(build.profiles) or "-"
    )
    return build


def _register_secrets(build: ResolvedBuild) -> None:
    """Every password of the description (all profiles) and of the command line."""
    repositories = (*build.description.repositories, *build.repositories)
    for repository in repositories:
        register(repository.password)
        for source in (repository.source, repository.original_source or ""):
            try:
                register(urlsplit(source).password)
            except ValueError:
                continue  # not a URL; the description layer reports it
    for section in build.description.users:
        for user in section.users:
            register(user.password)
