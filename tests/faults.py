"""Interrupt a real kiwi-like run at a chosen moment and look at what it left behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import REPO

RESULT_SUFFIXES = (".raw", ".iso", ".tar", ".xz", ".zst", ".gz", ".qcow2", ".packages",
                   ".verified", ".sha256", ".json")  # fmt: skip


def mounts() -> set[str]:
    """Mount points of this mount namespace and of PID 1's."""
    lines = Path("/proc/self/mountinfo").read_text().splitlines()
    lines += Path("/proc/1/mountinfo").read_text().splitlines()
    return {line.split()[4] for line in lines}


def loop_devices() -> str:
    return subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout


def processes_mentioning(*needles: Path) -> list[str]:
    """Processes whose command line names one of `needles`, or whose root or working
    directory is below one (a scriptlet chrooted into the image names no path)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            places = [os.readlink(proc / "root"), os.readlink(proc / "cwd")]
        except OSError:
            continue
        inside = [p for p in places for n in needles if (p + "/").startswith(f"{n}/")]
        if inside or any(str(needle) in cmdline for needle in needles):
            found.append(f"{proc.name}: {cmdline} (in {inside or places})")
    return found


@dataclass
class Outcome:
    returncode: int
    stderr: str
    new_mounts: set[str]
    new_loops: list[str]
    lines_seen: list[str] = field(default_factory=list)


def interrupt(
    argv: list[str],
    trigger: str,
    signals: list[signal.Signals],
    *,
    ready: Path | None = None,
    delay: float = 0.0,
    timeout: float = 600,
) -> Outcome:
    """Run the CLI; once a stderr line matches `trigger` (and `ready` exists), send `signals`."""
    before_mounts, before_loops = mounts(), loop_devices()
    process = subprocess.Popen(
        [sys.executable, "-m", "kiwi_like", *argv],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )  # fmt: skip
    lines: list[str] = []
    triggered = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line.rstrip("\n"))
            if re.search(trigger, line):
                triggered.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    while not (triggered.is_set() and (ready is None or ready.exists())):
        if process.poll() is not None:
            reader.join(5)
            raise AssertionError(f"the run ended before '{trigger}':\n" + "\n".join(lines[-30:]))
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"'{trigger}' never came")
        time.sleep(0.05)
    time.sleep(delay)
    if process.poll() is not None:
        raise AssertionError("the run ended before the signal:\n" + "\n".join(lines[-30:]))
    for number, sig in enumerate(signals):
        if number:
            time.sleep(0.3)
        process.send_signal(sig)
    try:
        process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    reader.join(10)
    loops = [line for line in loop_devices().splitlines() if line not in before_loops]
    return Outcome(process.returncode, "\n".join(lines), mounts() - before_mounts, loops, lines)


def result_files(target: Path) -> list[str]:
    """Files in the target directory that a pipeline could take for results."""
    if not target.exists():
        return []
    return sorted(p.name for p in target.iterdir() if p.name.endswith(RESULT_SUFFIXES))
