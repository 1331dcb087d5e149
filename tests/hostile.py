"""Hostile and broken inputs for tests/test_hostile.py: each case writes a description.

A case is a function that gets an empty description directory (and the canary
directory on the host that nothing may touch) and writes config.xml and
whatever else it needs; `stage` says which command runs it.
"""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.descriptions import Image, Repository, description_xml, write_description, write_files

Writer = Callable[[Path, Path], None]


@dataclass(frozen=True)
class Case:
    name: str
    stage: str  # "info" (image info), "prepare" (system prepare), "contained" (prepare succeeds)
    write: Writer
    expected: str  # a substring of the one error line ("" for contained cases)


def xml(
    *,
    doctype: str = "",
    name: str = "hostile",
    spec: str = "hostile input",
    preferences: str = "",
    type: str = '<type image="docker"/>',
    users: str = "",
    repo_attrs: Mapping[str, str] | None = None,
    source: str = "dir://{repo}",
    key: str = "{key}",
    packages: str = '<package name="test-app"/>',
) -> str:
    """A sound description with hostile text in one place: each field is raw XML (or an
    attribute's raw value) where its name says. tests/test_hostile.py fills in {repo} and
    {key}, the case's writer {canary}."""
    return description_xml(
        Image(
            name=name,
            specification=spec,
            prolog=doctype,
            types=[preferences, type] if preferences else [type],
            extra=users,
            repositories=[Repository(source, alias="local", key=key, attributes=repo_attrs or {})],
            packages={"bootstrap": ["test-busybox"], "image": [packages]},
        )
    )


def config(**fields: Any) -> Writer:
    def write(directory: Path, canary: Path) -> None:
        write_description(directory, xml(**fields).replace("{canary}", str(canary)))

    return write


def raw(content: bytes) -> Writer:
    def write(directory: Path, canary: Path) -> None:
        (directory / "config.xml").write_bytes(content)

    return write


def with_files(base: Writer, **files: bytes | str) -> Writer:
    """Files beside config.xml ("__" in a name stands for "/")."""

    def write(directory: Path, canary: Path) -> None:
        base(directory, canary)
        write_files(directory, {n.replace("__", "/"): _fill(c, canary) for n, c in files.items()})

    return write


def _fill(content: bytes | str, canary: Path) -> bytes | str:
    return content if isinstance(content, bytes) else content.replace("{canary}", str(canary))


def archive(*members: tuple[str, str, str]) -> bytes:
    """A tar.gz of (name, kind, data-or-link-target) members."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, kind, data in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data.encode()))
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, data
                tar.addfile(info)
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, data
                tar.addfile(info)
            elif kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
    return buffer.getvalue()


def with_archive(
    content: bytes | tuple[tuple[str, str, str], ...], name: str = "evil.tar.gz"
) -> Writer:
    """An <archive> of the given members (CANARY stands for the canary path) or raw bytes."""

    def write(directory: Path, canary: Path) -> None:
        config(packages=f'<package name="test-app"/><archive name="{name}"/>')(directory, canary)
        if isinstance(content, bytes):
            data = content
        else:
            data = archive(*((n.replace("CANARY", str(canary)), k, t.replace("CANARY", str(canary)))
                             for n, k, t in content))  # fmt: skip
        (directory / name).write_bytes(data)

    return write


def two_archives(directory: Path, canary: Path) -> None:
    """The first archive leaves a symlink to the host canary in the image; the second writes
    through it, which must land in the image's own copy of that path."""
    names = '<archive name="first.tar.gz"/><archive name="second.tar.gz"/>'
    config(packages=f'<package name="test-app"/>{names}')(directory, canary)
    (directory / "first.tar.gz").write_bytes(archive(("opt/escape", "symlink", str(canary))))
    (directory / "second.tar.gz").write_bytes(archive(("opt/escape/canary.txt", "file", "pwned")))


def symlinked(name: str, target: str, base: Writer, is_dir: bool = False) -> Writer:
    def write(directory: Path, canary: Path) -> None:
        base(directory, canary)
        link = directory / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target.replace("{canary}", str(canary)), target_is_directory=is_dir)

    return write


def special(kind: str) -> Writer:
    def write(directory: Path, canary: Path) -> None:
        path = directory / "config.xml"
        if kind == "fifo":
            os.mkfifo(path)
        else:
            path.mkdir()

    return write


LAUGHS = "".join(f'<!ENTITY l{n} "{("&l" + str(n - 1) + ";") * 10}">' for n in range(1, 10))


CASES = [
    # ---- XML attacks ----------------------------------------------------------------
    Case(
        "billion-laughs",
        "info",
        config(doctype=f'<!DOCTYPE image [<!ENTITY l0 "lol">{LAUGHS}]>\n', spec="&l9;"),
        "not allowed",
    ),
    Case(
        "quadratic-blowup",
        "info",
        config(doctype=f'<!DOCTYPE image [<!ENTITY a "{"x" * 50000}">]>\n', spec="&a;" * 2000),
        "not allowed",
    ),
    Case(
        "external-entity-file",
        "info",
        config(doctype='<!DOCTYPE image [<!ENTITY x SYSTEM "file:///etc/shadow">]>\n', spec="&x;"),
        "not allowed",
    ),
    Case(
        "external-entity-http",
        "info",
        config(
            doctype='<!DOCTYPE image [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>\n', spec="&x;"
        ),
        "not allowed",
    ),
    Case(
        "external-dtd",
        "info",
        config(doctype='<!DOCTYPE image SYSTEM "http://127.0.0.1:9/kiwi.dtd">\n'),
        "not allowed",
    ),
    Case(
        "parameter-entity",
        "info",
        config(doctype='<!DOCTYPE image [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>\n'),
        "not allowed",
    ),
    Case(
        "doctype-lowercase-trick",
        "info",
        config(doctype='<!doctype image [<!ENTITY x "y">]>\n', spec="&x;"),
        "not allowed",
    ),
    Case(
        "xinclude",
        "info",
        config(
            spec='<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="/etc/passwd" parse="text"/>'
        ),
        "can't have child elements",
    ),
    Case("deep-nesting", "info", config(spec="<a>" * 5000 + "</a>" * 5000), "Excessive depth"),
    Case(
        "huge-file",
        "info",
        raw(b"<?xml version='1.0'?><image>" + b" " * (17 * 1024 * 1024) + b"</image>"),
        "larger than",
    ),
    Case(
        "nul-byte",
        "info",
        raw(xml().encode().replace(b"hostile input", b"host\x00ile")),
        "malformed XML",
    ),
    Case(
        "invalid-utf8",
        "info",
        raw(xml().encode().replace(b"hostile input", b"host\xff\xfeile")),
        "malformed XML",
    ),
    Case(
        "wrong-encoding-declaration",
        "info",
        raw(xml().replace("utf-8", "utf-16").encode()),
        "malformed XML",
    ),
    Case("char-reference-nul", "info", config(spec="&#0;"), "malformed XML"),
    Case("char-reference-out-of-range", "info", config(spec="&#x110000;"), "malformed XML"),
    Case(
        "unclosed-comment",
        "info",
        raw(xml().encode().replace(b"<preferences>", b"<!-- <preferences>")),
        "Comment not terminated",
    ),
    Case(
        "cdata-in-element-list",
        "info",
        config(preferences="<![CDATA[<packagemanager>zypper</packagemanager>]]>"),
        "character data",
    ),
    Case("huge-element-name", "info", config(preferences=f"<{'x' * 200000}/>"), "Name too long"),
    Case(
        "huge-attribute-name",
        "info",
        config(type=f'<type image="docker" {"a" * 200000}="1"/>'),
        "Name too long",
    ),
    Case(
        "foreign-namespace-root",
        "info",
        raw(
            xml()
            .replace("<image schemaversion", '<image xmlns="http://evil.example/" schemaversion')
            .encode()
        ),
        "root element must be <image>",
    ),
    Case("empty-file", "info", raw(b""), "file is empty"),
    Case("only-whitespace", "info", raw(b"   \n\n  "), "file is empty"),
    Case("binary-garbage", "info", raw(os.urandom(4096)), "malformed XML"),
    Case("config-is-a-fifo", "info", special("fifo"), "no description file found"),
    Case("config-is-a-directory", "info", special("dir"), "no description file found"),
    Case(
        "config-symlink-outside",
        "info",
        symlinked("config.xml", "/etc/passwd", lambda d, c: None),
        "malformed XML",
    ),
    Case(
        "include-host-file",
        "info",
        config(users='<include from="/etc/passwd"/>'),
        "only this:// paths",
    ),
    Case(
        "include-self", "info", config(users='<include from="this://config.xml"/>'), "include loop"
    ),
    Case(
        "include-through-symlink",
        "info",
        symlinked("inc.xml", "/etc/passwd", config(users='<include from="this://inc.xml"/>')),
        "points outside the description directory",
    ),
    # ---- values that would corrupt files or command lines ---------------------------
    Case(
        "package-name-is-an-option",
        "info",
        config(packages='<package name="--allow-unauthenticated"/>'),
        "must be a package name",
    ),
    Case(
        "package-name-with-space",
        "info",
        config(packages='<package name="vim emacs"/>'),
        "must be a package name",
    ),
    Case(
        "package-name-newline",
        "info",
        config(packages='<package name="vim&#10;emacs"/>'),
        "control character",
    ),
    Case(
        "bootstrap-package-option",
        "info",
        config(
            packages='<package name="test-app"/></packages><packages type="bootstrap"><package name="-oDebug::pkgProblemResolver=1"/>'
        ),
        "must be a package name",
    ),
    Case(
        "user-name-with-colon",
        "info",
        config(
            users='<users><user name="evil:x:0:0::/root:/bin/sh" home="/root" password="x"/></users>'
        ),
        "must be a user name",
    ),
    Case(
        "user-name-with-newline",
        "info",
        config(users='<users><user name="evil&#10;root" home="/root" password="x"/></users>'),
        "control character",
    ),
    Case(
        "user-name-with-slash",
        "info",
        config(users='<users><user name="../evil" home="/home/evil" password="x"/></users>'),
        "must be a user name",
    ),
    Case(
        "user-home-relative",
        "info",
        config(users='<users><user name="evil" home="home/evil" password="x"/></users>'),
        "must be an absolute path",
    ),
    Case(
        "user-shell-newline",
        "info",
        config(
            users='<users><user name="evil" home="/home/evil" shell="/bin/sh&#10;root::0:0::/:/bin/sh" password="x"/></users>'
        ),
        "control character",
    ),
    Case(
        "user-id-huge",
        "info",
        config(
            users='<users><user name="evil" home="/home/evil" id="99999999999" password="x"/></users>'
        ),
        "at most 4294967294",
    ),
    Case(
        "user-id-negative",
        "info",
        config(users='<users><user name="evil" home="/home/evil" id="-1" password="x"/></users>'),
        "non negative",
    ),
    Case(
        "group-name-with-colon",
        "info",
        config(
            users='<users><user name="evil" home="/home/evil" groups="a:b" password="x"/></users>'
        ),
        "must be group names",
    ),
    Case(
        "kernelcmdline-newline",
        "info",
        config(type='<type image="oem" kernelcmdline="quiet&#10;menuentry evil {{ linux /x }}"/>'),
        "kernelcmdline holds a control character",
    ),
    Case("volid-newline", "info", config(type='<type image="iso" volid="A&#10;B"/>'), "volid"),
    Case(
        "repository-uri-newline",
        "info",
        config(source="http://deb.example/debian&#10;Trusted: yes"),
        "control character",
    ),
    Case(
        "repository-uri-spaces",
        "info",
        config(source="http://deb.example/de bian"),
        "without spaces",
    ),
    Case("repository-uri-no-host", "info", config(source="http:///debian"), "no host name"),
    Case(
        "repository-uri-unknown-scheme",
        "info",
        config(source="gopher://deb.example/"),
        "unsupported URI scheme",
    ),
    Case(
        "repository-uri-relative-file",
        "info",
        config(source="file://relative/path"),
        "absolute path",
    ),
    Case(
        "repository-alias-traversal",
        "info",
        raw(xml().replace('alias="local"', 'alias="../../../../tmp/evil"').encode()),
        "must be an alias",
    ),
    Case("repository-priority-text", "info", config(repo_attrs={"priority": "high"}), "priority"),
    Case(
        "repository-bad-boolean",
        "info",
        config(repo_attrs={"imageinclude": "yes-please"}),
        "not a boolean",
    ),
    # ---- sizes and numbers ------------------------------------------------------------
    Case(
        "size-unit-terabyte",
        "info",
        config(type='<type image="oem"><size unit="T">2</size></type>'),
        "unit='T'",
    ),
    Case(
        "size-negative",
        "info",
        config(type='<type image="oem"><size unit="M">-1</size></type>'),
        "non negative",
    ),
    Case(
        "size-text",
        "info",
        config(type='<type image="oem"><size unit="M">big</size></type>'),
        "'big'",
    ),
    Case(
        "size-enormous",
        "info",
        config(type='<type image="oem"><size unit="G">99999999999999999999</size></type>'),
        "must be a sane size",
    ),
    Case(
        "bootloader-timeout-text",
        "info",
        config(type='<type image="oem"><bootloader name="grub2" timeout="soon"/></type>'),
        "timeout='soon'",
    ),
    Case("unknown-image-type", "info", config(type='<type image="floppy"/>'), "image='floppy'"),
    Case(
        "version-text",
        "info",
        raw(xml().replace("<version>1.0.0</version>", "<version>one</version>").encode()),
        "must be a version",
    ),
    Case(
        "image-name-traversal",
        "info",
        raw(xml().replace('name="hostile"', 'name="../../../tmp/evil"').encode()),
        "name='../../../tmp/evil'",
    ),
    Case(
        "version-traversal",
        "info",
        raw(
            xml()
            .replace("<version>1.0.0</version>", "<version>1/../../../../tmp/x</version>")
            .encode()
        ),
        "must be a version",
    ),
    Case(
        "repository-source-tab",
        "info",
        config(source="http://deb.example/debian&#9;x"),
        "control character",
    ),
    # ---- files of the description ------------------------------------------------------
    Case(
        "file-name-absolute",
        "prepare",
        config(packages='<package name="test-app"/><file name="/etc/shadow"/>'),
        "'/etc/shadow' points outside",
    ),
    Case(
        "file-name-traversal",
        "prepare",
        config(packages='<package name="test-app"/><file name="../../../etc/shadow"/>'),
        "points outside",
    ),
    Case(
        "file-symlink-to-host",
        "prepare",
        symlinked(
            "evil.txt",
            "/etc/shadow",
            config(packages='<package name="test-app"/><file name="evil.txt"/>'),
        ),
        "'evil.txt' points outside",
    ),
    Case(
        "archive-name-traversal",
        "prepare",
        config(packages='<package name="test-app"/><archive name="../../evil.tar.gz"/>'),
        "points outside",
    ),
    Case(
        "archive-name-absolute",
        "prepare",
        config(packages='<package name="test-app"/><archive name="/etc/evil.tar.gz"/>'),
        "points outside",
    ),
    Case(
        "archive-symlink-to-host",
        "prepare",
        symlinked(
            "evil.tar.gz",
            "/etc/passwd",
            config(packages='<package name="test-app"/><archive name="evil.tar.gz"/>'),
        ),
        "'evil.tar.gz' points outside",
    ),
    Case(
        "archive-missing",
        "prepare",
        config(packages='<package name="test-app"/><archive name="missing.tar.gz"/>'),
        "not found",
    ),
    Case(
        "archive-dotdot-member",
        "prepare",
        with_archive((("../../../../CANARY/escaped", "file", "x"),)),
        "points outside the image",
    ),
    Case(
        "archive-absolute-member",
        "prepare",
        with_archive((("CANARY/escaped", "file", "x"),)),
        "points outside the image",
    ),
    Case(
        "archive-symlink-then-write",
        "prepare",
        with_archive((("link", "symlink", "CANARY"), ("link/escaped", "file", "x"))),
        "written through a symlink",
    ),
    Case(
        "archive-hardlink-to-host",
        "prepare",
        with_archive((("passwd", "hardlink", "/etc/passwd"),)),
        "points outside the image",
    ),
    Case(
        "archive-hardlink-dotdot",
        "prepare",
        with_archive((("passwd", "hardlink", "../../../../etc/passwd"),)),
        "points outside the image",
    ),
    Case(
        "archive-not-a-tar",
        "prepare",
        with_archive(b"this is not a tar archive at all" * 50),
        "not a tar archive",
    ),
    Case(
        "archive-truncated",
        "prepare",
        with_archive(archive(("a", "file", os.urandom(50000).hex()))[:2000]),
        "damaged",
    ),
    Case(
        "overlay-root-symlink-to-host",
        "prepare",
        symlinked("root", "/etc", config(), is_dir=True),
        "'root' points outside",
    ),
    Case(
        "overlay-archive-symlink-to-host",
        "prepare",
        symlinked("root.tar.gz", "/etc/passwd", config()),
        "'root.tar.gz' points outside",
    ),
    Case(
        "config-sh-symlink-to-host",
        "prepare",
        symlinked("config.sh", "/etc/passwd", config()),
        "'config.sh' points outside",
    ),
    Case(
        "config-sh-fails",
        "prepare",
        with_files(
            config(), **{"config.sh": "#!/bin/sh\necho first\necho 'it went wrong' >&2\nexit 7\n"}
        ),
        "config.sh failed with exit code 7",
    ),
    Case(
        "config-sh-killed",
        "prepare",
        with_files(config(), **{"config.sh": "#!/bin/sh\nsh -c 'kill -9 $$'\n"}),
        "config.sh failed with exit code 137",
    ),
    Case(
        "images-sh-fails",
        "build",
        with_files(config(), **{"images.sh": "#!/bin/sh\nexit 3\n"}),
        "images.sh",
    ),
    Case(
        "file-target-symlink-loop",
        "prepare",
        symlinked(
            "root/etc/loop",
            "loop",
            with_files(
                config(
                    packages='<package name="test-app"/><file name="f.txt" target="/etc/loop/f.txt"/>'
                ),
                **{"f.txt": "x"},
            ),
        ),
        "too many symlinks",
    ),
    Case(
        "file-owner-unknown",
        "prepare",
        with_files(
            config(
                packages='<package name="test-app"/><file name="f.txt" target="/etc/f.txt" owner="nobody-here"/>'
            ),
            **{"f.txt": "x"},
        ),
        "not known",
    ),
    Case(
        "file-permissions-text",
        "info",
        with_files(
            config(packages='<package name="test-app"/><file name="f.txt" permissions="rwx"/>'),
            **{"f.txt": "x"},
        ),
        "",
    ),
    # ---- packages and repositories ------------------------------------------------------
    Case(
        "package-missing",
        "prepare",
        config(packages='<package name="no-such-package"/>'),
        "no-such-package",
    ),
    Case(
        "repository-dir-missing",
        "prepare",
        config(source="dir:///nonexistent/repo"),
        "does not exist",
    ),
    Case(
        "repository-unreachable",
        "prepare",
        config(source="http://127.0.0.1:9/debian"),
        "unreachable",
    ),
    Case(
        "repository-wrong-type",
        "prepare",
        raw(xml().replace('type="apt-deb"', 'type="rpm-md"').encode()),
        "cannot be used with the apt package manager",
    ),
    Case("signing-key-missing", "prepare", config(key="/nonexistent/key.gpg"), "not found"),
    Case(
        "signing-key-traversal",
        "prepare",
        raw(xml().replace("file://{key}", "this://../../../etc/shadow").encode()),
        "attribute key",
    ),
    Case(
        "timezone-traversal",
        "prepare",
        config(preferences="<timezone>../../../../etc/shadow</timezone>"),
        "must be a zone",
    ),
    Case(
        "timezone-unknown",
        "prepare",
        config(preferences="<timezone>Mars/Olympus</timezone>"),
        "timezone Mars/Olympus is not in the image",
    ),
    Case(
        "locale-with-newline",
        "info",
        config(preferences="<locale>en_US&#10;LC_ALL=evil</locale>"),
        "<locale>",
    ),
    Case(
        "derived-from-missing",
        "prepare",
        config(type='<type image="docker" derived_from="oci-archive:missing.tar"/>'),
        "does not exist",
    ),
    Case(
        "derived-from-not-an-image",
        "prepare",
        with_files(
            config(type='<type image="docker" derived_from="junk.tar"/>'),
            **{"junk.tar": "junk" * 100},
        ),
        "not an image archive",
    ),
    # ---- contained: builds, and the host canary stays as it was ------------------------
    Case(
        "config-sh-writes-host-path",
        "contained",
        with_files(
            config(),
            **{"config.sh": "#!/bin/sh\nmkdir -p {canary}\necho pwned > {canary}/canary.txt\n"},
        ),
        "",
    ),
    Case(
        "file-target-through-absolute-symlink",
        "contained",
        symlinked(
            "root/etc/escape",
            "{canary}",
            with_files(
                config(
                    packages='<package name="test-app"/><file name="f.txt" target="/etc/escape/canary.txt"/>'
                ),
                **{"f.txt": "pwned"},
            ),
            is_dir=True,
        ),
        "",
    ),
    Case("archive-member-through-image-symlink", "contained", two_archives, ""),
]
