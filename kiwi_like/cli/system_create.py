"""`system create` and `system build`: image files from a prepared root."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from kiwi_like.cli import options as cli
from kiwi_like.cli.command import Command
from kiwi_like.cli.system_prepare import clear_caches, prepare_options
from kiwi_like.create.pipeline import builder_for, create_image
from kiwi_like.description import load_build
from kiwi_like.log import add_logfile, log
from kiwi_like.prepare import load_state, prepare_root
from kiwi_like.runtime_config import RuntimeConfig

REPRODUCIBLE_HELP = """\
  --reproducible                 byte-identical images from the same root (doc/reproducible.md);
                                 SOURCE_DATE_EPOCH, when unset, is the newest package's date"""

CREATE_USAGE = f"""usage: kiwi-ng system create -h | --help
       kiwi-ng system create --root=<directory> --target-dir=<directory>
           [--signing-key=<key-file>...] [--reproducible]
{cli.GLOBAL_USAGE}

options:
  --root=<directory>             a root made by 'system prepare'
  --target-dir=<directory>       where the image files go
  --signing-key=<key-file>       no effect (warned): kiwi uses it for boot image descriptions
{REPRODUCIBLE_HELP}
{cli.GLOBAL_HELP}
"""

BUILD_USAGE = f"""usage: kiwi-ng system build -h | --help
       kiwi-ng system build --description=<directory> --target-dir=<directory>
           [--reproducible]
{cli.PREPARE_USAGE}

options:
  --description=<directory>      the image description directory
  --target-dir=<directory>       where the image files go; the root is <target-dir>/build/image-root
                                 and, without --logfile, the log <target-dir>/build/image-root.log
  --allow-existing-root          reuse an existing root directory
  --clear-cache                  empty the shared package cache first
{REPRODUCIBLE_HELP}
{cli.OVERRIDE_HELP}
{cli.BUILD_HELP}
{cli.GLOBAL_HELP}
"""


def _reproducible(args: dict[str, Any], config: RuntimeConfig) -> RuntimeConfig:
    return dataclasses.replace(config, reproducible=True) if args.get("--reproducible") else config


def run_create(args: dict[str, Any]) -> int:
    if args.get("--signing-key"):
        log.warning(
            "--signing-key has no effect on system create: kiwi uses it for boot image "
            "descriptions, which kiwi-like does not build"
        )
    root = Path(args["--root"]).resolve()
    config = _reproducible(args, cli.runtime_config(args))
    description, options = load_state(root)
    if args.get("--type"):
        options = dataclasses.replace(options, build_type=args["--type"])
    build = load_build(description.parent, options, config, description.name)
    cli.check_buildable(build)
    create_image(build, root, Path(args["--target-dir"]), config, cli.temp_dir(args))
    return 0


def run_build(args: dict[str, Any]) -> int:
    target_dir = Path(args["--target-dir"]).resolve()
    root = target_dir / "build" / "image-root"
    if not args.get("--logfile"):  # kiwi's build log, beside the root
        root.parent.mkdir(parents=True, exist_ok=True)
        add_logfile(root.parent / "image-root.log")
    config = _reproducible(args, cli.runtime_config(args))
    options = cli.build_options(args)
    build = load_build(args["--description"], options, config, args.get("--kiwi-file"))
    cli.check_buildable(build)
    builder_for(build)  # an unsupported type or setting fails now, not after the prepare
    build.settings  # noqa: B018
    clear_caches(args, config)
    prepare_root(build, prepare_options(args, root), config, options)
    create_image(build, root, target_dir, config, cli.temp_dir(args))
    return 0


CREATE = Command(usage=CREATE_USAGE, run=run_create)
BUILD = Command(usage=BUILD_USAGE, run=run_build)
