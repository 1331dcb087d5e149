"""The one place where kiwi-like runs other programs.

Every command is logged, its output goes to the log file line by line, and a
failure becomes a `CommandError` naming the command and the tail of its output.
On Ctrl-C or SIGTERM the child's whole process group is stopped before the
interruption travels on, so no package manager keeps running behind our back.
"""

from __future__ import annotations

import ctypes
import functools
import os
import shlex
import signal
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kiwi_like.errors import KiwiLikeError
from kiwi_like.log import log
from kiwi_like.redaction import redact, redact_args

TAIL_LINES = 40  # kept for explaining failures
SHOWN_LINES = 4  # shown in the one-line error
PR_SET_PDEATHSIG = 1
CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# unshare options: the command is PID 1 of a new PID namespace and is killed with
# unshare, which takes every process inside along, also those in other sessions.
OWN_PID_NAMESPACE = ("--pid", "--fork", "--kill-child")

# Which Debian package provides a host tool, for the "missing tool" message.
TOOL_PACKAGES = {
    "mmdebstrap": "mmdebstrap",
    "debootstrap": "debootstrap",
    "chroot": "coreutils",
    "dpkg-deb": "dpkg",
    "apt-ftparchive": "apt-utils",
    "gpg": "gpg",
    "mount": "mount",
    "umount": "mount",
    "tar": "tar",
    "zypper": "zypper",
    "dnf": "dnf",
    "rpm": "rpm",
    "createrepo_c": "createrepo-c",
    "rpmbuild": "rpm",
    "sfdisk": "fdisk",
    "mkfs.ext4": "e2fsprogs",
    "mkfs.xfs": "xfsprogs",
    "mkfs.btrfs": "btrfs-progs",
    "mkfs.vfat": "dosfstools",
    "mcopy": "mtools",
    "grub-mkimage": "grub-common",
    "qemu-img": "qemu-utils",
    "xorriso": "xorriso",
    "mksquashfs": "squashfs-tools",
    "zstd": "zstd",
    "xz": "xz-utils",
    "skopeo": "skopeo",
    "umoci": "umoci",
    "mmd": "mtools",
    "unshare": "util-linux",
    "trang": "trang",
}


class CommandError(KiwiLikeError):
    """A program failed; the message holds the command and its last output lines.

    Both are kept with their passwords masked (kiwi_like.redaction): they end up in
    the error line.
    """

    def __init__(self, args: Sequence[str], returncode: int, tail: Sequence[str]) -> None:
        self.args_run = redact_args(args)
        self.returncode = returncode
        self.tail = [redact(line) for line in tail]
        shown = " | ".join([line.strip() for line in self.tail if line.strip()][-SHOWN_LINES:])
        super().__init__(
            f"command failed with exit code {returncode}: {_short(self.args_run)}"
            + (f": {shown}" if shown else "")
        )


@dataclass(frozen=True)
class Result:
    returncode: int
    output: str


def _short(args: Sequence[str], limit: int = 160) -> str:
    """The command line for a log or an error, masked argument by argument."""
    text = shlex.join(redact_args(args))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def contained(args: Sequence[str | Path]) -> list[str | Path]:
    """`args` in a PID namespace of its own (see OWN_PID_NAMESPACE)."""
    return ["unshare", *OWN_PID_NAMESPACE, "--", *args]


# Runs (with `python3 -I -S -c`) as the first program of a new mount namespace made
# with `--propagation unchanged`, when the build runs in a chroot whose `/` is not a
# mount point (Open Build Service workers with `--vm-type chroot`): there `unshare
# --propagation private` fails ("cannot change root filesystem propagation"), and a
# mount made inside the chroot would still propagate to the host, because the mount
# that holds the chroot is shared. Only the namespace's own root can be made private:
# the script leaves the chroot (in this new namespace only), makes every mount of the
# namespace private, enters the same directory again as root and runs the command.
# Binding `/` onto itself does not help: that mount propagates to the host, and the
# chroot's root stays below it.
_PRIVATE_BELOW_CHROOT = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
def private(path):
    return libc.mount(None, path.encode(), None, 0x4000 | 0x40000, None) == 0  # MS_REC|MS_PRIVATE
if not private("/"):
    here = os.getcwd()
    old_root = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    below = next(e.path for e in os.scandir("/") if e.is_dir(follow_symlinks=False))
    os.chroot(below)
    os.fchdir(old_root)
    def place(path):
        info = os.stat(path)
        return info.st_dev, info.st_ino
    while place(".") != place(".."):
        os.chdir("..")
    os.chroot(".")
    os.fchdir(old_root)
    path = os.getcwd()
    if not private("/"):
        error = os.strerror(ctypes.get_errno())
        sys.exit(f"cannot make the mounts of a new mount namespace private: {error}")
    os.chroot(path)
    os.chdir(here)
    os.close(old_root)
os.execvp(sys.argv[1], sys.argv[1:])
"""


@functools.cache
def root_is_mount_point() -> bool:
    """Whether `/` is a mount point here (not in a plain chroot of a directory)."""
    try:
        mountinfo = Path("/proc/self/mountinfo").read_text()
    except OSError:
        return False
    return any(line.split()[4:5] == ["/"] for line in mountinfo.splitlines())


def private_mounts(*options: str) -> list[str]:
    """The start of a command line that runs a program in a new mount namespace whose
    mounts nobody else sees, and which vanish with it; `options` are more `unshare`
    options (OWN_PID_NAMESPACE). Works also in a chroot whose `/` is not a mount point.
    """
    if root_is_mount_point():
        return ["unshare", "--mount", "--propagation", "private", *options, "--"]
    python = [sys.executable, "-I", "-S", "-c", _PRIVATE_BELOW_CHROOT]
    return ["unshare", "--mount", "--propagation", "unchanged", *options, "--", *python]


def _die_with_parent() -> None:
    """In the child: get SIGKILL when kiwi-like dies, even by SIGKILL itself."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _stop(process: subprocess.Popen[str]) -> None:
    """Stop the child and everything it started (it runs in its own session)."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run(
    args: Sequence[str | Path],
    *,
    env: Mapping[str, str | None] | None = None,
    inherit_env: bool = True,
    cwd: str | Path | None = None,
    stdin: str | None = None,
    check: bool = True,
    on_line: Callable[[str], None] | None = None,
    keep_output: bool = False,
    display: Sequence[str] | None = None,
    started: Callable[[int], None] | None = None,
) -> Result:
    """Run a program, streaming its merged stdout/stderr into the log.

    `on_line` sees every output line (for progress); `keep_output` returns the
    whole output, otherwise only the tail is kept. `display` is the command as
    errors should name it (e.g. the command inside a chroot). Passwords in URLs and
    registered ones in their places (kiwi_like.redaction) are masked in the logged
    command and in every output line before anyone sees it.
    With `inherit_env=False` the program sees only a clean PATH/locale plus `env`
    (used for chroots, so the builder's environment does not leak into the image).
    A variable set to None in `env` is removed. `started` gets the child's process id
    (also its process group's): who runs programs in threads stops them on Ctrl-C with it.
    """
    argv = [str(a) for a in args]
    log.debug("$ %s", _short(argv, 2000))
    base = dict(os.environ) if inherit_env else {"PATH": CLEAN_PATH, "HOME": "/root"}
    full_env = _environment(base, env)
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            env=full_env,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    except FileNotFoundError:
        raise _missing_tool(argv[0]) from None
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    kept: list[str] = []
    try:
        if started:
            started(process.pid)
        if stdin is not None and process.stdin:
            process.stdin.write(stdin)
            process.stdin.close()
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip("\n")
            line = redact(line)
            log.debug("  %s", line)
            tail.append(line)
            if keep_output:
                kept.append(line)
            if on_line:
                on_line(line)
        returncode = process.wait()
    except BaseException:
        _stop(process)
        raise
    if check and returncode != 0:
        raise CommandError(list(display) if display else argv, returncode, tail)
    return Result(returncode, "\n".join(kept if keep_output else tail))


def stdout_of(
    args: Sequence[str | Path],
    *,
    check: bool = True,
    cwd: str | Path | None = None,
    env: Mapping[str, str | None] | None = None,
) -> str:
    """Run a short query and return its stdout; stderr only shows up in errors."""
    argv = [str(a) for a in args]
    log.debug("$ %s", _short(argv, 2000))
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            errors="replace",
            env=_environment(dict(os.environ), env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except FileNotFoundError:
        raise _missing_tool(argv[0]) from None
    if check and done.returncode != 0:
        raise CommandError(argv, done.returncode, done.stderr.splitlines()[-TAIL_LINES:])
    return done.stdout


def _environment(base: dict[str, str], env: Mapping[str, str | None] | None) -> dict[str, str]:
    full_env = {**base, "LC_ALL": "C.UTF-8"}
    for name, value in (env or {}).items():
        if value is None:
            full_env.pop(name, None)
        else:
            full_env[name] = value
    return full_env


def _missing_tool(program: str) -> KiwiLikeError:
    tool = Path(program).name
    package = TOOL_PACKAGES.get(tool)
    hint = f" (install the Debian package {package})" if package else ""
    return KiwiLikeError(f"required program '{tool}' not found{hint}")
