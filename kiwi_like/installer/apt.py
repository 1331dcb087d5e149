"""Debian's apt: bootstrap with mmdebstrap, then apt-get inside the root.

Roots bootstrapped from a `custom` variant (no apt/dpkg inside, e.g. in tests
or containers) are served from the host with apt's `Dir=` options instead:
"in the chroot when the root has the package manager, from the host otherwise".
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from kiwi_like import run as runner
from kiwi_like.chroot import Bind, run_in_root
from kiwi_like.description import ResolvedBuild
from kiwi_like.description.model import Repository
from kiwi_like.errors import KiwiLikeError
from kiwi_like.installer.base import CacheStats, InstalledPackage, PackageManager
from kiwi_like.log import log
from kiwi_like.progress import Progress
from kiwi_like.rootfs import inside

MERGED_USR_HOOKS = Path("/usr/share/mmdebstrap/hooks/merged-usr")
# Build-time apt configuration lives apart from the image's own sources, and apt is
# pointed only at it: the same repository in both would conflict (Signed-By).
BUILD_DIR = "etc/apt/kiwi-like-build"
BUILD_SOURCES = f"{BUILD_DIR}/sources.list.d/build.sources"
BUILD_KEYS = f"{BUILD_DIR}/keys"
BUILD_AUTH = "etc/apt/auth.conf.d/kiwi-like-build.conf"
IMAGE_KEYS = "etc/apt/keyrings"
REPOS_IN_ROOT = "/run/kiwi-like/repos"
APT_OPTIONS = (
    "-q",
    "-y",
    "-o", "Dir::Etc::SourceList=kiwi-like-build/none.list",
    "-o", "Dir::Etc::SourceParts=kiwi-like-build/sources.list.d",
    # Status lines go into the output stream we read. Not with Dpkg::Use-Pty=0: then
    # maintainer scripts get EIO writing to stdout (seen with udev and initramfs-tools).
    "-o", "APT::Status-Fd=1",
    "-o", "APT::Sandbox::User=root",
    "-o", "Acquire::Retries=3",
    "-o", "Dpkg::Options::=--force-confdef",
    "-o", "Dpkg::Options::=--force-confold",
    # Speed: no fsync per unpacked file (a build that crashes is thrown away anyway;
    # the disk is written from the finished tree) and no translation downloads.
    "-o", "Dpkg::Options::=--force-unsafe-io",
    "-o", "Acquire::Languages=none",
)  # fmt: skip
# The same for mmdebstrap's own dpkg runs, for the bootstrap only (not left in the image).
UNSAFE_IO_CFG = "etc/dpkg/dpkg.cfg.d/kiwi-like-unsafe-io"
_STATUS = re.compile(r"^(pm|dl)status:([^:]*):([\d.]+):(.*)$")
_PLAN = re.compile(r"^(\d+) upgraded, (\d+) newly installed, (\d+) to remove")
_NOT_FOUND = re.compile(
    r"Unable to locate package (\S+)|Package '?(\S+?)'? has no installation candidate"
)


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


class AptPackageManager(PackageManager):
    def __init__(
        self,
        build: ResolvedBuild,
        root: Path,
        cache_dir: Path,
        progress: Progress,
        scratch: Path,
        variant: str = "minbase",
    ) -> None:
        super().__init__(build, root, cache_dir, progress)
        self.archives = cache_dir / "apt" / "archives"
        self.archives.mkdir(parents=True, exist_ok=True)
        self.scratch = scratch
        self.variant = variant
        self.repos = [self._apt_repo(n, r) for n, r in enumerate(build.repositories, start=1)]
        self.cache_stats = CacheStats()
        self._packages_total = 0
        self._packages_done = 0

    # -- repositories ---------------------------------------------------------------

    def _apt_repo(self, number: int, repository: Repository) -> AptRepo:
        if repository.type != "apt-deb":
            raise KiwiLikeError(
                f"repository {repository.source}: type '{repository.type}' cannot be used "
                "with the apt package manager (use apt-deb)"
            )
        alias = re.sub(r"[^A-Za-z0-9_.-]", "_", repository.alias or f"repo-{number}")
        local_dir = None
        if repository.source.startswith("dir://"):
            local_dir = Path(repository.source[len("dir://") :])
            if not local_dir.is_dir():
                raise KiwiLikeError(f"repository {alias}: directory {local_dir} does not exist")
        keys = [self._key_file(alias, key) for key in repository.signing_keys]
        keyring = self._combined_keyring(alias, keys) if keys else None
        trusted = repository.repository_gpgcheck is False
        if trusted:
            log.warning("repository %s: signature checks are turned off", alias)
        return AptRepo(alias, repository, local_dir, keyring, trusted)

    def _key_file(self, alias: str, key: str) -> Path:
        for prefix in ("file://", "dir://"):
            if key.startswith(prefix):
                key = key[len(prefix) :]
        if key.startswith("this://"):
            path = inside(self.build.description_dir, key[len("this://") :])
        else:
            path = Path(key)
        if not path.is_file():
            raise KiwiLikeError(f"repository {alias}: signing key {key} not found")
        return path

    def _download_key(self, alias: str, url: str) -> Path:
        try:
            response = requests.get(url, timeout=30)
            response.raise_for_status()
        except requests.RequestException as error:
            raise KiwiLikeError(
                f"repository {alias}: cannot download signing key {url}: {error}"
            ) from None
        path = self.scratch / "keys" / f"{alias}-{len(list(self.scratch.glob('keys/*')))}.key"
        path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        path.write_bytes(response.content)
        return path

    def _combined_keyring(self, alias: str, keys: Sequence[Path]) -> Path:
        """One binary keyring per repository (apt wants a binary .gpg or an armored .asc)."""
        keyring = self.scratch / "keys" / f"{alias}.gpg"
        keyring.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        with keyring.open("wb") as combined:
            for key in keys:
                data = key.read_bytes()
                if data.lstrip().startswith(b"-----BEGIN PGP"):
                    dearmored = self.scratch / "keys" / f"{alias}.dearmor"
                    runner.run(["gpg", "--batch", "--yes", "--dearmor", "-o", dearmored, key])
                    data = dearmored.read_bytes()
                    dearmored.unlink()
                combined.write(data)
        keyring.chmod(0o644)
        return keyring

    def _one_line(self, repo: AptRepo) -> str:
        """A sources.list line for mmdebstrap, run from the host."""
        options = []
        if repo.keyring:
            options.append(f"signed-by={repo.keyring}")
        if repo.trusted:
            options.append("trusted=yes")
        option_text = f"[{' '.join(options)}] " if options else ""
        return " ".join(
            [f"deb {option_text}{self._with_credentials(repo)}", repo.suite, *repo.components]
        )

    @staticmethod
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

    def _deb822(self, repo: AptRepo, in_root: bool, keyring: str | None) -> str:
        lines = ["Types: deb", f"URIs: {repo.uri(in_root)}", f"Suites: {repo.suite}"]
        if repo.components:
            lines.append(f"Components: {' '.join(repo.components)}")
        if keyring:
            lines.append(f"Signed-By: {keyring}")
        if repo.trusted:
            lines.append("Trusted: yes")
        return "\n".join(lines) + "\n"

    def _write_build_sources(self) -> None:
        """Point apt in the root at every build repository (removed again at the end)."""
        keys_dir = self.root / BUILD_KEYS
        keys_dir.mkdir(parents=True, exist_ok=True)
        stanzas = []
        for repo in self.repos:
            keyring = None
            if repo.keyring:
                shutil.copyfile(repo.keyring, keys_dir / repo.keyring.name)
                keyring = f"/{BUILD_KEYS}/{repo.keyring.name}"
            if not self.in_chroot:
                keyring = str(repo.keyring) if repo.keyring else None
            stanzas.append(self._deb822(repo, self.in_chroot, keyring))
        sources = self.root / BUILD_SOURCES
        sources.parent.mkdir(parents=True, exist_ok=True)
        sources.write_text("\n".join(stanzas))
        self._write_auth(self.root / BUILD_AUTH, self.repos)
        # mmdebstrap leaves its own (host-path) source lines behind.
        (self.root / "etc/apt/sources.list").unlink(missing_ok=True)

    def finalize_repositories(self) -> None:
        shutil.rmtree(self.root / BUILD_DIR, ignore_errors=True)
        (self.root / BUILD_AUTH).unlink(missing_ok=True)
        shutil.rmtree(self.root / REPOS_IN_ROOT.lstrip("/"), ignore_errors=True)
        for repo in self.repos:
            if not repo.repository.imageinclude:
                continue
            if repo.local_dir is not None:
                log.warning(
                    "repository %s is a local directory: not configured in the image", repo.alias
                )
                continue
            keyring = None
            if repo.keyring:
                keys = self.root / IMAGE_KEYS
                keys.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(repo.keyring, keys / f"{repo.alias}.gpg")
                keyring = f"/{IMAGE_KEYS}/{repo.alias}.gpg"
            target = self.root / "etc/apt/sources.list.d" / f"{repo.alias}.sources"
            target.write_text(self._deb822(repo, in_root=True, keyring=keyring))
            self._write_auth(self.root / f"etc/apt/auth.conf.d/{repo.alias}.conf", [repo])

    @staticmethod
    def _write_auth(path: Path, repos: Sequence[AptRepo]) -> None:
        """apt's netrc-style credentials; only root may read them."""
        # The scheme is written out: apt uses credentials for plain http only then.
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

    # -- running apt ------------------------------------------------------------------

    @property
    def in_chroot(self) -> bool:
        return (self.root / "usr/bin/apt-get").exists()

    def _binds(self) -> list[Bind]:
        binds = [Bind(self.archives, "/var/cache/apt/archives")]
        binds += [
            Bind(repo.local_dir, f"{REPOS_IN_ROOT}/{repo.alias}")
            for repo in self.repos
            if repo.local_dir is not None
        ]
        return binds

    def _host_apt_options(self) -> list[str]:
        root = str(self.root)
        return [
            "-o", f"Dir={root}",
            "-o", f"Dir::Cache::Archives={self.archives}",
            "-o", "Dir::Etc::TrustedParts=/etc/apt/trusted.gpg.d",
            "-o", f"DPkg::Options::=--root={root}",
            "-o", "DPkg::Options::=--force-script-chrootless",
            "-o", f"DPkg::Options::=--log={root}/var/log/dpkg.log",
            "-o", "DPkg::Chroot-Directory=",
        ]  # fmt: skip

    def _apt(self, *arguments: str, progress: bool = False) -> runner.Result:
        if not (self.root / BUILD_SOURCES).exists():
            self._write_build_sources()  # a reused or updated root had them removed
        on_line = self._progress_line if progress else None
        try:
            if self.in_chroot:
                return run_in_root(
                    self.root,
                    ["apt-get", *APT_OPTIONS, *arguments],
                    binds=self._binds(),
                    env={"INITRD": "No"},
                    on_line=on_line,
                )
            # contained: apt starts dpkg in a pty session of its own
            argv = ["apt-get", *APT_OPTIONS, *self._host_apt_options(), *arguments]
            return runner.run(
                runner.contained(argv),
                env={"DEBIAN_FRONTEND": "noninteractive", "DPKG_ROOT": str(self.root)},
                on_line=on_line,
                display=argv,
            )
        except runner.CommandError as error:
            raise self._explain(error) from None
        finally:
            self.progress.finish()

    def _progress_line(self, line: str) -> None:
        """apt's status lines: downloads by file, then packages done out of the plan."""
        plan = _PLAN.match(line)
        if plan:
            self._packages_total = sum(int(n) for n in plan.groups())
            self._packages_done = 0
            return
        status = _STATUS.match(line)
        if not status:
            return
        kind, _package, percent, what = status.groups()
        if kind == "pm" and self._packages_total:
            if what.startswith(("Installed ", "Removed ", "Completely removed ")):
                self._packages_done += 1
            self.progress.update(self._packages_done, self._packages_total, what)
        else:
            self.progress.update(int(float(percent)), 100, what)

    def _explain(self, error: runner.CommandError) -> KiwiLikeError:
        """Turn apt's typical failures into one clear sentence."""
        text = "\n".join(error.tail)
        missing = [a or b for a, b in _NOT_FOUND.findall(text)]
        if missing:
            return KiwiLikeError(f"package not found in the repositories: {', '.join(missing)}")
        denied = re.search(r"Failed to fetch (\S+)\s+(40[137])\s+(\w+)", text)
        if denied:
            return KiwiLikeError(
                f"repository refused access: {denied.group(1)}: {denied.group(2)} "
                f"{denied.group(3)} (check the repository's username and password)"
            )
        unsigned = re.search(r"NO_PUBKEY (\S+)|repository '([^']+)' is not signed", text)
        if unsigned:
            return KiwiLikeError(
                f"repository signature check failed ({unsigned.group(0)}): give the repository's "
                'key with <signing key=...> or, knowing the risk, repository_gpgcheck="false"'
            )
        failed = re.search(r"Failed to fetch (\S+)\s+(.*)", text) or re.search(
            r"Err:\d+ (\S+ \S+).*\n\s*(.*)", text
        )
        if failed:
            return KiwiLikeError(
                f"repository unreachable: {failed.group(1)}: {failed.group(2).strip()}"
            )
        return error

    def _count_downloads(self, before: set[str], installed: int) -> None:
        after = {p.name for p in self.archives.glob("*.deb")}
        new = len(after - before)
        self.cache_stats = self.cache_stats.add(new, installed)
        log.info(
            "package cache %s: %d packages downloaded, %d reused",
            self.archives,
            new,
            max(0, installed - new),
        )

    def _installed_count(self) -> int:
        status = self.root / "var/lib/dpkg/status"
        if not status.is_file():
            return 0
        return sum(
            1
            for line in status.read_text(errors="replace").splitlines()
            if line == "Status: install ok installed"
        )

    # -- the root cache -----------------------------------------------------------------

    def metadata_fingerprint(self) -> dict[str, str] | None:
        """sha256 of each repository's InRelease (or Release) file and of its keyring."""
        fingerprint: dict[str, str] = {}
        for repo in self.repos:
            data = self._release_file(repo)
            if data is None:
                log.info("Root cache: no Release file for repository %s, not caching", repo.alias)
                return None
            fingerprint[repo.alias] = hashlib.sha256(data).hexdigest()
            if repo.keyring is not None:
                key = hashlib.sha256(repo.keyring.read_bytes()).hexdigest()
                fingerprint[repo.alias + ":key"] = key
        return fingerprint

    def _release_file(self, repo: AptRepo) -> bytes | None:
        directory = repo.suite if repo.suite == "./" else f"dists/{repo.suite}/"
        for name in ("InRelease", "Release"):
            if repo.local_dir is not None:
                path = repo.local_dir / directory / name
                if path.is_file():
                    return path.read_bytes()
                continue
            url = f"{repo.repository.source.rstrip('/')}/{directory.removeprefix('./')}{name}"
            try:
                response = requests.get(url, timeout=30, auth=self._auth(repo))
            except requests.RequestException:
                return None
            if response.status_code == 200:
                return response.content
        return None

    @staticmethod
    def _auth(repo: AptRepo) -> tuple[str, str] | None:
        username, password = repo.repository.username, repo.repository.password
        return (username, password) if username and password else None

    def private_files(self) -> tuple[str, ...]:
        return (BUILD_AUTH,)

    def restored(self) -> None:
        """Build sources name this build's keyrings (in its scratch directory): write anew."""
        self._write_build_sources()

    # -- the interface ----------------------------------------------------------------

    def bootstrap(self, packages: Sequence[str]) -> None:
        before = {p.name for p in self.archives.glob("*.deb")}
        suite = next((r.suite for r in self.repos if r.suite != "./"), "")
        archives = str(self.archives)
        command = [
            "unshare", "--mount", "--propagation", "private", "--",
            "mmdebstrap",
            f"--mode={'chrootless' if self.variant == 'custom' else 'root'}",
            f"--variant={self.variant}",
            "--skip=essential/unlink",
            # The package lists stay for the image packages' `apt-get update` (it then
            # only checks them); the package manager cleanup step removes them.
            "--skip=cleanup/apt/lists",
            "--setup-hook=mkdir -p \"$1\"/var/cache/apt/archives/",
            f"--setup-hook=sync-in {archives} /var/cache/apt/archives/",
            f"--customize-hook=sync-out /var/cache/apt/archives {archives}",
            "--aptopt=Acquire::Retries \"3\"",
            "--setup-hook=mkdir -p \"$1\"/etc/dpkg/dpkg.cfg.d && "
            f'echo force-unsafe-io > "$1"/{UNSAFE_IO_CFG}',
            f'--customize-hook=rm -f "$1"/{UNSAFE_IO_CFG}',
            f"--architectures={_deb_arch(self.build.arch)}",
        ]  # fmt: skip
        if packages:
            command.append(f"--include={','.join(packages)}")
        if self.variant != "custom" and MERGED_USR_HOOKS.is_dir():
            # The hooks' own temp files go into the target, not the host's /tmp.
            command += [
                f'--setup-hook=TMPDIR="$1/tmp" {MERGED_USR_HOOKS}/setup00.sh "$1"',
                f'--essential-hook={MERGED_USR_HOOKS}/essential00.sh "$1"',
            ]
        command += [suite, str(self.root), *(self._one_line(repo) for repo in self.repos)]
        log.info("Bootstrapping %s (%s) with mmdebstrap", suite or "custom", self.variant)
        try:
            runner.run(command, on_line=self._mmdebstrap_progress)
        except runner.CommandError as error:
            raise self._explain(error) from None
        finally:
            self.progress.finish()
        self._count_downloads(before, self._installed_count())
        self._forget_host_files()
        self._write_build_sources()

    def _forget_host_files(self) -> None:
        """mmdebstrap copies the build host's resolv.conf and hostname: not for the image."""
        for name in ("etc/resolv.conf", "etc/hostname"):
            copied, original = self.root / name, Path("/") / name
            is_copy = copied.is_file() and not copied.is_symlink() and original.is_file()
            if is_copy and copied.read_bytes() == original.read_bytes():
                copied.unlink()

    def _mmdebstrap_progress(self, line: str) -> None:
        if line.startswith("I: "):
            log.info("  %s", line[3:])

    def install(self, packages: Sequence[str], collections: Sequence[str] = ()) -> None:
        if not packages:
            return
        before = {p.name for p in self.archives.glob("*.deb")}
        installed_before = self._installed_count()
        self._apt("update")
        self._apt("install", "--no-install-recommends", *packages, progress=True)
        self._count_downloads(before, self._installed_count() - installed_before)

    def update(self) -> None:
        self._apt("update")
        self._apt("dist-upgrade", progress=True)

    def delete(self, packages: Sequence[str]) -> None:
        if not packages:
            return
        arguments = ["--purge", "--force-depends", "--force-remove-essential", *packages]
        if self.in_chroot:
            run_in_root(self.root, ["dpkg", *arguments])
        else:
            runner.run(
                ["dpkg", f"--root={self.root}", "--force-script-chrootless", *arguments],
                env={"DPKG_ROOT": str(self.root)},
            )

    def uninstall(self, packages: Sequence[str]) -> None:
        if packages:
            self._apt("purge", "--auto-remove", *packages, progress=True)

    def installed(self) -> list[InstalledPackage]:
        output = runner.stdout_of(
            [
                "dpkg-query", f"--admindir={self.root}/var/lib/dpkg", "-W",
                "-f", "${db:Status-Abbrev}|${Package}|${Version}|${Architecture}\n",
            ]
        )  # fmt: skip
        packages = []
        for line in output.splitlines():
            status, name, version, arch = line.split("|")
            if status.startswith("ii"):
                packages.append(InstalledPackage(name=name, version=version, arch=arch))
        return sorted(packages, key=lambda p: p.name)

    def verify(self) -> str:
        return runner.stdout_of(
            ["dpkg", f"--root={self.root}", "--verify", "--verify-format", "rpm"], check=False
        )

    def clean(self) -> None:
        for pattern in (
            "var/cache/apt/archives/*.deb",
            "var/cache/apt/*.bin",
            "var/lib/apt/lists/*",
        ):
            for path in self.root.glob(pattern):
                if path.is_file() or path.is_symlink():
                    path.unlink()
                elif path.is_dir() and path.name != "partial":
                    shutil.rmtree(path)


def _deb_arch(arch: str) -> str:
    return {"x86_64": "amd64", "aarch64": "arm64", "i686": "i386", "ppc64le": "ppc64el"}.get(
        arch, arch
    )
