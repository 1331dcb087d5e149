"""Option grammar shared by the commands that read a description.

kiwi-ng puts --profile, --type and friends before the service name; users
also write them after the command, so every command accepts both places.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kiwi_like.description import ResolvedBuild, sanity
from kiwi_like.description.overrides import BuildOptions, check_credentials_given_with_repositories
from kiwi_like.description.support import check_supported
from kiwi_like.errors import CommandLineError
from kiwi_like.log import log
from kiwi_like.prepare.certificates import check_target_distribution
from kiwi_like.runtime_config import RuntimeConfig, load_runtime_config

REPO_SYNTAX = (
    "source,type,alias,priority,imageinclude,package_gpgcheck,{signing_keys},"
    "components,distribution,repo_gpgcheck,repo_sourcetype"
)

# Options accepted both before the service and after the command.
GLOBAL_USAGE = """\
           [--profile=<name>...] [--type=<build_type>] [--target-arch=<name>]
           [--config=<configfile>] [--kiwi-file=<kiwifile>]
           [--logfile=<filename>] [--logsocket=<socketfile>] [--loglevel=<number>]
           [--debug] [--debug-run-scripts-in-screen] [--color-output]
           [--setenv=<variable=value>...]
           [--shared-cache-dir=<directory>] [--temp-dir=<directory>]"""

OVERRIDE_USAGE = f"""\
           [--ignore-repos] [--ignore-repos-used-for-build]
           [--set-repo=<{REPO_SYNTAX}>]
           [--set-repo-credentials=<user:pass_or_filename>]
           [--add-repo=<{REPO_SYNTAX}>...]
           [--add-repo-credentials=<user:pass_or_filename>...]
           [--add-package=<name>...] [--add-bootstrap-package=<name>...]
           [--delete-package=<name>...]
           [--set-type-attr=<attribute=value>...]
           [--set-release-version=<version>]
           [--set-container-tag=<name>] [--set-container-derived-from=<uri>]
           [--add-container-label=<label>...]"""

# Options of `system build` and `system prepare` only.
BUILD_USAGE = """\
           [--signing-key=<key-file>...] [--ca-cert=<cert-file>...]
           [--ca-target-distribution=<distribution>]"""

# What system build and system prepare take after their own options.
PREPARE_USAGE = f"""\
           [--allow-existing-root] [--clear-cache]
{OVERRIDE_USAGE}
{BUILD_USAGE}
{GLOBAL_USAGE}"""

BUILD_HELP = """\
  --signing-key=<key-file>       trust this key for every repository of the build
  --ca-cert=<cert-file>          import this CA certificate into the image after the bootstrap
  --ca-target-distribution=<d>   where --ca-cert goes: suse, redhat, debian or archlinux"""

OVERRIDE_HELP = """\
  --ignore-repos                 ignore all repositories of the description
  --ignore-repos-used-for-build  ignore all repositories except imageonly="true" ones
  --set-repo=<...>               replace the first repository (kiwi-ng comma syntax)
  --add-repo=<...>               add a repository (kiwi-ng comma syntax)
  --add-package=<name>           install this package too
  --add-bootstrap-package=<name> bootstrap this package too
  --delete-package=<name>        delete this package at the end of prepare
  --set-type-attr=<attr=value>   set an attribute of the selected build type
  --set-release-version=<v>      set the distribution release version
  --set-container-tag=<name>     set the container tag
  --set-container-derived-from=<uri>  set the base image of a container
  --add-container-label=<label>  add a container label (name=value)"""

GLOBAL_HELP = """\
  --profile=<name>               select a profile (repeatable)
  --type=<build_type>            select the build type (default: the primary one)
  --target-arch=<name>           build for this architecture (default: the host's)
  --config=<configfile>          runtime configuration file (YAML)
  --kiwi-file=<kiwifile>         description file name inside the description directory
  --logfile=<filename>           write the full log to this file; stdout (or terminal):
                                 the full log on standard output instead of the console log
  --logsocket=<socketfile>       send the full log to this Unix domain socket
  --loglevel=<number>            show log records of this level and above (10 debug,
                                 20 info, 30 warning, 40 error)
  --debug                        print debug messages (--loglevel 10)
  --debug-run-scripts-in-screen  refused: scripts run without a terminal
  --color-output                 colour warnings and errors
  --setenv=<variable=value>      set an environment variable for the programs and scripts
                                 of this run (repeatable)
  --shared-cache-dir=<directory> package cache shared between builds
  --temp-dir=<directory>         directory for temporary files"""

LIST_OPTIONS = (
    "--profile",
    "--add-repo",
    "--add-repo-credentials",
    "--add-package",
    "--add-bootstrap-package",
    "--delete-package",
    "--set-type-attr",
    "--add-container-label",
    "--setenv",
    "--signing-key",
    "--ca-cert",
)


def runtime_config(args: Mapping[str, Any]) -> RuntimeConfig:
    """The runtime config with the command line applied, once for every stage.

    The cache directory: `--shared-cache-dir`, then the config's `cache.shared_dir`,
    then the default.
    """
    config = load_runtime_config(args.get("--config"))
    source = "runtime config cache.shared_dir"
    if args.get("--shared-cache-dir"):
        cache_dir = Path(args["--shared-cache-dir"]).absolute()
        config = dataclasses.replace(config, shared_cache_dir=cache_dir)
        source = "--shared-cache-dir"
    # mmdebstrap's sync-in/sync-out hooks split their arguments at white space
    if re.search(r"\s", str(config.shared_cache_dir)) or sanity.has_control(
        str(config.shared_cache_dir)
    ):
        raise CommandLineError(
            f"{source}: '{config.shared_cache_dir}' must be a directory without white space"
        )
    return config


def check_buildable(build: ResolvedBuild) -> None:
    """What system prepare, build and create refuse (one line) or warn about before any work."""
    for warning in check_supported(build):
        log.warning(warning)


def temp_dir(args: Mapping[str, Any]) -> Path | None:
    value = args.get("--temp-dir")
    return Path(value) if value else None


def merge(global_args: Mapping[str, Any], command_args: Mapping[str, Any]) -> dict[str, Any]:
    """Combine the options given before the service with those after the command."""
    merged = dict(global_args)
    for key, value in command_args.items():
        before = merged.get(key)
        if isinstance(value, list):
            # a single value before the service (`--type`) joins a repeatable one after
            earlier = [before] if isinstance(before, str) else before
            merged[key] = [*(earlier or []), *value] if isinstance(earlier, list) else value
        elif value not in (None, False) or key not in merged:
            merged[key] = value
    return merged


def _list(args: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value: Sequence[str] | str | None = args.get(key)
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _input_files(args: Mapping[str, Any], option: str) -> tuple[str, ...]:
    """Files the build reads later: missing ones are refused now, before any work."""
    for name in _list(args, option):
        if not Path(name).is_file():
            raise CommandLineError(f"{option} {name}: file not found")
    return tuple(str(Path(name).absolute()) for name in _list(args, option))


def build_options(args: Mapping[str, Any]) -> BuildOptions:
    """The options as given; BuildOptions checks each value by the description's rules."""
    if args.get("--ca-cert") or args.get("--ca-target-distribution"):
        check_target_distribution(args.get("--ca-target-distribution"))
    options = BuildOptions(
        profiles=_list(args, "--profile"),
        build_type=args.get("--type"),
        target_arch=args.get("--target-arch"),
        set_repo=args.get("--set-repo"),
        set_repo_credentials=args.get("--set-repo-credentials"),
        add_repos=_list(args, "--add-repo"),
        add_repo_credentials=_list(args, "--add-repo-credentials"),
        ignore_repos=bool(args.get("--ignore-repos")),
        ignore_repos_used_for_build=bool(args.get("--ignore-repos-used-for-build")),
        add_packages=_list(args, "--add-package"),
        add_bootstrap_packages=_list(args, "--add-bootstrap-package"),
        delete_packages=_list(args, "--delete-package"),
        set_type_attrs=_list(args, "--set-type-attr"),
        set_release_version=args.get("--set-release-version"),
        set_container_tag=args.get("--set-container-tag"),
        set_container_derived_from=args.get("--set-container-derived-from"),
        add_container_labels=_list(args, "--add-container-label"),
        signing_keys=_input_files(args, "--signing-key"),
        ca_certs=_input_files(args, "--ca-cert"),
        ca_target_distribution=args.get("--ca-target-distribution"),
    )
    check_credentials_given_with_repositories(options)
    return options
