"""Errors a user can cause. The CLI prints them as one line and exits 1."""

from __future__ import annotations


class KiwiLikeError(Exception):
    """Base of every error that is reported to the user as one line."""


class DescriptionError(KiwiLikeError):
    """Something is wrong with an image description, at a known place if possible."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None) -> None:
        self.file = file
        self.line = line
        self.reason = message
        super().__init__(self._format())

    def _format(self) -> str:
        if self.file and self.line:
            return f"{self.file}:{self.line}: {self.reason}"
        if self.file:
            return f"{self.file}: {self.reason}"
        return self.reason


class CommandLineError(KiwiLikeError):
    """A command-line option has a bad value."""


class ConfigError(KiwiLikeError):
    """The runtime configuration file is unusable."""
