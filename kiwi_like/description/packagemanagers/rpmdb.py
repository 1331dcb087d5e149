"""Where rpm keeps its database in a root: shared by the zypper and dnf descriptors
and by the rpm adapters (kiwi_like/installer/rpm.py)."""

from __future__ import annotations

SYSIMAGE_DB = "/usr/lib/sysimage/rpm"
LEGACY_DB = "/var/lib/rpm"
DB_FILES = ("rpmdb.sqlite", "Packages.db", "Packages")
# Root-relative database files: any of them shows a root an rpm-based manager made.
DATABASE_MARKERS = tuple(
    f"{directory.lstrip('/')}/{name}" for directory in (SYSIMAGE_DB, LEGACY_DB) for name in DB_FILES
)
