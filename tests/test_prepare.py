"""`system prepare` end to end, offline, against a local signed apt repository.

The repository holds tiny packages the tests build with dpkg-deb, so the root is
bootstrapped with mmdebstrap's `custom` variant (no apt inside it) and the
adapter serves it from the host: the same prepare steps, in seconds.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from kiwi_like.prepare.pipeline import STATE_FILE
from tests.conftest import REPO
from tests.debrepo import DebPackage, DebRepo, build_repo, busybox_package
from tests.descriptions import CUSTOM_BOOTSTRAP, Image, Repository, write_description

PASSWORD_HASH = "$6$testsalt$9kQ2q6y0hXk5o7gq9c6Sxq1y9B8n5m3Yb2rV0bLkqv2V2yq6pH6z0rR4G1o0y7aQ3a5Z1mX9c8v7b6n5m4l3k."

PACKAGES = [
    DebPackage("test-base", files={"/usr/share/test-base/hello": "hello\n"}),
    DebPackage(
        "test-app",
        depends=("test-base",),
        files={"/usr/bin/test-app": "#!/bin/sh\necho app\n"},
        postinst='mkdir -p "$DPKG_ROOT/var/lib/test-app"\n'
        'echo configured > "$DPKG_ROOT/var/lib/test-app/installed-marker"\n',
    ),
    DebPackage("test-tzdata", files={"/usr/share/zoneinfo/Europe/Berlin": "TZif2 fake zone\n"}),
    DebPackage("test-doomed", files={"/usr/share/test-doomed/file": "x\n"}),
    DebPackage("test-leaf", depends=("test-leaf-dep",), files={"/usr/share/test-leaf/f": "x\n"}),
    DebPackage("test-leaf-dep", files={"/usr/share/test-leaf-dep/f": "x\n"}),
    DebPackage("test-slow", postinst='touch "$DPKG_ROOT/started"\nsleep 60\n'),
    DebPackage("test-extra", files={"/usr/share/test-extra/f": "extra\n"}),
]

ARCHIVE = '<archive name="extras.tar.gz"/>'
MOTD = '<file name="motd.txt" target="/etc/motd" owner="tester:testers" permissions="0640"/>'


def offline_image(repo: Path, key: Path) -> Image:
    """Every prepare step has something to do: profiles, users, delete, archive, <file>."""
    users = [
        {"name": "root", "password": PASSWORD_HASH, "home": "/root", "groups": "root"},
        {"name": "tester", "password": PASSWORD_HASH, "home": "/home/tester",
         "shell": "/bin/sh", "id": "2001", "groups": "testers,wheel"},
    ]  # fmt: skip
    return Image(
        name="Test-Image",
        version="2.0.1",
        specification="offline test image",
        profiles={"extra": "adds a profile overlay"},
        preferences={"locale": "de_DE", "keytable": "de", "timezone": "Europe/Berlin"},
        users=users,
        repositories=[
            Repository(f"dir://{repo}", alias="local", key=key, attributes={"imageinclude": "true"})
        ],
        packages={
            "bootstrap": ["test-busybox"],
            "image": ["test-app", "test-tzdata", "test-doomed", "test-leaf", ARCHIVE, MOTD],
            "delete": ["test-doomed"],
            "uninstall": ["test-leaf"],
        },
    )


CONFIG_SH = """#!/bin/sh
set -e
test -f /.kconfig && . /.kconfig
test -f /.profile && . /.profile
echo "config.sh for $kiwi_iname $kiwi_iversion type=$kiwi_type profiles=$kiwi_profiles" > /etc/config-sh-ran
"""


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> DebRepo:
    return build_repo(tmp_path_factory.mktemp("repo"), [*PACKAGES, busybox_package()])


@pytest.fixture
def description(tmp_path: Path, repo: DebRepo) -> Path:
    files = {
        "root/etc/overlay/from-root": "root overlay\n",
        "extra/etc/overlay/from-profile": "profile overlay\n",
        "motd.txt": "welcome\n",
        "config.sh": CONFIG_SH,
        "runtime.yml": CUSTOM_BOOTSTRAP,
    }
    directory = write_description(
        tmp_path / "description", offline_image(repo.path, repo.key), files
    )
    archive_dir = tmp_path / "archive/opt/extras"
    archive_dir.mkdir(parents=True)
    (archive_dir / "tool").write_text("from the archive\n")
    with tarfile.open(directory / "extras.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "archive/opt", arcname="opt")
    return directory


def prepare(kiwi, description: Path, root: Path, cache: Path, *extra: str):
    return kiwi(
        "--profile", "extra", "system", "prepare",
        "--description", str(description), "--root", str(root),
        "--shared-cache-dir", str(cache), "--config", str(description / "runtime.yml"), *extra,
    )  # fmt: skip


def mounts() -> str:
    return Path("/proc/self/mountinfo").read_text()


def test_prepare_builds_the_described_root(kiwi, description, tmp_path, caplog):
    root, cache = tmp_path / "root", tmp_path / "cache"
    before = mounts()
    result = prepare(kiwi, description, root, cache)
    assert result.code == 0, result.err
    assert mounts() == before

    # packages, their dependency and a maintainer script
    assert (root / "usr/share/test-base/hello").read_text() == "hello\n"
    assert (root / "var/lib/test-app/installed-marker").read_text() == "configured\n"
    # delete and uninstall (with its now unneeded dependency)
    assert not (root / "usr/share/test-doomed").exists()
    assert not (root / "usr/share/test-leaf").exists()
    assert not (root / "usr/share/test-leaf-dep").exists()
    # archive, overlay trees, <file>
    assert (root / "opt/extras/tool").read_text() == "from the archive\n"
    assert (root / "etc/overlay/from-root").read_text() == "root overlay\n"
    assert (root / "etc/overlay/from-profile").read_text() == "profile overlay\n"
    motd = root / "etc/motd"
    assert motd.read_text() == "welcome\n"
    assert oct(motd.stat().st_mode & 0o777) == "0o640"
    assert motd.stat().st_uid == 2001
    # users and groups
    passwd = (root / "etc/passwd").read_text()
    assert "tester:x:2001:" in passwd and ":/home/tester:/bin/sh" in passwd
    groups = (root / "etc/group").read_text()
    assert "testers:" in groups and "wheel:" in groups and "wheel:x:" in groups
    shadow = (root / "etc/shadow").read_text()
    assert f"tester:{PASSWORD_HASH}:" in shadow and f"root:{PASSWORD_HASH}:" in shadow
    assert (root / "home/tester").is_dir()
    # locale, keytable, timezone, hostname
    assert (root / "etc/default/locale").read_text() == "LANG=de_DE.UTF-8\n"
    assert (root / "etc/vconsole.conf").read_text() == "KEYMAP=de\n"
    assert os.readlink(root / "etc/localtime") == "/usr/share/zoneinfo/Europe/Berlin"
    assert (root / "etc/hostname").read_text() == "test-image\n"
    # config.sh ran in the root with kiwi's environment, then its traces were removed
    assert (root / "etc/config-sh-ran").read_text() == (
        "config.sh for Test-Image 2.0.1 type=docker profiles=extra\n"
    )
    assert not (root / ".kconfig").exists() and not (root / ".profile").exists()
    assert not (root / "image/scripts").exists()
    # repositories: imageinclude keeps it (a local one cannot be), build files are gone
    assert not (root / "etc/apt/kiwi-like-build").exists()
    # the builder's files do not stay in the image
    host_resolv = Path("/etc/resolv.conf").read_bytes()
    resolv = root / "etc/resolv.conf"
    assert not resolv.exists() or resolv.read_bytes() != host_resolv
    assert not (root / "usr/sbin/policy-rc.d").exists()
    assert (root / STATE_FILE).is_file()
    # the password is never logged
    assert PASSWORD_HASH not in result.err


def test_package_metadata(kiwi, description, tmp_path):
    from kiwi_like.description import BuildOptions, load_build
    from kiwi_like.installer import package_manager_for
    from kiwi_like.prepare.metadata import write_package_metadata
    from kiwi_like.runtime_config import load_runtime_config

    root = tmp_path / "root"
    assert prepare(kiwi, description, root, tmp_path / "cache").code == 0
    (root / "usr/share/test-base/hello").write_text("changed\n")
    config = load_runtime_config(str(description / "runtime.yml"))
    build = load_build(description, BuildOptions(profiles=("extra",)), config)
    config = dataclasses.replace(config, shared_cache_dir=tmp_path / "cache")
    manager = package_manager_for(build, root, tmp_path, config)
    packages, verified = write_package_metadata(manager, tmp_path / "out", build.result_basename)
    assert packages.name == "Test-Image.x86_64-2.0.1.packages"
    lines = packages.read_text().splitlines()
    assert "test-app|None|1.0|None|all|None|None" in lines
    assert not any(line.startswith("test-doomed|") for line in lines)
    assert "/usr/share/test-base/hello" in verified.read_text()


def test_second_prepare_downloads_nothing(kiwi, description, tmp_path):
    cache = tmp_path / "cache"
    # without the root cache, which would skip the package steps altogether
    (description / "runtime.yml").write_text(
        "apt:\n  bootstrap_variant: custom\ncache:\n  root_cache_size: 0\n"
    )
    first = prepare(kiwi, description, tmp_path / "root1", cache)
    assert first.code == 0, first.err
    assert list((cache / "apt/archives").glob("test-app_*.deb"))
    second = prepare(kiwi, description, tmp_path / "root2", cache)
    assert second.code == 0, second.err
    downloads = [line for line in second.err.splitlines() if "packages downloaded" in line]
    assert downloads and all(": 0 packages downloaded" in line for line in downloads), downloads
    assert not (cache / "roots").exists()


def test_clear_cache(kiwi, description, tmp_path):
    cache = tmp_path / "cache"
    (cache / "apt/archives").mkdir(parents=True)
    stale = cache / "apt/archives/stale_1.0_all.deb"
    stale.write_text("old")
    assert prepare(kiwi, description, tmp_path / "root", cache, "--clear-cache").code == 0
    assert not stale.exists()


def test_existing_root_is_refused(kiwi, description, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "something").write_text("x")
    result = prepare(kiwi, description, root, tmp_path / "cache")
    assert result.code == 1
    assert result.error_lines == [
        f"kiwi-like: error: root directory {root} already exists and is not empty "
        "(use --allow-existing-root to reuse it)"
    ]


def test_failing_config_sh_is_one_line(kiwi, description, tmp_path):
    (description / "config.sh").write_text(
        "#!/bin/sh\necho preparing\necho 'no such thing' >&2\nexit 3\n"
    )
    before = mounts()
    result = prepare(kiwi, description, tmp_path / "root", tmp_path / "cache")
    assert result.code == 1
    assert result.error_lines == [
        "kiwi-like: error: config.sh failed with exit code 3: preparing | no such thing"
    ]
    assert "Traceback" not in result.err
    assert mounts() == before


def test_missing_package(kiwi, description, tmp_path):
    result = prepare(
        kiwi, description, tmp_path / "root", tmp_path / "cache", "--add-package", "no-such-pkg"
    )
    assert result.code == 1
    assert result.error_lines == [
        "kiwi-like: error: package not found in the repositories: no-such-pkg"
    ]
    assert str(tmp_path) not in mounts()


def test_unreachable_repository(kiwi, description, tmp_path):
    result = prepare(
        kiwi, description, tmp_path / "root", tmp_path / "cache",
        "--ignore-repos", "--add-repo", "http://127.0.0.1:9/debian,apt-deb,dead,,,,,main,bookworm,false",
    )  # fmt: skip
    assert result.code == 1
    assert len(result.error_lines) == 1
    assert "repository unreachable: http://127.0.0.1:9/debian" in result.error_lines[0]
    assert str(tmp_path) not in mounts()


def test_wrong_signing_key_is_refused(kiwi, description, repo, tmp_path, tmp_path_factory):
    other = build_repo(tmp_path_factory.mktemp("other"), [DebPackage("unrelated")])
    write_description(description, offline_image(repo.path, other.key))
    result = prepare(kiwi, description, tmp_path / "root", tmp_path / "cache")
    assert result.code == 1
    assert len(result.error_lines) == 1
    assert "signature" in result.error_lines[0] or "NO_PUBKEY" in result.error_lines[0]


@pytest.mark.parametrize("where", ["package-install", "config.sh"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_leaves_no_mount_or_process(description, tmp_path, where, sig):
    """Ctrl-C (or SIGTERM) while a package's postinst or config.sh runs: one line, nothing left."""
    root = tmp_path / "root"
    extra = []
    if where == "config.sh":
        (description / "config.sh").write_text("#!/bin/sh\ntouch /started\nsleep 60\n")
    else:
        extra = ["--add-package", "test-slow"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    process = subprocess.Popen(
        [
            sys.executable, "-m", "kiwi_like", "--profile", "extra", "system", "prepare",
            "--description", str(description), "--root", str(root),
            "--shared-cache-dir", str(tmp_path / "cache"), "--config", str(description / "runtime.yml"),
            *extra,
        ],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not (root / "started").exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "config.sh never started"
        time.sleep(0.2)
    process.send_signal(sig)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + sig
    assert not (root / ".kconfig").exists() and not (root / ".profile").exists()
    assert f"kiwi-like: error: interrupted by {sig.name}" in err.splitlines()
    assert "Traceback" not in err
    assert str(root) not in Path("/proc/self/mountinfo").read_text()
    assert str(root) not in Path("/proc/1/mountinfo").read_text()
    leftovers = subprocess.run(["pgrep", "-f", f"{root}"], capture_output=True, text=True)
    if leftovers.stdout:
        pids = ",".join(leftovers.stdout.split())
        ps = subprocess.run(
            ["ps", "-o", "pid,ppid,sid,args", "-p", pids], capture_output=True, text=True
        )
        pytest.fail(f"processes of the build are still running:\n{ps.stdout}")
    # the build-time files were taken out again
    assert not (root / "usr/sbin/policy-rc.d").exists()


def test_allow_existing_root_reuses_the_root(kiwi, description, tmp_path):
    root, cache = tmp_path / "root", tmp_path / "cache"
    assert prepare(kiwi, description, root, cache).code == 0
    (description / "root/etc/overlay/from-root").write_text("second run\n")
    again = prepare(kiwi, description, root, cache, "--allow-existing-root")
    assert again.code == 0, again.err
    assert "reusing the existing root" in again.err
    assert (root / "etc/overlay/from-root").read_text() == "second run\n"


def test_system_update_adds_and_deletes_packages(kiwi, description, tmp_path):
    root, cache = tmp_path / "root", tmp_path / "cache"
    assert prepare(kiwi, description, root, cache).code == 0

    def update(*options: str):
        return kiwi(
            "system", "update", "--root", str(root), "--shared-cache-dir", str(cache),
            "--config", str(description / "runtime.yml"), *options,
        )  # fmt: skip

    added = update("--add-package", "test-extra")
    assert added.code == 0, added.err
    assert (root / "usr/share/test-extra/f").read_text() == "extra\n"
    removed = update("--delete-package", "test-app")
    assert removed.code == 0, removed.err
    assert not (root / "usr/bin/test-app").exists()
    assert not (root / "usr/share/test-base/hello").exists()  # its dependency went too
    assert update().code == 0  # a plain update of everything
    assert not (root / "etc/apt/kiwi-like-build").exists()


def test_system_update_needs_a_prepared_root(kiwi, tmp_path):
    result = kiwi("system", "update", "--root", str(tmp_path))
    assert result.code == 1
    assert result.error_lines == [
        f"kiwi-like: error: {tmp_path} is not a prepared image root (no image/kiwi-like.json)"
    ]


def test_progress_on_a_terminal_and_in_a_log(caplog):
    import io

    from kiwi_like.progress import Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    progress = Progress(terminal)
    progress.update(3, 10, "Unpacking foo")
    progress.finish()
    assert "[   3/10] Unpacking foo" in terminal.getvalue()
    assert terminal.getvalue().endswith("\r\x1b[K")

    plain = Progress(io.StringIO())
    with caplog.at_level("INFO", logger="kiwi_like"):
        plain.update(10, 10, "Installed bar")
    assert plain.stream.getvalue() == ""


def test_state_file_keeps_no_credentials(tmp_path, description):
    from kiwi_like.description import BuildOptions, load_build
    from kiwi_like.prepare.pipeline import load_state, save_state
    from kiwi_like.runtime_config import RuntimeConfig

    options = BuildOptions(
        profiles=("extra",),
        add_repos=("https://alice:s3cret@repo.example/debian,apt-deb",),
        add_repo_credentials=("bob:hunter2",),
        set_repo_credentials="carol:pa55",
    )
    build = load_build(description, BuildOptions(profiles=("extra",)), RuntimeConfig())
    save_state(tmp_path, build, options)
    text = (tmp_path / STATE_FILE).read_text()
    for secret in ("s3cret", "hunter2", "pa55"):
        assert secret not in text
    _, loaded = load_state(tmp_path)
    assert loaded.profiles == ("extra",)
    assert loaded.add_repos == ("https://alice:***@repo.example/debian,apt-deb",)
