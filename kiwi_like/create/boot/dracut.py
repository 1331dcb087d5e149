"""Initrds made by the image's dracut, with kiwi-like's own dracut modules.

kiwi boots its images with the dracut modules of its `dracut-kiwi-*` packages;
kiwi-like ships its own (`dracut_modules/`, shell) and copies them into the
image's /usr/lib/dracut/modules.d at build time: `kiwi-like-lib` (messages,
rd.kiwi.debug), `kiwi-like-live` (root=live:..., the rd.live.* parameters,
hybridpersistent) and `kiwi-like-install` (the install ISO's installer). A disk's
root grows on first boot by kiwi-like's resize service in the root, for either
initrd system.

The initrds are small and quick to make: no systemd in the initrd (dracut's
shell init runs the hooks, with the console for the installer's questions),
none of the storage stacks kiwi-like images never boot from (LVM, RAID, LUKS,
multipath, network roots), only the drivers disks, CDs and USB sticks boot from
(unless the runtime config asks for all: initrd.modules most), and zstd or lz4
when the image has it.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from kiwi_like import reproducible, timing
from kiwi_like.chroot import run_in_root
from kiwi_like.create.boot.kernel import Kernel
from kiwi_like.create.boot.tools import has_program
from kiwi_like.errors import KiwiLikeError
from kiwi_like.log import log
from kiwi_like.rootfs import resolve_in_root

MODULES = Path(__file__).with_name("dracut_modules")
MODULES_IN_ROOT = "/usr/lib/dracut/modules.d"
DRACUT = ("/usr/bin/dracut", "/usr/sbin/dracut", "/sbin/dracut")
LIB_MODULE = "kiwi-like-lib"
LIVE_MODULE = "kiwi-like-live"
INSTALL_MODULE = "kiwi-like-install"
NET_MODULE = "kiwi-like-net"  # ip=, busybox udhcpc/wget/tftp: network boot and install
NETBOOT_MODULE = "kiwi-like-netboot"  # kis: kiwi-like.image=, the root image over the network
OVERLAY_MODULE = "kiwi-like-overlay"  # overlayroot: root=overlay:..., rd.root.overlay.*
OMIT = (
    "systemd", "systemd-initrd", "dracut-systemd", "systemd-networkd", "plymouth", "i18n",
    "lvm", "dm", "dmraid", "mdraid", "crypt", "multipath", "iscsi", "nfs", "nbd", "nvmf",
    "fcoe", "fcoe-uefi", "cifs", "resume", "memstrack", "nvdimm", "biosdevname", "rngd",
    "hwdb",  # udev's hardware database: 13 MB that booting from a disk does not need
    # dracut's network stack (dracut-network): kiwi-like's initrds bring their own
    # (kiwi-like-net); with systemd-networkd left out, dracut refuses to build them
    "network", "network-legacy", "network-manager", "ifcfg", "livenet",
)  # fmt: skip
# The drivers of kiwi-like's initrds (initrd.modules "disk"): what disks, CDs and USB
# sticks of virtual and real machines boot from and a keyboard for the emergency shell;
# each initrd adds its file systems. dracut's kernel-modules would add every storage driver.
DRIVERS = (
    "virtio_pci", "virtio_blk", "virtio_scsi", "virtio_mmio", "nvme", "ahci", "ata_piix",
    "ata_generic", "pata_acpi", "sd_mod", "sr_mod", "hv_storvsc", "vmw_pvscsi",
    "xen_blkfront", "megaraid_sas", "mpt3sas", "mptspi", "mptsas", "aacraid", "hpsa",
    "smartpqi", "xhci_pci", "ehci_pci", "ohci_pci", "uhci_hcd", "usb_storage", "uas",
    "sdhci_pci", "sdhci_acpi", "mmc_block", "usbhid", "hid_generic", "atkbd",
    "crc32c_generic",
)  # fmt: skip


def has_dracut(root: Path) -> bool:
    return any(resolve_in_root(root, path).is_file() for path in DRACUT)


def install_modules(root: Path, extra: Mapping[str, Path] | None = None) -> None:
    """kiwi-like's dracut modules into the image; `extra`: more files, by path in modules.d."""
    target = resolve_in_root(root, MODULES_IN_ROOT)
    for source in sorted(MODULES.iterdir()):
        if not source.is_dir() or not (source / "module-setup.sh").is_file():
            continue
        destination = target / source.name
        if destination.is_dir():
            shutil.rmtree(destination)
        shutil.copytree(source, destination)
        for script in destination.iterdir():
            script.chmod(0o755)
    for relative, source in (extra or {}).items():
        shutil.copyfile(source, target / relative)
        (target / relative).chmod(0o755)


# dracut's own --zstd is `zstd -15`: most of a disk initrd's time (14 s of 16 s CPU);
# level 3 takes a fraction of a second, and the kernel reads the same format.
ZSTD = ("--compress", "zstd -3 -q -T0")


def compression(root: Path) -> tuple[str, ...]:
    """zstd, else lz4, if the image has the program; dracut's default (gzip) otherwise."""
    if has_program(root, "zstd"):
        return ZSTD
    if has_program(root, "lz4"):
        return ("--lz4",)
    return ()


def dracut_command(
    root: Path,
    kernel: Kernel,
    output: str,
    *,
    add: Sequence[str] = (),
    filesystems: Sequence[str] = (),
    all_drivers: bool = False,
) -> list[str]:
    command = ["dracut", "--force", "--no-hostonly", "--no-hostonly-cmdline", "--quiet"]
    omit = list(OMIT)
    if not all_drivers:
        omit += ["kernel-modules", "kernel-modules-extra"]
        command += ["--drivers", " ".join((*DRIVERS, *filesystems))]
    command += ["--omit", " ".join(omit), *compression(root)]
    if add:
        command += ["--add", " ".join(add)]
    if reproducible.source_date_epoch() is not None:  # sorted cpio, times of SOURCE_DATE_EPOCH
        command.append("--reproducible")
    return [*command, output, kernel.version]


def make_dracut_initrd(
    root: Path,
    kernel: Kernel,
    output: str,
    *,
    add: Sequence[str] = (),
    filesystems: Sequence[str] = (),
    all_drivers: bool = False,
    what: str = "disk",
    extra: Mapping[str, Path] | None = None,
) -> None:
    """The initrd `output` (a path in the root) with kiwi-like's modules `add`."""
    if not has_dracut(root):
        raise KiwiLikeError("the image has no dracut: add the package dracut")
    install_modules(root, extra)
    log.info("Generating the %s initrd for kernel %s with dracut", what, kernel.version)
    command = dracut_command(
        root, kernel, output, add=add, filesystems=filesystems, all_drivers=all_drivers
    )
    run_in_root(root, command, private_tmp=True)
    if not resolve_in_root(root, output).is_file():
        raise KiwiLikeError(f"dracut did not write {output}")


def make_dracut_initrd_outside(
    root: Path,
    kernel: Kernel,
    target: Path,
    *,
    add: Sequence[str],
    filesystems: Sequence[str],
    what: str,
    extra: Mapping[str, Path] | None = None,
) -> Path:
    """An initrd made in the root (dracut runs there) and moved to `target`, readable by
    all (dracut writes 0600; a TFTP server must read network initrds)."""
    in_root = f"/boot/.kiwi-like-{target.stem}-{kernel.version}.img"
    with timing.step(f"{what} initrd", "initrd"):
        make_dracut_initrd(
            root, kernel, in_root, add=add, filesystems=filesystems, what=what, extra=extra
        )
    shutil.move(resolve_in_root(root, in_root), target)
    target.chmod(0o644)
    return target
