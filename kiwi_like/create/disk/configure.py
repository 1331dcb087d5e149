"""Making the root bootable from this disk: fstab, GRUB files, oem-resize, initrd."""

from __future__ import annotations

from pathlib import Path

from kiwi_like.create.boot import resize
from kiwi_like.create.boot.grub import install_grub_modules
from kiwi_like.create.boot.initrd import generate_initrd
from kiwi_like.create.boot.kernel import Kernel
from kiwi_like.create.boot.tree import ESP_MOUNTPOINT
from kiwi_like.create.disk.fstab import write_fstab
from kiwi_like.create.disk.grubcfg import write_grub_cfg
from kiwi_like.create.disk.identity import Identities
from kiwi_like.create.disk.preflight import grub_firmwares
from kiwi_like.description.imagetypes.oem import DiskSettings
from kiwi_like.log import log
from kiwi_like.rootfs import resolve_in_root


def configure_root(
    root: Path,
    settings: DiskSettings,
    ids: Identities,
    kernel: Kernel,
    mount_options: str,
    initrd_modules: str = "disk",
    cache_dir: Path | None = None,
) -> None:
    log.info("Configuring the root for the disk (root file system UUID %s)", ids.root_uuid)
    if settings.efi:
        resolve_in_root(root, "/" + ESP_MOUNTPOINT).mkdir(parents=True, exist_ok=True)
    write_fstab(root, settings, ids, mount_options)
    install_grub_modules(root, grub_firmwares(settings))
    write_grub_cfg(root, settings, ids, kernel)
    if settings.resize and settings.write_partition:  # a squashfs alone cannot grow
        resize.install_resize(root)
    else:
        resize.remove_resize(root)
    generate_initrd(root, settings, kernel, initrd_modules, cache_dir)
