"""Build steps whose failure is reported as one line naming the step."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from kiwi_like import run as runner
from kiwi_like.errors import KiwiLikeError


@contextmanager
def step(what: str) -> Iterator[None]:
    """Turn a failed program into "<what> failed (exit code N): <its last output lines>"."""
    try:
        yield
    except runner.CommandError as error:
        shown = " | ".join(line.strip() for line in error.tail if line.strip())
        message = f"{what} failed (exit code {error.returncode})"
        raise KiwiLikeError(message + (f": {shown}" if shown else "")) from None
