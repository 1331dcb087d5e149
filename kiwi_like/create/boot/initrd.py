"""The initrd, generated inside the image by the image's own tool.

Packages install kernels without an initrd (INITRD=No during prepare); the
disk builder makes it once /etc/fstab names the real root file system.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kiwi_like import reproducible, timing
from kiwi_like.chroot import run_in_root
from kiwi_like.create.boot.dracut import (
    DRACUT,
    OVERLAY_MODULE,
    install_modules,
    make_dracut_initrd,
)
from kiwi_like.create.boot.initrdcache import InitrdCache, initrd_key
from kiwi_like.create.boot.kernel import Kernel
from kiwi_like.description.imagetypes.oem import DiskSettings
from kiwi_like.errors import KiwiLikeError
from kiwi_like.log import log
from kiwi_like.rootfs import resolve_in_root

INITRAMFS_TOOLS = ("/usr/sbin/update-initramfs", "/sbin/update-initramfs")
# File systems whose module must be in the initrd explicitly when initramfs-tools
# is told to include only some modules (MODULES=dep/list).
MODULE_FILESYSTEMS = ("xfs", "btrfs")
CONF_NAME = "kiwi-like-disk.conf"
HOOK_NAME = "kiwi-like-disk"
# initrd.modules "disk": MODULES=list plus these drivers (and what they depend on),
# the ones a disk boots from: virtual machines (virtio, IDE/AHCI, NVMe, Hyper-V,
# VMware, Xen), common SAS/RAID adapters, USB and SD/MMC storage, a keyboard
# for the emergency shell, and the file systems a disk's partitions may use.
# Instead of initramfs-tools' MODULES=most this cuts the initrd from ~37 to
# ~10 MB and its generation from ~20 to ~3 s. Missing names are ignored.
DISK_MODULES = (
    "virtio_pci", "virtio_blk", "virtio_scsi", "virtio_mmio", "nvme", "ahci", "ata_piix",
    "ata_generic", "pata_acpi", "sd_mod", "sr_mod", "hv_storvsc", "vmw_pvscsi",
    "xen_blkfront", "megaraid_sas", "mpt3sas", "mptspi", "mptsas", "aacraid", "hpsa",
    "smartpqi", "xhci_pci", "ehci_pci", "ohci_pci", "uhci_hcd", "usb_storage", "uas",
    "sdhci_pci", "sdhci_acpi", "mmc_block", "usbhid", "hid_generic", "atkbd",
    "ext4", "xfs", "btrfs", "vfat", "nls_cp437", "nls_iso8859_1", "crc32c_generic",
)  # fmt: skip
HOOK = """#!/bin/sh
# written by kiwi-like: the drivers a disk boots from (see conf.d/{conf})
case "$1" in prereqs) exit 0 ;; esac
. /usr/share/initramfs-tools/hook-functions
manual_add_modules {modules}
"""


def _has(root: Path, candidates: tuple[str, ...]) -> bool:
    return any(resolve_in_root(root, path).is_file() for path in candidates)


def initrd_tool(root: Path, settings: DiskSettings) -> str:
    """`initramfs-tools` or `dracut`, whichever the image has and the type asks for."""
    if settings.initrd_system == "dracut":
        if not _has(root, DRACUT):
            raise KiwiLikeError(
                'initrd_system="dracut" but the image has no dracut: add the package dracut'
            )
        return "dracut"
    if _has(root, INITRAMFS_TOOLS):
        return "initramfs-tools"
    if _has(root, DRACUT):
        return "dracut"
    raise KiwiLikeError(
        "the image has no initrd generator: add the package initramfs-tools "
        '(or dracut with initrd_system="dracut")'
    )


def _want_module(root: Path, module: str) -> None:
    path = resolve_in_root(root, "/etc/initramfs-tools/modules")
    lines = path.read_text().splitlines() if path.is_file() else []
    if module not in (line.split("#")[0].strip() for line in lines):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join([*lines, module]) + "\n")


def _initramfs_settings(root: Path, filesystem: str, modules: str) -> None:
    """The root file system type for initramfs-tools, which cannot probe it in a chroot
    (without it the initrd would carry no fsck for the root), and the module selection."""
    path = resolve_in_root(root, f"/etc/initramfs-tools/conf.d/{CONF_NAME}")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = f"# written by kiwi-like: the root file system of the disk\nFSTYPE={filesystem}\n"
    hook = resolve_in_root(root, f"/etc/initramfs-tools/hooks/{HOOK_NAME}")
    if modules == "disk":
        text += "# the drivers disks boot from, listed in hooks/kiwi-like-disk\nMODULES=list\n"
        hook.parent.mkdir(parents=True, exist_ok=True)
        hook.write_text(HOOK.format(conf=CONF_NAME, modules=" ".join(DISK_MODULES)))
        hook.chmod(0o755)
    else:
        hook.unlink(missing_ok=True)
    path.write_text(text)
    if filesystem in MODULE_FILESYSTEMS:
        _want_module(root, filesystem)


def remove_disk_settings(root: Path) -> None:
    """Take the disk initrd's settings out again (a live initrd needs all of initramfs-tools'
    modules: cdrom, squashfs, overlay), e.g. when one root makes a disk and then a live ISO."""
    for name in (f"conf.d/{CONF_NAME}", f"hooks/{HOOK_NAME}"):
        resolve_in_root(root, f"/etc/initramfs-tools/{name}").unlink(missing_ok=True)


def generate_initrd(
    root: Path,
    settings: DiskSettings,
    kernel: Kernel,
    modules: str = "disk",
    cache_dir: Path | None = None,
) -> None:
    """Make the disk's initrd, or take it from the initrd cache in `cache_dir`."""
    tool = initrd_tool(root, settings)
    if tool == "initramfs-tools":
        _initramfs_settings(root, settings.filesystem, modules)
    else:
        install_modules(root)  # before the cache key: they are part of the initrd
    # overlayroot: kiwi-like's overlay module (and the drivers it needs) join the initrd
    add = (OVERLAY_MODULE,) if settings.overlay is not None else ()
    selection = "+".join((modules, *add))

    def make() -> None:
        if tool == "dracut":
            filesystems = (settings.filesystem, *(("squashfs", "overlay") if add else ()))
            make_dracut_initrd(
                root, kernel, kernel.initrd, add=add, filesystems=filesystems,
                all_drivers=modules == "most",
            )  # fmt: skip
        else:
            log.info("Generating the initrd for kernel %s with %s", kernel.version, tool)
            run_in_root(root, ["update-initramfs", "-c", "-k", kernel.version], private_tmp=True)

    cached_initrd(root, kernel, tool, selection, cache_dir, make)


def cached_initrd(
    root: Path,
    kernel: Kernel,
    tool: str,
    selection: str,
    cache_dir: Path | None,
    make: Callable[[], None],
) -> None:
    """kernel.initrd from the initrd cache in `cache_dir` (None: no cache) if the root and
    `selection` (what the initrd is for) made one before, else from `make`, then kept."""
    with timing.step("initrd", "initrd"):  # the disk's and the live ISO's alike
        target = resolve_in_root(root, kernel.initrd)
        cache = InitrdCache(cache_dir) if cache_dir is not None else None
        epoch = reproducible.source_date_epoch()  # a reproducible initrd has its times
        if epoch is not None:
            selection = f"{selection}+epoch={epoch}"
        key = initrd_key(root, kernel.version, tool, selection) if cache else None
        if cache and key and cache.fetch(key, target):
            timing.skipped("initrd generation", "initrd")
            return
        make()
        if not target.is_file():
            raise KiwiLikeError(f"{tool} did not write {kernel.initrd}")
        if cache and key:
            cache.store(key, target)
