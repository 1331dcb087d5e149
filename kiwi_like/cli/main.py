"""The kiwi-ng compatible command line: `kiwi-like` and `kiwi-ng`."""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from typing import Any

from docopt import DocoptExit, docopt

from kiwi_like import __version__
from kiwi_like.cli import (
    build_all,
    image_info,
    image_resize,
    options,
    result,
    system_create,
    system_prepare,
)
from kiwi_like.cli.command import Command
from kiwi_like.cli.logfile import check_logfile
from kiwi_like.cli.usage_error import explain
from kiwi_like.description import sanity
from kiwi_like.errors import CommandLineError, KiwiLikeError
from kiwi_like.log import color_error, failed_logfile, log, parse_loglevel, setup_logging
from kiwi_like.prepare import scripts
from kiwi_like.redaction import redact

USAGE = f"""kiwi-like: build bootable appliances from KIWI NG image descriptions

usage: kiwi-ng -h | --help
       kiwi-ng {options.GLOBAL_USAGE.strip()}
           (image|system|result) <command> [<args>...]
       kiwi-ng -v | --version
       kiwi-ng help

commands:
  system build     prepare an image root and create the image from it
  system build-all build every profile and type of a description (kiwi-like only)
  system prepare   prepare an image root
  system create    create the image from a prepared root
  system update    install or delete packages in a prepared root
  result list      list the results of a build
  result bundle    copy results under build-service names
  image info       show the resolved build of a description
  image resize     grow a raw disk result to a new size

global options:
{options.GLOBAL_HELP}
  -v --version                   show the version

Run 'kiwi-ng <service> <command> --help' (or 'help') for a command's options.
"""

COMMANDS: dict[tuple[str, str], Command] = {
    ("image", "info"): image_info.COMMAND,
    ("image", "resize"): image_resize.COMMAND,
    ("system", "build"): system_create.BUILD,
    ("system", "build-all"): build_all.BUILD_ALL,
    ("system", "prepare"): system_prepare.PREPARE,
    ("system", "create"): system_create.CREATE,
    ("system", "update"): system_prepare.UPDATE,
    ("result", "list"): result.LIST,
    ("result", "bundle"): result.BUNDLE,
}


# kiwi 11 commands kiwi-like does not have, with the reason
REFUSED_COMMANDS = {
    ("system", "boxbuild"): "it builds inside a kiwi box virtual machine; "
    "run kiwi-like on the build host or in a container instead",
    ("system", "stackbuild"): "it builds from kiwi stash containers, which kiwi-like does not make",
    ("system", "stash"): "kiwi stash containers are not supported; keep the image root instead",
}

MAX_ERROR_LENGTH = 500


def _needs_root(service: str, command: str, args: dict[str, Any]) -> bool:
    """kiwi's Privileges.check_for_root_permissions: every system command (they mount,
    chroot and install), and result bundle when it builds an rpm."""
    if service == "system":
        return True
    return (service, command) == ("result", "bundle") and bool(args.get("--package-as-rpm"))


def _error(message: str, color: bool = False) -> int:
    """The one line a user sees: secrets masked, line breaks folded, length bounded."""
    line = " ".join(redact(message).split())
    if len(line) > MAX_ERROR_LENGTH:
        line = line[: MAX_ERROR_LENGTH - 3] + "..."
    line = f"kiwi-like: error: {line}"
    log.debug("%s", line)  # into --logfile and image-root.log too
    print(color_error(line) if color else line, file=sys.stderr)
    return 1


def _setenv(args: dict[str, Any]) -> dict[str, str]:
    variables = {}
    for assignment in args.get("--setenv") or []:
        name, equals, value = assignment.partition("=")
        if not equals or not name:
            raise CommandLineError(f"--setenv: expected variable=value, not '{assignment}'")
        sanity.refuse_unless("--setenv", sanity.ENVIRONMENT_NAME, name)
        variables[name] = value
    return variables


# Paths reach command lines and files too: no control characters (a newline in --root
# would end up in the state file, log lines and the programs' arguments)
PATH_OPTIONS = (
    "--description", "--root", "--target-dir", "--bundle-dir", "--temp-dir",
    "--shared-cache-dir", "--config", "--kiwi-file", "--logfile", "--logsocket",
)  # fmt: skip


def _run(handler: Command, args: dict[str, Any]) -> int:
    for option in PATH_OPTIONS:
        if isinstance(args.get(option), str):
            sanity.refuse_unless(option, sanity.ANY_TEXT, args[option])
    check_logfile(args)
    setup_logging(
        debug=bool(args.get("--debug")),
        logfile=args.get("--logfile"),
        loglevel=parse_loglevel(args.get("--loglevel")),
        logsocket=args.get("--logsocket"),
        color=bool(args.get("--color-output")),
    )
    if args.get("--debug-run-scripts-in-screen"):
        raise CommandLineError(
            "--debug-run-scripts-in-screen is not supported: kiwi-like runs the "
            "description's scripts without a terminal (their output is in the log)"
        )
    variables = _setenv(args)
    for name, value in variables.items():
        log.info("--> Set Env[%s]=%s", name, value)
    with scripts.exported(variables):
        code = handler.run(args)
    failure = failed_logfile()
    if failure and code == 0:  # the work is done, but its log is incomplete
        raise CommandLineError(f"{failure}: the log is incomplete")
    return code


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


def main(argv: Sequence[str] | None = None, *, exiting: bool = False) -> int:
    """`exiting`: the process ends right after (the command line): once interrupted, it
    ignores signals to the end, so a late one cannot change the exit code (a Python
    handler would be reset while the interpreter shuts down; SIG_IGN stays)."""
    if threading.current_thread() is not threading.main_thread():
        return _main(argv)  # signals reach the main thread only
    handler = _Stopping()
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _main(argv)
    finally:
        for sig, action in previous.items():
            interrupted = exiting and handler.received is not None
            signal.signal(sig, signal.SIG_IGN if interrupted else action)


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["help"]:
        argv = ["--help"]
    top = _parse(USAGE, argv, options_first=True)
    if isinstance(top, int):
        if top >= 0:
            return top
        later = [handler.usage for handler in COMMANDS.values()]
        return _error(explain(USAGE, argv, "see 'kiwi-ng --help'", top=True, later=later))
    service = next(s for s in ("image", "system", "result") if top[s])
    command = top["<command>"]
    handler = COMMANDS.get((service, command))
    if (service, command) in REFUSED_COMMANDS:
        reason = REFUSED_COMMANDS[(service, command)]
        return _error(f"'{service} {command}' is not supported: {reason}")
    if handler is None:
        return _error(f"unknown command '{service} {command}', see 'kiwi-ng --help'")
    if top["<args>"] == ["help"]:  # kiwi: `kiwi-ng system build help` shows the manual
        top["<args>"] = ["--help"]
    parsed = _parse(handler.usage, [service, command, *top["<args>"]])
    if isinstance(parsed, int):
        if parsed < 0:
            see = f"see 'kiwi-ng {service} {command} --help'"
            return _error(explain(handler.usage, [service, command, *top["<args>"]], see))
        return parsed
    args = options.merge(top, parsed)
    color = bool(args.get("--color-output"))
    if _needs_root(service, command, args) and os.geteuid() != 0:
        # before anything is created: kiwi's own words
        return _error(f"{service} {command}: operation requires root permissions", color)
    try:
        return _run(handler, args)
    except KiwiLikeError as error:
        return _error(str(error), color)
    except OSError as error:
        return _error(f"{error.strerror or error}: {error.filename or ''}".rstrip(": "), color)
    except KeyboardInterrupt as interruption:
        terminated = isinstance(interruption, Terminated)
        _error(f"interrupted by {'SIGTERM' if terminated else 'SIGINT'}", color)
        return 128 + (signal.SIGTERM if terminated else signal.SIGINT)
    except Exception as error:  # a bug: still one line, the traceback only on request
        log.debug("".join(traceback.format_exc()))
        if args.get("--debug"):
            traceback.print_exc()
        message = f"internal error: {type(error).__name__}: {error} (rerun with --debug)"
        return _error(message, color)


def run() -> None:
    try:
        sys.exit(main(exiting=True))
    except BrokenPipeError:
        # the reader went away (`kiwi-ng --help | head`): stop quietly, as a pipe expects
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
