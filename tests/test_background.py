"""Work beside the main line (kiwi_like/background.py), and what a command imports at start."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from kiwi_like import timing
from kiwi_like.background import beside


def _timed_step() -> str:
    with timing.step("beside", "bootloader"):
        return threading.current_thread().name


def test_steps_in_the_thread_are_recorded_by_the_callers_recorder():
    recorder = timing.Recorder()
    with timing.recording(recorder), beside(_timed_step) as future:
        name = future.result()
    assert name != threading.current_thread().name
    assert [(step.name, step.stage) for step in recorder.steps] == [("beside", "bootloader")]


def test_a_failing_block_still_waits_for_the_thread():
    finished = threading.Event()

    def slow() -> None:
        time.sleep(0.3)
        finished.set()

    with pytest.raises(RuntimeError), beside(slow):
        raise RuntimeError("the main line failed")
    assert finished.is_set()  # no thread outlives the block


def test_the_threads_error_reaches_the_caller():
    def failing() -> None:
        raise ValueError("grub-mkimage failed")

    with pytest.raises(ValueError, match="grub-mkimage failed"), beside(failing) as future:
        future.result()


def test_a_command_does_not_import_the_xsd_validator_at_start():
    """xmlschema (a quarter of a second) is imported only for a description RelaxNG rejects."""
    probe = "import sys, kiwi_like.cli.main; print('xmlschema' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
