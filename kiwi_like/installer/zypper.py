"""SUSE's zypper, run from the host with --root (or inside the root when it has zypper).

zypper is isolated from the host's own configuration the way kiwi does it: its
zypp.conf comes from ZYPP_CONF, repositories from a private --reposd-dir, and the
metadata, solv and package caches from --cache-dir, --solv-cache-dir and
--pkg-cache-dir. Packages are kept in the shared cache (<cache>/zypper/packages).
Its log (ZYPP_LOGFILE) and temporary files (ZYPPTMPDIR) go to the scratch area.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from kiwi_like import run as runner
from kiwi_like.chroot import run_in_root
from kiwi_like.description.packagemanagers.zypper import KIND
from kiwi_like.errors import KiwiLikeError
from kiwi_like.installer.rpm import RpmPackageManager, forget_host_paths
from kiwi_like.installer.rpmmd import RpmRepo, ini_section, write_private

# Where the build's private directories appear when zypper runs inside the root.
IN_ROOT = "/run/kiwi-like/zypper"
# zypper reads its locks (kiwi's <ignore>) from this path inside the root.
LOCKS = "run/kiwi-like/zypp-locks"
# zypper's lock, inside the root it installs into
PID_FILE = "run/zypp.pid"
ZYPPER_TYPES = {"rpm-md": "rpm-md", "yast2": "yast2", "rpm-dir": "plaindir"}
EXIT_SCRIPT_FAILED = 107
_SCRIPTLET = re.compile(r"%(\w+)\(([^)]+)\) scriptlet failed, exit status (\d+)")
_PROGRESS = re.compile(r"^\((\d+)/(\d+)\) (Installing|Removing): (\S+)")


class ZypperPackageManager(RpmPackageManager):
    kind = KIND
    program = "zypper"

    def _setup(self) -> None:
        super()._setup()
        self.private = self.scratch / "zypper"
        self.shared = self.package_cache
        self.packages_dir = self.shared / "packages"
        self.packages_dir.mkdir(parents=True, exist_ok=True)
        self.download_dir = self.packages_dir
        self._failed_scriptlet: re.Match[str] | None = None
        self._write_config()

    # -- configuration ----------------------------------------------------------------

    def _write_config(self) -> None:
        excludedocs = "yes" if self.build.preferences.rpm_excludedocs else "no"
        (self.private / "tmp").mkdir(parents=True, exist_ok=True)
        # onlyRequires: like apt's --no-install-recommends
        (self.private / "zypp.conf").write_text(
            f"[main]\nsolver.onlyRequires = true\nlocksfile.path = /{LOCKS}\n"
            f"rpm.install.excludedocs = {excludedocs}\ndownload.use_deltarpm = false\n"
        )
        for mode in ("host", "chroot"):
            for repo in self.repos:
                text = self._repo_section(repo, local_prefix=self._local_prefix(mode, repo))
                write_private(self.private / f"repos-{mode}" / f"{repo.alias}.repo", text)

    def _local_prefix(self, mode: str, repo: RpmRepo) -> str | None:
        """Where zypper inside the root finds a local repository (see binds)."""
        if mode == "chroot" and repo.local_dir is not None:
            return f"{IN_ROOT}/repos/{repo.alias}"
        return None

    def _repo_section(
        self, repo: RpmRepo, local_prefix: str | None = None, in_image: bool = False
    ) -> str:
        url = repo.url("dir", credentials=not in_image)
        if local_prefix is not None:
            url = f"dir://{local_prefix}"
        if in_image and repo.has_credentials:
            url += f"{'&' if '?' in url else '?'}credentials={repo.alias}"
        package_check = repo.package_gpgcheck(self.check_signatures or in_image)
        return ini_section(
            repo.alias,
            {
                "name": repo.alias,
                "enabled": True,
                "autorefresh": True,
                "baseurl": url,
                "type": ZYPPER_TYPES[repo.type],
                "priority": repo.repository.priority,
                # zypper's master switch: off only when both checks are off
                "gpgcheck": repo.repository_gpgcheck or package_check,
                "repo_gpgcheck": repo.repository_gpgcheck,
                "pkg_gpgcheck": package_check,
                "gpgkey": " ".join(repo.remote_keys) or None,
                "keeppackages": not in_image,
            },
        )

    def finalize_repositories(self) -> None:
        repos_d = self.root / "etc/zypp/repos.d"
        for repo in self.image_repos():
            write_private(repos_d / f"{repo.alias}.repo", self._repo_section(repo, in_image=True))
            (repos_d / f"{repo.alias}.repo").chmod(0o644)
            if repo.has_credentials:
                write_private(
                    self.root / "etc/zypp/credentials.d" / repo.alias,
                    f"username={repo.repository.username}\npassword={repo.repository.password}\n",
                )

    # -- running zypper ---------------------------------------------------------------

    @property
    def in_chroot(self) -> bool:
        return (self.root / "usr/bin/zypper").exists()

    def _options(self, private: str, shared: str, mode: str) -> list[str]:
        options = [
            "--non-interactive", "--no-color",
            "--reposd-dir", f"{private}/repos-{mode}",
            "--cache-dir", shared,
            "--solv-cache-dir", f"{private}/solv",
            "--pkg-cache-dir", f"{shared}/packages",
        ]  # fmt: skip
        if not self.check_signatures:
            options.append("--no-gpg-checks")
        if any(repo.remote_keys for repo in self.repos):
            options.append("--gpg-auto-import-keys")  # the keys the description names
        return options

    @staticmethod
    def _environment(private: str) -> dict[str, str]:
        # libzypp's log and temporary files would otherwise go to the host's
        # /var/log/zypper.log and /var/tmp, whatever --root says.
        return {
            "ZYPP_CONF": f"{private}/zypp.conf",
            "ZYPP_LOGFILE": f"{private}/zypper.log",
            "ZYPPTMPDIR": f"{private}/tmp",
        }

    def _zypper(self, *arguments: str) -> runner.Result:
        self._failed_scriptlet = None
        try:
            if self.in_chroot:
                options = self._options(IN_ROOT, f"{IN_ROOT}/shared", "chroot")
                return run_in_root(
                    self.root,
                    ["zypper", *options, *arguments],
                    binds=self.binds(IN_ROOT),
                    env=self._environment(IN_ROOT),
                    on_line=self._progress_line,
                )
            options = self._options(str(self.private), str(self.shared), "host")
            argv = ["zypper", *options, "--root", str(self.root), *arguments]
            return runner.run(
                self.host_namespace(argv),
                env={**self.rpm.env, **self._environment(str(self.private))},
                on_line=self._progress_line,
                display=argv,
            )
        except runner.CommandError as error:
            raise self._explain(error) from None
        finally:
            self.progress.finish()
            self.finish_root([self.private, self.shared])
            # zypper has ended (or was stopped): its lock must not stay in the image
            (self.root / PID_FILE).unlink(missing_ok=True)

    def list_repositories(self) -> None:
        self._zypper("--xmlout", "repos")

    def listed_aliases(self, lines: Sequence[str]) -> set[str]:
        return set(re.findall(r'<repo alias="([^"]*)"', "\n".join(lines)))

    def _progress_line(self, line: str) -> None:
        self.seen(line)
        # Caught as it goes by: later output can push it out of the error's tail.
        failed = _SCRIPTLET.search(line)
        if failed:
            self._failed_scriptlet = failed
        match = _PROGRESS.match(line)
        if match:
            done, total, verb, what = match.groups()
            self.progress.update(int(done), int(total), f"{verb} {what}")

    def _explain(self, error: runner.CommandError) -> KiwiLikeError:
        text = "\n".join(error.tail)
        unsigned = re.search(r"File '([^']+)' from repository '([^']+)' is unsigned", text)
        if unsigned or "Signature verification failed" in text:
            which = unsigned.group(2) if unsigned else "a repository"
            return KiwiLikeError(
                f"repository signature check failed ({which} is unsigned or signed with an "
                "unknown key): give its key with <signing key=...> or, knowing the risk, "
                'repository_gpgcheck="false"'
            )
        unreachable = re.search(r"Download \(curl\) error for '([^']+)'", text) or re.search(
            r"\[([^|\]]+)\|([^\]]+)\] Valid metadata not found", text
        )
        if unreachable:
            detail = re.search(r"Error message: (.*)", text)
            reason = detail.group(1).strip() if detail else "no valid repository metadata"
            return KiwiLikeError(f"repository unreachable: {unreachable.group(1)}: {reason}")
        problem = re.search(r"Problem: (.*)", text)
        if problem:
            return KiwiLikeError(f"dependency problem: {problem.group(1).strip()}")
        missing = re.findall(r"No provider of '([^']+)' found", text)
        if missing:
            return KiwiLikeError(f"package not found in the repositories: {', '.join(missing)}")
        failed = self._failed_scriptlet
        if failed or error.returncode == EXIT_SCRIPT_FAILED:
            what = f"%{failed.group(1)} of {failed.group(2)}" if failed else "a package scriptlet"
            status = f" with exit status {failed.group(3)}" if failed else ""
            return KiwiLikeError(f"{what} failed{status}")
        return error

    # -- the interface ----------------------------------------------------------------

    def install(self, packages: Sequence[str], collections: Sequence[str] = ()) -> None:
        if not packages and not collections:
            return
        self.check_repositories()
        before = self.cached_rpms()
        if self.build.packages.ignore:
            # A lock: the solver must not install it, whatever needs it (kiwi's <ignore>).
            (self.root / LOCKS).parent.mkdir(parents=True, exist_ok=True)
            self._zypper("addlock", *self.build.packages.ignore)
        wanted = [*packages, *(f"pattern:{name}" for name in collections)]
        self._zypper("install", "--no-recommends", "--auto-agree-with-licenses", *wanted)
        self.count_downloads(before)

    def update(self) -> None:
        self.check_repositories()
        self._zypper("update", "--no-recommends", "--auto-agree-with-licenses")

    def uninstall(self, packages: Sequence[str]) -> None:
        if packages:
            self._zypper("remove", "--clean-deps", *packages)

    def clean(self) -> None:
        (self.root / PID_FILE).unlink(missing_ok=True)
        forget_host_paths(self.root, [Path("/") / LOCKS])
        self.finish_root([self.private, self.shared])
