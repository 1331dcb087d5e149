"""`image resize`: grow the raw disk of an oem build, and its disk format file."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from kiwi_like.cli import options as cli
from kiwi_like.cli.command import Command
from kiwi_like.create import formats
from kiwi_like.description import load_build
from kiwi_like.description.imagetypes.oem import DiskSettings
from kiwi_like.errors import KiwiLikeError
from kiwi_like.log import log
from kiwi_like.prepare import load_state
from kiwi_like.result import file_digest
from kiwi_like.result.resize import resize_raw_disk, size_in_bytes

USAGE = f"""usage: kiwi-ng image resize -h | --help
       kiwi-ng image resize --target-dir=<directory> --size=<size-unit>
           [--root=<directory>]
{cli.GLOBAL_USAGE}

options:
  --target-dir=<directory>       the target directory of an oem build
  --size=<size-unit>             the new size: bytes, or a number with m (MiB) or g (GiB): 20g
  --root=<directory>             the image root of the build (default:
                                 <target-dir>/build/image-root)
{cli.GLOBAL_HELP}
"""


def _refresh_checksum(path: Path) -> None:
    """kiwi-like's checksum file beside the image, if the build wrote one."""
    for checksum in path.parent.glob(f"{path.name}.*"):
        algorithm = checksum.suffix[1:]
        if algorithm in ("sha256", "sha512", "md5"):
            checksum.write_text(f"{file_digest(path, algorithm)}  {path.name}\n")


def run(args: dict[str, Any]) -> int:
    target_dir = Path(args["--target-dir"]).absolute()
    root = Path(args["--root"] or target_dir / "build" / "image-root").absolute()
    size = size_in_bytes(args["--size"])
    config = cli.runtime_config(args)
    description, options = load_state(root)
    build = load_build(description.parent, options, config, description.name)
    settings = build.settings
    if not isinstance(settings, DiskSettings):
        raise KiwiLikeError(f"image resize needs a disk image (oem), not {build.build_type.image}")
    raw = target_dir / f"{build.result_basename}.raw"
    if not raw.is_file():
        raise KiwiLikeError(f"no raw disk image {raw} found in build results")
    resized = resize_raw_disk(raw, size)
    _refresh_checksum(raw)
    if settings.disk_format and resized:
        name = formats.format_filename(build, settings.disk_format)
        log.info("Creating %s disk format from resized raw disk", settings.disk_format)
        with tempfile.TemporaryDirectory(dir=target_dir, prefix=".kiwi-like-resize-") as work:
            staged = Path(work) / name
            if settings.disk_format == "vagrant":
                formats.vagrant_box(raw, staged, Path(work))
            else:
                formats.convert(raw, settings.disk_format, staged)
            staged.replace(target_dir / name)
        _refresh_checksum(target_dir / name)
    return 0


COMMAND = Command(usage=USAGE, run=run)
