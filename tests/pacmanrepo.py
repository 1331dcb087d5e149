"""Build small pacman repositories (Arch Linux's format) for offline tests.

Everything runs on the host with what Debian packages (pacman-package-manager, makepkg):

* ``makepkg`` builds the packages from a PKGBUILD written here (one split PKGBUILD per
  version, so a whole repository takes one or two runs). makepkg refuses to run as
  root: it runs as ``nobody`` through ``setpriv``, in a directory only it writes;
* each package's files come from a tree made here, which its ``package_<name>()`` copies;
* ``repo-add`` indexes them into ``<name>.db`` (the name pacman's section must have);
* ``signed_copy`` signs every package and the database with a throwaway key.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from types import MappingProxyType

from tests.debrepo import GNUPG_PREFIX, KEY_UID, stop_gpg_agent
from tests.debrepo import busybox_package as deb_busybox

#: The database name of the test repositories: a description's alias must be this.
DB_NAME = "kltest"
BUILD_USER = ("nobody", "nogroup")


def _frozen(mapping: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class PacmanPackage:
    """One pacman package; paths are absolute paths inside the image."""

    name: str
    version: str = "1.0"
    release: str = "1"
    epoch: int | None = None
    arch: str = "any"
    depends: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    files: Mapping[str, str | bytes] = field(default_factory=dict)
    modes: Mapping[str, int] = field(default_factory=dict)
    symlinks: Mapping[str, str] = field(default_factory=dict)
    directories: tuple[str, ...] = ()
    post_install: str | None = None  # the body of the .install file's post_install()
    license: str = "MIT"

    def __post_init__(self) -> None:
        for name in ("depends", "provides", "directories"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        for name in ("files", "modes", "symlinks"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    @property
    def full_version(self) -> str:
        epoch = f"{self.epoch}:" if self.epoch is not None else ""
        return f"{epoch}{self.version}-{self.release}"

    def function(self) -> str:
        """Its package_<name>() in the split PKGBUILD."""
        lines = [
            f"package_{self.name}() {{",
            f"  arch=({self.arch})",
            f"  license=('{self.license}')",
            f"  depends=({' '.join(repr(d) for d in self.depends)})",
            f"  provides=({' '.join(repr(p) for p in self.provides)})",
        ]
        if self.post_install is not None:
            lines.append(f"  install={self.name}.install")
        lines += [f'  cp -a "$startdir/trees/{self.name}/." "$pkgdir/"', "}"]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class PacmanRepo:
    path: Path
    db_name: str
    key: Path | None  # the ASCII-armored public key when signed

    @property
    def uri(self) -> str:
        return f"dir://{self.path}"


def _run(argv: Sequence[str | Path], cwd: Path | None = None, env: Mapping[str, str] | None = None):
    result = subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} failed ({result.returncode}):\n"
                           f"{result.stdout}{result.stderr}")  # fmt: skip
    return result


def _tree(package: PacmanPackage, top: Path) -> None:
    tree = top / package.name
    tree.mkdir(parents=True)
    for path, content in package.files.items():
        target = tree / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)
        target.chmod(package.modes.get(path, 0o644))
    for path in package.directories:
        (tree / path.lstrip("/")).mkdir(parents=True, exist_ok=True)
    for path, link in package.symlinks.items():
        target = tree / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(link)
    for dirpath, dirnames, _ in os.walk(tree):
        for name in dirnames:
            if not (Path(dirpath) / name).is_symlink():
                (Path(dirpath) / name).chmod(0o755)
    for path, mode in package.modes.items():  # also directories (/tmp: 1777)
        (tree / path.lstrip("/")).chmod(mode)


def _pkgbuild(packages: Sequence[PacmanPackage]) -> str:
    first = packages[0]
    head = [
        "pkgbase=kiwi-like-tests",
        f"pkgname=({' '.join(p.name for p in packages)})",
        f"pkgver={first.version}",
        f"pkgrel={first.release}",
        *([f"epoch={first.epoch}"] if first.epoch is not None else []),
        "pkgdesc='kiwi-like test package'",
        f"arch=({os.uname().machine})",  # each package says its own
        "license=(MIT)",
        # packages as written: no stripping, no debug split, empty directories kept
        "options=(!strip !debug emptydirs !zipman !purge)",
    ]
    return "\n".join(head) + "\n\n" + "".join(p.function() for p in packages)


def _makepkg(packages: Sequence[PacmanPackage], work: Path, out: Path) -> None:
    for package in packages:
        _tree(package, work / "trees")
        if package.post_install is not None:
            script = f"post_install() {{\n{package.post_install}\n}}\n"
            (work / f"{package.name}.install").write_text(script)
    (work / "PKGBUILD").write_text(_pkgbuild(packages))
    shutil.chown(work, *BUILD_USER)
    _run(["chown", "-R", ":".join(BUILD_USER), work])
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(work),
        "PKGDEST": str(work / "out"),
        "PKGEXT": ".pkg.tar.zst",
        "LC_ALL": "C.UTF-8",
    }
    user, group = BUILD_USER
    setpriv = ["setpriv", f"--reuid={user}", f"--regid={group}", "--clear-groups"]
    _run([*setpriv, "makepkg", "--nodeps", "--noconfirm", "--noprogressbar"], cwd=work, env=env)
    for built in (work / "out").iterdir():
        shutil.copy(built, out / built.name)


# kiwi installs the package manager with the bootstrap packages (description/resolve.py):
# every test repository carries an empty stand-in for it.
MANAGER_STAND_IN = PacmanPackage(name="pacman")


def build_repo(directory: Path, packages: Sequence[PacmanPackage]) -> PacmanRepo:
    """Build `packages` into `directory` and index them, unsigned, as DB_NAME.db."""
    repo = directory.resolve()
    repo.mkdir(parents=True, exist_ok=True)
    if "pacman" not in {p.name for p in packages}:
        packages = [*packages, MANAGER_STAND_IN]
    with tempfile.TemporaryDirectory(prefix="kiwi-like-makepkg-") as tmp:
        Path(tmp).chmod(0o755)  # the build user enters it
        key = lambda p: (p.version, p.release, p.epoch or 0)  # noqa: E731
        for number, (_, group) in enumerate(groupby(sorted(packages, key=key), key=key)):
            work = Path(tmp) / str(number)
            (work / "out").mkdir(parents=True)
            _makepkg(list(group), work, repo)
    built = sorted(p.name for p in repo.glob("*.pkg.tar.zst"))
    _run(["repo-add", "--quiet", f"{DB_NAME}.db.tar.gz", *built], cwd=repo)
    return PacmanRepo(repo, DB_NAME, None)


def signed_copy(repo: PacmanRepo, directory: Path) -> PacmanRepo:
    """The packages of `repo` in `directory`, each with a detached signature, in a
    signed database (repo-add -s) made with a throwaway key; the public key (armored)
    is written beside the directory."""
    signed = directory.resolve()
    signed.mkdir(parents=True)
    built = sorted(p.name for p in repo.path.glob("*.pkg.tar.zst"))
    for name in built:
        shutil.copy(repo.path / name, signed / name)
    home = Path(tempfile.mkdtemp(prefix=GNUPG_PREFIX))
    public = signed.parent / f"{signed.name}.asc"
    try:
        home.chmod(0o700)
        env = {**os.environ, "GNUPGHOME": str(home)}
        gpg = ["gpg", "--batch", "--quiet", "--no-tty"]
        _run([*gpg, "--passphrase", "", "--quick-gen-key", KEY_UID, "ed25519", "sign", "never"],
             env=env)  # fmt: skip
        _run([*gpg, "--armor", "--export", "--output", public], env=env)
        for name in built:
            _run([*gpg, "--detach-sign", "--no-armor", name], cwd=signed, env=env)
        _run(["repo-add", "--quiet", "--sign", f"{DB_NAME}.db.tar.gz", *built], cwd=signed,
             env=env)  # fmt: skip
    finally:
        stop_gpg_agent(home)
        shutil.rmtree(home, ignore_errors=True)
    return PacmanRepo(signed, DB_NAME, public)


def busybox_package(name: str = "test-busybox") -> PacmanPackage:
    """The host's static busybox as a merged-usr /bin/sh, with passwd and group files
    (the same tree as tests/debrepo.py's busybox package)."""
    deb = deb_busybox(name)
    return PacmanPackage(
        name=name,
        arch=os.uname().machine,
        files=deb.files,
        modes={**deb.modes, "/tmp": 0o1777, "/var/tmp": 0o1777},
        symlinks=deb.symlinks,
        directories=(*deb.directories, "/tmp", "/var/tmp"),
    )
