"""`result bundle`: copy results under build-service names, `<name>.<arch>-<version>-<id><ext>`."""

from __future__ import annotations

import os
from pathlib import Path

from kiwi_like import run as runner
from kiwi_like.log import log
from kiwi_like.result import file_digest, read_results


def bundle_name(filename: str, basename: str, bundle_id: str) -> str:
    if filename.startswith(basename):
        return f"{basename}-{bundle_id}{filename[len(basename) :]}"
    return f"{basename}-{bundle_id}.{filename}"


def bundle(target_dir: Path, bundle_dir: Path, bundle_id: str, compress: bool) -> list[Path]:
    build, files = read_results(target_dir)
    basename = f"{build['name']}.{build['arch']}-{build['version']}"
    bundle_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for result in files:
        if not result.use_for_bundle:
            continue
        name = bundle_name(result.filename, basename, bundle_id)
        partial = bundle_dir / f".{name}.partial"
        runner.run(["cp", "--sparse=always", target_dir / result.filename, partial])
        if compress and result.compress:
            runner.run(["xz", "-T0", "--force", partial])
            partial = partial.with_name(partial.name + ".xz")
            name += ".xz"
        final = bundle_dir / name
        os.replace(partial, final)
        written.append(final)
        if result.shasum:
            checksum = bundle_dir / f"{name}.sha256"
            checksum.write_text(f"{file_digest(final)}  {name}\n")
            written.append(checksum)
        log.info("Bundled %s", final)
    return written
