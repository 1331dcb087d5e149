"""Passwords the build knows about, kept out of every log line and error message.

The description layer registers repository credentials and user passwords when a
build is resolved; the log handlers and the one-line error pass all text
through `redact`. Output of programs that echo a URL with credentials in it is
therefore caught too, whatever program prints it.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

MASK = "***"
MIN_LENGTH = 3  # shorter strings would blank out ordinary words
_known: set[str] = set()


def register(secret: str | None) -> None:
    """Never show `secret` (and its URL-quoted form) in a log or error."""
    if secret and len(secret) >= MIN_LENGTH:
        _known.add(secret)
        _known.add(quote(secret, safe=""))


def redact(text: str) -> str:
    for secret in sorted(_known, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with the secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _known:
            record.msg = redact(record.getMessage())
            record.args = ()
        return True
