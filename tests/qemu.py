"""Booting images in QEMU (software emulation) and watching the serial console.

A disk under test is never written unless asked: QEMU boots a qcow2 overlay on
top of it in a temporary directory. Install tests attach a `target` disk that
is written in place. The serial console is QEMU's stdio, so a test can also
answer prompts. QEMU is always stopped at the end.

QEMU emulates with TCG on one thread (-smp 1), so one boot keeps one core busy:
at most SLOTS boots run at once (2, or KIWI_LIKE_TEST_QEMU_SLOTS), whoever calls
`boot()`. A test module's fixture starts all the boots of an image in the
background (`Boots`) as soon as the image is built, so they run side by side
and while the next image builds; the tests then wait for their own result.
`stop_all()` (at the end of the session) stops what is still running.
"""

from __future__ import annotations

import atexit
import contextlib
import heapq
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

OVMF = Path("/usr/share/ovmf/OVMF.fd")
# q35 boots UEFI from pflash: the firmware read-only, a copy of the variable store writable
OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")
# efi-sb: Secure Boot on (Microsoft's keys enrolled); needs q35 with SMM and secure pflash
OVMF_SECURE_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.ms.fd")
OVMF_SECURE_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.ms.fd")
FIRMWARES = ("bios", "efi", "efi-q35", "efi-sb")
# anywhere in a line: the serial getty's "login: " prompt may come first on a slow guest
MARKER = re.compile(r"BOOT-OK\b.*$", re.MULTILINE)
SHUTDOWN_GRACE = 90  # seconds to wait for the poweroff after the marker
# where a guest with `http_port` reaches the host's test HTTP server
GUEST_HTTP_ADDRESS = "10.0.2.100:80"
GUEST_HTTP = f"http://{GUEST_HTTP_ADDRESS.removesuffix(':80')}"
SLOTS = max(1, int(os.environ.get("KIWI_LIKE_TEST_QEMU_SLOTS") or 2))

_stopping = threading.Event()
_threads: list[threading.Thread] = []
_job = threading.local()  # .order: when the background job of this thread was started
_spans: list[tuple[float, float]] = []  # (start, end) of every QEMU run, for summary()
T = TypeVar("T")


@dataclass(frozen=True)
class BootResult:
    console: str
    marker: str | None
    returncode: int | None  # None: QEMU had to be killed
    seconds: float  # from QEMU's start
    waited: float = 0.0  # for a free slot before that

    def fields(self) -> dict[str, str]:
        """The key=value words of the marker line."""
        assert self.marker is not None, self.tail()
        return dict(word.split("=", 1) for word in self.marker.split()[1:] if "=" in word)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.console.splitlines()[-lines:])


@dataclass(frozen=True)
class Answer:
    """Type `text` (plus Enter) on the console once `prompt` has appeared."""

    prompt: re.Pattern[str]
    text: str


def root_shell(hostname: str, command: str, password: str = "linux") -> list[Answer]:
    """Log in as root on the serial console of `hostname` and run `command` (a marker the
    command echoes should be written as MARKER""-OK, so the echoed line is not taken for it)."""
    return [
        Answer(re.compile(rf"^{re.escape(hostname)} login:", re.MULTILINE), "root"),
        Answer(re.compile(r"Password:"), password),
        Answer(re.compile(rf"root@{re.escape(hostname)}:~# "), command),
    ]


def _stop(process: subprocess.Popen[bytes]) -> int | None:
    if process.poll() is not None:
        return process.returncode
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=10)
            break
        except subprocess.TimeoutExpired:
            continue
    return None


class _Console:
    """Collects what QEMU prints on the serial line (its stdout) in a thread."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._chunks: list[bytes] = []
        self._lock = threading.Lock()
        assert process.stdout is not None
        self._stream = process.stdout
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while chunk := self._stream.read1(65536):
            with self._lock:
                self._chunks.append(chunk)

    def text(self) -> str:
        with self._lock:
            data = b"".join(self._chunks)
        return data.decode("utf-8", errors="replace").replace("\r", "")

    def close(self) -> None:
        self._thread.join(timeout=5)


def boot(
    disk: Path | None = None,
    firmware: str = "bios",
    fmt: str = "raw",
    *,
    cdrom: Path | None = None,
    target: Path | None = None,
    timeout: float = 600,  # two QEMUs and a build share the 2 cores of the test machine
    memory: int = 1024,
    marker: re.Pattern[str] | None = MARKER,
    answers: Sequence[Answer] = (),
    kernel: Path | None = None,
    initrd: Path | None = None,
    append: str = "",
    http_port: int | None = None,
) -> BootResult:
    """Boot with SeaBIOS (`bios`) or OVMF (`efi` on the pc machine, `efi-q35` on q35 with
    pflash, closer to real UEFI hardware; `efi-sb` the same with Secure Boot on) until
    `marker`, poweroff or timeout.

    `disk` is booted through an overlay; `cdrom` is attached read-only and boots
    first; `target` is an extra raw disk that the guest may write. `kernel`,
    `initrd` and `append` boot a kernel directly. The guest has no network
    unless `http_port` is given: then it has user-mode networking that reaches
    only 127.0.0.1:<http_port> of the host, as GUEST_HTTP. After a
    BOOT-OK line the guest gets time to power off (its returncode tells whether
    it did); after any other marker QEMU is stopped at once. Without a marker
    QEMU runs until the guest powers off (or the timeout).
    """
    grace = SHUTDOWN_GRACE if marker is MARKER else 0
    if firmware not in FIRMWARES:
        raise ValueError(f"firmware must be one of {FIRMWARES}, not {firmware}")
    queued = time.monotonic()
    with _slots.held(), tempfile.TemporaryDirectory(prefix="kiwi-like-qemu-") as name:
        started = time.monotonic()  # the timeout counts from here, not from the queue
        work = Path(name)
        argv = [
            "qemu-system-x86_64", "-accel", "tcg", "-m", str(memory), "-smp", "1",
            "-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot",
        ]  # fmt: skip
        if http_port is None:
            argv += ["-nic", "none"]
        else:
            # a relay per guest connection (cmd:); the guest reaches nothing else
            relay = f"{sys.executable} {Path(__file__).with_name('guest_relay.py')} {http_port}"
            argv += [
                "-nic",
                "user,model=virtio-net-pci,restrict=on,"
                f"guestfwd=tcp:{GUEST_HTTP_ADDRESS}-cmd:{relay}",
            ]
        if kernel is not None:
            argv += ["-kernel", str(kernel), "-append", append]
            if initrd is not None:
                argv += ["-initrd", str(initrd)]
        if cdrom is not None:
            argv += [
                "-drive", f"if=none,id=cd0,media=cdrom,readonly=on,format=raw,file={cdrom}",
                "-device", "ide-cd,drive=cd0,bootindex=1",
            ]  # fmt: skip
        if disk is not None:
            overlay = work / "overlay.qcow2"
            subprocess.run(
                ["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(disk.absolute()),
                 "-F", fmt, str(overlay)],
                check=True,
            )  # fmt: skip
            argv += [
                "-drive", f"if=none,id=hd0,format=qcow2,file={overlay}",
                "-device", "virtio-blk-pci,drive=hd0,bootindex=2",
            ]  # fmt: skip
        if target is not None:
            argv += [
                "-drive", f"if=none,id=hd1,format=raw,file={target}",
                "-device", "virtio-blk-pci,drive=hd1,bootindex=3",
            ]  # fmt: skip
        if firmware == "efi":
            argv += ["-bios", str(OVMF)]
        elif firmware == "efi-q35":
            variables = work / "OVMF_VARS.fd"
            shutil.copyfile(OVMF_VARS, variables)
            argv += [
                "-machine", "q35",
                "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
                "-drive", f"if=pflash,format=raw,unit=1,file={variables}",
            ]  # fmt: skip
        elif firmware == "efi-sb":
            variables = work / "OVMF_VARS.fd"
            shutil.copyfile(OVMF_SECURE_VARS, variables)
            argv += [
                "-machine", "q35,smm=on",
                "-global", "driver=cfi.pflash01,property=secure,value=on",
                "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_SECURE_CODE}",
                "-drive", f"if=pflash,format=raw,unit=1,file={variables}",
            ]  # fmt: skip
        errors = work / "qemu.err"
        with open(errors, "wb") as stderr:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                start_new_session=True,
            )
        console = _Console(process)
        pending = list(answers)
        seen = None
        try:
            deadline = started + timeout
            # a stopped session (stop_all) ends the boot like a timeout
            while time.monotonic() < deadline and process.poll() is None and not _stopping.is_set():
                text = console.text()
                if pending and pending[0].prompt.search(text):
                    assert process.stdin is not None
                    process.stdin.write(pending.pop(0).text.encode() + b"\r")
                    process.stdin.flush()
                found = marker.search(text) if marker else None
                if found:
                    seen = found.group(0).strip()
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        process.wait(timeout=grace)
                    break
                time.sleep(0.5)
        finally:
            returncode = _stop(process)
            console.close()
        text = console.text()
        if seen is None and marker is not None:
            found = marker.search(text)
            seen = found.group(0).strip() if found else None
        stderr_text = errors.read_text(errors="replace")
        if stderr_text.strip():
            text += "\n[qemu stderr]\n" + stderr_text
    _spans.append((started, time.monotonic()))
    return BootResult(text, seen, returncode, time.monotonic() - started, started - queued)


class _Slots:
    """SLOTS places for QEMUs. A free one goes to the waiting boot whose job started
    first, so the boots of a job that boots several times in turn do not queue behind
    everything started after it; a test's own boot() (in the main thread) goes first."""

    def __init__(self, count: int) -> None:
        self._free = count
        self._changed = threading.Condition()
        self._waiting: list[tuple[int, int]] = []  # a heap of (order, ticket)
        self._tickets = itertools.count()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        place = (getattr(_job, "order", -1), next(self._tickets))
        with self._changed:
            heapq.heappush(self._waiting, place)
            try:
                while not _stopping.is_set():
                    if self._free and self._waiting[0] == place:
                        break
                    self._changed.wait(timeout=1)
                else:
                    raise RuntimeError("the test session ended before this boot got a slot")
            finally:
                self._waiting.remove(place)
                heapq.heapify(self._waiting)
                self._changed.notify_all()  # the next in line may take another free slot
            self._free -= 1
        try:
            yield
        finally:
            with self._changed:
                self._free += 1
                self._changed.notify_all()


_slots = _Slots(SLOTS)
_orders = itertools.count()


def background(function: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
    """Run `function(*args, **kwargs)` (something that boots) in a thread of its own.

    Each QEMU it starts waits for a slot; the thread itself holds none, so a job may
    wait for other jobs (boot a disk after the install that wrote it)."""
    future: Future[T] = Future()
    order = getattr(_job, "order", None)  # a job started by a job keeps its place
    order = next(_orders) if order is None else order

    def run() -> None:
        _job.order = order
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(function(*args, **kwargs))
            except BaseException as error:  # handed to whoever waits for the result
                future.set_exception(error)

    thread = threading.Thread(target=run, name=f"qemu-{len(_threads)}", daemon=True)
    _threads.append(thread)
    thread.start()
    return future


class Boots:
    """The background boots of one test module, keyed by variant.

    A module-scoped fixture starts every boot that the selected tests will look at
    right after building the image (`start` for one `boot()`, `start_job` for a
    function that boots several times); a test takes its result with `boots[key]`,
    which waits for it and raises what the job raised.
    """

    def __init__(self) -> None:
        self._futures: dict[Hashable, Future[Any]] = {}

    def start(self, key: Hashable, *args: Any, **kwargs: Any) -> None:
        self.start_job(key, boot, *args, **kwargs)

    def start_job(
        self, key: Hashable, function: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> None:
        if key in self._futures:
            raise ValueError(f"boot {key!r} was started twice")
        self._futures[key] = background(function, *args, **kwargs)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._futures

    def __getitem__(self, key: Hashable) -> Any:
        if key not in self._futures:
            raise KeyError(f"the fixture started no boot {key!r} (started: {list(self._futures)})")
        return self._futures[key].result()


def stop_all(timeout: float = 60) -> None:
    """Stop the background boots that are still running or waiting (nobody waits for them)."""
    _stopping.set()
    try:
        end = time.monotonic() + timeout
        for thread in _threads:
            thread.join(max(0.0, end - time.monotonic()))
        _threads[:] = [thread for thread in _threads if thread.is_alive()]
    finally:
        _stopping.clear()


def summary() -> str | None:
    """How many QEMU runs there were, their total time and the wall time they covered."""
    if not _spans:
        return None
    total = sum(end - start for start, end in _spans)
    covered, reach = 0.0, float("-inf")
    for start, end in sorted(_spans):
        covered += max(0.0, end - max(start, reach))
        reach = max(reach, end)
    return (
        f"QEMU: {len(_spans)} runs, {total / 60:.1f} min in all, {covered / 60:.1f} min of wall "
        f"time with one running ({SLOTS} slots)"
    )


atexit.register(stop_all)  # no QEMU outlives the process that started it
