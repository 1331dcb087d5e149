"""Running programs inside the image root.

Every chroot command runs in a private mount namespace (`run.private_mounts`):
/proc, /sys, /dev and any bind mounts exist only for that one command and
vanish with it, whatever happens to the build (error, Ctrl-C, SIGKILL). The
host never sees a mount, so nothing can be left behind. It also gets its own
PID namespace, so stopping the command stops everything it started, even
programs that left its session (dpkg under apt's pty does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kiwi_like import reproducible
from kiwi_like import run as runner
from kiwi_like.log import log

# Runs inside the new namespace: mount what the chroot needs, then exec it.
_MOUNT_AND_CHROOT = r"""
set -e
root=$1; private_tmp=$2; shift 2
for d in proc sys dev; do [ -d "$root/$d" ] || mkdir -p "$root/$d"; done
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --rbind /dev "$root/dev"
if [ "$private_tmp" = yes ]; then
    mkdir -p "$root/var/tmp"
    mount -t tmpfs -o mode=1777 tmpfs "$root/var/tmp"
fi
while [ "$1" != "--" ]; do
    mkdir -p "$root$2"
    mount --bind "$1" "$root$2"
    shift 2
done
shift
exec chroot "$root" "$@"
"""

CHROOT_ENV = {
    "DEBIAN_FRONTEND": "noninteractive",
    "DEBCONF_NONINTERACTIVE_SEEN": "true",
    "LANG": "C.UTF-8",
    # blkid (initrd hooks call it) would cache the build host's devices, which the chroot
    # sees through /dev, in the image's /run/blkid/blkid.tab
    "BLKID_FILE": "/dev/null",
}


@dataclass(frozen=True)
class Bind:
    """A host directory made visible at `target` inside the root for one command."""

    source: Path
    target: str


def chroot_argv(
    root: Path, command: Sequence[str], binds: Sequence[Bind] = (), private_tmp: bool = False
) -> list[str]:
    argv = [*runner.private_mounts(*runner.OWN_PID_NAMESPACE), "sh", "-c"]
    argv += [_MOUNT_AND_CHROOT, "kiwi-like-chroot", str(root), "yes" if private_tmp else "no"]
    for bind in binds:
        argv += [str(bind.source), bind.target]
    return [*argv, "--", *command]


def run_in_root(
    root: Path,
    command: Sequence[str],
    *,
    binds: Sequence[Bind] = (),
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    on_line: Callable[[str], None] | None = None,
    check: bool = True,
    private_tmp: bool = False,
) -> runner.Result:
    """`private_tmp`: the command's /var/tmp is a tmpfs that vanishes with it, so the
    temporary files of initrd generators never stay in the image, even after a SIGKILL."""
    return runner.run(
        chroot_argv(root, command, binds, private_tmp),
        # SOURCE_DATE_EPOCH reaches the image's tools (initrd generators, dpkg's scripts)
        env={**CHROOT_ENV, **reproducible.environment(), **(env or {})},
        inherit_env=False,
        stdin=stdin,
        on_line=on_line,
        check=check,
        display=["chroot", str(root), *command],
    )


BUILD_TIME_MARK = "# kiwi-like: build-time file"
SAVED_SUFFIX = ".kiwi-like-saved"


def _move_aside(path: Path) -> Path | None:
    if not (path.exists() or path.is_symlink()):
        return None
    backup = path.with_name(path.name + SAVED_SUFFIX)
    path.rename(backup)
    return backup


def _restore(path: Path, backup: Path | None) -> None:
    if path.exists() or path.is_symlink():
        path.unlink()
    if backup is not None:
        backup.rename(path)


def _ours(path: Path) -> bool:
    """Whether the file carries the build-time mark in its first two lines."""
    try:
        head = path.read_text(errors="replace").splitlines()[:2]
    except OSError:
        return False
    return not path.is_symlink() and any(line.startswith(BUILD_TIME_MARK) for line in head)


def _undo_killed_run(paths: Sequence[Path]) -> None:
    """A build killed by SIGKILL left its build-time files: put the image's own back."""
    for path in paths:
        backup = path.with_name(path.name + SAVED_SUFFIX)
        if _ours(path) or backup.exists() or backup.is_symlink():
            log.info("Restoring %s, left changed by an earlier run that was killed", path)
            _restore(path, backup if backup.exists() or backup.is_symlink() else None)


@contextmanager
def build_time_files(root: Path) -> Iterator[None]:
    """Files the build needs in the root but the image must not keep.

    The host's resolv.conf (name resolution for package downloads) and a
    policy-rc.d that stops packages from starting services during the build.
    Whatever was there before is put back, on success, error or Ctrl-C; both
    carry a mark, so the next run also undoes them after a SIGKILL.
    """
    etc = root / "etc"
    resolv = etc / "resolv.conf"
    policy = root / "usr" / "sbin" / "policy-rc.d"
    _undo_killed_run([resolv, policy])
    saved: list[tuple[Path, Path | None]] = []
    try:
        if etc.is_dir() and Path("/etc/resolv.conf").exists():
            saved.append((resolv, _move_aside(resolv)))
            host = Path("/etc/resolv.conf").read_text(errors="replace")
            resolv.write_text(f"{BUILD_TIME_MARK}: the build host's resolv.conf\n{host}")
        if policy.parent.is_dir() and not policy.is_symlink():
            saved.append((policy, _move_aside(policy)))
            policy.write_text(f"#!/bin/sh\n{BUILD_TIME_MARK}: no service starts\nexit 101\n")
            policy.chmod(0o755)
        yield
    finally:
        for path, backup in reversed(saved):
            _restore(path, backup)
        log.debug("build-time files removed from %s", root)
