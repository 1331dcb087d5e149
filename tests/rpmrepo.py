"""Build small rpm-md repositories for offline zypper and dnf tests.

Everything runs on the host with the tools Debian packages:

* ``rpmbuild`` builds each package from a spec written here and a file tree,
* ``createrepo_c`` indexes them (``-g comps.xml`` adds dnf groups).

rpmbuild reads ``~/.rpmmacros`` and, on Debian, keeps an rpm database in
``~/.rpmdb``: it runs with HOME set to a private directory whose macros point
the database and the build tree into the scratch area, so the host is not touched.
A zypper pattern is a package that provides ``pattern() = NAME`` (libsolv turns it
into the pattern); a dnf group is an entry of the repository's comps.xml.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from xml.sax.saxutils import escape

HOST_BUSYBOX = Path("/bin/busybox")
#: Applets that get a link in /bin (the classic, not merged-usr layout: rpm's
#: automatic ``/bin/sh`` dependency of scriptlets is then met by a file).
BUSYBOX_APPLETS = ("sh", "cat", "echo", "ls", "mkdir", "touch", "rm", "test", "grep", "sed", "id")


def _frozen(mapping: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class RpmPackage:
    """One binary rpm; paths are absolute paths inside the image."""

    name: str
    version: str = "1.0"
    release: str = "1"
    epoch: int | None = None
    arch: str = "noarch"
    requires: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    files: Mapping[str, str | bytes] = field(default_factory=dict)
    modes: Mapping[str, int] = field(default_factory=dict)
    symlinks: Mapping[str, str] = field(default_factory=dict)
    directories: tuple[str, ...] = ()
    post: str | None = None
    license: str = "MIT"

    def __post_init__(self) -> None:
        for name in ("requires", "provides", "directories"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        for name in ("files", "modes", "symlinks"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        for path in [*self.files, *self.symlinks, *self.directories]:
            if not path.startswith("/"):
                raise ValueError(f"{self.name}: path {path!r} is not absolute")

    @property
    def file_name(self) -> str:
        return f"{self.name}-{self.version}-{self.release}.{self.arch}.rpm"

    def spec(self, tree: Path) -> str:
        lines = [
            f"Name: {self.name}",
            f"Version: {self.version}",
            f"Release: {self.release}",
            f"Summary: {self.name} (kiwi-like test package)",
            f"License: {self.license}",
            "AutoReqProv: no",
        ]
        if self.epoch is not None:
            lines.append(f"Epoch: {self.epoch}")
        if self.arch == "noarch":
            lines.append("BuildArch: noarch")
        lines += [f"Requires: {r}" for r in self.requires]
        lines += [f"Provides: {p}" for p in self.provides]
        lines += ["", "%description", f"{self.name} for kiwi-like tests.", ""]
        lines += ["%install", f"cp -a {tree}/. %{{buildroot}}/", ""]
        if self.post is not None:
            lines += ["%post", self.post.rstrip("\n"), ""]
        lines += ["%files", "%defattr(-,root,root,-)"]
        lines += [f"%dir {d}" for d in self.directories]
        lines += sorted([*self.files, *self.symlinks])
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class CompsGroup:
    """A dnf group: comps.xml entry listing mandatory packages."""

    id: str
    packages: tuple[str, ...]
    name: str = ""

    def xml(self) -> str:
        requirements = "".join(
            f'      <packagereq type="mandatory">{escape(p)}</packagereq>\n' for p in self.packages
        )
        return (
            "  <group>\n"
            f"    <id>{escape(self.id)}</id>\n"
            f"    <name>{escape(self.name or self.id)}</name>\n"
            "    <description>kiwi-like test group</description>\n"
            "    <default>false</default>\n"
            "    <uservisible>true</uservisible>\n"
            f"    <packagelist>\n{requirements}    </packagelist>\n"
            "  </group>\n"
        )


@dataclass(frozen=True)
class SusePattern:
    """A pattern in the repository's patterns.xml (the rpm-md form libsolv reads).

    openSUSE makes patterns from packages providing ``pattern() = NAME``; Debian's
    libsolv is built without that (no autopattern), so the tests ship both.
    """

    name: str
    requires: tuple[str, ...]

    def xml(self) -> str:
        entries = "".join(f'    <rpm:entry name="{escape(r)}"/>\n' for r in self.requires)
        return (
            "<pattern>\n"
            f"  <name>{escape(self.name)}</name>\n  <arch>noarch</arch>\n"
            '  <version epoch="0" ver="1.0" rel="1"/>\n'
            f"  <summary>{escape(self.name)}</summary>\n"
            "  <description>kiwi-like test pattern</description>\n  <uservisible/>\n"
            f"  <rpm:requires>\n{entries}  </rpm:requires>\n</pattern>\n"
        )


@dataclass(frozen=True)
class RpmRepo:
    path: Path

    @property
    def uri(self) -> str:
        return f"dir://{self.path}"


def _run(argv: Sequence[str | Path], env: Mapping[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in argv], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, argv))} failed ({result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )
    return result.stdout


def private_rpm_home(directory: Path) -> dict[str, str]:
    """An environment whose ~/.rpmmacros keeps rpm's database and build tree in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / ".rpmmacros").write_text(
        f"%_dbpath {directory}/rpmdb\n%_topdir {directory}/rpmbuild\n"
        "%_build_id_links none\n%debug_package %{nil}\n%__os_install_post %{nil}\n"
    )
    return {**os.environ, "HOME": str(directory), "LC_ALL": "C.UTF-8"}


def build_rpm(package: RpmPackage, out_dir: Path) -> Path:
    with tempfile.TemporaryDirectory(prefix=f"rpm-{package.name}-") as tmp:
        work = Path(tmp)
        tree = work / "tree"
        tree.mkdir()
        for path, content in package.files.items():
            target = tree / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content.encode() if isinstance(content, str) else content)
            target.chmod(package.modes.get(path, 0o644))
        for path, link in package.symlinks.items():
            target = tree / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(link)
        for path in package.directories:
            (tree / path.lstrip("/")).mkdir(parents=True, exist_ok=True)
        spec = work / f"{package.name}.spec"
        spec.write_text(package.spec(tree))
        env = private_rpm_home(work / "home")
        target_arch = [] if package.arch == "noarch" else ["--target", package.arch]
        _run(["rpmbuild", "-bb", "--quiet", *target_arch, spec], env=env)
        built = work / "home/rpmbuild/RPMS" / package.arch / package.file_name
        out_dir.mkdir(parents=True, exist_ok=True)
        result = out_dir / package.file_name
        built.rename(result)
    return result


# kiwi installs the package manager with the bootstrap packages of an image that has image
# packages (kiwi-like does as kiwi: description/resolve.py); real distributions have these,
# so every test repository carries empty stand-ins (the adapters run the host's managers).
MANAGER_STAND_INS = tuple(RpmPackage(name=name) for name in ("zypper", "dnf", "dnf5", "microdnf"))


def build_repo(
    directory: Path,
    packages: Sequence[RpmPackage],
    groups: Sequence[CompsGroup] = (),
    patterns: Sequence[SusePattern] = (),
) -> RpmRepo:
    """Build `packages` into `directory` and index it.

    `groups` become its comps.xml (dnf), `patterns` its patterns.xml (zypper).
    """
    repo = directory.resolve()
    names = {package.name for package in packages}
    for package in [*packages, *(p for p in MANAGER_STAND_INS if p.name not in names)]:
        build_rpm(package, repo)
    command: list[str | Path] = ["createrepo_c", "--quiet", "--no-database"]
    if groups:
        comps = repo.parent / f"{repo.name}-comps.xml"
        comps.write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n<comps>\n'
            + "".join(g.xml() for g in groups)
            + "</comps>\n"
        )
        command += ["-g", comps]
    _run([*command, repo])
    if patterns:
        xml = repo.parent / f"{repo.name}-patterns.xml"
        xml.write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<patterns xmlns="http://novell.com/package/metadata/suse/pattern" '
            f'xmlns:rpm="http://linux.duke.edu/metadata/rpm" count="{len(patterns)}">\n'
            + "".join(p.xml() for p in patterns)
            + "</patterns>\n"
        )
        _run(["modifyrepo_c", "--mdtype=patterns", xml, repo / "repodata"])
    return RpmRepo(repo)


def host_rpm_arch() -> str:
    return os.uname().machine


def busybox_package(name: str = "test-busybox") -> RpmPackage:
    """The host's static busybox as /bin/sh and friends, plus a minimal /etc."""
    if not HOST_BUSYBOX.is_file():
        raise RuntimeError(f"{HOST_BUSYBOX} not found: install the Debian package busybox-static")
    return RpmPackage(
        name=name,
        arch=host_rpm_arch(),
        files={
            "/bin/busybox": HOST_BUSYBOX.read_bytes(),
            "/etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
            "/etc/group": "root:x:0:\n",
        },
        modes={"/bin/busybox": 0o755},
        symlinks={f"/bin/{applet}": "busybox" for applet in BUSYBOX_APPLETS},
        directories=("/bin", "/etc", "/root", "/tmp", "/usr", "/usr/bin", "/var"),
        provides=("/bin/sh",),
    )
