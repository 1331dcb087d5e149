"""The runtime configuration: kiwi's kiwi.yml files, read and merged as kiwi does.

Every file of SEARCH_PATH that exists is read in that order, then the --config file, and
they are merged as kiwi merges them: key by key, a later value overrides an earlier one.
A section is a mapping, or kiwi's older list of one-key mappings. kiwi's sections and keys
and kiwi-like's own (apt, cache, initrd, checksum) are checked file by file: a value of
the wrong type or shape ends in one line naming the file, the key and what it must be; a
kiwi key that kiwi-like does not apply, and an unknown key, is warned and ignored.
Relative paths are relative to the file that sets them. doc/runtime-config.md lists all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import yaml

from kiwi_like.errors import ConfigError
from kiwi_like.log import log

# kiwi's default download server of OBS repositories (kiwi/defaults.py,
# get_obs_download_server_url): where obs://Project/repo points without obs.download_url.
OBS_DOWNLOAD_URL = "http://download.opensuse.org/repositories"

# Read in this order and merged (later files win); a name ending in ".d" is a directory
# whose *.yml files are read in sorted order. kiwi's files, with kiwi-like's own
# (/etc/kiwi-like.yml, ~/.config/kiwi-like/config.yml) after kiwi's of the same level.
SEARCH_PATH = (
    Path("/usr/share/kiwi/kiwi.yml"),
    Path("/usr/share/kiwi/kiwi.yml.d"),
    Path("/etc/kiwi.yml"),
    Path("/etc/kiwi.yml.d"),
    Path("/etc/kiwi-like.yml"),
    Path("~/.config/kiwi/config.yml"),
    Path("~/.config/kiwi-like/config.yml"),
)
MAX_FILE_SIZE = 1 << 20
CHECKSUM_ALGORITHMS = ("sha256", "sha512", "md5")
COMPRESSIONS = ("xz", "zstd", "gzip", "none")
SHASUMS = ("256", "512")  # kiwi's shasum sizes
# mmdebstrap variants; "custom" installs only the listed packages (no apt in the root).
BOOTSTRAP_VARIANTS = ("minbase", "essential", "apt", "required", "important", "standard", "custom")
# initramfs-tools module selection of disk initrds: the drivers disks need, or Debian's "most".
INITRD_MODULES = ("disk", "most")
DEFAULT_ROOT_CACHE_SIZE = 4 << 30
_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
# xz options that only set how it compresses: the rest (--stdout, --decompress, --files=,
# a file name...) would change what xz reads or writes.
_XZ_OPTION = re.compile(
    r"-[0-9eqvQ]+|-[TMCF][\w.,:=+%-]+"
    r"|--(?:extreme|fast|best|quiet|verbose|no-warn|no-adjust|robot"
    r"|(?:threads|memlimit|memlimit-compress|memory|block-size|block-list|check|format"
    r"|lzma1|lzma2|x86|powerpc|ia64|arm|armthumb|arm64|sparc|riscv|delta)=[\w.,:=+%-]+)"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class RuntimeConfig:
    files: tuple[Path, ...] = ()  # the files read, in merge order
    obs_download_url: str = OBS_DOWNLOAD_URL
    host_apt_sources: Path = Path("/etc/apt")
    apt_bootstrap_variant: str = "minbase"
    shared_cache_dir: Path = Path("/var/cache/kiwi-like")
    xz_options: tuple[str, ...] = ("-T0", "-6")
    container_compression: str = "xz"
    checksum_algorithm: str = "sha256"
    # result bundle: xz-compress images; None: kiwi's default of each result format
    bundle_compress: bool | None = None
    # result bundle: the checksum files' algorithm; None: checksum_algorithm
    bundle_checksum_algorithm: str | None = None
    # write a .changes file; None: kiwi's default (yes, except in a build-service worker)
    bundle_has_package_changes: bool | None = None
    max_image_size: int | None = None  # kiwi's build_constraints.max_size, in bytes
    # bytes; 0 turns the root cache off; None: not set (4 GiB, off in a build-service worker)
    root_cache_size: int | None = None
    initrd_modules: str = "disk"
    initrd_cache: bool | None = None  # None: not set (on, off in a build-service worker)
    # byte-identical images; SOURCE_DATE_EPOCH, when unset, from the newest package
    reproducible: bool = False


@dataclass(frozen=True)
class _Value:
    """One value of one file, for its parser: where it comes from, for messages and paths."""

    file: Path
    key: str
    value: Any

    def fail(self, expected: str) -> NoReturn:
        raise ConfigError(
            f"runtime config {self.file}: {self.key} must be {expected} (got {_show(self.value)})"
        )


Parser = Callable[[_Value], Any]


@dataclass(frozen=True)
class _Key:
    parse: Parser
    field: str | None = None  # the RuntimeConfig field it sets
    ignored: str = ""  # why kiwi-like does not apply it (warned when it is set)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _text(item: _Value) -> str:
    value = item.value
    if not isinstance(value, str) or not value.strip() or _CONTROL.search(value):
        item.fail("a string (one line, not empty)")
    return value.strip()


def _path(item: _Value) -> Path:
    text = _text(item)
    try:
        return (item.file.resolve().parent / Path(text).expanduser()).resolve()
    except (RuntimeError, OSError):  # ~user of an unknown user, a symlink loop
        item.fail("a path")


def _url(item: _Value) -> str:
    text = _text(item)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https", "ftp") or not parts.hostname or " " in text:
        item.fail("an http, https or ftp URL")
    return text.rstrip("/")


def _bool(item: _Value) -> bool:
    if not isinstance(item.value, bool):
        item.fail("true or false")
    return item.value


def _choice(*allowed: str) -> Parser:
    def parse(item: _Value) -> str:
        if not isinstance(item.value, str) or item.value not in allowed:
            item.fail(f"one of {', '.join(allowed)}")
        return item.value

    return parse


def _xz_options(item: _Value) -> tuple[str, ...] | None:
    """kiwi: one string split at white space; kiwi-like also takes a list of strings."""
    value = item.value
    # YAML reads `-9` as a number: a number stands for the option it is written as
    words = value if isinstance(value, list) else [value]
    if all(isinstance(word, str | int) and not isinstance(word, bool) for word in words):
        options = [option for word in words for option in str(word).split()]
    else:
        item.fail("a string of xz options such as '--threads=0 -9', or a list of them")
    for option in options:
        if not _XZ_OPTION.fullmatch(option):
            item.fail(
                "xz compression options only (such as -9, -e, -T0, --threads=0, --check=crc32); "
                f"{_show(option)} is not one"
            )
    return tuple(options) or None  # empty: not set, as in kiwi


def _size(item: _Value) -> int:
    """A size in bytes: a number, or a number with K, M, G or T (powers of 1024)."""
    value = item.value
    text = str(value).strip().upper().removesuffix("B").removesuffix("I")
    unit = text[-1:] if text[-1:] in _SIZE_UNITS and text[-1:] else ""
    number = text[: len(text) - len(unit)].strip()
    if isinstance(value, bool) or not isinstance(value, str | int) or not number.isdigit():
        item.fail("a size such as 4G, 500M or 0 (off)")
    return int(number) * _SIZE_UNITS[unit]


def _kiwi_size(item: _Value) -> int:
    """kiwi's sizes: bytes, or a number with m (MiB) or g (GiB)."""
    value = item.value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = re.fullmatch(r"(\d+)([gGmM]?)", value) if isinstance(value, str) else None
    if not match:
        item.fail("a size in bytes or with m or g, such as 700m")
    return int(match[1]) << {"g": 30, "m": 20}.get(match[2].lower(), 0)


def _shasum(item: _Value) -> str:
    value = item.value
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value) in SHASUMS:
        return f"sha{value}"
    item.fail('"256" or "512"')


def _container_compression(item: _Value) -> str:
    """kiwi's xz, none, true and false, and kiwi-like's zstd and gzip."""
    value = item.value
    if isinstance(value, bool):
        value = "xz" if value else "none"
    if not isinstance(value, str) or value not in COMPRESSIONS:
        item.fail(f"one of {', '.join(COMPRESSIONS)}, true, false")
    return value


def _names(item: _Value) -> tuple[str, ...]:
    value = item.value
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        item.fail("a list of names")
    return tuple(value)


NOT_YET = "kiwi-like does not apply it yet"
KEYS: dict[str, dict[str, _Key]] = {
    # kiwi's sections and keys (kiwi/runtime_config.py)
    "obs": {
        "download_url": _Key(_url, "obs_download_url"),
        "api_url": _Key(_url, ignored="kiwi-like does not talk to the build service's API"),
        "public": _Key(
            _bool, ignored="kiwi-like does not check that imageinclude repositories are public"
        ),
    },
    "bundle": {
        "compress": _Key(_bool, "bundle_compress"),
        "has_package_changes": _Key(_bool, "bundle_has_package_changes"),
        "shasum_size": _Key(_shasum, "bundle_checksum_algorithm"),
    },
    "shasum": {"size": _Key(_shasum, "checksum_algorithm")},
    "xz": {"options": _Key(_xz_options, "xz_options")},
    "container": {"compress": _Key(_container_compression, "container_compression")},
    "iso": {
        "tool_category": _Key(_choice("xorriso")),  # what kiwi-like uses
        "media_tag_tool": _Key(
            _choice("checkmedia", "isomd5sum"),
            ignored="kiwi-like implants no media checksum into ISO images",
        ),
    },
    "oci": {
        "archive_tool": _Key(
            _choice("umoci", "buildah"),
            ignored="kiwi-like writes container archives itself (docker archives with skopeo)",
        )
    },
    "mapper": {
        "part_mapper": _Key(
            _choice("partx", "kpartx"),
            ignored="kiwi-like builds disk images without mapping partitions",
        )
    },
    "sync": {
        "sparse": _Key(
            _bool,
            ignored="kiwi-like fills file systems with mkfs from the root, without rsync, "
            "and writes disk images sparse",
        )
    },
    "build_constraints": {"max_size": _Key(_kiwi_size, "max_image_size")},
    "runtime_checks": {
        "disable": _Key(_names, ignored="kiwi-like has its own checks, which cannot be turned off")
    },
    "credentials": {
        "verification_metadata_signing_key_file": _Key(
            _path, ignored="kiwi-like makes no verity metadata to sign"
        )
    },
    # kiwi-like's own sections and keys
    "apt": {
        "host_sources": _Key(_path, "host_apt_sources"),
        "bootstrap_variant": _Key(_choice(*BOOTSTRAP_VARIANTS), "apt_bootstrap_variant"),
    },
    "cache": {
        "shared_dir": _Key(_path, "shared_cache_dir"),
        "root_cache_size": _Key(_size, "root_cache_size"),
        "initrd_cache": _Key(_bool, "initrd_cache"),
    },
    "initrd": {"modules": _Key(_choice(*INITRD_MODULES), "initrd_modules")},
    "reproducible": {"enabled": _Key(_bool, "reproducible")},
    "checksum": {"algorithm": _Key(_choice(*CHECKSUM_ALGORITHMS), "checksum_algorithm")},
}


def config_files(explicit: str | None = None) -> list[Path]:
    """The files to read, in merge order: those of SEARCH_PATH that exist, then --config."""
    files: list[Path] = []
    for entry in SEARCH_PATH:
        try:
            path = entry.expanduser()
        except RuntimeError:  # no home directory
            continue
        try:
            if path.name.endswith(".d"):
                if path.is_dir():
                    files += sorted(p for p in path.glob("*.yml") if p.is_file())
            elif path.is_file():
                files.append(path)
        except PermissionError:  # another user's home (HOME kept by setpriv): as kiwi, absent
            continue
    if explicit is not None:
        path = Path(explicit)
        if not path.exists():
            raise ConfigError(f"runtime config {explicit}: file not found")
        if not path.is_file():
            raise ConfigError(f"runtime config {explicit}: not a regular file")
        files.append(path)
    return files


def load_runtime_config(explicit: str | None = None) -> RuntimeConfig:
    files = config_files(explicit)
    settings: dict[str, Any] = {}
    for path in files:
        log.info("Reading runtime config file: %s", path)
        settings.update(read_file(path))
    return RuntimeConfig(files=tuple(files), **settings)


def read_file(path: Path) -> dict[str, Any]:
    """The settings of one file by RuntimeConfig field, every value checked."""
    settings: dict[str, Any] = {}
    for section, body in _load(path).items():
        keys = KEYS.get(section) if isinstance(section, str) else None
        if keys is None:
            log.warning("runtime config %s: unknown section %s ignored", path, _show(section))
            continue
        for key, value in _entries(path, section, body):
            spec = keys.get(key) if isinstance(key, str) else None
            name = f"{section}.{key}"
            if spec is None:
                log.warning("runtime config %s: unknown key %s ignored", path, _show(name))
                continue
            if value is None:  # an empty value is not set, as in kiwi
                continue
            parsed = spec.parse(_Value(path, name, value))
            reason = spec.ignored
            if reason:
                log.warning("runtime config %s: %s has no effect: %s", path, name, reason)
            if spec.field and parsed is not None:
                settings[spec.field] = parsed
    return settings


def _load(path: Path) -> dict[Any, Any]:
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_SIZE + 1)
    except OSError as error:
        raise ConfigError(f"runtime config {path}: cannot read: {error.strerror}") from None
    if len(data) > MAX_FILE_SIZE:
        raise ConfigError(f"runtime config {path}: larger than 1 MiB, not a runtime config")
    if b"\0" in data:
        raise ConfigError(f"runtime config {path}: not a text file (binary data)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"runtime config {path}: not UTF-8 text (byte {error.start + 1})"
        ) from None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(_yaml_error(path, error)) from None
    except RecursionError:
        raise ConfigError(f"runtime config {path}: invalid YAML: nested too deeply") from None
    except (ValueError, ArithmeticError, AttributeError, TypeError) as error:
        # a tagged or typed value PyYAML cannot construct: !!int abc, 2020-13-45, a huge int
        raise ConfigError(
            f"runtime config {path}: invalid YAML: a value cannot be read ({error})"
        ) from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(
            f"runtime config {path}: top level must be a mapping of sections such as 'xz:'"
        )
    return loaded


def _yaml_error(path: Path, error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    where = f":{mark.line + 1}" if mark else ""
    problem = getattr(error, "problem", None) or getattr(error, "reason", None)
    return f"runtime config {path}{where}: invalid YAML" + (f": {problem}" if problem else "")


def _entries(path: Path, section: str, body: object) -> Iterable[tuple[Any, Any]]:
    """A section's keys: a mapping, or kiwi's older list of one-key mappings."""
    if body is None:
        return []
    if isinstance(body, dict):
        return list(body.items())
    if isinstance(body, list) and all(isinstance(item, dict) for item in body):
        return [entry for item in body for entry in item.items()]
    raise ConfigError(
        f"runtime config {path}: '{section}' must be a mapping (or a list of one-key "
        f"mappings), got {_show(body)}"
    )
