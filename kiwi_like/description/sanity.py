"""Checks beyond the schema for values that end up in files, paths and command lines.

The schema accepts any text in many places kiwi accepts it; these values would
otherwise become an option to apt (`-o...` as a package name), a second line in
/etc/passwd or grub.cfg (a `&#10;` in an attribute), or a path that leaves the
image or the target directory (`../` in a version, alias or timezone).

Each rule is a `ValueRule`, used for the description (`check`) and for the same
value given on the command line or in the runtime configuration (`refuse_unless`):
a value passes the same rule wherever it came from.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from kiwi_like.description import names
from kiwi_like.description.xmlload import LoadedXml, text_of
from kiwi_like.errors import CommandLineError

# No control characters in attributes at all (XML turns literal newlines and tabs
# into spaces there, so these come only from character references); in text, tabs
# and line ends are fine.
_ATTRIBUTE_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ACCOUNT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?")
_GROUP = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?(:[0-9]{1,10})?")
_VERSION = re.compile(r"[0-9][0-9A-Za-z.+~_-]*")
# dnf's and zypper's --releasever: 15.6, 39, rawhide, 10-stream
_RELEASE_VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+~_-]*")
_PERMISSIONS = re.compile(r"[0-7]{3,4}")
# chmod's symbolic modes (kiwi hands <file permissions> to chmod): u+x, go-w, a=rX,u+s
_SYMBOLIC_PERMISSIONS = re.compile(
    r"[ugoa]*([-+=]([rwxXst]*|[ugo]))+(,[ugoa]*([-+=]([rwxXst]*|[ugo]))+)*"
)
_INTEGER = re.compile(r"-?[0-9]{1,10}")  # ASCII digits: str.isdigit() also takes '²'
_ENVIRONMENT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# The schema's arch-name list (kiwi's), plus the Debian and i386 spellings users write.
ARCHITECTURES = (
    "x86_64", "i586", "i686", "ix86", "aarch64", "arm64", "amd64", "armv5el", "armv5tel",
    "armv6hl", "armv6l", "armv7hl", "armv7l", "ppc", "ppc64", "ppc64le", "s390", "s390x",
    "riscv64", "i386",
)  # fmt: skip
MAX_ID = 4294967294  # (uid_t)-1 means "no id"
MAX_SIZE_MB = 1024**3  # 1 PiB: anything larger is a typo
MAX_PRIORITY = 2**31 - 1  # every package manager reads it as a 32-bit int


@dataclass(frozen=True)
class ValueRule:
    test: Callable[[str], bool]
    wanted: str  # what the value must be, for the error message


def _no_path(value: str) -> bool:
    return "/" not in value and value not in (".", "..")


def _relative_without_dotdot(value: str) -> bool:
    return not value.startswith("/") and ".." not in value.split("/")


def _package_name(value: str) -> bool:
    return names.is_package_name(value)  # apt's, zypper's and dnf's names: names.py


def _priority(value: str) -> bool:
    value = value.strip()
    return bool(_INTEGER.fullmatch(value)) and abs(int(value)) <= MAX_PRIORITY


IMAGE_NAME = ValueRule(_no_path, "a name without '/'")
VERSION = ValueRule(lambda v: bool(_VERSION.fullmatch(v.strip())), "a version like 1.2.3")
RELEASE_VERSION = ValueRule(
    lambda v: bool(_RELEASE_VERSION.fullmatch(v.strip())), "a release version like 15.6 or 39"
)
PACKAGE = ValueRule(_package_name, names.WANTED)
COLLECTION = ValueRule(_package_name, "a collection name (not empty, no leading '-', no spaces)")
ALIAS = ValueRule(_no_path, "an alias without '/'")


def _uri(value: str) -> bool:
    if value == "" or re.search(r"\s", value):
        return False
    try:
        parts = urlsplit(value)
        # a host with a port only where there is one: obs://Project:Sub/repo has none
        if parts.scheme in NETWORK_SCHEMES:
            parts.port  # noqa: B018 (raises for an unclosed IPv6 [ or a bad port)
        return True
    except ValueError:
        return False


NETWORK_SCHEMES = ("http", "https", "ftp")


URI = ValueRule(_uri, "a well-formed URI without spaces")
# an XML attribute name (--set-type-attr): what lxml and the schema can take
ATTRIBUTE_NAME = ValueRule(
    lambda v: bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", v)), "an attribute name"
)
PRIORITY = ValueRule(_priority, f"a whole number between -{MAX_PRIORITY} and {MAX_PRIORITY}")
SIGNING_KEY = ValueRule(
    lambda v: (
        (not v.startswith("this://") or _relative_without_dotdot(v[7:]))
        and (not re.match(r"(https?|ftp)://", v) or _uri(v))
    ),  # zypper/dnf split gpgkey= at spaces
    "a this:// path inside the description directory or a URL without spaces",
)
# apt's suite and components: one word each (a space would start the next field)
WORD = ValueRule(lambda v: v != "" and not re.search(r"\s", v), "one word without spaces")
ARCHITECTURE = ValueRule(lambda v: v in ARCHITECTURES, f"one of {', '.join(ARCHITECTURES)}")
PROFILE = ValueRule(lambda v: v != "" and not re.search(r"[\s,]", v), "a profile name")
ENVIRONMENT_NAME = ValueRule(
    lambda v: bool(_ENVIRONMENT_NAME.fullmatch(v)), "a variable name (letters, digits, _)"
)
ANY_TEXT = ValueRule(lambda v: True, "text")


def _check_all_values(loaded: LoadedXml) -> None:
    for element in loaded.root.iter():
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions
        for name, value in element.attrib.items():
            if _ATTRIBUTE_CONTROL.search(value):
                raise loaded.error(
                    element, f"element <{element.tag}>: attribute {name} holds a control character"
                )
        text = text_of(element)
        if text and _TEXT_CONTROL.search(text):
            raise loaded.error(element, f"element <{element.tag}>: text holds a control character")


def _shown(value: str) -> str:
    return value if len(value) <= 60 else value[:57] + "..."


# (element, attribute or None for the text, the rule)
Rule = tuple[str, str | None, ValueRule]
RULES: tuple[Rule, ...] = (
    ("image", "name", IMAGE_NAME),
    ("version", None, VERSION),
    ("release-version", None, RELEASE_VERSION),
    ("package", "name", PACKAGE),
    ("ignore", "name", PACKAGE),
    ("product", "name", PACKAGE),
    ("namedCollection", "name", COLLECTION),
    ("user", "name", ValueRule(lambda v: bool(_ACCOUNT.fullmatch(v)),
                               "a user name (letters, digits, _ . -)")),
    ("user", "groups", ValueRule(
        lambda v: all(_GROUP.fullmatch(g.strip()) for g in v.split(",")),
        "group names (letters, digits, _ . -), each with an optional ':gid'")),
    ("user", "home", ValueRule(lambda v: v.startswith("/"), "an absolute path")),
    ("user", "shell", ValueRule(lambda v: v.startswith("/"), "an absolute path")),
    ("user", "id", ValueRule(lambda v: not v.isdigit() or int(v) <= MAX_ID, f"at most {MAX_ID}")),
    ("users", "group", ValueRule(lambda v: bool(_ACCOUNT.fullmatch(v)), "a group name")),
    ("file", "permissions", ValueRule(
        lambda v: bool(_PERMISSIONS.fullmatch(v) or _SYMBOLIC_PERMISSIONS.fullmatch(v)),
        "a mode like 0644 or u+x")),
    ("repository", "alias", ALIAS),
    ("repository", "priority", PRIORITY),
    ("repository", "distribution", WORD),
    ("source", "path", URI),
    ("signing", "key", SIGNING_KEY),
    ("timezone", None, ValueRule(lambda v: _relative_without_dotdot(v.strip()),
                                 "a zone like Europe/Berlin")),
    ("size", None, ValueRule(lambda v: not v.strip().isdigit() or int(v) <= MAX_SIZE_MB,
                             "a sane size")),
)  # fmt: skip


def check(loaded: LoadedXml) -> None:
    """Refuse the first value that breaks a rule, naming its file and line."""
    _check_all_values(loaded)
    for tag, attribute, rule in RULES:
        for element in loaded.root.iter(tag):
            value = text_of(element) or "" if attribute is None else element.get(attribute)
            if value is None or rule.test(value):
                continue
            where = f"attribute {attribute}" if attribute else "value"
            raise loaded.error(
                element, f"element <{tag}>: {where} '{_shown(value)}' must be {rule.wanted}"
            )


def has_control(value: str) -> bool:
    return bool(_ATTRIBUTE_CONTROL.search(value))


def refuse_unless(option: str, rule: ValueRule, value: str) -> str:
    """The same rule for a value from the command line or the runtime configuration:
    `value` back, or a one-line CommandLineError naming `option`."""
    if has_control(value):
        raise CommandLineError(f"{option}: {_shown(value)!r} holds a control character")
    if not rule.test(value):
        raise CommandLineError(f"{option}: '{_shown(value)}' must be {rule.wanted}")
    return value
