"""Booting images in QEMU (software emulation) and watching the serial console.

A disk under test is never written unless asked: QEMU boots a qcow2 overlay on
top of it in a temporary directory. Install tests attach a `target` disk that
is written in place. The serial console is QEMU's stdio, so a test can also
answer prompts. QEMU is always stopped at the end.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

OVMF = Path("/usr/share/ovmf/OVMF.fd")
# q35 boots UEFI from pflash: the firmware read-only, a copy of the variable store writable
OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")
FIRMWARES = ("bios", "efi", "efi-q35")
MARKER = re.compile(r"^BOOT-OK\b.*$", re.MULTILINE)
SHUTDOWN_GRACE = 90  # seconds to wait for the poweroff after the marker
# where a guest with `http_port` reaches the host's test HTTP server
GUEST_HTTP_ADDRESS = "10.0.2.100:80"
GUEST_HTTP = f"http://{GUEST_HTTP_ADDRESS.removesuffix(':80')}"


@dataclass(frozen=True)
class BootResult:
    console: str
    marker: str | None
    returncode: int | None  # None: QEMU had to be killed
    seconds: float

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
    timeout: float = 420,
    memory: int = 1024,
    marker: re.Pattern[str] | None = MARKER,
    answers: Sequence[Answer] = (),
    kernel: Path | None = None,
    initrd: Path | None = None,
    append: str = "",
    http_port: int | None = None,
) -> BootResult:
    """Boot with SeaBIOS (`bios`) or OVMF (`efi` on the pc machine, `efi-q35` on q35 with
    pflash, closer to real UEFI hardware) until `marker`, poweroff or timeout.

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
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kiwi-like-qemu-") as name:
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
            while time.monotonic() < deadline and process.poll() is None:
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
    return BootResult(text, seen, returncode, time.monotonic() - started)
