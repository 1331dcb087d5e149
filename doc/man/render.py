"""Write the kiwi-like(8) manual page: doc/man/kiwi-like.8.in with the commands and their
options filled in from the program's own --help texts, so the page cannot fall behind.

    python doc/man/render.py doc/man/kiwi-like.8.in > kiwi-like.8

The date is that of SOURCE_DATE_EPOCH (dpkg-buildpackage sets it from debian/changelog),
else today's. Run with the python that has kiwi_like and its libraries importable.
"""

from __future__ import annotations

import os
import re
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from kiwi_like import __version__  # noqa: E402
from kiwi_like.cli.main import COMMANDS, USAGE  # noqa: E402

MARKER = '.\\" @COMMANDS@'


def escape(text: str) -> str:
    """Plain text for roff: backslashes and minus signs escaped, no control line."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + text if text[:1] in (".", "'") else text


def block(help_text: str, title: str) -> list[str]:
    """The lines of one part of a help text ("usage:", "options:", ...), up to a blank line."""
    lines = help_text.splitlines()
    for number, line in enumerate(lines):
        if line.startswith(title):
            first = " " * len(title) + line[len(title) :]
            part = [first] if first.strip() else []
            for following in lines[number + 1 :]:
                if not following.strip():
                    break
                part.append(following)
            return textwrap.dedent("\n".join(part)).splitlines()
    return []


def items(lines: list[str]) -> Iterator[tuple[str, str]]:
    """(option, explanation) of the lines of an options block; continuations joined."""
    current: list[str] = []
    for line in lines:
        match = re.match(r"^ {1,3}(-\S+(?: -\S+)*)(?:\s+(.*))?$", line)
        if match:
            if current:
                yield current[0], " ".join(current[1:])
            current = [match[1].strip(), (match[2] or "").strip()]
        elif current:
            current.append(line.strip())
    if current:
        yield current[0], " ".join(current[1:])


def option_tag(option: str) -> str:
    """`--name=<value>` in bold with the value in italics."""
    parts = re.split(r"(<[^>]*>)", option)
    return "".join(
        f"\\fI{escape(part)}\\fR" if part.startswith("<") else f"\\fB{escape(part)}\\fR"
        for part in parts
        if part
    )


def entries(pairs: Iterator[tuple[str, str]] | list[tuple[str, str]]) -> list[str]:
    out = []
    for option, explanation in pairs:
        out += [".TP", option_tag(option), escape(explanation)]
    return out


def generated() -> list[str]:
    out = [".SH COMMANDS"]
    for line in block(USAGE, "commands:"):
        name, _, explanation = line.strip().partition("  ")
        out += [".TP", f"\\fB{escape(name)}\\fR", escape(explanation.strip())]
    global_options = list(items(block(USAGE, "global options:")))
    out += [".SH GLOBAL OPTIONS", "They may be given before the service name or after the command."]
    out += entries(global_options)
    out += [".SH COMMAND OPTIONS", "Each command also takes the global options its usage names."]
    shared = {option for option, _ in global_options}
    for (service, command), handler in COMMANDS.items():
        out += [f'.SS "{service} {command}"', ".nf"]
        out += [escape(line) for line in block(handler.usage, "usage:")]
        out += [".fi"]
        own = [pair for pair in items(block(handler.usage, "options:")) if pair[0] not in shared]
        out += entries(own)
    return out


def render(template: str) -> str:
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH") or time.time())
    date = time.strftime("%Y-%m-%d", time.gmtime(epoch))
    text = template.replace("@VERSION@", __version__).replace("@DATE@", date)
    if MARKER not in text:
        raise SystemExit(f"render.py: the template has no line {MARKER}")
    return text.replace(MARKER, "\n".join(generated()))


if __name__ == "__main__":
    sys.stdout.write(render(Path(sys.argv[1]).read_text(encoding="utf-8")))
