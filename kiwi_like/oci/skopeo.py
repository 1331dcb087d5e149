"""skopeo copy, kept off the host's container state."""

from __future__ import annotations

from pathlib import Path

from kiwi_like import run as runner


def copy(source: str, destination: str, scratch: Path, *options: str) -> None:
    """`skopeo copy source destination`, writing only the destination and the scratch area.

    skopeo 1.9 keeps big temporary files in /var/tmp (--tmpdir moves them) and, as
    root, a blob-info cache in /var/lib/containers/cache. It has no option for that
    cache; containers/image puts it under XDG_DATA_HOME when the user it is run
    for (_CONTAINERS_ROOTLESS_UID) is not root, and nothing else here depends on it.
    """
    work = scratch / "skopeo"
    (work / "tmp").mkdir(parents=True, exist_ok=True)
    runner.run(
        ["skopeo", "--insecure-policy", "--tmpdir", str(work / "tmp"), "copy", "--quiet",
         *options, source, destination],
        env={"TMPDIR": str(work / "tmp"), "XDG_DATA_HOME": str(work / "data"),
             "_CONTAINERS_ROOTLESS_UID": "1"},
    )  # fmt: skip
