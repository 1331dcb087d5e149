"""The runtime configuration: kiwi's kiwi.yml files and keys, kiwi-like's own, merged as kiwi does.

The search path is moved under tmp_path for every test (the real /etc and home are never read).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kiwi_like import runtime_config
from kiwi_like.errors import ConfigError
from kiwi_like.runtime_config import OBS_DOWNLOAD_URL, RuntimeConfig, load_runtime_config
from tests.conftest import MINIMAL

# kiwi 11.1.6's kiwi.yml (its sdist's kiwi.yml, installed as /usr/share/kiwi/kiwi.yml.example,
# which doc/source/concept_and_workflow/runtime_configuration.rst points to), every setting
# uncommented with the value it shows (the API server's host name replaced), its comments
# left out. GPLv3, as kiwi.
KIWI_EXAMPLE = f"""\
credentials:
  verification_metadata_signing_key_file: /path/to/private.pem
obs:
  download_url: {OBS_DOWNLOAD_URL}
  api_url: https://api.obs.example
  public: true
bundle:
  compress: true
  has_package_changes: true
  shasum_size: "256"
xz:
  options: '--threads=0'
sync:
  sparse: true
container:
  compress: true
iso:
  tool_category: xorriso
  media_tag_tool: checkmedia
oci:
  archive_tool: umoci
shasum:
  size: "256"
build_constraints:
  max_size: 700m
mapper:
  part_mapper: partx
runtime_checks:
  disable:
    - check_container_tool_chain_installed
    - check_repositories_configured
    - check_image_include_repos_publicly_resolvable
"""

# kiwi's documentation of the merge (runtime_configuration.rst): a vendor file and a drop-in.
KIWI_MERGE_VENDOR = """\
bundle:
  compress: true
  shasum_size: "512"
"""
KIWI_MERGE_DROP_IN = """\
bundle:
  shasum_size: "256"
"""

# kiwi's older form of a section: a list of one-key mappings.
LIST_OF_MAPS = """\
obs:
  - download_url: http://obs.example/repositories
  - public: false
bundle:
  - compress: false
xz:
  - options: -9 -T0
runtime_checks:
  - disable:
      - check_container_tool_chain_installed
"""


def rooted(tmp_path: Path) -> tuple[Path, ...]:
    """The search path with / moved to tmp_path and ~ to tmp_path/home."""
    return tuple(
        tmp_path / path.relative_to("/") if path.is_absolute() else path
        for path in runtime_config.SEARCH_PATH
    )


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(runtime_config, "SEARCH_PATH", rooted(tmp_path))
    return tmp_path


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def info(kiwi, write_description, config: Path):
    """`image info` of a small description with this --config, through the real CLI."""
    return kiwi(
        "image", "info", "--description", str(write_description(MINIMAL)), "--config", str(config)
    )


def warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("[ WARNING ]")]


def test_kiwi_documentation_example_is_read(kiwi, write_description, tmp_path):
    config_file = write(tmp_path / "kiwi.yml", KIWI_EXAMPLE)
    config = load_runtime_config(str(config_file))
    assert config.obs_download_url == OBS_DOWNLOAD_URL
    assert (config.bundle_compress, config.bundle_has_package_changes) == (True, True)
    assert (config.checksum_algorithm, config.bundle_checksum_algorithm) == ("sha256", "sha256")
    assert config.xz_options == ("--threads=0",)
    assert config.container_compression == "xz"
    assert config.max_image_size == 700 << 20
    result = info(kiwi, write_description, config_file)
    assert result.code == 0, result.err
    assert not result.error_lines
    warned = warnings(result.err)
    # every kiwi key kiwi-like does not apply says so, with the file, in one line each
    for key in ("credentials.verification_metadata_signing_key_file", "obs.api_url",
                "obs.public", "sync.sparse", "iso.media_tag_tool", "oci.archive_tool",
                "mapper.part_mapper", "runtime_checks.disable"):  # fmt: skip
        assert [line for line in warned if f" {key} has no effect: " in line], key
        assert all(str(config_file) in line for line in warned)
    for key in ("obs.download_url", "xz.options", "container.compress", "iso.tool_category",
                "bundle.compress", "bundle.has_package_changes", "shasum.size",
                "bundle.shasum_size", "build_constraints.max_size"):  # fmt: skip
        assert not [line for line in warned if f" {key} " in line], key


def test_kiwi_documented_merge(tmp_path):
    """The example of kiwi's documentation: a later file changes one key of a section."""
    write(tmp_path / "usr/share/kiwi/kiwi.yml", KIWI_MERGE_VENDOR)
    write(tmp_path / "etc/kiwi.yml.d/10-local.yml", KIWI_MERGE_DROP_IN)
    config = load_runtime_config()
    assert (config.bundle_compress, config.bundle_checksum_algorithm) == (True, "sha256")


def test_list_of_maps_form(tmp_path):
    config = load_runtime_config(str(write(tmp_path / "kiwi.yml", LIST_OF_MAPS)))
    assert config.obs_download_url == "http://obs.example/repositories"
    assert config.bundle_compress is False
    assert config.xz_options == ("-9", "-T0")


def test_merge_order(tmp_path):
    """/usr/share, its drop-ins, /etc/kiwi.yml, its drop-ins, /etc/kiwi-like.yml,
    ~/.config/kiwi, ~/.config/kiwi-like, then --config: each later file wins."""
    files = [
        "usr/share/kiwi/kiwi.yml",
        "usr/share/kiwi/kiwi.yml.d/a.yml",
        "usr/share/kiwi/kiwi.yml.d/b.yml",
        "etc/kiwi.yml",
        "etc/kiwi.yml.d/a.yml",
        "etc/kiwi.yml.d/b.yml",
        "etc/kiwi-like.yml",
        "home/.config/kiwi/config.yml",
        "home/.config/kiwi-like/config.yml",
        "explicit.yml",
    ]
    write(tmp_path / "etc/kiwi.yml.d/ignored.yaml", "obs: [1]\n")  # only *.yml are read
    for number, name in enumerate(files):
        # each file sets the URL and its own key; the key of one level below stays
        write(
            tmp_path / name,
            f"obs:\n  download_url: http://obs{number}.example\n"
            f"cache:\n  root_cache_size: {number}\n",
        )
        explicit = str(tmp_path / name) if name == "explicit.yml" else None
        config = load_runtime_config(explicit)
        assert config.obs_download_url == f"http://obs{number}.example", name
        assert config.root_cache_size == number
        assert config.files == tuple(tmp_path / f for f in files[: number + 1])


def test_key_by_key_merge_and_relative_paths(tmp_path):
    """A later file changes only its keys; a relative path is relative to its own file."""
    write(tmp_path / "etc/kiwi.yml", "apt:\n  host_sources: sources\ncache:\n  shared_dir: c1\n")
    write(tmp_path / "home/.config/kiwi/config.yml", "cache:\n  shared_dir: c2\n")
    config = load_runtime_config()
    assert config.host_apt_sources == tmp_path / "etc/sources"
    assert config.shared_cache_dir == tmp_path / "home/.config/kiwi/c2"


def test_an_empty_value_does_not_override(tmp_path):
    write(tmp_path / "etc/kiwi.yml", "xz:\n  options: -9\nobs:\n")
    explicit = write(tmp_path / "x.yml", "xz:\n  options:\n")
    assert load_runtime_config(str(explicit)).xz_options == ("-9",)


def test_kiwi_like_own_keys(tmp_path):
    config_file = write(
        tmp_path / "kiwi.yml",
        "obs:\n  download_url: http://obs.example/repositories/\n"
        "apt:\n  host_sources: fake-apt\n  bootstrap_variant: custom\n"
        "cache:\n  shared_dir: /srv/cache\n  root_cache_size: 8G\n  initrd_cache: false\n"
        "initrd:\n  modules: most\n"
        "xz:\n  options: [-T2, -9]\n"
        "container:\n  compress: zstd\n"
        "checksum:\n  algorithm: sha512\n",
    )
    config = load_runtime_config(str(config_file))
    assert config.obs_download_url == "http://obs.example/repositories"
    assert config.host_apt_sources == tmp_path / "fake-apt"
    assert config.apt_bootstrap_variant == "custom"
    assert config.shared_cache_dir == Path("/srv/cache")
    assert (config.root_cache_size, config.initrd_cache) == (8 << 30, False)
    assert config.initrd_modules == "most"
    assert config.xz_options == ("-T2", "-9")
    assert config.container_compression == "zstd"
    assert config.checksum_algorithm == "sha512"


def test_defaults_without_a_file():
    config = load_runtime_config(None)
    assert config == RuntimeConfig()
    assert config.obs_download_url == OBS_DOWNLOAD_URL  # kiwi's default
    assert config.bundle_compress is None and config.bundle_has_package_changes is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", "xz"), ("false", "none"), ("xz", "xz"), ("none", "none"), ("gzip", "gzip")],
)
def test_container_compression_values(tmp_path, value, expected):
    config_file = write(tmp_path / "kiwi.yml", f"container:\n  compress: {value}\n")
    assert load_runtime_config(str(config_file)).container_compression == expected


def test_unknown_sections_and_keys_are_warned(kiwi, write_description, tmp_path):
    config_file = write(
        tmp_path / "kiwi.yml",
        "bundel:\n  compress: true\nbundle:\n  compres: true\n  compress: true\n",
    )
    result = info(kiwi, write_description, config_file)
    assert result.code == 0, result.err
    assert warnings(result.err) == [
        f"[ WARNING ] runtime config {config_file}: unknown section 'bundel' ignored",
        f"[ WARNING ] runtime config {config_file}: unknown key 'bundle.compres' ignored",
    ]


def test_drop_in_file_is_named_in_messages(kiwi, write_description, tmp_path):
    drop_in = write(tmp_path / "etc/kiwi.yml.d/50-x.yml", "xz:\n  options: true\n")
    config_file = write(tmp_path / "kiwi.yml", "")
    result = info(kiwi, write_description, config_file)
    assert result.code == 1
    assert result.error_lines == [
        f"kiwi-like: error: runtime config {drop_in}: xz.options must be a string of xz "
        "options such as '--threads=0 -9', or a list of them (got True)"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("xz:\n  options: 5\n", "xz.options must be xz compression options only"),
        ("xz:\n  options: [-9, 5]\n", "'5' is not one"),
        ("xz:\n  options: [-9, [5]]\n", "xz.options must be a string of xz options"),
        ("xz:\n  options: {a: 1}\n", "xz.options must be a string of xz options"),
        ("xz:\n  options: --stdout\n", "xz.options must be xz compression options only"),
        ("xz:\n  options: -T0 /etc/passwd\n", "'/etc/passwd' is not one"),
        ("xz:\n  options: --files=/etc/shadow\n", "'--files=/etc/shadow' is not one"),
        ("cache:\n  shared_dir: [a, b]\n", "cache.shared_dir must be a string (one line, not"),
        ("cache:\n  shared_dir: ''\n", "cache.shared_dir must be a string"),
        ('apt:\n  host_sources: "a\\nb"\n', "apt.host_sources must be a string"),
        ("obs:\n  download_url: 5\n", "obs.download_url must be a string"),
        ("obs:\n  download_url: obs.example\n", "obs.download_url must be an http, https"),
        ("obs:\n  public: 'yes'\n", "obs.public must be true or false"),
        ("obs: [1, 2]\n", "'obs' must be a mapping (or a list of one-key mappings), got [1, 2]"),
        ("obs: http://x\n", "'obs' must be a mapping"),
        ("initrd: most\n", "'initrd' must be a mapping"),
        ("- a\n- b\n", "top level must be a mapping of sections"),
        ("plain text\n", "top level must be a mapping of sections"),
        ("checksum:\n  algorithm: crc32\n", "checksum.algorithm must be one of sha256"),
        ("obs:\n  download_url: [\n", "kiwi.yml:3: invalid YAML"),
        ("bundle:\n  compress: 'false'\n", "bundle.compress must be true or false (got 'false')"),
        ("bundle:\n  has_package_changes: 1\n", "bundle.has_package_changes must be true or"),
        ("bundle:\n  shasum_size: 1024\n", 'bundle.shasum_size must be "256" or "512"'),
        ("shasum:\n  size: [256]\n", 'shasum.size must be "256" or "512"'),
        ("shasum:\n  size: 256.0\n", 'shasum.size must be "256" or "512"'),
        ("container:\n  compress: 5\n", "container.compress must be one of xz, zstd"),
        ("container:\n  compress: [xz]\n", "container.compress must be one of xz, zstd"),
        ("iso:\n  tool_category: mkisofs\n", "iso.tool_category must be one of xorriso"),
        ("iso:\n  media_tag_tool: 1\n", "iso.media_tag_tool must be one of checkmedia"),
        ("oci:\n  archive_tool: docker\n", "oci.archive_tool must be one of umoci, buildah"),
        ("mapper:\n  part_mapper: losetup\n", "mapper.part_mapper must be one of partx"),
        ("sync:\n  sparse: on\n", None),  # YAML 1.1: on is true
        ("sync:\n  sparse: maybe\n", "sync.sparse must be true or false"),
        ("build_constraints:\n  max_size: 7 TB\n", "build_constraints.max_size must be a size"),
        ("build_constraints:\n  max_size: -1\n", "build_constraints.max_size must be a size"),
        ("runtime_checks:\n  disable: check_x\n", "runtime_checks.disable must be a list"),
        ("credentials:\n  verification_metadata_signing_key_file: {a: 1}\n", "must be a string"),
        ("cache:\n  root_cache_size: lots\n", "cache.root_cache_size must be a size"),
        ("cache:\n  root_cache_size: -1G\n", "cache.root_cache_size must be a size"),
        ("cache:\n  root_cache_size: true\n", "cache.root_cache_size must be a size"),
        ("cache:\n  root_cache_size: [1]\n", "cache.root_cache_size must be a size"),
        ("cache:\n  initrd_cache: 'no'\n", "cache.initrd_cache must be true or false"),
        ("initrd:\n  modules: dep\n", "initrd.modules must be one of disk, most"),
        ("apt:\n  bootstrap_variant: {}\n", "apt.bootstrap_variant must be one of minbase"),
        ("xz: &a\n  options: *a\n", "xz.options must be a string of xz options"),  # kiwi's loop
        ("? [a]\n: b\n", "invalid YAML"),
        ("xz:\n  options: \x07\n", "invalid YAML"),
        ("xz:\n  options: !!python/object:os.system x\n", "kiwi.yml:2: invalid YAML"),
        ("[" * 100000, "invalid YAML: nested too deeply"),
        ("cache:\n  root_cache_size: " + "9" * 5000 + "\n", "invalid YAML: a value cannot"),
        ("build_constraints:\n  max_size: 2020-13-45\n", "invalid YAML: a value cannot"),
        ("xz:\n  options: !!int abc\n", "invalid YAML: a value cannot be read"),
        ("xz:\n  options: !!timestamp abc\n", "invalid YAML: a value cannot be read"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text file (binary data)"),
        (b"obs:\n  download_url: http://caf\xe9.example\n", "not UTF-8 text (byte 32)"),
        (b"#" * (2 << 20), "larger than 1 MiB"),
    ],
)
def test_wrong_types_end_in_one_line(kiwi, write_description, tmp_path, text, message):
    config_file = write(tmp_path / "kiwi.yml", text)
    result = info(kiwi, write_description, config_file)
    assert "Traceback" not in result.err
    if message is None:
        assert result.code == 0, result.err
        return
    assert result.code == 1, result.err
    assert len(result.error_lines) == 1, result.err
    assert f"kiwi-like: error: runtime config {config_file}" in result.error_lines[0]
    assert message in result.error_lines[0]
    assert "internal error" not in result.err


def test_missing_or_odd_explicit_config(tmp_path):
    with pytest.raises(ConfigError, match="nope.yml: file not found"):
        load_runtime_config(str(tmp_path / "nope.yml"))
    with pytest.raises(ConfigError, match="not a regular file"):
        load_runtime_config(str(tmp_path))


def test_unreadable_files_in_the_search_path_are_skipped_like_kiwi(tmp_path):
    """Directories and other non-files where a file is looked for are not read (kiwi: isfile)."""
    (tmp_path / "etc/kiwi.yml").mkdir(parents=True)
    write(tmp_path / "etc/kiwi.yml.d/sub.yml/x.yml", "xz: 1\n")  # a directory named *.yml
    assert load_runtime_config().files == ()


@pytest.mark.parametrize(
    ("value", "size"),
    [("0", 0), ("1048576", 1 << 20), ("500M", 500 << 20), ("4G", 4 << 30), ("2GiB", 2 << 30),
     ("1t", 1 << 40), ("64k", 64 << 10)],
)  # fmt: skip
def test_root_cache_size(tmp_path, value, size):
    config_file = write(tmp_path / "kiwi.yml", f"cache:\n  root_cache_size: {value}\n")
    assert load_runtime_config(str(config_file)).root_cache_size == size


@pytest.mark.parametrize(("value", "size"), [("700m", 700 << 20), ("2G", 2 << 30), ("123", 123)])
def test_kiwi_max_size(tmp_path, value, size):
    config_file = write(tmp_path / "kiwi.yml", f"build_constraints:\n  max_size: {value}\n")
    assert load_runtime_config(str(config_file)).max_image_size == size


def test_cache_and_initrd_defaults(tmp_path, monkeypatch):
    """Unset caches: on outside a build-service worker (4 GiB roots), off in one."""
    from kiwi_like.create.boot.initrdcache import cache_directory
    from kiwi_like.prepare.rootcache import RootCache

    config = RuntimeConfig(shared_cache_dir=tmp_path / "cache")
    assert (config.root_cache_size, config.initrd_cache) == (None, None)
    assert config.initrd_modules == "disk"
    monkeypatch.setenv("KIWI_LIKE_BUILDSERVICE_ROOT", str(tmp_path))  # no .buildenv there
    assert RootCache(config.shared_cache_dir, config.root_cache_size).size_limit == 4 << 30
    assert cache_directory(config) == config.shared_cache_dir
