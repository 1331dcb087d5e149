"""Stage 3: create the image files from a prepared root.

One builder per image type (kiwi's factory-per-concern); each writes into the
results' staging area and publishes finished files.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import cast

from kiwi_like import buildservice, lazy, reproducible, timing
from kiwi_like.description import ResolvedBuild
from kiwi_like.description.imagetypes import image_type_kind
from kiwi_like.installer import PackageManager, package_manager_for
from kiwi_like.log import log
from kiwi_like.prepare import scripts
from kiwi_like.prepare.metadata import write_package_metadata
from kiwi_like.prepare.pipeline import load_prepare_metrics
from kiwi_like.result import Results, collecting_results
from kiwi_like.runtime_config import RuntimeConfig
from kiwi_like.scratch import scratch_directory

Builder = Callable[[ResolvedBuild, Path, Results, Path, RuntimeConfig], None]
# <description> fields kiwi's result keeps (its `result bundle --package-as-rpm` reads them)
DESCRIPTION_META = ("author", "contact", "specification")


def package_changes(config: RuntimeConfig) -> bool:
    """kiwi's `bundle.has_package_changes`: on by default, off in a build-service worker
    (which reports the changes itself)."""
    if config.bundle_has_package_changes is not None:
        return config.bundle_has_package_changes
    return buildservice.worker() is None


def builder_for(build: ResolvedBuild) -> Builder:
    """The create function the type's descriptor names; refuses types that cannot be built."""
    return cast(Builder, lazy.load(image_type_kind(build.build_type.image).builder))


def reproducible_setting(
    build: ResolvedBuild, root: Path, manager: PackageManager, config: RuntimeConfig
) -> reproducible.Reproducible | None:
    """With SOURCE_DATE_EPOCH or `reproducible` on: the epoch and the seed of this build
    (the description's name and version and the installed packages)."""
    if reproducible.source_date_epoch() is None and not config.reproducible:
        return None
    epoch, source = reproducible.derive_epoch(root, build.description.file.parent)
    packages = [package.kiwi_line() for package in manager.installed()]
    seed = reproducible.seed_of(build.name, build.version, packages)
    log.info("Reproducible build: SOURCE_DATE_EPOCH %d (%s), seed %s", epoch, source, seed)
    return reproducible.Reproducible(epoch=epoch, seed=seed, epoch_source=source)


def create_image(
    build: ResolvedBuild,
    root: Path,
    target_dir: Path,
    config: RuntimeConfig,
    temp_dir: Path | None = None,
) -> Path:
    """Build the image files of `build` from `root` into `target_dir`; return the result file."""
    create = builder_for(build)
    root = root.resolve()
    target_dir = target_dir.resolve()
    recorder = timing.Recorder()
    with (
        collecting_results(target_dir, config.bundle_compress) as results,
        scratch_directory(temp_dir) as scratch,
        timing.recording(recorder),
    ):
        results.build = {
            "name": build.name,
            "version": build.version,
            "arch": build.arch,
            "image": build.build_type.image,
            "profiles": list(build.profiles),
            "description": str(build.description.file),
            **{key: build.description.meta.get(key) for key in DESCRIPTION_META},
        }
        results.bundle_format = build.bundle_format
        results.max_image_size = config.max_image_size
        log.info("Create: %s image from %s", build.build_type.image, root)
        # kiwi's images.sh: the last changes to the root before any image type is made
        manager = package_manager_for(build, root, scratch, config)
        setting = reproducible_setting(build, root, manager, config)
        with reproducible.reproducing(setting):
            with timing.step("images.sh", "config"), scripts.script_environment(root, build):
                scripts.run_script(root, build, "images.sh")
            if setting is not None:
                scrubbed = reproducible.scrub_root(root, setting.epoch)
                log.info("Reproducible build: %d build-time files changed", len(scrubbed))
                results.build["reproducible"] = setting.as_json()
                results.reproducible = setting.as_json()
            basename = build.result_basename
            # .packages and .verified (dpkg --verify reads every installed file) in a thread
            # while the image is made: the builders write only files no package owns
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="metadata") as background:
                metadata = background.submit(
                    write_package_metadata, manager, results.staging, basename
                )
                create(build, root, results, scratch, config)
                with timing.step("package metadata", "results"):
                    metadata.result()
        results.publish("image_packages", f"{basename}.packages", shasum=False)
        if package_changes(config):
            with timing.step("package changes", "results"):
                changes = manager.changes()
                results.stage(f"{basename}.changes").write_text(changes, encoding="utf-8")
            results.publish("image_changes", f"{basename}.changes", compress=True, shasum=False)
        results.publish("image_verified", f"{basename}.verified", shasum=False)
        results.finish_checksums()  # its wait is a step of the metrics too
        results.metrics = {
            "prepare": load_prepare_metrics(root),
            "create": {"steps": recorder.as_json()},
            "memory": timing.memory_summary(),
        }
        log.info(
            "Create: %s",
            ", ".join(f"{s.name} {s.seconds:.1f}s" for s in recorder.steps if s.seconds >= 0.5),
        )
        return results.write_result_file()
