"""What a package name may look like, wherever it comes from (description, command line).

kiwi hands `<package name>` to the package manager as it is, so a name may be what apt,
zypper or dnf take on their command line: a Debian or rpm package name, with an
architecture (`pkg:amd64`, `pkg.x86_64`), a release (`pkg/bookworm-backports`), a version
(`pkg=1.2-1`, `pkg>=1.2`), an rpm capability (`perl(Foo::Bar)`, `libc.so.6()(64bit)`,
`pattern:base`), a file (`/usr/bin/vim`), a dnf group or module (`@core`) or a glob
(`kernel-*`). Characters no package manager reads in a name (`&`, `;`, `<![CDATA[`,
quotes, `$`, white space, non-ASCII) mean a typo or an attack, and are refused.
"""

from __future__ import annotations

import re

MAX_LENGTH = 512
_NAME = r"[A-Za-z0-9_*?](?:[A-Za-z0-9_.+~^*?-]*[A-Za-z0-9_.+~^*?])?"
_ARGUMENTS = r"(?:\([A-Za-z0-9_.+:/=~*-]*\))*"  # perl(Foo::Bar), font(:lang=en)
_QUALIFIER = r"(?::[A-Za-z0-9_.+-]+)*"  # pkg:amd64, pattern:base
_RELEASE = r"(?:/[A-Za-z0-9_.+-]+)?"  # apt: pkg/bookworm-backports
_VERSION = r"(?:(?:==?|>=?|<=?|!=)[A-Za-z0-9_.+~:*^-]+)?"  # pkg=1:2.3-1, pkg>=2
_FILE = r"/[A-Za-z0-9_.+~@:/-]+"  # an rpm file provide: /usr/bin/vim
_GROUP = r"@[A-Za-z0-9_.+:/-]+"  # dnf: @core, @nodejs:18/common
_PACKAGE = re.compile(
    rf"{_NAME}{_ARGUMENTS}{_QUALIFIER}{_ARGUMENTS}{_RELEASE}{_VERSION}|{_FILE}|{_GROUP}"
)
WANTED = (
    "a package name apt, zypper or dnf can take (letters, digits, _ . + ~ -, with :arch, "
    "/release or =version; no spaces, quotes, '&', ';' or '<')"
)


def is_package_name(value: str) -> bool:
    """True for a name a package manager can take (see the module's docstring)."""
    if not value or len(value) > MAX_LENGTH or not value.isascii():
        return False
    if value.count("(") != value.count(")"):
        return False
    return bool(_PACKAGE.fullmatch(value))
