"""The kiwi-ng command line: grammar, help, error reporting, every shipped description."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiwi_like.cli.main import COMMANDS
from tests.conftest import MINIMAL, REPO

DESCRIPTIONS = sorted(
    path.parent
    for pattern in ("descriptions/**/config.xml", "build-tests/**/config.xml")
    for path in REPO.glob(pattern)
)


def test_version(kiwi):
    result = kiwi("--version")
    assert result.code == 0
    assert result.out.strip() == __import__("kiwi_like").__version__


def test_help_lists_services(kiwi):
    result = kiwi("--help")
    assert result.code == 0
    for command in ("system build", "system prepare", "result bundle", "image info"):
        assert command in result.out


def test_command_help(kiwi):
    result = kiwi("image", "info", "--help")
    assert result.code == 0
    assert "--set-repo" in result.out


@pytest.mark.parametrize("command", [" ".join(key) for key in COMMANDS])
def test_every_command_grammar_parses(kiwi, command):
    """docopt checks a grammar only when it is used: each usage text must be valid."""
    result = kiwi(*command.split(), "--help")
    assert (result.code, result.err) == (0, "")
    assert result.out.startswith(f"usage: kiwi-ng {command} -h | --help")


@pytest.mark.parametrize(
    "argv",
    [
        ["image", "frobnicate"],
        ["image", "info"],
        ["--no-such-option", "image", "info"],
        ["image", "info", "--description"],
    ],
)
def test_usage_errors_are_one_line(kiwi, argv):
    result = kiwi(*argv)
    assert result.code == 1
    assert len(result.error_lines) == 1
    assert "Traceback" not in result.err


def test_global_options_before_and_after_the_command(kiwi, write_description):
    directory = write_description(MINIMAL)
    before = kiwi(
        "--type", "iso", "image", "info", "--description", str(directory), "--format", "json"
    )
    after = kiwi(
        "image", "info", "--description", str(directory), "--type", "iso", "--format", "json"
    )
    assert before.code == after.code == 0
    assert before.json()["type"] == after.json()["type"] == {"image": "iso"}


def test_text_summary(kiwi, write_description):
    result = kiwi("image", "info", "--description", str(write_description(MINIMAL)))
    assert result.code == 0
    assert "name:               minimal\n" in result.out
    assert "type:               oem filesystem=ext4 firmware=efi\n" in result.out
    assert (
        "repository:         apt-deb http://mirror.example/debian bookworm main contrib\n"
        in result.out
    )
    assert "bootstrap packages: apt\n" in result.out


def test_bad_format(kiwi, write_description):
    result = kiwi(
        "image", "info", "--description", str(write_description(MINIMAL)), "--format", "xml"
    )
    assert result.code == 1
    assert result.error_lines == ["kiwi-like: error: --format must be text or json, not 'xml'"]


def test_build_of_an_unsupported_type_fails_before_preparing(kiwi, tmp_path):
    result = kiwi(
        "--profile", "docker", "system", "build",
        "--description", str(REPO / "descriptions/debian/bookworm-jeos"),
        "--target-dir", str(tmp_path), "--set-repo", "http://mirror.example/debian,apt-deb",
        "--add-package", "vim", "--set-type-attr", "image=tbz",
    )  # fmt: skip
    assert result.code == 1
    assert result.error_lines == [
        "kiwi-like: error: image type 'tbz' cannot be created yet "
        "(supported: oem, iso, kis, docker, oci)"
    ]
    assert not (tmp_path / "build").exists()


def test_list_profiles(kiwi):
    result = kiwi(
        "image",
        "info",
        "--description",
        str(REPO / "descriptions/debian/bookworm-jeos"),
        "--list-profiles",
    )
    assert result.code == 0
    assert "* oem" in result.out
    assert "* bootable" in result.out
    assert "  docker" in result.out


@pytest.mark.parametrize("directory", DESCRIPTIONS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_shipped_description_resolves(kiwi, directory):
    result = kiwi("image", "info", "--description", str(directory), "--format", "json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["name"]
    assert data["repositories"], "the host:// default must give at least one repository"


@pytest.mark.parametrize(
    ("profile", "image", "package"),
    [
        ("oem", "oem", "linux-image-amd64"),
        ("qcow2", "oem", "grub-efi-amd64-bin"),
        ("live", "iso", "live-boot"),
        ("pxe", "kis", "curl"),
        ("docker", "docker", "systemd"),
    ],
)
def test_jeos_profiles(kiwi, profile, image, package):
    result = kiwi(
        "--profile",
        profile,
        "--target-arch",
        "x86_64",
        "image",
        "info",
        "--description",
        str(REPO / "descriptions/debian/bookworm-jeos"),
        "--format",
        "json",
    )
    assert result.code == 0, result.err
    data = result.json()
    assert data["type"]["image"] == image
    assert package in data["packages"]["image"]
    if profile == "docker":
        assert "linux-image-amd64" not in data["packages"]["image"]


def test_installed_console_scripts(tmp_path):
    """Both command names run the same program (checked through the module entry)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, "-m", "kiwi_like", "--version"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0
    setup_cfg = (REPO / "setup.cfg").read_text()
    assert "kiwi-ng = kiwi_like.cli.main:run" in setup_cfg
    assert "kiwi-like = kiwi_like.cli.main:run" in setup_cfg


def test_logfile_gets_the_log(kiwi, write_description, tmp_path: Path):
    logfile = tmp_path / "build.log"
    result = kiwi(
        "--logfile", str(logfile), "image", "info", "--description", str(write_description(MINIMAL))
    )
    assert result.code == 0
    assert "Loading description" in logfile.read_text()
