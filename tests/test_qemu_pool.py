"""The boot pool of tests/qemu.py: how many QEMUs run at once, in which order, and stop_all.

A stand-in `qemu-system-x86_64` on PATH (a shell script) logs when it starts and
ends, prints a BOOT-OK line and exits, so these tests need no emulator.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests import qemu

STAND_IN = """#!/bin/sh
echo "start $$ $(date +%s.%N)" >> "$KL_LOG"
sleep "$KL_SECONDS"
echo "BOOT-OK fw=bios"
echo "end $$ $(date +%s.%N)" >> "$KL_LOG"
"""


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The log the stand-in QEMU writes; each run takes KL_SECONDS (1 unless changed)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "qemu-system-x86_64"
    script.write_text(STAND_IN)
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    log = tmp_path / "log"
    log.touch()
    monkeypatch.setenv("KL_LOG", str(log))
    monkeypatch.setenv("KL_SECONDS", "1")
    return log


def _most_at_once(log: Path) -> int:
    events = sorted(
        (float(when), what) for what, _, when in map(str.split, log.read_text().splitlines())
    )
    running = most = 0
    for _, what in events:
        running += 1 if what == "start" else -1
        most = max(most, running)
    return most


def test_background_boots_run_slots_at_once(stand_in: Path) -> None:
    boots = qemu.Boots()
    for key in range(2 * qemu.SLOTS):
        boots.start(key)  # all wait for a slot at once
    results = [boots[key] for key in range(2 * qemu.SLOTS)]
    assert all(result.marker and result.returncode == 0 for result in results)
    assert _most_at_once(stand_in) == qemu.SLOTS
    assert max(result.waited for result in results) > 0.5  # the second round queued


def test_a_job_keeps_its_place_for_its_next_boot(stand_in: Path) -> None:
    """A job that boots twice in turn gets its second slot before jobs started after it."""
    boots = qemu.Boots()
    boots.start_job("chain", lambda: [qemu.boot(), qemu.boot()])
    deadline = time.monotonic() + 60  # until the chain's first boot holds a slot
    while not stand_in.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    later = range(2 * qemu.SLOTS)
    for key in later:
        boots.start(key)
    first, second = boots["chain"]
    results = [boots[key] for key in later]
    assert first.marker and second.marker and all(result.marker for result in results)
    assert second.waited < 0.5  # the slot its first boot left, not the end of the queue
    assert _most_at_once(stand_in) == qemu.SLOTS


def test_stop_all_stops_running_and_waiting_boots(
    stand_in: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KL_SECONDS", "600")
    boots = qemu.Boots()
    for key in range(qemu.SLOTS + 1):
        boots.start(key)
    deadline = time.monotonic() + 60  # until the first ones run (the machine may be busy)
    while stand_in.read_text().count("start") < qemu.SLOTS and time.monotonic() < deadline:
        time.sleep(0.1)
    started = time.monotonic()
    qemu.stop_all()
    assert time.monotonic() - started < 30
    running = [boots[key] for key in range(qemu.SLOTS)]
    assert all(result.marker is None and result.returncode is None for result in running)
    with pytest.raises(RuntimeError, match="ended before this boot got a slot"):
        boots[qemu.SLOTS]
    monkeypatch.setenv("KL_SECONDS", "1")
    assert qemu.boot(timeout=30).marker  # the pool works again afterwards
