"""Build small, signed, flat Debian repositories for offline tests.

Everything here runs on the host with Debian tools only:

* ``dpkg-deb`` builds each package from a temporary tree,
* ``dpkg-scanpackages`` (dpkg-dev) writes ``Packages``,
* ``apt-ftparchive`` (apt-utils) writes ``Release``,
* ``gpg`` signs it with a throwaway key (``InRelease`` and ``Release.gpg``).

The result is a flat repository (suite ``./``) that apt and mmdebstrap accept with
signature checking on, through ``deb [signed-by=KEY] copy:///PATH ./``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import MappingProxyType

MAINTAINER = "kiwi-like tests <tests@invalid>"
KEY_UID = "kiwi-like test repo <repo@invalid>"

#: Prefix of the throwaway GNUPGHOME directories (under the system temp dir).
GNUPG_PREFIX = "kiwi-like-gnupg-"

#: Where Debian's busybox-static puts its binary on the host.
HOST_BUSYBOX = Path("/bin/busybox")

#: Busybox applets that get a link in /usr/bin (all are real busybox applets).
BUSYBOX_APPLETS = (
    "sh",
    "cat",
    "echo",
    "ls",
    "mkdir",
    "touch",
    "rm",
    "test",
    "[",
    "grep",
    "sed",
    "id",
)


def _frozen(mapping: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class DebPackage:
    """One binary package; paths are absolute paths inside the image."""

    name: str
    version: str = "1.0"
    depends: tuple[str, ...] = ()
    files: Mapping[str, str | bytes] = field(default_factory=dict)
    modes: Mapping[str, int] = field(default_factory=dict)
    symlinks: Mapping[str, str] = field(default_factory=dict)
    directories: tuple[str, ...] = ()  # extra (empty) directories, mode 0o755
    postinst: str | None = None
    priority: str = "optional"
    essential: bool = False
    architecture: str = "all"

    def __post_init__(self) -> None:
        # Keep the dataclass honestly immutable even if callers pass dicts.
        object.__setattr__(self, "depends", tuple(self.depends))
        object.__setattr__(self, "directories", tuple(self.directories))
        for name in ("files", "modes", "symlinks"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        for path in [*self.files, *self.symlinks, *self.modes, *self.directories]:
            if not path.startswith("/"):
                raise ValueError(f"{self.name}: path {path!r} is not absolute")
        unknown = set(self.modes) - set(self.files)
        if unknown:
            raise ValueError(f"{self.name}: modes given for unshipped files {sorted(unknown)}")

    def mode_of(self, path: str) -> int:
        """The file mode for ``path``: explicit, else 0o755 under a bin dir, else 0o644."""
        if path in self.modes:
            return self.modes[path]
        return 0o755 if PurePosixPath(path).parent.name == "bin" else 0o644

    def control(self) -> str:
        lines = [
            f"Package: {self.name}",
            f"Version: {self.version}",
            f"Architecture: {self.architecture}",
            f"Maintainer: {MAINTAINER}",
        ]
        if self.depends:
            lines.append(f"Depends: {', '.join(self.depends)}")
        lines.append(f"Priority: {self.priority}")
        if self.essential:
            lines.append("Essential: yes")
        lines.append(f"Description: {self.name} (kiwi-like test package)")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class DebRepo:
    """A built flat repository and the public keyring that signed it."""

    path: Path
    key: Path
    signed: bool = True

    def source_line(self, scheme: str = "copy") -> str:
        """A one-line apt source, e.g. ``deb [signed-by=KEY] copy:///PATH ./``.

        An unsigned repository (``build_repo(..., sign=False)``) gets
        ``[trusted=yes]`` instead, as apt refuses it otherwise.
        """
        option = f"signed-by={self.key}" if self.signed else "trusted=yes"
        return f"deb [{option}] {scheme}://{self.path} ./"


def _run(
    argv: Sequence[str | Path],
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run a command; on failure raise with its output in the message."""
    result = subprocess.run(
        [str(arg) for arg in argv], cwd=cwd, env=env, capture_output=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, argv))} failed ({result.returncode}):\n"
            f"{result.stdout.decode(errors='replace')}{result.stderr.decode(errors='replace')}"
        )
    return result


def _inside(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


def build_deb(package: DebPackage, out_dir: Path) -> Path:
    """Build ``package`` into ``out_dir`` and return the .deb path."""
    out = out_dir / f"{package.name}_{package.version}_{package.architecture}.deb"
    with tempfile.TemporaryDirectory(prefix=f"deb-{package.name}-") as tmp:
        tree = Path(tmp) / "tree"
        debian = tree / "DEBIAN"
        debian.mkdir(parents=True)
        (debian / "control").write_text(package.control(), encoding="utf-8")
        if package.postinst is not None:
            script = package.postinst
            if not script.startswith("#!"):
                script = "#!/bin/sh\n" + script
            if not script.endswith("\n"):
                script += "\n"
            postinst = debian / "postinst"
            postinst.write_text(script, encoding="utf-8")
            postinst.chmod(0o755)
        for path, content in package.files.items():
            target = _inside(tree, path)
            target.parent.mkdir(parents=True, exist_ok=True)
            data = content.encode() if isinstance(content, str) else content
            target.write_bytes(data)
            target.chmod(package.mode_of(path))
        for path in package.directories:
            _inside(tree, path).mkdir(parents=True, exist_ok=True)
        for path, link in package.symlinks.items():
            target = _inside(tree, path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(link)
        # Directories made above follow the umask; packages want 0755.
        for dirpath, dirnames, _ in os.walk(tree):
            for dirname in dirnames:
                directory = Path(dirpath) / dirname
                if not directory.is_symlink():
                    directory.chmod(0o755)
        tree.chmod(0o755)
        _run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", tree, out])
    return out


def _gpg(home: Path, *args: str | Path) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "GNUPGHOME": str(home)}
    return _run(["gpg", "--batch", "--quiet", "--no-tty", *args], env=env)


def gpg_daemons(home: Path) -> list[int]:
    """Pids of live processes whose command line names ``home`` (gpg-agent, keyboxd)."""
    needle = os.fsencode(str(home))
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        # A zombie has an empty command line: it is dead already.
        if needle in cmdline and b"gpg" in cmdline:
            pids.append(int(entry.name))
    return pids


def stop_gpg_agent(home: Path, timeout: float = 5.0) -> None:
    """Stop every gpg daemon that uses ``home`` and wait until they are gone.

    ``gpgconf --kill`` only asks the agent to quit; it does not wait for it.
    """
    env = {**os.environ, "GNUPGHOME": str(home)}
    subprocess.run(["gpgconf", "--kill", "all"], env=env, capture_output=True, check=False)
    deadline = time.monotonic() + timeout
    while gpg_daemons(home):
        if time.monotonic() > deadline:
            raise RuntimeError(f"gpg daemons for {home} still running: {gpg_daemons(home)}")
        time.sleep(0.02)


def _sign(repo: Path, key: Path) -> None:
    """Make a throwaway key, sign ``repo/Release`` with it and export it to ``key``."""
    # A short path: gpg-agent's socket path must fit in a sockaddr_un.
    home = Path(tempfile.mkdtemp(prefix=GNUPG_PREFIX))
    try:
        home.chmod(0o700)
        _gpg(home, "--passphrase", "", "--quick-gen-key", KEY_UID, "ed25519", "sign", "never")
        _gpg(home, "--export", "--output", key)
        release = repo / "Release"
        _gpg(home, "--clearsign", "--output", repo / "InRelease", release)
        _gpg(home, "--armor", "--detach-sign", "--output", repo / "Release.gpg", release)
    finally:
        stop_gpg_agent(home)
        shutil.rmtree(home, ignore_errors=True)


# kiwi installs the package manager with the bootstrap packages of an image that has image
# packages (kiwi-like does as kiwi: description/resolve.py); real archives have apt, so every
# test archive carries an empty stand-in for it.
MANAGER_STAND_IN = DebPackage(name="apt")


def build_repo(directory: Path, packages: Sequence[DebPackage], sign: bool = True) -> DebRepo:
    """Build a flat repository of ``packages`` in ``directory``.

    The keyring is written beside the repository (``<directory>.gpg``) so that
    it is not part of the repository itself. With ``sign=False`` no InRelease or
    Release.gpg is written and the keyring file is empty: such a repository only
    works with ``[trusted=yes]``.
    """
    names = [package.name for package in packages]
    if "apt" not in names:
        packages = [*packages, MANAGER_STAND_IN]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise ValueError(f"duplicate package names: {sorted(duplicates)}")
    repo = directory.resolve()
    repo.mkdir(parents=True, exist_ok=True)
    for package in packages:
        build_deb(package, repo)
    index = _run(["dpkg-scanpackages", "--multiversion", ".", "/dev/null"], cwd=repo)
    (repo / "Packages").write_bytes(index.stdout)
    # Captured first, written after: apt-ftparchive must not see (and hash) a
    # half-written Release in the directory it scans.
    release = _run(["apt-ftparchive", "release", "."], cwd=repo)
    (repo / "Release").write_bytes(release.stdout)
    key = repo.parent / f"{repo.name}.gpg"
    if sign:
        _sign(repo, key)
    else:
        key.write_bytes(b"")
    return DebRepo(path=repo, key=key, signed=sign)


def host_architecture() -> str:
    """The host's dpkg architecture (busybox is a native binary, not ``all``)."""
    return _run(["dpkg", "--print-architecture"]).stdout.decode().strip()


def busybox_package(name: str = "test-busybox", with_passwd: bool = True) -> DebPackage:
    """A package with the host's static busybox as a minimal merged-usr shell.

    Ships ``/usr/bin/busybox``, applet links in ``/usr/bin`` (see
    ``BUSYBOX_APPLETS``), the top-level links ``/bin``, ``/sbin`` and ``/lib``
    into ``/usr`` with their targets, and ``/root``. With ``with_passwd`` it also
    ships passwd, group, shadow, gshadow, login.defs and default/useradd so that
    the host's ``useradd --root`` and ``groupadd --root`` work on such a root.
    ``chpasswd --root`` works only with ``-e`` or ``-c SHA512``: without them it
    goes through PAM inside the root, which has no PAM modules.
    """
    if not HOST_BUSYBOX.is_file():
        raise RuntimeError(f"{HOST_BUSYBOX} not found: install the Debian package busybox-static")
    files: dict[str, str | bytes] = {"/usr/bin/busybox": HOST_BUSYBOX.read_bytes()}
    modes: dict[str, int] = {"/usr/bin/busybox": 0o755}
    symlinks = {f"/usr/bin/{applet}": "busybox" for applet in BUSYBOX_APPLETS}
    symlinks.update({"/bin": "usr/bin", "/sbin": "usr/sbin", "/lib": "usr/lib"})
    if with_passwd:
        files.update(
            {
                "/etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
                "/etc/group": "root:x:0:\n",
                "/etc/shadow": "root:*:19000:0:99999:7:::\n",
                "/etc/gshadow": "root:*::\n",
                # As on Debian: useradd makes a group per user (else gid 100,
                # which this root does not have).
                "/etc/login.defs": "USERGROUPS_ENAB yes\n",
                # New users get a shell that exists here (useradd's default is bash).
                "/etc/default/useradd": "SHELL=/bin/sh\n",
            }
        )
        modes["/etc/shadow"] = 0o640
        modes["/etc/gshadow"] = 0o640
    return DebPackage(
        name=name,
        version="1.0",
        files=files,
        modes=modes,
        symlinks=symlinks,
        # The targets of /sbin and /lib, so that packages shipping there unpack.
        directories=("/usr/sbin", "/usr/lib", "/root"),
        priority="required",
        essential=True,
        architecture=host_architecture(),
    )
