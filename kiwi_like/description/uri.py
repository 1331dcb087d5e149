"""Translate repository source URIs into what a package manager can use (kiwi's rules).

Nothing here touches the network: `image info` shows what a source becomes without
reaching it, and a source that cannot be used is refused when a build starts.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from kiwi_like import buildservice, redaction
from kiwi_like.buildservice import Worker
from kiwi_like.description.model import Repository
from kiwi_like.errors import DescriptionError
from kiwi_like.runtime_config import OBS_DOWNLOAD_URL

HOST_SOURCES = "host://"
OBS_REPOSITORIES = "obsrepositories:"
ISO = "iso://"
REMOTE_SCHEMES = ("http", "https", "ftp")


def translate(
    source: str,
    description_dir: Path,
    obs_download_url: str | None,
    worker: Worker | None = None,
) -> str:
    """Return the source as a remote URL, a `dir://` or an `iso://` absolute path.

    `obs_download_url` is the runtime config's (kiwi's default server if None);
    `worker` is the build-service worker the build runs in, if any.
    """
    if source.startswith(OBS_REPOSITORIES):
        raise DescriptionError(obs_repositories_refusal(source, worker))
    if source.startswith("/"):
        return "dir://" + os.path.normpath(source)
    scheme = source.split("://", 1)[0] if "://" in source else ""
    rest = source[len(scheme) + 3 :]
    if scheme in REMOTE_SCHEMES:
        if not urlsplit(source).netloc:
            raise DescriptionError(f"repository source '{redact(source)}' has no host name")
        return source
    if scheme in ("file", "dir", "iso"):
        if not rest.startswith("/"):
            raise DescriptionError(f"repository source '{source}' must be an absolute path")
        return f"{'iso' if scheme == 'iso' else 'dir'}://{os.path.normpath(rest)}"
    if scheme == "this":
        return "dir://" + str((description_dir / rest).resolve())
    if scheme == "obs":
        name = obs_name(rest)
        if worker is not None:
            return f"dir://{worker.repository(name)}"
        return obs_download_link(name, obs_download_url or OBS_DOWNLOAD_URL)
    raise DescriptionError(
        f"repository source '{redact(source)}': unsupported URI scheme "
        "(use http, https, ftp, file, dir, this, obs, obsrepositories, iso, host "
        "or an absolute path)"
    )


def obs_name(rest: str) -> str:
    """`Project:Sub/repo` from what follows `obs://` (kiwi writes `:/` as `:` first;
    a query or fragment is not part of the name)."""
    return rest.split("#", 1)[0].split("?", 1)[0].replace(":/", ":").strip("/")


def obs_download_link(name: str, download_url: str) -> str:
    """kiwi's link: the project's `:` become `:/`, the repository (last part) stays."""
    project, _, repository = name.rpartition("/")
    parts = [download_url.rstrip("/"), project.replace(":", ":/"), repository]
    return "/".join(part for part in parts if part)


def obs_repositories_refusal(source: str, worker: Worker | None) -> str:
    """Why an `obsrepositories:/` source cannot be built from, in one line."""
    if worker is None:
        return (
            f"repository source '{source}' stands for the repositories of an Open Build "
            f"Service worker and this is not one (no /{buildservice.BUILDENV}): "
            "use --ignore-repos --add-repo=<source> to build here"
        )
    return (
        f"repository source '{source}': the build service worker has no repositories "
        f"in {worker.repos_dir}"
    )


def refuse_unbuildable(repositories: Sequence[Repository], file: str | None = None) -> None:
    """Refuse, before a build starts, a source only `image info` can show.

    That is `obsrepositories:/` outside a build-service worker (or in a worker without
    repositories), which `image info` shows as written, and an `iso://` image that is
    not there.
    """
    for repository in repositories:
        reason = None
        if repository.source.startswith(OBS_REPOSITORIES):
            reason = obs_repositories_refusal(repository.source, buildservice.worker())
        elif repository.source.startswith(ISO):
            image = Path(repository.source[len(ISO) :])
            if not image.is_file():
                written = repository.original_source or repository.source
                reason = f"repository source '{written}': {image} not found"
        if reason:
            raise DescriptionError(reason, file=file, line=repository.line)


def repositories_of(
    repository: Repository,
    description_dir: Path,
    obs_download_url: str | None,
    worker: Worker | None,
) -> list[Repository]:
    """What one `<repository>` becomes: itself with its source translated, or, for
    `obsrepositories:/` in a worker, one repository per directory of the worker.

    Outside a worker `obsrepositories:/` stays as written (`image info` shows it;
    `refuse_unbuildable` stops a build). In a worker its repositories and those of
    `obs://` are the worker's own: trusted unless the description says otherwise.
    """
    source = repository.source
    if source.startswith(OBS_REPOSITORIES):
        if worker is None:
            return [repository]
        name = obs_name(source[len(OBS_REPOSITORIES) :])
        directories = [worker.repository(name)] if name else worker.repositories()
        if not directories:
            return [repository]
        return [
            _in_worker(
                repository,
                directory,
                alias=None if name else f"{repository.alias or 'obsrepositories'}-{number}",
            )
            for number, directory in enumerate(directories, start=1)
        ]
    translated = translate(source, description_dir, obs_download_url, worker)
    if worker is not None and source.startswith("obs://"):
        return [_in_worker(repository, Path(translated[len("dir://") :]))]
    return [replace(repository, source=translated)]


def _in_worker(repository: Repository, directory: Path, alias: str | None = None) -> Repository:
    """A repository of the worker: a flat one, or `dists/<distribution>` where the
    worker made that too; no signature required unless the description asks for one."""
    distribution = repository.distribution
    components = repository.components
    if distribution and not any(
        (directory / "dists" / distribution / name).is_file() for name in ("InRelease", "Release")
    ):
        distribution, components = None, ()
    elif distribution and not components:
        components = ("main",)
    gpgcheck = repository.repository_gpgcheck
    if gpgcheck is None and not repository.signing_keys:
        gpgcheck = False
    return replace(
        repository,
        source=f"dir://{directory}",
        alias=alias or repository.alias,
        distribution=distribution,
        components=components,
        repository_gpgcheck=gpgcheck,
    )


def redact(uri: str) -> str:
    """Hide a password given in a URI's user-info part (the rule every log line follows)."""
    return redaction.redact(uri)
