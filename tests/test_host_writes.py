"""Nothing a build runs writes on the host outside the target, the cache and its scratch.

Each case runs the real kiwi-like CLI under strace (tests/hostwrites.py), with every
package manager it drives (zypper, dnf, rpm, mmdebstrap/apt, gpg), on a success path
and on a failure path, and lists the files, directories, links and sockets that it or
any program it started created, changed or removed. Allowed are only the root or
target directory, the shared cache, the scratch directory (--temp-dir), the null
device and terminals, and the processes' own /proc entries.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import hostwrites
from tests.conftest import REPO
from tests.debrepo import stop_gpg_agent
from tests.descriptions import Image, write_description
from tests.hostwrites import traced
from tests.http_server import serving
from tests.rpmrepo import RpmPackage, RpmRepo, busybox_package
from tests.rpmrepo import build_repo as build_rpm_repo
from tests.test_prepare import description, repo  # noqa: F401  (fixtures)
from tests.test_prepare_rpm import write_description as write_rpm_description

pytestmark = pytest.mark.skipif(not shutil.which("strace"), reason="needs strace")

# What strace -f -y --pidns-translation prints (shortened): a chrooted child that
# writes inside the root, a host write by a grandchild, a failed call, a call
# interrupted by another process's line, a symlink whose target is elsewhere.
SAMPLE = """\
100 mkdir("/work/out/root", 0777) = 0
100 clone(child_stack=NULL, flags=SIGCHLD) = 2 /* 101 in strace's PID NS */
101 chdir("/work/out/root") = 0
101 chroot(".") = 0
101 openat(AT_FDCWD</work/out/root>, "/etc/passwd", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 3
101 mkdir("/var/lib/x", 0755 <unfinished ...>
100 unlink("/etc/host-file") = -1 ENOENT (No such file or directory)
101 <... mkdir resumed>) = 0
101 symlink("/usr/share/zoneinfo/UTC", "/etc/localtime") = 0
100 vfork() = 102
102 openat(AT_FDCWD</work>, "/var/log/tool.log", O_WRONLY|O_CREAT|O_APPEND, 0644) = 4</var/log/tool.log>
102 openat(AT_FDCWD</work>, "/etc/hosts", O_RDONLY|O_CLOEXEC) = 5</etc/hosts>
102 renameat2(AT_FDCWD</work>, "out/a", 7</var/lib>, "b", RENAME_NOREPLACE) = 0
102 bind(3, {sa_family=AF_UNIX, sun_path="/run/tool.sock"}, 110) = 0
102 openat(AT_FDCWD</work>, "/dev/null", O_WRONLY) = 6</dev/null>
"""


def test_the_parser_sees_host_writes_and_not_chrooted_ones(tmp_path):
    log = tmp_path / "strace.log"
    log.write_text(SAMPLE)
    with log.open() as lines:
        writes = hostwrites.Parser(lines, "/work").writes()
    trace = hostwrites.Trace(0, "", writes)
    assert trace.outside("/work/out") == [
        "bind /run/tool.sock (pid 102)",
        "openat /var/log/tool.log (pid 102)",
        "renameat2 /var/lib/b (pid 102)",
    ]
    assert "symlink /work/out/root/etc/localtime (pid 101)" in {str(w) for w in writes}
    assert "mkdir /work/out/root/var/lib/x (pid 101)" in {str(w) for w in writes}


RPM_PACKAGES = [
    busybox_package(),
    RpmPackage("test-base", files={"/usr/share/test-base/hello": "hello\n"}),
    RpmPackage(
        "test-app",
        requires=("test-base",),
        files={"/usr/bin/test-app": "#!/bin/sh\necho app\n"},
        modes={"/usr/bin/test-app": 0o755},
        # A scriptlet's temporary file: the build's TMPDIR must not reach the image.
        post="mkdir -p /var/lib/test-app\nenv > /var/lib/test-app/env\n"
        "busybox mktemp > /var/lib/test-app/tmpfile\n",
    ),
    RpmPackage("test-epoch", version="3.1", release="7", epoch=2),
    RpmPackage("test-doomed", files={"/usr/share/test-doomed/file": "x\n"}),
    RpmPackage("test-leaf", requires=("test-leaf-dep",)),
    RpmPackage("test-leaf-dep"),
    RpmPackage("test-choice", requires=("test-virtual",)),
    RpmPackage("test-unwanted", provides=("test-virtual",)),
    RpmPackage("test-wanted", provides=("test-virtual",)),
    RpmPackage("test-tool"),
    RpmPackage("patterns-test-tools", provides=("pattern() = test-tools",)),
    # kiwi adds the package manager's own package to the bootstrap: empty stand-ins
    RpmPackage("zypper"),
    RpmPackage("dnf"),
]


@pytest.fixture(scope="module")
def rpm_repo(tmp_path_factory: pytest.TempPathFactory) -> RpmRepo:
    from tests.rpmrepo import CompsGroup, SusePattern

    return build_rpm_repo(
        tmp_path_factory.mktemp("rpm") / "repo",
        RPM_PACKAGES,
        groups=[CompsGroup("test-tools", ("test-tool",))],
        patterns=[SusePattern("test-tools", ("test-tool",))],
    )


def prepare_traced(tmp_path: Path, described: Path, *extra: str, within: Sequence[str] = ()):
    root, cache, scratch = tmp_path / "root", tmp_path / "cache", tmp_path / "scratch"
    argv = [
        "--debug", "system", "prepare", "--description", str(described),
        "--root", str(root), "--shared-cache-dir", str(cache), "--temp-dir", str(scratch),
        *extra,
    ]  # fmt: skip
    trace = traced(argv, tmp_path / "strace.log", within=within)
    return trace, trace.outside(root, cache, scratch)


def test_the_tracer_sees_a_real_write(tmp_path):
    """A log file outside the allowed places, written by kiwi-like itself."""
    described = write_description(tmp_path / "description", Image())
    log = tmp_path / "elsewhere/kiwi.log"
    log.parent.mkdir()
    argv = ["--logfile", str(log), "image", "info", "--description", str(described)]
    trace = traced(argv, tmp_path / "strace.log")
    assert trace.returncode == 0, trace.stderr
    assert any(str(log) in line for line in trace.outside(tmp_path / "description"))


@dataclass(frozen=True)
class _Served:
    uri: str


# A host without /var/lib/YaST2: an empty /var/lib, in a mount namespace of the test's own
WITHOUT_YAST2 = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                 'mount -t tmpfs tmpfs /var/lib && exec "$@"', "sh"]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("manager", ["zypper", "dnf", "zypper-without-yast2"])
def test_rpm_prepare_from_http_writes_nothing_outside(rpm_repo, tmp_path, manager):
    """A remote repository: downloads, curl's cookies (zypper's /var/lib/YaST2/cookies,
    made by libzypp where there is none)."""
    within = WITHOUT_YAST2 if manager.endswith("without-yast2") else []
    with serving(rpm_repo.path) as (port, requested):
        served = _Served(f"http://127.0.0.1:{port}/")
        described = write_rpm_description(tmp_path, served, manager.split("-")[0])  # type: ignore[arg-type]
        trace, outside = prepare_traced(tmp_path, described, within=within)
    assert trace.returncode == 0, trace.stderr[-3000:]
    assert any(path.endswith(".rpm") for path in requested)
    assert outside == [], "\n".join(outside)


@pytest.mark.slow
@pytest.mark.parametrize("manager", ["zypper", "dnf"])
@pytest.mark.parametrize("outcome", ["success", "missing-package"])
def test_rpm_prepare_writes_nothing_outside(rpm_repo, tmp_path, manager, outcome):
    described = write_rpm_description(tmp_path, rpm_repo, manager)
    extra = ["--add-package", "no-such-package"] if outcome != "success" else []
    trace, outside = prepare_traced(tmp_path, described, *extra)
    if outcome == "success":
        assert trace.returncode == 0, trace.stderr[-3000:]
    else:
        assert trace.returncode == 1
        assert "package not found in the repositories: no-such-package" in trace.stderr
    assert outside == [], "\n".join(outside)


def _armored_key(described: Path, tmp_path: Path) -> None:
    """The description's signing key, ASCII-armored: kiwi-like runs gpg to dearmor it."""
    config = described / "config.xml"
    binary = re.search(r'signing key="file://([^"]+)"', config.read_text())
    assert binary
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--homedir", str(home), "--batch", "--quiet"]
    subprocess.run([*gpg, "--import", binary.group(1)], check=True)
    armored = subprocess.run([*gpg, "--export", "--armor"], check=True, capture_output=True)
    stop_gpg_agent(home)
    (tmp_path / "key.asc").write_bytes(armored.stdout)
    config.write_text(config.read_text().replace(binary.group(1), str(tmp_path / "key.asc")))


@pytest.mark.slow
@pytest.mark.parametrize("outcome", ["success", "missing-package"])
def test_apt_build_writes_nothing_outside(description, tmp_path, outcome):  # noqa: F811
    """mmdebstrap, apt, dpkg, gpg (an armored key), then umoci, skopeo and xz."""
    _armored_key(description, tmp_path)
    target, cache, scratch = tmp_path / "target", tmp_path / "cache", tmp_path / "scratch"
    argv = [
        "--profile", "extra", "--debug", "system", "build",
        "--description", str(description), "--target-dir", str(target),
        "--shared-cache-dir", str(cache), "--temp-dir", str(scratch),
        "--config", str(description / "runtime.yml"),
    ]  # fmt: skip
    if outcome != "success":
        argv += ["--add-package", "no-such-package"]
    trace = traced(argv, tmp_path / "strace.log")
    assert trace.returncode == (0 if outcome == "success" else 1), trace.stderr[-3000:]
    if outcome == "success":
        assert (target / "Test-Image.x86_64-2.0.1.docker.tar.xz").is_file()
    outside = trace.outside(target, cache, scratch)
    assert outside == [], "\n".join(outside)


@pytest.mark.slow
def test_derived_container_writes_nothing_outside(description, tmp_path):  # noqa: F811
    """skopeo and umoci import a base image (a docker archive built first, untraced)."""
    base, target, cache, scratch = (
        tmp_path / name for name in ("base", "target", "cache", "scratch")
    )
    common = ["--shared-cache-dir", str(cache), "--temp-dir", str(scratch),
              "--config", str(description / "runtime.yml")]  # fmt: skip
    built = subprocess.run(
        [sys.executable, "-m", "kiwi_like", "system", "build", "--description", str(description),
         "--target-dir", str(base), *common],
        capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)),
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    archive = base / "Test-Image.x86_64-2.0.1.docker.tar.xz"
    config = description / "config.xml"
    derived = f'<type image="docker" derived_from="docker-archive:{archive}"'
    config.write_text(config.read_text().replace('<type image="docker"', derived, 1))
    argv = ["--debug", "system", "build", "--description", str(description),
            "--target-dir", str(target), *common]  # fmt: skip
    trace = traced(argv, tmp_path / "strace.log")
    assert trace.returncode == 0, trace.stderr[-3000:]
    assert "Importing the base image" in trace.stderr
    outside = trace.outside(target, cache, scratch)
    assert outside == [], "\n".join(outside)


@pytest.mark.slow
@pytest.mark.network
def test_disk_create_writes_nothing_outside(prepared_root, tmp_path):
    """The initrd generator (chrooted), GRUB, mkfs, sfdisk, mtools, on a real Debian root.

    A cache of its own: the initrd is generated, not taken from the shared initrd cache.
    """
    target, cache, scratch = tmp_path / "target", tmp_path / "cache", tmp_path / "scratch"
    argv = [
        "--debug", "system", "create", "--root", str(prepared_root),
        "--target-dir", str(target), "--shared-cache-dir", str(cache), "--temp-dir", str(scratch),
    ]  # fmt: skip
    trace = traced(argv, tmp_path / "strace.log")
    assert trace.returncode == 0, trace.stderr[-3000:]
    outside = trace.outside(target, cache, scratch, prepared_root)
    assert outside == [], "\n".join(outside)
    assert re.search(r"(Generating|Making) the .*initrd", trace.stderr)  # not from a cache
