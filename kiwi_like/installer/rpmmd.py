"""Repositories for zypper and dnf: kiwi's <repository> as a .repo file section.

Both read the same INI format; each adapter adds its own keys. Credentials go
only into files (mode 0600), never on a command line or into the log.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from kiwi_like.description import ResolvedBuild
from kiwi_like.description.model import Repository
from kiwi_like.description.packagemanagers import PackageManagerKind
from kiwi_like.description.uri import redact
from kiwi_like.errors import KiwiLikeError
from kiwi_like.installer.aliases import safe_aliases
from kiwi_like.log import log
from kiwi_like.rootfs import inside

REMOTE_KEY = re.compile(r"^(https?|ftp)://")


@dataclass(frozen=True)
class RpmRepo:
    alias: str
    repository: Repository
    local_dir: Path | None  # for dir:// repositories
    local_keys: tuple[Path, ...]  # imported into the rpm database
    remote_keys: tuple[str, ...]  # handed to zypper/dnf as gpgkey URLs

    @property
    def type(self) -> str:
        return self.repository.type

    @property
    def shown(self) -> str:
        """The source as logs and errors may show it."""
        return redact(self.repository.source)

    def url(self, local_scheme: str, credentials: bool) -> str:
        """The base URL; credentials in the user-info part only when asked for."""
        if self.local_dir is not None:
            return f"{local_scheme}://{self.local_dir}"
        source = self.repository.source
        username, password = self.repository.username, self.repository.password
        if not (credentials and username and password):
            return source
        parts = urlsplit(source)
        host = parts.netloc.rsplit("@", 1)[-1]
        netloc = f"{quote(username, safe='')}:{quote(password, safe='')}@{host}"
        return urlunsplit(parts._replace(netloc=netloc))

    def package_gpgcheck(self, check_signatures: bool) -> bool:
        if not check_signatures:
            return False
        return self.repository.package_gpgcheck is not False

    @property
    def repository_gpgcheck(self) -> bool:
        return self.repository.repository_gpgcheck is not False

    @property
    def has_credentials(self) -> bool:
        return bool(self.repository.username and self.repository.password)


def image_repos(repos: list[RpmRepo]) -> list[RpmRepo]:
    """The imageinclude/imageonly repositories the image can use (not a build host directory)."""
    wanted = []
    for repo in repos:
        if repo.repository.imageinclude or repo.repository.imageonly:
            if repo.local_dir is not None:
                log.warning("repository %s is a local directory: not in the image", repo.alias)
            else:
                wanted.append(repo)
    return wanted


def rpm_repos(build: ResolvedBuild, kind: PackageManagerKind) -> list[RpmRepo]:
    aliases = safe_aliases(build.repositories)
    return [_rpm_repo(build, kind, a, r) for a, r in zip(aliases, build.repositories, strict=True)]


def _rpm_repo(
    build: ResolvedBuild, kind: PackageManagerKind, alias: str, repository: Repository
) -> RpmRepo:
    kind.check_repository_type(alias, repository.type)
    local_dir = None
    if repository.source.startswith("dir://"):
        local_dir = Path(repository.source[len("dir://") :])
        if not local_dir.is_dir():
            raise KiwiLikeError(f"repository {alias}: directory {local_dir} does not exist")
    local_keys: list[Path] = []
    remote_keys: list[str] = []
    for key in repository.signing_keys:
        if REMOTE_KEY.match(key):
            remote_keys.append(key)
        else:
            local_keys.append(_key_file(build, alias, key))
    return RpmRepo(alias, repository, local_dir, tuple(local_keys), tuple(remote_keys))


def _key_file(build: ResolvedBuild, alias: str, key: str) -> Path:
    for prefix in ("file://", "dir://"):
        if key.startswith(prefix):
            key = key[len(prefix) :]
    path = inside(build.description_dir, key[7:]) if key.startswith("this://") else Path(key)
    if not path.is_file():
        raise KiwiLikeError(f"repository {alias}: signing key {key} not found")
    return path.resolve()


def ini_section(alias: str, values: Mapping[str, str | int | bool | None]) -> str:
    lines = [f"[{alias}]"]
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = int(value)
        lines.append(f"{key}={value}")
    return "\n".join(lines) + "\n"


def write_private(path: Path, text: str) -> None:
    """A file only root may read (it may hold credentials)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(text)
