"""The longest file name a build makes, checked before any work starts.

Result files are named `<name>.<arch>-<version><suffix>`; a file name has at most 255
bytes on every Linux file system, so an image name of 240 characters would fail at the
very end of a build, after the packages were installed and the disk was made.
"""

from __future__ import annotations

from kiwi_like.description.resolve import ResolvedBuild
from kiwi_like.errors import DescriptionError

MAX_NAME_BYTES = 255
CHECKSUM = ".sha256"  # the longest checksum suffix kiwi-like writes beside an image
# what every build writes beside its image
COMMON = (".packages", ".verified", ".changes")
# what each type writes (create/oem.py, create/formats.py, create/iso, create/pxe,
# create/container), checksums included
BY_TYPE: dict[str, tuple[str, ...]] = {
    "oem": (
        ".raw" + CHECKSUM,
        ".install.iso" + CHECKSUM,
        ".install.tar" + CHECKSUM,
        ".install.conf",
        ".vagrant.libvirt.box" + CHECKSUM,
        ".vhdfixed" + CHECKSUM,
    ),
    "iso": (".iso" + CHECKSUM,),
    "kis": (".tar.xz" + CHECKSUM, ".squashfs" + CHECKSUM, ".kernel", ".initrd"),
    "docker": (".docker.tar" + CHECKSUM,),
    "oci": (".oci.tar" + CHECKSUM,),
    "tbz": (".tar.xz" + CHECKSUM,),
    **{
        fs: (f".{fs}" + CHECKSUM,)
        for fs in ("ext2", "ext3", "ext4", "btrfs", "xfs", "squashfs", "erofs")
    },
}
LEGACY = {"vmx": "oem", "pxe": "kis"}


def longest_suffix(image: str) -> str:
    """The longest suffix the type makes (any type's, for a type not in the table)."""
    image = LEGACY.get(image, image)
    suffixes = BY_TYPE.get(image) or tuple(s for group in BY_TYPE.values() for s in group)
    return max((*COMMON, *suffixes), key=len)


def check(build: ResolvedBuild) -> None:
    """Refuse a name, arch and version that make a result file name too long."""
    longest = build.result_basename + longest_suffix(build.build_type.image)
    size = len(longest.encode("utf-8", errors="surrogateescape"))
    if size <= MAX_NAME_BYTES:
        return
    raise DescriptionError(
        f"image name '{build.name[:40]}...' with arch and version "
        f"'{build.arch}-{build.version[:20]}' makes result file names of up to {size} bytes "
        f"(...{longest_suffix(build.build_type.image)}), more than the {MAX_NAME_BYTES} a file "
        "name may have: shorten the name or the version",
        file=str(build.description.file),
    )
