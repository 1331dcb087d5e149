"""Passwords kept out of every log line and error message, masked where they can stand.

A secret is masked by its place, never as a substring of other words: a password
of `linux` leaves `linux-image-amd64` and `/boot/vmlinuz-linux` alone.

* The password of any URL's user-info part (`scheme://user:PASS@host`), whatever
  its value; no registration needed.
* A registered secret (repository and user passwords, see `register`) as the
  whole value of a password-like key: `password=S`, `--password S`,
  `"password": "S"`, apt's `login u password S`; in a command line, also as the
  argument that follows a password-like option (`redact_args`).
* A registered crypt hash (`$6$salt$...`) wherever it stands as a whole token:
  it cannot be mistaken for a word.

kiwi-like hands passwords to programs only in URLs, in files only root can read
(never logged) or on stdin, so these places cover what it writes itself; program
output echoing such URLs or key/value pairs is caught by the same rules.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from urllib.parse import quote, quote_plus, unquote

MASK = "***"
_known: set[str] = set()
_patterns: tuple[re.Pattern[str], ...] | None = None  # built from _known on first use

# user:password@ in a URL; the password runs to the last @ before the path or a space
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*:)[^\s/]+(?=@)")
_KEY = r"[\w.-]*(?:password|passwd|passphrase|pwd|secret|token)"
# key, optional quote, `=`/`:` or spaces, optional quote: what comes before a value
_BEFORE_VALUE = rf"(?<![\w.-])(?i:{_KEY})[\"']?(?:\s*[:=]\s*|\s+)[\"']?"
_AFTER_VALUE = r"(?=$|[\s\"',;&)\]}])"  # the value ends here: not `-`, `.`, `/`, a letter
_OPTION = re.compile(rf"-{{1,2}}(?i:{_KEY})")
_CRYPT = re.compile(r"\$[0-9a-z]+\$\S+")
_CRYPT_EDGE = r"[\w./$]"


def register(secret: str | None) -> None:
    """Mask `secret` (also URL-quoted or unquoted) where a password can stand."""
    global _patterns
    if not secret:
        return
    for form in (secret, unquote(secret)):
        _known.update({form, quote(form, safe=""), quote(form), quote_plus(form)})
    _patterns = None


def redact(text: str) -> str:
    """`text` with URL passwords and registered secrets in their places masked."""
    text = _URL_PASSWORD.sub(rf"\g<head>{MASK}", text)
    for pattern in _compiled():
        text = pattern.sub(lambda match: match.group("before") + MASK, text)
    return text


def redact_args(args: Sequence[str]) -> list[str]:
    """A command line masked argument by argument (for logs and errors)."""
    masked = []
    for index, arg in enumerate(args):
        after_option = index > 0 and _OPTION.fullmatch(args[index - 1]) is not None
        masked.append(MASK if after_option and arg in _known else redact(arg))
    return masked


def _compiled() -> tuple[re.Pattern[str], ...]:
    global _patterns
    if _patterns is None:
        forms = "|".join(re.escape(s) for s in sorted(_known, key=len, reverse=True))
        hashes = "|".join(re.escape(s) for s in _known if _CRYPT.fullmatch(s))
        _patterns = tuple(
            re.compile(pattern)
            for pattern in (
                rf"(?P<before>{_BEFORE_VALUE})(?:{forms}){_AFTER_VALUE}" if forms else "",
                rf"(?P<before>)(?<!{_CRYPT_EDGE})(?:{hashes})(?!{_CRYPT_EDGE})" if hashes else "",
            )
            if pattern
        )
    return _patterns


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with the secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        return True
