"""Repository URI translation and reading the host's apt sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiwi_like import buildservice
from kiwi_like.description.host_sources import read_host_sources
from kiwi_like.description.uri import redact, translate
from kiwi_like.errors import DescriptionError
from kiwi_like.runtime_config import OBS_DOWNLOAD_URL

DESCRIPTION_DIR = Path("/srv/descriptions/x")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("http://mirror.example/debian", "http://mirror.example/debian"),
        ("https://mirror.example/debian/", "https://mirror.example/debian/"),
        ("ftp://ftp.example/pub", "ftp://ftp.example/pub"),
        ("file:///srv/repo", "dir:///srv/repo"),
        ("dir:///srv/repo", "dir:///srv/repo"),
        ("dir:///srv/repo/../other/", "dir:///srv/other"),
        ("this://repo", "dir:///srv/descriptions/x/repo"),
        ("/srv/local-rpms", "dir:///srv/local-rpms"),
        ("iso:///srv/media/dvd.iso", "iso:///srv/media/dvd.iso"),
        # kiwi's obs rules: the project's ':' become ':/', the repository stays as it is
        ("obs://openSUSE:Leap:15.5/standard", "http://obs.example/r/openSUSE:/Leap:/15.5/standard"),
        (
            "obs://Virtualization:/Appliances/images",
            "http://obs.example/r/Virtualization:/Appliances/images",
        ),
        ("obs://13.1/repo/oss", "http://obs.example/r/13.1/repo/oss"),
        ("obs://home:a/repo:x", "http://obs.example/r/home:/a/repo:x"),
        ("obs://Devel:Docker/SLE_12#frag", "http://obs.example/r/Devel:/Docker/SLE_12"),
    ],
)
def test_translate(source, expected):
    assert translate(source, DESCRIPTION_DIR, "http://obs.example/r") == expected


def test_obs_without_a_configured_server_uses_kiwis_default():
    assert translate("obs://Debian:12/standard", DESCRIPTION_DIR, None) == (
        f"{OBS_DOWNLOAD_URL}/Debian:/12/standard"
    )


def test_obs_in_a_worker(tmp_path):
    (tmp_path / ".buildenv").touch()
    worker = buildservice.worker(tmp_path)
    assert worker is not None
    repos = tmp_path / "usr/src/packages/SOURCES/repos"
    for source in ("obs://Debian:12/standard", "obs://Debian:/12/standard/"):
        assert translate(source, DESCRIPTION_DIR, "http://obs.example/r", worker) == (
            f"dir://{repos}/Debian:12/standard"
        )
    assert buildservice.worker(tmp_path / "elsewhere") is None


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("gopher://x.example/", "unsupported URI scheme"),
        ("obsrepositories:/", "use --ignore-repos --add-repo"),
        ("file://relative/path", "must be an absolute path"),
        ("iso://dvd.iso", "must be an absolute path"),
        ("http:///path-only", "has no host name"),
    ],
)
def test_translate_errors(source, message):
    with pytest.raises(DescriptionError, match=message):
        translate(source, DESCRIPTION_DIR, None)


def test_redact_hides_only_the_password():
    assert (
        redact("https://alice:s3cret@repo.example:8443/x")
        == "https://alice:***@repo.example:8443/x"
    )
    assert redact("https://repo.example/x") == "https://repo.example/x"


def test_host_sources_both_formats(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text(
        "# comment\n"
        "deb [arch=amd64 signed-by=/usr/share/keyrings/a.gpg] http://one.example/debian bookworm main contrib\n"
        "deb-src http://one.example/debian bookworm main\n"
        "deb http://two.example/debian bookworm-backports main # trailing\n"
    )
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb deb-src\n"
        "URIs: http://three.example/debian\n"
        "Suites: bookworm bookworm-updates\n"
        "Components: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        "\n"
        "Types: deb\n"
        "URIs: http://four.example/debian\n"
        "Suites: sid\n"
        "Components: main\n"
        "Enabled: no\n"
    )
    sources = read_host_sources(tmp_path)
    assert [(s.uri, s.suite, s.components, s.signed_by) for s in sources] == [
        ("http://one.example/debian", "bookworm", ("main", "contrib"), "/usr/share/keyrings/a.gpg"),
        ("http://two.example/debian", "bookworm-backports", ("main",), None),
        (
            "http://three.example/debian",
            "bookworm",
            ("main",),
            "/usr/share/keyrings/debian-archive-keyring.gpg",
        ),
        (
            "http://three.example/debian",
            "bookworm-updates",
            ("main",),
            "/usr/share/keyrings/debian-archive-keyring.gpg",
        ),
    ]


def test_no_host_sources(tmp_path):
    with pytest.raises(DescriptionError, match="no apt sources found"):
        read_host_sources(tmp_path)


def test_this_machine_has_host_sources():
    """The default image relies on the build host's own apt sources."""
    assert read_host_sources(Path("/etc/apt"))
