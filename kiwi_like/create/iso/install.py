"""The oem installers: the install ISO (`installiso="true"`) and the network
install tarball (`installpxe="true"`), both the raw disk plus an installer for it.

The medium holds /install/<disk>.raw.zst, the kernel and an installer initrd
made by the image's own initramfs-tools with kiwi-like's boot script
(`installer/kiwi-install`, chosen with `boot=kiwi-install`) or by its dracut
with kiwi-like's install module (which runs the same script), and
/install/install.conf with the <oemconfig> settings. The installer picks the
target disk, asks before it wipes it (unless unattended), writes and verifies
the image, then powers off, reboots or boots the installed system. The tarball
holds the same files for a boot server; booted with its `.append` line the
installer fetches install.conf and the image over the network instead: kiwi's
`rd.kiwi.install.pxe rd.kiwi.install.image=<URL>` with dracut (kiwi-like's network
module brings up the network), `boot=kiwi-install kiwi-like.install=<URL>` with
initramfs-tools.
"""

from __future__ import annotations

import shlex
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kiwi_like import run as runner
from kiwi_like.create.boot import netboot_samples as samples
from kiwi_like.create.boot.dracut import INSTALL_MODULE, NET_MODULE, make_dracut_initrd_outside
from kiwi_like.create.boot.initramfs import make_initrd
from kiwi_like.create.boot.kernel import Kernel
from kiwi_like.create.boot.tools import has_program
from kiwi_like.create.disk.result import DiskResult
from kiwi_like.create.iso.boot import (
    HARD_DISK,
    MenuEntry,
    grub_cfg,
    install_medium_boot,
    medium_id_file,
)
from kiwi_like.create.iso.medium import make_iso
from kiwi_like.create.steps import step
from kiwi_like.description import ResolvedBuild
from kiwi_like.description.imagetypes import settings_of
from kiwi_like.description.imagetypes.medium import IsoSettings
from kiwi_like.description.imagetypes.oem import DiskSettings, InstallSettings
from kiwi_like.errors import KiwiLikeError
from kiwi_like.log import log
from kiwi_like.result import file_digest
from kiwi_like.rootfs import resolve_in_root

INSTALLER_FILES = Path(__file__).with_name("installer")
INSTALL_DIR = "install"  # on the medium
BOOT_SCRIPT = "kiwi-install"
# programs the installer runs, and the Debian package of each (the hook copies them)
INSTALLER_TOOLS = (
    ("dd", "coreutils"),
    ("sha256sum", "coreutils"),
    ("zstd", "zstd"),
    ("sfdisk", "fdisk"),
    ("blockdev", "util-linux"),
)
INSTALLER_MODULES = ("isofs", "sr_mod", "cdrom")


def install_conf(
    settings: InstallSettings, disk: DiskResult, image_name: str, sha256: str, title: str
) -> str:
    """/install/install.conf: shell assignments the installer sources."""
    values = {
        "KL_TITLE": title,
        "KL_IMAGE": image_name,
        "KL_IMAGE_MB": str(disk.size >> 20),
        "KL_SHA256": sha256,
        "KL_TABLE": disk.table,
        "KL_ROOT": f"UUID={disk.root_uuid}",
        "KL_UNATTENDED": str(settings.unattended).lower(),
        "KL_UNATTENDED_ID": settings.unattended_id or "",
        "KL_DEVICE_FILTER": settings.device_filter or "",
        "KL_SKIP_VERIFY": str(settings.skip_verify).lower(),
        "KL_REBOOT": str(settings.reboot).lower(),
        "KL_SHUTDOWN": str(settings.shutdown).lower(),
    }
    lines = ["# kiwi-like installer settings, from the description's <oemconfig>"]
    lines += [f"{name}={shlex.quote(value)}" for name, value in values.items()]
    return "\n".join(lines) + "\n"


# the initrd generator of each initrd system, and its package
GENERATORS = {"kiwi": ("mkinitramfs", "initramfs-tools"), "dracut": ("dracut", "dracut")}
DRACUT_INSTALLER = {"90kiwi-like-install/kiwi-install": INSTALLER_FILES / BOOT_SCRIPT}


def check_installer_tools(root: Path, initrd_system: str = "kiwi", network: bool = False) -> None:
    """Before the disk is built: what the installer initrd is made from and runs."""
    tools = [GENERATORS[initrd_system], *INSTALLER_TOOLS]
    if network and initrd_system == "dracut":
        tools.append(("busybox", "busybox"))  # the network module's DHCP client and wget
    for program, package in tools:
        if not has_program(root, program):
            what = "network installer" if network else "install ISO's installer"
            raise KiwiLikeError(
                f"the {what} needs {program} in the image: add the package {package}"
            )


def make_installer_initrd(
    root: Path,
    kernel: Kernel,
    work: Path,
    settings: DiskSettings | None = None,
    network: bool = False,
) -> Path:
    """The image's dracut with kiwi-like's install module (and its network module for a
    network install), or its initramfs-tools with the installer's hook and boot script."""
    if settings is not None and settings.initrd_system == "dracut":
        modules = (INSTALL_MODULE, NET_MODULE) if network else (INSTALL_MODULE,)
        return make_dracut_initrd_outside(
            root, kernel, work / "installer-initrd.img", add=modules,
            filesystems=(settings.filesystem,),
            what="network installer" if network else "installer", extra=DRACUT_INSTALLER,
        )  # fmt: skip
    return make_initrd(
        root,
        kernel,
        work,
        boot_script=INSTALLER_FILES / BOOT_SCRIPT,
        hook=INSTALLER_FILES / "hook",
        modules=INSTALLER_MODULES,
        what="installer",
    )


def _medium(build: ResolvedBuild) -> IsoSettings:
    medium = settings_of(build, DiskSettings).install_iso
    if medium is None:
        raise KiwiLikeError('an install ISO needs installiso="true" in the type')
    return medium


def install_menu(build: ResolvedBuild, id_file: str) -> tuple[list[MenuEntry], int]:
    menu = settings_of(build, DiskSettings).menu
    options = ("boot=kiwi-install", f"kiwi-like.medium={id_file}", *menu.kernel_options)
    install = MenuEntry.linux(
        f"Install {menu.title}",
        f"/{INSTALL_DIR}/vmlinuz",
        f"/{INSTALL_DIR}/initrd.img",
        options,
    )
    default = 0 if settings_of(build, DiskSettings).install.install_first else 1
    return [install, HARD_DISK], default


@dataclass(frozen=True)
class Payload:
    """Where the installer's files go: the compressed disk image, its settings,
    the kernel and the installer initrd."""

    image: Path
    conf: Path
    kernel: Path
    initrd: Path


def write_payload(
    build: ResolvedBuild,
    root: Path,
    disk: DiskResult,
    payload: Payload,
    work: Path,
    network: bool = False,
) -> None:
    settings = settings_of(build, DiskSettings)
    check_installer_tools(root, settings.initrd_system, network)
    kernel = Kernel(disk.kernel)
    with step("compressing the disk image for the installer"):
        runner.run(["zstd", "-q", "-T0", "-3", disk.image, "-o", payload.image])
    conf = install_conf(
        settings.install, disk, payload.image.name, file_digest(disk.image), settings.menu.title
    )
    payload.conf.write_text(conf)
    shutil.copyfile(resolve_in_root(root, kernel.image), payload.kernel)
    with step("making the installer initrd"):
        initrd = make_installer_initrd(root, kernel, work, settings, network)
    shutil.move(initrd, payload.initrd)


def build_install_iso(
    build: ResolvedBuild, root: Path, disk: DiskResult, output: Path, scratch: Path
) -> None:
    """The install ISO for the finished raw disk `disk` (made from `root`)."""
    root = root.absolute()
    medium = _medium(build)
    with tempfile.TemporaryDirectory(dir=scratch, prefix="kiwi-like-install-") as name:
        work = Path(name)
        tree = work / "medium"
        install = tree / INSTALL_DIR
        install.mkdir(parents=True)
        payload = Payload(
            image=install / f"{disk.image.name}.zst",
            conf=install / "install.conf",
            kernel=install / "vmlinuz",
            initrd=install / "initrd.img",
        )
        write_payload(build, root, disk, payload, work)
        id_file = medium_id_file()
        entries, default = install_menu(build, id_file)
        config = grub_cfg(medium.menu, entries, default)
        with step("making the GRUB images"):
            boot = install_medium_boot(
                root, tree, disk.firmware == "efi", config, id_file, work, medium.secure_boot
            )
        make_iso(tree, output, boot, medium)
    log.info("Install ISO %s: %d MiB", output.name, output.stat().st_size >> 20)


def install_append_line(build: ResolvedBuild, image_name: str, conf_name: str) -> str:
    """The network installer's kernel command line; {server} stands for the base URL.
    dracut's reads kiwi's parameters, initramfs-tools' needs its boot script named."""
    settings = settings_of(build, DiskSettings)
    if settings.initrd_system == "dracut":
        source = ["rd.kiwi.install.pxe", f"rd.kiwi.install.image={samples.SERVER}/{image_name}"]
    else:
        source = ["boot=kiwi-install", f"kiwi-like.install={samples.SERVER}/{conf_name}"]
    return " ".join([*source, "ip=dhcp", *settings.menu.kernel_options])


def build_install_tarball(
    build: ResolvedBuild, root: Path, disk: DiskResult, output: Path, scratch: Path
) -> list[str]:
    """`installpxe="true"`: the installer and the image for a network install, as a tar."""
    root = root.absolute()
    base = build.result_basename
    with tempfile.TemporaryDirectory(dir=scratch, prefix="kiwi-like-install-pxe-") as name:
        work = Path(name)
        tree = work / "tarball"
        tree.mkdir()
        payload = Payload(
            image=tree / f"{disk.image.name}.zst",
            conf=tree / f"{base}.install.conf",
            kernel=tree / f"{base}.kernel",
            initrd=tree / f"{base}.initrd",
        )
        write_payload(build, root, disk, payload, work, network=True)
        append = install_append_line(build, payload.image.name, payload.conf.name)
        names = samples.write_boot_files(
            tree, f"Install-{build.name}", payload.kernel.name, payload.initrd.name, append
        )
        with tarfile.open(output, "w", format=tarfile.GNU_FORMAT) as tar:
            for entry in names:
                tar.add(tree / entry, arcname=entry)
    log.info("Network install tarball %s: %d MiB", output.name, output.stat().st_size >> 20)
    return names
