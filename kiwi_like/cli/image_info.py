"""`image info`: show what a description resolves to."""

from __future__ import annotations

import json
import re
from typing import Any

from kiwi_like.cli import markup
from kiwi_like.cli import options as cli
from kiwi_like.cli.command import Command
from kiwi_like.description import ResolvedBuild, load_build, xmlload
from kiwi_like.description.profile import profile_variables
from kiwi_like.description.uri import redact as redact_uri
from kiwi_like.errors import CommandLineError
from kiwi_like.log import log
from kiwi_like.redaction import redact

USAGE = f"""usage: kiwi-ng image info -h | --help
       kiwi-ng image info --description=<directory>
           [--resolve-package-list] [--list-profiles] [--print-kiwi-env]
           [--print-xml] [--print-yaml] [--print-toml] [--format=<format>]
{cli.OVERRIDE_USAGE}
{cli.GLOBAL_USAGE}

options:
  --description=<directory>      the image description directory
  --resolve-package-list         refused: kiwi-like solves dependencies only while installing
  --list-profiles                add the profiles the description defines (profile_names)
  --print-kiwi-env               add the variables the scripts get in /.profile (kiwi_env)
  --print-xml                    print the description as XML (includes resolved, upgraded)
  --print-yaml                   print the description as YAML (kiwi's XML-to-YAML mapping)
  --print-toml                   print the description as TOML (kiwi's XML-to-TOML mapping)
  --format=<format>              instead of kiwi's output, kiwi-like's summary of the
                                 resolved build: text or json
{cli.OVERRIDE_HELP}
{cli.GLOBAL_HELP}
"""
KIWI_ONLY = ("--print-kiwi-env", "--print-xml", "--print-yaml", "--print-toml")
STRING = r'"(?:[^"\\]|\\.)*"'
KEY = re.compile(rf"^(\s*)({STRING})(:)", re.MULTILINE)
VALUE = re.compile(rf"(: |^\s+)({STRING})(,?)$", re.MULTILINE)
BLUE, GREEN, RESET = "\033[34m", "\033[32m", "\033[0m"


def build_to_dict(build: ResolvedBuild) -> dict[str, Any]:
    """The resolved build as plain data. Passwords are never part of it."""
    preferences = build.preferences
    build_type = build.build_type
    return {
        "name": build.name,
        "displayname": build.description.displayname,
        "version": build.version,
        "schemaversion": build.description.schemaversion,
        "description_file": str(build.description.file),
        "arch": build.arch,
        "packagemanager": preferences.packagemanager,
        "profiles": list(build.profiles),
        "type": dict(build_type.attributes),
        "bootloader": dict(build_type.bootloader.attributes) if build_type.bootloader else None,
        "oemconfig": dict(build_type.oemconfig),
        "containerconfig": (
            build_type.containerconfig.to_dict() if build_type.containerconfig else None
        ),
        "repositories": [
            {
                "source": redact_uri(repository.source),
                "type": repository.type,
                "alias": repository.alias,
                "priority": repository.priority,
                "imageinclude": repository.imageinclude,
                "distribution": repository.distribution,
                "components": list(repository.components),
                "package_gpgcheck": repository.package_gpgcheck,
                "repository_gpgcheck": repository.repository_gpgcheck,
                "signing_keys": list(repository.signing_keys),
            }
            for repository in build.repositories
        ],
        "packages": {
            "bootstrap": list(build.packages.bootstrap),
            "image": list(build.packages.image),
            "delete": list(build.packages.delete),
            "uninstall": list(build.packages.uninstall),
            "collections": list(build.packages.collections),
            "ignore": list(build.packages.ignore),
        },
        "archives": [archive.name for archive in build.archives],
        "files": [{"name": f.name, "target": f.target} for f in build.files],
        "users": [
            {
                "name": user.name,
                "groups": list(user.groups),
                "home": user.home_directory,
                "shell": user.shell,
                "id": user.id,
            }
            for user in build.users
        ],
        "locale": preferences.locale,
        "timezone": preferences.timezone,
        "keytable": preferences.keytable,
        "release_version": preferences.release_version,
    }


def _text(data: dict[str, Any]) -> str:
    type_attributes = " ".join(f"{k}={v}" for k, v in data["type"].items() if k != "image")
    rows = [
        ("name", data["name"]),
        ("release version", data["release_version"] or "-"),
        ("version", f"{data['version']} (schema {data['schemaversion']})"),
        ("arch", data["arch"]),
        ("package manager", data["packagemanager"]),
        ("profiles", ", ".join(data["profiles"]) or "-"),
        ("type", f"{data['type']['image']} {type_attributes}".rstrip()),
        ("locale", data["locale"] or "-"),
        ("timezone", data["timezone"] or "-"),
        ("keytable", data["keytable"] or "-"),
    ]
    for repository in data["repositories"]:
        suite = " ".join(filter(None, [repository["distribution"], *repository["components"]]))
        rows.append(("repository", f"{repository['type']} {repository['source']} {suite}".rstrip()))
    rows += [
        (f"{kind} packages", " ".join(names)) for kind, names in data["packages"].items() if names
    ]
    if data["archives"]:
        rows.append(("archives", " ".join(data["archives"])))
    for user in data["users"]:
        groups = ",".join(user["groups"]) or "-"
        rows.append(("user", f"{user['name']} home={user['home']} groups={groups}"))
    width = max(len(label) for label, _ in rows) + 2
    return "\n".join(f"{label + ':':<{width}}{value}" for label, value in rows)


def _kiwi_output(build: ResolvedBuild, args: dict[str, Any]) -> None:
    """kiwi's `image info`: a JSON object with the image name and what was asked for."""
    result: dict[str, Any] = {"image": build.name}
    if args.get("--print-kiwi-env"):
        result["kiwi_env"] = profile_variables(build)
    if args.get("--list-profiles"):
        result["profile_names"] = [profile.name for profile in build.description.profiles]
    text = json.dumps(result, sort_keys=True, indent=4, separators=(",", ": "))
    print(_colored_json(text) if args.get("--color-output") else text)
    root = build.description.xml.root if build.description.xml is not None else None
    if root is None:
        root = xmlload.load(build.description.file).root
    for option, title, convert in (
        ("--print-xml", "XML", markup.xml_text),
        ("--print-yaml", "YAML", markup.yaml_text),
        ("--print-toml", "TOML", markup.toml_text),
    ):
        if args.get(option):  # kiwi prints one, the first of these asked for
            log.info("Description(%s):", title)
            print(redact(convert(root)), end="")
            break


def _colored_json(text: str) -> str:
    """Keys blue, string values green: what kiwi's pjson does for --color-output."""
    text = KEY.sub(lambda m: f"{m[1]}{BLUE}{m[2]}{RESET}{m[3]}", text)
    return VALUE.sub(lambda m: f"{m[1]}{GREEN}{m[2]}{RESET}{m[3]}", text)


def run(args: dict[str, Any]) -> int:
    if args.get("--resolve-package-list"):
        raise CommandLineError(
            "--resolve-package-list is not supported: kiwi-like solves dependencies only "
            "while it installs packages (the .packages result of a build lists them all)"
        )
    output_format = args.get("--format")
    if output_format not in (None, "text", "json"):
        raise CommandLineError(f"--format must be text or json, not '{output_format}'")
    asked = [option for option in KIWI_ONLY if args.get(option)]
    if output_format and asked:
        raise CommandLineError(f"{asked[0]} is part of kiwi's output: leave out --format")
    config = cli.runtime_config(args)
    build = load_build(
        args["--description"], cli.build_options(args), config, args.get("--kiwi-file")
    )
    if output_format is None:
        _kiwi_output(build, args)
        return 0
    if args.get("--list-profiles"):
        for profile in build.description.profiles:
            marker = "*" if profile.name in build.profiles else " "
            print(f"{marker} {profile.name:<20} {profile.description}")
        return 0
    data = build_to_dict(build)
    if output_format == "json":
        print(json.dumps(data, indent=2))
    else:
        print(_text(data))
    return 0


COMMAND = Command(usage=USAGE, run=run)
