"""System settings from <preferences>: locale, keytable, timezone, hostname.

Written as plain files so they work whether or not the image has
systemd-firstboot, and never need packages the description did not ask for.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from kiwi_like.chroot import run_in_root
from kiwi_like.description import ResolvedBuild
from kiwi_like.errors import KiwiLikeError
from kiwi_like.log import log
from kiwi_like.rootfs import resolve_in_root


def _write(root: Path, path: str, text: str) -> None:
    target = resolve_in_root(root, path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink():
        target.unlink()
    target.write_text(text)


def locale_name(locale: str) -> str:
    """kiwi's rule: the first entry of the list, as UTF-8, POSIX stays POSIX."""
    entries = [entry.strip() for entry in locale.split(",")]
    if "POSIX" in entries:
        return "POSIX"
    first = entries[0]
    return first if "." in first else f"{first}.UTF-8"


def run_locale_gen(root: Path) -> None:
    run_in_root(root, ["locale-gen"])


def setup_locale(
    root: Path, locale: str, generate: Callable[[Path], None] = run_locale_gen
) -> None:
    """`generate`: what runs locale-gen (the root cache may have its result already)."""
    name = locale_name(locale)
    log.info("Setting locale %s", name)
    _write(root, "/etc/default/locale", f"LANG={name}\n")
    _write(root, "/etc/locale.conf", f"LANG={name}\n")
    if name == "POSIX" or name.startswith("C."):
        return  # built into the C library
    locale_gen = root / "etc/locale.gen"
    if locale_gen.is_file() and (root / "usr/sbin/locale-gen").exists():
        entry = f"{name} {name.split('.', 1)[1]}"
        lines = locale_gen.read_text().splitlines()
        lines = [line for line in lines if line.lstrip("# ").strip() != entry]
        locale_gen.write_text("\n".join([*lines, entry]) + "\n")
        generate(root)
    elif not (root / "usr/share/doc/locales-all").exists():
        log.warning(
            "locale %s is set, but the image has no locale data for it "
            "(add the package locales or locales-all)",
            name,
        )


def setup_keytable(root: Path, keytable: str) -> None:
    log.info("Setting keytable %s", keytable)
    _write(root, "/etc/vconsole.conf", f"KEYMAP={keytable}\n")


def setup_timezone(root: Path, timezone: str) -> None:
    log.info("Setting timezone %s", timezone)
    zone = resolve_in_root(root, f"/usr/share/zoneinfo/{timezone}")
    localtime = root / "etc/localtime"
    if localtime.is_symlink() or localtime.exists():
        localtime.unlink()
    if zone.is_file():
        localtime.symlink_to(f"/usr/share/zoneinfo/{timezone}")
    elif timezone not in ("UTC", "Etc/UTC"):
        raise KiwiLikeError(
            f"timezone {timezone} is not in the image: add the package tzdata (Debian) or timezone"
        )
    # Without zone data and /etc/localtime, glibc and systemd use UTC.
    _write(root, "/etc/timezone", f"{timezone}\n")


def hostname_for(build: ResolvedBuild) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", build.name.lower()).strip("-")
    return name[:63] or "localhost"


def setup_hostname(root: Path, hostname: str) -> None:
    """Replace the build host's name, which bootstrap tools copy into the root."""
    log.info("Setting hostname %s", hostname)
    _write(root, "/etc/hostname", f"{hostname}\n")
    hosts = [
        "127.0.0.1\tlocalhost",
        f"127.0.1.1\t{hostname}",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "ff02::1\tip6-allnodes",
        "ff02::2\tip6-allrouters",
    ]
    _write(root, "/etc/hosts", "\n".join(hosts) + "\n")


def apply_settings(
    build: ResolvedBuild, root: Path, generate_locales: Callable[[Path], None] = run_locale_gen
) -> None:
    preferences = build.preferences
    if preferences.locale:
        setup_locale(root, preferences.locale, generate_locales)
    if preferences.keytable:
        setup_keytable(root, preferences.keytable)
    if preferences.timezone:
        setup_timezone(root, preferences.timezone)


def reset_machine_id(root: Path) -> None:
    """Empty the machine id that package scripts generated during the build.

    Every machine made from the image must get its own at first boot (systemd
    writes an empty /etc/machine-id then), or all of them share one DHCP client
    id and journal id. dbus's copy is a link to it or goes away.
    """
    machine_id = resolve_in_root(root, "/etc/machine-id")
    if machine_id.is_file() and not machine_id.is_symlink() and machine_id.stat().st_size:
        log.info("Emptying /etc/machine-id (generated at first boot)")
        machine_id.write_text("")
    dbus_id = resolve_in_root(root, "/var/lib/dbus/machine-id")
    if dbus_id.is_file() and not dbus_id.is_symlink():
        dbus_id.unlink()
        dbus_id.symlink_to("/etc/machine-id")
