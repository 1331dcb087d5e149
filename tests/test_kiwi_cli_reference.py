"""KIWI NG 11.1.6's command line, option for option, against kiwi-like's; and KIWI NG's own
`result list` and `result bundle` reading a target directory kiwi-like wrote.

kiwi runs from a venv with `kiwi==11.1.6` installed, made once and cached: the same venv
(same place, same marker, same lock) tests/test_kiwi_reference.py makes, so whichever runs
first makes it for both. Every command kiwi's `--help` lists, and every option each
command's `--help` lists, must be accepted by kiwi-like's grammar, or be in REFUSED with
the reason kiwi-like refuses it (a refused option is still in the grammar and fails with
one line naming the reason, or is not in the grammar at all).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
from pathlib import Path

import pytest

from kiwi_like.cli import main as cli
from tests.conftest import MINIMAL
from tests.descriptions import write_description
from tests.kiwi_venv import cache_root, kiwi_venv, locked, run
from tests.test_results import publish_fake_build

pytestmark = pytest.mark.network

HELP_TIMEOUT = 120
SERVICES = ("system", "result", "image")

# (command, option) kiwi-like refuses; option None: the whole command. "" is the top level.
REFUSED: dict[tuple[str, str | None], str] = {
    ("system boxbuild", None): "builds inside a kiwi box virtual machine",
    ("system stackbuild", None): "builds from kiwi stash containers, which kiwi-like does not make",
    ("system stash", None): "kiwi stash containers are not supported",
    ("", "--debug-run-scripts-in-screen"): "kiwi-like runs scripts without a terminal",
    ("image info", "--resolve-package-list"): "kiwi-like solves dependencies only while "
    "installing; the .packages result lists them",
    ("", "--install-completion"): "typer's shell-completion set-up, not part of kiwi's interface",
    ("", "--show-completion"): "typer's shell-completion set-up, not part of kiwi's interface",
}
# How each refused option that is in kiwi-like's grammar says so (one error line).
REFUSAL_RUNS = {
    "--debug-run-scripts-in-screen": (["--debug-run-scripts-in-screen", "image", "info"],
                                      "--debug-run-scripts-in-screen is not supported"),
    "--resolve-package-list": (["image", "info", "--resolve-package-list"],
                               "--resolve-package-list is not supported"),
}  # fmt: skip


# --- kiwi, from a cached venv --------------------------------------------------------------


@pytest.fixture(scope="module")
def kiwi_ng() -> Path:
    root = cache_root()
    with locked(root):
        return kiwi_venv(root) / "bin/kiwi-ng"


def _kiwi(kiwi_ng: Path, *argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "HOME": "/nonexistent", "LC_ALL": "C.UTF-8",
           "COLUMNS": "400", "TERM": "dumb", "NO_COLOR": "1"}  # fmt: skip
    return run([str(kiwi_ng), *argv], HELP_TIMEOUT, env=env, cwd=cwd)


# --- the two command lines, from their --help ------------------------------------------


def parse_kiwi_help(text: str) -> tuple[list[str], set[str]]:
    """The commands and the options of one typer (rich) help page."""
    commands: list[str] = []
    options: set[str] = set()
    section = ""
    for line in text.splitlines():
        header = re.match(r"^\s*╭─ (\w+)", line)
        if header:
            section = header.group(1)
            continue
        row = line.strip().removeprefix("│").rstrip("│")
        if section == "Commands" and (match := re.match(r"^ (\w[\w-]*)\s{2,}", row)):
            commands.append(match.group(1))
        elif section == "Options" and (match := re.match(r"^\s+(?:\*\s+)?(--[\w-]+)", row)):
            options.add(match.group(1))
    assert "…" not in "".join(options), "an option name is cut off: widen COLUMNS"
    return commands, options


@pytest.fixture(scope="module")
def kiwi_cli(kiwi_ng: Path) -> dict[str, set[str]]:
    """Every command of kiwi (service and name) with its options; "" is the top level."""

    def help_of(*words: str) -> tuple[list[str], set[str]]:
        done = _kiwi(kiwi_ng, *words, "--help")
        assert done.returncode == 0, done.stderr
        return parse_kiwi_help(done.stdout)

    services, top = help_of()
    assert sorted(services) == sorted(SERVICES)
    found = {"": top}
    for service in services:
        commands, _ = help_of(service)
        for command in commands:
            found[f"{service} {command}"] = help_of(service, command)[1]
    return found


def our_options(*words: str) -> set[str]:
    """The options kiwi-like's `--help` shows in the grammar (usage) of a command."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert cli.main([*words, "--help"]) == 0
    usage = out.getvalue().split("\noptions:")[0].split("\ncommands:")[0]
    return set(re.findall(r"(?<![\w-])--[a-z][\w-]*", usage))


def test_kiwi_lists_the_commands_it_has(kiwi_cli):
    """A sanity check of the help parsing: kiwi 11's commands and a few options."""
    assert {"system build", "system prepare", "image info", "image resize", "result bundle"} <= set(
        kiwi_cli
    )
    assert {"--description", "--ca-cert", "--signing-key"} <= kiwi_cli["system build"]
    assert {"--logsocket", "--setenv", "--profile"} <= kiwi_cli[""]


def test_every_kiwi_command_is_there_or_refused(kiwi_cli):
    ours = {" ".join(key) for key in cli.COMMANDS}
    missing = [c for c in kiwi_cli if c and c not in ours and (c, None) not in REFUSED]
    assert missing == []
    for command, option in REFUSED:
        if option is None:
            assert tuple(command.split()) in cli.REFUSED_COMMANDS, command


def test_every_kiwi_option_is_accepted_or_refused(kiwi_cli):
    problems = []
    for command, options in kiwi_cli.items():
        if (command, None) in REFUSED:
            continue
        ours = our_options(*command.split())
        for option in sorted(options - {"--help", "--version"}):
            if (command, option) in REFUSED:
                continue
            if option not in ours:
                problems.append(f"{command or 'kiwi-ng'} {option}")
    assert problems == []


def test_every_kiwi_option_parses(kiwi_cli):
    """Each option in a full command line, as kiwi-like's docopt grammar reads it."""
    required = {
        "system build": ["--description", "d", "--target-dir", "t"],
        "system prepare": ["--description", "d", "--root", "r"],
        "system create": ["--root", "r", "--target-dir", "t"],
        "system update": ["--root", "r"],
        "image info": ["--description", "d"],
        "image resize": ["--target-dir", "t", "--size", "1g"],
        "result list": ["--target-dir", "t"],
        "result bundle": ["--target-dir", "t", "--id", "1", "--bundle-dir", "b"],
    }
    flags = {"--allow-existing-root", "--clear-cache", "--ignore-repos", "--debug",
             "--ignore-repos-used-for-build", "--color-output", "--list-profiles",
             "--print-kiwi-env", "--print-xml", "--print-yaml", "--print-toml",
             "--package-as-rpm", "--no-compress", "--resolve-package-list",
             "--debug-run-scripts-in-screen"}  # fmt: skip
    failed = []
    for command, options in kiwi_cli.items():
        if not command or (command, None) in REFUSED:
            continue
        service, name = command.split()
        usage = cli.COMMANDS[(service, name)].usage
        for option in sorted(options - {"--help"} - set(required[command][::2])):
            if (command, option) in REFUSED and option not in REFUSAL_RUNS:
                continue
            argv = [service, name, *required[command], option]
            argv += [] if option in flags else ["value"]
            if not isinstance(cli._parse(usage, argv), dict):
                failed.append(" ".join(argv))
    for option in sorted(kiwi_cli[""] - {"--help", "--version"}):
        if ("", option) in REFUSED and option not in REFUSAL_RUNS:
            continue
        argv = [option, *([] if option in flags else ["value"]), "image", "info"]
        if not isinstance(cli._parse(cli.USAGE, argv, options_first=True), dict):
            failed.append(" ".join(argv))
    assert failed == []


def test_refused_options_fail_with_their_reason(kiwi, tmp_path):
    directory = str(write_description(tmp_path / "description", MINIMAL))
    for option, (argv, reason) in REFUSAL_RUNS.items():
        done = kiwi(*argv, "--description", directory)
        assert done.code == 1
        assert len(done.error_lines) == 1 and reason in done.error_lines[0], option
    for (command, option), reason in REFUSED.items():
        if option and option not in REFUSAL_RUNS:  # not in the grammar: a usage error
            done = kiwi(*command.split(), option)
            assert done.code == 1 and len(done.error_lines) == 1, option
        assert reason


# --- kiwi's own result commands on kiwi-like's results -------------------------------------


def test_kiwis_result_list_reads_kiwi_like_results(kiwi_ng, tmp_path):
    publish_fake_build(tmp_path)
    done = _kiwi(kiwi_ng, "result", "list", "--target-dir", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    for kind, suffix in (("disk_image", "raw"), ("image_packages", "packages"),
                         ("image_changes", "changes"), ("image_verified", "verified")):  # fmt: skip
        assert f"--> {kind}: {tmp_path}/Test.x86_64-1.0.0.{suffix}" in done.stdout


@pytest.mark.parametrize("options", [[], ["--no-compress"], ["--bundle-format", "%N-%v_%I"]])
def test_kiwis_result_bundle_and_ours_make_the_same_files(kiwi_ng, kiwi, tmp_path, options):
    target = tmp_path / "target"
    publish_fake_build(target, bundle_format="%N-%P-%A-%T-%M_%m_%p-%I")
    bundles = {}
    for who in ("kiwi", "kiwi-like"):
        bundle_dir = tmp_path / who
        argv = ["result", "bundle", "--target-dir", str(target), "--id", "Build7",
                "--bundle-dir", str(bundle_dir), *options]  # fmt: skip
        if who == "kiwi":
            done = _kiwi(kiwi_ng, *argv)
            assert done.returncode == 0, done.stdout[-3000:]
        else:
            assert kiwi(*argv).code == 0
        bundles[who] = {p.name: p for p in bundle_dir.iterdir()}
    assert sorted(bundles["kiwi-like"]) == sorted(bundles["kiwi"])
    for name, path in bundles["kiwi-like"].items():
        if name.endswith(".sha256"):
            check = subprocess.run(["sha256sum", "-c", name], cwd=path.parent, check=False)
            assert check.returncode == 0, name
        elif not name.endswith(".xz"):  # xz output may differ with xz's version and options
            assert path.read_bytes() == bundles["kiwi"][name].read_bytes(), name
