"""The initrd, generated inside the image by the image's own tool.

Packages install kernels without an initrd (INITRD=No during prepare); the
disk builder makes it once /etc/fstab names the real root file system.
"""

from __future__ import annotations

from pathlib import Path

from kiwi_like.chroot import run_in_root
from kiwi_like.create.disk.kernel import Kernel
from kiwi_like.create.disk.settings import DiskSettings
from kiwi_like.errors import KiwiLikeError
from kiwi_like.log import log
from kiwi_like.rootfs import resolve_in_root

INITRAMFS_TOOLS = ("/usr/sbin/update-initramfs", "/sbin/update-initramfs")
DRACUT = ("/usr/bin/dracut", "/usr/sbin/dracut", "/sbin/dracut")
# File systems whose module must be in the initrd explicitly when initramfs-tools
# is told to include only some modules (MODULES=dep/list).
MODULE_FILESYSTEMS = ("xfs", "btrfs")
CONF_NAME = "kiwi-like-disk.conf"


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


def _initramfs_settings(root: Path, filesystem: str) -> None:
    """The root file system type for initramfs-tools, which cannot probe it in a chroot
    (without it the initrd would carry no fsck for the root)."""
    path = resolve_in_root(root, f"/etc/initramfs-tools/conf.d/{CONF_NAME}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"# written by kiwi-like: the root file system of the disk\nFSTYPE={filesystem}\n"
    )
    if filesystem in MODULE_FILESYSTEMS:
        _want_module(root, filesystem)


def generate_initrd(root: Path, settings: DiskSettings, kernel: Kernel) -> None:
    tool = initrd_tool(root, settings)
    log.info("Generating the initrd for kernel %s with %s", kernel.version, tool)
    if tool == "dracut":
        command = ["dracut", "--force", "--no-hostonly", "--no-hostonly-cmdline"]
        run_in_root(root, [*command, kernel.initrd, kernel.version], private_tmp=True)
    else:
        _initramfs_settings(root, settings.filesystem)
        run_in_root(root, ["update-initramfs", "-c", "-k", kernel.version], private_tmp=True)
    if not resolve_in_root(root, kernel.initrd).is_file():
        raise KiwiLikeError(f"{tool} did not write {kernel.initrd}")
