"""The verdicts of `support.py`: for each element and attribute of kiwi's language,
whether kiwi-like builds it ("done"), refuses it ("not supported yet") or ignores it
with a warning because that does no harm.

An entry is a tuple of `Support`s; the first one whose image types, package managers
and value test match the build decides. A name without an entry, or without a matching
`Support`, is refused: nothing is ever accepted and silently ignored. "done" means a
stage reads it: `imagetypes/` (the type's settings), `prepare/` or `create/`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["done", "refused", "ignored"]

DISK = ("oem",)
LIVE = ("iso",)
BOOTABLE = ("oem", "iso")
KIS = ("kis",)
CONTAINERS = ("docker", "oci")
# file system images with a size of their own (squashfs is as big as its content)
SIZED_FILESYSTEMS = ("ext2", "ext3", "ext4", "xfs", "btrfs")
RPM_MANAGERS = ("zypper", "dnf")
# <ignore>, repository priority and imageonly: what apt lacks here
SOLVING_MANAGERS = (*RPM_MANAGERS, "pacman")
# format= values the disk builder converts to (create/formats.py: SUPPORTED; a test
# keeps the two equal, the description layer may not import create)
DISK_FORMATS = ("qcow2", "vmdk", "vhdx", "vhd", "vhd-fixed", "vdi", "vagrant")


@dataclass(frozen=True)
class Context:
    """What a verdict depends on: the build's image type and package manager."""

    kind: str  # oem | iso | kis | docker | oci | tbz | ext2... (IMAGE_TYPES)
    manager: str  # apt | zypper | dnf | pacman


def _anything(value: str) -> bool:
    return True


def true(value: str) -> bool:
    return value.strip().lower() == "true"


def not_true(value: str) -> bool:
    return not true(value)


def one_of(*values: str) -> Callable[[str], bool]:
    return lambda value: value.strip() in values


@dataclass(frozen=True)
class Support:
    kind: Kind
    reason: str = ""
    kinds: tuple[str, ...] = ()  # image types it is for; empty: all
    managers: tuple[str, ...] = ()  # package managers it is for; empty: all
    when: Callable[[str], bool] = _anything  # the values it is for

    @property
    def refuses(self) -> bool:
        return self.kind == "refused"

    @property
    def warns(self) -> bool:
        return self.kind == "ignored"

    def matches(self, value: str, context: Context) -> bool:
        return (
            (not self.kinds or context.kind in self.kinds)
            and (not self.managers or context.manager in self.managers)
            and self.when(value)
        )

    def message(self, what: str) -> str:
        if self.refuses:
            return f"{what} is not supported yet" + (f" ({self.reason})" if self.reason else "")
        return f"{what} is ignored: {self.reason}"


Verdict = Support
Table = Mapping[str, tuple[Support, ...]]
REFUSED = Support("refused")


def done(
    *kinds: str, when: Callable[[str], bool] = _anything, managers: tuple[str, ...] = ()
) -> Support:
    return Support("done", kinds=kinds, managers=managers, when=when)


def refused(reason: str = "", *kinds: str, when: Callable[[str], bool] = _anything) -> Support:
    return Support("refused", reason, kinds=kinds, when=when)


def ignored(reason: str, *kinds: str, when: Callable[[str], bool] = _anything) -> Support:
    return Support("ignored", reason, kinds=kinds, when=when)


def verdict(table: Table, name: str, value: str, context: Context) -> Support:
    for support in table.get(name, ()):
        if support.matches(value, context):
            return support
    return REFUSED


def off(*kinds: str) -> tuple[Support, ...]:
    """A feature kiwi-like does not have: fine when turned off, refused when turned on."""
    return (done(*kinds, when=not_true), refused())


@dataclass(frozen=True)
class ElementRules:
    attributes: Table = field(default_factory=dict)
    children: Table = field(default_factory=dict)
    # the rules of a child's own attributes and children (when the child is not refused)
    nested: Mapping[str, ElementRules] = field(default_factory=dict)


NO_INITRD_THEME = "kiwi-like's boot menu and initrd have no themes"
LEGACY_BOOT = "kiwi's boot image descriptions are not used: kiwi-like makes the initrd itself"
NO_FSTAB = "only disk images mount their root file system from an fstab"

# ---- <type> ---------------------------------------------------------------------------
TYPE_ATTRIBUTES: Table = {
    "image": (done(),),
    "primary": (done(),),
    "filesystem": (done(*DISK, *KIS), ignored("a live ISO's root is a squashfs", *LIVE)),
    "fsmountoptions": (done(*DISK), ignored(NO_FSTAB)),
    "fscreateoptions": (done(*DISK, *SIZED_FILESYSTEMS), refused("", *KIS),
                        ignored("no root file system is made")),
    "squashfscompression": (done(*DISK, *LIVE, *KIS, "squashfs"),),
    "erofscompression": (refused(),),
    "rootfs_label": (done(*DISK), ignored("a container has no root file system", *CONTAINERS),
                     refused()),
    "bootpartition": off(),
    "bootpartsize": (refused(),),
    "bootfilesystem": (refused(),),
    "efipartsize": (done(*DISK),),
    "efimountoptions": (refused(),),
    "efifatimagesize": (ignored("kiwi-like sizes the EFI boot image itself"),),
    "efiparttable": (done(*DISK), ignored("the ISO's partition table is xorriso's", *LIVE)),
    "eficsm": (done(when=true), ignored("efi disks and ISOs also boot on BIOS")),
    "dosparttable_extended_layout": off(),
    "gpt_hybrid_mbr": off(),
    "force_mbr": off(),
    "disk_start_sector": (done(when=one_of("2048")), refused()),
    "target_blocksize": (done(when=one_of("512")), refused()),
    "target_removable": off(),
    "devicepersistency": (done(*DISK), ignored(NO_FSTAB)),
    **dict.fromkeys(("spare_part", "spare_part_mountpoint", "spare_part_fs",
                     "spare_part_fs_attributes", "spare_part_is_last"), (refused(),)),
    "root_clone": (refused(),),
    "boot_clone": (refused(),),
    "mdraid": (refused(),),
    # kiwi applies these to the volumes of <systemdisk>, which is refused
    "btrfs_quota_groups": off(),
    "btrfs_root_is_subvolume": off(),
    "btrfs_root_is_snapper_snapshot": off(),
    "btrfs_root_is_readonly_snapshot": off(),
    "btrfs_set_default_volume": (done(),),
    # the disk settings refuse what an overlay root cannot be built with
    "overlayroot": (done(*DISK), *off()),
    **dict.fromkeys(("overlayroot_write_partition", "overlayroot_readonly_partsize"),
                    (done(*DISK), refused())),
    "overlayroot_readonly_filesystem": (done(*DISK, when=one_of("squashfs")), refused()),
    "overlayroot_readonly_createoptions": (refused(),),
    "ramonly": off(),
    **dict.fromkeys(("luks", "luks_version", "luksOS", "luks_randomize", "luks_pbkdf",
                     "verity_blocks", "integrity_keyfile", "integrity_metadata_key_description",
                     "selinux_policy"), (refused(),)),
    "embed_verity_metadata": off(),
    "standalone_integrity": off(),
    "embed_integrity_metadata": off(),
    "integrity_legacy_hmac": off(),
    # the settings refuse the firmwares they cannot boot; kiwi allows it on pxe, not kis
    "firmware": (done(*BOOTABLE), ignored("kis images boot from the network", *KIS)),
    "kernelcmdline": (done(*BOOTABLE, *KIS),),
    "initrd_system": (done(*BOOTABLE, *KIS),),
    **dict.fromkeys(("boot", "bootkernel", "bootprofile"), (ignored(LEGACY_BOOT),)),
    "editbootconfig": (refused(),),
    "editbootinstall": (refused(),),
    "xen_server": off(),
    "wwid_wait_timeout": (ignored("multipath devices are not waited for"),),
    # before <bootloader> (schema 6.x): read like it
    **dict.fromkeys(("bootloader", "bootloader_console", "boottimeout"),
                    (done(*BOOTABLE), ignored("the type has no boot menu"))),
    "zipl_targettype": (refused(),),
    "format": (done(*DISK, when=one_of(*DISK_FORMATS)), refused()),
    "formatoptions": (refused(),),
    "gcelicense": (refused(),),
    "vhdfixedtag": (refused(),),
    "flags": (done(*LIVE),),  # overlay and dmsquash: live-boot's overlay root either way
    "hybrid": (done(),),  # ISOs are always hybrid
    "hybridpersistent": (done(*LIVE),),
    "hybridpersistent_filesystem": (done(*LIVE),),  # the settings refuse all but ext4
    **dict.fromkeys(("volid", "publisher", "application_id"), (done(*BOOTABLE),)),
    "mediacheck": (done(when=not_true), ignored("the ISO has no media check entry")),
    "installiso": (done(*DISK),),
    "installpxe": (done(*DISK),),
    "installstick": off(*DISK),
    "installboot": (done(*DISK),),
    "installprovidefailsafe": (done(when=not_true),
                               ignored("the install menu has no failsafe entry")),
    "install_continue_on_timeout": (ignored("the installer does not ask for the disk"),),
    "compressed": off(*KIS),
    "archive": (done(*KIS, when=true), ignored("kis results are always one tarball")),
    "derived_from": (done(*CONTAINERS), refused()),
    "delta_root": off(*CONTAINERS),
    "provide_system_files": off(*CONTAINERS),
    "require_system_files": off(*CONTAINERS),
    "ensure_empty_tmpdirs": (done(when=not_true),
                             ignored("/tmp and /var/tmp are kept as the image leaves them")),
    "bundle_format": (done(),),  # result bundle
    **dict.fromkeys(("rootpart_id", "bootpart_id", "efipart_id", "eficsmpart_id"), (refused(),)),
    "apply_dps_codes": off(),
    # the types they belong to (enclave, appx) have no builder
    "enclave_format": (refused(),),
    "metadata_path": (refused(),),
}  # fmt: skip

BOOTLOADER = ElementRules(
    attributes={
        "name": (done(when=one_of("grub2")), refused()),
        **dict.fromkeys(
            ("output_console", "input_console", "serial_line", "timeout", "timeout_style"),
            (done(),),
        ),
        "bls": (done(when=not_true), ignored("kiwi-like writes grub.cfg menu entries")),
        "video_mode": (ignored("GRUB keeps its default video mode"),),
        "use_disk_password": off(),
        "grub_template": (refused(),),
        "targettype": (refused(),),
    },  # fmt: skip
    children={"bootloadersettings": (refused(),), "securelinux": (refused(),)},
)
OEM_DONE = ("oem-boot-title", "oem-resize", "oem-swap", "oem-swapsize", "oem-unattended",
            "oem-unattended-id", "oem-device-filter", "oem-skip-verify", "oem-reboot",
            "oem-shutdown")  # fmt: skip
OEM_HARMLESS = ("oem-bootwait", "oem-nic-filter", "oem-kiwi-initrd", "oem-multipath-scan",
                "oem-ataraid-scan", "oem-vmcp-parmfile", "oem-reboot-interactive",
                "oem-shutdown-interactive", "oem-silent-boot", "oem-silent-install",
                "oem-silent-verify", "oem-swapname", "oem-ramdisk-size")  # fmt: skip
OEMCONFIG = ElementRules(
    children={
        "oem-boot-title": (done(*BOOTABLE), ignored("the type has no boot menu")),
        **dict.fromkeys(OEM_DONE[1:], (done(*DISK), ignored("only oem disks read it"))),
        **dict.fromkeys(OEM_HARMLESS, (ignored("kiwi-like's installer has no such setting"),)),
        "oem-resize-once": (done(when=true), refused()),  # the root grows on first boot only
        "oem-inplace-recovery": off(),
        "oem-recovery": off(),
        "oem-partition-install": off(),
        "oem-recoveryID": (refused(),),
        "oem-recovery-part-size": (refused(),),
        "oem-systemsize": (refused(),),
    }
)  # fmt: skip
CONTAINERCONFIG = ElementRules(
    attributes={
        **dict.fromkeys(("name", "tag", "additionaltags", "maintainer", "user", "workingdir"),
                        (done(),)),
        # ":tag" entries are more tags of the image; "repo:tag" names another repository
        "additionalnames": (
            done(when=lambda value: all(n.strip().startswith(":") for n in value.split(","))),
            refused("only ':tag' entries"),
        ),
    },
    children={
        **dict.fromkeys(("entrypoint", "subcommand", "expose", "volumes", "environment",
                         "labels"), (done(),)),
        "history": (done(),),
        "stopsignal": (refused(),),
    },
    nested={
        "history": ElementRules(attributes={
            "created_by": (done(),),
            "author": (done(),),
            **dict.fromkeys(("application_id", "package_version", "launcher"),
                            (ignored("only appx images use it"),)),
        }),
    },
)  # fmt: skip
TYPE = ElementRules(
    children={
        "bootloader": (done(*BOOTABLE),),
        "containerconfig": (done(*CONTAINERS), refused()),
        "oemconfig": (done(*BOOTABLE), ignored("only oem disks read it")),
        "size": (done(*DISK, *SIZED_FILESYSTEMS), ignored("only disk images have a size")),
        "vagrantconfig": (done(*DISK),),
        **dict.fromkeys(("machine", "systemdisk", "partitions", "installmedia", "initrd",
                         "luksformat", "pxedeploy"), (refused(),)),
    },
    nested={
        "bootloader": BOOTLOADER,
        "oemconfig": OEMCONFIG,
        "containerconfig": CONTAINERCONFIG,
        "size": ElementRules(attributes={"unit": (done(),), "additive": (done(),),
                                         "unpartitioned": (refused(),)}),
        "vagrantconfig": ElementRules(attributes={
            "provider": (done(when=one_of("libvirt")), refused()),
            "virtualsize": (ignored("the box's size is the disk's"),),
            "boxname": (ignored("the box is named after the image"),),
            "embedded_vagrantfile": (refused(),),
        }),
    },
)  # fmt: skip

# ---- <preferences>, <image>, <packages>, <repository>, <users> -------------------------
PREFERENCES = ElementRules(
    children={
        **dict.fromkeys(("version", "packagemanager", "locale", "keytable", "timezone",
                         "release-version", "rpm-check-signatures", "rpm-excludedocs",
                         "rpm-locale-filtering"), (done(),)),
        "bootloader-theme": (ignored(NO_INITRD_THEME),),
        "bootsplash-theme": (ignored(NO_INITRD_THEME),),
        "showlicense": (ignored("no license is shown on first boot"),),
        "hwclock": (ignored("kiwi dropped it; the image's default is kept"),),
    }
)  # fmt: skip
PACKAGE_ATTRIBUTES: Table = {
    "name": (done(),),
    "arch": (done(),),
    "target_dir": (done(),),  # <archive>
    **dict.fromkeys(("bootinclude", "bootdelete"),
                    (done(when=not_true),
                     ignored("only kiwi's own boot images use it"))),
}  # fmt: skip
FILE_ATTRIBUTES: Table = {
    **dict.fromkeys(("name", "arch", "target", "owner"), (done(),)),
    "permissions": (done(when=lambda value: value.isdigit()), refused("only octal modes")),
}


def packages_rules(section_type: str) -> ElementRules:
    """A <packages> section: delete and uninstall sections use only <package>."""
    attributes: Table = {
        "type": (ignored("kiwi uses it only for provide_system_files",
                         when=one_of("systemfiles")), done()),
        "profiles": (done(),),
        "patternType": (done(when=one_of("onlyRequired")), refused()),
        "bootstrap_package": (refused(),),
    }  # fmt: skip
    if section_type in ("delete", "uninstall"):
        children: Table = {
            "package": (done(),),
            **dict.fromkeys(("archive", "file", "ignore", "namedCollection", "product"),
                            (ignored(f"<packages type=\"{section_type}\"> uses only <package>"),)),
        }  # fmt: skip
    else:
        children = {
            **dict.fromkeys(("package", "archive", "file", "namedCollection", "product"),
                            (done(),)),  # prepare skips what the manager cannot install, warned
            "ignore": (done(managers=SOLVING_MANAGERS), ignored("apt has no package locks")),
            "collectionModule": (refused(),),
        }  # fmt: skip
    nested = dict.fromkeys(
        ("package", "archive", "namedCollection", "product", "ignore"),
        ElementRules(attributes=PACKAGE_ATTRIBUTES),
    )
    nested["file"] = ElementRules(attributes=FILE_ATTRIBUTES)
    return ElementRules(attributes=attributes, children=children, nested=nested)


REPOSITORY = ElementRules(
    attributes={
        **dict.fromkeys(("type", "alias", "profiles", "arch", "components", "distribution",
                         "imageinclude", "package_gpgcheck", "repository_gpgcheck", "username",
                         "password"), (done(),)),
        "priority": (done(managers=SOLVING_MANAGERS),
                     ignored("apt repositories have no priorities here")),
        "imageonly": (done(managers=SOLVING_MANAGERS), done(when=not_true),
                      refused("for apt")),
        "sourcetype": (done(when=one_of("baseurl")), refused()),
        "customize": (refused(),),
        "architectures": (refused(),),
        **dict.fromkeys(("prefer-license", "status"), (ignored("kiwi dropped it"),)),
    },
    children={"source": (done(),)},
    nested={"source": ElementRules(attributes={"path": (done(),)},
                                   children={"signing": (done(),)})},
)  # fmt: skip
USERS = ElementRules(
    attributes={
        "profiles": (done(),),
        "arch": (done(),),
        "group": (done(),),  # schema 6.x: the users' shared group
        "id": (ignored("the shared group's id of schema 6.x is not set"),),
    },
    children={"user": (done(),)},
    nested={"user": ElementRules(attributes={
        **dict.fromkeys(("name", "password", "pwdformat", "home", "shell", "id", "realname"),
                        (done(),)),
        "groups": (done(when=lambda value: ":" not in value), refused("group ids ('name:gid')")),
    })},
)  # fmt: skip
IMAGE = ElementRules(
    attributes={
        **dict.fromkeys(("name", "displayname", "schemaversion"), (done(),)),
        "id": (refused("kiwi writes it to /etc/ImageID"),),
    },
    children={
        # walked one by one by support.py, or nothing to build
        **dict.fromkeys(("description", "profiles", "preferences", "packages", "repository",
                         "users", "include", "drivers"), (done(),)),
        "strip": (ignored("kiwi_strip_* are not written to /.profile"),),
        "extension": (ignored("kiwi hands it to its plugins"),),
        "certificates": (refused("use --ca-cert and --ca-target-distribution"),),
        "containers": (refused(),),
    },
)  # fmt: skip
