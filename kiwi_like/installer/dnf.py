"""Fedora's dnf, run from the host with --installroot (or inside the root when it has dnf).

dnf never reads the host's /etc/dnf: --config names a private dnf.conf and
reposdir and cachedir are set on the command line (in the config file dnf would
put the cache inside the root). Packages are kept in <cache>/dnf.
`dnf4`, `dnf5`, `microdnf` and `yum` are served by whichever dnf is installed.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence

from kiwi_like import run as runner
from kiwi_like.chroot import run_in_root
from kiwi_like.description.packagemanagers.dnf import KIND
from kiwi_like.errors import KiwiLikeError
from kiwi_like.installer.base import SIGNATURE_ADVICE
from kiwi_like.installer.rpm import RpmPackageManager
from kiwi_like.installer.rpmmd import RpmRepo, ini_section, write_private

# The program to run for each name of the descriptor, in order of preference. dnf4's
# options are the common ground; microdnf lacks groups, so it is served by dnf when present.
PROGRAMS = {
    "dnf": ("dnf", "dnf-3", "dnf5"),
    "yum": ("dnf", "dnf-3", "dnf5"),
    "dnf4": ("dnf-3", "dnf"),
    "dnf5": ("dnf5", "dnf"),
    "microdnf": ("dnf", "microdnf"),
}
IN_ROOT = "/run/kiwi-like/dnf"
_PROGRESS = re.compile(r"^\s+(Installing|Upgrading|Erasing|Removing)\s*: (\S+)\s+(\d+)/(\d+)$")
_SCRIPTLET = re.compile(r"Error in (\S+) scriptlet in rpm package (\S+)")
_SCRIPTLET_NAMES = {"PREIN": "%pre", "POSTIN": "%post", "PREUN": "%preun", "POSTUN": "%postun"}
# dnf explains a signature problem early and then dumps the repository's whole
# configuration, so the explanation is caught while the lines go by.
_SIGNATURE = re.compile(
    r"GPG (public keys|check FAILED|verification is enabled)|is not signed|signature",
    re.IGNORECASE,
)


def dnf_program(name: str) -> str:
    found = next((p for p in PROGRAMS.get(name, ("dnf",)) if shutil.which(p)), None)
    if found is None:
        raise KiwiLikeError(f"required program '{name}' not found (install the Debian package dnf)")
    return found


class DnfPackageManager(RpmPackageManager):
    kind = KIND

    def _setup(self) -> None:
        super()._setup()
        self.program = dnf_program(self.build.preferences.packagemanager)
        self.private = self.scratch / "dnf"
        self.shared = self.package_cache
        self.shared.mkdir(parents=True, exist_ok=True)
        self.download_dir = self.shared
        self._failed_scriptlets: list[str] = []
        self._signature_problem = False
        self._write_config()

    # -- configuration ----------------------------------------------------------------

    def _write_config(self) -> None:
        values: dict[str, str | int | bool | None] = {
            "gpgcheck": self.check_signatures,
            "install_weak_deps": False,  # like apt's --no-install-recommends
            "keepcache": True,
            "plugins": False,
            "clean_requirements_on_remove": True,
            "tsflags": "nodocs" if self.build.preferences.rpm_excludedocs else None,
        }
        write_private(self.private / "dnf.conf", ini_section("main", values))
        for mode in ("host", "chroot"):
            for repo in self.repos:
                in_root = mode == "chroot" and repo.local_dir is not None
                local = f"{IN_ROOT}/repos/{repo.alias}" if in_root else None
                text = self._repo_section(repo, local_path=local)
                write_private(self.private / f"repos-{mode}" / f"{repo.alias}.repo", text)

    def _repo_section(
        self, repo: RpmRepo, local_path: str | None = None, in_image: bool = False
    ) -> str:
        url = f"file://{local_path}" if local_path else repo.url("file", credentials=False)
        return ini_section(
            repo.alias,
            {
                "name": repo.alias,
                "baseurl": url,
                "enabled": True,
                "priority": repo.repository.priority,
                "gpgcheck": repo.package_gpgcheck(self.check_signatures or in_image),
                "repo_gpgcheck": repo.repository_gpgcheck,
                "gpgkey": " ".join(repo.remote_keys) or None,
                "username": repo.repository.username if repo.has_credentials else None,
                "password": repo.repository.password if repo.has_credentials else None,
            },
        )

    def finalize_repositories(self) -> None:
        repos_d = self.root / "etc/yum.repos.d"
        for repo in self.image_repos():
            target = repos_d / f"{repo.alias}.repo"
            write_private(target, self._repo_section(repo, in_image=True))
            if not repo.has_credentials:
                target.chmod(0o644)

    # -- running dnf ------------------------------------------------------------------

    @property
    def in_chroot(self) -> bool:
        return any((self.root / "usr/bin" / name).exists() for name in ("dnf", "dnf5"))

    def _options(self, private: str, shared: str, mode: str) -> list[str]:
        options = [
            "-y",
            f"--config={private}/dnf.conf",
            f"--setopt=reposdir={private}/repos-{mode}",
            f"--setopt=cachedir={shared}",
            "--noplugins",
        ]
        if self.build.preferences.release_version:
            options.append(f"--releasever={self.build.preferences.release_version}")
        if not self.check_signatures:
            options.append("--nogpgcheck")
        return options

    def _dnf(self, *arguments: str) -> runner.Result:
        self._failed_scriptlets = []
        self._signature_problem = False
        try:
            if self.in_chroot:
                options = self._options(IN_ROOT, f"{IN_ROOT}/shared", "chroot")
                result = run_in_root(
                    self.root,
                    ["dnf", *options, *arguments],
                    binds=self.binds(IN_ROOT),
                    on_line=self._progress_line,
                )
            else:
                options = self._options(str(self.private), str(self.shared), "host")
                argv = [self.program, *options, f"--installroot={self.root}", *arguments]
                result = runner.run(
                    self.host_namespace(argv),
                    env=self.rpm.env,
                    on_line=self._progress_line,
                    display=argv,
                )
        except runner.CommandError as error:
            raise self._explain(error) from None
        finally:
            self.progress.finish()
            self.finish_root([self.private, self.shared])
        if self._failed_scriptlets:
            # dnf reports a failed scriptlet and still exits 0.
            raise KiwiLikeError(f"scriptlet failed: {'; '.join(self._failed_scriptlets)}")
        return result

    def list_repositories(self) -> None:
        self._dnf("repolist", "--all")

    def listed_aliases(self, lines: Sequence[str]) -> set[str]:
        # a table whose first column is the repo id (dnf4 and dnf5 alike); other lines
        # ("Bad id for repo: ...", the header) name no alias of ours
        return {line.split()[0] for line in lines if line.split()}

    def _progress_line(self, line: str) -> None:
        self.seen(line)
        failed = _SCRIPTLET.search(line)
        if failed:
            kind = _SCRIPTLET_NAMES.get(failed.group(1), failed.group(1).lower())
            self._failed_scriptlets.append(f"{kind} of {failed.group(2)}")
        if _SIGNATURE.search(line):
            self._signature_problem = True
        match = _PROGRESS.match(line)
        if match:
            verb, what, done, total = match.groups()
            self.progress.update(int(done), int(total), f"{verb} {what}")

    def _explain(self, error: runner.CommandError) -> KiwiLikeError:
        text = "\n".join(error.tail)
        if self._signature_problem:
            return KiwiLikeError(SIGNATURE_ADVICE)
        unreachable = re.search(r"Failed to download metadata for repo '([^']+)': (.*)", text)
        if unreachable:
            curl = re.search(r"Curl error \(\d+\): ([^\[\n]+?) for (\S+)", text)
            reason = curl.group(1).strip() if curl else unreachable.group(2).strip()
            return KiwiLikeError(f"repository unreachable: {unreachable.group(1)}: {reason}")
        missing = re.findall(r"No match for argument: (\S+)", text) or re.findall(
            r"No package (\S+) available", text
        )
        if missing:
            return KiwiLikeError(f"package not found in the repositories: {', '.join(missing)}")
        problem = re.search(r"Problem: (.*)", text)
        if problem:
            return KiwiLikeError(f"dependency problem: {problem.group(1).strip()}")
        group = re.findall(r"[Gg]roup '([^']+)' (?:is not available|does not exist)", text)
        if group:
            return KiwiLikeError(f"group not found in the repositories: {', '.join(group)}")
        return error

    # -- the interface ----------------------------------------------------------------

    def install(self, packages: Sequence[str], collections: Sequence[str] = ()) -> None:
        if not packages and not collections:
            return
        self.check_repositories()
        before = self.cached_rpms()
        excluded = [f"--exclude={name}" for name in self.build.packages.ignore]
        self._dnf(*excluded, "install", *packages, *(f"@{name}" for name in collections))
        self.count_downloads(before)

    def update(self) -> None:
        self.check_repositories()
        self._dnf("upgrade")

    def uninstall(self, packages: Sequence[str]) -> None:
        if packages:
            self._dnf("remove", *packages)

    def clean(self) -> None:
        self.finish_root([self.private, self.shared])
