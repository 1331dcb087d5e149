"""Command-line overrides of a description, parsed from kiwi-ng's option syntax."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from kiwi_like.description import sanity
from kiwi_like.description.model import Repository
from kiwi_like.description.sanity import refuse_unless
from kiwi_like.errors import CommandLineError

# The repository types the schema allows (schema/kiwi-like.rnc, <repository type>).
# Which of them a package manager reads is its descriptor's `repository_types`
# (kiwi_like/description/packagemanagers); its adapter refuses the others.
REPOSITORY_TYPES = (
    "rpm-md", "rpm-dir", "yast2", "apt-deb", "apt-rpm", "deb-dir",
    "mirrors", "red-carpet", "slack-site", "up2date-mirrors", "urpmi", "apk",
)  # fmt: skip
SOURCE_TYPES = ("baseurl", "metalink", "mirrorlist")
REPO_FIELDS = (
    "source",
    "type",
    "alias",
    "priority",
    "imageinclude",
    "package_gpgcheck",
    "signing_keys",
    "components",
    "distribution",
    "repo_gpgcheck",
    "repo_sourcetype",
)


@dataclass(frozen=True)
class BuildOptions:
    """Everything the command line says about the build besides the description."""

    profiles: tuple[str, ...] = ()
    build_type: str | None = None
    target_arch: str | None = None
    set_repo: str | None = None
    set_repo_credentials: str | None = None
    add_repos: tuple[str, ...] = ()
    add_repo_credentials: tuple[str, ...] = ()
    ignore_repos: bool = False
    ignore_repos_used_for_build: bool = False
    add_packages: tuple[str, ...] = ()
    add_bootstrap_packages: tuple[str, ...] = ()
    delete_packages: tuple[str, ...] = ()
    set_type_attrs: tuple[str, ...] = ()
    set_release_version: str | None = None
    set_container_tag: str | None = None
    set_container_derived_from: str | None = None
    add_container_labels: tuple[str, ...] = ()
    # --signing-key: key files trusted for every repository of the build
    signing_keys: tuple[str, ...] = ()
    # --ca-cert, --ca-target-distribution: CA certificates imported after the bootstrap
    ca_certs: tuple[str, ...] = ()
    ca_target_distribution: str | None = None

    def __post_init__(self) -> None:
        _check_options(self)


def _check_options(options: BuildOptions) -> None:
    """The description's rules for the values the command line adds (kiwi_like.description.
    sanity): a package name is a package name wherever it was written."""
    for profile in options.profiles:
        for name in profile.split(","):
            refuse_unless("--profile", sanity.PROFILE, name)
    for option, value, rule in (
        ("--type", options.build_type, sanity.WORD),
        ("--target-arch", options.target_arch, sanity.ARCHITECTURE),
        ("--set-release-version", options.set_release_version, sanity.RELEASE_VERSION),
        ("--set-container-tag", options.set_container_tag, sanity.WORD),
        ("--set-container-derived-from", options.set_container_derived_from, sanity.URI),
        ("--ca-target-distribution", options.ca_target_distribution, sanity.WORD),
    ):
        if value is not None:
            refuse_unless(option, rule, value)
    for text in options.set_type_attrs:
        name, _, _ = text.partition("=")
        if name:  # without one, parse_assignment says what is missing
            refuse_unless("--set-type-attr", sanity.ATTRIBUTE_NAME, name)
    for option, values, rule in (
        ("--add-package", options.add_packages, sanity.PACKAGE),
        ("--add-bootstrap-package", options.add_bootstrap_packages, sanity.PACKAGE),
        ("--delete-package", options.delete_packages, sanity.PACKAGE),
        ("--set-type-attr", options.set_type_attrs, sanity.ANY_TEXT),
        ("--add-container-label", options.add_container_labels, sanity.ANY_TEXT),
        ("--signing-key", options.signing_keys, sanity.ANY_TEXT),
        ("--ca-cert", options.ca_certs, sanity.ANY_TEXT),
    ):
        for value in values:
            refuse_unless(option, rule, value)
    if options.set_repo is not None:
        parse_repository("--set-repo", options.set_repo)
    for text in options.add_repos:
        parse_repository("--add-repo", text)


def check_credentials_given_with_repositories(options: BuildOptions) -> None:
    """Credentials the command line gives for no repository would be ignored silently.
    (Not in BuildOptions itself: its saved state keeps no credentials, but the repos.)"""
    if options.set_repo is None and options.set_repo_credentials is not None:
        raise CommandLineError("--set-repo-credentials: given without --set-repo")
    if len(options.add_repo_credentials) > len(options.add_repos):
        raise CommandLineError(
            f"--add-repo-credentials: given {len(options.add_repo_credentials)} times for "
            f"{len(options.add_repos)} --add-repo (one for each, in order)"
        )


def _flag(option: str, name: str, value: str) -> bool | None:
    if value == "":
        return None
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise CommandLineError(f"{option}: {name} must be true or false, not '{value}'")


def parse_repository(option: str, text: str) -> Repository:
    """Parse `source,type,alias,priority,imageinclude,package_gpgcheck,{keys},
    components,distribution,repo_gpgcheck,repo_sourcetype` (trailing fields optional)."""
    values = text.split(",")
    if len(values) > len(REPO_FIELDS):
        raise CommandLineError(f"{option}: too many fields, expected {','.join(REPO_FIELDS)}")
    fields = dict.fromkeys(REPO_FIELDS, "") | dict(zip(REPO_FIELDS, values, strict=False))
    if not fields["source"]:
        raise CommandLineError(f"{option}: the source URI is missing")
    # the rules of <repository> and <source> in a description (description/sanity.py)
    for name, rule in (
        ("source", sanity.URI),
        ("alias", sanity.ALIAS),
        ("priority", sanity.PRIORITY),
        ("distribution", sanity.WORD),
        ("components", sanity.ANY_TEXT),
    ):
        if fields[name] or name == "source":
            refuse_unless(f"{option} {name}", rule, fields[name])
    repo_type = fields["type"]
    if repo_type and repo_type not in REPOSITORY_TYPES:
        raise CommandLineError(
            f"{option}: unknown repository type '{repo_type}' "
            f"(one of {', '.join(REPOSITORY_TYPES)})"
        )
    priority = fields["priority"]
    sourcetype = fields["repo_sourcetype"]
    if sourcetype and sourcetype not in SOURCE_TYPES:
        raise CommandLineError(
            f"{option}: repo_sourcetype must be one of {', '.join(SOURCE_TYPES)}"
        )
    keys = fields["signing_keys"]
    if keys and not (keys.startswith("{") and keys.endswith("}")):
        raise CommandLineError(f"{option}: signing keys must be written as {{key1;key2}}")
    for key in keys.strip("{}").split(";"):
        if key:
            refuse_unless(f"{option} signing key", sanity.SIGNING_KEY, key)
    return Repository(
        source=fields["source"],
        original_source=fields["source"],
        type=repo_type,
        alias=fields["alias"] or None,
        priority=int(priority) if priority else None,
        imageinclude=_flag(option, "imageinclude", fields["imageinclude"]) or False,
        package_gpgcheck=_flag(option, "package_gpgcheck", fields["package_gpgcheck"]),
        signing_keys=tuple(k for k in keys.strip("{}").split(";") if k),
        components=tuple(fields["components"].split()),
        distribution=fields["distribution"] or None,
        repository_gpgcheck=_flag(option, "repo_gpgcheck", fields["repo_gpgcheck"]),
        sourcetype=fields["repo_sourcetype"] or None,
    )


def with_credentials(option: str, repository: Repository, credentials: str | None) -> Repository:
    """Apply `user:password` or a file holding that, as kiwi-ng's --*-repo-credentials do."""
    if credentials is None:
        return repository
    path = Path(credentials)
    if ":" not in credentials:
        if not path.is_file():
            raise CommandLineError(
                f"{option}: expected user:password or a file containing that; "
                f"no file '{credentials}' found"
            )
        try:
            credentials = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise CommandLineError(f"{option}: cannot read {credentials}: {error}") from None
        if ":" not in credentials:
            raise CommandLineError(f"{option}: the file {path} does not hold user:password")
    user, password = credentials.split(":", 1)
    # they go into .repo, auth.conf and credentials files: one line each, never a new one
    if not user or not password or sanity.has_control(credentials) or re.search(r"\s", user):
        raise CommandLineError(
            f"{option}: expected user:password on one line (a user name without spaces)"
        )
    return replace(repository, username=user, password=password)


def parse_assignment(option: str, text: str) -> tuple[str, str]:
    name, separator, value = text.partition("=")
    if not separator or not name:
        raise CommandLineError(f"{option}: expected attribute=value, got '{text}'")
    return name, value
