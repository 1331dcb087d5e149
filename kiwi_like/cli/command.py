"""What a CLI command is: its docopt grammar and the function that runs it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Command:
    usage: str
    run: Callable[[dict[str, Any]], int]
