"""Why docopt refused a command line, in one line that names the offending argument.

docopt only says "the arguments do not match"; this reads the same usage text and walks
the arguments the way docopt does (long options by unique prefix, `--opt=value` or
`--opt value`, repeatable options marked `...`) to name the first one that is wrong, or
the required option that is missing.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

_OPTION = re.compile(r"(--[A-Za-z0-9][\w-]*)(=<[^>]*>)?(\.\.\.)?")
_SHORT = re.compile(r"(?<![\w-])(-[A-Za-z])(?![\w-])")
_BRACKETS = re.compile(r"\[[^\[\]]*\]")


@dataclass(frozen=True)
class _Option:
    name: str
    argument: str  # "<directory>", "" for a flag
    repeatable: bool


def _usage_part(usage: str) -> str:
    start = usage.lower().find("usage:")
    part = usage[start:] if start >= 0 else usage
    end = part.find("\n\n")
    return part if end < 0 else part[:end]


def _options(usage: str) -> dict[str, _Option]:
    found: dict[str, _Option] = {}
    for match in _OPTION.finditer(_usage_part(usage)):
        name, argument, dots = match.group(1), match.group(2) or "", match.group(3)
        previous = found.get(name)
        found[name] = _Option(
            name, argument[1:] or (previous.argument if previous else ""), bool(dots)
        )
    return found


def _required(usage: str, argv: Sequence[str]) -> list[_Option]:
    """The options outside [brackets] on the usage line that matches the command."""
    options = _options(usage)
    for line in _usage_part(usage).splitlines():
        if "-h | --help" in line or "kiwi-ng" not in line:
            continue
        words = line.split("kiwi-ng", 1)[1].split()
        if words[:2] != list(argv[:2]):
            continue
        while True:  # nested brackets: remove the innermost first
            shorter = _BRACKETS.sub("", line)
            if shorter == line:
                break
            line = shorter
        return [options[m.group(1)] for m in _OPTION.finditer(line) if m.group(1) in options]
    return []


def _all_options(usages: Sequence[str]) -> set[str]:
    return {name for usage in usages for name in _options(usage)}


def _shown(value: str) -> str:
    return value if len(value) <= 60 else value[:57] + "..."


def explain(
    usage: str, argv: Sequence[str], see: str, top: bool = False, later: Sequence[str] = ()
) -> str:
    """The first problem in `argv` against `usage`: the command's usage with
    [service, command, *arguments], or (`top`) kiwi-ng's own with the whole command
    line, whose arguments after the command are the command's (the usages of the
    commands in `later`, for an option put before the command). `see` names the help."""
    words = 2
    options = _options(usage)
    shorts = set(_SHORT.findall(_usage_part(usage)))
    given: dict[str, int] = {}
    positional: list[str] = []
    index = 0
    while index < len(argv):
        argument = argv[index]
        index += 1
        if argument == "--":
            positional += argv[index:]
            break
        if argument.startswith("--"):
            name, equals, _value = argument.partition("=")
            option = options.get(name)
            if option is None:
                matches = [o for o in options if o.startswith(name)]
                if len(matches) > 1:
                    listed = ", ".join(sorted(matches)[:6])
                    return f"option {name} is ambiguous: it could be {listed}; {see}"
                if not matches and top and name in _all_options(later):
                    return (
                        f"option {name} goes after the command: kiwi-ng <service> <command> {name}"
                    )
                if not matches:
                    close = difflib.get_close_matches(name, options, n=1)
                    hint = f" (did you mean {close[0]}?)" if close else ""
                    return f"unknown option {_shown(name)}{hint}; {see}"
                option = options[matches[0]]
            if option.argument and not equals:
                if index >= len(argv):
                    return f"option {option.name} needs a value: {option.name}={option.argument}"
                index += 1
            elif equals and not option.argument:
                return f"option {option.name} takes no value, not '{_shown(argument)}'"
            given[option.name] = given.get(option.name, 0) + 1
            if given[option.name] > 1 and not option.repeatable:
                return f"option {option.name} is given more than once; {see}"
        elif argument.startswith("-") and len(argument) > 1:
            if argument[:2] not in shorts:
                return f"unknown option {_shown(argument)}; {see}"
        else:
            positional.append(argument)
            if top and len(positional) == 1 and argument not in ("image", "system", "result"):
                return f"unknown service '{_shown(argument)}' (image, system or result); {see}"
            if top and len(positional) == words:
                return f"the arguments do not match the usage; {see}"
            if len(positional) > words:
                return f"unexpected argument '{_shown(argument)}'; {see}"
    if not positional:
        return f"missing command, such as 'system build' or 'image info'; {see}"
    if len(positional) < words:
        return f"missing the command after '{_shown(positional[0])}'; {see}"
    for option in _required(usage, positional):
        if option.name not in given:
            return f"missing option {option.name}={option.argument}; {see}"
    return f"the arguments do not match the usage; {see}"
