"""Stage 2: turn a resolved build into a complete image root, step by step."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kiwi_like import timing
from kiwi_like.chroot import build_time_files
from kiwi_like.description import BuildOptions, ResolvedBuild, imagetypes
from kiwi_like.description.imagetypes.container import ContainerSettings
from kiwi_like.description.packagemanagers import all_cache_dirs, holds_package_database
from kiwi_like.description.uri import redact
from kiwi_like.errors import KiwiLikeError
from kiwi_like.installer import PackageManager, package_manager_for
from kiwi_like.log import log
from kiwi_like.prepare import certificates, isorepo, overlay, scripts, settings, users
from kiwi_like.prepare.base_image import import_base
from kiwi_like.prepare.rootcache import RootCache, RootCacheInfo, cache_key
from kiwi_like.runtime_config import RuntimeConfig
from kiwi_like.scratch import scratch_directory
from kiwi_like.timing import StepTiming

STATE_FILE = "image/kiwi-like.json"


@dataclass(frozen=True)
class PrepareOptions:
    root: Path
    allow_existing_root: bool = False
    temp_dir: Path | None = None


def setup_root(root: Path, allow_existing: bool) -> bool:
    """Create the root directory; return whether it already holds a bootstrapped system."""
    if root.exists() and any(root.iterdir()):
        if not allow_existing:
            raise KiwiLikeError(
                f"root directory {root} already exists and is not empty "
                "(use --allow-existing-root to reuse it)"
            )
        return holds_package_database(root)
    root.mkdir(parents=True, exist_ok=True)
    return False


def clear_cache(cache_dir: Path) -> None:
    """The caches prepare keeps: every package manager's packages and the root cache."""
    for name in all_cache_dirs():  # every package manager's packages
        if (cache_dir / name).exists():
            log.info("Clearing package cache %s", cache_dir / name)
            shutil.rmtree(cache_dir / name)
    RootCache(cache_dir, 1).clear()


STEP_STAGES = {
    "bootstrap": "bootstrap",
    "base image": "bootstrap",
    "bootstrap packages": "bootstrap",
    "post_bootstrap.sh": "packages",
    "image packages": "packages",
    "root cache restore": "packages",
    "root cache store": "packages",
    "root cache check": "packages",
}


class _Steps:
    """Runs named steps with one log line each and records how long they took."""

    def __init__(self) -> None:
        self.recorder = timing.Recorder()

    @property
    def timings(self) -> list[StepTiming]:
        return self.recorder.steps

    def __call__(self, name: str, action: Callable[[], object]) -> None:
        log.info("Prepare: %s", name)
        with self.recorder.step(name, STEP_STAGES.get(name, "config")):
            action()

    def skipped(self, name: str, why: str = "reused from the root cache") -> None:
        log.info("Prepare: %s (%s)", name, why)
        self.recorder.skipped(name, STEP_STAGES.get(name, "config"))


def prepare_root(
    build: ResolvedBuild,
    options: PrepareOptions,
    config: RuntimeConfig,
    build_options: BuildOptions,
) -> list[StepTiming]:
    root = options.root.resolve()
    bootstrapped = setup_root(root, options.allow_existing_root)
    cache_dir = config.shared_cache_dir
    step = _Steps()
    root_cache = RootCache(cache_dir, config.root_cache_size)
    with scratch_directory(options.temp_dir) as scratch:
        # iso:// repositories are unpacked into scratch first (xorriso, no mount)
        manager = package_manager_for(
            isorepo.unpack_iso_repositories(build, scratch), root, scratch, config
        )
        image_packages, collections = _image_packages(build, manager)
        type_settings = build.settings if imagetypes.is_buildable(build.build_type.image) else None
        derived_from = (
            type_settings.derived_from if isinstance(type_settings, ContainerSettings) else None
        )
        key = None
        # --ca-cert files are not part of the cache key: such roots are not cached
        cacheable = not (bootstrapped or derived_from or build_options.ca_certs)
        if root_cache.enabled and cacheable:
            key = cache_key(
                build, manager, image_packages, collections, config.apt_bootstrap_variant
            )
        cached = RootCacheInfo(key, hit=False, reason="" if key else "not cacheable")
        restored: list[bool] = []
        if key:
            step("root cache restore", lambda: restored.append(root_cache.restore(key, root)))
        if restored and restored[0]:
            for name in ("bootstrap", "post_bootstrap.sh", "image packages"):
                step.skipped(name)
            manager.restored()
            cached = RootCacheInfo(key, hit=True)
        else:
            if bootstrapped:
                log.info("Prepare: reusing the existing root %s", root)
            elif derived_from:
                # The base image is the bootstrap; bootstrap packages are installed on top.
                directory = build.description.directory
                step("base image", lambda: import_base(derived_from, directory, root, scratch))
                step(
                    "bootstrap packages", lambda: manager.install(build.install_packages.bootstrap)
                )
            elif one_pass(build, manager, build_options, image_packages, collections):
                step(
                    "bootstrap",
                    lambda: manager.bootstrap_with_image(
                        build.install_packages.bootstrap, image_packages
                    ),
                )
                image_packages = ()
                step.skipped("image packages", "installed by the bootstrap: one package pass")
            else:
                step("bootstrap", lambda: manager.bootstrap(build.install_packages.bootstrap))
            with build_time_files(root), scripts.script_environment(root, build):
                step(
                    "post_bootstrap.sh",
                    lambda: scripts.run_script(root, build, "post_bootstrap.sh"),
                )
                if build_options.ca_certs:  # after the bootstrap, before the packages (kiwi)
                    step(
                        "CA certificates",
                        lambda: certificates.import_certificates(
                            root, build_options.ca_certs, build_options.ca_target_distribution
                        ),
                    )
                if image_packages or collections:
                    step("image packages", lambda: manager.install(image_packages, collections))
            if key:
                stored: list[bool] = []
                step(
                    "root cache store",
                    lambda: stored.append(root_cache.store(key, root, manager.private_files())),
                )
                cached = RootCacheInfo(key, hit=False, stored=stored[0])
        generate_locales = root_cache.locale_generator(key) if key else settings.run_locale_gen
        with build_time_files(root), scripts.script_environment(root, build):
            _customize(build, root, scratch, manager, step, generate_locales)
        if key and (cached.hit or cached.stored):
            step("root cache check", lambda: root_cache.check(key))
        stats = manager.cache_stats
    metrics = {
        "steps": step.recorder.as_json(),
        "root_cache": asdict(cached),
        "package_cache": asdict(stats),
    }
    save_state(root, build, build_options, metrics)
    summary = ", ".join(f"{t.name} {t.seconds:.1f}s" for t in step.timings if t.seconds >= 0.5)
    log.info("Prepared image root %s (%s)", root, summary)
    log.info(
        "Root cache: %s; package cache: %d downloaded, %d reused",
        "hit"
        if cached.hit
        else ("miss, stored" if cached.stored else f"miss {cached.reason}".strip()),
        stats.downloads,
        stats.reused,
    )
    return step.timings


def one_pass(
    build: ResolvedBuild,
    manager: PackageManager,
    build_options: BuildOptions,
    image_packages: Sequence[str],
    collections: Sequence[str],
) -> bool:
    """Whether the bootstrap installs the image packages too, in one resolver run.

    kiwi installs them in two steps with post_bootstrap.sh (and kiwi-like's --ca-cert
    import) between them; where nothing runs between them, one run gives the same
    packages (tests/test_one_pass.py) without a second apt start, update and dpkg run.
    """
    between = (build.description_dir / "post_bootstrap.sh").is_file() or build_options.ca_certs
    return manager.one_pass and bool(image_packages) and not collections and not between


def _image_packages(
    build: ResolvedBuild, manager: PackageManager
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The image packages to install (with what the type needs) and the collections."""
    packages = build.install_packages
    image, collections = image_package_lists(build, manager.supports_collections)
    skipped = packages.products + (() if collections else packages.collections)
    if skipped:
        log.warning(
            "namedCollection/product entries are not supported by %s and are skipped: %s",
            build.preferences.packagemanager,
            ", ".join(skipped),
        )
    needed = image[len(packages.image) :]
    if needed:
        log.info("Adding packages the %s type needs: %s", build.build_type.image, " ".join(needed))
    return image, collections


def image_package_lists(
    build: ResolvedBuild, supports_collections: bool
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The image packages prepare installs (the description's, then what the type needs)
    and the collections, if the package manager understands them."""
    packages = build.install_packages
    needed = [p for p in imagetypes.image_packages(build) if p not in packages.image]
    collections = packages.collections if supports_collections else ()
    return (*packages.image, *needed), tuple(collections)


def _customize(
    build: ResolvedBuild,
    root: Path,
    scratch: Path,
    manager: PackageManager,
    step: _Steps,
    generate_locales: Callable[[Path], None],
) -> None:
    packages = build.install_packages
    step("hostname", lambda: settings.setup_hostname(root, settings.hostname_for(build)))
    step("archives", lambda: overlay.unpack_archives(build, root, scratch))
    step("overlay files", lambda: overlay.apply_overlays(build, root, scratch))
    step("users and groups", lambda: users.setup_users(root, build.users))
    # After the users: <file> owner="..." may name one of them.
    step("<file> elements", lambda: overlay.copy_files(build, root))
    step(
        "locale, keytable, timezone",
        lambda: settings.apply_settings(build, root, generate_locales),
    )
    step("config.sh", lambda: scripts.run_script(root, build, "config.sh"))
    step("uninstall packages", lambda: manager.uninstall(packages.uninstall))
    step("delete packages", lambda: manager.delete(packages.delete))
    step("image repositories", manager.finalize_repositories)
    step("package manager cleanup", manager.clean)
    step("machine id", lambda: settings.reset_machine_id(root))


def save_state(
    root: Path,
    build: ResolvedBuild,
    build_options: BuildOptions,
    metrics: dict[str, Any] | None = None,
) -> None:
    """What `system create` and `system update` need to load the same build again.

    The file stays in the root, so repository credentials are left out of it.
    """
    options = asdict(build_options)
    options["set_repo_credentials"] = None
    options["add_repo_credentials"] = []
    options["set_repo"] = redact(options["set_repo"]) if options["set_repo"] else None
    options["add_repos"] = [redact(repo) for repo in options["add_repos"]]
    state = {"description": str(build.description.file), "options": options}
    if metrics is not None:
        state["prepare"] = metrics
    path = root / STATE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2) + "\n")


def load_prepare_metrics(root: Path) -> dict[str, Any]:
    """What the prepare of this root recorded (steps, caches), for the result file."""
    try:
        state = json.loads((root / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    metrics = state.get("prepare") if isinstance(state, dict) else None
    return metrics if isinstance(metrics, dict) else {}


def load_state(root: Path) -> tuple[Path, BuildOptions]:
    path = root / STATE_FILE
    if not path.is_file():
        raise KiwiLikeError(f"{root} is not a prepared image root (no {STATE_FILE})")
    state = json.loads(path.read_text())
    options: dict[str, Any] = {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in state["options"].items()
    }
    return Path(state["description"]), BuildOptions(**options)
