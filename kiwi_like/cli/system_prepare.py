"""`system prepare` and `system update`: build or refresh an image root."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiwi_like.chroot import build_time_files
from kiwi_like.cli import options as cli
from kiwi_like.cli.command import Command
from kiwi_like.create.boot.initrdcache import InitrdCache
from kiwi_like.description import load_build
from kiwi_like.installer import package_manager_for
from kiwi_like.log import log
from kiwi_like.prepare import PrepareOptions, clear_cache, isorepo, load_state, prepare_root
from kiwi_like.runtime_config import RuntimeConfig
from kiwi_like.scratch import scratch_directory

PREPARE_USAGE = f"""usage: kiwi-ng system prepare -h | --help
       kiwi-ng system prepare --description=<directory> --root=<directory>
{cli.PREPARE_USAGE}

options:
  --description=<directory>      the image description directory
  --root=<directory>             the image root to create
  --allow-existing-root          reuse an existing root directory
  --clear-cache                  empty the shared package cache first
{cli.OVERRIDE_HELP}
{cli.BUILD_HELP}
{cli.GLOBAL_HELP}
"""

UPDATE_USAGE = f"""usage: kiwi-ng system update -h | --help
       kiwi-ng system update --root=<directory>
           [--add-package=<name>...] [--delete-package=<name>...]
{cli.GLOBAL_USAGE}

options:
  --root=<directory>             a root made by 'system prepare'
  --add-package=<name>           install this package
  --delete-package=<name>        remove this package
{cli.GLOBAL_HELP}
"""


def clear_caches(args: dict[str, Any], config: RuntimeConfig) -> None:
    """--clear-cache: every cache in the shared cache directory (packages, roots, initrds)."""
    if args.get("--clear-cache"):
        clear_cache(config.shared_cache_dir)
        InitrdCache(config.shared_cache_dir).clear()


def prepare_options(args: dict[str, Any], root: Path) -> PrepareOptions:
    return PrepareOptions(
        root=root,
        allow_existing_root=bool(args.get("--allow-existing-root")),
        temp_dir=cli.temp_dir(args),
    )


def run_prepare(args: dict[str, Any]) -> int:
    config = cli.runtime_config(args)
    options = cli.build_options(args)
    build = load_build(args["--description"], options, config, args.get("--kiwi-file"))
    cli.check_buildable(build)
    clear_caches(args, config)
    prepare_root(build, prepare_options(args, Path(args["--root"])), config, options)
    return 0


def run_update(args: dict[str, Any]) -> int:
    root = Path(args["--root"]).resolve()
    config = cli.runtime_config(args)
    description, options = load_state(root)
    build = load_build(description.parent, options, config, description.name)
    with scratch_directory(cli.temp_dir(args)) as scratch:
        manager = package_manager_for(
            isorepo.unpack_iso_repositories(build, scratch), root, scratch, config
        )
        with build_time_files(root):
            # kiwi-ng's semantics: add, or delete (with dependency cleanup), or update all.
            if args.get("--add-package"):
                log.info("Update: installing %s", " ".join(args["--add-package"]))
                manager.install(args["--add-package"])
            elif args.get("--delete-package"):
                log.info("Update: removing %s", " ".join(args["--delete-package"]))
                manager.uninstall(args["--delete-package"])
            else:
                log.info("Update: bringing every package of %s up to date", root)
                manager.update()
            manager.finalize_repositories()
            manager.clean()
    return 0


PREPARE = Command(usage=PREPARE_USAGE, run=run_prepare)
UPDATE = Command(usage=UPDATE_USAGE, run=run_update)
