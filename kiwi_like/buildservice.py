"""The Open Build Service as kiwi knows it: its download server and its build workers.

A build-service worker is recognised as kiwi does, by the file `/.buildenv`. The worker
puts the repositories of the build into `/usr/src/packages/SOURCES/repos/<Project>/<repo>`
(obs-build's kiwi recipe indexes them there: for apt a flat, unsigned repository made
with `dpkg-scanpackages`, plus `dists/<distribution>/main` when the description's first
repository names a distribution).

The root the worker files are looked up in is `/`, or the directory named by the
environment variable `KIWI_LIKE_BUILDSERVICE_ROOT` (the tests simulate a worker there).
This module is a library: the description layer, the runtime config and later stages
may all ask it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

BUILDENV = ".buildenv"
SOURCES = "usr/src/packages/SOURCES"
ROOT_VARIABLE = "KIWI_LIKE_BUILDSERVICE_ROOT"


@dataclass(frozen=True)
class Worker:
    """A build-service worker, seen from `root` (`/` on a real one)."""

    root: Path

    @property
    def repos_dir(self) -> Path:
        return self.root / SOURCES / "repos"

    def repository(self, name: str) -> Path:
        """The directory of `Project/repo` (kiwi's obs:// name, `:/` written as `:`)."""
        return Path(os.path.normpath(self.repos_dir / name.strip("/")))

    def repositories(self) -> list[Path]:
        """Every `Project/repo` directory, in name order, as obs-build's recipe finds them.

        Its compatibility links for old kiwi versions (`Project:/Sub/repo`) are skipped.
        """
        if not self.repos_dir.is_dir():
            return []
        return sorted(
            path
            for path in self.repos_dir.glob("*/*")
            if path.is_dir()
            and not path.is_symlink()
            and not path.parent.is_symlink()
            and not path.parent.name.endswith(":")
        )


def worker_root() -> Path:
    return Path(os.environ.get(ROOT_VARIABLE) or "/")


def worker(root: Path | None = None) -> Worker | None:
    """The worker this build runs in, or None outside the build service."""
    root = worker_root() if root is None else root
    return Worker(root) if (root / BUILDENV).exists() else None
