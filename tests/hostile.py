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
    # extra command-line options; {description}, {root}, {target}, {canary}, {repo}, {key}
    # and {tmp} (the case's own directory) are filled in
    args: tuple[str, ...] = ()


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


def aliased(alias: str) -> Writer:
    """A sound description whose repository has this alias."""

    def write(directory: Path, canary: Path) -> None:
        config()(directory, canary)
        path = directory / "config.xml"
        path.write_text(path.read_text().replace('alias="local"', f'alias="{alias}"'))

    return write


def beside(kind: str, name: str) -> Writer:
    """A sound description, and next to its directory a `kind` ("symlink", "hardlink" to
    config.xml, or "fifo") called `name`."""

    def write(directory: Path, canary: Path) -> None:
        config()(directory, canary)
        path = directory.parent / name
        if kind == "symlink":
            path.symlink_to(directory / "config.xml")
        elif kind == "hardlink":
            os.link(directory / "config.xml", path)
        else:
            os.mkfifo(path)

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
    Case(
        "deep-nesting",
        "info",
        config(spec="<a>" * 5000 + "</a>" * 5000),
        "nested more than 256 levels deep",
    ),
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
    Case(
        "huge-element-name",
        "info",
        config(preferences=f"<{'x' * 200000}/>"),
        "name is longer than 50000 characters",
    ),
    Case(
        "huge-attribute-name",
        "info",
        config(type=f'<type image="docker" {"a" * 200000}="1"/>'),
        "name is longer than 50000 characters",
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
    # ---- command-line overrides pass the description's rules (issue 18, class 3) --------
    *(
        Case(f"override-{name}", stage, config(), expected, args)
        for name, stage, args, expected in (
            (
                "add-repo-space-in-uri",
                "info",
                ("--add-repo=http://r.example/a b,apt-deb",),
                "URI without spaces",
            ),
            (
                "add-repo-newline-in-uri",
                "info",
                ("--add-repo=http://r.example/a\n[evil],rpm-md",),
                "control character",
            ),
            (
                "add-repo-tab-in-uri",
                "info",
                ("--add-repo=http://r.example/\ta,apt-deb",),
                "control character",
            ),
            (
                "add-repo-alias-traversal",
                "info",
                ("--add-repo=http://r.example/a,apt-deb,../../etc/evil",),
                "alias",
            ),
            (
                "add-repo-alias-dotdot",
                "info",
                ("--add-repo=http://r.example/a,apt-deb,..",),
                "alias",
            ),
            ("set-repo-alias-slash", "info", ("--set-repo=dir://{repo},apt-deb,a/b",), "alias"),
            (
                "add-repo-priority-huge",
                "info",
                ("--add-repo=http://r.example/a,rpm-md,a,100000000000000000000",),
                "priority",
            ),
            (
                "add-repo-priority-exponent",
                "info",
                ("--add-repo=http://r.example/a,rpm-md,a,1e20",),
                "priority",
            ),
            (
                "add-repo-priority-superscript",
                "info",
                ("--add-repo=http://r.example/a,rpm-md,a,\u00b2",),
                "priority",
            ),
            (
                "add-repo-distribution-newline",
                "info",
                ("--add-repo=http://r.example/a,apt-deb,a,,,,,,bookworm\nTypes: deb",),
                "control character",
            ),
            (
                "add-repo-distribution-space",
                "info",
                ("--add-repo=http://r.example/a,apt-deb,a,,,,,,book worm",),
                "one word",
            ),
            (
                "add-repo-components-newline",
                "info",
                ("--add-repo=http://r.example/a,apt-deb,a,,,,,main\nevil,bookworm",),
                "control character",
            ),
            (
                "add-repo-signing-key-escape",
                "info",
                ("--add-repo=http://r.example/a,apt-deb,a,,,,{this://../../etc/shadow}",),
                "this:// path",
            ),
            ("add-package-empty", "info", ("--add-package=",), "--add-package"),
            ("add-package-option", "info", ("--add-package=-oEvil=1",), "--add-package"),
            ("add-package-space", "info", ("--add-package=vim evil",), "--add-package"),
            ("add-package-newline", "info", ("--add-package=vim\nevil",), "--add-package"),
            (
                "add-bootstrap-package-option",
                "info",
                ("--add-bootstrap-package=--allow-unauthenticated",),
                "--add-bootstrap-package",
            ),
            ("delete-package-empty", "info", ("--delete-package=",), "--delete-package"),
            ("delete-package-option", "info", ("--delete-package=-y",), "--delete-package"),
            (
                "release-version-newline",
                "info",
                ("--set-release-version=1\n2",),
                "--set-release-version",
            ),
            (
                "release-version-space",
                "info",
                ("--set-release-version=15 6",),
                "--set-release-version",
            ),
            (
                "release-version-option",
                "info",
                ("--set-release-version=--nogpgcheck",),
                "--set-release-version",
            ),
            ("target-arch-unknown", "info", ("--target-arch=pdp11",), "--target-arch"),
            ("target-arch-empty", "info", ("--target-arch=",), "--target-arch"),
            ("target-arch-traversal", "info", ("--target-arch=../x86_64",), "--target-arch"),
            ("profile-empty", "info", ("--profile=",), "--profile"),
            ("profile-empty-part", "info", ("--profile=a,,b",), "--profile"),
            ("type-empty", "info", ("--type=",), "--type"),
            ("container-tag-space", "info", ("--set-container-tag=a b",), "--set-container-tag"),
            (
                "container-label-newline",
                "info",
                ("--add-container-label=a=b\nc",),
                "--add-container-label",
            ),
            ("setenv-bad-name", "info", ("--setenv=A B=1",), "--setenv"),
            (
                "set-repo-credentials-missing-file",
                "info",
                ("--set-repo=dir://{repo},apt-deb", "--set-repo-credentials={tmp}/no-such-file"),
                "no file",
            ),
            (
                "set-repo-credentials-without-set-repo",
                "info",
                ("--set-repo-credentials={tmp}/no-such-file",),
                "without --set-repo",
            ),
            (
                "add-repo-credentials-without-add-repo",
                "info",
                ("--add-repo-credentials=u:p",),
                "--add-repo-credentials",
            ),
            (
                "set-repo-credentials-newline",
                "info",
                ("--set-repo=http://r.example/a,apt-deb", "--set-repo-credentials=u:p\n[evil]"),
                "one line",
            ),
            (
                "set-repo-credentials-no-password",
                "info",
                ("--set-repo=http://r.example/a,apt-deb", "--set-repo-credentials=u:"),
                "one line",
            ),
            (
                "signing-key-missing",
                "prepare",
                ("--signing-key={tmp}/no-such-key.gpg",),
                "file not found",
            ),
            (
                "ca-cert-missing",
                "prepare",
                ("--ca-cert={tmp}/no-such-ca.pem", "--ca-target-distribution=debian"),
                "file not found",
            ),
            ("set-type-attr-bad-name", "info", ("--set-type-attr=a b=1",), "attribute name"),
            ("set-type-attr-digit-name", "info", ("--set-type-attr=1a=x",), "attribute name"),
            (
                "add-repo-unclosed-ipv6",
                "info",
                ("--add-repo=http://[::1/a,apt-deb",),
                "well-formed",
            ),
            (
                "add-repo-bad-port",
                "info",
                ("--add-repo=http://r.example:99999999/,apt-deb",),
                "well-formed",
            ),
            (
                "add-repo-space-in-uri-prepare",
                "prepare",
                ("--add-repo=dir://{repo} x,apt-deb",),
                "URI without spaces",
            ),
        )
    ),  # fmt: skip
    Case(
        "override-credentials-file-two-lines",
        "info",
        with_files(config(), creds="user:pass\n[evil]\nbaseurl=http://evil.example/\n"),
        "one line",
        ("--set-repo=http://r.example/a,rpm-md", "--set-repo-credentials={description}/creds"),
    ),
    Case("source-unclosed-ipv6", "info", config(source="http://[::1/debian"), "well-formed"),
    Case("source-bad-port", "info", config(source="http://r.example:70000/"), "well-formed"),
    Case(
        "release-version-in-xml-newline",
        "info",
        config(preferences="<release-version>1&#10;[x]</release-version>"),
        "release version",
    ),
    Case(
        "repository-priority-huge-in-xml",
        "info",
        config(repo_attrs={"priority": "99999999999"}),
        "priority",
    ),
    Case(
        "repository-distribution-space-in-xml",
        "info",
        config(repo_attrs={"distribution": "book worm"}),
        "one word",
    ),
    Case(
        "remote-signing-key-with-space",
        "info",
        config(
            source="http://r.example/repo", key='/x"/><signing key="https://k.example/a key.asc'
        ),
        "URL without spaces",
    ),
    Case(
        "apt-password-with-space",
        "prepare",
        config(repo_attrs={"username": "user", "password": "pass word"}),
        "white space",
    ),
    # ---- --logfile never lands on what the run reads or makes (issue 18, class 6) -------
    *(
        Case(f"logfile-{name}", stage, config(), expected, (f"--logfile={where}",))
        for name, stage, where, expected in (
            ("dev-full", "info", "/dev/full", "cannot be written (No space left on device)"),
            ("is-config-xml", "info", "{description}/config.xml", "inside the description"),
            ("in-description-subdir", "info", "{description}/logs/x.log", "inside the description"),
            ("description-dir-itself", "info", "{description}", "inside the description"),
            ("missing-directory", "info", "{tmp}/missing/x.log", "the log file's directory"),
            ("is-a-directory", "info", "{tmp}", "is a directory"),
            ("is-block-device", "info", "/dev/loop0", "block device"),
            ("is-dev-port", "info", "/dev/port", "a device or a new file in /dev"),
            ("is-dev-mem", "info", "/dev/mem", "a device or a new file in /dev"),
            ("new-file-in-dev", "info", "/dev/kiwi-like-test.log", "a new file in /dev"),
            ("is-runtime-config", "info", "{tmp}/runtime.yml", "the run reads that file"),
            ("in-image-root", "prepare", "{root}/var/log/x.log", "inside the image root"),
            ("is-image-root", "prepare", "{root}", "inside the image root"),
            ("in-build-directory", "build", "{target}/build/image-root.log", "build directory"),
            ("on-result-name", "build", "{target}/kiwi.result", "named *.log"),
            ("empty-name", "info", "", "the file name is empty"),
            ("proc-self-mem", "info", "/proc/self/mem", "kernel interface"),
            ("sys-file", "info", "/sys/kernel/notes", "kernel interface"),
            ("existing-non-log", "info", "{canary}/canary.txt", "not a log"),
            ("newline-in-name", "info", "{tmp}/a\nb.log", "control character"),
        )
    ),  # fmt: skip
    # ---- paths: no control characters; a cache mmdebstrap's hooks can use ---------------
    Case("temp-dir-newline", "prepare", config(), "control character", ("--temp-dir={tmp}/t\nmp",)),
    Case(
        "shared-cache-dir-space",
        "info",
        config(),
        "without white space",
        ("--shared-cache-dir={tmp}/ca che",),
    ),
    Case(
        "logfile-symlink-to-config",
        "info",
        beside("symlink", "link.log"),
        "inside the description",
        ("--logfile={tmp}/link.log",),
    ),  # fmt: skip
    Case(
        "logfile-hardlink-to-config",
        "info",
        beside("hardlink", "hard.log"),
        "hard link",
        ("--logfile={tmp}/hard.log",),
    ),  # fmt: skip
    Case(
        "logfile-fifo-without-reader",
        "info",
        beside("fifo", "fifo.log"),
        "a FIFO that nobody reads",
        ("--logfile={tmp}/fifo.log",),
    ),  # fmt: skip
    # ---- aliases every package manager reads (issue 18, class 4) ------------------------
    Case("alias-leading-dot", "contained", aliased(".local"), ""),
    Case("alias-leading-dash", "contained", aliased("-local"), ""),
    Case("alias-only-dots", "contained", aliased("..."), ""),
    Case("alias-non-ascii", "contained", aliased("d\u00e9p\u00f4t local"), ""),
    Case("alias-very-long", "contained", aliased("a" * 300), ""),
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


# ---- issue 18, classes 1, 2, 9 and 10: XML, values, messages, nonsense ---------------------
# "accepted" cases run `image info --print-kiwi-env` and must succeed, with `expected` in
# what they print (output or warnings).
HTTP_SOURCE = "http://deb.example/debian"
SYSTEM_ENTITY = '<!DOCTYPE image [<!ENTITY n SYSTEM "file:///etc/hostname">]>\n'
INTERNAL_ENTITY = '<!DOCTYPE image [<!ENTITY n "vim">]>\n'


def encoded(encoding: str, bom: bool = True, declared: str | None = None, **fields: Any) -> Writer:
    """The description in another encoding (with or without a byte order mark), its
    declaration naming `declared` (the encoding's own name by default)."""

    def write(directory: Path, canary: Path) -> None:
        text = xml(source=HTTP_SOURCE, **fields).replace("{canary}", str(canary))
        text = text.replace('encoding="utf-8"', f'encoding="{declared or encoding}"')
        data = text.encode(encoding)
        if bom:
            data = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}.get(encoding, b"") + data
        (directory / "config.xml").write_bytes(data)

    return write


def replaced(old: str, new: str, **fields: Any) -> Writer:
    """A sound description with one piece of its text replaced."""

    def write(directory: Path, canary: Path) -> None:
        text = xml(**fields)
        assert old in text, old
        write_description(directory, text.replace(old, new).replace("{canary}", str(canary)))

    return write


def with_directory(base: Writer, name: str, kind: str = "dir") -> Writer:
    def write(directory: Path, canary: Path) -> None:
        base(directory, canary)
        if kind == "fifo":
            os.mkfifo(directory / name)
        else:
            (directory / name).mkdir()

    return write


PREFERENCES_TWICE = (
    "</preferences><preferences><version>2.0.0</version>"
    "<packagemanager>apt</packagemanager><timezone>Europe/Berlin</timezone>"
)
LONG_NAME = "n" * 230  # with .x86_64-1.0.0.docker.tar.sha256: 261 bytes

XML_CASES = [
    # class 1: no DTD and no entity in any encoding libxml2 reads
    Case("utf16-system-entity", "info",
         encoded("utf-16", doctype=SYSTEM_ENTITY, packages='<package name="&n;"/>'),
         "not allowed"),
    Case("utf16-internal-entity-in-attribute", "info",
         encoded("utf-16", doctype=INTERNAL_ENTITY, packages='<package name="&n;"/>'),
         "not allowed"),
    Case("utf16le-no-bom-external-dtd", "info",
         encoded("utf-16-le", bom=False, doctype='<!DOCTYPE image SYSTEM "/etc/passwd">\n'),
         "not allowed"),
    Case("utf16be-parameter-entity", "info",
         encoded("utf-16-be", doctype='<!DOCTYPE image [<!ENTITY % p SYSTEM "/etc/passwd"> %p;]>\n'),
         "not allowed"),
    Case("utf32-public-dtd", "info",
         encoded("utf-32", doctype='<!DOCTYPE image PUBLIC "-//x//EN" "http://127.0.0.1:9/x.dtd">\n'),
         "not allowed"),
    Case("utf8-bom-entity", "info",
         encoded("utf-8-sig", declared="utf-8", doctype=INTERNAL_ENTITY, spec="&n;"),
         "not allowed"),
    Case("latin1-entity", "info",
         encoded("iso-8859-1", doctype=INTERNAL_ENTITY, spec="&n;"), "not allowed"),
    Case("utf16-billion-laughs", "info",
         encoded("utf-16", doctype=f'<!DOCTYPE image [<!ENTITY l0 "lol">{LAUGHS}]>\n', spec="&l9;"),
         "not allowed"),
    Case("doctype-after-comment-and-pi", "info",
         config(doctype='<!-- hi --><?kiwi x?>\n<!DOCTYPE image [<!ATTLIST image evil CDATA "1">]>\n'),
         "not allowed"),
    Case("utf16-laughs-after-comments", "info",
         encoded("utf-16", doctype=f'<!-- a --><!-- b -->\n<!DOCTYPE image [<!ENTITY l0 "lol">{LAUGHS}]>\n',
                 spec="&l9;"),
         "config.xml:3: a DOCTYPE with declarations"),
    Case("doctype-empty-internal-subset", "info", config(doctype="<!DOCTYPE image []>\n"),
         "not allowed"),
    Case("included-file-utf16-entity", "info",
         with_files(config(users='<include from="this://part.xml"/>'),
                    **{"part.xml": ('<?xml version="1.0" encoding="utf-16"?>\n' + INTERNAL_ENTITY
                       + '<image><users><user name="&n;" home="/root"/></users></image>'
                       ).encode("utf-16")}),
         "part.xml:2: a DOCTYPE with declarations"),
    Case("accept-bare-doctype", "accepted", config(doctype="<!DOCTYPE image>\n"), '"image": "hostile"'),
    Case("accept-bare-doctype-utf16", "accepted", encoded("utf-16", doctype="<!DOCTYPE image>\n"),
         '"kiwi_iversion": "1.0.0"'),
    Case("accept-comment-mentioning-entity", "accepted",
         config(doctype='<!-- no <!ENTITY x SYSTEM "file:///etc/passwd"> and <!DOCTYPE x [ ]> -->\n'),
         '"image": "hostile"'),
    Case("accept-cdata-mentioning-entity", "accepted",
         config(spec='<![CDATA[<!ENTITY x "y"> &x;]]>'), '"image": "hostile"'),
    # class 2: a comment or processing instruction inside a value hides nothing
    Case("comment-hides-timezone-traversal", "info",
         config(preferences="<timezone>UTC<!-- x -->/../../../etc/shadow</timezone>"),
         "must be a zone"),
    Case("pi-hides-version-traversal", "info",
         replaced("<version>1.0.0</version>", "<version>1.0<?x y?>/../../x</version>"),
         "must be a version"),
    Case("comment-hides-huge-size", "info",
         config(type='<type image="oem"><size unit="G">1<!---->99999999999999</size></type>'),
         "must be a sane size"),
    Case("comment-hides-control-character", "info",
         config(preferences="<keytable>de<!---->&#127;</keytable>"), "control character"),
    Case("comment-splits-packagemanager", "accepted",
         replaced("<packagemanager>apt</packagemanager>", "<packagemanager>a<!--x-->pt</packagemanager>"),
         '"kiwi_packagemanager": "apt"'),
    Case("comment-splits-version", "accepted",
         replaced("<version>1.0.0</version>", "<version>1.<!--x-->0<?pi?>.0</version>"),
         '"kiwi_iversion": "1.0.0"'),
    Case("comment-splits-timezone", "accepted",
         config(preferences="<timezone>Europe/<!-- city -->Berlin</timezone>"),
         '"kiwi_timezone": "Europe/Berlin"'),
    Case("comment-before-value", "accepted",
         config(preferences="<keytable><!-- German -->de</keytable>"), '"kiwi_keytable": "de"'),
    # class 9: the message says what was wrong, with the value, in the user's words
    Case("deep-nesting-plain-words", "info", config(spec="<a>" * 300 + "</a>" * 300),
         "nested more than 256 levels deep"),
    Case("huge-text-plain-words", "info", config(spec="x" * 10_500_000),
         "a text is longer than 10000000 characters"),
    Case("huge-attribute-plain-words", "info",
         config(type=f'<type image="docker" bootprofile="{"x" * 10_500_000}"/>'),
         "a value is longer than 10000000 characters"),
    Case("huge-comment-plain-words", "info", config(spec=f"<!--{'x' * 10_500_000}-->"),
         "a comment is longer than 10000000 characters"),
    Case("profile-name-with-comma", "info",
         config(users='<profiles><profile name="a,b" description="x"/></profiles>'),
         "profile name 'a,b' holds a ','"),
    Case("profile-unknown-lists-quoted-names", "info",
         config(users='<profiles><profile name="a" description="x"/>'
                      '<profile name="b" description="y"/></profiles>'),
         "profile 'c' is not defined (available: 'a', 'b')", ("--profile", "c")),
    Case("add-repo-invalid-dir-names-option", "info", config(),
         "--add-repo: repository source 'dir://relative/repo' must be an absolute path",
         ("--add-repo", "dir://relative/repo,apt-deb")),
    Case("set-repo-no-host-names-option", "info", config(),
         "--set-repo: repository source 'http:///debian' has no host name",
         ("--set-repo", "http:///debian,apt-deb")),
    Case("include-a-directory", "info",
         with_directory(config(users='<include from="this://parts"/>'), "parts"),
         "<include from='this://parts'>: is a directory, not a file"),
    Case("include-a-fifo", "info",
         with_directory(config(users='<include from="this://parts.xml"/>'), "parts.xml", "fifo"),
         "is not a regular file"),
    Case("packagemanager-invalid-named", "info",
         replaced("<packagemanager>apt</packagemanager>", "<packagemanager>zyppr</packagemanager>"),
         "value 'zyppr' must be one of"),
    Case("oemconfig-number-in-words", "info",
         config(type='<type image="oem"><oemconfig><oem-swapsize>big</oem-swapsize></oemconfig></type>'),
         "element <oem-swapsize>: 'big' is not a whole number"),
    Case("locale-invalid-named", "info", config(preferences="<locale>english</locale>"),
         "'english'"),
    Case("usage-unknown-option", "info", config(), "unknown option --bogus", ("--bogus",)),
    Case("usage-misspelt-option", "info", config(),
         "unknown option --ad-repo (did you mean --add-repo?)", ("--ad-repo", "x")),
    Case("usage-flag-with-value", "info", config(),
         "option --ignore-repos takes no value", ("--ignore-repos=yes",)),
    Case("usage-missing-value", "info", config(),
         "option --type needs a value: --type=<build_type>", ("--type",)),
    Case("usage-given-twice", "info", config(),
         "option --type is given more than once", ("--type", "oem", "--type", "iso")),
    Case("usage-ambiguous-prefix", "info", config(), "option --add is ambiguous", ("--add", "x")),
    Case("usage-stray-argument", "info", config(), "unexpected argument 'stray'", ("stray",)),
    # class 10: nonsense is refused, ambiguity is resolved as kiwi does and said
    *(
        Case(f"package-name-{label}", "info", config(packages=packages), "must be a package name")
        for label, packages in (
            ("ampersand", '<package name="a&amp;b"/>'),
            ("cdata-text", '<package name="&lt;![CDATA[vim]]&gt;"/>'),
            ("semicolon", '<package name="vim;reboot"/>'),
            ("command-substitution", '<package name="$(reboot)"/>'),
            ("quote", '<package name="vim&apos;"/>'),
            ("non-ascii", '<package name="v\u00efm"/>'),
            ("pipe-in-ignore", '<package name="test-app"/><ignore name="a|b"/>'),
            ("trailing-dash", '<package name="vim-"/>'),
        )
    ),
    Case("package-name-from-command-line", "info", config(), "must be a package name",
         ("--add-package", "a&b")),
    Case("accept-package-name-forms", "accepted",
         config(packages='<package name="test-app:amd64"/><package name="test-app=1.0-1"/>'
                         '<package name="perl(Foo::Bar)"/><package name="/usr/bin/vim"/>'
                         '<package name="libstdc++6"/><package name="kernel-*"/>'),
         '"image": "hostile"'),
    Case("image-name-too-long", "prepare", config(name=LONG_NAME), "more than the 255"),
    Case("version-makes-name-too-long", "prepare",
         replaced("<version>1.0.0</version>", f"<version>1.0.{'9' * 240}</version>"),
         "more than the 255"),
    Case("two-primary-types", "accepted",
         config(type='<type image="docker" primary="true"/><type image="oci" primary="true"/>'),
         "2 <type>s are primary=\"true\" (docker at line"),
    Case("two-unprofiled-preferences", "accepted", config(preferences=PREFERENCES_TWICE),
         "give <version> 2 times: '1.0.0' (line 8), '2.0.0' (line 11); using '1.0.0' (line 8), "
         "the first"),
    Case("two-unprofiled-preferences-timezone-last", "accepted",
         config(preferences="<timezone>UTC</timezone>" + PREFERENCES_TWICE),
         '"kiwi_timezone": "Europe/Berlin"'),
    Case("type-option-matches-two", "accepted",
         config(type='<type image="docker"/><type image="docker" primary="true"/>'),
         "--type docker matches 2 <type>s", ("--type", "docker")),
]  # fmt: skip
CASES += XML_CASES
