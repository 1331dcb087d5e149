"""oem-resize: a first-boot service that grows the root partition and file system.

The root partition is the last one, so on a bigger disk it can take all the
space after it: the service moves the GPT backup header to the new end of
the disk, extends the partition with sfdisk, tells the kernel the new size
(BLKPG through `partx --update`, which works while the root is mounted) and
grows the mounted file system online. It runs once: a stamp file ends it for
good, and it logs to the journal.
"""

from __future__ import annotations

from pathlib import Path

from kiwi_like.rootfs import resolve_in_root

UNIT_NAME = "kiwi-like-resize.service"
UNIT_PATH = f"/etc/systemd/system/{UNIT_NAME}"
WANTS_LINK = f"/etc/systemd/system/multi-user.target.wants/{UNIT_NAME}"
SCRIPT_PATH = "/usr/libexec/kiwi-like/resize-root"
STAMP = "/var/lib/kiwi-like/resize-done"

# Tools the script runs, by file system; each with the Debian package providing it.
COMMON_TOOLS = (("sfdisk", "fdisk"), ("partx", "util-linux"), ("findmnt", "mount"))
GROW_TOOLS = {
    "ext2": ("resize2fs", "e2fsprogs"),
    "ext3": ("resize2fs", "e2fsprogs"),
    "ext4": ("resize2fs", "e2fsprogs"),
    "xfs": ("xfs_growfs", "xfsprogs"),
    "btrfs": ("btrfs", "btrfs-progs"),
}

UNIT = f"""\
# Written by kiwi-like (oem-resize): grow the root file system on the first boot.
[Unit]
Description=Grow the root partition and file system to the end of the disk
ConditionPathExists=!{STAMP}
After=local-fs.target
Before=multi-user.target

[Service]
Type=oneshot
ExecStart={SCRIPT_PATH}

[Install]
WantedBy=multi-user.target
"""

SCRIPT = f"""\
#!/bin/sh
# Written by kiwi-like (oem-resize): grow the root partition to the end of the
# disk and the mounted root file system with it. Runs once ({STAMP}).
set -eu
say() {{ echo "kiwi-like-resize: $*"; }}
finished() {{ mkdir -p "$(dirname {STAMP})"; date -u > {STAMP}; }}

# an overlay root (overlayroot) keeps its changes on the write partition: that grows
mnt=/
[ "$(findmnt -n -o FSTYPE /)" = overlay ] && mnt=/run/overlay/overlayfs
part=$(readlink -f "$(findmnt -n -v -o SOURCE "$mnt" || echo none)")
fstype=$(findmnt -n -o FSTYPE "$mnt" || echo none)
name=${{part##*/}}
sys=/sys/class/block/$name
if [ ! -r "$sys/partition" ]; then
    say "the root file system is not on a partition ($part): nothing to grow"
    finished
    exit 0
fi
number=$(cat "$sys/partition")
disk_name=$(basename "$(readlink -f "$sys/..")")
disk=/dev/$disk_name
start=$(cat "$sys/start")
size=$(cat "$sys/size")
total=$(cat "/sys/class/block/$disk_name/size")
# sizes in 512-byte sectors; less than 2 MiB to gain is not worth it
if [ $((total - start - size)) -lt 4096 ]; then
    say "$part already reaches the end of $disk"
    finished
    exit 0
fi
label=$(sfdisk --dump "$disk" 2>/dev/null | sed -n 's/^label: *//p')
if [ "$label" = gpt ]; then
    sfdisk --relocate gpt-bak-std "$disk"
fi
echo ', +' | sfdisk --force --no-reread --no-tell-kernel -N "$number" "$disk"
partx --update --nr "$number" "$disk"
case $fstype in
    ext2|ext3|ext4) resize2fs "$part" ;;
    xfs) xfs_growfs "$mnt" ;;
    btrfs) btrfs filesystem resize max "$mnt" ;;
    *) say "cannot grow a $fstype file system" ;;
esac
say "$part grew from $((size / 2048)) MiB to $(($(cat "$sys/size") / 2048)) MiB"
finished
"""


def required_tools(filesystem: str) -> tuple[tuple[str, str], ...]:
    return (*COMMON_TOOLS, GROW_TOOLS[filesystem])


def install_resize(root: Path) -> None:
    script = resolve_in_root(root, SCRIPT_PATH)
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(SCRIPT)
    script.chmod(0o755)
    unit = resolve_in_root(root, UNIT_PATH)
    unit.parent.mkdir(parents=True, exist_ok=True)
    unit.write_text(UNIT)
    unit.chmod(0o644)
    link = resolve_in_root(root, WANTS_LINK, follow_last=False)
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(UNIT_PATH)
    stamp = resolve_in_root(root, STAMP)
    if stamp.exists():
        stamp.unlink()


def remove_resize(root: Path) -> None:
    """oem-resize is off: take out what an earlier build of this root put in."""
    for path in (WANTS_LINK, UNIT_PATH, SCRIPT_PATH):
        target = resolve_in_root(root, path, follow_last=False)
        if target.is_symlink() or target.is_file():
            target.unlink()
