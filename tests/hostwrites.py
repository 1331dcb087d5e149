"""Run kiwi-like under strace and list every write it and its children made on the host.

strace follows every process (`-f`), decodes file descriptors and each process's
working directory to paths (`-y`: `AT_FDCWD</dir>`, `= 3</file>`) and translates
PIDs across PID namespaces. What strace cannot decode, the parser follows itself:
each process's root (chroot) and working directory, inherited over fork. Only
successful calls count. A write is: an open for writing or creating, mkdir, rmdir,
unlink, rename (both ends), link, symlink, chmod, chown, truncate, utimensat,
mknod, xattrs, and a Unix socket bound to a path.
"""

from __future__ import annotations

import ast
import os
import posixpath
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import REPO

TRACED = (
    "open,openat,openat2,creat,mkdir,mkdirat,rmdir,unlink,unlinkat,rename,renameat,renameat2,"
    "link,linkat,symlink,symlinkat,chmod,fchmod,fchmodat,chown,lchown,fchown,fchownat,"
    "truncate,ftruncate,utimensat,mknod,mknodat,setxattr,lsetxattr,fsetxattr,removexattr,"
    "lremovexattr,bind,chdir,fchdir,chroot,clone,clone3,fork,vfork,unshare,mount"
)
WRITE_FLAGS = re.compile(r"\bO_(WRONLY|RDWR|CREAT|TRUNC)\b")
_LINE = re.compile(r"^(\d+)\s+(.*)$")
_CALL = re.compile(r"^(\w+)\((.*)\)\s+=\s+(-?\d+)(?:<([^>]*)>)?(.*)$", re.DOTALL)
_NEW_PID = re.compile(r"/\* (\d+) in strace's PID NS \*/")
_DECODED = re.compile(r"^(?:-?\d+|AT_FDCWD)<(.*)>$", re.DOTALL)
_SUN_PATH = re.compile(r'sun_path=("(?:[^"\\]|\\.)*")')

# Always fine: the null device, terminals, the process's own /proc entries.
DEVICES = ("/dev/null", "/dev/tty", "/dev/ptmx", "/dev/pts/", "/dev/urandom", "/dev/random")
_OWN_PROC = re.compile(r"^/proc/(self|thread-self|\d+)/")


@dataclass
class _Process:
    root: str
    cwd: str
    # The bind mounts of its mount namespace (target, source): a write below a target
    # lands in the source. Shared by the processes of one namespace.
    binds: list[tuple[str, str]]


@dataclass(frozen=True)
class Write:
    pid: int
    call: str
    path: str

    def __str__(self) -> str:
        return f"{self.call} {self.path} (pid {self.pid})"


@dataclass
class Trace:
    returncode: int
    stderr: str
    writes: list[Write] = field(default_factory=list)

    def outside(self, *allowed: Path | str) -> list[str]:
        """The writes under none of `allowed` (directories, or exact files)."""
        prefixes = [os.path.realpath(p) for p in allowed]
        return sorted({str(w) for w in self.writes if not _allowed(w.path, prefixes)})


def _allowed(path: str, prefixes: Sequence[str]) -> bool:
    if path.startswith(DEVICES) or path in ("/dev/pts", "/dev") or _OWN_PROC.match(path):
        return True
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


def _arguments(text: str) -> list[str]:
    """strace's argument list split at the top-level commas."""
    parts, depth, quoted, escaped, start = [], 0, False, False, 0
    for index, char in enumerate(text):
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char in "{[(":
            depth += 1
        elif char in "}])":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index].strip())
            start = index + 1
    parts.append(text[start:].strip())
    return parts


def _string(argument: str) -> str | None:
    if not argument.startswith('"'):
        return None  # NULL, or not a path
    end = argument.rfind('"')
    raw = ast.literal_eval("b" + argument[: end + 1])
    return raw.decode(errors="surrogateescape")


def _decoded(argument: str) -> str | None:
    match = _DECODED.match(argument)
    return match.group(1) if match else None


class Parser:
    def __init__(self, lines: Iterable[str], cwd: str) -> None:
        self.lines = list(self._joined(lines))
        self.parents: dict[int, int] = {}
        self.new_namespace: set[int] = set()
        for pid, text in self.lines:
            call = _CALL.match(text)
            if call and call.group(1) in ("clone", "clone3", "fork", "vfork"):
                child = _NEW_PID.search(call.group(5))
                number = int(child.group(1) if child else call.group(3))
                if number > 0:
                    self.parents.setdefault(number, pid)
                    if "CLONE_NEWNS" in call.group(2):
                        self.new_namespace.add(number)
        self.processes: dict[int, _Process] = {}
        self.first = self.lines[0][0] if self.lines else 0
        self.start_cwd = cwd

    @staticmethod
    def _joined(lines: Iterable[str]) -> Iterable[tuple[int, str]]:
        pending: dict[int, str] = {}
        for line in lines:
            match = _LINE.match(line.rstrip("\n"))
            if not match:
                continue
            pid, text = int(match.group(1)), match.group(2)
            if text.endswith("<unfinished ...>"):
                pending[pid] = text[: -len("<unfinished ...>")].rstrip()
                continue
            resumed = re.match(r"^<\.\.\. \w+ resumed>(.*)$", text, re.DOTALL)
            if resumed:
                text = pending.pop(pid, "") + resumed.group(1)
            yield pid, text

    def process(self, pid: int) -> _Process:
        if pid not in self.processes:
            parent = self.parents.get(pid)
            if parent is None or parent == pid:
                self.processes[pid] = _Process("/", self.start_cwd, [])
            else:
                state = self.process(parent)
                binds = list(state.binds) if pid in self.new_namespace else state.binds
                self.processes[pid] = _Process(state.root, state.cwd, binds)
        return self.processes[pid]

    def _through_binds(self, pid: int, path: str) -> str:
        for target, source in sorted(self.process(pid).binds, key=lambda b: -len(b[0])):
            if path == target or path.startswith(target.rstrip("/") + "/"):
                return source + path[len(target) :]
        return path

    def resolve(self, pid: int, directory: str | None, path: str) -> str:
        state = self.process(pid)
        if path.startswith("/"):
            return state.root.rstrip("/") + posixpath.normpath("/" + path.lstrip("/"))
        base = (directory and _decoded(directory)) or state.cwd
        return posixpath.normpath(base + "/" + path)

    def writes(self) -> list[Write]:
        found: list[Write] = []
        for pid, text in self.lines:
            call = _CALL.match(text)
            if not call or int(call.group(3)) < 0:
                continue  # a failed call wrote nothing
            name, args = call.group(1), _arguments(call.group(2))
            result = call.group(4)
            for path in self._paths(pid, name, args, result):
                state = self.process(pid)
                path = self._through_binds(pid, path)
                if state.root == "/" and not path.startswith(("/proc/", "/dev/")):
                    # The directory the kernel found on the host; the last component is
                    # the link or directory made or removed (or the opened file, as is).
                    parent, name_ = posixpath.split(path)
                    path = posixpath.join(os.path.realpath(parent), name_)
                found.append(Write(pid, name, path))
        return found

    def _paths(self, pid: int, name: str, args: list[str], result: str | None) -> list[str]:
        state = self.process(pid)

        def at(dir_index: int, path_index: int) -> list[str]:
            path = _string(args[path_index]) if len(args) > path_index else None
            if path is None or path == "":
                whole = _decoded(args[dir_index])
                return [whole] if whole else []
            return [self.resolve(pid, args[dir_index], path)]

        def plain(index: int) -> list[str]:
            path = _string(args[index])
            return [] if path is None else [self.resolve(pid, None, path)]

        if name in ("chdir", "chroot"):
            target = plain(0)
            if target:
                if name == "chdir":
                    state.cwd = target[0]
                else:
                    state.root = target[0]
            return []
        if name == "unshare" and "CLONE_NEWNS" in args[0]:
            state.binds = list(state.binds)
            return []
        if name == "mount":
            flags = args[3] if len(args) > 3 else ""
            if "MS_BIND" in flags and "MS_REMOUNT" not in flags:
                source, target = plain(0), plain(1)
                if source and target:
                    state.binds.append((target[0], self._through_binds(pid, source[0])))
            return []
        if name == "fchdir":
            state.cwd = _decoded(args[0]) or state.cwd
            return []
        if name in ("open", "creat", "openat", "openat2"):
            flags = {"open": 1, "openat": 2, "openat2": 2}.get(name)
            if flags is not None and not WRITE_FLAGS.search(args[flags]):
                return []
            if result:  # the file the kernel opened, as strace sees it
                return [result]
            return plain(0) if name in ("open", "creat") else at(0, 1)
        if name in ("mkdir", "rmdir", "unlink", "chmod", "chown", "lchown", "truncate"):
            return plain(0)
        if name in ("setxattr", "lsetxattr", "removexattr", "lremovexattr", "mknod"):
            return plain(0)
        if name in ("mkdirat", "unlinkat", "fchmodat", "fchownat", "utimensat", "mknodat"):
            return at(0, 1)
        if name in ("fchmod", "fchown", "ftruncate", "fsetxattr"):
            whole = _decoded(args[0])
            return [whole] if whole else []
        if name in ("rename", "link"):
            return plain(0) + plain(1) if name == "rename" else plain(1)
        if name in ("renameat", "renameat2"):
            return at(0, 1) + at(2, 3)
        if name == "linkat":
            return at(2, 3)
        if name == "symlink":
            return plain(1)
        if name == "symlinkat":
            return at(1, 2)
        if name == "bind":
            socket = _SUN_PATH.search(args[1]) if len(args) > 1 else None
            path = _string(socket.group(1)) if socket else None
            return [self.resolve(pid, None, path)] if path else []
        return []


def traced(argv: Sequence[str], log: Path, *, within: Sequence[str] = ()) -> Trace:
    """Run `kiwi-like argv` under strace; `log` receives strace's output. `within` is a
    command line that runs strace (and so kiwi-like) in a different setting."""
    command = [
        *within,
        # --seccomp-bpf: only the traced calls stop a process (dracut runs thousands)
        "strace", "-f", "--seccomp-bpf", "-qq", "-y", "--pidns-translation", "-s", "4096",
        "-e", "signal=none", "-e", f"trace={TRACED}", "-o", str(log),
        sys.executable, "-B", "-m", "kiwi_like", *argv,
    ]  # fmt: skip
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"},
        cwd=log.parent,
        check=False,
    )
    with log.open(errors="surrogateescape") as lines:
        writes = Parser(lines, str(log.parent)).writes()
    return Trace(done.returncode, done.stderr, writes)
