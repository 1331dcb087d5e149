"""apt's view of the build's repositories: sources, keyrings and credentials.

Build-time apt configuration lives apart from the image's own sources, and apt
is pointed only at it: the same repository in both would conflict (Signed-By).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from kiwi_like import run as runner
from kiwi_like.description import ResolvedBuild
from kiwi_like.description.model import Repository
from kiwi_like.description.packagemanagers.apt import KIND
from kiwi_like.errors import KiwiLikeError
from kiwi_like.installer.aliases import safe_aliases
from kiwi_like.log import log
from kiwi_like.rootfs import inside

BUILD_DIR = "etc/apt/kiwi-like-build"
BUILD_SOURCES = f"{BUILD_DIR}/sources.list.d/build.sources"
BUILD_KEYS = f"{BUILD_DIR}/keys"
BUILD_AUTH = "etc/apt/auth.conf.d/kiwi-like-build.conf"
IMAGE_KEYS = "etc/apt/keyrings"
REPOS_IN_ROOT = "/run/kiwi-like/repos"


@dataclass(frozen=True)
class AptRepo:
    """A repository as apt sees it, with its keyring prepared on the host."""

    alias: str
    repository: Repository
    local_dir: Path | None  # for dir:// repositories
    keyring: Path | None  # combined binary keyring in the scratch directory
    trusted: bool

    @property
    def suite(self) -> str:
        return self.repository.distribution or "./"

    @property
    def components(self) -> tuple[str, ...]:
        return self.repository.components if self.repository.distribution else ()

    def uri(self, in_root: bool) -> str:
        if self.local_dir is None:
            return self.repository.source
        if in_root:
            return f"file:{REPOS_IN_ROOT}/{self.alias}"
        return f"copy://{self.local_dir}"


def apt_repos(build: ResolvedBuild, scratch: Path) -> list[AptRepo]:
    """The build's repositories, keyrings made in `scratch`."""
    aliases = safe_aliases(build.repositories)
    return [
        _apt_repo(build, scratch, alias, repository)
        for alias, repository in zip(aliases, build.repositories, strict=True)
    ]


def _apt_repo(build: ResolvedBuild, scratch: Path, alias: str, repository: Repository) -> AptRepo:
    KIND.check_repository_type(alias, repository.type)
    local_dir = None
    if repository.source.startswith("dir://"):
        local_dir = Path(repository.source[len("dir://") :])
        if not local_dir.is_dir():
            raise KiwiLikeError(f"repository {alias}: directory {local_dir} does not exist")
    keys = [_key_file(build, alias, key) for key in repository.signing_keys]
    keyring = _combined_keyring(scratch, alias, keys) if keys else None
    trusted = repository.repository_gpgcheck is False
    if trusted:
        log.warning("repository %s: signature checks are turned off", alias)
    return AptRepo(alias, repository, local_dir, keyring, trusted)


def _key_file(build: ResolvedBuild, alias: str, key: str) -> Path:
    for prefix in ("file://", "dir://"):
        if key.startswith(prefix):
            key = key[len(prefix) :]
    if key.startswith("this://"):
        path = inside(build.description_dir, key[len("this://") :])
    else:
        path = Path(key)
    if not path.is_file():
        raise KiwiLikeError(f"repository {alias}: signing key {key} not found")
    return path


def _combined_keyring(scratch: Path, alias: str, keys: Sequence[Path]) -> Path:
    """One binary keyring per repository (apt wants a binary .gpg or an armored .asc)."""
    keyring = scratch / "keys" / f"{alias}.gpg"
    keyring.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    with keyring.open("wb") as combined:
        for key in keys:
            data = key.read_bytes()
            if data.lstrip().startswith(b"-----BEGIN PGP"):
                dearmored = scratch / "keys" / f"{alias}.dearmor"
                # gpg would otherwise create (and lock) the builder's ~/.gnupg
                home = scratch / "gnupg"
                home.mkdir(mode=0o700, exist_ok=True)
                runner.run(["gpg", "--homedir", home, "--batch", "--yes", "--dearmor",
                            "-o", dearmored, key])  # fmt: skip
                data = dearmored.read_bytes()
                dearmored.unlink()
            combined.write(data)
    keyring.chmod(0o644)
    return keyring


def one_line(repo: AptRepo) -> str:
    """A sources.list line for mmdebstrap, run from the host."""
    options = []
    if repo.keyring:
        options.append(f"signed-by={repo.keyring}")
    if repo.trusted:
        options.append("trusted=yes")
    option_text = f"[{' '.join(options)}] " if options else ""
    return " ".join([f"deb {option_text}{_with_credentials(repo)}", repo.suite, *repo.components])


def _with_credentials(repo: AptRepo) -> str:
    """mmdebstrap's apt sees no auth.conf of ours: give it the credentials in the URI.

    The password is a registered secret, so the command line is logged masked.
    """
    uri = repo.uri(in_root=False)
    user, password = repo.repository.username, repo.repository.password
    parts = urlsplit(uri)
    if repo.local_dir is not None or not (user and password) or parts.username:
        return uri
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{parts.netloc}"
    return urlunsplit(parts._replace(netloc=netloc))


def deb822(repo: AptRepo, in_root: bool, keyring: str | None) -> str:
    lines = ["Types: deb", f"URIs: {repo.uri(in_root)}", f"Suites: {repo.suite}"]
    if repo.components:
        lines.append(f"Components: {' '.join(repo.components)}")
    if keyring:
        lines.append(f"Signed-By: {keyring}")
    if repo.trusted:
        lines.append("Trusted: yes")
    return "\n".join(lines) + "\n"


def write_build_sources(root: Path, repos: Sequence[AptRepo], in_chroot: bool) -> None:
    """Point apt in the root at every build repository (removed again at the end)."""
    keys_dir = root / BUILD_KEYS
    keys_dir.mkdir(parents=True, exist_ok=True)
    stanzas = []
    for repo in repos:
        keyring = None
        if repo.keyring:
            shutil.copyfile(repo.keyring, keys_dir / repo.keyring.name)
            keyring = f"/{BUILD_KEYS}/{repo.keyring.name}"
        if not in_chroot:
            keyring = str(repo.keyring) if repo.keyring else None
        stanzas.append(deb822(repo, in_chroot, keyring))
    sources = root / BUILD_SOURCES
    sources.parent.mkdir(parents=True, exist_ok=True)
    sources.write_text("\n".join(stanzas))
    write_auth(root / BUILD_AUTH, repos)
    # mmdebstrap leaves its own (host-path) source lines behind.
    (root / "etc/apt/sources.list").unlink(missing_ok=True)


def write_image_sources(root: Path, repos: Sequence[AptRepo]) -> None:
    """Leave only the imageinclude repositories configured in the image."""
    shutil.rmtree(root / BUILD_DIR, ignore_errors=True)
    (root / BUILD_AUTH).unlink(missing_ok=True)
    shutil.rmtree(root / REPOS_IN_ROOT.lstrip("/"), ignore_errors=True)
    for repo in repos:
        if not repo.repository.imageinclude:
            continue
        if repo.local_dir is not None:
            log.warning(
                "repository %s is a local directory: not configured in the image", repo.alias
            )
            continue
        keyring = None
        if repo.keyring:
            keys = root / IMAGE_KEYS
            keys.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(repo.keyring, keys / f"{repo.alias}.gpg")
            keyring = f"/{IMAGE_KEYS}/{repo.alias}.gpg"
        target = root / "etc/apt/sources.list.d" / f"{repo.alias}.sources"
        target.write_text(deb822(repo, in_root=True, keyring=keyring))
        write_auth(root / f"etc/apt/auth.conf.d/{repo.alias}.conf", [repo])


def write_auth(path: Path, repos: Sequence[AptRepo]) -> None:
    """apt's netrc-style credentials; only root may read them."""
    # The scheme is written out: apt uses credentials for plain http only then.
    for repo in repos:
        if any(re.search(r"\s", value or "") for value in (repo.repository.username,
                                                          repo.repository.password)):  # fmt: skip
            # auth.conf is netrc: a space would end the password and start a new token
            raise KiwiLikeError(
                f"repository {repo.alias}: apt cannot use a user name or password with white space"
            )
    entries = [
        f"machine {urlsplit(r.repository.source).scheme}://"
        f"{urlsplit(r.repository.source).netloc.rsplit('@', 1)[-1]}"
        f"{urlsplit(r.repository.source).path} "
        f"login {r.repository.username} password {r.repository.password}\n"
        for r in repos
        if r.repository.username and r.repository.password and r.local_dir is None
    ]
    if not entries:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text("".join(entries))


def release_file(repo: AptRepo) -> bytes | None:
    """The repository's InRelease (or Release) file; None if it cannot be had."""
    directory = repo.suite if repo.suite == "./" else f"dists/{repo.suite}/"
    for name in ("InRelease", "Release"):
        if repo.local_dir is not None:
            path = repo.local_dir / directory / name
            if path.is_file():
                return path.read_bytes()
            continue
        url = f"{repo.repository.source.rstrip('/')}/{directory.removeprefix('./')}{name}"
        try:
            response = requests.get(url, timeout=30, auth=_auth(repo))
        except requests.RequestException:
            return None
        if response.status_code == 200:
            return response.content
    return None


def _auth(repo: AptRepo) -> tuple[str, str] | None:
    username, password = repo.repository.username, repo.repository.password
    return (username, password) if username and password else None


def _same_uri(uri: str) -> str:
    """A URI as apt prints it and as written compare equal: copy:///x is copy:/x/, and
    apt leaves out the user-info part (credentials)."""
    uri = re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/]*@", r"\1", uri)
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*):/*", r"\1:/", uri).rstrip("/")


def unread_repositories(repos: Sequence[AptRepo], lines: Sequence[str], in_root: bool) -> list[str]:
    """The aliases of `repos` whose URI is not among apt's `indextargets` REPO_URI lines."""
    read = {_same_uri(line.strip()) for line in lines if line.strip()}
    return [repo.alias for repo in repos if _same_uri(repo.uri(in_root)) not in read]
