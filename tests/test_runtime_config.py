"""The kiwi.yml-style runtime configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiwi_like.errors import ConfigError
from kiwi_like.runtime_config import RuntimeConfig, load_runtime_config


def test_values_and_relative_paths(tmp_path: Path):
    config_file = tmp_path / "kiwi.yml"
    config_file.write_text(
        "obs:\n  download_url: http://obs.example/repositories/\n"
        "apt:\n  host_sources: fake-apt\n"
        "cache:\n  shared_dir: /srv/cache\n"
        "xz:\n  options: -T2 -9\n"
        "container:\n  compress: zstd\n"
        "checksum:\n  algorithm: sha512\n"
    )
    config = load_runtime_config(str(config_file))
    assert config.obs_download_url == "http://obs.example/repositories"
    assert config.host_apt_sources == tmp_path / "fake-apt"
    assert config.shared_cache_dir == Path("/srv/cache")
    assert config.xz_options == ("-T2", "-9")
    assert config.container_compression == "zstd"
    assert config.checksum_algorithm == "sha512"


def test_defaults_without_a_file(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr("kiwi_like.runtime_config.SEARCH_PATH", (Path("~/.config/none.yml"),))
    assert load_runtime_config(None) == RuntimeConfig()


def test_user_config_is_found(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    user_config = tmp_path / ".config" / "kiwi-like" / "config.yml"
    user_config.parent.mkdir(parents=True)
    user_config.write_text("checksum:\n  algorithm: md5\n")
    assert load_runtime_config(None).checksum_algorithm == "md5"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("obs: [1, 2]\n", "'obs' must be a mapping"),
        ("- a\n- b\n", "top level must be a mapping"),
        ("checksum:\n  algorithm: crc32\n", "checksum.algorithm must be one of"),
        ("obs:\n  download_url: [\n", r"kiwi.yml:\d+: invalid YAML"),
        ("bundle:\n  compress: 'false'\n", "bundle.compress must be true or false"),
        ("obs:\n  download_url: x\nxx: 1\n", "unknown section"),
        ("cache:\n  root_cache_size: lots\n", "cache.root_cache_size must be a size"),
        ("cache:\n  root_cache_size: -1G\n", "cache.root_cache_size must be a size"),
        ("cache:\n  root_cache_size: true\n", "cache.root_cache_size must be a size"),
        ("cache:\n  initrd_cache: 'no'\n", "cache.initrd_cache must be true or false"),
        ("initrd:\n  modules: dep\n", "initrd.modules must be one of disk, most"),
        ("initrd: most\n", "'initrd' must be a mapping"),
    ],
)
def test_bad_config(tmp_path, text, message):
    config_file = tmp_path / "kiwi.yml"
    config_file.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_runtime_config(str(config_file))


def test_missing_explicit_config(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_runtime_config(str(tmp_path / "nope.yml"))


@pytest.mark.parametrize(
    ("value", "size"),
    [("0", 0), ("1048576", 1 << 20), ("500M", 500 << 20), ("4G", 4 << 30), ("2GiB", 2 << 30),
     ("1t", 1 << 40), ("64k", 64 << 10)],
)  # fmt: skip
def test_root_cache_size(tmp_path, value, size):
    config_file = tmp_path / "kiwi.yml"
    config_file.write_text(f"cache:\n  root_cache_size: {value}\n")
    assert load_runtime_config(str(config_file)).root_cache_size == size


def test_cache_and_initrd_defaults_and_values(tmp_path):
    assert RuntimeConfig().root_cache_size == 4 << 30
    assert RuntimeConfig().initrd_cache is True
    assert RuntimeConfig().initrd_modules == "disk"
    config_file = tmp_path / "kiwi.yml"
    config_file.write_text("cache:\n  initrd_cache: false\ninitrd:\n  modules: most\n")
    config = load_runtime_config(str(config_file))
    assert (config.initrd_cache, config.initrd_modules) == (False, "most")
