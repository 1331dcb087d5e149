"""Stage 4: the result files of a build and kiwi's machine-readable result file.

A result appears in the target directory only when it is complete: builders
write into a staging directory inside the target and `Results.publish` renames
the file into place. `kiwi.result.json` is written last, so a pipeline that
sees it knows every file it names is whole.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kiwi_like import leftovers
from kiwi_like.digest import file_digest as file_digest  # re-exported
from kiwi_like.errors import KiwiLikeError
from kiwi_like.log import log

RESULT_FILE = "kiwi.result.json"
STAGING_PREFIX = ".kiwi-like-staging-"


@dataclass(frozen=True)
class ResultFile:
    """One published file; `kind` uses kiwi's result names (disk_image, image_packages...)."""

    kind: str
    filename: str
    use_for_bundle: bool = True
    compress: bool = False
    shasum: bool = True


@dataclass
class Results:
    target_dir: Path
    staging: Path
    files: list[ResultFile] = field(default_factory=list)
    build: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)  # step timings, caches, memory

    def stage(self, name: str) -> Path:
        """Where a builder writes a file that will be published as `name`."""
        if "/" in name or name in ("", ".", ".."):
            # Names come from the description (name, version): never a path out of the target.
            raise KiwiLikeError(f"result file name '{name}' is not a plain file name")
        return self.staging / name

    def publish(self, kind: str, name: str, **flags: bool) -> Path:
        """Move a finished staged file (or directory) into the target directory."""
        staged = self.stage(name)
        if not staged.exists():
            raise KiwiLikeError(f"internal: result {name} was never written")
        final = self.target_dir / name
        if final.is_dir() and not final.is_symlink():
            shutil.rmtree(final)
        os.replace(staged, final)
        self.files.append(ResultFile(kind, name, **flags))
        log.info("Result: %s (%s)", final, kind)
        return final

    def publish_checksum(self, name: str, algorithm: str = "sha256") -> Path:
        """`<name>.<algorithm>` beside the file, in the `sum` tool format."""
        digest = file_digest(self.target_dir / name, algorithm)
        checksum_name = f"{name}.{algorithm}"
        self.stage(checksum_name).write_text(f"{digest}  {name}\n")
        return self.publish("image_checksum", checksum_name, use_for_bundle=False, shasum=False)

    def publish_image(self, kind: str, name: str, algorithm: str, **flags: bool) -> Path:
        """Publish an image file and then its checksum file beside it."""
        final = self.publish(kind, name, **flags)
        self.publish_checksum(name, algorithm)
        return final

    def write_result_file(self) -> Path:
        data = {
            "build": self.build,
            "results": {f.kind + ":" + f.filename: asdict(f) for f in self.files},
        }
        if self.metrics:
            data["metrics"] = self.metrics
        staged = self.stage(RESULT_FILE)
        staged.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        final = self.target_dir / RESULT_FILE
        os.replace(staged, final)
        return final


@contextmanager
def collecting_results(target_dir: Path) -> Iterator[Results]:
    """Staging area for one build; whatever was not published is removed, also on errors."""
    target_dir.mkdir(parents=True, exist_ok=True)
    (target_dir / RESULT_FILE).unlink(missing_ok=True)  # an old one would name stale files
    leftovers.sweep(target_dir, STAGING_PREFIX)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=target_dir))
    leftovers.claim(staging)
    try:
        yield Results(target_dir=target_dir, staging=staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def read_results(target_dir: Path) -> tuple[dict[str, Any], list[ResultFile]]:
    path = target_dir / RESULT_FILE
    if not path.is_file():
        raise KiwiLikeError(f"no {RESULT_FILE} in {target_dir}: not a finished build")
    try:
        data = json.loads(path.read_text())
        files = [ResultFile(**entry) for entry in data["results"].values()]
    except (ValueError, KeyError, TypeError) as error:
        raise KiwiLikeError(f"{path}: unreadable result file ({error})") from None
    return data.get("build", {}), files
