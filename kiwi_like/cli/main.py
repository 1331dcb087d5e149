"""The kiwi-ng compatible command line: `kiwi-like` and `kiwi-ng`."""

from __future__ import annotations

import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from typing import Any

from docopt import DocoptExit, docopt

from kiwi_like import __version__
from kiwi_like.cli import image_info, options, result, system_create, system_prepare
from kiwi_like.cli.command import Command
from kiwi_like.errors import KiwiLikeError
from kiwi_like.log import log, setup_logging
from kiwi_like.redaction import redact

USAGE = f"""kiwi-like: build bootable appliances from KIWI NG image descriptions

usage: kiwi-ng -h | --help
       kiwi-ng {options.GLOBAL_USAGE.strip()}
           (image|system|result) <command> [<args>...]
       kiwi-ng -v | --version
       kiwi-ng help

commands:
  system build     prepare an image root and create the image from it
  system prepare   prepare an image root
  system create    create the image from a prepared root
  system update    install or delete packages in a prepared root
  result list      list the results of a build
  result bundle    copy results under build-service names
  image info       show the resolved build of a description

global options:
{options.GLOBAL_HELP}
  -v --version                   show the version

Run 'kiwi-ng <service> <command> --help' for a command's options.
"""

COMMANDS: dict[tuple[str, str], Command] = {
    ("image", "info"): image_info.COMMAND,
    ("system", "build"): system_create.BUILD,
    ("system", "prepare"): system_prepare.PREPARE,
    ("system", "create"): system_create.CREATE,
    ("system", "update"): system_prepare.UPDATE,
    ("result", "list"): result.LIST,
    ("result", "bundle"): result.BUNDLE,
}


MAX_ERROR_LENGTH = 500


def _error(message: str) -> int:
    """The one line a user sees: secrets masked, line breaks folded, length bounded."""
    line = " ".join(redact(message).split())
    if len(line) > MAX_ERROR_LENGTH:
        line = line[: MAX_ERROR_LENGTH - 3] + "..."
    print(f"kiwi-like: error: {line}", file=sys.stderr)
    return 1


def _parse(usage: str, argv: Sequence[str], options_first: bool = False) -> dict[str, Any] | int:
    """docopt, with help/version turned into return codes instead of exits."""
    try:
        return dict(
            docopt(usage, argv=list(argv), version=__version__, options_first=options_first)
        )
    except DocoptExit:
        return -1
    except SystemExit as leave:
        return int(leave.code or 0)


class Terminated(KeyboardInterrupt):
    """SIGTERM: unwinds and cleans up exactly like Ctrl-C."""


class _Stopping:
    """The first SIGINT/SIGTERM unwinds the build; later ones must not cut its cleanup short."""

    def __init__(self) -> None:
        self.received: int | None = None

    def __call__(self, signum: int, frame: object) -> None:
        if self.received is not None:
            log.warning("%s received: still cleaning up, please wait", signal.Signals(signum).name)
            return
        self.received = signum
        raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    if threading.current_thread() is not threading.main_thread():
        return _main(argv)  # signals reach the main thread only
    handler = _Stopping()
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _main(argv)
    finally:
        for sig, action in previous.items():
            signal.signal(sig, action)


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["help"]:
        argv = ["--help"]
    top = _parse(USAGE, argv, options_first=True)
    if isinstance(top, int):
        return _error("invalid command line, see 'kiwi-ng --help'") if top < 0 else top
    service = next(s for s in ("image", "system", "result") if top[s])
    command = top["<command>"]
    handler = COMMANDS.get((service, command))
    if handler is None:
        return _error(f"unknown command '{service} {command}', see 'kiwi-ng --help'")
    parsed = _parse(handler.usage, [service, command, *top["<args>"]])
    if isinstance(parsed, int):
        if parsed < 0:
            return _error(f"invalid command line, see 'kiwi-ng {service} {command} --help'")
        return parsed
    args = options.merge(top, parsed)
    try:
        setup_logging(debug=bool(args.get("--debug")), logfile=args.get("--logfile"))
        return handler.run(args)
    except KiwiLikeError as error:
        return _error(str(error))
    except OSError as error:
        return _error(f"{error.strerror or error}: {error.filename or ''}".rstrip(": "))
    except KeyboardInterrupt as interruption:
        terminated = isinstance(interruption, Terminated)
        _error(f"interrupted by {'SIGTERM' if terminated else 'SIGINT'}")
        return 128 + (signal.SIGTERM if terminated else signal.SIGINT)
    except Exception as error:  # a bug: still one line, the traceback only on request
        log.debug("".join(traceback.format_exc()))
        if args.get("--debug"):
            traceback.print_exc()
        return _error(f"internal error: {type(error).__name__}: {error} (rerun with --debug)")


def run() -> None:
    sys.exit(main())
