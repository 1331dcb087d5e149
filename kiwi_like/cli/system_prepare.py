"""`system prepare` and `system update`: build or refresh an image root."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiwi_like.chroot import build_time_files
from kiwi_like.cli.command import Command
from kiwi_like.cli.options import (
    GLOBAL_HELP,
    GLOBAL_USAGE,
    OVERRIDE_HELP,
    OVERRIDE_USAGE,
    build_options,
)
from kiwi_like.description import load_build
from kiwi_like.installer import package_manager_for
from kiwi_like.log import log
from kiwi_like.prepare import PrepareOptions, load_state, prepare_root
from kiwi_like.runtime_config import load_runtime_config
from kiwi_like.scratch import scratch_directory

PREPARE_USAGE = f"""usage: kiwi-ng system prepare -h | --help
       kiwi-ng system prepare --description=<directory> --root=<directory>
           [--allow-existing-root] [--clear-cache]
{OVERRIDE_USAGE}
{GLOBAL_USAGE}

options:
  --description=<directory>      the image description directory
  --root=<directory>             the image root to create
  --allow-existing-root          reuse an existing root directory
  --clear-cache                  empty the shared package cache first
{OVERRIDE_HELP}
{GLOBAL_HELP}
"""

UPDATE_USAGE = f"""usage: kiwi-ng system update -h | --help
       kiwi-ng system update --root=<directory>
           [--add-package=<name>...] [--delete-package=<name>...]
{GLOBAL_USAGE}

options:
  --root=<directory>             a root made by 'system prepare'
  --add-package=<name>           install this package
  --delete-package=<name>        remove this package
{GLOBAL_HELP}
"""


def cache_dir(args: dict[str, Any]) -> Path | None:
    value = args.get("--shared-cache-dir")
    return Path(value) if value else None


def temp_dir(args: dict[str, Any]) -> Path | None:
    value = args.get("--temp-dir")
    return Path(value) if value else None


def prepare_options(args: dict[str, Any], root: Path) -> PrepareOptions:
    return PrepareOptions(
        root=root,
        allow_existing_root=bool(args.get("--allow-existing-root")),
        clear_cache=bool(args.get("--clear-cache")),
        shared_cache_dir=cache_dir(args),
        temp_dir=temp_dir(args),
    )


def run_prepare(args: dict[str, Any]) -> int:
    config = load_runtime_config(args.get("--config"))
    options = build_options(args)
    build = load_build(args["--description"], options, config, args.get("--kiwi-file"))
    prepare_root(build, prepare_options(args, Path(args["--root"])), config, options)
    return 0


def run_update(args: dict[str, Any]) -> int:
    root = Path(args["--root"]).resolve()
    config = load_runtime_config(args.get("--config"))
    description, options = load_state(root)
    build = load_build(description, options, config)
    with scratch_directory(temp_dir(args)) as scratch:
        manager = package_manager_for(
            build, root, cache_dir(args) or config.shared_cache_dir, scratch, config
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
