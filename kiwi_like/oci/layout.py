"""The OCI image layout (oci-layout, index.json, blobs/) and its tar archive."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiwi_like.errors import KiwiLikeError

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Descriptor:
        return cls(data["mediaType"], data["digest"], int(data["size"]))


def _canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


class Layout:
    """An OCI image layout directory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.blobs = path / "blobs/sha256"

    def create(self) -> Layout:
        self.blobs.mkdir(parents=True, exist_ok=True)
        (self.path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
        return self

    def blob(self, digest: str) -> Path:
        return self.blobs / digest.removeprefix("sha256:")

    def add_json(self, media_type: str, data: dict[str, Any]) -> Descriptor:
        content = _canonical(data)
        digest = hashlib.sha256(content).hexdigest()
        (self.blobs / digest).write_bytes(content)
        return Descriptor(media_type, f"sha256:{digest}", len(content))

    def read_json(self, descriptor: Descriptor) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.blob(descriptor.digest).read_bytes())
        except (OSError, ValueError) as error:
            raise KiwiLikeError(
                f"{self.path}: unreadable blob {descriptor.digest}: {error}"
            ) from None
        return data

    def write_index(self, manifest: Descriptor, tags: tuple[str, ...]) -> None:
        entries = [manifest.to_json() | {"annotations": {REF_NAME: tag}} for tag in tags]
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                 "manifests": entries}  # fmt: skip
        (self.path / "index.json").write_text(json.dumps(index, indent=2, sort_keys=True))

    def manifests(self) -> list[tuple[str | None, Descriptor]]:
        """(tag, manifest) for every image the index names."""
        try:
            index = json.loads((self.path / "index.json").read_text())
            return [
                (entry.get("annotations", {}).get(REF_NAME), Descriptor.from_json(entry))
                for entry in index["manifests"]
            ]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise KiwiLikeError(f"{self.path}: not an OCI image layout ({error})") from None

    def write_archive(self, output: Path, epoch: int | None) -> None:
        """The layout as a tar file (an oci-archive), entries sorted, owned by root."""
        with tarfile.open(output, "w", format=tarfile.PAX_FORMAT) as tar:
            for path in sorted(self.path.rglob("*")):
                info = tar.gettarinfo(str(path), str(path.relative_to(self.path)))
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mode = 0o755 if info.isdir() else 0o644
                info.mtime = epoch if epoch is not None else int(path.stat().st_mtime)
                if info.isfile():
                    with path.open("rb") as content:
                        tar.addfile(info, content)
                else:
                    tar.addfile(info)


def manifest(config: Descriptor, layers: list[Descriptor]) -> dict[str, Any]:
    return {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": config.to_json(),
        "layers": [layer.to_json() for layer in layers],
    }


def link_or_copy(source: Path, target: Path) -> None:
    """A base image's blob in the new layout: hard link when possible, copy otherwise."""
    if target.exists():
        return
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
