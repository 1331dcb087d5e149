"""The Debian package `make deb` builds (issue 16): what it holds, what it declares, and
that it runs on Debian 12's own Python libraries once installed into a fresh root.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kiwi_like import __version__
from kiwi_like.chroot import run_in_root
from kiwi_like.description.imagetypes.oem import HOST_PACKAGES as OEM_HOST_PACKAGES
from kiwi_like.description.packagemanagers import PACKAGE_MANAGERS
from tests.conftest import REPO, SHARED_CACHE

DEB_DIR = REPO / "build/deb"
DEB = DEB_DIR / f"kiwi-like_{__version__}_all.deb"
# Debian 12's packages of the libraries kiwi-like imports (HOST-FACTS: docopt 0.6.2,
# xmlschema 1.10, lxml 4.9, yaml 6.0, requests 2.28)
PYTHON_LIBRARIES = ("python3-docopt", "python3-lxml", "python3-xmlschema", "python3-yaml",
                    "python3-requests")  # fmt: skip
# What every build runs besides the package manager and the image type's tools.
CORE_TOOLS = ("mount", "openssl", "xz-utils", "zstd", "gpg")
SCRATCH_ARCHIVES = SHARED_CACHE / "tests/deb-root-archives"

needs_build_tools = pytest.mark.skipif(
    not shutil.which("dpkg-buildpackage") or not shutil.which("dh"),
    reason="needs dpkg-dev and debhelper (make setup)",
)


@functools.cache
def build_deb() -> Path:
    """`make deb`, once per test session; the package's path."""
    done = subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO), "deb"],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert DEB.is_file()
    return DEB


@pytest.fixture(scope="module")
def deb() -> Path:
    if not shutil.which("dpkg-buildpackage") or not shutil.which("dh"):
        pytest.skip("needs dpkg-dev and debhelper (make setup)")
    return build_deb()


def control_of(deb: Path) -> dict[str, str]:
    text = subprocess.run(
        ["dpkg-deb", "--field", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if line[:1].isspace():
            continue
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return fields


def relation_names(value: str) -> set[str]:
    """Package names of a Depends-style field, alternatives included."""
    return {
        re.split(r"[\s(:]", part.strip())[0]
        for group in value.split(",")
        for part in group.split("|")
        if part.strip()
    }


def contents(deb: Path) -> dict[str, str]:
    """Path -> the `dpkg -c` line's mode column plus a link target (`-> target`)."""
    listing = subprocess.run(
        ["dpkg", "-c", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    found = {}
    for line in listing.splitlines():
        mode, _owner, _size, _date, _time, path, *link = line.split()
        found[path.removeprefix(".")] = " ".join([mode, *link])
    return found


def test_changelog_version_is_the_package_version():
    first = (REPO / "debian/changelog").read_text().splitlines()[0]
    assert first.startswith(f"kiwi-like ({__version__}) "), first


@needs_build_tools
def test_package_contents(deb):
    files = contents(deb)
    assert files["/usr/bin/kiwi"].startswith("l") and files["/usr/bin/kiwi"].endswith("-> kiwi-ng")
    for program in ("/usr/bin/kiwi-ng", "/usr/bin/kiwi-like"):
        assert files[program].startswith("-rwxr-xr-x"), program
    package = "/usr/lib/python3/dist-packages/kiwi_like"
    for data in (
        "__init__.py",
        "cli/main.py",
        "schema/kiwi-like.rng",
        "schema/kiwi-like.xsd",
        "schema/kiwi-like.rnc",
        "prepare/functions.sh",
    ):
        assert f"{package}/{data}" in files, data
    # every file the tree ships in the package directory is in the package
    for path in (REPO / "kiwi_like").rglob("*"):
        relative = path.relative_to(REPO / "kiwi_like").as_posix()
        if path.is_file() and "__pycache__" not in relative:
            assert f"{package}/{relative}" in files, relative
    assert "/usr/share/man/man8/kiwi-like.8.gz" in files
    for alias in ("kiwi-ng", "kiwi"):
        assert files[f"/usr/share/man/man8/{alias}.8.gz"].endswith("-> kiwi-like.8.gz")
    completions = "/usr/share/bash-completion/completions"
    assert files[f"{completions}/kiwi-ng"].startswith("-rw-r--r--")
    for alias in ("kiwi-like", "kiwi"):
        assert files[f"{completions}/{alias}"].endswith("-> kiwi-ng")
    description = "/usr/share/kiwi-like/descriptions/debian/bookworm-jeos/config.xml"
    assert description in files
    assert "/usr/share/doc/kiwi-like/copyright" in files


@needs_build_tools
def test_package_relations(deb):
    control = control_of(deb)
    assert control["Architecture"] == "all"
    assert control["Version"] == __version__
    for field in ("Provides", "Conflicts", "Replaces"):
        assert relation_names(control[field]) == {"kiwi"}, field
    depends = relation_names(control["Depends"])
    assert set(PYTHON_LIBRARIES) <= depends
    # Recommends are not installed on build-service workers: a disk build with apt
    # needs nothing beyond Depends
    apt = next(kind for kind in PACKAGE_MANAGERS if kind.name == "apt")
    needed = {*apt.host_packages, *OEM_HOST_PACKAGES, *CORE_TOOLS}
    assert needed <= depends, f"missing in Depends: {sorted(needed - depends)}"
    # the other image types' and package managers' tools are at least suggested
    offered = depends | relation_names(control.get("Recommends", ""))
    offered |= relation_names(control.get("Suggests", ""))
    others = {p for kind in PACKAGE_MANAGERS for p in kind.host_packages}
    assert others <= offered, sorted(others - offered)


@needs_build_tools
@pytest.mark.skipif(not shutil.which("lintian"), reason="needs lintian (make setup)")
def test_lintian_reports_no_errors(deb):
    done = subprocess.run(
        ["lintian", "--fail-on", "error", str(deb)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout
    errors = [line for line in done.stdout.splitlines() if line.startswith("E:")]
    assert errors == []
    # doc/obs.md lists the warnings; none today
    warnings = [line for line in done.stdout.splitlines() if line.startswith("W:")]
    assert warnings == [], "update the lintian section of doc/obs.md: " + "\n".join(warnings)


def test_man_page_names_every_command_and_option(tmp_path):
    """doc/man/render.py fills the page from the commands' --help texts; man renders it
    without a warning."""
    from kiwi_like.cli.main import COMMANDS, USAGE

    page = tmp_path / "kiwi-like.8"
    rendered = subprocess.run(
        [sys.executable, str(REPO / "doc/man/render.py"), str(REPO / "doc/man/kiwi-like.8.in")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    page.write_text(rendered)
    text = rendered.replace("\\-", "-")
    options = set(re.findall(r"--[a-z][a-z-]*", USAGE))
    for command in COMMANDS.values():
        options |= set(re.findall(r"--[a-z][a-z-]*", command.usage))
    assert sorted(o for o in options if o not in text) == []
    for service, command in COMMANDS:
        assert f'.SS "{service} {command}"' in text
    assert f"kiwi-like {__version__}" in text
    if shutil.which("man"):
        shown = subprocess.run(
            ["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", str(page)],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "MANWIDTH": "80", "LC_ALL": "C.UTF-8"},
        )
        assert shown.returncode == 0 and shown.stderr == "", shown.stderr


SYSTEM_PYTHON = Path("/usr/bin/python3")
# The tests of what the libraries are used for: parsing, validation, the command line.
LIBRARY_TESTS = ("tests/test_schema.py", "tests/test_description.py", "tests/test_corpus.py",
                 "tests/test_cli.py")  # fmt: skip


def _system_python_has(*modules: str) -> bool:
    if not SYSTEM_PYTHON.is_file():
        return False
    probe = (
        "import importlib.util, sys; "
        "sys.exit(any(importlib.util.find_spec(m) is None for m in sys.argv[1:]))"
    )
    return subprocess.run([str(SYSTEM_PYTHON), "-c", probe, *modules], check=False).returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(
    not _system_python_has(
        "lxml", "docopt", "xmlschema", "yaml", "requests", "pytest", "hypothesis"
    ),
    reason="needs Debian's python3-{lxml,docopt,xmlschema,yaml,requests,pytest,hypothesis} (make setup)",
)
def test_library_tests_pass_with_debian_12_libraries():
    """The tests of parsing, validation and the command line, run by Debian's python3
    with Debian 12's own libraries (docopt 0.6.2, xmlschema 1.10, lxml 4.9), as the
    package runs."""
    done = subprocess.run(
        [str(SYSTEM_PYTHON), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
         "-m", "not boot and not network and not slow", *LIBRARY_TESTS],
        cwd=REPO, capture_output=True, text=True, check=False, timeout=900,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": os.environ.get("HOME", "/root"),
             "LC_ALL": "C.UTF-8"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


# -- installed into a fresh Debian 12 root ------------------------------------------


def host_source_files() -> list[str]:
    """The host's apt source files, as mmdebstrap reads them (no mirror written here)."""
    apt = Path("/etc/apt")
    files = [apt / "sources.list"] if (apt / "sources.list").is_file() else []
    for pattern in ("*.list", "*.sources"):
        files += sorted(apt.glob(f"sources.list.d/{pattern}"))
    return [str(path) for path in files if path.stat().st_size]


@pytest.fixture(scope="module")
def installed_root(deb, tmp_path_factory) -> Path:
    """A bookworm minbase root from the host's apt sources with the package installed by
    apt (so its Depends resolve against Debian 12), plus man-db and bash-completion.
    Downloaded packages are kept in SCRATCH_ARCHIVES for the next run."""
    if os.geteuid() != 0:
        pytest.skip("mmdebstrap --mode=root and chroot need root")
    if not shutil.which("mmdebstrap"):
        pytest.skip("needs mmdebstrap (make setup)")
    root = tmp_path_factory.mktemp("deb-root") / "root"
    SCRATCH_ARCHIVES.mkdir(parents=True, exist_ok=True)
    archives = "/var/cache/apt/archives"
    command = [
        "unshare", "--mount", "--propagation", "private", "--",
        "mmdebstrap", "--mode=root", "--variant=minbase", "--skip=essential/unlink",
        f'--setup-hook=mkdir -p "$1"{archives}',
        f"--setup-hook=sync-in {SCRATCH_ARCHIVES} {archives}",
        "--include=man-db,bash-completion",
        # apt inside the root installs the package with what it depends on, without
        # Recommends, as a build-service worker does (mmdebstrap's --include cannot take
        # a .deb file in root mode: apt copies it to a /tmp dpkg does not see)
        f"--customize-hook=copy-in {deb} /tmp",
        f'--customize-hook=chroot "$1" apt-get install -y -q --no-install-recommends /tmp/{deb.name}',
        f'--customize-hook=rm "$1"/tmp/{deb.name}',
        f"--customize-hook=sync-out {archives} {SCRATCH_ARCHIVES}",
        "bookworm", str(root), *host_source_files(),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return root


def in_root(root: Path, *command: str) -> str:
    return run_in_root(root, list(command), env={"COLUMNS": "100"}, check=True).output


@pytest.mark.network
@pytest.mark.slow
@needs_build_tools
def test_runs_on_debian_12_libraries(installed_root):
    versions = in_root(
        installed_root,
        "dpkg-query", "-W", "-f", "${Package} ${Version}\\n", *PYTHON_LIBRARIES,
    )  # fmt: skip
    assert re.search(r"^python3-docopt 0\.6\.2", versions, re.M), versions
    assert re.search(r"^python3-xmlschema 1\.10", versions, re.M), versions
    assert in_root(installed_root, "kiwi-ng", "--version").strip().endswith(__version__)
    assert in_root(installed_root, "/usr/bin/kiwi", "--version").strip().endswith(__version__)
    description = "/usr/share/kiwi-like/descriptions/debian/bookworm-jeos"
    info = in_root(installed_root, "kiwi-ng", "image", "info", "--description", description)
    assert "Debian-Bookworm-JeOS" in info
    # a schema error is reported in one line with Debian 12's xmlschema too
    bad = installed_root / "tmp/bad"
    bad.mkdir()
    (bad / "config.xml").write_text(
        '<image schemaversion="7.5" name="x"><description type="system"><author>a</author>'
        "<contact>c</contact><specification>s</specification></description>"
        "<preferences><version>1</version><packagemanager>apt</packagemanager></preferences>"
        '<packages type="image"><pakage name="vim"/></packages></image>'
    )
    result = run_in_root(
        installed_root, ["kiwi-ng", "image", "info", "--description", "/tmp/bad"], check=False
    )
    assert result.returncode == 1
    assert "Traceback" not in result.output
    assert "kiwi-like: error:" in result.output and "pakage" in result.output


@pytest.mark.network
@pytest.mark.slow
@needs_build_tools
def test_man_page_and_completion_installed(installed_root):
    for name in ("kiwi-like", "kiwi-ng", "kiwi"):
        path = in_root(installed_root, "man", "-w", name).strip()
        assert path.startswith("/usr/share/man/man8/"), path
    # (only the last lines of a command's output come back: grep what matters)
    headings = in_root(
        installed_root,
        "sh",
        "-c",
        "man -P cat kiwi-ng | grep -E '^(OPEN BUILD SERVICE|   system build(-all)?)$'",
    )
    assert headings.split("\n") == ["   system build", "   system build-all", "OPEN BUILD SERVICE"]
    script = r"""
        source /usr/share/bash-completion/bash_completion
        complete_line() {
            COMP_LINE=$1; COMP_POINT=${#COMP_LINE}
            read -r -a COMP_WORDS <<< "$COMP_LINE"
            [[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
            COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
            COMPREPLY=()
            _completion_loader "${COMP_WORDS[0]}"
            $(complete -p "${COMP_WORDS[0]}" | sed -E 's/.* -F ([^ ]+) .*/\1/') \
                "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
            echo "$1=> ${COMPREPLY[*]}"
        }
        complete_line "kiwi-ng "
        complete_line "kiwi-ng system "
        complete_line "kiwi system bu"
        complete_line "kiwi-like result bundle --bundle-d"
        complete_line "kiwi-ng --prof"
        complete_line "kiwi-ng system build --description=/usr/share/kiwi-like/descriptions/deb"
    """
    output = in_root(installed_root, "bash", "-c", script)
    lines = dict(line.split("=> ", 1) for line in output.splitlines() if "=> " in line)
    assert set(lines["kiwi-ng "].split()) >= {"image", "system", "result"}
    assert set(lines["kiwi-ng system "].split()) == {
        "build", "build-all", "prepare", "create", "update"
    }  # fmt: skip
    assert lines["kiwi system bu"].split() == ["build", "build-all"]
    assert lines["kiwi-like result bundle --bundle-d"].split() == ["--bundle-dir="]
    assert lines["kiwi-ng --prof"].split() == ["--profile="]
    descriptions = "kiwi-ng system build --description=/usr/share/kiwi-like/descriptions/deb"
    assert lines[descriptions].split() == ["/usr/share/kiwi-like/descriptions/debian"]
