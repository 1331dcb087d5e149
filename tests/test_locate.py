"""Which file of a description directory is read: kiwi's order (kiwi/tasks/base.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kiwi_like.description.locate import find_description_file
from kiwi_like.errors import DescriptionError
from tests.conftest import MINIMAL


def files(directory: Path, *names: str) -> Path:
    for name in names:
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(MINIMAL.replace('name="minimal"', f'name="{path.stem}"'))
    return directory


@pytest.mark.parametrize(
    ("present", "chosen"),
    [
        (("config.xml", "image/config.xml", "a.kiwi", "config.kiwi"), "config.xml"),
        (("image/config.xml", "a.kiwi"), "image/config.xml"),
        (("config.kiwi", "a.kiwi", "b.kiwi"), "a.kiwi"),  # the first in sorted order
        (("b.kiwi", "appliance.kiwi"), "appliance.kiwi"),
        (("z.kiwi", "other.xml"), "z.kiwi"),
    ],
)
def test_kiwi_lookup_order(tmp_path, present, chosen):
    directory = files(tmp_path, *present)
    assert find_description_file(directory) == (directory / chosen).resolve()


def test_what_is_not_a_file_is_passed_over(tmp_path):
    (tmp_path / "config.xml").mkdir()
    os.mkfifo(tmp_path / "image.kiwi")
    files(tmp_path, "image/config.xml", "x.kiwi")
    assert find_description_file(tmp_path) == (tmp_path / "image/config.xml").resolve()
    (tmp_path / "image/config.xml").unlink()
    assert find_description_file(tmp_path) == (tmp_path / "x.kiwi").resolve()


def test_nothing_found(tmp_path):
    files(tmp_path, "config.yaml", "sub/config.xml")
    with pytest.raises(DescriptionError) as error:
        find_description_file(tmp_path)
    assert str(error.value) == (
        f"{tmp_path}: no description file found (looked for config.xml, image/config.xml, *.kiwi)"
    )


def test_missing_directory(tmp_path):
    with pytest.raises(DescriptionError, match="description directory does not exist"):
        find_description_file(tmp_path / "none")


def test_kiwi_file(tmp_path):
    directory = files(tmp_path, "config.xml", "other.xml", "sub/x.kiwi")
    assert find_description_file(directory, "other.xml") == (directory / "other.xml").resolve()
    assert find_description_file(directory, "sub/x.kiwi") == (directory / "sub/x.kiwi").resolve()
    # kiwi joins the name to the directory, so an absolute name stays inside it
    assert find_description_file(directory, "/other.xml") == (directory / "other.xml").resolve()
    with pytest.raises(DescriptionError, match="--kiwi-file none.xml: no such file"):
        find_description_file(directory, "none.xml")
    with pytest.raises(DescriptionError, match="--kiwi-file sub: is not a regular file"):
        find_description_file(directory, "sub")


def test_a_file_as_description_is_refused(kiwi, tmp_path):
    directory = files(tmp_path / "d", "config.xml")
    result = kiwi("image", "info", "--description", str(directory / "config.xml"))
    assert result.code == 1
    assert result.error_lines == [
        f"kiwi-like: error: {directory}/config.xml: --description must name the description "
        f"directory, not a file (use --description {directory} --kiwi-file config.xml)"
    ]


def test_the_suggested_kiwi_file_works_and_several_kiwi_files_are_warned(kiwi, tmp_path):
    directory = files(tmp_path / "d", "b.kiwi", "a.kiwi")
    chosen = kiwi("image", "info", "--description", str(directory), "--format", "json")
    assert chosen.code == 0, chosen.err
    assert chosen.json()["name"] == "a"
    assert (
        f"[ WARNING ] {directory}: 2 *.kiwi files, using a.kiwi as kiwi does (the first in "
        "sorted order; --kiwi-file chooses another)" in chosen.err.splitlines()
    )
    other = kiwi(
        "image", "info", "--description", str(directory), "--kiwi-file", "b.kiwi",
        "--format", "json",
    )  # fmt: skip
    assert other.code == 0, other.err
    assert other.json()["name"] == "b"
    assert "*.kiwi files" not in other.err
