"""Stage 1: from a description directory to one resolved, immutable build."""

from __future__ import annotations

from pathlib import Path

from kiwi_like.description.locate import find_description_file
from kiwi_like.description.overrides import BuildOptions
from kiwi_like.description.parse import load_description
from kiwi_like.description.resolve import ResolvedBuild, resolve
from kiwi_like.log import log
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
    log.info(
        "Selected type %s, profiles: %s", build.build_type.image, ", ".join(build.profiles) or "-"
    )
    return build
