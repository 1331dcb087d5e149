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
KNOWN_SECTIONS = {"obs", "apt", "cache", "xz", "container", "checksum", "bundle", "initrd"}
# initramfs-tools module selection of disk initrds: the drivers disks need, or Debian's "most".
INITRD_MODULES = ("disk", "most")
DEFAULT_ROOT_CACHE_SIZE = 4 << 30
_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


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
    root_cache_size: int = DEFAULT_ROOT_CACHE_SIZE  # bytes; 0 turns the root cache off
    initrd_modules: str = "disk"
    initrd_cache: bool = True


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


def _size(path: Path, key: str, value: object) -> int:
    """A size in bytes: a number, or a number with K, M, G or T (powers of 1024)."""
    text = str(value).strip().upper().removesuffix("B").removesuffix("I")
    unit = text[-1:] if text[-1:] in _SIZE_UNITS and text[-1:] else ""
    number = text[: len(text) - len(unit)].strip()
    if isinstance(value, bool) or not number.isdigit():
        raise ConfigError(
            f"runtime config {path}: {key} must be a size such as 4G, 500M or 0 (off)"
        )
    return int(number) * _SIZE_UNITS[unit]


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
    initrd = _section(path, data, "initrd")
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
        root_cache_size=_size(
            path, "cache.root_cache_size", cache.get("root_cache_size", defaults.root_cache_size)
        ),
        initrd_cache=_flag(path, "cache.initrd_cache", cache.get("initrd_cache", True)),
        initrd_modules=_choice(
            path, "initrd.modules", initrd.get("modules", "disk"), INITRD_MODULES
        ),
    )
