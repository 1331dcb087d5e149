"""The live ISO (`image="iso"`): the root as a squashfs, booted by Debian's live-boot
(or by dracut with kiwi-like's live module: see livedracut.py).

The medium holds /live/vmlinuz, /live/initrd.img and /live/filesystem.squashfs,
where live-boot looks for them (`boot=live`); it mounts the squashfs read-only
under a read-write overlay in RAM. GRUB boots the medium on BIOS and UEFI,
from CD or from a USB stick the ISO was written to.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from kiwi_like.chroot import run_in_root
from kiwi_like.create.boot import resize
from kiwi_like.create.boot.dracut import install_modules
from kiwi_like.create.boot.fstab import write_diskless_fstab
from kiwi_like.create.boot.grub import check_secure_boot
from kiwi_like.create.boot.initrd import cached_initrd, remove_disk_settings
from kiwi_like.create.boot.initrdcache import cache_directory
from kiwi_like.create.boot.kernel import Kernel, newest_kernel
from kiwi_like.create.boot.squashfs import make_squashfs
from kiwi_like.create.boot.tools import GRUB_FILES, has_program
from kiwi_like.create.boot.tree import METADATA_DIR
from kiwi_like.create.iso import livedracut
from kiwi_like.create.iso.boot import (
    BOOT_HYBRID,
    MenuEntry,
    grub_cfg,
    install_medium_boot,
    medium_id_file,
)
from kiwi_like.create.iso.medium import make_iso
from kiwi_like.create.steps import step
from kiwi_like.description import ResolvedBuild
from kiwi_like.description.imagetypes import settings_of
from kiwi_like.description.imagetypes.iso import LiveSettings
from kiwi_like.description.imagetypes.medium import IsoSettings
from kiwi_like.errors import KiwiLikeError
from kiwi_like.log import log
from kiwi_like.result import Results
from kiwi_like.rootfs import resolve_in_root
from kiwi_like.runtime_config import RuntimeConfig

LIVE_BOOT_SCRIPT = "/usr/share/initramfs-tools/scripts/live"
LIVE_DIR = "live"  # live-boot's default live-media-path
# nonetworking: live-boot would replace /etc/network/interfaces (and with it the
# `source interfaces.d/*` line) by DHCP on every interface; the image's own network
# configuration applies instead, as on its disk
LIVE_OPTIONS = ("boot=live", "components", "nonetworking")
PERSISTENCE = Path(__file__).with_name("persistence")
PERSISTENCE_FILES = (
    (PERSISTENCE / "kiwi-like-persistence",
     "/etc/initramfs-tools/scripts/init-premount/kiwi-like-persistence"),
    (PERSISTENCE / "hook", "/etc/initramfs-tools/hooks/kiwi-like-persistence"),
)  # fmt: skip


def setup_persistence(root: Path, enabled: bool) -> None:
    """hybridpersistent: the initrd script that makes the persistence partition, or none."""
    for source, target in PERSISTENCE_FILES:
        path = resolve_in_root(root, target)
        if enabled:
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, path)
            path.chmod(0o755)
        else:
            path.unlink(missing_ok=True)


def check_live_image(root: Path, settings: IsoSettings, initrd_system: str = "kiwi") -> Kernel:
    """Fail early, with the package to add, when the image cannot boot live."""
    if not root.is_dir():
        raise KiwiLikeError(f"image root {root} does not exist")
    kernel = newest_kernel(root)
    if initrd_system == "dracut":
        livedracut.check_dracut_live(root)
    elif not has_program(root, "update-initramfs"):
        raise KiwiLikeError("the image has no initramfs-tools: add the package initramfs-tools")
    elif not resolve_in_root(root, LIVE_BOOT_SCRIPT).is_file():
        raise KiwiLikeError("the image has no live-boot: add the package live-boot")
    firmwares = ("bios", "efi") if settings.efi else ("bios",)
    for firmware in firmwares:
        path, package = GRUB_FILES[firmware]
        if not resolve_in_root(root, path).is_file():
            raise KiwiLikeError(f"the image has no GRUB for {firmware}: add the package {package}")
    if not resolve_in_root(root, BOOT_HYBRID).is_file():
        raise KiwiLikeError("the image has no GRUB boot_hybrid.img: add the package grub-pc-bin")
    if not has_program(root, "grub-mkimage"):
        raise KiwiLikeError("the image has no grub-mkimage: add the package grub-common")
    if settings.secure_boot:
        check_secure_boot(root)
    return kernel


def configure_live_root(
    root: Path,
    kernel: Kernel,
    persistent: bool,
    initrd_system: str = "kiwi",
    cache_dir: Path | None = None,
) -> None:
    """No disk entries in fstab (the initrd mounts the root), no disk resize, a live initrd
    (from the initrd cache in `cache_dir` when this root made one before)."""
    write_diskless_fstab(root, "live system")
    resize.remove_resize(root)
    if initrd_system == "dracut":
        install_modules(root)  # before the cache key: they are part of the initrd
        cached_initrd(
            root, kernel, "dracut", "live", cache_dir,
            lambda: livedracut.make_live_initrd(root, kernel),
        )  # fmt: skip
        return
    setup_persistence(root, persistent)
    remove_disk_settings(root)

    def make() -> None:
        log.info("Generating the live initrd for kernel %s with initramfs-tools", kernel.version)
        run_in_root(root, ["update-initramfs", "-c", "-k", kernel.version], private_tmp=True)

    cached_initrd(root, kernel, "initramfs-tools", "live", cache_dir, make)


def live_menu_entries(
    settings: IsoSettings, persistent: bool = False, initrd_system: str = "kiwi"
) -> list[MenuEntry]:
    kernel, initrd = f"/{LIVE_DIR}/vmlinuz", f"/{LIVE_DIR}/initrd.img"
    persistence = ("persistence",) if persistent else ()
    options = (*LIVE_OPTIONS, *persistence, *settings.menu.kernel_options)
    if initrd_system == "dracut":
        options = (*livedracut.live_options(settings, persistent), *settings.menu.kernel_options)
    return [MenuEntry.linux(settings.menu.title, kernel, initrd, options)]


def build_live_iso(
    build: ResolvedBuild, root: Path, output: Path, scratch: Path, cache_dir: Path | None = None
) -> None:
    root = root.absolute()
    type_settings = settings_of(build, LiveSettings)
    settings, persistent = type_settings.medium, type_settings.persistent
    initrd_system = type_settings.initrd_system
    kernel = check_live_image(root, settings, initrd_system)
    with step("configuring the root for the live system"):
        configure_live_root(root, kernel, persistent, initrd_system, cache_dir)
    with tempfile.TemporaryDirectory(dir=scratch, prefix="kiwi-like-iso-") as name:
        work = Path(name)
        tree = work / "medium"
        live = tree / LIVE_DIR
        live.mkdir(parents=True)
        shutil.copyfile(resolve_in_root(root, kernel.image), live / "vmlinuz")
        shutil.copyfile(resolve_in_root(root, kernel.initrd), live / "initrd.img")
        squashfs = live / "filesystem.squashfs"
        if initrd_system == "dracut":
            squashfs = livedracut.squashfs_path(tree)
        make_squashfs(root, squashfs, settings.squashfs_compression, (METADATA_DIR,))
        config = grub_cfg(settings.menu, live_menu_entries(settings, persistent, initrd_system))
        with step("making the GRUB images"):
            boot = install_medium_boot(
                root, tree, settings.efi, config, medium_id_file(), work, settings.secure_boot
            )
        make_iso(tree, output, boot, settings)
    log.info("Live ISO %s: %d MiB", output.name, output.stat().st_size >> 20)


def create(
    build: ResolvedBuild, root: Path, results: Results, scratch: Path, config: RuntimeConfig
) -> None:
    name = f"{build.result_basename}.iso"
    build_live_iso(build, root, results.stage(name), scratch, cache_directory(config))
    results.publish_image("live_image", name, config.checksum_algorithm)
