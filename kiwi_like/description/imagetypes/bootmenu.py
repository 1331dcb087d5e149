"""The GRUB menu and kernel command line of a bootable type (disk or ISO)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kiwi_like.description.imagetypes.base import choice, positive_number
from kiwi_like.errors import KiwiLikeError

if TYPE_CHECKING:
    from kiwi_like.description.resolve import ResolvedBuild

DEFAULT_TIMEOUT = 10
SERIAL_CONSOLE_ARG = "console=ttyS0,115200"
DEFAULT_SERIAL_LINE = "serial --unit=0 --speed=115200"


@dataclass(frozen=True)
class BootMenu:
    kernel_options: tuple[str, ...]  # from kernelcmdline plus the serial console
    grub_output: tuple[str, ...]  # GRUB terminals: serial and/or console
    grub_input: tuple[str, ...]
    serial_line: str
    timeout: int
    timeout_style: str | None
    title: str


def kernel_options(build: ResolvedBuild) -> tuple[str, ...]:
    """`kernelcmdline` of the type, as words."""
    return tuple((build.build_type.get("kernelcmdline") or "").split())


def _terminals(words: str) -> tuple[str, ...]:
    """kiwi's console words as GRUB terminals (graphical ones fall back to the PC console)."""
    terminals = (
        "serial" if word == "serial" else "console" for word in words.split() if word != "none"
    )
    return tuple(dict.fromkeys(terminals))


def _consoles(build: ResolvedBuild) -> tuple[str, str]:
    """(output, input) console words as kiwi reads them: the input defaults to the output.

    `<bootloader output_console input_console>` (upgrade.py turns the older console="OUT IN"
    into these), else the schema 6.x type attribute bootloader_console="OUT IN".
    """
    bootloader = build.build_type.bootloader
    if bootloader is not None and (bootloader.output_console or bootloader.input_console):
        output = bootloader.output_console or "console"
        return output, bootloader.input_console or output
    legacy = build.build_type.get("bootloader_console") or "console"
    output, _, given_input = legacy.partition(" ")
    return output, given_input.strip() or output


def boot_menu(build: ResolvedBuild, kind: str) -> BootMenu:
    """`<bootloader>`, `kernelcmdline` and the title, read the way kiwi reads them."""
    build_type = build.build_type
    bootloader = build_type.bootloader
    loader_name = bootloader.name if bootloader else build_type.get("bootloader") or "grub2"
    choice("bootloader", loader_name, ("grub2",), kind)
    output, given_input = _consoles(build)
    timeout = bootloader.timeout if bootloader and bootloader.timeout is not None else None
    if timeout is None:
        timeout = positive_number(
            "boottimeout", build_type.get("boottimeout"), DEFAULT_TIMEOUT, "seconds"
        )
    options = kernel_options(build)
    if any(option.split("=", 1)[0] == "rd.kiwi.ramdisk" for option in options):
        raise KiwiLikeError(
            "kernelcmdline 'rd.kiwi.ramdisk' (kiwi's install into a RAM disk) is not supported yet"
        )
    serial = "serial" in f"{output} {given_input}".split()
    if serial and not any(option.startswith("console=ttyS") for option in options):
        options = (*options, SERIAL_CONSOLE_ARG)
    return BootMenu(
        kernel_options=options,
        grub_output=_terminals(output),
        grub_input=_terminals(given_input),
        serial_line=(bootloader.serial_line if bootloader else None) or DEFAULT_SERIAL_LINE,
        timeout=timeout,
        timeout_style=bootloader.timeout_style if bootloader else None,
        title=build_type.oemconfig.get("oem-boot-title")
        or build.description.displayname
        or build.name,
    )
