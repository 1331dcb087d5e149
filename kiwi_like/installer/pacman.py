"""Arch Linux's pacman, run from the host with --root and a private configuration.

pacman never reads the host's /etc/pacman.conf: --config names a private one in the
scratch area, which includes nothing of the host. Every other path is given on the
command line: the database (--dbpath), log (--logfile) and hooks (--hookdir) are the
root's own, as on an Arch system; the keyring (--gpgdir) is a private one holding
only the description's keys; packages are kept in <cache>/pacman/pkg. The host's
/var/lib/pacman, /var/cache/pacman, /etc/pacman.d and /var/log/pacman.log stay
untouched. pacman runs install scriptlets and hooks chrooted into the root, so the
root needs a /bin/sh before the first package that has one.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from kiwi_like import run as runner
from kiwi_like.description.packagemanagers.pacman import KIND
from kiwi_like.errors import KiwiLikeError
from kiwi_like.installer.base import SIGNATURE_ADVICE, InstalledPackage, PackageManager
from kiwi_like.installer.rpmmd import RpmRepo, image_repos, rpm_repos, write_private
from kiwi_like.log import log
from kiwi_like.rootfs import resolve_in_root

DBPATH = "var/lib/pacman"
LOGFILE = "var/log/pacman.log"
HOOKDIR = "etc/pacman.d/hooks"
# The image's repositories, one file each (kiwi's layout), read through an Include
IMAGE_REPOS = "etc/pacman.d"
IMAGE_INCLUDE = "Include = /etc/pacman.d/*.repo"
# zypper's and dnf's priority of a repository without one
DEFAULT_PRIORITY = 99
# pacman's own name for the database of installed packages
RESERVED = "local"

_ACTION = re.compile(r"^(installing|upgrading|reinstalling|downgrading|removing) (\S+)\.\.\.")
_TOTAL = re.compile(r"^Packages \((\d+)\)")
_SCRIPTLET_FAILED = "error: command failed to execute correctly"
_SIGNATURE = re.compile(
    r"signature|\.sig'|PGP|unknown trust|invalid or corrupted (database|package)", re.IGNORECASE
)


def _sig_level(package: bool, database: bool | None) -> str:
    """pacman's SigLevel: database checks are optional unless the description says."""
    database_level = {True: "DatabaseRequired", False: "DatabaseNever", None: "DatabaseOptional"}
    return f"{'Required' if package else 'Never'} {database_level[database]}"


class PacmanPackageManager(PackageManager):
    kind = KIND

    def _setup(self) -> None:
        if shutil.which("pacman") is None:
            raise KiwiLikeError(
                "required program 'pacman' not found "
                "(install the Debian package pacman-package-manager)"
            )
        self.private = self.scratch / "pacman"
        self.gpgdir = self.private / "gnupg"
        self.packages_dir = self.package_cache / "pkg"
        self.packages_dir.mkdir(parents=True, exist_ok=True)
        self.all_repos = rpm_repos(self.build, self.kind)
        # imageonly repositories are configured in the image but not used to build it
        self.repos = [r for r in self.all_repos if not r.repository.imageonly]
        self.check_signatures = self.build.preferences.rpm_check_signatures is not False
        if not self.check_signatures:
            log.warning("rpm-check-signatures is off: package signatures are not checked")
        for repo in self.all_repos:
            if repo.remote_keys:
                raise KiwiLikeError(
                    f"repository {repo.alias}: signing key {repo.remote_keys[0]}: pacman "
                    "takes keys from files (give a local key file)"
                )
        for repo in self.repos:
            self._check_database(repo)
        self._synced = False
        self._total = 0
        self._done = 0
        self._current = ""
        self._failed_scriptlets: list[str] = []
        self._signature_problem = False
        write_private(self.private / "pacman.conf", self._config())

    # -- configuration ----------------------------------------------------------------

    def _sections(self, repo: RpmRepo) -> tuple[str, ...]:
        """pacman reads <section>.db from the server: kiwi names the section after the
        repository's components (one section each) or else its alias."""
        return repo.repository.components or (repo.alias,)

    def _check_database(self, repo: RpmRepo) -> None:
        for section in self._sections(repo):
            if section == RESERVED:
                raise KiwiLikeError(
                    f"repository {repo.alias}: pacman reserves the name '{RESERVED}' "
                    "(give the repository another alias)"
                )
            if repo.local_dir is not None and not (repo.local_dir / f"{section}.db").exists():
                found = sorted(p.name for p in repo.local_dir.glob("*.db"))
                raise KiwiLikeError(
                    f"repository {repo.alias}: {repo.local_dir} has no {section}.db (pacman "
                    "reads the database named by the alias or components"
                    + (f"; found {', '.join(found)})" if found else ")")
                )

    def _repo_text(self, repo: RpmRepo, in_image: bool = False) -> str:
        package_check = repo.package_gpgcheck(self.check_signatures or in_image)
        level = _sig_level(package_check, repo.repository.repository_gpgcheck)
        url = repo.url("file", credentials=True)
        return "".join(
            f"[{section}]\nSigLevel = {level}\nServer = {url}\n\n"
            for section in self._sections(repo)
        )

    def _config(self) -> str:
        default = "Required DatabaseOptional" if self.check_signatures else "Never"
        lines = [
            "[options]",
            f"Architecture = {self.build.arch}",
            f"SigLevel = {default}",
            f"LocalFileSigLevel = {'Optional' if self.check_signatures else 'Never'}",
            "",
            "",
        ]
        # pacman takes a package from the first section that has it: lower priority first
        ordered = sorted(self.repos, key=lambda repo: _priority(repo.repository.priority))
        return "\n".join(lines) + "".join(self._repo_text(repo) for repo in ordered)

    def _import_keys(self) -> None:
        """The description's key files, trusted fully, form pacman's private keyring."""
        keys = [key for repo in self.repos for key in repo.local_keys]
        self.gpgdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not keys:
            return
        # In a PID namespace of its own: the gpg-agent gpg starts ends with it.
        gpg = ["gpg", "--homedir", str(self.gpgdir), "--batch", "--no-tty", "--quiet"]
        fingerprints: list[str] = []
        for key in keys:
            runner.run(runner.contained([*gpg, "--import", str(key)]))
            listing = runner.stdout_of([*gpg, "--with-colons", "--show-keys", str(key)])
            fingerprints += _primary_fingerprints(listing)
        trust = "".join(f"{fingerprint}:6:\n" for fingerprint in fingerprints)
        runner.run(runner.contained([*gpg, "--import-ownertrust"]), stdin=trust)

    # -- running pacman ---------------------------------------------------------------

    def _in_root(self, path: str) -> Path:
        """Where pacman (on the host) finds the root's `path`: a symlink in the image is
        followed as the image sees it, never onto the host's own files."""
        return resolve_in_root(self.root, path)

    def _argv(self, *arguments: str) -> list[str]:
        return [
            "pacman",
            "--noconfirm",
            f"--config={self.private / 'pacman.conf'}",
            f"--root={self.root}",
            f"--dbpath={self._in_root(DBPATH)}",
            f"--cachedir={self.packages_dir}",
            f"--gpgdir={self.gpgdir}",
            f"--hookdir={self._in_root(HOOKDIR)}",
            f"--logfile={self._in_root(LOGFILE)}",
            *arguments,
        ]

    def _pacman(self, *arguments: str) -> runner.Result:
        for directory in (DBPATH, str(Path(LOGFILE).parent)):
            self._in_root(directory).mkdir(parents=True, exist_ok=True)
        self._failed_scriptlets = []
        self._signature_problem = False
        self._total = self._done = 0
        argv = self._argv(*arguments)
        try:
            # A PID namespace of its own: nothing pacman starts (gpg-agent) outlives it.
            result = runner.run(runner.contained(argv), on_line=self._line, display=argv)
        except runner.CommandError as error:
            raise self._explain(error) from None
        finally:
            self.progress.finish()
        if self._failed_scriptlets:
            # pacman reports a failed install scriptlet and still exits 0.
            raise KiwiLikeError(f"scriptlet failed: {'; '.join(self._failed_scriptlets)}")
        return result

    def _query(self, *arguments: str, check: bool = True) -> str:
        """A read-only query; its output with pacman's warnings (stderr) in it."""
        return runner.run(self._argv(*arguments), keep_output=True, check=check).output

    def _line(self, line: str) -> None:
        total = _TOTAL.match(line)
        if total:
            self._total = int(total.group(1))
        action = _ACTION.match(line)
        if action:
            self._done += 1
            self._current = action.group(2)
            what = f"{action.group(1)} {self._current}"
            self.progress.update(self._done, max(self._total, self._done), what)
        if line.startswith(_SCRIPTLET_FAILED):
            self._failed_scriptlets.append(f"install script of {self._current or 'a package'}")
        if _SIGNATURE.search(line):
            self._signature_problem = True

    def _explain(self, error: runner.CommandError) -> KiwiLikeError:
        text = "\n".join(error.tail)
        if self._signature_problem:
            return KiwiLikeError(SIGNATURE_ADVICE)
        missing = re.findall(r"target not found: (\S+)", text)
        if missing:
            return KiwiLikeError(f"package not found in the repositories: {', '.join(missing)}")
        unreachable = re.search(r"failed retrieving file '([^']+)' from (.*)", text)
        if unreachable:
            return KiwiLikeError(
                f"repository unreachable: {unreachable.group(1)} from {unreachable.group(2)}"
            )
        problem = re.search(r"unable to satisfy dependency (.*)", text)
        if problem:
            return KiwiLikeError(f"dependency problem: unable to satisfy dependency "
                                 f"{problem.group(1).strip()}")  # fmt: skip
        return error

    # -- the interface ----------------------------------------------------------------

    def bootstrap(self, packages: Sequence[str]) -> None:
        log.info("Bootstrapping %s with pacman from the host", self.root)
        self.install(packages)

    def install(self, packages: Sequence[str], collections: Sequence[str] = ()) -> None:
        targets = [*packages, *collections]  # groups are targets like packages (as kiwi)
        if not targets:
            return
        if not self._synced:
            self._import_keys()
        before = set(self.packages_dir.iterdir())
        ignored = [f"--ignore={name}" for name in self.build.packages.ignore]
        refresh = [] if self._synced else ["--refresh"]
        self._pacman("--sync", "--needed", *refresh, *ignored, *targets)
        self._synced = True
        new = set(self.packages_dir.iterdir()) - before
        downloads = len([p for p in new if ".pkg.tar" in p.name and not p.name.endswith(".sig")])
        self.cache_stats = self.cache_stats.add(downloads, self._done)
        log.info("package cache %s: %d packages downloaded", self.packages_dir, downloads)

    def _installed_names(self, packages: Sequence[str], what: str) -> list[str]:
        installed = {p.name for p in self.installed()}
        missing = [p for p in packages if p not in installed]
        if missing:
            log.warning("packages to %s are not installed: %s", what, ", ".join(missing))
        return [p for p in packages if p in installed]

    def delete(self, packages: Sequence[str]) -> None:
        present = self._installed_names(packages, "delete") if packages else []
        if present:
            # kiwi's forced removal: no dependency checks (-dd)
            self._pacman("--remove", "--nodeps", "--nodeps", *present)

    def uninstall(self, packages: Sequence[str]) -> None:
        present = self._installed_names(packages, "uninstall") if packages else []
        if present:
            # with the dependencies only they needed (kiwi: -Rs)
            self._pacman("--remove", "--recursive", *present)

    def update(self) -> None:
        self._import_keys()
        self._pacman("--sync", "--refresh", "--sysupgrade")
        self._synced = True

    def installed(self) -> list[InstalledPackage]:
        """kiwi's pacman format: name|None|version|release|None|None|None; pacman's
        "[epoch:]version-release" is split at its '-', so the version keeps an epoch."""
        if not (self._in_root(DBPATH) / "local").is_dir():
            return []
        packages = []
        for line in runner.stdout_of(self._argv("--query")).splitlines():
            name, _, full = line.partition(" ")
            version, _, release = full.rpartition("-")
            packages.append(
                InstalledPackage(name=name, version=version, release=release, arch=None)
            )
        return sorted(packages, key=lambda p: p.name)

    def verify(self) -> str:
        """What `pacman -Qkk` finds changed (kiwi writes no .verified for pacman)."""
        output = self._query("--query", "--check", "--check", check=False)
        return "".join(f"{line}\n" for line in output.splitlines() if "warning:" in line)

    def changes(self) -> str:
        return ""  # kiwi exports no changelogs for pacman

    def finalize_repositories(self) -> None:
        repos = image_repos(self.all_repos)
        if not repos:
            return
        for repo in repos:
            target = self._in_root(f"{IMAGE_REPOS}/{repo.alias}.repo")
            write_private(target, self._repo_text(repo, in_image=True))
            if not repo.has_credentials:
                target.chmod(0o644)
        config = self._in_root("etc/pacman.conf")
        text = config.read_text() if config.is_file() else "[options]\nArchitecture = auto\n"
        if IMAGE_INCLUDE not in text:
            config.write_text(f"{text.rstrip()}\n\n# the image's repositories\n{IMAGE_INCLUDE}\n")

    def clean(self) -> None:
        """The build repositories' databases and a lock a killed pacman left."""
        shutil.rmtree(self._in_root(f"{DBPATH}/sync"), ignore_errors=True)
        self._in_root(f"{DBPATH}/db.lck").unlink(missing_ok=True)


def _priority(priority: int | None) -> int:
    return DEFAULT_PRIORITY if priority is None else priority


def _primary_fingerprints(listing: str) -> list[str]:
    """The fingerprint of each primary key in `gpg --with-colons` output."""
    fingerprints, primary = [], False
    for line in listing.splitlines():
        fields = line.split(":")
        if fields[0] in ("pub", "sub"):
            primary = fields[0] == "pub"
        elif fields[0] == "fpr" and primary and len(fields) > 9:
            fingerprints.append(fields[9])
            primary = False
    return fingerprints
