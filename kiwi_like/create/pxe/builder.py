"""The kis builder: kernel, network-boot initrd, root image and boot line in a tarball.

`<name>.<arch>-<version>.tar.xz` unpacks to

    <base>.kernel            the image's kernel
    <base>.initrd            the image's dracut with kiwi-like's netboot module, or its
                             initramfs-tools with kiwi-like's netboot script
    <base>.<fstype>          the root file system image (squashfs by default)
    <base>.<fstype>.sha256   its checksum
    <base>.append            the kernel command line; {server} stands for the base URL
    pxelinux.cfg/default     sample pxelinux configuration
    <base>.ipxe              sample iPXE script

The initrd brings up the network (`ip=dhcp`), fetches `{server}/<base>.<fstype>`
over HTTP or TFTP into RAM, checks it against the SHA-256 on the command line
and boots it: a squashfs under a RAM overlay, other file systems read-write in RAM.
Both initrd systems read the same kernel parameters; initramfs-tools' needs
`boot=kiwi-netboot` to pick the script, dracut's module starts on `kiwi-like.image=`.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from kiwi_like import reproducible
from kiwi_like import run as runner
from kiwi_like.create.boot import netboot_samples as samples
from kiwi_like.create.boot import resize
from kiwi_like.create.boot.dracut import NETBOOT_MODULE, has_dracut, make_dracut_initrd_outside
from kiwi_like.create.boot.filesystems import ImageFile, make_root_filesystem, root_minimum
from kiwi_like.create.boot.fstab import write_diskless_fstab
from kiwi_like.create.boot.initramfs import make_initrd
from kiwi_like.create.boot.kernel import Kernel, newest_kernel
from kiwi_like.create.boot.squashfs import make_squashfs
from kiwi_like.create.boot.tools import has_program
from kiwi_like.create.boot.tree import METADATA_DIR, parked, tree_size
from kiwi_like.create.steps import step
from kiwi_like.description import ResolvedBuild
from kiwi_like.description.imagetypes import settings_of
from kiwi_like.description.imagetypes.kis import KisSettings
from kiwi_like.errors import KiwiLikeError
from kiwi_like.log import log
from kiwi_like.result import Results, file_digest
from kiwi_like.rootfs import resolve_in_root
from kiwi_like.runtime_config import RuntimeConfig

NETBOOT_FILES = Path(__file__).with_name("netboot")
BOOT_SCRIPT = "kiwi-netboot"
NETBOOT_MODULES = ("squashfs", "overlay", "loop")
ROOT_LABEL = "ROOT"


def append_line(settings: KisSettings, image_name: str, sha256: str) -> str:
    words = [
        *(["boot=kiwi-netboot"] if settings.initrd_system != "dracut" else []),
        f"kiwi-like.image={samples.SERVER}/{image_name}",
        f"kiwi-like.sha256={sha256}",
        f"kiwi-like.fstype={settings.filesystem}",
        "ip=dhcp",
        *settings.kernel_options,
    ]
    return " ".join(words)


def check_kis_image(root: Path, settings: KisSettings) -> Kernel:
    if not root.is_dir():
        raise KiwiLikeError(f"image root {root} does not exist")
    kernel = newest_kernel(root)
    if settings.initrd_system == "dracut":
        if not has_dracut(root):
            raise KiwiLikeError("the image has no dracut: add the package dracut")
        if not has_program(root, "busybox"):  # the dracut module's DHCP client, wget, tftp
            raise KiwiLikeError("the network boot initrd needs busybox: add the package busybox")
    elif not has_program(root, "mkinitramfs"):
        raise KiwiLikeError("the image has no initramfs-tools: add the package initramfs-tools")
    return kernel


def _initrd(root: Path, settings: KisSettings, kernel: Kernel, work: Path) -> Path:
    if settings.initrd_system == "dracut":
        return make_dracut_initrd_outside(
            root, kernel, work / "netboot-initrd.img", add=(NETBOOT_MODULE,),
            filesystems=(settings.filesystem,), what="network boot",
        )  # fmt: skip
    return make_initrd(
        root, kernel, work, boot_script=NETBOOT_FILES / BOOT_SCRIPT,
        hook=NETBOOT_FILES / "hook", modules=NETBOOT_MODULES, what="network boot",
    )  # fmt: skip


def _root_image(root: Path, settings: KisSettings, output: Path, work: Path) -> None:
    if settings.filesystem == "squashfs":
        make_squashfs(root, output, settings.squashfs_compression, (METADATA_DIR,))
        return
    partition = ImageFile(
        filesystem=settings.filesystem, size=root_minimum(tree_size(root, (METADATA_DIR,))),
        uuid=_root_uuid(), label=ROOT_LABEL,
    )  # fmt: skip
    with (
        parked(root, (METADATA_DIR,), work / "parked"),
        step(f"creating the {settings.filesystem} root image"),
    ):
        make_root_filesystem(partition, root, output, work)


def write_kis_files(build: ResolvedBuild, root: Path, tree: Path, scratch: Path) -> list[str]:
    """The kis tarball's files into the directory `tree`, unpacked as a boot server holds
    them; return their names."""
    root = root.absolute()
    settings = settings_of(build, KisSettings)
    kernel = check_kis_image(root, settings)
    base = build.result_basename
    with step("configuring the root for network boot"):
        write_diskless_fstab(root, "network-booted system")
        resize.remove_resize(root)
    with tempfile.TemporaryDirectory(dir=scratch, prefix="kiwi-like-kis-") as name:
        work = Path(name)
        image_name = f"{base}.{settings.filesystem}"
        _root_image(root, settings, tree / image_name, work)
        sha256 = file_digest(tree / image_name)
        (tree / f"{image_name}.sha256").write_text(f"{sha256}  {image_name}\n")
        shutil.copyfile(resolve_in_root(root, kernel.image), tree / f"{base}.kernel")
        with step("making the network boot initrd"):
            initrd = _initrd(root, settings, kernel, work)
        shutil.move(initrd, tree / f"{base}.initrd")
    append = append_line(settings, image_name, sha256)
    return samples.write_boot_files(tree, build.name, f"{base}.kernel", f"{base}.initrd", append)


def build_kis(build: ResolvedBuild, root: Path, tarball: Path, scratch: Path) -> list[str]:
    """Write the kis tarball; return the names of the files in it."""
    with tempfile.TemporaryDirectory(dir=scratch, prefix="kiwi-like-kis-tree-") as name:
        tree = Path(name)
        names = write_kis_files(build, root, tree, scratch)
        with step("packing the kis tarball"):
            _pack(tree, names, tarball)
    log.info("kis tarball %s: %d MiB", tarball.name, tarball.stat().st_size >> 20)
    return names


def _root_uuid() -> str:
    setting = reproducible.current()  # a reproducible build: from its seed
    return setting.uuid("kis root") if setting is not None else str(uuid.uuid4())


def _normalized(epoch: int | None) -> Callable[[tarfile.TarInfo], tarfile.TarInfo]:
    """A reproducible build's entries: owned by root, no newer than SOURCE_DATE_EPOCH."""

    def normalize(info: tarfile.TarInfo) -> tarfile.TarInfo:
        if epoch is not None:
            info.mtime = min(int(info.mtime), epoch)
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
        return info

    return normalize


def _pack(tree: Path, names: list[str], tarball: Path) -> None:
    """tar.xz with threads; the image inside is compressed already, so a fast level."""
    plain = tarball.with_suffix("")  # .tar
    normalize = _normalized(reproducible.source_date_epoch())
    with tarfile.open(plain, "w", format=tarfile.GNU_FORMAT) as tar:
        for name in names:  # tarfile adds a directory's entries sorted
            tar.add(tree / name, arcname=name, filter=normalize)
    runner.run(["xz", "-T0", "-1", "--force", plain])
    plain.with_name(plain.name + ".xz").replace(tarball)


def create(
    build: ResolvedBuild, root: Path, results: Results, scratch: Path, config: RuntimeConfig
) -> None:
    name = f"{build.result_basename}.tar.xz"
    build_kis(build, root, results.stage(name), scratch)
    results.publish_image("kis_archive", name, config.checksum_algorithm)
