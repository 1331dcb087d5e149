"""KIWI NG 11.1.6 in a venv of its own, made once under the shared test cache.

The reference tests (test_kiwi_reference, test_kiwi_cli_reference) compare kiwi-like with
kiwi itself; kiwi is never a dependency of kiwi-like. Without PyPI the tests are skipped,
saying so.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, SHARED_CACHE

KIWI = "kiwi==11.1.6"
PIP_TIMEOUT = 900  # seconds for one pip call


def cache_root() -> Path:
    """The shared test cache if this user may write it, else the checkout's build/.

    KIWI_LIKE_TEST_KIWI_REFERENCE names another directory (one made on a host with a
    network, say).
    """
    chosen = os.environ.get("KIWI_LIKE_TEST_KIWI_REFERENCE")
    candidates = [Path(chosen)] if chosen else []
    candidates += [SHARED_CACHE / "kiwi-reference", REPO / "build" / "kiwi-reference"]
    for root in candidates:
        try:
            root.mkdir(parents=True, exist_ok=True)
            (root / ".writable").touch()
        except OSError:
            continue
        return root
    pytest.skip("no writable cache directory for the kiwi reference")


@contextmanager
def locked(root: Path) -> Iterator[None]:
    """One test session at a time makes the cache."""
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def run(argv: list[str], timeout: int, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )


def last_line(process: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in (process.stderr + process.stdout).splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"exit status {process.returncode}"


def pip(venv: Path, *args: str) -> None:
    """pip of the reference venv; PyPI out of reach skips the test."""
    argv = [str(venv / "bin/python"), "-m", "pip", *args, "--timeout", "60", "--retries", "2"]
    try:
        process = run(argv, PIP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.skip(f"PyPI cannot be reached: pip {args[0]} {KIWI} took over {PIP_TIMEOUT} s")
    if process.returncode != 0:
        pytest.skip(f"PyPI cannot be reached: pip {args[0]} {KIWI}: {last_line(process)}")


def kiwi_venv(root: Path) -> Path:
    """A venv with kiwi installed (call it with `locked(root)` held)."""
    venv = root / "venv"
    done = venv / ".kiwi-installed"
    if done.is_file():
        check = run([str(venv / "bin/python"), "-c", "import kiwi.xml_state"], 120)
        if check.returncode == 0 and (venv / "bin/kiwi-ng").is_file():
            return venv
    shutil.rmtree(venv, ignore_errors=True)
    process = run([sys.executable, "-m", "venv", str(venv)], PIP_TIMEOUT)
    assert process.returncode == 0, f"python -m venv: {last_line(process)}"
    pip(venv, "install", "--quiet", KIWI)
    done.touch()
    return venv
