"""derived_from: the base image a container is built on.

Prepare copies the base into the root's metadata directory (`image/`, never part
of a layer) as an OCI layout, unpacks its layers into the root with umoci and
records what the unpacked tree looked like; create then writes one layer with
only the differences on top of the base's own layers.
"""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

from kiwi_like import run as runner
from kiwi_like.errors import KiwiLikeError
from kiwi_like.log import log
from kiwi_like.oci import skopeo, tree
from kiwi_like.oci.layout import Layout

BASE_LAYOUT = "image/derived-base"  # relative to the root
BASE_TREE = "image/derived-base.tree.json"
BASE_TAG = "base"
ARCHIVE_TRANSPORTS = ("oci-archive:", "docker-archive:")
REGISTRY_TRANSPORTS = ("docker://",)
COMPRESSED = ((b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"), (b"\x1f\x8b", "gzip"))


def skopeo_reference(uri: str, description_dir: Path, scratch: Path) -> str:
    """The skopeo source for kiwi's derived_from forms.

    `oci-archive:PATH[:TAG]` and `docker-archive:PATH[:REF]` name archives;
    `dir://PATH`, `file://PATH` and plain paths name an OCI layout directory or
    an oci/docker archive file (told apart by their content); relative paths are
    relative to the description directory. `docker://` pulls from a registry.
    Archives compressed with xz, zstd or gzip (kiwi's results) are unpacked first.
    """
    if uri.startswith(REGISTRY_TRANSPORTS):
        return uri
    if uri.startswith("obs://"):
        raise KiwiLikeError(
            f"derived_from '{uri}': obs:// images need the Open Build Service; "
            "download the image and give its path (oci-archive:PATH or docker-archive:PATH)"
        )
    transport, path, reference = _parts(uri)
    located = _located(path, description_dir, uri)
    if located.is_file():
        located = _uncompressed(located, scratch)
        transport = transport or _archive_kind(located, uri)
    else:
        transport = "oci:"
    if transport == "docker-archive:":
        return f"{transport}{located}" + (f":{reference}" if reference else "")
    if transport == "oci-archive:":
        located = _extracted(located, scratch, uri)
    if not (located / "oci-layout").is_file():
        raise KiwiLikeError(f"derived_from '{uri}': {located} is not an OCI image layout")
    return f"oci:{located}:{reference or _only_image(Layout(located), uri)}".rstrip(":")


def _parts(uri: str) -> tuple[str | None, str, str]:
    """(transport or None, path, reference) of a derived_from value."""
    for transport in ARCHIVE_TRANSPORTS:
        if uri.startswith(transport):
            path, _, reference = uri[len(transport) :].partition(":")
            return transport, path, reference
    for prefix in ("dir://", "file://", "this://"):
        uri = uri.removeprefix(prefix)
    return None, uri, ""


def _extracted(archive: Path, scratch: Path, uri: str) -> Path:
    layout = scratch / "derived-base-archive"
    shutil.rmtree(layout, ignore_errors=True)
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(layout, filter="data")
    except (OSError, tarfile.TarError) as error:
        raise KiwiLikeError(f"derived_from '{uri}': cannot unpack {archive}: {error}") from None
    return layout


def _only_image(layout: Layout, uri: str) -> str:
    """The tag to use when the URI names none: fine if every tag is the same image."""
    images = layout.manifests()
    if len({descriptor.digest for _, descriptor in images}) > 1:
        tags = ", ".join(tag or "(untagged)" for tag, _ in images)
        raise KiwiLikeError(
            f"derived_from '{uri}' holds several images: add one of the tags {tags}"
        )
    return next((tag for tag, _ in images if tag), "")


def _located(path: str, description_dir: Path, uri: str) -> Path:
    located = (description_dir / path).resolve()
    if not located.exists():
        raise KiwiLikeError(f"derived_from '{uri}': {located} does not exist")
    return located


def _uncompressed(path: Path, scratch: Path) -> Path:
    with path.open("rb") as stream:
        magic = stream.read(6)
    for signature, tool in COMPRESSED:
        if magic.startswith(signature):
            plain = scratch / "derived-base.tar"
            runner.run(["sh", "-c", f'{tool} -dc "$1" > "$2"', "sh", path, plain])
            return plain
    return path


def _archive_kind(path: Path, uri: str) -> str:
    try:
        with tarfile.open(path) as archive:
            names = {name.removeprefix("./") for name in archive.getnames()}
    except (OSError, tarfile.TarError) as error:
        raise KiwiLikeError(
            f"derived_from '{uri}': {path} is not an image archive ({error})"
        ) from None
    if "oci-layout" in names:
        return "oci-archive:"
    if "manifest.json" in names:
        return "docker-archive:"
    raise KiwiLikeError(f"derived_from '{uri}': {path} is neither an OCI nor a docker archive")


def import_base(uri: str, description_dir: Path, root: Path, scratch: Path) -> None:
    """Unpack the base image into the empty root and keep it for the create stage."""
    source = skopeo_reference(uri, description_dir, scratch)
    staged = scratch / "derived-base"
    shutil.rmtree(staged, ignore_errors=True)
    log.info("Importing the base image %s", source)
    skopeo.copy(source, f"oci:{staged}:{BASE_TAG}", scratch)
    unpacked = scratch / "derived-base-rootfs"
    shutil.rmtree(unpacked, ignore_errors=True)
    runner.run(["umoci", "raw", "unpack", "--image", f"{staged}:{BASE_TAG}", unpacked])
    for child in unpacked.iterdir():
        shutil.move(child, root / child.name)
    (root / "image").mkdir(exist_ok=True)
    shutil.move(staged, root / BASE_LAYOUT)
    tree.save_tree(list(tree.scan(root, digests=True)), root / BASE_TREE)


def imported_base(root: Path) -> tuple[Layout, dict[str, tree.Entry]] | None:
    """The base image prepare imported into this root, if any."""
    layout = Layout(root / BASE_LAYOUT)
    if not (layout.path / "index.json").is_file() or not (root / BASE_TREE).is_file():
        return None
    return layout, tree.load_tree(root / BASE_TREE)
