"""The docker and oci image types: `<name>.<arch>-<version>.{docker,oci}.tar[.xz]`."""

from __future__ import annotations

import os
from pathlib import Path

from kiwi_like import run as runner
from kiwi_like.create.container.config import image_config, naming, timestamp
from kiwi_like.create.container.layer import write_layer_blob
from kiwi_like.description import ResolvedBuild
from kiwi_like.description.imagetypes import settings_of
from kiwi_like.description.imagetypes.container import ContainerSettings
from kiwi_like.errors import KiwiLikeError
from kiwi_like.log import log
from kiwi_like.oci import skopeo, tree
from kiwi_like.oci.layout import (
    CONFIG_TYPE,
    LAYER_TYPE,
    MANIFEST_TYPE,
    Descriptor,
    Layout,
    link_or_copy,
    manifest,
)
from kiwi_like.prepare.base_image import BASE_TAG, imported_base
from kiwi_like.reproducible import source_date_epoch
from kiwi_like.result import Results
from kiwi_like.runtime_config import RuntimeConfig

SUFFIXES = {"xz": ".xz", "zstd": ".zst", "gzip": ".gz", "none": ""}


def _default_command(root: Path) -> list[str]:
    """kiwi's default command is /bin/bash; roots without bash get /bin/sh."""
    has_bash = any(os.path.lexists(root / p) for p in ("bin/bash", "usr/bin/bash"))
    return ["/bin/bash"] if has_bash else ["/bin/sh"]


def write_layout(build: ResolvedBuild, root: Path, layout: Layout, epoch: int | None) -> None:
    """The image as an OCI layout: the base's layers (if derived) plus one of the root."""
    settings = settings_of(build, ContainerSettings)
    base = imported_base(root)
    if settings.derived_from and base is None:
        raise KiwiLikeError(
            f"{root} holds no imported base image: prepare it again with this derived_from"
        )
    layers: list[Descriptor] = []
    diff_ids: list[str] = []
    base_config = None
    if base is None:
        entries = list(tree.scan(root))
        removed: tuple[str, ...] = ()
    else:
        base_layout, base_tree = base
        base_manifest = base_layout.read_json(_tagged(base_layout, BASE_TAG))
        base_config = base_layout.read_json(Descriptor.from_json(base_manifest["config"]))
        layers = [Descriptor.from_json(layer) for layer in base_manifest["layers"]]
        diff_ids = list(base_config["rootfs"]["diff_ids"])
        for layer in layers:
            link_or_copy(base_layout.blob(layer.digest), layout.blob(layer.digest))
        change = tree.difference(base_tree, list(tree.scan(root, digests=True)))
        entries, removed = list(change.entries), change.removed
        log.info("Layer on top of %d base layer(s): %d entries, %d removed",
                 len(layers), len(entries), len(removed))  # fmt: skip
    blob = write_layer_blob(root, entries, layout.blobs, epoch, removed)
    layers.append(Descriptor(LAYER_TYPE, blob.digest, blob.size))
    diff_ids.append(blob.diff_id)
    container = settings.config
    config = image_config(container, build.arch, diff_ids, timestamp(epoch),
                          _default_command(root), base_config)  # fmt: skip
    config_descriptor = layout.add_json(CONFIG_TYPE, config)
    manifest_descriptor = layout.add_json(MANIFEST_TYPE, manifest(config_descriptor, layers))
    layout.write_index(manifest_descriptor, naming(container).tags)


def _tagged(layout: Layout, tag: str) -> Descriptor:
    for name, descriptor in layout.manifests():
        if name == tag:
            return descriptor
    raise KiwiLikeError(f"{layout.path}: no image tagged '{tag}'")


def _docker_archive(build: ResolvedBuild, layout: Layout, output: Path, scratch: Path) -> None:
    names = naming(settings_of(build, ContainerSettings).config)
    first, *more = names.references
    extra = [option for reference in more for option in ("--additional-tag", reference)]
    skopeo.copy(
        f"oci:{layout.path}:{names.tags[0]}", f"docker-archive:{output}:{first}", scratch, *extra
    )


def _compress(archive: Path, compression: str, config: RuntimeConfig) -> Path:
    if compression == "xz":
        runner.run(["xz", *config.xz_options, "--force", archive])
    elif compression == "zstd":
        runner.run(["zstd", "-q", "-T0", "-19", "--rm", "--force", archive])
    elif compression == "gzip":
        runner.run(["gzip", "-n", "-9", "--force", archive])
    return archive.with_name(archive.name + SUFFIXES[compression])


def create(
    build: ResolvedBuild, root: Path, results: Results, scratch: Path, config: RuntimeConfig
) -> None:
    kind = build.build_type.image  # "docker" or "oci"
    epoch = source_date_epoch()
    layout = Layout(scratch / "oci-layout").create()
    write_layout(build, root, layout, epoch)
    archive = results.stage(f"{build.result_basename}.{kind}.tar")
    if kind == "oci":
        layout.write_archive(archive, epoch)
    else:
        _docker_archive(build, layout, archive, scratch)
    final = _compress(archive, config.container_compression, config)
    results.publish_image("container", final.name, config.checksum_algorithm)
