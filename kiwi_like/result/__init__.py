"""Stage 4: the result files of a build and the files that list them.

A result appears in the target directory only when it is complete: builders
write into a staging directory inside the target and `Results.publish` renames
the file into place. The lists are written last, so a pipeline that sees them
knows every file they name is whole:

- `kiwi.result.json`: kiwi's portable result list, in kiwi's structure (one entry
  per result key: `filename` (absolute), `use_for_bundle`, `compress`, `shasum`);
- `kiwi.result`: kiwi's pickled `Result`, what KIWI NG's own `result list` and
  `result bundle` read (`kiwi_like.result.kiwipickle`);
- `kiwi-like.result.json` (`RESULT_FILE`): kiwi-like's record: the build (name,
  version, arch, type, profiles, description), every published file with its kind
  (also the `.sha256` files kiwi-like writes beside each image), the bundle format
  and the step timings. kiwi-like's `result list` and `result bundle` read this one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kiwi_like import leftovers, timing
from kiwi_like.digest import file_digest as file_digest  # re-exported
from kiwi_like.errors import KiwiLikeError
from kiwi_like.log import log
from kiwi_like.result import kiwipickle

RESULT_FILE = "kiwi-like.result.json"
KIWI_RESULT_JSON = "kiwi.result.json"
KIWI_RESULT = "kiwi.result"
STAGING_PREFIX = ".kiwi-like-staging-"
# Files kiwi-like publishes that kiwi does not: not in kiwi's result list.
OWN_KINDS = ("image_checksum",)
# kiwi's bundle compression: these kinds follow the runtime config's `bundle.compress`,
# with kiwi's default where the config says nothing (kiwi/builder/*.py, storage/subformat).
BUNDLE_COMPRESS_DEFAULTS = {
    "disk_image": True,
    "disk_format_image": True,
    "filesystem_image": True,
    "kis_archive": False,
    "kis_rootfs": False,
}


@dataclass(frozen=True)
class ResultFile:
    """One published file; `kind` is kiwi's result key (disk_image, image_packages...)."""

    kind: str
    filename: str
    use_for_bundle: bool = True
    compress: bool = False
    shasum: bool = True


def bundle_name_tags(build: Mapping[str, Any]) -> dict[str, str]:
    """kiwi's bundle_format tags: %N name, %P profiles, %A arch, %T type, %M.%m.%p, %v."""
    version = str(build.get("version") or "")
    parts = [*version.split(".", 2), "", ""][:3] if "." in version else [version, "", ""]
    return {
        "N": str(build.get("name") or ""),
        "P": "_".join(build.get("profiles") or []),
        "A": str(build.get("arch") or ""),
        "I": "",
        "T": str(build.get("image") or ""),
        "M": parts[0],
        "m": parts[1],
        "p": parts[2],
        "v": version,
    }


@dataclass
class Results:
    target_dir: Path
    staging: Path
    files: list[ResultFile] = field(default_factory=list)
    build: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)  # step timings, caches, memory
    # a reproducible build's seed and SOURCE_DATE_EPOCH (kiwi_like/reproducible.py)
    reproducible: dict[str, Any] = field(default_factory=dict)
    bundle_compress: bool | None = None  # the runtime config's bundle.compress
    bundle_format: str | None = None  # the type's bundle_format pattern
    max_image_size: int | None = None  # kiwi's build_constraints.max_size, in bytes
    # Checksums being computed in a thread while the build goes on (publish_image)
    pending: list[tuple[str, str, Future[str]]] = field(default_factory=list)
    _hasher: ThreadPoolExecutor | None = None

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
        if kind in BUNDLE_COMPRESS_DEFAULTS:
            default = BUNDLE_COMPRESS_DEFAULTS[kind]
            flags["compress"] = default if self.bundle_compress is None else self.bundle_compress
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
        size = (self.staging / name).stat().st_size
        if self.max_image_size is not None and size > self.max_image_size:
            raise KiwiLikeError(  # kiwi's verify_image_size, before anything is published
                f"build constraint failed: {name} has {size} bytes, more than "
                f"build_constraints.max_size ({self.max_image_size})"
            )
        final = self.publish(kind, name, **flags)
        # The file was just written and is in the page cache: hash it in a thread while
        # the build goes on (package metadata); write_result_file publishes the sum.
        if self._hasher is None:
            self._hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checksum")
        self.pending.append((name, algorithm, self._hasher.submit(file_digest, final, algorithm)))
        return final

    def finish_checksums(self) -> None:
        """Publish the checksum files of the images published so far (waits for them)."""
        with timing.step("checksum", "results"):
            while self.pending:
                name, algorithm, digest = self.pending.pop(0)
                checksum_name = f"{name}.{algorithm}"
                self.stage(checksum_name).write_text(f"{digest.result()}  {name}\n")
                self.publish("image_checksum", checksum_name, use_for_bundle=False, shasum=False)

    def abandon(self) -> None:
        """Stop hashing (a build that failed): no thread outlives the build."""
        if self._hasher is not None:
            self._hasher.shutdown(wait=True, cancel_futures=True)
            self._hasher = None
        self.pending.clear()

    def kiwi_files(self) -> dict[str, Any]:
        """kiwi's `result_files`: key -> flags with the absolute file name."""
        entries: dict[str, Any] = {}
        for result in self.files:
            if result.kind in OWN_KINDS:
                continue
            if result.kind in entries:
                raise KiwiLikeError(f"internal: two results of kind {result.kind}")
            entries[result.kind] = {
                "filename": str(self.target_dir / result.filename),
                "use_for_bundle": result.use_for_bundle,
                "compress": result.compress,
                "shasum": result.shasum,
            }
        return entries

    def write_result_file(self) -> Path:
        """kiwi-like's record, then kiwi's pickled and JSON result lists; returns the record."""
        self.finish_checksums()
        build = dict(self.build)
        if self.bundle_format:
            build["bundle_format"] = self.bundle_format
        data: dict[str, Any] = {
            "build": build,
            "results": {f.kind + ":" + f.filename: asdict(f) for f in self.files},
        }
        if self.metrics:
            data["metrics"] = self.metrics
        kiwi_files: dict[str, Any] = self.kiwi_files()
        pickled: dict[str, Any] = {
            key: kiwipickle.result_file(**entry) for key, entry in kiwi_files.items()
        }
        if self.bundle_format:
            tags = bundle_name_tags(build)
            kiwi_files["bundle_format"] = {"pattern": self.bundle_format, "tags": tags}
            pickled["bundle_format"] = {
                "pattern": self.bundle_format,
                "tags": kiwipickle.name_tags(tags),
            }
        self._write(RESULT_FILE, json.dumps(data, indent=2, sort_keys=True) + "\n")
        self._write(KIWI_RESULT, kiwipickle.result(pickled, build))
        if self.reproducible:  # beside kiwi's result kinds, as bundle_format is
            kiwi_files["reproducible"] = self.reproducible
        self._write(KIWI_RESULT_JSON, json.dumps(kiwi_files, indent=4, sort_keys=True) + "\n")
        return self.target_dir / RESULT_FILE

    def _write(self, name: str, content: str | bytes) -> None:
        staged = self.stage(name)
        if isinstance(content, bytes):
            staged.write_bytes(content)
        else:
            staged.write_text(content)
        os.replace(staged, self.target_dir / name)


@contextmanager
def collecting_results(target_dir: Path, bundle_compress: bool | None = None) -> Iterator[Results]:
    """Staging area for one build; whatever was not published is removed, also on errors."""
    target_dir.mkdir(parents=True, exist_ok=True)
    for name in (KIWI_RESULT_JSON, KIWI_RESULT, RESULT_FILE):
        (target_dir / name).unlink(missing_ok=True)  # an old one would name stale files
    leftovers.sweep(target_dir, STAGING_PREFIX)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=target_dir))
    leftovers.claim(staging)
    results = Results(target_dir=target_dir, staging=staging, bundle_compress=bundle_compress)
    try:
        yield results
    finally:
        results.abandon()
        shutil.rmtree(staging, ignore_errors=True)


def read_results(target_dir: Path) -> tuple[dict[str, Any], list[ResultFile]]:
    """The build record and the published files of a finished kiwi-like build."""
    path = target_dir / RESULT_FILE
    if not path.is_file():
        raise KiwiLikeError(f"no {RESULT_FILE} in {target_dir}: not a finished kiwi-like build")
    try:
        data = json.loads(path.read_text())
        files = [ResultFile(**entry) for entry in data["results"].values()]
    except (ValueError, KeyError, TypeError) as error:
        raise KiwiLikeError(f"{path}: unreadable result file ({error})") from None
    return data.get("build", {}), files
