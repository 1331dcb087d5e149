"""How long each build step took and how much memory the build had used by then.

Steps are grouped into stages (bootstrap, packages, config, initrd, filesystem,
bootloader, compression, results) so builds of different types compare. The
memory figures are high-water marks (getrusage ru_maxrss, KiB) taken when a step
ends: the builder process itself ("self") and the programs it ran ("children").
"""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import Any

STAGES = (
    "bootstrap",
    "packages",
    "config",
    "initrd",
    "filesystem",
    "bootloader",
    "compression",
    "results",
)


@dataclass(frozen=True)
class StepTiming:
    name: str
    seconds: float
    stage: str = "config"
    rss_self_kib: int = 0
    rss_children_kib: int = 0
    skipped: bool = False  # reused from a cache instead of done


def peak_rss() -> tuple[int, int]:
    """(builder process, largest finished child) peak resident set size in KiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return own, children


@dataclass
class Recorder:
    steps: list[StepTiming] = field(default_factory=list)

    @contextmanager
    def step(self, name: str, stage: str) -> Iterator[None]:
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage}")
        started = time.monotonic()
        yield
        own, children = peak_rss()
        self.steps.append(StepTiming(name, time.monotonic() - started, stage, own, children))

    def skipped(self, name: str, stage: str) -> None:
        """A step whose work a cache made unnecessary (recorded with 0 s)."""
        own, children = peak_rss()
        self.steps.append(StepTiming(name, 0.0, stage, own, children, skipped=True))

    def as_json(self) -> list[dict[str, Any]]:
        return [asdict(s) for s in self.steps]


_current: ContextVar[Recorder | None] = ContextVar("kiwi_like_timing", default=None)


@contextmanager
def recording(recorder: Recorder) -> Iterator[Recorder]:
    """Make `recorder` the one `step` reports to inside the block."""
    token = _current.set(recorder)
    try:
        yield recorder
    finally:
        _current.reset(token)


@contextmanager
def step(name: str, stage: str) -> Iterator[None]:
    """Time a step for the active recorder (no recorder: just run the block)."""
    recorder = _current.get()
    if recorder is None:
        yield
        return
    with recorder.step(name, stage):
        yield


def skipped(name: str, stage: str) -> None:
    recorder = _current.get()
    if recorder is not None:
        recorder.skipped(name, stage)


def memory_summary() -> dict[str, int]:
    own, children = peak_rss()
    return {"builder_peak_rss_kib": own, "children_peak_rss_kib": children}
