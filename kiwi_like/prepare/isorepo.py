"""`iso://` repositories: the ISO's tree is read with xorriso (osirrox), never mounted.

At prepare time each `iso:///path/to/image.iso` source is extracted into the build's
scratch directory and handed to the package manager as that `dir://` directory, which
is removed with the scratch directory at the end. `image info` never opens the ISO.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from kiwi_like import run as runner
from kiwi_like.description import ResolvedBuild
from kiwi_like.description.model import Repository
from kiwi_like.description.uri import ISO
from kiwi_like.errors import KiwiLikeError
from kiwi_like.log import log


def unpack_iso_repositories(build: ResolvedBuild, scratch: Path) -> ResolvedBuild:
    """The build with every `iso://` repository replaced by its extracted tree."""
    if not any(r.source.startswith(ISO) for r in build.repositories):
        return build
    repositories = tuple(
        _unpacked(repository, scratch / "iso-repositories" / str(number))
        if repository.source.startswith(ISO)
        else repository
        for number, repository in enumerate(build.repositories, start=1)
    )
    return replace(build, repositories=repositories)


def _unpacked(repository: Repository, target: Path) -> Repository:
    image = Path(repository.source[len(ISO) :])
    if not image.is_file():
        raise KiwiLikeError(
            f"repository {repository.alias or repository.original_source}: "
            f"ISO image {image} not found"
        )
    log.info("Reading the repository in %s with xorriso", image)
    target.mkdir(parents=True)
    runner.run(
        ["xorriso", "-abort_on", "FAILURE", "-osirrox", "on", "-indev", image,
         "-extract", "/", target]
    )  # fmt: skip
    _writable_directories(target)
    return replace(repository, source=f"dir://{target}")


def _writable_directories(tree: Path) -> None:
    """xorriso keeps the ISO's read-only modes: let the scratch directory's removal in."""
    for directory, _, _ in os.walk(tree):
        mode = os.stat(directory).st_mode
        os.chmod(directory, mode | 0o700)
