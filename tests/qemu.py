"""Booting a disk image in QEMU (software emulation) and waiting for its BOOT-OK line.

The disk under test is never written: QEMU boots a qcow2 overlay on top of it
in a temporary directory. QEMU is always stopped at the end.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

OVMF = Path("/usr/share/ovmf/OVMF.fd")
MARKER = re.compile(r"^BOOT-OK\b.*$", re.MULTILINE)
SHUTDOWN_GRACE = 90  # seconds to wait for the poweroff after the marker


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


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", errors="replace").replace("\r", "")
    except FileNotFoundError:
        return ""


def boot(
    disk: Path,
    firmware: str = "bios",
    fmt: str = "raw",
    timeout: float = 420,
    memory: int = 1024,
    marker: re.Pattern[str] = MARKER,
) -> BootResult:
    """Boot `disk` with SeaBIOS (`bios`) or OVMF (`efi`) until `marker`, poweroff or timeout.

    After a BOOT-OK line the guest gets time to power off (its returncode tells
    whether it did); after any other marker QEMU is stopped at once.
    """
    grace = SHUTDOWN_GRACE if marker is MARKER else 0
    if firmware not in ("bios", "efi"):
        raise ValueError(f"firmware must be bios or efi, not {firmware}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kiwi-like-qemu-") as name:
        work = Path(name)
        overlay = work / "overlay.qcow2"
        subprocess.run(
            ["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(disk.absolute()),
             "-F", fmt, str(overlay)],
            check=True,
        )  # fmt: skip
        console = work / "console.log"
        argv = [
            "qemu-system-x86_64", "-accel", "tcg", "-m", str(memory), "-smp", "1",
            "-display", "none", "-monitor", "none", "-serial", f"file:{console}",
            "-no-reboot",
            "-drive", f"file={overlay},format=qcow2,if=virtio",
        ]  # fmt: skip
        if firmware == "efi":
            argv += ["-bios", str(OVMF)]
        errors = work / "qemu.err"
        with open(errors, "wb") as stderr:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        seen = None
        try:
            deadline = started + timeout
            while time.monotonic() < deadline and process.poll() is None:
                found = marker.search(_read(console))
                if found:
                    seen = found.group(0).strip()
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        process.wait(timeout=grace)
                    break
                time.sleep(1)
        finally:
            returncode = _stop(process)
        text = _read(console)
        if seen is None:
            found = marker.search(text)
            seen = found.group(0).strip() if found else None
        stderr_text = _read(errors)
        if stderr_text.strip():
            text += "\n[qemu stderr]\n" + stderr_text
    return BootResult(text, seen, returncode, time.monotonic() - started)
