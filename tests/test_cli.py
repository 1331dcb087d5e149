"""The kiwi-ng command line: grammar, help, error reporting, every shipped description."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kiwi_like.cli.main import COMMANDS
from tests.conftest import MINIMAL, REPO

DESCRIPTIONS = sorted(
    path.parent
    for pattern in ("descriptions/**/config.xml", "build-tests/**/config.xml")
    for path in REPO.glob(pattern)
)


def test_version(kiwi):
    result = kiwi("--version")
    assert result.code == 0
    assert result.out.strip() == __import__("kiwi_like").__version__


def test_help_lists_services(kiwi):
    result = kiwi("--help")
    assert result.code == 0
    for command in ("system build", "system prepare", "result bundle", "image info"):
        assert command in result.out


def test_command_help(kiwi):
    result = kiwi("image", "info", "--help")
    assert result.code == 0
    assert "--set-repo" in result.out


@pytest.mark.parametrize("command", [" ".join(key) for key in COMMANDS])
def test_every_command_grammar_parses(kiwi, command):
    """docopt checks a grammar only when it is used: each usage text must be valid."""
    result = kiwi(*command.split(), "--help")
    assert (result.code, result.err) == (0, "")
    assert result.out.startswith(f"usage: kiwi-ng {command} -h | --help")


@pytest.mark.parametrize(
    "argv",
    [
        ["image", "frobnicate"],
        ["image", "info"],
        ["--no-such-option", "image", "info"],
        ["image", "info", "--description"],
    ],
)
def test_usage_errors_are_one_line(kiwi, argv):
    result = kiwi(*argv)
    assert result.code == 1
    assert len(result.error_lines) == 1
    assert "Traceback" not in result.err


def test_global_options_before_and_after_the_command(kiwi, write_description):
    directory = write_description(MINIMAL)
    before = kiwi(
        "--type", "iso", "image", "info", "--description", str(directory), "--format", "json"
    )
    after = kiwi(
        "image", "info", "--description", str(directory), "--type", "iso", "--format", "json"
    )
    assert before.code == after.code == 0
    assert before.json()["type"] == after.json()["type"] == {"image": "iso"}


def test_text_summary(kiwi, write_description):
    directory = str(write_description(MINIMAL))
    result = kiwi("image", "info", "--description", directory, "--format", "text")
    assert result.code == 0
    assert "name:               minimal\n" in result.out
    assert "type:               oem filesystem=ext4 firmware=efi\n" in result.out
    assert (
        "repository:         apt-deb http://mirror.example/debian bookworm main contrib\n"
        in result.out
    )
    assert "bootstrap packages: apt\n" in result.out


def test_bad_format(kiwi, write_description):
    result = kiwi(
        "image", "info", "--description", str(write_description(MINIMAL)), "--format", "xml"
    )
    assert result.code == 1
    assert result.error_lines == ["kiwi-like: error: --format must be text or json, not 'xml'"]


def test_build_of_an_unsupported_type_fails_before_preparing(kiwi, tmp_path):
    result = kiwi(
        "--profile", "rootfs", "system", "build",
        "--description", str(REPO / "descriptions/debian/bookworm-jeos"),
        "--target-dir", str(tmp_path), "--set-repo", "http://mirror.example/debian,apt-deb",
        "--add-package", "vim", "--set-type-attr", "image=cpio",
    )  # fmt: skip
    assert result.code == 1
    assert result.error_lines == [
        "kiwi-like: error: image type 'cpio' cannot be created yet (supported: oem, iso, "
        "kis, docker, oci, tbz, ext2, ext3, ext4, xfs, btrfs, squashfs)"
    ]
    assert not (tmp_path / "build/image-root").exists()


def test_list_profiles(kiwi):
    jeos = str(REPO / "descriptions/debian/bookworm-jeos")
    result = kiwi("image", "info", "--description", jeos, "--list-profiles", "--format", "text")
    assert result.code == 0
    assert "* oem" in result.out
    assert "* bootable" in result.out
    assert "  docker" in result.out
    kiwis = kiwi("image", "info", "--description", jeos, "--list-profiles")
    assert kiwis.json()["profile_names"][:3] == ["oem", "install", "qcow2"]


@pytest.mark.parametrize("directory", DESCRIPTIONS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_shipped_description_resolves(kiwi, directory):
    result = kiwi("image", "info", "--description", str(directory), "--format", "json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["name"]
    assert data["repositories"], "the host:// default must give at least one repository"


@pytest.mark.parametrize(
    ("profile", "image", "package"),
    [
        ("oem", "oem", "linux-image-amd64"),
        ("qcow2", "oem", "grub-efi-amd64-bin"),
        ("live", "iso", "live-boot"),
        ("pxe", "kis", "curl"),
        ("docker", "docker", "systemd"),
    ],
)
def test_jeos_profiles(kiwi, profile, image, package):
    result = kiwi(
        "--profile",
        profile,
        "--target-arch",
        "x86_64",
        "image",
        "info",
        "--description",
        str(REPO / "descriptions/debian/bookworm-jeos"),
        "--format",
        "json",
    )
    assert result.code == 0, result.err
    data = result.json()
    assert data["type"]["image"] == image
    assert package in data["packages"]["image"]
    if profile == "docker":
        assert "linux-image-amd64" not in data["packages"]["image"]


def test_installed_console_scripts(tmp_path):
    """Both command names run the same program (checked through the module entry)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, "-m", "kiwi_like", "--version"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0
    setup_cfg = (REPO / "setup.cfg").read_text()
    assert "kiwi-ng = kiwi_like.cli.main:run" in setup_cfg
    assert "kiwi-like = kiwi_like.cli.main:run" in setup_cfg


def test_logfile_gets_the_log(kiwi, write_description, tmp_path: Path):
    logfile = tmp_path / "build.log"
    result = kiwi(
        "--logfile", str(logfile), "image", "info", "--description", str(write_description(MINIMAL))
    )
    assert result.code == 0
    assert "Loading description" in logfile.read_text()


# --- kiwi 11's command line -------------------------------------------------------------


def test_image_info_prints_kiwis_output_by_default(kiwi, write_description):
    directory = str(write_description(MINIMAL))
    result = kiwi("image", "info", "--description", directory)
    assert (result.code, result.out) == (0, '{\n    "image": "minimal"\n}\n')
    env = kiwi("image", "info", "--description", directory, "--print-kiwi-env")
    assert env.json()["kiwi_env"]["kiwi_iname"] == "minimal"
    assert env.json()["kiwi_env"]["kiwi_type"] == "oem"


@pytest.mark.parametrize("markup", ["xml", "yaml", "toml"])
def test_image_info_prints_the_description(kiwi, write_description, markup):
    import tomllib

    import yaml
    from lxml import etree

    directory = str(write_description(MINIMAL))
    result = kiwi("image", "info", "--description", directory, f"--print-{markup}")
    assert result.code == 0, result.err
    head, description = result.out.split("}\n", 1)
    assert json.loads(head + "}") == {"image": "minimal"}
    if markup == "xml":
        root = etree.fromstring(description.encode())
        assert root.get("name") == "minimal"
        return
    data = yaml.safe_load(description) if markup == "yaml" else tomllib.loads(description)
    assert data["image"]["@name"] == "minimal"
    assert data["image"]["description"]["specification"] == "minimal"
    assert [t["@image"] for t in data["image"]["preferences"]["type"]] == ["oem", "iso"]


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["--resolve-package-list"], "--resolve-package-list is not supported: kiwi-like "
         "solves dependencies only while it installs packages (the .packages result of a "
         "build lists them all)"),
        (["--print-xml", "--format", "json"], "--print-xml is part of kiwi's output: leave "
         "out --format"),
    ],
)  # fmt: skip
def test_image_info_refusals(kiwi, write_description, argv, error):
    result = kiwi("image", "info", "--description", str(write_description(MINIMAL)), *argv)
    assert result.error_lines == [f"kiwi-like: error: {error}"]


@pytest.mark.parametrize("name", ["stdout", "terminal"])
def test_logfile_stdout_sends_the_full_log_to_standard_output(kiwi, write_description, name):
    directory = str(write_description(MINIMAL))
    result = kiwi("--logfile", name, "--debug", "image", "info", "--description", directory)
    assert result.code == 0
    assert "INFO kiwi_like: Loading description" in result.out
    assert result.err == ""


def test_loglevel_and_color_output(kiwi, write_description, tmp_path):
    directory = str(write_description(MINIMAL))
    quiet = kiwi("--loglevel", "30", "image", "info", "--description", directory)
    assert quiet.code == 0 and "Loading description" not in quiet.err
    loud = kiwi("--loglevel", "20", "image", "info", "--description", directory)
    assert "[ INFO    ] Loading description" in loud.err
    bad = kiwi("--loglevel", "loud", "image", "info", "--description", directory)
    assert bad.error_lines == ["kiwi-like: error: --loglevel must be a number, not 'loud'"]
    failed = kiwi("--color-output", "image", "info", "--description", str(tmp_path / "none"))
    assert failed.code == 1
    assert failed.err.splitlines()[-1].startswith("\033[3;31mkiwi-like: error: ")
    colored = kiwi("--color-output", "image", "info", "--description", directory)
    assert colored.out.startswith('{\n    \033[34m"image"\033[0m: \033[32m"minimal"\033[0m')


def test_color_output_colours_warnings(capsys):
    from kiwi_like.log import log, setup_logging

    setup_logging(color=True)
    log.warning("careful")
    log.info("plain")
    err = capsys.readouterr().err
    assert "\033[3;33m[ WARNING ] careful\033[0m" in err
    assert "[ INFO    ] plain\n" in err


def test_logsocket_gets_the_log(kiwi, write_description, tmp_path):
    import socket
    import threading

    path = str(tmp_path / "log.socket")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    received: list[bytes] = []

    def serve() -> None:
        connection, _ = server.accept()
        with connection:
            while data := connection.recv(4096):
                received.append(data)

    thread = threading.Thread(target=serve)
    thread.start()
    directory = str(write_description(MINIMAL))
    result = kiwi("--logsocket", path, "image", "info", "--description", directory)
    from kiwi_like.log import setup_logging

    setup_logging()  # closes the socket handler of the run
    thread.join(10)
    server.close()
    assert result.code == 0
    assert b"INFO kiwi_like: Loading description" in b"".join(received)
    missing = kiwi(
        "--logsocket", str(tmp_path / "nobody"), "image", "info", "--description", directory
    )
    assert missing.code == 1
    assert missing.error_lines[0].startswith(f"kiwi-like: error: --logsocket {tmp_path}/nobody: ")


def test_setenv_for_one_command(kiwi, write_description, monkeypatch):
    monkeypatch.delenv("KIWI_LIKE_TEST_VARIABLE", raising=False)
    directory = str(write_description(MINIMAL))
    result = kiwi(
        "--setenv", "KIWI_LIKE_TEST_VARIABLE=a=b", "image", "info", "--description", directory
    )
    assert result.code == 0
    assert "--> Set Env[KIWI_LIKE_TEST_VARIABLE]=a=b" in result.err
    assert "KIWI_LIKE_TEST_VARIABLE" not in os.environ  # set for the command only
    bad = kiwi("--setenv", "NOVALUE", "image", "info", "--description", directory)
    assert bad.error_lines == ["kiwi-like: error: --setenv: expected variable=value, not 'NOVALUE'"]


def test_setenv_reaches_the_description_scripts(tmp_path):
    """kiwi's scripts inherit its environment; kiwi-like hands --setenv variables over."""
    from kiwi_like.description import BuildOptions, load_build
    from kiwi_like.prepare import scripts
    from kiwi_like.runtime_config import RuntimeConfig
    from tests.descriptions import Image, write_description

    description = write_description(tmp_path / "description", Image(name="scripted"))
    (description / "config.sh").write_text('echo "$GREETING $kiwi_iname" > /greeting\n')
    build = load_build(description, BuildOptions(), RuntimeConfig())
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    shutil.copy("/bin/busybox", root / "bin/busybox")
    (root / "bin/sh").symlink_to("busybox")
    with scripts.exported({"GREETING": "hello"}), scripts.script_environment(root, build):
        assert scripts.run_script(root, build, "config.sh")
    assert (root / "greeting").read_text() == "hello scripted\n"


def test_refused_global_option_and_commands(kiwi, write_description):
    directory = str(write_description(MINIMAL))
    screen = kiwi("--debug-run-scripts-in-screen", "image", "info", "--description", directory)
    assert screen.error_lines == [
        "kiwi-like: error: --debug-run-scripts-in-screen is not supported: kiwi-like runs the "
        "description's scripts without a terminal (their output is in the log)"
    ]
    for command in ("boxbuild", "stackbuild", "stash"):
        refused = kiwi("system", command, "--help")
        assert refused.code == 1 and len(refused.error_lines) == 1
        assert refused.error_lines[0].startswith(
            f"kiwi-like: error: 'system {command}' is not supported: "
        )


def test_help_after_the_command_shows_its_usage(kiwi):
    result = kiwi("system", "build", "help")
    assert result.code == 0
    assert result.out.startswith("usage: kiwi-ng system build -h | --help")


def test_ca_certificates_need_a_target_distribution(kiwi, write_description, tmp_path):
    directory = str(write_description(MINIMAL))
    argv = ["system", "build", "--description", directory, "--target-dir", str(tmp_path / "t")]
    missing = kiwi(*argv, "--ca-cert", str(tmp_path / "ca.crt"))
    allowed = "set it with --ca-target-distribution (one of archlinux, debian, redhat, suse)"
    assert missing.error_lines == [
        f"kiwi-like: error: no or invalid CA target distribution, {allowed}"
    ]
    wrong = kiwi(*argv, "--ca-cert", "ca.crt", "--ca-target-distribution", "gentoo")
    assert wrong.error_lines == missing.error_lines


def test_system_build_writes_image_root_log(kiwi, tmp_path):
    """kiwi's <target-dir>/build/image-root.log, with the error that ended the build."""
    target = tmp_path / "target"
    argv = ["--description", str(tmp_path / "none"), "--target-dir", str(target)]
    result = kiwi("system", "build", *argv)
    assert result.code == 1
    assert "description directory does not exist" in (target / "build/image-root.log").read_text()


def test_signing_key_applies_to_every_repository(write_description, tmp_path):
    """--signing-key (system build/prepare) trusts the key for every repository."""
    from kiwi_like.cli.options import build_options
    from kiwi_like.description import load_build
    from kiwi_like.runtime_config import RuntimeConfig

    key = tmp_path / "extra.gpg"
    key.write_bytes(b"key")
    options = build_options({"--signing-key": [str(key)]})
    build = load_build(write_description(MINIMAL), options, RuntimeConfig())
    assert build.repositories and all(str(key) in r.signing_keys for r in build.repositories)


def test_ignore_repos_used_for_build_keeps_imageonly_repositories(kiwi, write_description):
    from tests.descriptions import Image, Repository

    image = Image(
        repositories=(
            Repository("http://mirror.example/build", attributes={"distribution": "bookworm"}),
            Repository("http://mirror.example/included",
                       attributes={"distribution": "bookworm", "imageinclude": "true"}),
            Repository("http://mirror.example/only",
                       attributes={"distribution": "bookworm", "imageonly": "true"}),
        )
    )  # fmt: skip
    directory = str(write_description(image))
    result = kiwi("image", "info", "--description", directory, "--format", "json",
                  "--ignore-repos-used-for-build")  # fmt: skip
    assert result.code == 0, result.err
    assert [r["source"] for r in result.json()["repositories"]] == ["http://mirror.example/only"]


def test_ca_certificates_go_into_the_distributions_store(tmp_path):
    """What `--ca-cert` with `--ca-target-distribution debian` does after the bootstrap."""
    from kiwi_like.prepare.certificates import import_certificates

    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    shutil.copy("/bin/busybox", root / "bin/busybox")
    (root / "bin/sh").symlink_to("busybox")
    (root / "usr/sbin").mkdir(parents=True)
    tool = root / "usr/sbin/update-ca-certificates"
    tool.write_text("#!/bin/sh\nbusybox ls /usr/local/share/ca-certificates > /updated\n")
    tool.chmod(0o755)
    certificate = tmp_path / "company.crt"
    certificate.write_text("-----BEGIN CERTIFICATE-----\n")
    import_certificates(root, [str(certificate)], "debian")
    store = root / "usr/local/share/ca-certificates"
    assert (store / "company.crt").read_text() == certificate.read_text()
    assert (root / "updated").read_text() == "company.crt\n"


def test_a_closed_pipe_ends_quietly():
    """`kiwi-ng ... --help | head -1`: no traceback when the reader goes away."""
    shell = f"{sys.executable} -m kiwi_like system build --help | head -1"
    done = subprocess.run(["sh", "-c", shell], capture_output=True, text=True, cwd=REPO)
    assert done.stdout.startswith("usage: kiwi-ng system build")
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
