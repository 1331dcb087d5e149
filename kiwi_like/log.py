"""Logging set-up: log lines go to stderr (and to --logfile), results to stdout.

As kiwi: `--logfile stdout` (and `terminal`, which build services pass) sends the
full log to standard output instead of the console log; `--logsocket` sends it, as
plain text lines, to a Unix domain socket; `--loglevel` sets the console's level;
`--color-output` colours warnings, errors and debug lines.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from kiwi_like.errors import CommandLineError
from kiwi_like.redaction import RedactingFilter

log = logging.getLogger("kiwi_like")

STDOUT_NAMES = ("stdout", "terminal")
FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
RESET = "\033[0m"
# kiwi's ColorFormatter: errors red, warnings yellow, debug lines light
RED, YELLOW, LIGHT = "\033[3;31m", "\033[3;33m", "\033[2;37m"


def _color(levelno: int) -> str | None:
    if levelno >= logging.ERROR:
        return RED
    if levelno >= logging.WARNING:
        return YELLOW
    return LIGHT if levelno <= logging.DEBUG else None


class _ConsoleFormatter(logging.Formatter):
    def __init__(self, color: bool = False) -> None:
        super().__init__()
        self.color = color

    def format(self, record: logging.LogRecord) -> str:
        line = f"[ {record.levelname:<7} ] {record.getMessage()}"
        color = _color(record.levelno) if self.color else None
        return f"{color}{line}{RESET}" if color else line


class _PlainTextSocketHandler(logging.handlers.SocketHandler):
    """kiwi's PlainTextSocketHandler: the formatted line as bytes, no pickle."""

    def makePickle(self, record: logging.LogRecord) -> bytes:  # noqa: N802 (logging's name)
        return (self.format(record) + "\n").encode()


def parse_loglevel(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise CommandLineError(f"--loglevel must be a number, not '{value}'") from None


def color_error(line: str) -> str:
    return f"{RED}{line}{RESET}"


def _full_log(handler: logging.Handler) -> logging.Handler:
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter(FILE_FORMAT))
    handler.addFilter(RedactingFilter())
    return handler


def add_logfile(path: str | Path) -> None:
    """Write every record, with time stamps, to `path` (appended)."""
    log.addHandler(_full_log(logging.FileHandler(path, encoding="utf-8")))


def setup_logging(
    debug: bool = False,
    logfile: str | None = None,
    *,
    loglevel: int | None = None,
    logsocket: str | None = None,
    color: bool = False,
) -> None:
    for handler in log.handlers:
        handler.close()  # the files and the socket of an earlier run in this process
    log.handlers.clear()
    log.setLevel(logging.DEBUG)
    log.propagate = False
    if logfile in STDOUT_NAMES:
        log.addHandler(_full_log(logging.StreamHandler(sys.stdout)))
    else:
        console = logging.StreamHandler(sys.stderr)
        default = logging.DEBUG if debug else logging.INFO
        console.setLevel(loglevel if loglevel is not None else default)
        console.setFormatter(_ConsoleFormatter(color))
        console.addFilter(RedactingFilter())
        log.addHandler(console)
        if logfile:
            add_logfile(logfile)
    if logsocket:
        handler = _PlainTextSocketHandler(logsocket, None)
        try:
            handler.sock = handler.makeSocket()
        except OSError as error:
            raise CommandLineError(
                f"--logsocket {logsocket}: cannot connect ({error.strerror or error})"
            ) from None
        log.addHandler(_full_log(handler))
