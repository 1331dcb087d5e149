"""The live ISO booted by dracut with kiwi-like's live module (kiwi's layout and options).

The root is /LiveOS/squashfs.img on the medium (where kiwi and dracut's
dmsquash-live look for it); `root=live:CDLABEL=<volid>` names the medium and
the module mounts the squashfs under an overlay in RAM, or, with
hybridpersistent, on a partition labelled "cow" that it makes of the free space
of the USB stick the ISO was written to (rd.live.overlay.persistent).
"""

from __future__ import annotations

from pathlib import Path

from kiwi_like.create.boot.dracut import LIVE_MODULE, has_dracut, make_dracut_initrd
from kiwi_like.create.boot.kernel import Kernel
from kiwi_like.description.imagetypes.medium import IsoSettings
from kiwi_like.errors import KiwiLikeError

SQUASHFS_DIR = "LiveOS"
SQUASHFS_NAME = "squashfs.img"
PERSISTENT_OPTIONS = ("rd.live.overlay.persistent", "rd.live.overlay.cowfs=ext4")


def check_dracut_live(root: Path) -> None:
    if not has_dracut(root):
        raise KiwiLikeError("the image has no dracut: add the package dracut")


def make_live_initrd(root: Path, kernel: Kernel) -> None:
    """The live initrd in the root's usual place (kernel.initrd)."""
    make_dracut_initrd(
        root, kernel, kernel.initrd, add=(LIVE_MODULE,), filesystems=("ext4",), what="live"
    )


def live_options(settings: IsoSettings, persistent: bool) -> tuple[str, ...]:
    options = (f"root=live:CDLABEL={settings.volid}", "rd.live.image")
    return (*options, *(PERSISTENT_OPTIONS if persistent else ()))


def squashfs_path(tree: Path) -> Path:
    directory = tree / SQUASHFS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    return directory / SQUASHFS_NAME
