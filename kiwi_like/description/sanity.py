"""Checks beyond the schema for values that end up in files, paths and command lines.

The schema accepts any text in many places kiwi accepts it; these values would
otherwise become an option to apt (`-o...` as a package name), a second line in
/etc/passwd or grub.cfg (a `&#10;` in an attribute), or a path that leaves the
image or the target directory (`../` in a version, alias or timezone).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from kiwi_like.description.xmlload import LoadedXml

# No control characters in attributes at all (XML turns literal newlines and tabs
# into spaces there, so these come only from character references); in text, tabs
# and line ends are fine.
_ATTRIBUTE_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ACCOUNT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?")
_GROUP = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?(:[0-9]{1,10})?")
_VERSION = re.compile(r"[0-9][0-9A-Za-z.+~_-]*")
_PERMISSIONS = re.compile(r"[0-7]{3,4}")
# chmod's symbolic modes (kiwi hands <file permissions> to chmod): u+x, go-w, a=rX,u+s
_SYMBOLIC_PERMISSIONS = re.compile(
    r"[ugoa]*([-+=]([rwxXst]*|[ugo]))+(,[ugoa]*([-+=]([rwxXst]*|[ugo]))+)*"
)
MAX_ID = 4294967294  # (uid_t)-1 means "no id"
MAX_SIZE_MB = 1024**3  # 1 PiB: anything larger is a typo


def _check_all_values(loaded: LoadedXml) -> None:
    for element in loaded.root.iter():
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions
        for name, value in element.attrib.items():
            if _ATTRIBUTE_CONTROL.search(value):
                raise loaded.error(
                    element, f"element <{element.tag}>: attribute {name} holds a control character"
                )
        if element.text and _TEXT_CONTROL.search(element.text):
            raise loaded.error(element, f"element <{element.tag}>: text holds a control character")


def _no_path(value: str) -> bool:
    return "/" not in value and value not in (".", "..")


def _relative_without_dotdot(value: str) -> bool:
    return not value.startswith("/") and ".." not in value.split("/")


# (element, attribute or None for the text, test, what the value must be)
Rule = tuple[str, str | None, Callable[[str], bool], str]
RULES: tuple[Rule, ...] = (
    ("image", "name", _no_path, "a name without '/'"),
    ("version", None, lambda v: bool(_VERSION.fullmatch(v.strip())), "a version like 1.2.3"),
    ("package", "name", lambda v: not v.startswith("-") and not re.search(r"\s", v),
     "a package name (no leading '-', no spaces)"),
    ("namedCollection", "name", lambda v: not v.startswith("-") and not re.search(r"\s", v),
     "a collection name (no leading '-', no spaces)"),
    ("user", "name", lambda v: bool(_ACCOUNT.fullmatch(v)), "a user name (letters, digits, _ . -)"),
    ("user", "groups", lambda v: all(_GROUP.fullmatch(g.strip()) for g in v.split(",")),
     "group names (letters, digits, _ . -), each with an optional ':gid'"),
    ("user", "home", lambda v: v.startswith("/"), "an absolute path"),
    ("user", "shell", lambda v: v.startswith("/"), "an absolute path"),
    ("user", "id", lambda v: not v.isdigit() or int(v) <= MAX_ID, f"at most {MAX_ID}"),
    ("users", "group", lambda v: bool(_ACCOUNT.fullmatch(v)), "a group name"),
    ("file", "permissions",
     lambda v: bool(_PERMISSIONS.fullmatch(v) or _SYMBOLIC_PERMISSIONS.fullmatch(v)),
     "a mode like 0644 or u+x"),
    ("repository", "alias", _no_path, "an alias without '/'"),
    ("source", "path", lambda v: not re.search(r"\s", v), "a URI without spaces"),
    ("signing", "key", lambda v: not v.startswith("this://") or _relative_without_dotdot(v[7:]),
     "a this:// path inside the description directory"),
    ("timezone", None, lambda v: _relative_without_dotdot(v.strip()), "a zone like Europe/Berlin"),
    ("size", None, lambda v: not v.strip().isdigit() or int(v) <= MAX_SIZE_MB, "a sane size"),
)  # fmt: skip


def check(loaded: LoadedXml) -> None:
    """Refuse the first value that breaks a rule, naming its file and line."""
    _check_all_values(loaded)
    for tag, attribute, test, wanted in RULES:
        for element in loaded.root.iter(tag):
            value = element.text or "" if attribute is None else element.get(attribute)
            if value is None or test(value):
                continue
            where = f"attribute {attribute}" if attribute else "value"
            shown = value if len(value) <= 60 else value[:57] + "..."
            raise loaded.error(element, f"element <{tag}>: {where} '{shown}' must be {wanted}")
