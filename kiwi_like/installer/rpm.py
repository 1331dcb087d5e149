"""What zypper and dnf share: a private rpm configuration per build, and rpm itself.

Debian's rpm keeps its database in ~/.rpmdb unless %_dbpath says otherwise, and
dnf only honours %_dbpath from a macros file. So every rpm, zypper and dnf command
runs with HOME set to a private directory in the scratch area whose .rpmmacros
names the database path inside the image root (rpm also gets --dbpath). The
builder's home, /var/lib/rpm and the host's zypper/dnf configuration stay untouched.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kiwi_like import run as runner
from kiwi_like.chroot import Bind
from kiwi_like.description.model import Preferences
from kiwi_like.description.packagemanagers.rpmdb import DB_FILES, LEGACY_DB, SYSIMAGE_DB
from kiwi_like.errors import KiwiLikeError
from kiwi_like.installer.base import CacheStats, InstalledPackage, PackageManager
from kiwi_like.installer.rpmmd import RpmRepo, image_repos, rpm_repos
from kiwi_like.log import log

# kiwi's own query format: rpm prints "(none)" for an empty epoch or disturl.
QUERY_FORMAT = "%{NAME}|%{EPOCH}|%{VERSION}|%{RELEASE}|%{ARCH}|%{DISTURL}|%{LICENSE}\n"


# Runs first in a host package manager's own mount namespace (see host_namespace):
#   sh -c SCRIPT name COOKIE-DIR WRITABLE... -- READ-ONLY... -- COMMAND...
_HOST_NAMESPACE = r"""
set -e
cookies=$1; shift
if [ -d /var/lib/YaST2 ]; then
    mount --bind "$cookies" /var/lib/YaST2
    hidden=no
else
    mount --rbind -o ro /var/lib /var/lib
    hidden=yes
fi
while [ "$1" != "--" ]; do
    case $hidden:$1 in yes:/var/lib/*) mount --bind "$1" "$1";; esac
    shift
done
shift
while [ "$1" != "--" ]; do mount --bind -o ro "$1" "$1"; shift; done
shift
exec "$@"
"""


def _holds_database(directory: Path) -> bool:
    return any((directory / name).is_file() for name in DB_FILES)


def database_path(root: Path) -> str:
    """/usr/lib/sysimage/rpm, unless the root already keeps a database in /var/lib/rpm."""
    legacy = root / LEGACY_DB.lstrip("/")
    if legacy.is_dir() and not legacy.is_symlink() and _holds_database(legacy):
        return LEGACY_DB
    return SYSIMAGE_DB


def macros(dbpath: str, preferences: Preferences) -> str:
    lines = [f"%_dbpath {dbpath}"]
    if preferences.rpm_excludedocs:
        lines.append("%_excludedocs 1")
    if preferences.rpm_locale_filtering:
        lines.append(f"%_install_langs {install_langs(preferences.locale)}")
    return "\n".join(lines) + "\n"


def install_langs(locale: str | None) -> str:
    """rpm's language list for <locale>: each locale and its language, plus C."""
    langs = ["C"]
    for name in (locale or "").split(","):
        name = name.strip().split(".")[0]
        if name and name != "POSIX":
            langs += [name, name.split("_")[0]]
    return ":".join(dict.fromkeys(langs))


@dataclass(frozen=True)
class RpmSetup:
    """The private HOME every rpm-based command of one build runs with."""

    root: Path
    home: Path
    dbpath: str

    @classmethod
    def create(cls, root: Path, home: Path, preferences: Preferences) -> RpmSetup:
        dbpath = database_path(root)
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        (home / "tmp").mkdir(exist_ok=True)
        (home / ".rpmmacros").write_text(macros(dbpath, preferences))
        return cls(root, home, dbpath)

    @property
    def env(self) -> dict[str, str | None]:
        # Scriptlets inherit this environment inside the image, where the scratch area
        # does not exist: TMPDIR stays unset for them (their /tmp is the image's), and
        # dnf's Python takes TEMP for its temporary files instead of the host's /tmp.
        return {"HOME": str(self.home), "TMPDIR": None, "TEMP": str(self.home / "tmp")}

    def argv(self, *arguments: str) -> list[str]:
        return ["rpm", f"--root={self.root}", f"--dbpath={self.dbpath}", *arguments]

    def run(self, *arguments: str) -> runner.Result:
        return runner.run(self.argv(*arguments), env=self.env)

    def query(self, *arguments: str, check: bool = True) -> str:
        return runner.stdout_of(self.argv(*arguments), env=self.env, check=check)


def forget_host_paths(root: Path, paths: Sequence[Path]) -> None:
    """Remove paths zypper/dnf re-create inside the root (their @System solv cache, locks).

    Only the exact path goes, then the parents it left empty.
    """
    for path in paths:
        leaked = root / str(path).lstrip("/")
        if not (leaked.exists() or leaked.is_symlink()) or leaked.resolve() == root.resolve():
            continue
        if leaked.is_dir() and not leaked.is_symlink():
            shutil.rmtree(leaked, ignore_errors=True)
        else:
            leaked.unlink()
        parent = leaked.parent
        while parent != root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent


def link_legacy_database(root: Path, dbpath: str) -> None:
    """As openSUSE and Fedora do: /var/lib/rpm leads to /usr/lib/sysimage/rpm."""
    legacy = root / LEGACY_DB.lstrip("/")
    if dbpath != SYSIMAGE_DB or legacy.is_symlink():
        return
    if legacy.is_dir() and not any(legacy.iterdir()):
        legacy.rmdir()
    if not legacy.exists():
        legacy.parent.mkdir(parents=True, exist_ok=True)
        legacy.symlink_to("../../usr/lib/sysimage/rpm")


class RpmPackageManager(PackageManager):
    """The rpm half of zypper and dnf: database queries, verification, forced removal."""

    def _setup(self) -> None:
        self.rpm = RpmSetup.create(self.root, self.scratch / "rpm-home", self.build.preferences)
        self.all_repos = rpm_repos(self.build, self.kind)
        # imageonly repositories are configured in the image but not used to build it
        self.repos = [r for r in self.all_repos if not r.repository.imageonly]
        self.check_signatures = self.build.preferences.rpm_check_signatures is not False
        if not self.check_signatures:
            log.warning("rpm-check-signatures is off: package signatures are not checked")
        self._listed_in: set[bool] = set()  # where the repositories were seen (in_chroot)
        self._listing: list[str] | None = None  # output lines of a listing, while it runs

    # Set by each adapter: its private configuration, its part of the shared cache, where
    # that keeps the downloaded .rpm files, and the program that runs.
    private: Path
    shared: Path
    download_dir: Path
    program: str

    def cached_rpms(self) -> set[Path]:
        return set(self.download_dir.rglob("*.rpm"))

    def count_downloads(self, before: set[Path]) -> None:
        new = len(self.cached_rpms() - before)
        self.cache_stats = CacheStats(downloads=self.cache_stats.downloads + new)
        log.info("package cache %s: %d packages downloaded", self.download_dir, new)

    def bootstrap(self, packages: Sequence[str]) -> None:
        log.info("Bootstrapping %s with %s from the host", self.root, self.program)
        self.import_keys()
        self.install(packages)

    def binds(self, prefix: str) -> list[Bind]:
        """What a package manager inside the root sees of the build (under `prefix`)."""
        binds = [Bind(self.private, prefix), Bind(self.shared, f"{prefix}/shared")]
        binds += [
            Bind(repo.local_dir, f"{prefix}/repos/{repo.alias}")
            for repo in self.repos
            if repo.local_dir is not None
        ]
        return binds

    def host_namespace(self, argv: Sequence[str]) -> list[str]:
        """`argv` in a mount namespace of its own, so that it writes only where it should:

        - libzypp's curl keeps its cookies in /var/lib/YaST2/cookies, whatever --root
          says: a directory of the scratch area takes the place of /var/lib/YaST2 (where
          the host has none, /var/lib is read-only but for the build's own directories);
        - dnf's librepo caches checksums in extended attributes of the packages it
          reads: the local repositories (the user's directories) are read-only.
        """
        cookies = self.scratch / "yast2"
        cookies.mkdir(mode=0o700, exist_ok=True)
        writable = [str(p.resolve()) for p in (self.root, self.scratch, self.shared)]
        local = [str(repo.local_dir) for repo in self.repos if repo.local_dir is not None]
        script = [*runner.private_mounts(), "sh", "-c", _HOST_NAMESPACE, "kiwi-like-host"]
        return [*script, str(cookies), *writable, "--", *local, "--", *argv]

    def check_repositories(self) -> None:
        """zypper and dnf skip a .repo file they cannot read (a hidden file name, an id
        they refuse) and go on: ask them which repositories they see, once from the host
        and once inside the root, so a skipped one is named instead of "package not found"."""
        if self.in_chroot in self._listed_in or not self.repos:
            return
        lines: list[str] = []
        self._listing = lines
        try:
            self.list_repositories()
        finally:
            self._listing = None
        listed = self.listed_aliases(lines)
        missing = [repo.alias for repo in self.repos if repo.alias not in listed]
        if missing:
            raise KiwiLikeError(
                f"{self.program} did not read repository {', '.join(missing)} "
                f"(it lists only: {', '.join(sorted(listed)) or 'none'})"
            )
        self._listed_in.add(self.in_chroot)

    def seen(self, line: str) -> None:
        """An output line, kept while a listing runs (the adapters' on_line calls this)."""
        if self._listing is not None:
            self._listing.append(line)

    # What the adapters say: where they run, how they list their repositories.
    @property
    def in_chroot(self) -> bool:
        raise NotImplementedError

    def list_repositories(self) -> None:
        raise NotImplementedError

    def listed_aliases(self, lines: Sequence[str]) -> set[str]:
        raise NotImplementedError

    def image_repos(self) -> list[RpmRepo]:
        """The imageinclude repositories the image can use (not a build host directory)."""
        return image_repos(self.all_repos)

    def import_keys(self) -> None:
        """Local signing keys go into the image's rpm database, where zypper and dnf look."""
        for repo in self.repos:
            for key in repo.local_keys:
                self.rpm.run("--import", str(key))

    def installed(self) -> list[InstalledPackage]:
        packages = []
        for line in self.rpm.query("-qa", "--qf", QUERY_FORMAT).splitlines():
            name, epoch, version, release, arch, disturl, license_ = line.split("|", 6)
            packages.append(
                InstalledPackage(
                    name=name,
                    version=version,
                    arch=arch,
                    epoch=epoch,
                    release=release,
                    disturl=disturl,
                    license=license_,
                )
            )
        return sorted(packages, key=lambda p: (p.name, p.version, p.arch))

    def verify(self) -> str:
        # rpm -V exits non-zero when anything differs: that is the content, not an error.
        return self.rpm.query("-Va", check=False)

    def changes(self) -> str:
        """kiwi's rpm changelog export: `name|` and then the package's changelog."""
        return self.rpm.query("-qa", "--qf", "%{NAME}|\\n", "--changelog")

    def delete(self, packages: Sequence[str]) -> None:
        if not packages:
            return
        installed = {p.name for p in self.installed()}
        missing = [p for p in packages if p not in installed]
        if missing:
            log.warning("packages to delete are not installed: %s", ", ".join(missing))
        present = [p for p in packages if p in installed]
        if present:
            # No scriptlets: the shell they need may be among the deleted packages.
            self.rpm.run("-e", "--nodeps", "--allmatches", "--noscripts", *present)

    def finish_root(self, host_paths: Sequence[Path]) -> None:
        forget_host_paths(self.root, host_paths)
        link_legacy_database(self.root, self.rpm.dbpath)
