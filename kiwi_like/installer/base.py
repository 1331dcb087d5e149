"""The interface every package-manager adapter implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from kiwi_like.description import ResolvedBuild
from kiwi_like.description.packagemanagers import PackageManagerKind
from kiwi_like.progress import Progress
from kiwi_like.runtime_config import RuntimeConfig

# What to do when a package manager reports a failed signature check (dnf, pacman)
SIGNATURE_ADVICE = (
    "signature check failed (an unsigned package or repository, or an unknown key): give "
    'the key with <signing key=...> or, knowing the risk, package_gpgcheck="false" / '
    'repository_gpgcheck="false"'
)


@dataclass(frozen=True)
class InstalledPackage:
    """One line of kiwi's .packages file: name|epoch|version|release|arch|disturl|license."""

    name: str
    version: str
    arch: str | None  # None where kiwi writes none (pacman)
    epoch: str | None = None
    release: str | None = None
    disturl: str | None = None
    license: str | None = None

    def kiwi_line(self) -> str:
        fields = (
            self.name,
            self.epoch,
            self.version,
            self.release,
            self.arch,
            self.disturl,
            self.license,
        )
        return "|".join("None" if value is None else value for value in fields)


@dataclass(frozen=True)
class CacheStats:
    """Packages fetched from the repositories vs taken from the shared package cache."""

    downloads: int = 0
    reused: int = 0

    def add(self, downloads: int, installed: int) -> CacheStats:
        return CacheStats(self.downloads + downloads, self.reused + max(0, installed - downloads))


class PackageManager(ABC):
    """Installs packages into one image root for one resolved build.

    Every adapter is made as `Adapter(build, root, scratch, config, progress)`.
    """

    # The descriptor of the manager this adapter runs (its facts live there).
    kind: ClassVar[PackageManagerKind]

    def __init__(
        self,
        build: ResolvedBuild,
        root: Path,
        scratch: Path,
        config: RuntimeConfig,
        progress: Progress,
    ) -> None:
        self.build = build
        self.root = root
        self.scratch = scratch
        self.config = config
        self.progress = progress
        # This manager's part of the shared cache (what --clear-cache removes)
        self.package_cache = config.shared_cache_dir / self.kind.package_cache
        self.cache_stats = CacheStats()
        self._setup()

    @abstractmethod
    def _setup(self) -> None:
        """What an adapter sets up beyond the common state (directories, repositories)."""

    @property
    def supports_collections(self) -> bool:
        """Whether install() understands namedCollection names (patterns, groups)."""
        return self.kind.supports_collections

    def metadata_fingerprint(self) -> dict[str, str] | None:
        """The state of every repository's metadata and keys, for the root cache.

        None: this adapter cannot tell, so its roots are not cached.
        """
        return None

    def private_files(self) -> tuple[str, ...]:
        """Root-relative files with secrets (credentials) the root cache must not keep."""
        return ()

    def restored(self) -> None:
        """The root was just copied from the root cache: redo per-build state in it."""
        return None

    @property
    def one_pass(self) -> bool:
        """Whether bootstrap_with_image() installs the bootstrap and the image packages in
        one resolver run, instead of bootstrap() and a second run inside the root."""
        return False

    def bootstrap_with_image(self, packages: Sequence[str], image: Sequence[str]) -> None:
        """bootstrap() and install(image) in one run (only where one_pass is true)."""
        raise NotImplementedError(f"{type(self).__name__} has no one-pass bootstrap")

    @abstractmethod
    def bootstrap(self, packages: Sequence[str]) -> None:
        """Create a minimal system in the empty root."""

    @abstractmethod
    def install(self, packages: Sequence[str], collections: Sequence[str] = ()) -> None:
        """Install packages (with dependencies) into the bootstrapped root.

        `collections` are namedCollection names, given only if supports_collections.
        """

    @abstractmethod
    def delete(self, packages: Sequence[str]) -> None:
        """Remove packages forcibly, ignoring what depends on them (kiwi's type="delete")."""

    @abstractmethod
    def uninstall(self, packages: Sequence[str]) -> None:
        """Remove packages and what they alone pulled in (kiwi's type="uninstall")."""

    @abstractmethod
    def update(self) -> None:
        """Bring every installed package up to date."""

    @abstractmethod
    def installed(self) -> list[InstalledPackage]:
        """What is installed in the root, sorted by name."""

    @abstractmethod
    def verify(self) -> str:
        """Differences between installed files and the package database (rpm -V format)."""

    @abstractmethod
    def changes(self) -> str:
        """The changelogs of the installed packages, as kiwi's .changes file holds them."""

    @abstractmethod
    def finalize_repositories(self) -> None:
        """Leave only the imageinclude="true" repositories configured in the image."""

    @abstractmethod
    def clean(self) -> None:
        """Remove caches and build-only package-manager state from the root."""
