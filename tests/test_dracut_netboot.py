"""Network boot (kis) and network install (installpxe) with dracut as the initrd system.

build-tests/x86/debian-disk is prepared once more with `initrd_system=dracut` (dracut,
not initramfs-tools, in the root). Its pxe profile, with dracut, makes a kis tarball
whose initrd is the image's dracut with kiwi-like's netboot module; QEMU boots it with
the tarball's `.append` line, the root image served by a test HTTP server (as in
tests/test_pxe_boot.py). The install profile's network installer (kiwi's
`rd.kiwi.install.pxe rd.kiwi.install.image=<URL>`) installs onto a blank disk over
the network, and the disk boots (extended). The tests at the end need neither a root
nor QEMU: they run the modules' shell code with the host's sh.
"""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest

from kiwi_like.create.boot import dracut
from kiwi_like.create.disk import build_disk
from kiwi_like.create.iso.install import build_install_tarball, install_append_line
from kiwi_like.create.pxe.builder import append_line, check_kis_image, write_kis_files
from kiwi_like.description import BuildOptions, ResolvedBuild, load_build
from kiwi_like.description.imagetypes import image_packages
from kiwi_like.description.imagetypes.kis import KisSettings, kis_settings
from kiwi_like.errors import KiwiLikeError
from kiwi_like.runtime_config import RuntimeConfig
from tests import qemu
from tests.conftest import BOOT_TEST_DESCRIPTION, prepare_boot_test_root, selected
from tests.descriptions import Image, Type, write_description
from tests.netboot import NetBoot, netboot
from tests.qemu import BootResult, boot

BASE = "Debian-Disk-Test.x86_64-1.0.0"
DRACUT = ("initrd_system=dracut",)
MODULES = Path(dracut.__file__).with_name("dracut_modules")
NET_LIB = MODULES / "90kiwi-like-net/kiwi-like-net.sh"
INSTALLER = Path(dracut.__file__).parents[1] / "iso/installer/kiwi-install"
TARGET_SIZE = 2560 << 20  # bigger than the 1600 MiB image: the installed root grows
BOOTS = [pytest.mark.boot, pytest.mark.network, pytest.mark.slow]


def _build(profile: str, *attrs: str) -> ResolvedBuild:
    options = BuildOptions(profiles=(profile,), set_type_attrs=(*DRACUT, *attrs))
    return load_build(BOOT_TEST_DESCRIPTION, options, RuntimeConfig())


@pytest.fixture(scope="module")
def dracut_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The root of build-tests/x86/debian-disk with dracut instead of initramfs-tools."""
    return prepare_boot_test_root(
        tmp_path_factory, "dracut-disk-root", "--set-type-attr", DRACUT[0]
    )


@pytest.fixture(scope="module")
def netboots() -> qemu.Boots:
    return qemu.Boots()


@pytest.fixture(scope="module")
def kis_served(
    request: pytest.FixtureRequest,
    dracut_root: Path,
    tmp_path_factory: pytest.TempPathFactory,
    netboots: qemu.Boots,
) -> Path:
    """The dracut kis files as a boot server holds them (not packed: xz on the compressed
    root image takes minutes, and tests/test_pxe_boot.py checks the tarball); its boot
    starts at once."""
    served = tmp_path_factory.mktemp("dracut-kis")
    write_kis_files(_build("pxe"), dracut_root, served, served.parent)
    if selected(request, "test_dracut_kis_boots_over_the_network"):
        netboots.start_job("kis", netboot, served, BASE, timeout=900)
    if selected(request, "test_dracut_network_install_then_boot_the_disk"):
        request.getfixturevalue("install_served")  # built now, while the kis boots
    return served


def _install_then_boot(served: Path, disk: Path) -> tuple[NetBoot, BootResult | None]:
    with open(disk, "wb") as handle:
        handle.truncate(TARGET_SIZE)
    install = netboot(served, BASE, target=disk, marker=None, timeout=900)
    booted = boot(disk, "bios", timeout=900) if install.result.returncode == 0 else None
    return install, booted


@pytest.fixture(scope="module")
def install_served(
    request: pytest.FixtureRequest,
    dracut_root: Path,
    tmp_path_factory: pytest.TempPathFactory,
    netboots: qemu.Boots,
) -> Path:
    """The install profile's network install tarball (dracut), unpacked; the install onto
    a blank disk and the boot of that disk start at once."""
    out = tmp_path_factory.mktemp("dracut-install")
    build = _build("install")
    disk = build_disk(build, dracut_root, out / f"{BASE}.raw", out)
    build_install_tarball(build, dracut_root, disk, out / f"{BASE}.install.tar", out)
    served = out / "served"
    with tarfile.open(out / f"{BASE}.install.tar") as tar:
        tar.extractall(served, filter="data")
    if selected(request, "test_dracut_network_install_then_boot_the_disk"):
        netboots.start_job("install", _install_then_boot, served, out / "target.raw")
    return served


@pytest.mark.boot
@pytest.mark.network
@pytest.mark.slow
def test_dracut_kis_boots_over_the_network(kis_served: Path, netboots: qemu.Boots) -> None:
    append = (kis_served / f"{BASE}.append").read_text()
    assert append.startswith(f"kiwi-like.image={{server}}/{BASE}.squashfs kiwi-like.sha256=")
    assert "boot=kiwi-netboot" not in append  # initramfs-tools' script selector
    fetched: NetBoot = netboots["kis"]
    booted = fetched.result
    assert booted.marker, booted.tail()
    assert booted.fields()["fs"] == "overlay"
    assert f"/{BASE}.squashfs" in fetched.requested
    assert "kiwi-like: network up: " in booted.console
    assert "kiwi-like netboot: checksum ok, mounting the squashfs root" in booted.console


@pytest.mark.boot
@pytest.mark.network
@pytest.mark.slow
@pytest.mark.extended
def test_dracut_network_install_then_boot_the_disk(
    install_served: Path, netboots: qemu.Boots
) -> None:
    append = (install_served / f"{BASE}.append").read_text()
    assert append.startswith(
        f"rd.kiwi.install.pxe rd.kiwi.install.image={{server}}/{BASE}.raw.zst ip=dhcp"
    )
    install, booted = netboots["install"]
    console = install.result.console
    assert "kiwi-like installer: installed Debian 12 disk test onto /dev/vda" in console, (
        install.result.tail()
    )
    assert install.result.returncode == 0, install.result.tail()  # oem-shutdown
    assert {f"/{BASE}.install.conf", f"/{BASE}.raw.zst"} <= set(install.requested)
    assert booted is not None and booted.marker, booted.tail() if booted else ""
    assert booted.fields()["root"] == "/dev/vda3"


# ---- without a root or QEMU --------------------------------------------------


def _description(tmp_path: Path, packages: tuple[str, ...] = (), **attributes: str) -> Path:
    return write_description(
        tmp_path,
        Image(
            types=(Type("kis", attributes),),
            packages={"image": ["linux-image-amd64", "systemd", *packages]},
        ),
    )


@pytest.mark.parametrize(
    ("image", "packages", "expected"),
    [
        ("kis", (), "dracut"),  # kiwi's default for kis
        ("pxe", (), "dracut"),
        ("kis", ("dracut",), "dracut"),
        ("kis", ("initramfs-tools",), "kiwi"),  # the description asks for it
    ],
)
def test_kis_initrd_system_is_kiwis(
    tmp_path: Path, image: str, packages: tuple[str, ...], expected: str
) -> None:
    description = write_description(
        tmp_path,
        Image(types=(Type(image),), packages={"image": ["linux-image-amd64", *packages]}),
    )
    build = load_build(description, BuildOptions(target_arch="x86_64"), RuntimeConfig())
    assert build.settings.initrd_system == expected
    added = image_packages(build)
    if expected == "dracut":
        assert {"dracut", "busybox"} <= set(added) and "initramfs-tools" not in added
    else:
        assert {"initramfs-tools", "busybox"} <= set(added) and "dracut" not in added


def test_kis_append_line_with_dracut() -> None:
    settings = kis_settings(_build("pxe"))
    assert settings.initrd_system == "dracut"
    assert append_line(settings, "x.squashfs", "ab" * 32) == (
        f"kiwi-like.image={{server}}/x.squashfs kiwi-like.sha256={'ab' * 32} "
        "kiwi-like.fstype=squashfs ip=dhcp console=ttyS0,115200"
    )


@pytest.mark.parametrize("word", ["rd.kiwi.ramdisk", "rd.kiwi.install.pxe"])
def test_kis_refuses_the_installers_parameters(tmp_path: Path, word: str) -> None:
    description = _description(tmp_path, kernelcmdline=f"quiet {word}")
    build = load_build(description, BuildOptions(target_arch="x86_64"), RuntimeConfig())
    with pytest.raises(KiwiLikeError, match=f"kernelcmdline '{word}' is a parameter of kiwi's"):
        _ = build.settings


@pytest.mark.parametrize("image", ["oem", "iso"])
def test_ramdisk_install_is_refused_up_front(tmp_path: Path, image: str) -> None:
    attributes = {"kernelcmdline": "rd.kiwi.ramdisk", "installpxe": "true"}
    if image == "iso":
        attributes.pop("installpxe")
    description = write_description(
        tmp_path,
        Image(types=(Type(image, attributes),), packages={"image": ["linux-image-amd64"]}),
    )
    build = load_build(description, BuildOptions(target_arch="x86_64"), RuntimeConfig())
    with pytest.raises(KiwiLikeError, match="'rd.kiwi.ramdisk' .* is not supported yet"):
        _ = build.settings


def test_kis_image_needs_busybox_with_dracut(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "boot").mkdir(parents=True)
    (root / "boot/vmlinuz-6.1.0-1-amd64").write_text("")
    (root / "lib/modules/6.1.0-1-amd64").mkdir(parents=True)
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/dracut").write_text("")
    settings = kis_settings(_build("pxe"))
    assert isinstance(settings, KisSettings)
    with pytest.raises(KiwiLikeError, match="needs busybox: add the package busybox"):
        check_kis_image(root, settings)
    (root / "usr/bin/busybox").write_text("")
    assert check_kis_image(root, settings).version == "6.1.0-1-amd64"


def test_network_install_append_line_with_dracut() -> None:
    line = install_append_line(_build("install"), f"{BASE}.raw.zst", f"{BASE}.install.conf")
    assert line == (
        f"rd.kiwi.install.pxe rd.kiwi.install.image={{server}}/{BASE}.raw.zst ip=dhcp "
        "console=ttyS0,115200"
    )
    assert image_packages(_build("install")).count("busybox") == 1


def test_netboot_modules_go_into_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    dracut.install_modules(root)
    modules = root / "usr/lib/dracut/modules.d"
    for name, depends in (
        ("90kiwi-like-net", "kiwi-like-lib"),
        ("90kiwi-like-netboot", "kiwi-like-net"),
    ):
        setup = subprocess.run(
            ["bash", "-c", f". {modules / name}/module-setup.sh; depends; check; echo $?"],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        assert setup == [depends, "255"]  # only when kiwi-like asks for it
    for script in [*modules.glob("90kiwi-like-net*/*.sh"), INSTALLER]:
        check = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
        assert check.returncode == 0, (script, check.stderr)


def _sh(script: str, *args: str) -> dict[str, str]:
    """Run `script` with the host's sh; it prints NAME=value lines."""
    run = subprocess.run(["sh", "-c", script, "sh", *args], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return dict(line.split("=", 1) for line in run.stdout.splitlines() if "=" in line)


IP_FIELDS = "KL_NET_METHOD KL_NET_IFACE KL_NET_ADDR KL_NET_MASK KL_NET_GATEWAY KL_NET_DNS"


def _parse_ip(spec: str) -> dict[str, str]:
    printed = " ".join(f'"{name}=${name}"' for name in IP_FIELDS.split())
    return _sh(
        f'. {NET_LIB}; kl_ip_parse "$1"; echo "rc=$?"; printf "%s\\n" {printed} '
        '"error=$KL_NET_ERROR"',
        spec,
    )


@pytest.mark.parametrize(
    ("spec", "method", "iface", "address", "mask", "gateway", "dns"),
    [
        ("", "dhcp", "", "", "", "", ""),  # no ip=: DHCP, as kiwi adds ip=dhcp
        ("dhcp", "dhcp", "", "", "", "", ""),
        ("ens3:dhcp", "dhcp", "ens3", "", "", "", ""),
        ("10.0.0.5::10.0.0.1:255.255.255.0:host:ens3:none:10.0.0.2",
         "static", "ens3", "10.0.0.5", "255.255.255.0", "10.0.0.1", " 10.0.0.2"),
        ("10.0.0.5::10.0.0.1:24::eth0:off", "static", "eth0", "10.0.0.5", "24", "10.0.0.1", ""),
        ("::::::dhcp", "dhcp", "", "", "", "", ""),
    ],
)  # fmt: skip
def test_ip_parameter(
    spec: str, method: str, iface: str, address: str, mask: str, gateway: str, dns: str
) -> None:
    parsed = _parse_ip(spec)
    assert (parsed["rc"], parsed["error"]) == ("0", "")
    assert [parsed[name] for name in IP_FIELDS.split()] == [
        method, iface, address, mask, gateway, dns,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ("eth0:dhcp6", "'dhcp6' is not supported"),
        ("off", "this initrd needs the network"),
        ("10.0.0.5::10.0.0.1:24::eth0:none:1500", "'1500' is not an IPv4 DNS server"),
        ("a:b:c", "not of the form dhcp"),
        ("host::10.0.0.1:24::eth0:none", "'host' is not an IPv4 address"),
    ],
)
def test_ip_parameter_refused(spec: str, error: str) -> None:
    parsed = _parse_ip(spec)
    assert parsed["rc"] == "1"
    assert parsed["error"].startswith(f"ip={spec}: {error}")


def _installer_cmdline(*words: str) -> dict[str, str]:
    return _sh(
        f'. {INSTALLER}; kl_cmdline "$@"; printf "%s\\n" "pxe=$KL_PXE" "image=$KL_IMAGE_URL" '
        '"conf=$KL_CONF_URL" "error=$KL_CMDLINE_ERROR" "device=$KL_INSTALL_DEVICE"',
        *words,
    )


def test_installer_reads_kiwis_network_parameters() -> None:
    url = f"http://10.0.0.1/images/{BASE}.raw.zst"
    parsed = _installer_cmdline("quiet", "rd.kiwi.install.pxe", f"rd.kiwi.install.image={url}")
    assert parsed == {
        "pxe": "true", "image": url, "conf": f"http://10.0.0.1/images/{BASE}.install.conf",
        "error": "", "device": "",
    }  # fmt: skip
    # kiwi reads the image URL only with rd.kiwi.install.pxe (also =1; =0 switches it off)
    assert _installer_cmdline(f"rd.kiwi.install.image={url}")["conf"] == ""
    assert (
        _installer_cmdline("rd.kiwi.install.pxe=1", f"rd.kiwi.install.image={url}")["pxe"] == "true"
    )
    off = _installer_cmdline("rd.kiwi.install.pxe=0", f"rd.kiwi.install.image={url}")
    assert (off["pxe"], off["image"], off["conf"]) == ("false", "", "")
    assert _installer_cmdline("rd.kiwi.oem.installdevice=/dev/sdb")["device"] == "/dev/sdb"


@pytest.mark.parametrize(
    ("words", "error"),
    [
        (("rd.kiwi.install.pxe",), "rd.kiwi.install.pxe needs rd.kiwi.install.image=<URL"),
        (("rd.kiwi.install.pxe", "rd.kiwi.install.pxe.curl_options=--retry,3"),
         "rd.kiwi.install.pxe.curl_options is not supported (kiwi-like's installer fetches"),
        (("rd.kiwi.ramdisk", "rd.kiwi.install.pxe"),
         "rd.kiwi.ramdisk (kiwi's install into a RAM disk) is not supported by kiwi-like's"),
        (("rd.kiwi.install.pxe", "rd.kiwi.install.image=http://h/image.xz"),
         "rd.kiwi.install.image=http://h/image.xz: not the <disk>.raw.zst of a kiwi-like"),
    ],
)  # fmt: skip
def test_installer_refuses_incomplete_network_parameters(
    words: tuple[str, ...], error: str
) -> None:
    assert _installer_cmdline(*words)["error"].startswith(error)
