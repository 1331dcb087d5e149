"""The initrd cache (create/boot/initrd.py: cached_initrd): disk and live initrds are made
once per root state and selection, and taken from the cache after that."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiwi_like import timing
from kiwi_like.create.boot.initrd import cached_initrd
from kiwi_like.create.boot.kernel import Kernel
from kiwi_like.errors import KiwiLikeError

KERNEL = Kernel("6.1.0-99-amd64")


class Maker:
    """Writes a new initrd into the root at each call, as dracut or update-initramfs do."""

    def __init__(self, root: Path) -> None:
        self.root, self.calls = root, 0

    def __call__(self) -> None:
        self.calls += 1
        (self.root / KERNEL.initrd.lstrip("/")).write_bytes(f"initrd {self.calls}".encode())


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "boot").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "etc/hostname").write_text("one\n")
    return root


def _initrd(root: Path) -> bytes:
    return (root / KERNEL.initrd.lstrip("/")).read_bytes()


def test_the_second_initrd_of_an_unchanged_root_comes_from_the_cache(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    cache, make = tmp_path / "cache", Maker(root)
    cached_initrd(root, KERNEL, "dracut", "live", cache, make)
    (root / KERNEL.initrd.lstrip("/")).unlink()
    cached_initrd(root, KERNEL, "dracut", "live", cache, make)
    assert (make.calls, _initrd(root)) == (1, b"initrd 1")
    # another selection (a disk initrd of the same root) is an initrd of its own
    cached_initrd(root, KERNEL, "dracut", "disk", cache, make)
    assert (make.calls, _initrd(root)) == (2, b"initrd 2")
    # so is a root whose configuration changed
    (root / "etc/hostname").write_text("two\n")
    cached_initrd(root, KERNEL, "dracut", "live", cache, make)
    assert make.calls == 3


def test_a_reproducible_build_never_takes_an_initrd_made_without_its_epoch(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    cache, make = tmp_path / "cache", Maker(root)
    cached_initrd(root, KERNEL, "initramfs-tools", "live", cache, make)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    cached_initrd(root, KERNEL, "initramfs-tools", "live", cache, make)
    cached_initrd(root, KERNEL, "initramfs-tools", "live", cache, make)
    assert make.calls == 2  # once without an epoch, once with it


def test_no_cache_directory_makes_every_time(root: Path) -> None:
    make = Maker(root)
    for _ in range(2):
        cached_initrd(root, KERNEL, "dracut", "live", None, make)
    assert make.calls == 2


def test_a_generator_that_writes_nothing_is_an_error(root: Path, tmp_path: Path) -> None:
    with pytest.raises(KiwiLikeError, match="dracut did not write /boot/initrd.img-6.1.0-99"):
        cached_initrd(root, KERNEL, "dracut", "live", tmp_path / "cache", lambda: None)
    assert not list((tmp_path / "cache").glob("**/*.img"))


def test_the_initrd_time_is_recorded_in_the_initrd_stage(root: Path, tmp_path: Path) -> None:
    """Disk and live initrds alike (the live ISO's once showed 0 s in the initrd stage)."""
    recorder = timing.Recorder()
    make = Maker(root)
    with timing.recording(recorder):
        cached_initrd(root, KERNEL, "initramfs-tools", "live", tmp_path / "cache", make)
        (root / KERNEL.initrd.lstrip("/")).unlink()
        cached_initrd(root, KERNEL, "initramfs-tools", "live", tmp_path / "cache", make)
    recorded = [(step.name, step.stage, step.skipped) for step in recorder.steps]
    assert recorded == [
        ("initrd", "initrd", False),
        ("initrd generation", "initrd", True),
        ("initrd", "initrd", False),
    ]
