from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from kiwi_like.cli.main import main

REPO = Path(__file__).resolve().parent.parent


class Run:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("kiwi-like: error:")]

    def json(self) -> dict:
        return json.loads(self.out)


@pytest.fixture
def kiwi(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Run the CLI in-process and capture what it prints."""

    def run(*argv: str) -> Run:
        code = main(list(argv))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def write_description(tmp_path: Path) -> Callable[[str], Path]:
    """Write a config.xml into a fresh description directory."""

    def write(xml: str, name: str = "config.xml") -> Path:
        directory = tmp_path / "description"
        directory.mkdir(exist_ok=True)
        (directory / name).write_text(xml, encoding="utf-8")
        return directory

    return write


MINIMAL = """<?xml version="1.0" encoding="utf-8"?>
<image schemaversion="7.5" name="minimal">
    <description type="system">
        <author>tester</author>
        <contact>tester@example.org</contact>
        <specification>minimal</specification>
    </description>
    <preferences>
        <version>1.2.3</version>
        <packagemanager>apt</packagemanager>
        <type image="oem" filesystem="ext4" firmware="efi"/>
        <type image="iso"/>
    </preferences>
    <repository type="apt-deb" distribution="bookworm" components="main contrib">
        <source path="http://mirror.example/debian"/>
    </repository>
    <repository type="apt-deb" imageinclude="true" distribution="bookworm-updates" components="main">
        <source path="http://mirror.example/debian"/>
    </repository>
    <packages type="image">
        <package name="systemd"/>
    </packages>
    <packages type="bootstrap">
        <package name="apt"/>
    </packages>
</image>
"""
