"""What the description says about a disk, read and checked once.

Everything later steps need from `<type>`, `<bootloader>`, `<oemconfig>` and
`<size>` is collected into one frozen `DiskSettings`; unsupported values are
refused here, before anything is built.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiwi_like.description import ResolvedBuild
from kiwi_like.description.model import Size
from kiwi_like.errors import KiwiLikeError

FIRMWARES = ("bios", "efi", "uefi")
ROOT_FILESYSTEMS = ("ext2", "ext3", "ext4", "xfs", "btrfs")
TABLE_TYPES = ("gpt", "msdos")
PERSISTENCY = ("by-uuid", "by-label", "by-partuuid")
DEFAULT_ESP_MB = 64
DEFAULT_SWAP_MB = 128
DEFAULT_TIMEOUT = 10
DEFAULT_ROOT_LABEL = "ROOT"
SERIAL_CONSOLE_ARG = "console=ttyS0,115200"
DEFAULT_SERIAL_LINE = "serial --unit=0 --speed=115200"


@dataclass(frozen=True)
class BootMenu:
    """The GRUB menu and kernel command line of a bootable type (disk or ISO)."""

    kernel_options: tuple[str, ...]  # from kernelcmdline plus the serial console
    grub_output: tuple[str, ...]  # GRUB terminals: serial and/or console
    grub_input: tuple[str, ...]
    serial_line: str
    timeout: int
    timeout_style: str | None
    title: str


@dataclass(frozen=True)
class DiskSettings:
    firmware: str  # bios | efi (uefi is read as efi)
    filesystem: str
    table: str  # gpt | msdos
    esp_mb: int
    swap_mb: int | None  # None: no swap partition
    resize: bool
    size: Size | None
    persistency: str
    root_label: str
    initrd_system: str  # auto | dracut
    menu: BootMenu

    @property
    def efi(self) -> bool:
        return self.firmware == "efi"


def _flag(value: str | None, default: bool) -> bool:
    return default if value is None or value.strip() == "" else value.strip().lower() == "true"


def _number(what: str, value: str | None, default: int) -> int:
    if value is None or value.strip() == "":
        return default
    if not value.strip().isdigit() or int(value) <= 0:
        raise KiwiLikeError(f"{what} must be a positive number of MB, not '{value}'")
    return int(value)


def _choice(what: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise KiwiLikeError(
            f"{what} '{value}' is not supported for disk images (supported: {', '.join(allowed)})"
        )
    return value


def _terminals(word: str) -> tuple[str, ...]:
    """kiwi's console word as GRUB terminals (graphical ones fall back to the PC console)."""
    if word == "none":
        return ()
    return ("serial",) if word == "serial" else ("console",)


def boot_menu(build: ResolvedBuild) -> BootMenu:
    """`<bootloader>`, `kernelcmdline` and the title, read the way kiwi reads them."""
    build_type = build.build_type
    bootloader = build_type.bootloader
    loader_name = bootloader.name if bootloader else build_type.get("bootloader") or "grub2"
    _choice("bootloader", loader_name, ("grub2",))
    console = (bootloader.console if bootloader else None) or build_type.get("bootloader_console")
    words = (console or "console").split()
    timeout = bootloader.timeout if bootloader and bootloader.timeout is not None else None
    if timeout is None:
        timeout = _number("boottimeout", build_type.get("boottimeout"), DEFAULT_TIMEOUT)
    options = tuple((build_type.get("kernelcmdline") or "").split())
    if "serial" in words and not any(option.startswith("console=ttyS") for option in options):
        options = (*options, SERIAL_CONSOLE_ARG)
    return BootMenu(
        kernel_options=options,
        grub_output=_terminals(words[0]),
        grub_input=_terminals(words[1] if len(words) > 1 else words[0]),
        serial_line=(bootloader.serial_line if bootloader else None) or DEFAULT_SERIAL_LINE,
        timeout=timeout,
        timeout_style=bootloader.timeout_style if bootloader else None,
        title=build_type.oemconfig.get("oem-boot-title")
        or build.description.displayname
        or build.name,
    )


def disk_settings(build: ResolvedBuild) -> DiskSettings:
    """Read the disk settings of the selected type; refuse what kiwi-like cannot build."""
    build_type = build.build_type
    if build.arch != "x86_64":
        raise KiwiLikeError(f"disk images are only supported for x86_64, not {build.arch}")
    firmware = _choice("firmware", build_type.firmware or "bios", FIRMWARES)
    filesystem = _choice("filesystem", build_type.filesystem or "ext4", ROOT_FILESYSTEMS)
    table = _choice("efiparttable", build_type.get("efiparttable") or "gpt", TABLE_TYPES)
    persistency = _choice(
        "devicepersistency", build_type.get("devicepersistency") or "by-uuid", PERSISTENCY
    )
    # kiwi's own initrd ("kiwi") does not exist here: the image's initramfs-tools stands in
    initrd_system = build_type.get("initrd_system") or "kiwi"
    _choice("initrd_system", initrd_system, ("kiwi", "dracut"))
    oem = build_type.oemconfig
    swap_mb = (
        _number("oem-swapsize", oem.get("oem-swapsize"), DEFAULT_SWAP_MB)
        if _flag(oem.get("oem-swap"), False)
        else None
    )
    return DiskSettings(
        firmware="efi" if firmware in ("efi", "uefi") else "bios",
        filesystem=filesystem,
        table=table,
        esp_mb=_number("efipartsize", build_type.get("efipartsize"), DEFAULT_ESP_MB),
        swap_mb=swap_mb,
        resize=_flag(oem.get("oem-resize"), build_type.image == "oem"),
        size=build_type.size,
        persistency=persistency,
        root_label=build_type.get("rootfs_label") or DEFAULT_ROOT_LABEL,
        initrd_system="dracut" if initrd_system == "dracut" else "auto",
        menu=boot_menu(build),
    )
