"""Tool defaults from a kiwi.yml-style YAML file.

Looked up in this order, first found wins: --config FILE, ~/.config/kiwi-like/config.yml,
/etc/kiwi-like.yml. Relative paths inside the file are relative to the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kiwi_like.errors import ConfigError

SEARCH_PATH = (Path("~/.config/kiwi-like/config.yml"), Path("/etc/kiwi-like.yml"))
CHECKSUM_ALGORITHMS = ("sha256", "sha512", "md5")
COMPRESSIONS = ("xz", "zstd", "gzip", "none")
# mmdebstrap variants; "custom" installs only the listed packages (no apt in the root).
BOOTSTRAP_VARIANTS = ("minbase", "essential", "apt", "required", "important", "standard", "custom")
KNOWN_SECTIONS = {"obs", "apt", "cache", "xz", "container", "checksum", "bundle"}


@dataclass(frozen=True)
class RuntimeConfig:
    file: Path | None = None
    obs_download_url: str | None = None
    host_apt_sources: Path = Path("/etc/apt")
    apt_bootstrap_variant: str = "minbase"
    shared_cache_dir: Path = Path("/var/cache/kiwi-like")
    xz_options: tuple[str, ...] = ("-T0", "-6")
    container_compression: str = "xz"
    checksum_algorithm: str = "sha256"
    bundle_compress: bool = False


def find_config_file(explicit: str | None) -> Path | None:
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"runtime config {explicit}: file not found")
        return path
    for candidate in SEARCH_PATH:
        path = candidate.expanduser()
        if path.is_file():
            return path
    return None


def load_runtime_config(explicit: str | None = None) -> RuntimeConfig:
    path = find_config_file(explicit)
    if path is None:
        return RuntimeConfig()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"runtime config {path}: cannot read: {error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"runtime config {path}{where}: invalid YAML") from None
    if not isinstance(data, dict):
        raise ConfigError(f"runtime config {path}: top level must be a mapping")
    return _from_mapping(path, data)


def _section(path: Path, data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"runtime config {path}: '{name}' must be a mapping")
    return value


def _flag(path: Path, key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"runtime config {path}: {key} must be true or false")
    return value


def _choice(path: Path, key: str, value: object, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(f"runtime config {path}: {key} must be one of {', '.join(allowed)}")
    return str(value)


def _from_mapping(path: Path, data: dict[str, Any]) -> RuntimeConfig:
    base = path.resolve().parent
    defaults = RuntimeConfig()

    def local_path(value: object, default: Path) -> Path:
        return default if value is None else (base / Path(str(value)).expanduser()).resolve()

    unknown = sorted(set(data) - KNOWN_SECTIONS)
    if unknown:
        raise ConfigError(f"runtime config {path}: unknown section(s): {', '.join(unknown)}")

    obs = _section(path, data, "obs")
    apt = _section(path, data, "apt")
    cache = _section(path, data, "cache")
    xz = _section(path, data, "xz")
    container = _section(path, data, "container")
    checksum = _section(path, data, "checksum")
    bundle = _section(path, data, "bundle")
    xz_options = xz.get("options", defaults.xz_options)
    if isinstance(xz_options, str):
        xz_options = xz_options.split()
    return RuntimeConfig(
        file=path,
        obs_download_url=(
            str(obs["download_url"]).rstrip("/") if obs.get("download_url") else None
        ),
        host_apt_sources=local_path(apt.get("host_sources"), defaults.host_apt_sources),
        apt_bootstrap_variant=_choice(
            path,
            "apt.bootstrap_variant",
            apt.get("bootstrap_variant", "minbase"),
            BOOTSTRAP_VARIANTS,
        ),
        shared_cache_dir=local_path(cache.get("shared_dir"), defaults.shared_cache_dir),
        xz_options=tuple(str(o) for o in xz_options),
        container_compression=_choice(
            path, "container.compress", container.get("compress", "xz"), COMPRESSIONS
        ),
        checksum_algorithm=_choice(
            path, "checksum.algorithm", checksum.get("algorithm", "sha256"), CHECKSUM_ALGORITHMS
        ),
        bundle_compress=_flag(path, "bundle.compress", bundle.get("compress", False)),
    )
