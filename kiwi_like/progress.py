"""Progress of long package operations: a live line on a terminal, log lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from kiwi_like.log import log

LOG_EVERY_SECONDS = 10.0


class Progress:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self._last_log = 0.0
        self._active = False

    def update(self, done: int, total: int, what: str) -> None:
        text = f"[{done:>4}/{total}] {what}"
        if self.interactive:
            self.stream.write("\r\033[K" + text[:120])
            self.stream.flush()
            self._active = True
        elif time.monotonic() - self._last_log >= LOG_EVERY_SECONDS or done == total:
            self._last_log = time.monotonic()
            log.info("  %s", text)

    def finish(self) -> None:
        if self._active:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._active = False
