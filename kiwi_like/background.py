"""Work done beside the build's main line, on the other core.

The function runs in a thread with the caller's context (timing recorder,
reproducible settings), so its steps are recorded as if it ran in line. Leaving
the block waits for it: no thread outlives the step that started it, also when
the block fails.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


@contextmanager
def beside(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Iterator[Future[T]]:
    """Run `function(*args, **kwargs)` in a thread while the block runs; yield its future."""
    context = contextvars.copy_context()

    def in_context() -> T:
        return context.run(function, *args, **kwargs)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=function.__name__) as pool:
        yield pool.submit(in_context)
