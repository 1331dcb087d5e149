"""The OCI image config from <containerconfig>, on its own or on top of a base's config."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from kiwi_like import __version__
from kiwi_like.description.model import ContainerConfig

DEFAULT_NAME = "kiwi-container"  # kiwi's defaults when <containerconfig> is absent
DEFAULT_TAG = "latest"
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
OCI_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "i686": "386", "i586": "386",
                     "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}  # fmt: skip


@dataclass(frozen=True)
class Naming:
    name: str
    tags: tuple[str, ...]  # the first is the main tag

    @property
    def references(self) -> tuple[str, ...]:
        return tuple(f"{self.name}:{tag}" for tag in self.tags)


def naming(config: ContainerConfig | None) -> Naming:
    if config is None:
        return Naming(DEFAULT_NAME, (DEFAULT_TAG,))
    tags = (config.tag or DEFAULT_TAG, *config.additional_tags)
    return Naming(config.name or DEFAULT_NAME, tuple(dict.fromkeys(tags)))


def timestamp(epoch: int | None) -> str:
    """RFC 3339 in UTC; SOURCE_DATE_EPOCH when given, so two builds agree."""
    seconds = time.time() if epoch is None else epoch
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _port(spec: str) -> str:
    return spec if "/" in spec else f"{spec}/tcp"


def _environment(base: list[str], ours: dict[str, str]) -> list[str]:
    merged = dict(item.partition("=")[::2] for item in base)
    merged.update(ours)
    return [f"{key}={value}" for key, value in merged.items()]


def image_config(
    config: ContainerConfig | None,
    arch: str,
    diff_ids: list[str],
    created: str,
    default_command: list[str],
    base: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The config blob: base settings first, the description's override them.

    `diff_ids` lists every layer of the image, the base's included.
    """
    config = config or ContainerConfig()
    inherited = dict((base or {}).get("config") or {})
    runtime: dict[str, Any] = dict(inherited)
    environment = _environment(inherited.get("Env") or ([] if base else [DEFAULT_PATH]),
                               dict(config.environment))  # fmt: skip
    if environment:
        runtime["Env"] = environment
    if config.user:
        runtime["User"] = config.user
    if config.workingdir:
        runtime["WorkingDir"] = config.workingdir
    if config.entrypoint is not None:
        runtime["Entrypoint"] = list(config.entrypoint) or None
        runtime.pop("Cmd", None)  # as in a Dockerfile: a new entrypoint resets the command
    if config.subcommand is not None:
        runtime["Cmd"] = list(config.subcommand) or None
    if base is None and config.entrypoint is None and config.subcommand is None:
        runtime["Cmd"] = default_command
    ports = dict(inherited.get("ExposedPorts") or {}) | {_port(p): {} for p in config.expose_ports}
    if ports:
        runtime["ExposedPorts"] = ports
    volumes = dict(inherited.get("Volumes") or {}) | {v: {} for v in config.volumes}
    if volumes:
        runtime["Volumes"] = volumes
    labels = dict(inherited.get("Labels") or {}) | dict(config.labels)
    if labels:
        runtime["Labels"] = labels
    runtime = {key: value for key, value in runtime.items() if value is not None}

    author = config.history.get("author") or config.maintainer
    history_entry = {
        "created": created,
        "created_by": config.history.get("created_by") or f"kiwi-like {__version__}",
    }
    if author:
        history_entry["author"] = author
    if config.history.get("comment"):
        history_entry["comment"] = config.history["comment"]

    result: dict[str, Any] = {
        "created": created,
        "architecture": OCI_ARCHITECTURES.get(arch, arch),
        "os": "linux",
        "config": runtime,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [*((base or {}).get("history") or []), history_entry],
    }
    if config.maintainer:
        result["author"] = config.maintainer
    return result
