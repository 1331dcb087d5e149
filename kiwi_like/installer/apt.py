"""Debian's apt: bootstrap with mmdebstrap, then apt-get inside the root.

Roots bootstrapped from a `custom` variant (no apt/dpkg inside, e.g. in tests
or containers) are served from the host with apt's `Dir=` options instead:
"in the chroot when the root has the package manager, from the host otherwise".
"""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kiwi_like import run as runner
from kiwi_like.chroot import Bind, run_in_root
from kiwi_like.description.packagemanagers.apt import KIND
from kiwi_like.errors import KiwiLikeError
from kiwi_like.installer.apt_sources import (
    BUILD_AUTH,
    BUILD_SOURCES,
    REPOS_IN_ROOT,
    apt_repos,
    one_line,
    release_file,
    unread_repositories,
    write_build_sources,
    write_image_sources,
)
from kiwi_like.installer.base import InstalledPackage, PackageManager
from kiwi_like.log import log

MERGED_USR_HOOKS = Path("/usr/share/mmdebstrap/hooks/merged-usr")
# mmdebstrap's merged-usr hooks: the setup hook merges /usr and installs a dummy
# usr-is-merged, the essential hook replaces it with the real one from the repositories.
# A build-service repository holds only the packages the image needs, and there apt
# may have chosen usrmerge (the first alternative of init-system-helpers) instead: then
# usrmerge replaces the dummy (on a merged /usr it has nothing to do).
MERGED_USR_MARKER = "usr-is-merged"
_MERGED_USR_ESSENTIAL = f"""
set -e
export APT_CONFIG="$MMDEBSTRAP_APT_CONFIG"
if [ -n "$(apt-cache madison usr-is-merged 2>/dev/null)" ]; then
    exec {MERGED_USR_HOOKS}/essential00.sh "$1"
elif [ -n "$(apt-cache madison usrmerge 2>/dev/null)" ]; then
    echo "I: usr-is-merged is not in the repositories: usrmerge keeps /usr merged"
    apt-get --yes install -oDPkg::Chroot-Directory="$1" usrmerge
    dpkg --root="$1" --log="$1/var/log/dpkg.log" --purge usr-is-merged
else
    echo "E: the repositories have neither usr-is-merged nor usrmerge"
    exit 1
fi
"""

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
# mmdebstrap variants whose root has apt (the image packages are installed with it).
WITH_APT = ("apt", "minbase", "required", "important", "standard")
# The same for mmdebstrap's own dpkg runs, for the bootstrap only (not left in the image).
UNSAFE_IO_CFG = "etc/dpkg/dpkg.cfg.d/kiwi-like-unsafe-io"
_STATUS = re.compile(r"^(pm|dl)status:([^:]*):([\d.]+):(.*)$")
_PLAN = re.compile(r"^(\d+) upgraded, (\d+) newly installed, (\d+) to remove")
_NOT_FOUND = re.compile(
    r"Unable to locate package (\S+)|Package '?(\S+?)'? has no installation candidate"
)


class AptPackageManager(PackageManager):
    kind = KIND

    def _setup(self) -> None:
        self.archives = self.package_cache / "archives"
        self.archives.mkdir(parents=True, exist_ok=True)
        self.variant = self.config.apt_bootstrap_variant
        self.repos = apt_repos(self.build, self.scratch)
        self._packages_total = 0
        self._packages_done = 0
        self._listed_in: set[bool] = set()  # where apt was seen to read every repository

    # -- repositories (kiwi_like/installer/apt_sources.py) -----------------------------

    def _write_build_sources(self) -> None:
        write_build_sources(self.root, self.repos, self.in_chroot)

    def finalize_repositories(self) -> None:
        write_image_sources(self.root, self.repos)

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

    def _apt(
        self, *arguments: str, progress: bool = False, lines: list[str] | None = None
    ) -> runner.Result:
        """`lines`: collects every output line (the result keeps only the tail)."""
        if not (self.root / BUILD_SOURCES).exists():
            self._write_build_sources()  # a reused or updated root had them removed
        on_line: Callable[[str], None] | None = self._progress_line if progress else None
        if lines is not None:
            on_line = lines.append
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
        if "essential00.sh" in text:
            reasons = [
                line
                for line in error.tail
                if line.startswith("E: ") and "failed" not in line.split(":", 2)[1]
            ]
            return KiwiLikeError(
                f"package {MERGED_USR_MARKER} (it marks the merged /usr that mmdebstrap's "
                "merged-usr hook makes) could not be installed"
                + (f": {reasons[0][3:]}" if reasons else "")
            )
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
        # One request per repository, all at once: sequential ones cost a round trip
        # each before every build, cached or not.
        with ThreadPoolExecutor(max_workers=max(1, len(self.repos))) as pool:
            releases = list(pool.map(release_file, self.repos))
        for repo, data in zip(self.repos, releases, strict=True):
            if data is None:
                log.info("Root cache: no Release file for repository %s, not caching", repo.alias)
                return None
            fingerprint[repo.alias] = hashlib.sha256(data).hexdigest()
            if repo.keyring is not None:
                key = hashlib.sha256(repo.keyring.read_bytes()).hexdigest()
                fingerprint[repo.alias + ":key"] = key
        return fingerprint

    def private_files(self) -> tuple[str, ...]:
        return (BUILD_AUTH,)

    def restored(self) -> None:
        """Build sources name this build's keyrings (in its scratch directory): write anew."""
        self._write_build_sources()

    # -- the interface ----------------------------------------------------------------

    @property
    def one_pass(self) -> bool:
        # mmdebstrap installs --include packages with the root's own apt, as the second
        # run would, marking dependencies automatically installed in the same way; the
        # custom variant installs from the host without apt's marks (kept in two runs)
        return self.variant in WITH_APT

    def bootstrap(self, packages: Sequence[str]) -> None:
        self._mmdebstrap(packages, ())

    def bootstrap_with_image(self, packages: Sequence[str], image: Sequence[str]) -> None:
        """The image packages in mmdebstrap's own apt run (--include), not a second one."""
        self._mmdebstrap(packages, image)

    def _mmdebstrap(self, packages: Sequence[str], image: Sequence[str]) -> None:
        before = {p.name for p in self.archives.glob("*.deb")}
        suite = next((r.suite for r in self.repos if r.suite != "./"), "")
        archives = str(self.archives)
        command = [
            *runner.private_mounts(),
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
        if self.variant in WITH_APT and "apt" not in packages:
            # mmdebstrap finds apt by its priority (required), which repositories made
            # with dpkg-scanpackages (build-service workers) do not carry
            packages = [*packages, "apt"]
        included = list(dict.fromkeys([*packages, *image]))
        if included:
            command.append(f"--include={','.join(included)}")
        if self.variant != "custom" and MERGED_USR_HOOKS.is_dir():
            # The hooks' own temp files go into the target, not the host's /tmp.
            command += [
                f'--setup-hook=TMPDIR="$1/tmp" {MERGED_USR_HOOKS}/setup00.sh "$1"',
                f"--essential-hook={_MERGED_USR_ESSENTIAL}",
            ]
        command += [suite, str(self.root), *(one_line(repo) for repo in self.repos)]
        log.info("Bootstrapping %s (%s) with mmdebstrap", suite or "custom", self.variant)
        try:
            # as in the image packages' apt run: kernels without an initrd (the disk
            # builder makes it once the root is complete)
            runner.run(command, env={"INITRD": "No"}, on_line=self._mmdebstrap_progress)
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

    def _check_repositories(self) -> None:
        """Ask apt which repositories it reads, once from the host and once inside the
        root: one it skipped would otherwise show only as "package not found"."""
        if self.in_chroot in self._listed_in:
            return
        lines: list[str] = []
        self._apt("indextargets", "--no-release-info", "--format", "$(REPO_URI)", lines=lines)
        missing = unread_repositories(self.repos, lines, self.in_chroot)
        if missing:
            raise KiwiLikeError(f"apt did not read repository {', '.join(missing)}")
        self._listed_in.add(self.in_chroot)

    def install(self, packages: Sequence[str], collections: Sequence[str] = ()) -> None:
        if not packages:
            return
        before = {p.name for p in self.archives.glob("*.deb")}
        installed_before = self._installed_count()
        self._check_repositories()
        self._apt("update")
        self._apt("install", "--no-install-recommends", *packages, progress=True)
        self._count_downloads(before, self._installed_count() - installed_before)

    def update(self) -> None:
        self._check_repositories()
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
                [
                    "dpkg",
                    f"--root={self.root}",
                    f"--log={self.root}/var/log/dpkg.log",
                    "--force-script-chrootless",
                    *arguments,
                ],  # fmt: skip
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

    def changes(self) -> str:
        """kiwi's deb changelog export: `name|` and each package's changelog.Debian.gz."""
        docs = self.root / "usr/share/doc"
        parts = []
        for package in sorted(p.name for p in docs.iterdir()) if docs.is_dir() else ():
            changelog = docs / package / "changelog.Debian.gz"
            # Not through symlinks: an absolute one would name a file of the host.
            linked = (docs / package).is_symlink() or changelog.is_symlink()
            if not linked and changelog.is_file():
                with gzip.open(changelog, "rt", encoding="utf-8", errors="replace") as text:
                    parts.append(f"{package}|\n{text.read()}\n")
        return "".join(parts)

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
