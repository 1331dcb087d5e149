"""Network boots of kis files: QEMU loads the kernel and initrd (as a PXE loader would) and
the guest fetches the rest from a test HTTP server holding the directory."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.http_server import serving
from tests.qemu import GUEST_HTTP, MARKER, Answer, BootResult, boot


@dataclass(frozen=True)
class NetBoot:
    result: BootResult
    requested: tuple[str, ...]  # what the guest fetched from the test HTTP server


def netboot(
    directory: Path,
    name: str,
    *,
    answers: Sequence[Answer] = (),
    target: Path | None = None,
    marker: re.Pattern[str] | None = MARKER,
    timeout: float = 600,
) -> NetBoot:
    """Boots `name`.kernel and .initrd with the .append line, `{server}` in it being the
    test HTTP server that holds `directory`; the root image lives in RAM, hence 1536 MB."""
    append = (directory / f"{name}.append").read_text().strip()
    with serving(directory) as (port, requested):
        result = boot(
            kernel=directory / f"{name}.kernel", initrd=directory / f"{name}.initrd",
            append=append.replace("{server}", GUEST_HTTP), http_port=port, target=target,
            memory=1536, marker=marker, answers=answers, timeout=timeout,
        )  # fmt: skip
    return NetBoot(result, tuple(requested))
