"""kiwi's /.profile: the image settings as shell variables for the user's scripts.

kiwi writes the values of the description as they are (an attribute that is not
set is empty), except where it resolves a default itself, as for the initrd system.
"""

from __future__ import annotations

from kiwi_like.description.imagetypes import is_buildable
from kiwi_like.description.resolve import ResolvedBuild


def profile_variables(build: ResolvedBuild) -> dict[str, str]:
    """kiwi's /.profile variables for the image settings."""
    preferences = build.preferences
    build_type = build.build_type
    bootloader = build_type.bootloader
    values = {
        "kiwi_iname": build.name,
        "kiwi_displayname": build.description.displayname or build.name,
        "kiwi_iversion": build.version,
        "kiwi_arch": build.arch,
        "kiwi_profiles": ",".join(build.profiles),
        "kiwi_type": build_type.image,
        "kiwi_filesystem": build_type.filesystem or "",
        "kiwi_firmware": build_type.firmware or "",
        "kiwi_initrd_system": _initrd_system(build),
        "kiwi_bootloader": bootloader.name if bootloader else "",
        "kiwi_language": preferences.locale or "",
        "kiwi_keytable": preferences.keytable or "",
        "kiwi_timezone": preferences.timezone or "",
        "kiwi_packagemanager": preferences.packagemanager,
        "kiwi_release_version": preferences.release_version or "",
        "kiwi_drivers": ",".join(
            name for files in build.file_lists if files.kind == "drivers" for name in files.files
        ),
    }
    for name, value in build_type.oemconfig.items():
        values["kiwi_" + name.replace("-", "")] = value
    return values


def _initrd_system(build: ResolvedBuild) -> str:
    """kiwi's value for the type; types kiwi-like cannot build yet get what is written."""
    if is_buildable(build.build_type.image):
        return build.settings.initrd_system
    return build.build_type.attributes.get("initrd_system", "")
