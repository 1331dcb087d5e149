"""The kis builder: kernel, network-boot initrd, root image and boot line in a tarball.

`<name>.<arch>-<version>.tar.xz` unpacks to

    <base>.kernel            the image's kernel
    <base>.initrd            initramfs-tools with kiwi-like's netboot script
    <base>.<fstype>          the root file system image (squashfs by default)
    <base>.<fstype>.sha256   its checksum
    <base>.append            the kernel command line; {server} stands for the base URL
    pxelinux.cfg/default     sample pxelinux configuration
    <base>.ipxe              sample iPXE script

The initrd brings up the network (`ip=dhcp`), fetches `{server}/<base>.<fstype>`
over HTTP or TFTP into RAM, checks it against the SHA-256 on the command line
and boots it: a squashfs under a RAM overlay, other file systems read-write in RAM.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
import uuid
from pathlib import Path

from kiwi_like import run as runner
from kiwi_like.create.boot import netboot_samples as samples
from kiwi_like.create.boot import resize
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
        "boot=kiwi-netboot",
        f"kiwi-like.image={samples.SERVER}/{image_name}",
        f"kiwi-like.sha256={sha256}",
        f"kiwi-like.fstype={settings.filesystem}",
        "ip=dhcp",
        *settings.kernel_options,
    ]
    return " ".join(words)


def check_kis_image(root: Path) -> Kernel:
    if not root.is_dir():
        raise KiwiLikeError(f"image root {root} does not exist")
    kernel = newest_kernel(root)
    if not has_program(root, "mkinitramfs"):
        raise KiwiLikeError("the image has no initramfs-tools: add the package initramfs-tools")
    return kernel


def _root_image(root: Path, settings: KisSettings, output: Path, work: Path) -> None:
    if settings.filesystem == "squashfs":
        make_squashfs(root, output, settings.squashfs_compression, (METADATA_DIR,))
        return
    partition = ImageFile(
        filesystem=settings.filesystem, size=root_minimum(tree_size(root, (METADATA_DIR,))),
        uuid=str(uuid.uuid4()), label=ROOT_LABEL,
    )  # fmt: skip
    with (
        parked(root, (METADATA_DIR,), work / "parked"),
        step(f"creating the {settings.filesystem} root image"),
    ):
        make_root_filesystem(partition, root, output, work)


def build_kis(build: ResolvedBuild, root: Path, tarball: Path, scratch: Path) -> list[str]:
    """Write the kis tarball; return the names of the files in it."""
    root = root.absolute()
    settings = settings_of(build, KisSettings)
    kernel = check_kis_image(root)
    base = build.result_basename
    with step("configuring the root for network boot"):
        write_diskless_fstab(root, "network-booted system")
        resize.remove_resize(root)
    with tempfile.TemporaryDirectory(dir=scratch, prefix="kiwi-like-kis-") as name:
        work = Path(name)
        tree = work / "tarball"
        tree.mkdir()
        image_name = f"{base}.{settings.filesystem}"
        _root_image(root, settings, tree / image_name, work)
        sha256 = file_digest(tree / image_name)
        (tree / f"{image_name}.sha256").write_text(f"{sha256}  {image_name}\n")
        shutil.copyfile(resolve_in_root(root, kernel.image), tree / f"{base}.kernel")
        with step("making the network boot initrd"):
            initrd = make_initrd(
                root, kernel, work, boot_script=NETBOOT_FILES / BOOT_SCRIPT,
                hook=NETBOOT_FILES / "hook", modules=NETBOOT_MODULES, what="network boot",
            )  # fmt: skip
        shutil.move(initrd, tree / f"{base}.initrd")
        append = append_line(settings, image_name, sha256)
        names = samples.write_boot_files(
            tree, build.name, f"{base}.kernel", f"{base}.initrd", append
        )
        with step("packing the kis tarball"):
            _pack(tree, names, tarball)
    log.info("kis tarball %s: %d MiB", tarball.name, tarball.stat().st_size >> 20)
    return names


def _pack(tree: Path, names: list[str], tarball: Path) -> None:
    """tar.xz with threads; the image inside is compressed already, so a fast level."""
    plain = tarball.with_suffix("")  # .tar
    with tarfile.open(plain, "w", format=tarfile.GNU_FORMAT) as tar:
        for name in names:
            tar.add(tree / name, arcname=name)
    runner.run(["xz", "-T0", "-1", "--force", plain])
    plain.with_name(plain.name + ".xz").replace(tarball)


def create(
    build: ResolvedBuild, root: Path, results: Results, scratch: Path, config: RuntimeConfig
) -> None:
    name = f"{build.result_basename}.tar.xz"
    build_kis(build, root, results.stage(name), scratch)
    results.publish_image("kis_archive", name, config.checksum_algorithm)
