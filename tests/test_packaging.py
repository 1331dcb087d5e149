"""`pip install .` gives working kiwi-like and kiwi-ng commands, schema included."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_pip_install_into_a_fresh_venv(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # The dependencies (and setuptools/wheel to build with) come from the running
    # interpreter's site-packages, so the test needs no package index.
    (site,) = (venv / "lib").glob("python3*/site-packages")
    (site / "running-interpreter.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            str(REPO),
        ],
        check=True,
        cwd=tmp_path,
    )
    for command in ("kiwi-like", "kiwi-ng"):
        result = subprocess.run(
            [
                str(venv / "bin" / command),
                "--profile",
                "docker",
                "image",
                "info",
                "--description",
                str(REPO / "descriptions/debian/bookworm-jeos"),
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["type"]["image"] == "docker"
    (package,) = (venv / "lib").glob("python3*/site-packages/kiwi_like")
    # data files the code reads at run time are installed with it
    for data in (
        "schema/kiwi-like.rng",
        "schema/kiwi-like.xsd",
        "prepare/functions.sh",
        "create/iso/installer/kiwi-install",
        "create/iso/installer/hook",
        "create/iso/persistence/kiwi-like-persistence",
        "create/pxe/netboot/kiwi-netboot",
        "create/boot/dracut_modules/90kiwi-like-live/module-setup.sh",
        "create/boot/dracut_modules/90kiwi-like-install/kiwi-like-install.sh",
    ):
        assert (package / data).is_file(), data
