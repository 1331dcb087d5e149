"""Fault injection: SIGINT and SIGTERM at each stage of real builds, SIGKILL and the next run.

After an interrupted run: exit 128+signal with one error line, no new mount (in this
namespace or PID 1's), no new loop device, no process of the build, no result file
in the target, no scratch directory. After a SIGKILL the next run cleans what the
killed one left, and only that.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kiwi_like import leftovers
from kiwi_like.prepare.pipeline import STATE_FILE
from tests.conftest import REPO
from tests.descriptions import Image, Repository, Type, write_description
from tests.faults import interrupt, processes_mentioning, result_files
from tests.rpmrepo import RpmPackage, RpmRepo, busybox_package
from tests.rpmrepo import build_repo as build_rpm_repo
from tests.test_prepare import description, repo  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow
SIGNALS = [signal.SIGINT, signal.SIGTERM]
# The create-stage faults: one signal per stage in CI (both take the same path), the
# other in `make test-extended`.
ONE_IN_CI = [signal.SIGINT, pytest.param(signal.SIGTERM, marks=pytest.mark.extended)]


def build_argv(description_dir: Path, tmp_path: Path, *extra: str) -> list[str]:
    return [
        "--profile", "extra", "--debug", "system", "build",
        "--description", str(description_dir), "--target-dir", str(tmp_path / "target"),
        "--shared-cache-dir", str(tmp_path / "cache"), "--temp-dir", str(tmp_path / "scratch"),
        "--config", str(description_dir / "runtime.yml"), *extra,
    ]  # fmt: skip


def assert_clean(outcome, sig: signal.Signals, tmp_path: Path, *watched: Path) -> None:
    assert outcome.returncode == 128 + sig, outcome.stderr[-3000:]
    errors = [line for line in outcome.lines_seen if line.startswith("kiwi-like: error:")]
    assert errors == [f"kiwi-like: error: interrupted by {sig.name}"], outcome.stderr[-3000:]
    assert "Traceback" not in outcome.stderr
    # Other builds may run on the machine meanwhile: what is ours names our paths.
    ours = [str(p) for p in (tmp_path, *watched)]
    assert not [m for m in outcome.new_mounts if m.startswith(tuple(ours))], outcome.new_mounts
    assert not [lo for lo in outcome.new_loops if any(p in lo for p in ours)], outcome.new_loops
    assert not processes_mentioning(tmp_path, *watched)
    target = tmp_path / "target"
    assert result_files(target) == []
    assert not [p for p in target.glob(".kiwi-like-staging-*")] if target.exists() else True
    scratch = tmp_path / "scratch"
    assert not scratch.exists() or not list(scratch.iterdir()), list(scratch.iterdir())
    root = target / "build/image-root"
    if root.is_dir():
        assert not (root / "usr/sbin/policy-rc.d").exists()
        assert not (root / ".kconfig").exists() and not (root / ".profile").exists()


SLOW_CONFIG_SH = "#!/bin/sh\ntouch /started\nsleep 60\n"


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
@pytest.mark.parametrize("stage", ["after-bootstrap", "package-install", "config.sh"])
def test_interrupted_prepare(description, tmp_path, stage, sig):  # noqa: F811
    root = tmp_path / "target/build/image-root"
    extra: list[str] = []
    # After the bootstrap, post_bootstrap.sh waits: the signal cannot come too late on a
    # loaded machine (a tiny build is otherwise done in two seconds).
    ready, trigger = root / "bootstrapped", r"Prepare: post_bootstrap\.sh"
    if stage == "after-bootstrap":
        script = "#!/bin/sh\ntouch /bootstrapped\nsleep 60\n"
        (description / "post_bootstrap.sh").write_text(script)
    elif stage == "package-install":
        extra, ready, trigger = ["--add-package", "test-slow"], root / "started", "image packages"
    elif stage == "config.sh":
        (description / "config.sh").write_text(SLOW_CONFIG_SH)
        ready, trigger = root / "started", r"Prepare: config\.sh"
    outcome = interrupt(build_argv(description, tmp_path, *extra), trigger, [sig], ready=ready)
    assert_clean(outcome, sig, tmp_path)


def test_second_signal_still_cleans_up(description, tmp_path):  # noqa: F811
    (description / "config.sh").write_text(SLOW_CONFIG_SH)
    root = tmp_path / "target/build/image-root"
    outcome = interrupt(build_argv(description, tmp_path), r"Prepare: config\.sh",
                        [signal.SIGINT, signal.SIGINT, signal.SIGTERM], ready=root / "started")  # fmt: skip
    assert_clean(outcome, signal.SIGINT, tmp_path)


RPM_PACKAGES = [
    busybox_package(),
    RpmPackage("test-slow", post="touch /started\nbusybox sleep 60\n"),
    RpmPackage("zypper"),  # kiwi bootstraps the package manager's own package: stand-ins
    RpmPackage("dnf"),
]


@pytest.fixture(scope="module")
def rpm_repo(tmp_path_factory: pytest.TempPathFactory) -> RpmRepo:
    return build_rpm_repo(tmp_path_factory.mktemp("rpm") / "repo", RPM_PACKAGES)


def _temporary_files(root: Path) -> list[str]:
    """What package managers keep while they run: rpm's scriptlet files, locks, pid files."""
    places = [root / "tmp", root / "var/tmp", root / "run"]
    return sorted(str(p) for place in places if place.is_dir() for p in place.rglob("*"))


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
@pytest.mark.parametrize("manager", ["zypper", "dnf"])
def test_interrupted_rpm_install(rpm_repo, tmp_path, manager, sig):
    """During a package's %post, run by rpm under zypper or dnf on the host."""
    image = Image(
        name="Rpm-Image", packagemanager=manager, types=[Type("tbz")],
        repositories=[Repository(rpm_repo.uri, "rpm-md", "local", attributes={
            "repository_gpgcheck": "false", "package_gpgcheck": "false"})],
        packages={"bootstrap": ["test-busybox"], "image": ["test-slow"]},
    )  # fmt: skip
    described = write_description(tmp_path / "description", image)
    root = tmp_path / "target/build/image-root"
    argv = [
        "--debug", "system", "prepare", "--description", str(described), "--root", str(root),
        "--shared-cache-dir", str(tmp_path / "cache"), "--temp-dir", str(tmp_path / "scratch"),
    ]  # fmt: skip
    outcome = interrupt(argv, "image packages", [sig], ready=root / "started")
    assert_clean(outcome, sig, tmp_path)
    assert _temporary_files(root) == []


def _big_overlay(description_dir: Path) -> None:
    """64 MiB that xz cannot shrink: the container's compression takes a few seconds."""
    blob = description_dir / "root/opt/blob"
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(os.urandom(64 * 1024 * 1024))


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_interrupted_compression(description, tmp_path, sig):  # noqa: F811
    _big_overlay(description)
    outcome = interrupt(build_argv(description, tmp_path), r"\$ xz ", [sig], delay=0.5)
    assert_clean(outcome, sig, tmp_path)


@pytest.mark.network
@pytest.mark.parametrize("sig", ONE_IN_CI, ids=lambda s: s.name)
def test_interrupted_disk_assembly(prepared_root, tmp_path, sig):
    argv = ["--debug", "system", "create", "--root", str(prepared_root),
            "--target-dir", str(tmp_path / "target"), "--temp-dir", str(tmp_path / "scratch")]  # fmt: skip
    outcome = interrupt(argv, r"\$ mke2fs ", [sig], delay=1.0)
    assert_clean(outcome, sig, tmp_path, prepared_root)
    assert not list((prepared_root / "var/tmp").iterdir())  # nothing of mkinitramfs stays


@contextmanager
def _prepared_as(root: Path, profile: str, *type_attributes: str) -> Iterator[None]:
    """The shared prepared root, as if prepared for `profile` (system create takes the
    profiles from the root's state file); the state is put back afterwards."""
    state = root / STATE_FILE
    original = state.read_bytes()
    data = json.loads(original)
    data["options"].update(profiles=[profile], set_type_attrs=list(type_attributes))
    state.write_text(json.dumps(data))
    try:
        yield
    finally:
        state.write_bytes(original)


def _create_argv(root: Path, tmp_path: Path) -> list[str]:
    return ["--debug", "system", "create", "--root", str(root),
            "--target-dir", str(tmp_path / "target"), "--temp-dir", str(tmp_path / "scratch")]  # fmt: skip


@pytest.mark.network
@pytest.mark.parametrize(
    ("program", "sig"),
    [
        ("mksquashfs", signal.SIGINT),
        pytest.param("mksquashfs", signal.SIGTERM, marks=pytest.mark.extended),
        ("xorriso", signal.SIGTERM),
    ],
    ids=["mksquashfs-SIGINT", "mksquashfs-SIGTERM", "xorriso-SIGTERM"],
)
def test_interrupted_live_iso(prepared_root, tmp_path, program, sig):
    """While the live ISO's squashfs root or the ISO itself is written. For xorriso the
    squashfs is compressed with lz4: the ISO is bigger and comes sooner."""
    attributes = ("squashfscompression=lz4",) if program == "xorriso" else ()
    with _prepared_as(prepared_root, "live", *attributes):
        outcome = interrupt(
            _create_argv(prepared_root, tmp_path), rf"\$ {program} ", [sig], delay=1.0
        )
    assert_clean(outcome, sig, tmp_path, prepared_root)
    assert not list((prepared_root / "var/tmp").iterdir())


@pytest.mark.network
@pytest.mark.parametrize("sig", ONE_IN_CI, ids=lambda s: s.name)
def test_interrupted_install_payload_compression(prepared_root, tmp_path, sig):
    """While the finished disk is compressed into the install ISO's payload."""
    with _prepared_as(prepared_root, "install"):
        outcome = interrupt(_create_argv(prepared_root, tmp_path), r"\$ zstd ", [sig], delay=0.2)
    assert_clean(outcome, sig, tmp_path, prepared_root)
    assert not list((prepared_root / "var/tmp").iterdir())


def _kill_when(argv: list[str], ready: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "kiwi_like", *argv],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=dict(os.environ, PYTHONPATH=str(REPO)))  # fmt: skip
    deadline = time.monotonic() + 300
    while not ready.exists():
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)
    process.kill()
    process.wait()


def test_next_run_cleans_up_after_a_sigkill(kiwi, description, tmp_path):  # noqa: F811
    (description / "config.sh").write_text(SLOW_CONFIG_SH)
    scratch, root = tmp_path / "scratch", tmp_path / "target/build/image-root"
    _kill_when(build_argv(description, tmp_path), root / "started")
    time.sleep(0.5)  # the chroot's PID namespace goes with its parent
    assert not processes_mentioning(tmp_path)
    stale = [p for p in scratch.iterdir() if p.name.startswith("kiwi-like-")]
    assert len(stale) == 1 and (stale[0] / leftovers.OWNER_FILE).is_file()
    policy = root / "usr/sbin/policy-rc.d"
    assert policy.is_file()  # the killed run's build-time file
    # Not ours to remove: no owner file, and one whose owner (this test) still runs.
    foreign = scratch / "kiwi-like-not-ours"
    foreign.mkdir()
    alive = scratch / "kiwi-like-alive"
    alive.mkdir()
    leftovers.claim(alive)

    (description / "config.sh").write_text("#!/bin/sh\necho second > /second-run\n")
    done = kiwi(*build_argv(description, tmp_path, "--allow-existing-root")[2:])
    assert done.code == 0, done.err
    assert "left behind by an earlier run that was killed" in done.err
    assert not stale[0].exists() and foreign.is_dir() and alive.is_dir()
    assert not policy.exists() and (root / "second-run").is_file()
    resolv = root / "etc/resolv.conf"
    assert not resolv.exists() or "kiwi-like" not in resolv.read_text()


def test_sigkill_during_create_leaves_no_result(kiwi, description, tmp_path):  # noqa: F811
    # killed when images.sh starts: the staging directory exists, no result yet
    (description / "images.sh").write_text("#!/bin/sh\ntouch /image-started\n")
    argv = build_argv(description, tmp_path)
    target, root = tmp_path / "target", tmp_path / "target/build/image-root"
    _kill_when(argv, root / "image-started")
    assert result_files(target) == []
    assert list(target.glob(".kiwi-like-staging-*"))  # what the next run must remove
    done = kiwi("--profile", "extra", "system", "create", "--root", str(root),
                "--target-dir", str(target), "--config", str(description / "runtime.yml"))  # fmt: skip
    assert done.code == 0, done.err
    assert not list(target.glob(".kiwi-like-staging-*"))
    assert "Test-Image.x86_64-2.0.1.docker.tar.xz" in result_files(target)
    assert "kiwi.result.json" in result_files(target)
