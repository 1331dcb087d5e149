"""Child kiwi-like commands running side by side, for `system build-all`.

Each job is one program run by `kiwi_like.run` in a thread of its own; the outcomes
come back through one queue. On Ctrl-C or SIGTERM every running job's process group
gets SIGTERM (kiwi-like children unwind and clean up as after their own Ctrl-C), then
SIGKILL if it has not ended after a grace period.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from kiwi_like import run as runner
from kiwi_like.log import log

ERROR_PREFIX = "kiwi-like: error: "
STOP_GRACE = 60  # seconds a child may take to clean up before SIGKILL


@dataclass(frozen=True)
class Job:
    name: str  # the selection
    step: str  # prepare or create
    argv: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    job: Job
    returncode: int
    seconds: float
    error: str  # the child's error line, without its prefix; "" if it gave none


class Jobs:
    def __init__(self) -> None:
        self._done: queue.Queue[Outcome] = queue.Queue()
        self._pids: dict[Job, int] = {}
        self._lock = threading.Lock()
        self._stopping = False
        self.running: list[Job] = []

    def start(self, job: Job) -> None:
        self.running.append(job)
        threading.Thread(target=self._run, args=(job,), name=job.name, daemon=True).start()

    def _run(self, job: Job) -> None:
        errors: list[str] = []
        started = time.monotonic()

        def line(text: str) -> None:
            if text.startswith(ERROR_PREFIX):
                errors.append(text[len(ERROR_PREFIX) :])
            elif text.strip():
                log.info("  %s %s: %s", job.name, job.step, text)

        def register(pid: int) -> None:
            with self._lock:
                self._pids[job] = pid
                if self._stopping:  # started while stop() was signalling the others
                    os.killpg(pid, signal.SIGTERM)

        try:
            result = runner.run(job.argv, check=False, on_line=line, started=register)
            code = result.returncode
        except Exception as error:  # noqa: BLE001 - the job fails, the others go on
            code, errors = 1, [str(error)]
        with self._lock:
            self._pids.pop(job, None)
        self._done.put(Outcome(job, code, time.monotonic() - started, errors[-1] if errors else ""))

    def wait(self) -> Outcome:
        """The next job to end (the wait can be interrupted by Ctrl-C)."""
        while True:
            try:
                outcome = self._done.get(timeout=1)
            except queue.Empty:
                continue
            self.running.remove(outcome.job)
            return outcome

    def stop(self) -> list[Outcome]:
        """Stop every running job and wait for them; their outcomes."""
        self._signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        stopped: list[Outcome] = []
        while self.running:
            try:
                outcome = self._done.get(timeout=1)
            except queue.Empty:
                if time.monotonic() > deadline:
                    self._signal(signal.SIGKILL)
                    deadline = float("inf")
                continue
            except KeyboardInterrupt:
                continue  # a second Ctrl-C must not leave children behind
            self.running.remove(outcome.job)
            stopped.append(outcome)
        return stopped

    def _signal(self, sig: int) -> None:
        with self._lock:
            self._stopping = True
            groups: Sequence[int] = list(self._pids.values())
        for group in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, sig)
