"""Find the description file in a description directory, in kiwi's lookup order."""

from __future__ import annotations

from pathlib import Path

from kiwi_like.errors import DescriptionError

LOOKUP_ORDER = ("config.xml", "config.kiwi")


def find_description_file(description: str | Path, kiwi_file: str | None = None) -> Path:
    path = Path(description)
    if path.is_file():
        return path.resolve()
    if not path.is_dir():
        raise DescriptionError("description directory does not exist", file=str(path))
    if kiwi_file:
        candidate = path / kiwi_file
        if not candidate.is_file():
            raise DescriptionError(f"--kiwi-file {kiwi_file} not found", file=str(path))
        return candidate.resolve()
    for name in LOOKUP_ORDER:
        if (path / name).is_file():
            return (path / name).resolve()
    kiwi_files = sorted(p for p in path.glob("*.kiwi") if p.is_file())
    if kiwi_files:
        return kiwi_files[0].resolve()
    raise DescriptionError(
        "no description file found (looked for config.xml, config.kiwi, *.kiwi)", file=str(path)
    )
