"""Find the description file in a description directory, in kiwi's lookup order.

kiwi (kiwi/tasks/base.py, load_xml_description): `--kiwi-file NAME` inside the directory;
else `config.xml`, then `image/config.xml`, then the first `*.kiwi` in sorted order. The
description must be a directory: kiwi finds nothing in a file given as `--description`.
"""

from __future__ import annotations

from pathlib import Path

from kiwi_like.errors import DescriptionError
from kiwi_like.log import log

LOOKUP_ORDER = ("config.xml", "image/config.xml", "*.kiwi")


def find_description_file(description: str | Path, kiwi_file: str | None = None) -> Path:
    path = Path(description)
    if path.is_file():
        raise DescriptionError(
            "--description must name the description directory, not a file "
            f"(use --description {path.parent} --kiwi-file {path.name})",
            file=str(path),
        )
    if path.exists() and not path.is_dir():
        raise DescriptionError(
            "--description must name the description directory; this is not a directory",
            file=str(path),
        )
    if not path.is_dir():
        raise DescriptionError("description directory does not exist", file=str(path))
    if kiwi_file:
        # kiwi joins the name to the directory: a leading "/" does not leave it
        candidate = path / kiwi_file.lstrip("/")
        if not candidate.is_file():
            problem = "is not a regular file" if candidate.exists() else "no such file"
            raise DescriptionError(f"--kiwi-file {kiwi_file}: {problem}", file=str(path))
        return candidate.resolve()
    for name in LOOKUP_ORDER[:2]:
        if (path / name).is_file():
            return (path / name).resolve()
    kiwi_files = sorted(p for p in path.glob("*.kiwi") if p.is_file())
    if len(kiwi_files) > 1:
        log.warning(
            "%s: %d *.kiwi files, using %s as kiwi does (the first in sorted order; "
            "--kiwi-file chooses another)",
            path,
            len(kiwi_files),
            kiwi_files[0].name,
        )
    if kiwi_files:
        return kiwi_files[0].resolve()
    raise DescriptionError(
        f"no description file found (looked for {', '.join(LOOKUP_ORDER)})", file=str(path)
    )
