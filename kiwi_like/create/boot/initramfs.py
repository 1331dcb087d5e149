"""Initrds for kiwi-like's own boot scripts, made by the image's initramfs-tools.

The install ISO's installer and the network boot of kis images are
initramfs-tools boot scripts (`boot=<name>` on the kernel command line makes
init source /scripts/<name> and call its mountroot). mkinitramfs runs in the
image root with a private configuration directory holding that script and a
hook, so the image's own /etc/initramfs-tools and its disk initrd stay as they are.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from kiwi_like import timing
from kiwi_like.chroot import Bind, run_in_root
from kiwi_like.create.boot.kernel import Kernel
from kiwi_like.log import log

CONF_IN_ROOT = "/run/kiwi-like-initramfs"  # the configuration directory, bound into the root
INITRAMFS_CONF = """\
# written by kiwi-like for one of its own initrds
MODULES=most
BUSYBOX=y
COMPRESS=zstd
KEYMAP=n
"""


def make_initrd(
    root: Path,
    kernel: Kernel,
    work: Path,
    *,
    boot_script: Path,
    hook: Path,
    modules: Sequence[str],
    what: str,
) -> Path:
    """An initrd with `boot_script` as /scripts/<its name> and `hook` run while it is made."""
    conf = work / "initramfs"
    (conf / "hooks").mkdir(parents=True)
    (conf / "scripts").mkdir()
    (conf / "conf.d").mkdir()
    (conf / "initramfs.conf").write_text(INITRAMFS_CONF)
    (conf / "modules").write_text("".join(f"{name}\n" for name in modules))
    hook_copy = conf / "hooks" / f"kiwi-like-{boot_script.name}"
    shutil.copyfile(hook, hook_copy)
    hook_copy.chmod(0o755)
    shutil.copyfile(boot_script, conf / "scripts" / boot_script.name)
    log.info("Making the %s initrd with the image's initramfs-tools", what)
    with timing.step(f"{what} initrd", "initrd"):
        run_in_root(
            root,
            ["mkinitramfs", "-d", CONF_IN_ROOT, "-o", f"{CONF_IN_ROOT}/initrd.img", kernel.version],
            binds=[Bind(conf, CONF_IN_ROOT)],
            private_tmp=True,
        )
    return conf / "initrd.img"
