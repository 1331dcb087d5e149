"""Repository aliases every package manager reads.

The alias names the repository's file (`<alias>.repo`, `<alias>.sources`, its keyring,
its directory in the root) and its section. zypper, dnf and apt skip hidden files, so
an alias starting with `.` would make the repository vanish without a word (and the
user would see "package not found"); dnf refuses ids outside letters, digits and
`-_.:`; a second repository of the same alias would replace the first's file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kiwi_like.description.model import Repository
from kiwi_like.log import log

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_LEADING = re.compile(r"^[.-]+")  # hidden file; read as an option
MAX_LENGTH = 100  # with .repo/.sources/.gpg well within a 255-byte file name


def safe_aliases(repositories: Sequence[Repository]) -> list[str]:
    """One alias per repository, in order: only letters, digits, `_`, `.` and `-`, not
    starting with `.` or `-`, at most MAX_LENGTH characters, each different."""
    aliases: list[str] = []
    for number, repository in enumerate(repositories, start=1):
        given = repository.alias or f"repo-{number}"
        alias = _LEADING.sub(lambda m: "_" * len(m.group()), _UNSAFE.sub("_", given))
        alias = alias[:MAX_LENGTH]
        unique, count = alias, 1
        while unique in aliases:
            count += 1
            unique = f"{alias[: MAX_LENGTH - 4]}-{count}"
        if unique != given:
            log.info("repository alias %r is used as %r (a name every manager reads)", given,
                     unique)  # fmt: skip
        aliases.append(unique)
    return aliases
