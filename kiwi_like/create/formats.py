"""Virtual-disk formats converted from the raw disk with qemu-img, and vagrant boxes."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from kiwi_like import run as runner
from kiwi_like.description import ResolvedBuild
from kiwi_like.errors import KiwiLikeError

# format attribute -> (file suffix, qemu-img output format, extra options)
QEMU_FORMATS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "qcow2": ("qcow2", "qcow2", ()),
    "vmdk": ("vmdk", "vmdk", ("-o", "subformat=streamOptimized")),
    "vhdx": ("vhdx", "vhdx", ("-o", "subformat=dynamic")),
    "vhd": ("vhd", "vpc", ()),
    "vhd-fixed": ("vhdfixed", "vpc", ("-o", "subformat=fixed,force_size=on")),
    "vdi": ("vdi", "vdi", ()),
}
SUPPORTED = (*QEMU_FORMATS, "vagrant")


def format_filename(build: ResolvedBuild, disk_format: str) -> str:
    if disk_format == "vagrant":
        return f"{build.result_basename}.vagrant.libvirt.box"
    return f"{build.result_basename}.{QEMU_FORMATS[disk_format][0]}"


def convert(raw: Path, disk_format: str, output: Path) -> None:
    if disk_format not in QEMU_FORMATS:
        raise KiwiLikeError(
            f"format '{disk_format}' is not supported (supported: {', '.join(SUPPORTED)})"
        )
    _, qemu_format, options = QEMU_FORMATS[disk_format]
    runner.run(["qemu-img", "convert", "-f", "raw", "-O", qemu_format, *options, raw, output])


def vagrant_box(raw: Path, output: Path, scratch: Path) -> None:
    """A libvirt vagrant box: box.img (qcow2), metadata.json and a Vagrantfile."""
    box = scratch / "vagrant-box"
    box.mkdir()
    convert(raw, "qcow2", box / "box.img")
    size_gib = max(1, -(-raw.stat().st_size // 1024**3))
    (box / "metadata.json").write_text(
        json.dumps({"provider": "libvirt", "format": "qcow2", "virtual_size": size_gib}) + "\n"
    )
    (box / "Vagrantfile").write_text(
        'Vagrant.configure("2") do |config|\n'
        "  config.vm.provider :libvirt do |libvirt|\n"
        '    libvirt.driver = "kvm"\n'
        "  end\n"
        "end\n"
    )
    with tarfile.open(output, "w:gz") as tar:
        for name in ("metadata.json", "Vagrantfile", "box.img"):
            tar.add(box / name, arcname=name)
