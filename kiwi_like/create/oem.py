"""The oem builder: a raw disk (dd it onto a machine) plus an optional virtual-disk format."""

from __future__ import annotations

from pathlib import Path

from kiwi_like import reproducible, timing
from kiwi_like.create import formats
from kiwi_like.create.boot.initrdcache import cache_directory
from kiwi_like.description import ResolvedBuild
from kiwi_like.description.imagetypes import settings_of
from kiwi_like.description.imagetypes.oem import DiskSettings
from kiwi_like.log import log
from kiwi_like.result import Results
from kiwi_like.runtime_config import RuntimeConfig


def create(
    build: ResolvedBuild, root: Path, results: Results, scratch: Path, config: RuntimeConfig
) -> None:
    from kiwi_like.create.disk import build_disk
    from kiwi_like.create.iso.install import (
        build_install_iso,
        build_install_tarball,
        check_installer_tools,
    )

    settings = settings_of(build, DiskSettings)
    if settings.installer:  # before the disk is built, not after
        check_installer_tools(root, settings.initrd_system, settings.install_pxe)
    _warn_unreproducible(settings)
    raw_name = f"{build.result_basename}.raw"
    raw = results.stage(raw_name)
    initrd_cache = cache_directory(config)
    disk = build_disk(build, root, raw, scratch, config.initrd_modules, initrd_cache)
    if settings.install_iso:
        install_name = f"{build.result_basename}.install.iso"
        build_install_iso(build, root, disk, results.stage(install_name), scratch)
        results.publish_image("installation_image", install_name, config.checksum_algorithm)
    if settings.install_pxe:
        tar_name = f"{build.result_basename}.install.tar"
        build_install_tarball(build, root, disk, results.stage(tar_name), scratch)
        results.publish_image("installation_pxe_archive", tar_name, config.checksum_algorithm)
    disk_format = settings.disk_format
    if disk_format:
        name = formats.format_filename(build, disk_format)
        with timing.step(f"{disk_format} conversion", "compression"):
            if disk_format == "vagrant":
                formats.vagrant_box(raw, results.stage(name), scratch)
            else:
                formats.convert(raw, disk_format, results.stage(name))
        with timing.step("checksum", "results"):
            results.publish_image("disk_format_image", name, config.checksum_algorithm)
    # With a format, that file is what a build service ships; the raw stays for dd.
    with timing.step("checksum", "results"):
        results.publish_image(
            "disk_image",
            raw_name,
            config.checksum_algorithm,
            compress=True,
            use_for_bundle=not disk_format,
        )


def _warn_unreproducible(settings: DiskSettings) -> None:
    """What a reproducible build still makes differently each time (doc/reproducible.md)."""
    if reproducible.current() is None:
        return
    if settings.disk_format and settings.disk_format != "qcow2":
        log.warning(
            "the %s file is not made reproducibly (qemu-img or gzip write ids or the time "
            "into it): the raw disk and qcow2 are", settings.disk_format,
        )  # fmt: skip
    if settings.install_pxe:
        log.warning("the network install tarball (installpxe) is not made reproducibly")
