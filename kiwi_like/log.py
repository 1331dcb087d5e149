"""Logging set-up: log lines go to stderr (and to --logfile), results to stdout.

As kiwi: `--logfile stdout` (and `terminal`, which build services pass) sends the
full log to standard output instead of the console log; `--logsocket` sends it, as
plain text lines, to a Unix domain socket; `--loglevel` sets the console's level;
`--color-output` colours warnings, errors and debug lines.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import re
import stat
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


class _LogFileHandler(logging.FileHandler):
    """A log file that cannot be written (disk full, /dev/full, a vanished mount) is dropped
    and remembered, instead of logging's "--- Logging error ---" traceback for every
    record: the run then ends with one error line (`failed_logfile`)."""

    def __init__(self, path: Path, what: str) -> None:
        super().__init__(path, encoding="utf-8")
        self.what = what
        self.broken = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.broken:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        # not removed from the logger: that would skip the next handler for this record
        error = sys.exc_info()[1]
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        _failures.append(f"{self.what} {self.baseFilename}: cannot be written ({reason})")
        self.broken = True
        with contextlib.suppress(OSError):  # closing flushes, which fails the same way
            self.close()


_failures: list[str] = []
# the character devices a log may go to: terminals, /dev/null and friends
_LOG_DEVICES = re.compile(r"/dev/(null|zero|full|tty[0-9]*|ttyS[0-9]+|pts/[0-9]+|console)")


def failed_logfile() -> str | None:
    """Why a log file stopped being written during this run, if it did."""
    return _failures[0] if _failures else None


def _full_log(handler: logging.Handler) -> logging.Handler:
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter(FILE_FORMAT))
    handler.addFilter(RedactingFilter())
    return handler


def add_logfile(path: str | Path, what: str = "log file") -> None:
    """Write every record, with time stamps, to `path` (appended).

    Refused in one line, before anything else happens: a missing directory, a directory,
    a block device, a FIFO nobody reads (opening it would hang) and a device that takes
    nothing (a first record is written and flushed at once: /dev/full fails here). A file
    that fills up later ends the run in one line (`failed_logfile`).
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise CommandLineError(
            f"{what} {path}: the log file's directory {path.parent} does not exist"
        )
    try:
        mode = path.stat().st_mode
    except OSError:
        mode = 0  # a new file
    if stat.S_ISDIR(mode) or stat.S_ISBLK(mode) or stat.S_ISSOCK(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "a block device or socket"
        raise CommandLineError(f"{what} {path}: is {kind}, not a log file")
    in_dev = Path("/dev") in path.resolve().parents
    if (stat.S_ISCHR(mode) or in_dev) and not _LOG_DEVICES.fullmatch(str(path.resolve())):
        # /dev/port, /dev/mem or a watchdog would take the log lines as commands; a new
        # file in /dev would shadow a device that appears later
        raise CommandLineError(
            f"{what} {path}: refused, a device or a new file in /dev "
            "(a log goes to a file, a terminal or /dev/null)"
        )
    if stat.S_ISFIFO(mode):
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            raise CommandLineError(f"{what} {path}: a FIFO that nobody reads") from None
    try:
        handler = _LogFileHandler(path, what)
    except OSError as error:
        raise CommandLineError(
            f"{what} {path}: cannot open the log file ({error.strerror or error})"
        ) from None
    log.addHandler(_full_log(handler))
    if mode and not stat.S_ISREG(mode):
        # a device may take nothing at all (/dev/full): a first record shows it now
        log.debug("kiwi-like: log started")
    failure = failed_logfile()
    if failure:
        raise CommandLineError(failure)


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
    _failures.clear()
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
            add_logfile(logfile, "--logfile")
    if logsocket:
        handler = _PlainTextSocketHandler(logsocket, None)
        try:
            handler.sock = handler.makeSocket()
        except OSError as error:
            raise CommandLineError(
                f"--logsocket {logsocket}: cannot connect ({error.strerror or error})"
            ) from None
        log.addHandler(_full_log(handler))
