"""`image info`: show what a description resolves to."""

from __future__ import annotations

import json
from typing import Any

from kiwi_like.cli import options as cli
from kiwi_like.cli.command import Command
from kiwi_like.description import ResolvedBuild, load_build
from kiwi_like.description.uri import redact
from kiwi_like.errors import CommandLineError

USAGE = f"""usage: kiwi-ng image info -h | --help
       kiwi-ng image info --description=<directory>
           [--format=<format>] [--list-profiles]
{cli.OVERRIDE_USAGE}
{cli.GLOBAL_USAGE}

options:
  --description=<directory>      the image description directory
  --format=<format>              text (default) or json
  --list-profiles                print the profiles the description defines
{cli.OVERRIDE_HELP}
{cli.GLOBAL_HELP}
"""


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
                "source": redact(repository.source),
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


def run(args: dict[str, Any]) -> int:
    output_format = args.get("--format") or "text"
    if output_format not in ("text", "json"):
        raise CommandLineError(f"--format must be text or json, not '{output_format}'")
    config = cli.runtime_config(args)
    build = load_build(
        args["--description"], cli.build_options(args), config, args.get("--kiwi-file")
    )
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
