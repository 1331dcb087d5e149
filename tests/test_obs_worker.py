"""kiwi-like as the image builder of Open Build Service workers (issue 16).

* A plain chroot (what obs-build's `--vm-type chroot` makes): its `/` is not a mount
  point, its `/dev` is static and the mount that holds it is shared with the host. Every
  private mount namespace kiwi-like makes must work there and leak no mount.
* In a worker (`/.buildenv`) the root and initrd caches are off unless the runtime
  configuration turns them on.
* The end-to-end run of obs-build's kiwi recipe (`network`, `slow`, `boot`) is below.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from kiwi_like import buildservice
from kiwi_like.create.boot.initrdcache import cache_directory
from kiwi_like.prepare.rootcache import RootCache
from kiwi_like.runtime_config import DEFAULT_ROOT_CACHE_SIZE, RuntimeConfig
from tests.conftest import REPO, SHARED_CACHE, q35_extended

ROOT = os.geteuid() == 0
BUSYBOX = Path("/bin/busybox")
needs_root = pytest.mark.skipif(not ROOT, reason="mount namespaces and chroot need root")

# Builds the chroot and runs $CODE in it with the tree's python. It runs in a mount
# namespace of the test's own, so nothing reaches the real host even if kiwi-like leaked
# mounts; in it, the chroot lives on a *shared* tmpfs, as a chroot on a systemd host
# does: a mount made inside the chroot that is not private shows up in this namespace.
_WORKER_CHROOT = r"""
set -eu
top=$1; repo=$2; prefix=$3; base=$4; python=$5; code=$6
mount -t tmpfs -o size=512m tmpfs "$top"
mount --make-shared "$top"
chroot=$top/chroot
mkdir -p "$chroot/usr" "$chroot/etc" "$chroot/proc" "$chroot/dev" "$chroot/tmp" "$chroot/kiwi-work"
for link in bin sbin lib lib32 lib64 libx32; do
    if [ -L "/$link" ]; then ln -s "$(readlink "/$link")" "$chroot/$link"; fi
done
mount --rbind /usr "$chroot/usr"
mount --bind /etc "$chroot/etc"
mount -t proc proc "$chroot/proc"
for dir in "$repo" "$prefix" "$base"; do
    case $dir in /usr|/usr/*) continue ;; esac
    mkdir -p "$chroot$dir"
    mountpoint -q "$chroot$dir" || mount --bind "$dir" "$chroot$dir"
done
# a static /dev: device files, no devtmpfs
cp -a /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty "$chroot/dev/"
if [ -e /dev/loop-control ]; then cp -a /dev/loop-control /dev/loop[0-9]* "$chroot/dev/"; fi
touch "$chroot/.buildenv"
status=0
chroot "$chroot" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    PYTHONPATH="$repo" "$python" -c "$code" || status=$?
echo "--- mounts under /kiwi-work:"
awk -v w="$chroot/kiwi-work" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo
exit $status
"""


def run_in_worker_chroot(tmp_path: Path, code: str) -> tuple[int, str, list[str]]:
    """Run python `code` in a plain chroot (see _WORKER_CHROOT), with kiwi_like importable
    and `/kiwi-work` as its scratch directory. Returns the exit code, the output and the mount
    points below `/kiwi-work` the test's namespace sees afterwards (leaked ones)."""
    top = tmp_path / "worker"
    top.mkdir()
    argv = [
        "unshare", "--mount", "--propagation", "private", "--", "sh", "-c", _WORKER_CHROOT,
        "worker-chroot", str(top), str(REPO), sys.prefix, sys.base_prefix,
        sys.executable, textwrap.dedent(code),
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    output, _, mounts = done.stdout.partition("--- mounts under /kiwi-work:\n")
    return done.returncode, output + done.stderr, mounts.split()


@needs_root
def test_plain_chroot_root_is_not_a_mount_point(tmp_path):
    """The situation itself: `unshare --propagation private` fails in such a chroot."""
    code = """
        import subprocess, sys
        from kiwi_like import run
        assert not run.root_is_mount_point()
        done = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                              capture_output=True, text=True)
        print("plain unshare:", done.returncode, done.stderr.strip())
    """
    status, output, _ = run_in_worker_chroot(tmp_path, code)
    assert status == 0, output
    assert "cannot change root filesystem propagation" in output


@needs_root
@pytest.mark.skipif(not BUSYBOX.is_file(), reason="needs busybox-static (make setup)")
def test_chroot_commands_work_in_a_plain_chroot_and_leak_no_mount(tmp_path):
    """kiwi_like.chroot mounts /proc, /sys, /dev and binds into the image root for each
    command: in a worker chroot too, and none of those mounts reaches the host."""
    code = """
        import shutil
        from pathlib import Path
        from kiwi_like.chroot import Bind, run_in_root
        root = Path("/kiwi-work/image-root")
        (root / "bin").mkdir(parents=True)
        shutil.copy2("/bin/busybox", root / "bin/busybox")
        (root / "bin/sh").symlink_to("busybox")
        shared = Path("/kiwi-work/shared")
        shared.mkdir()
        (shared / "marker").write_text("bound\\n")
        result = run_in_root(
            root,
            ["/bin/busybox", "sh", "-c",
             "busybox cat /mnt/shared/marker; busybox ls /proc/self/ >/dev/null && echo proc-ok;"
             " busybox ls /sys/kernel >/dev/null && echo sys-ok; echo dev > /dev/null && echo dev-ok;"
             " echo pid=$$"],
            binds=[Bind(shared, "/mnt/shared")],
            private_tmp=True,
        )
        print(result.output)
    """
    status, output, leaked = run_in_worker_chroot(tmp_path, code)
    assert status == 0, output
    for line in ("bound", "proc-ok", "sys-ok", "dev-ok", "pid=1"):
        assert line in output.splitlines(), output
    assert leaked == []


@needs_root
@pytest.mark.skipif(not shutil.which("mkfs.xfs"), reason="needs xfsprogs (make setup)")
@pytest.mark.skipif(not Path("/dev/loop-control").exists(), reason="needs loop devices")
def test_xfs_root_file_system_in_a_plain_chroot(tmp_path):
    """The xfs root is filled through a loop mount in a private namespace: also there."""
    code = """
        import subprocess
        from dataclasses import dataclass
        from pathlib import Path
        from kiwi_like.create.boot.filesystems import make_root_filesystem

        @dataclass(frozen=True)
        class Place:
            filesystem: str = "xfs"
            size: int = 320 << 20
            uuid: str = "6f1c8a52-34c1-4bd4-9ba4-1d6b3c4f2a10"
            label: str = "ROOT"

        tree = Path("/kiwi-work/tree")
        (tree / "etc").mkdir(parents=True)
        (tree / "etc/hostname").write_text("worker\\n")
        work = Path("/kiwi-work/scratch")
        work.mkdir()
        make_root_filesystem(Place(), tree, Path("/kiwi-work/root.xfs"), work)
        print("xfs-ok")
        # the file system holds the tree: read it back without mounting
        subprocess.run(["xfs_db", "-r", "-c", "ls /etc", "/kiwi-work/root.xfs"], check=True)
    """
    status, output, leaked = run_in_worker_chroot(tmp_path, code)
    if "failed to setup loop device" in output or "No such device" in output:
        pytest.skip("no free loop device here")
    assert status == 0, output
    assert "xfs-ok" in output
    assert leaked == []
    assert "hostname" in output, output


# -- caches in a worker ---------------------------------------------------------------


@pytest.fixture
def in_worker(tmp_path, monkeypatch):
    root = tmp_path / "worker-root"
    root.mkdir()
    (root / buildservice.BUILDENV).touch()
    monkeypatch.setenv(buildservice.ROOT_VARIABLE, str(root))
    return root


@pytest.fixture
def outside_worker(tmp_path, monkeypatch):
    root = tmp_path / "no-worker"
    root.mkdir()
    monkeypatch.setenv(buildservice.ROOT_VARIABLE, str(root))


def test_root_cache_is_off_in_a_worker_unless_configured(in_worker, tmp_path):
    assert not RootCache(tmp_path / "cache", None).enabled
    configured = RootCache(tmp_path / "cache", 1 << 30)
    assert configured.enabled and configured.size_limit == 1 << 30


def test_root_cache_is_on_by_default_outside_a_worker(outside_worker, tmp_path):
    cache = RootCache(tmp_path / "cache", None)
    assert cache.enabled and cache.size_limit == DEFAULT_ROOT_CACHE_SIZE
    assert not RootCache(tmp_path / "cache", 0).enabled


def test_initrd_cache_is_off_in_a_worker_unless_configured(in_worker, tmp_path):
    shared = tmp_path / "cache"
    assert cache_directory(RuntimeConfig(shared_cache_dir=shared, initrd_cache=None)) is None
    assert cache_directory(RuntimeConfig(shared_cache_dir=shared, initrd_cache=True)) == shared
    assert cache_directory(RuntimeConfig(shared_cache_dir=shared, initrd_cache=False)) is None


def test_initrd_cache_is_on_by_default_outside_a_worker(outside_worker, tmp_path):
    shared = tmp_path / "cache"
    assert cache_directory(RuntimeConfig(shared_cache_dir=shared, initrd_cache=None)) == shared
    assert cache_directory(RuntimeConfig(shared_cache_dir=shared, initrd_cache=False)) is None


# -- the end-to-end run of obs-build's kiwi recipe ------------------------------------
#
# As an Open Build Service worker builds an image (doc/obs.md): obs-build makes a build
# root from packages (the distribution's config plus what Kiwi.pm derives from the
# description, `kiwi` being our .deb), puts the image's packages under
# SOURCES/repos/Debian:12/standard, and runs `kiwi system build` and `kiwi result
# bundle` in the chroot. Packages come from the host's apt sources and are kept in
# OBS_CACHE between runs.

OBS_BUILD = shutil.which("obs-build")
OBS_LIB = Path("/usr/lib/obs-build")
OBS_CACHE = SHARED_CACHE / "tests/obs-build"
OBS_PROJECT = "Debian:12/standard"
RELEASE = "1.1"
RECIPE = "obs-debian.kiwi"
IMAGE_NAME, IMAGE_VERSION = "Debian-OBS-Disk", "1.2.0"
# obs-build's configs/bookworm.conf names packages bookworm no longer has.
STALE_NAMES = {"libgcc1": "libgcc-s1", "libmpfr4": "libmpfr6", "libsepol1": "libsepol2"}
# Kiwi.pm's pseudo dependencies, as a Debian project config maps them (no .deb can
# Provide a name with a colon). debootstrap: the recipe indexes the repositories for
# apt only when the build root has it; mmdebstrap comes with kiwi-like; kiwi-like's
# Depends hold the disk tools.
SUBSTITUTES = {
    "kiwi-packagemanager:apt": ["debootstrap"],
    "kiwi-image:oem": [],
    "kiwi-filesystem:ext4": ["e2fsprogs"],
}

# Written as an Open Build Service user writes it: the project's repository by its
# obs:// name, no gpgcheck attribute, the packages the image needs and nothing else.
# The boot report (a oneshot unit that prints BOOT-OK on the serial line) comes from
# config.sh: OBS sources are flat files, there is no root/ overlay directory.
OBS_DESCRIPTION = f"""\
<?xml version="1.0" encoding="utf-8"?>
<image schemaversion="7.4" name="{IMAGE_NAME}">
    <description type="system">
        <author>kiwi-like developers</author>
        <contact>kiwi-like@example.org</contact>
        <specification>Debian 12 disk built by obs-build's kiwi recipe</specification>
    </description>
    <preferences>
        <version>{IMAGE_VERSION}</version>
        <packagemanager>apt</packagemanager>
        <locale>POSIX</locale>
        <timezone>UTC</timezone>
        <type image="oem" filesystem="ext4" firmware="uefi" kernelcmdline="console=ttyS0,115200">
            <bootloader name="grub2" console="serial" timeout="1"/>
        </type>
    </preferences>
    <users>
        <user name="root" password="!" pwdformat="encrypted" home="/root" shell="/bin/bash" groups="root"/>
    </users>
    <repository type="apt-deb" distribution="bookworm" components="main">
        <source path="obs://{OBS_PROJECT}"/>
    </repository>
    <packages type="image">
        <package name="linux-image-amd64"/>
        <package name="initramfs-tools"/>
        <package name="systemd"/>
        <package name="systemd-sysv"/>
        <package name="udev"/>
        <package name="e2fsprogs"/>
        <package name="fdisk"/>
        <package name="grub-pc-bin"/>
        <package name="grub-efi-amd64-bin"/>
        <package name="shim-signed"/>
        <package name="grub-efi-amd64-signed"/>
    </packages>
    <packages type="bootstrap">
        <package name="ca-certificates"/>
    </packages>
</image>
"""
OBS_CONFIG_SH = r"""#!/bin/bash
set -euo pipefail
test -f /.kconfig && . /.kconfig
test -f /.profile && . /.profile
cat > /usr/local/sbin/boot-ok <<'SCRIPT'
#!/bin/sh
if [ -d /sys/firmware/efi ]; then fw=efi; else fw=bios; fi
echo "BOOT-OK fw=$fw root=$(findmnt -no SOURCE /) fs=$(findmnt -no FSTYPE /)" > /dev/ttyS0
systemctl --no-block poweroff
SCRIPT
chmod 755 /usr/local/sbin/boot-ok
cat > /etc/systemd/system/boot-ok.service <<'UNIT'
[Unit]
Description=Report a finished boot on the serial line and power off
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/boot-ok

[Install]
WantedBy=multi-user.target
UNIT
systemctl enable boot-ok.service
"""

# obs-build in a mount namespace of the test's own, its build root on a *shared* bind
# mount (as on a systemd host): whatever stays mounted below it afterwards, by
# obs-build or by kiwi-like inside the chroot, is listed in $top/mounts-left.
_RUN_OBS_BUILD = r"""
top=$1; shift
mount --bind "$top" "$top" && mount --make-shared "$top" || exit 99
"$@"
status=$?
awk -v top="$top/" 'index($5, top) == 1 { print $5 }' /proc/self/mountinfo > "$top/mounts-left"
exit $status
"""


def kiwi_pm(recipe: Path, query: str) -> list[str]:
    """What obs-build's own description parser says (Build::Kiwi::show)."""
    done = subprocess.run(
        ["perl", f"-I{OBS_LIB}", "-MBuild::Kiwi", "-e", "Build::Kiwi::show", str(recipe), query,
         "x86_64"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.split()


def obs_dist_config(config_dir: Path) -> str:
    """obs-build's bookworm.conf with the stale names fixed, preinstallexpand (what the
    build root's Preinstall packages need comes along) and the Substitute lines."""
    text = (OBS_LIB / "configs/bookworm.conf").read_text()
    for old, new in STALE_NAMES.items():
        text = re.sub(rf"(?<=\s){re.escape(old)}(?=\s)", new, text)
    text += "\nExpandFlags: preinstallexpand\n"
    text += "".join(f"Substitute: {name} {' '.join(real)}\n" for name, real in SUBSTITUTES.items())
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "bookworm.conf").write_text(text)
    return text


def config_packages(text: str) -> list[str]:
    """The Preinstall, Required and Support packages of a build config."""
    names: list[str] = []
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("preinstall", "required", "support"):
            names += value.split()
    return list(dict.fromkeys(names))


def apt_download(names: list[str], archives: Path) -> list[Path]:
    """The .debs of `names` and everything they depend on (no Recommends), downloaded
    from the host's apt sources into `archives` (reused there), as if nothing were
    installed: a private empty dpkg status, the host's package lists."""
    (archives / "partial").mkdir(parents=True, exist_ok=True)
    status = archives.parent / f"{archives.name}.status"
    status.write_text("")
    options = [
        "-o", f"Dir::State::status={status}", "-o", f"Dir::Cache::archives={archives}/",
        "-o", "Debug::NoLocking=1", "-o", "APT::Sandbox::User=root", "-o", "Acquire::Retries=3",
    ]  # fmt: skip
    # the whole plan: --print-uris leaves out what the archives already hold
    empty = archives.parent / f"{archives.name}.plan"
    (empty / "partial").mkdir(parents=True, exist_ok=True)
    planned = subprocess.run(
        ["apt-get", "-q", "-y", "--no-install-recommends", *options,
         "-o", f"Dir::Cache::archives={empty}/", "--print-uris", "install", *names],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    files = [
        archives / line.split()[1] for line in planned.stdout.splitlines() if line.startswith("'")
    ]
    done = subprocess.run(
        ["apt-get", "-q", "-y", "--no-install-recommends", *options, "--download-only",
         "install", *names],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return [file for file in files if file.is_file()]


def link_into(files: list[Path], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for file in files:
        try:
            os.link(file, directory / file.name)
        except OSError:
            shutil.copy2(file, directory / file.name)


@dataclass(frozen=True)
class ObsRun:
    returncode: int
    log: str
    results: Path  # /usr/src/packages/KIWI of the build root
    mounts_left: list[str]
    seconds: float


@pytest.fixture(scope="module")
def obs_run(tmp_path_factory) -> ObsRun:
    if not ROOT:
        pytest.skip("obs-build builds as root")
    if OBS_BUILD is None:
        pytest.skip("needs obs-build (make setup)")
    from tests.test_deb import build_deb

    deb = build_deb()
    top = tmp_path_factory.mktemp("obs")
    sources = top / "sources"
    sources.mkdir()
    recipe = sources / RECIPE
    recipe.write_text(OBS_DESCRIPTION)
    (sources / "config.sh").write_text(OBS_CONFIG_SH)
    config = obs_dist_config(top / "configs")
    deps = kiwi_pm(recipe, "deps")
    pseudo = [name for name in deps if ":" in name]
    assert set(pseudo) <= set(SUBSTITUTES), f"map these in SUBSTITUTES: {pseudo}"
    base = config_packages(config)
    # the build root: the config's packages, the recipe's tools (tar, dpkg-dev for
    # deb repositories), the substitutes of the pseudo dependencies and kiwi (our .deb)
    tools = ["tar", "dpkg-dev", *(real for name in pseudo for real in SUBSTITUTES[name])]
    build_root_debs = apt_download([*base, *tools, str(deb)], OBS_CACHE / "build-root")
    packages = top / "packages"
    link_into([*build_root_debs, deb], packages)
    # the image's packages as the build service collects them for a kiwi image: what the
    # description names (Kiwi.pm) and what the config's packages add, with dependencies
    image_debs = apt_download(
        [*(name for name in deps if ":" not in name), *base], OBS_CACHE / "image"
    )
    link_into(image_debs, sources / "repos" / OBS_PROJECT)
    build_root = top / "build-root"
    command = [
        OBS_BUILD, "--vm-type", "chroot", "--root", str(build_root),
        "--configdir", str(top / "configs"), "--dist", "bookworm", "--repo", str(packages),
        "--release", RELEASE, "--clean",
        # obs-build's way to hand an option to `kiwi result bundle` (osc build has it too):
        # the raw disk stays uncompressed, which saves 2-5 minutes of xz here
        "--kiwi-parameter", "--bundle:no-compress",
        str(recipe),
    ]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", _RUN_OBS_BUILD,
         "run-obs-build", str(top), *command],
        capture_output=True, text=True, check=False, timeout=1800,
    )  # fmt: skip
    seconds = time.monotonic() - started
    (top / "obs-build.log").write_text(done.stdout + done.stderr)
    left = (top / "mounts-left").read_text().split() if (top / "mounts-left").exists() else []
    return ObsRun(
        done.returncode,
        done.stdout + done.stderr,
        build_root / "usr/src/packages/KIWI",
        left,
        seconds,
    )


def test_kiwi_pm_accepts_the_description(tmp_path):
    """obs-build's own parser reads the description as the recipe does."""
    recipe = tmp_path / RECIPE
    recipe.write_text(OBS_DESCRIPTION)
    assert kiwi_pm(recipe, "imagetype") == ["oem"]
    assert kiwi_pm(recipe, "filename") == [IMAGE_NAME]
    assert kiwi_pm(recipe, "version") == [IMAGE_VERSION]
    deps = kiwi_pm(recipe, "deps")
    assert {"linux-image-amd64", "grub-efi-amd64-bin", "kiwi-packagemanager:apt"} <= set(deps)
    assert {name for name in deps if ":" in name} <= set(SUBSTITUTES)


def test_obs_dist_config_fixes_the_stale_names(tmp_path):
    if not (OBS_LIB / "configs/bookworm.conf").is_file():
        pytest.skip("needs obs-build (make setup)")
    text = obs_dist_config(tmp_path)
    names = config_packages(text)
    assert not set(STALE_NAMES) & set(names)
    assert set(STALE_NAMES.values()) <= set(names)
    assert "Substitute: kiwi-packagemanager:apt debootstrap" in text


@pytest.mark.network
@pytest.mark.slow
def test_obs_build_kiwi_recipe(obs_run):
    """The whole recipe succeeds with kiwi-like as `kiwi`; the bundle is complete."""
    assert obs_run.returncode == 0, obs_run.log[-6000:]
    # the recipe found a symlink at /usr/bin/kiwi: kiwi NG mode, not legacy kiwi 3
    assert "system build" in obs_run.log and "result bundle" in obs_run.log
    prefix = f"{IMAGE_NAME}.x86_64-{IMAGE_VERSION}-Build{RELEASE}"
    names = sorted(path.name for path in obs_run.results.iterdir())
    assert names and all(name.startswith(prefix) for name in names), names
    disks = [name for name in names if name.endswith((".raw", ".raw.xz"))]
    assert len(disks) == 1, names
    for name in names:
        if name.endswith(".sha256"):
            continue
        checksum = obs_run.results / f"{name}.sha256"
        if checksum.exists():
            digest = hashlib.sha256()
            with (obs_run.results / name).open("rb") as stream:
                while block := stream.read(1 << 20):
                    digest.update(block)
            assert checksum.read_text().split()[0] == digest.hexdigest(), name
    assert (obs_run.results / f"{disks[0]}.sha256").exists()
    packages = (obs_run.results / f"{prefix}.packages").read_text()
    listed = {line.split("|")[0] for line in packages.splitlines()}
    assert {"linux-image-amd64", "systemd", "grub-efi-amd64-bin"} <= listed
    assert obs_run.mounts_left == []


@pytest.mark.network
@pytest.mark.slow
def test_obs_build_worker_behaviour(obs_run):
    """In the worker: obs:// mapped to SOURCES/repos and trusted, caches off."""
    assert obs_run.returncode == 0, obs_run.log[-3000:]
    log = obs_run.log
    assert "/usr/src/packages/SOURCES/repos/Debian:12/standard" in log
    assert "Root cache: off in a build-service worker" in log
    assert "Initrd cache: off in a build-service worker" in log
    cache = obs_run.results.parent.parent.parent.parent / "var/cache/kiwi-like"
    for stored in ("roots", "initrd"):
        entries = [p for p in (cache / stored).glob("*") if p.name != ".lock"]
        assert entries == [], stored


@pytest.fixture(scope="module")
def obs_boots(request, obs_run, tmp_path_factory):
    """The built disk's boots, all started at once (they run side by side)."""
    from tests import qemu
    from tests.conftest import selected

    boots = qemu.Boots()
    if obs_run.returncode != 0:
        return boots
    (disk,) = [p for p in obs_run.results.iterdir() if p.name.endswith((".raw", ".raw.xz"))]
    if disk.name.endswith(".xz"):
        plain = tmp_path_factory.mktemp("obs-disk") / disk.name.removesuffix(".xz")
        with plain.open("wb") as out:
            subprocess.run(["xz", "-dc", str(disk)], stdout=out, check=True)
        disk = plain
    for firmware in selected(request, "test_obs_built_disk_boots"):
        boots.start(firmware, disk, firmware)
    return boots


@pytest.mark.network
@pytest.mark.slow
@pytest.mark.boot
# the JeOS disk boots on q35 in CI (test_build_oem), this one in `make test-extended`
@pytest.mark.parametrize("firmware", q35_extended("bios", "efi", "efi-q35"))
def test_obs_built_disk_boots(obs_run, obs_boots, firmware):
    from tests.qemu import OVMF

    if firmware != "bios" and not OVMF.is_file():
        pytest.skip("needs ovmf (make setup)")
    assert obs_run.returncode == 0, obs_run.log[-3000:]
    result = obs_boots[firmware]
    assert result.marker is not None, result.tail()
    assert result.fields()["fw"] == firmware.removesuffix("-q35")
    assert result.fields()["fs"] == "ext4"
