"""Logging set-up: log lines go to stderr (and to --logfile), results to stdout."""

from __future__ import annotations

import logging
import sys

from kiwi_like.redaction import RedactingFilter

log = logging.getLogger("kiwi_like")


class _ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"[ {record.levelname:<7} ] {record.getMessage()}"


def setup_logging(debug: bool = False, logfile: str | None = None) -> None:
    log.handlers.clear()
    log.setLevel(logging.DEBUG)
    log.propagate = False
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.DEBUG if debug else logging.INFO)
    console.setFormatter(_ConsoleFormatter())
    console.addFilter(RedactingFilter())
    log.addHandler(console)
    if logfile:
        handler = logging.FileHandler(logfile, encoding="utf-8")
        handler.setLevel(logging.DEBUG)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(RedactingFilter())
        log.addHandler(handler)
