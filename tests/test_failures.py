"""Failures a user's machine causes: a full disk, a missing host tool, checks turned off."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.faults import mounts, result_files
from tests.test_prepare import description, repo  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow


@contextmanager
def small_filesystem(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", path], check=True)


def test_full_target_disk(kiwi, description, tmp_path):  # noqa: F811
    blob = description / "root/opt/blob"
    blob.parent.mkdir(parents=True)
    blob.write_bytes(os.urandom(16 * 1024 * 1024))
    root = tmp_path / "root"
    common = ["--config", str(description / "runtime.yml")]
    done = kiwi("--profile", "extra", "system", "prepare", "--description", str(description),
                "--root", str(root), "--shared-cache-dir", str(tmp_path / "cache"), *common)  # fmt: skip
    assert done.code == 0, done.err
    before = mounts()
    with small_filesystem(tmp_path / "full", "8m") as target:
        done = kiwi("--profile", "extra", "system", "create", "--root", str(root),
                    "--target-dir", str(target), "--temp-dir", str(target / "tmp"), *common)  # fmt: skip
        assert done.code == 1 and len(done.error_lines) == 1, done.err[-2000:]
        assert "No space left on device" in done.error_lines[0]
        assert "Traceback" not in done.err
        assert result_files(target) == []
        assert not list(target.glob(".kiwi-like-staging-*"))
        assert not (target / "tmp").exists() or not list((target / "tmp").iterdir())
    assert mounts() == before


def test_missing_host_tool_names_its_package(description, tmp_path):  # noqa: F811
    """PATH without skopeo: the docker type says which Debian package to install."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for directory in (
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ):
        for tool in Path(directory).iterdir() if Path(directory).is_dir() else []:
            if tool.name != "skopeo" and not (bin_dir / tool.name).exists():
                (bin_dir / tool.name).symlink_to(tool)
    env = dict(os.environ, PATH=str(bin_dir), PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-m", "kiwi_like", "--profile", "extra", "system", "build",
         "--description", str(description), "--target-dir", str(tmp_path / "target"),
         "--shared-cache-dir", str(tmp_path / "cache"), "--config", str(description / "runtime.yml")],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    errors = [line for line in done.stderr.splitlines() if line.startswith("kiwi-like: error:")]
    assert done.returncode == 1
    assert errors == [
        "kiwi-like: error: required program 'skopeo' not found (install the Debian package skopeo)"
    ]
    assert result_files(tmp_path / "target") == []


def test_signature_checks_off_takes_a_setting_and_warns(kiwi, description, tmp_path):  # noqa: F811
    config = description / "config.xml"
    text = config.read_text()
    unsigned = text.replace('<signing key="file://', '<!-- unsigned --><signing key="file://')
    config.write_text(
        unsigned.replace('alias="local"', 'alias="local" repository_gpgcheck="false"')
    )
    done = kiwi("--profile", "extra", "system", "prepare", "--description", str(description),
                "--root", str(tmp_path / "root"), "--shared-cache-dir", str(tmp_path / "cache"),
                "--config", str(description / "runtime.yml"))  # fmt: skip
    assert done.code == 0, done.err
    assert "repository local: signature checks are turned off" in done.err
