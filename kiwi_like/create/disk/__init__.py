"""Bootable disk images (the oem type) built from a prepared root without loop devices."""

from __future__ import annotations

from kiwi_like.create.disk.builder import build_disk
from kiwi_like.create.disk.result import DiskResult, PartitionInfo

__all__ = ["DiskResult", "PartitionInfo", "build_disk"]
