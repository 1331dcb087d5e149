"""Translate repository source URIs into what a package manager can use."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from kiwi_like import redaction
from kiwi_like.errors import DescriptionError

HOST_SOURCES = "host://"
REMOTE_SCHEMES = ("http", "https", "ftp")


def translate(source: str, description_dir: Path, obs_download_url: str | None) -> str:
    """Return the source as a remote URL or a `dir://` absolute path."""
    if source.startswith("obsrepositories:"):
        raise DescriptionError(
            "obsrepositories:/ stands for the repositories of an Open Build Service "
            "project; outside of it use --ignore-repos with --add-repo"
        )
    if source.startswith("/"):
        return "dir://" + source
    scheme = source.split("://", 1)[0] if "://" in source else ""
    rest = source[len(scheme) + 3 :]
    if scheme in REMOTE_SCHEMES:
        if not urlsplit(source).netloc:
            raise DescriptionError(f"repository source '{redact(source)}' has no host name")
        return source
    if scheme in ("file", "dir"):
        if not rest.startswith("/"):
            raise DescriptionError(f"repository source '{source}' must be an absolute path")
        return "dir://" + rest
    if scheme == "this":
        return "dir://" + str((description_dir / rest).resolve())
    if scheme == "obs":
        if not obs_download_url:
            raise DescriptionError(
                f"repository source '{source}' needs obs.download_url in the runtime config"
            )
        return f"{obs_download_url}/{re.sub(r':(?!/)', ':/', rest.strip('/'))}"
    raise DescriptionError(
        f"repository source '{redact(source)}': unsupported URI scheme "
        "(use http, https, ftp, file, dir, this, obs, host or an absolute path)"
    )


def redact(uri: str) -> str:
    """Hide a password given in a URI's user-info part (the rule every log line follows)."""
    return redaction.redact(uri)
