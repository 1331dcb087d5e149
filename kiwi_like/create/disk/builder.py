"""Building a bootable disk image from a prepared root, without loop devices.

Order: check the image, configure the root (fstab, GRUB files, oem-resize,
initrd), size the disk, make GRUB's images inside the root, make the file
systems (an ext* root straight into the sparse disk file after sfdisk wrote
its table, `mke2fs -E offset=`; btrfs from the directory and xfs through a
namespaced loop mount as files; FAT with mtools), then assemble: the
partition files copied in at their offsets, GRUB's BIOS code into the MBR and
the BIOS boot partition. The image is written under a temporary name next
to its final path and renamed when it is complete.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kiwi_like import timing
from kiwi_like.background import beside
from kiwi_like.create.boot import filesystems
from kiwi_like.create.boot.filesystems import MIB, root_minimum, round_up
from kiwi_like.create.boot.tree import ESP_MOUNTPOINT, excluded_paths, parked, tree_size
from kiwi_like.create.disk import grub, table
from kiwi_like.create.disk.configure import configure_root
from kiwi_like.create.disk.esp import make_esp
from kiwi_like.create.disk.grubcfg import OVERLAY_GRUB_MODULES, early_config, overlay_mark
from kiwi_like.create.disk.identity import Identities
from kiwi_like.create.disk.layout import DiskLayout, plan_layout
from kiwi_like.create.disk.overlay import make_overlay_partitions
from kiwi_like.create.disk.preflight import check_image, grub_firmwares
from kiwi_like.create.disk.result import DiskResult, describe
from kiwi_like.create.disk.sparse import copy_into
from kiwi_like.create.steps import step
from kiwi_like.description import ResolvedBuild
from kiwi_like.description.imagetypes import settings_of
from kiwi_like.description.imagetypes.oem import DiskSettings
from kiwi_like.log import log
from kiwi_like.prepare import scripts

DISK_HOOKS = ("pre_disk_sync.sh", "disk.sh")


@contextmanager
def partial_file(final: Path) -> Iterator[Path]:
    """A temporary file next to `final`, renamed to it only if the block succeeds."""
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.with_name(f".{final.name}.{secrets.token_hex(4)}.partial")
    # a new file with the usual permissions (0666 less the umask), unlike mkstemp's 0600
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield temporary
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)


def run_disk_hooks(build: ResolvedBuild, root: Path) -> None:
    """kiwi's disk scripts, in the chroot, on the tree the root file system is made from.

    kiwi runs pre_disk_sync.sh before it copies the root onto the disk and
    disk.sh on the mounted disk afterwards; kiwi-like makes the file system
    from the tree itself, so both run on that tree, in that order, once fstab,
    GRUB's files and the initrd are in place.
    """
    with scripts.script_environment(root, build):
        for name in DISK_HOOKS:
            scripts.run_script(root, build, name)


def _esp_tree(root: Path, efi_tree: Path, work: Path) -> Path:
    """The EFI system partition's files: the root's /boot/efi plus GRUB (with Secure Boot:
    shim and signed GRUB) as the fallback loader."""
    tree = work / "esp"
    source = root / ESP_MOUNTPOINT
    if source.is_dir() and not source.is_symlink():
        shutil.copytree(source, tree, symlinks=False)
    else:
        tree.mkdir()
    shutil.copytree(efi_tree, tree, dirs_exist_ok=True)
    return tree


def _make_partition_files(
    root: Path, layout: DiskLayout, boot: grub.BootImages, work: Path
) -> dict[int, Path]:
    """The content of the partitions before the root one, as files by partition number."""
    files: dict[int, Path] = {}
    esp = layout.find("esp")
    if esp is not None:
        assert boot.efi_tree is not None
        files[esp.number] = work / "esp.img"
        with step("creating the EFI system partition"):
            make_esp(esp, _esp_tree(root, boot.efi_tree, work), files[esp.number])
    swap = layout.find("swap")
    if swap is not None:
        files[swap.number] = work / "swap.img"
        with step("creating the swap partition"):
            filesystems.make_swap(swap, files[swap.number])
    return files


def _make_root_file(
    root: Path,
    settings: DiskSettings,
    ids: Identities,
    root_min: int,
    create_options: str,
    work: Path,
) -> tuple[DiskLayout, Path]:
    """The root file system as a file, and the layout it fits into.

    If mkfs needs more room than planned (btrfs), the disk is planned again
    around what it needs, once; a fixed <size> that is too small is an error.
    """
    output = work / "root.img"
    for attempt in (1, 2):
        layout = plan_layout(settings, ids, root_min)
        try:
            with (
                parked(root, excluded_paths(root, settings.efi), work / "parked"),
                step(f"creating the {settings.filesystem} root file system"),
                timing.step("root file system", "filesystem"),
            ):
                filesystems.make_root_filesystem(layout.root, root, output, work, create_options)
            return layout, output
        except filesystems.RootTooSmall as error:
            if attempt == 2:
                raise
            log.info("%s: planning the disk again", error)
            root_min = round_up(error.needed)
    raise AssertionError("unreachable")


def _make_root_in_place(
    root: Path,
    settings: DiskSettings,
    layout: DiskLayout,
    create_options: str,
    image: Path,
    work: Path,
) -> None:
    """The disk image file with its partition table and the ext* root file system in it."""
    filesystems.sized_file(image, layout.size)
    table.write_table(image, layout)
    with (
        parked(root, excluded_paths(root, settings.efi), work / "parked"),
        step(f"creating the {settings.filesystem} root file system"),
        timing.step("root file system", "filesystem"),
    ):
        filesystems.make_root_filesystem_in_place(layout.root, root, image, create_options)


def _assemble(
    image: Path,
    layout: DiskLayout,
    files: dict[int, Path],
    boot: grub.BootImages,
    prepared: bool = False,
) -> dict[str, object]:
    """Put the partitions' files and GRUB's BIOS code into the disk image.

    `prepared`: the image already has its partition table (and its root file system).
    """
    log.info("Assembling the %s disk (%d MiB)", layout.table, layout.size // MIB)
    if not prepared:
        filesystems.sized_file(image, layout.size)
        table.write_table(image, layout)
    for partition in layout.partitions:
        content = files.get(partition.number)
        if content is not None:
            copy_into(content, image, partition.start)
            content.unlink()  # free the space early
    grub.install_bios_boot(image, layout, boot)
    return table.read_table(image)


def _boot_images(
    root: Path, settings: DiskSettings, ids: Identities, work: Path
) -> grub.BootImages:
    with step("making the GRUB images"), timing.step("GRUB images", "bootloader"):
        return grub.make_boot_images(
            root,
            grub_firmwares(settings),
            early_config(ids.root_uuid, overlay_mark(settings, ids)),
            work,
            settings.secure_boot,
            OVERLAY_GRUB_MODULES if settings.overlay is not None else (),
        )


def build_disk(
    build: ResolvedBuild,
    root: Path,
    image: Path,
    scratch: Path,
    initrd_modules: str = "disk",
    cache_dir: Path | None = None,
) -> DiskResult:
    """Build the raw disk image `image` for the selected type from the prepared `root`.

    `initrd_modules`: "disk" (the drivers a disk boots from) or "most" (initramfs-tools').
    `cache_dir`: the shared cache whose initrd cache to use (None: always generate).
    """
    root = root.absolute()
    image = image.absolute()
    settings = settings_of(build, DiskSettings)
    kernel = check_image(root, settings)
    ids = Identities.new()
    with step("configuring the root for the disk"):
        configure_root(
            root, settings, ids, kernel, settings.mount_options, initrd_modules, cache_dir
        )
    with timing.step("disk hooks", "config"):
        run_disk_hooks(build, root)
    with tempfile.TemporaryDirectory(dir=scratch, prefix="kiwi-like-disk-") as name:
        work = Path(name)
        # GRUB's images (the image's grub-mkimage) are made while the root is measured
        with beside(_boot_images, root, settings, ids, work) as boot_images:
            root_min = root_minimum(tree_size(root, excluded_paths(root, settings.efi)))
            if settings.overlay is None:
                plan_layout(settings, ids, root_min)  # a too small <size> fails before mkfs
            boot = boot_images.result()
        create_options = settings.create_options
        in_place = settings.overlay is None and filesystems.can_make_in_place(
            settings.filesystem, create_options
        )
        files: dict[int, Path]
        with partial_file(image) as partial:
            if settings.overlay is not None:
                layout, files = make_overlay_partitions(root, settings, ids, work)
            elif in_place:
                layout = plan_layout(settings, ids, root_min)
                _make_root_in_place(root, settings, layout, create_options, partial, work)
                files = {}
            else:
                layout, root_file = _make_root_file(
                    root, settings, ids, root_min, create_options, work
                )
                files = {layout.root.number: root_file}
            log.info(
                "Disk layout: %s",
                ", ".join(f"{p.name} {p.size // MIB} MiB" for p in layout.partitions),
            )
            with timing.step("other partitions", "filesystem"):
                files.update(_make_partition_files(root, layout, boot, work))
            with step("assembling the disk image"), timing.step("disk assembly", "bootloader"):
                written = _assemble(partial, layout, files, boot, prepared=in_place)
                result = describe(image, layout, written, settings.firmware, kernel.version)
    log.info("Disk image %s: %d MiB, root %s", image.name, layout.size // MIB, ids.root_uuid)
    return result
