"""User scripts (post_bootstrap.sh, config.sh) and the environment kiwi gives them.

Like kiwi, the image settings are written to /.profile (shell variables) and a
function library to /.kconfig; scripts may source both. The variables are
exported to the script's environment as well.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from kiwi_like import run as runner
from kiwi_like.chroot import run_in_root
from kiwi_like.description import ResolvedBuild
from kiwi_like.description.profile import profile_variables
from kiwi_like.errors import KiwiLikeError
from kiwi_like.log import log
from kiwi_like.rootfs import inside

SCRIPT_DIR = "image"
FUNCTIONS = Path(__file__).with_name("functions.sh")
# --setenv: kiwi exports the variables into its own environment, which its scripts inherit.
# kiwi-like runs scripts with a clean environment, so they are handed over explicitly.
_EXPORTED: dict[str, str] = {}


@contextmanager
def exported(variables: Mapping[str, str]) -> Iterator[None]:
    """For one command: `variables` in this process's environment (every program it runs)
    and in the environment of the description's scripts."""
    saved = {name: os.environ.get(name) for name in variables}
    previous = dict(_EXPORTED)
    os.environ.update(variables)
    _EXPORTED.update(variables)
    try:
        yield
    finally:
        _EXPORTED.clear()
        _EXPORTED.update(previous)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def script_environment(root: Path, build: ResolvedBuild) -> Iterator[None]:
    """/.profile and /.kconfig for the scripts; gone afterwards, also after a failure."""
    lines = [f"{name}={shlex.quote(value)}" for name, value in profile_variables(build).items()]
    try:
        (root / ".profile").write_text("\n".join(lines) + "\n")
        shutil.copyfile(FUNCTIONS, root / ".kconfig")
        yield
    finally:
        for name in (".profile", ".kconfig"):
            (root / name).unlink(missing_ok=True)
        shutil.rmtree(root / SCRIPT_DIR / "scripts", ignore_errors=True)


def run_script(root: Path, build: ResolvedBuild, name: str) -> bool:
    """Run description script `name` in the chroot if the description has one."""
    if not (build.description_dir / name).is_file():
        return False
    source = inside(build.description_dir, name)  # not a symlink to a host file
    log.info("Running %s in the image root", name)
    scripts = root / SCRIPT_DIR / "scripts"
    scripts.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, scripts / name)
    shell = (
        "/bin/bash"
        if (root / "bin/bash").exists() or (root / "usr/bin/bash").exists()
        else "/bin/sh"
    )
    inner = f"cd / && {shell} /{SCRIPT_DIR}/scripts/{name}"
    try:
        run_in_root(root, [shell, "-c", inner], env={**_EXPORTED, **profile_variables(build)})
    except runner.CommandError as error:
        last = " | ".join(line.strip() for line in error.tail[-5:] if line.strip())
        raise KiwiLikeError(
            f"{name} failed with exit code {error.returncode}" + (f": {last}" if last else "")
        ) from None
    finally:
        (scripts / name).unlink(missing_ok=True)
    return True
