"""KIWI NG's boot packages, which kiwi-like provides itself.

kiwi's boot code is the dracut modules of its `dracut-kiwi-*` packages, from
kiwi's own repository (no distribution has them under these names). kiwi-like
installs its own dracut modules into every image it boots with dracut, so
these names come out of the package lists, and the dracut they depend on goes
in. The type's initrd system, when the type names it, also takes out the
packages of the other one: dracut and initramfs-tools conflict, and apt would
fail with its raw conflict text after the bootstrap.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from kiwi_like.description.imagetypes.base import DRACUT_PACKAGES, INITRAMFS_TOOLS_PACKAGES
from kiwi_like.description.model import BuildType
from kiwi_like.log import log

if TYPE_CHECKING:
    from kiwi_like.description.resolve import PackageLists

# kiwi's package: what kiwi-like does instead (all of it is in kiwi-like's dracut modules)
KIWI_DRACUT_PACKAGES = {
    "dracut-kiwi-lib": "kiwi-like's dracut modules",
    "dracut-kiwi-oem-repart": "kiwi-like's first-boot resize",
    "dracut-kiwi-oem-dump": "kiwi-like's installer",
    "dracut-kiwi-live": "kiwi-like's live root",
    "dracut-kiwi-overlay": "kiwi-like's overlay root",
}
BOOTABLE_TYPES = ("oem", "vmx", "iso", "kis", "pxe")


def _without(names: tuple[str, ...], dropped: set[str]) -> tuple[str, ...]:
    return tuple(name for name in names if name not in dropped)


def substitute_boot_packages(packages: PackageLists, build_type: BuildType) -> PackageLists:
    """The package lists with kiwi's dracut modules and the conflicting initrd packages out."""
    listed = set(packages.bootstrap) | set(packages.image)
    kiwi = sorted(name for name in listed if name in KIWI_DRACUT_PACKAGES)
    image = packages.image
    if kiwi:
        log.info(
            "kiwi-like provides %s itself (its own dracut modules): not installing them",
            ", ".join(kiwi),
        )
        image = _without(image, set(kiwi))
        if not listed & set(DRACUT_PACKAGES):
            image = (*image, "dracut")  # what kiwi's packages depend on
    bootstrap = _without(packages.bootstrap, set(kiwi))
    written = build_type.get("initrd_system")
    if build_type.image in BOOTABLE_TYPES and written in ("dracut", "kiwi"):
        other = INITRAMFS_TOOLS_PACKAGES if written == "dracut" else DRACUT_PACKAGES
        conflicting = {name for name in (*bootstrap, *image) if name in other}
        if conflicting:
            log.info(
                'initrd_system="%s": not installing %s, which conflicts with it',
                written,
                ", ".join(sorted(conflicting)),
            )
            image = _without(image, conflicting)
            bootstrap = _without(bootstrap, conflicting)
    if (image, bootstrap) == (packages.image, packages.bootstrap):
        return packages
    return replace(packages, image=image, bootstrap=bootstrap)
