"""kiwi's schematron rules (the sch:pattern elements of its kiwi.rng) as Python checks.

KIWI NG 11.1.6 validates a description with RELAX NG and then with these rules; a
description that breaks one is refused. Each rule here keeps kiwi's pattern id and
message. Values are compared as kiwi's XPath does: `contains(list, value)` is a
substring test, and an attribute that is not set is the empty string (which passes).

Two deliberate differences: kiwi requires `filesystem` on oem types, kiwi-like has
always built them with ext4, so a missing one is a warning. And kiwi 11 reads no
description older than schema 7.4 at all; kiwi-like reads them, and there a broken rule
is a warning too (the rules are kiwi 11's, older kiwi versions allowed more).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeAlias

from lxml import etree

from kiwi_like.description.xmlload import LoadedXml, text_of

Element: TypeAlias = etree._Element
# (the description, the context element) -> bool
Test: TypeAlias = Callable[[LoadedXml, Element], bool]

# The oldest schema version kiwi 11 reads (kiwi/xsl/convert74to75.xsl refuses older ones)
OLDEST_KIWI_SCHEMA = (7, 4)
# Image type names kiwi 11 still knows that kiwi-like renames (upgrade.py): the rules
# see them as written. vmx is not one: kiwi 11 refuses it, kiwi-like reads it as oem.
KIWI_LEGACY_IMAGES = ("pxe",)


@dataclass(frozen=True)
class Rule:
    pattern: str  # kiwi's sch:pattern id
    context: str  # the element the rule is about
    applies: Test  # the rest of kiwi's rule context (an attribute is set, ...)
    holds: Test  # kiwi's sch:assert
    message: str  # kiwi's message
    warning: bool = False  # kiwi-like only warns (see the module docstring)


# pattern "image_type": <type ATTR> only for these image types (kiwi's instances, grouped
# by their list). kiwi's luks_randomize instance names "luksversion", which no <type> has,
# so neither luks_randomize nor luks_version is restricted there or here.
TYPE_ATTRIBUTE_IMAGES: dict[str, tuple[str, ...]] = {
    "oem": ("xen_server", "btrfs_quota_groups", "btrfs_set_default_volume",
            "btrfs_root_is_subvolume", "btrfs_root_is_snapper_snapshot",
            "btrfs_root_is_readonly_snapshot", "target_removable", "spare_part",
            "spare_part_mountpoint", "spare_part_fs", "spare_part_fs_attributes",
            "spare_part_is_last", "bootpartsize", "efipartsize", "efimountoptions",
            "dosparttable_extended_layout", "editbootinstall", "embed_verity_metadata",
            "standalone_integrity", "embed_integrity_metadata", "integrity_legacy_hmac",
            "integrity_keyfile", "integrity_metadata_key_description", "overlayroot",
            "overlayroot_readonly_filesystem", "overlayroot_write_partition",
            "overlayroot_readonly_partsize", "bootpartition", "bootfilesystem", "format",
            "formatoptions", "force_mbr", "apply_dps_codes", "installboot",
            "install_continue_on_timeout", "installprovidefailsafe", "installiso",
            "installstick", "installpxe", "mdraid", "ramonly", "gcelicense", "vhdfixedtag",
            "wwid_wait_timeout", "disk_start_sector", "root_clone", "boot_clone",
            "eficsmpart_id", "efipart_id", "rootpart_id", "bootpart_id"),
    "oem pxe": ("boot",),
    "oem kis": ("target_blocksize",),
    "oem iso": ("eficsm", "efifatimagesize", "efiparttable", "editbootconfig", "verity_blocks",
                "gpt_hybrid_mbr"),
    "iso oem": ("volid", "application_id"),
    "oem iso pxe cpio": ("bootprofile",),
    "pxe kis": ("compressed",),
    "oem pxe kis iso": ("filesystem",),
    "oem pxe kis iso erofs": ("erofscompression",),
    "oem pxe kis iso squashfs": ("squashfscompression",),
    "oem pxe iso": ("firmware",),
    "iso": ("flags", "mediacheck", "publisher"),
    "enclave": ("enclave_format",),
    "iso pxe": ("hybridpersistent", "hybridpersistent_filesystem"),
    "oem pxe kis": ("initrd_system",),
    "appx": ("metadata_path",),
    "oem iso pxe kis enclave": ("kernelcmdline",),
    "oem iso pxe kis": ("luks", "luksOS", "luks_pbkdf"),
    "oem pxe kis docker": ("rootfs_label",),
    "docker oci oem": ("derived_from",),
    "docker oci": ("provide_system_files", "require_system_files", "delta_root",
                   "ensure_empty_tmpdirs"),
    "kis": ("archive",),
}  # fmt: skip
# pattern "image_btrfs_type_requirement": only with filesystem="btrfs", never with LVM
BTRFS_ATTRIBUTES = TYPE_ATTRIBUTE_IMAGES["oem"][1:6]
# pattern "bootloader_image_type": <bootloader ATTR> only in these image types
BOOTLOADER_ATTRIBUTE_IMAGES = {"name": "oem iso", "grub_template": "oem iso"}
# pattern "bootloader_name_type": <bootloader ATTR> only for these loaders
BOOTLOADER_ATTRIBUTE_LOADERS = {
    "bls": "grub2",
    "output_console": "grub2 grub2_s390x_emu",
    "input_console": "grub2 grub2_s390x_emu",
    "serial_line": "grub2 grub2_s390x_emu",
    "video_mode": "grub2 grub2_s390x_emu",
    "timeout": "grub2 grub2_s390x_emu systemd_boot zipl",
    "timeout_style": "grub2 grub2_s390x_emu",
    "targettype": "grub2_s390x_emu zipl",
}
# pattern "container_type": <containerconfig ATTR> only in these image types
# (additionaltags is what kiwi's stylesheet turns into additionalnames)
CONTAINERCONFIG_ATTRIBUTE_IMAGES = {
    "name": "oem docker oci appx",
    **dict.fromkeys(
        ("tag", "additionalnames", "additionaltags", "maintainer", "user", "workingdir"),
        "oem docker oci",
    ),
}
RESERVED_PARTITION_NAMES = "root readonly boot prep spare swap efi_csm efi"
CONTAINER_FORMATS = ("oci:", "docker:")


def _contains(values: str, value: str | None) -> bool:
    """XPath contains(): a substring test; an unset value is the empty string."""
    return (value or "") in values


def _attribute(element: Element | None, name: str) -> str | None:
    return element.get(name) if element is not None else None


def _image(loaded: LoadedXml, element: Element | None) -> str:
    """The image attribute of a <type> as kiwi's rules see it."""
    original = loaded.originals.get((element, "image")) if element is not None else None
    if original in KIWI_LEGACY_IMAGES:
        return str(original)
    return _attribute(element, "image") or ""


def _has(name: str) -> Test:
    return lambda loaded, element: name in element.attrib


def _lacks(name: str) -> Test:
    return lambda loaded, element: name not in element.attrib


def _always(loaded: LoadedXml, element: Element) -> bool:
    return True


def _image_in(images: str, parent: bool = False) -> Test:
    """The element's type (or its parent's) is in kiwi's list."""

    def test(loaded: LoadedXml, element: Element) -> bool:
        return _contains(images, _image(loaded, element.getparent() if parent else element))

    return test


def _value_in(name: str, values: str) -> Test:
    return lambda loaded, element: _contains(values, element.get(name))


def _parent_lacks(name: str) -> Test:
    return lambda loaded, element: _attribute(element.getparent(), name) is None


def _parent_format_is_container(loaded: LoadedXml, element: Element) -> bool:
    disk_format = _attribute(element.getparent(), "format")
    return disk_format is None or disk_format.startswith(CONTAINER_FORMATS)


def _number(text: str | None) -> float:
    try:
        return float((text or "").strip())
    except ValueError:
        return float("nan")


def _type_rules() -> Iterator[Rule]:
    for images, attributes in TYPE_ATTRIBUTE_IMAGES.items():
        for name in attributes:
            yield Rule(
                name,
                "type",
                _has(name),
                _image_in(images),
                f"{name} attribute is only available for the following image types: {images}",
            )
    for name in BTRFS_ATTRIBUTES:
        yield Rule(
            f"no_lvm_{name}",
            "systemdisk",
            lambda loaded, element: element.get("preferlvm") == "true",
            _parent_lacks(name),
            f"Attribute {name} is not supported in combination with preferlvm",
        )
        yield Rule(
            f"no_lvm_{name}",
            "type",
            lambda loaded, element: element.get("filesystem", "btrfs") != "btrfs",
            _lacks(name),
            f"Attribute {name} is only supported with filesystem=btrfs",
        )
    yield Rule(
        "filesystem_mandatory",
        "type",
        _image_in("oem"),
        _has("filesystem"),
        "filesystem attribute must be set for the following image types: oem "
        "(kiwi refuses the description; kiwi-like uses ext4)",
        warning=True,
    )
    yield Rule(
        "metadata_path_mandatory",
        "type",
        _image_in("appx"),
        _has("metadata_path"),
        "metadata_path attribute must be set for the following image types: appx",
    )
    # The second rule of kiwi's abstract pattern: each instance checks it on the types its
    # first rule does not match (filesystem_mandatory on non-oem types, metadata_path on
    # non-appx ones), so together on every type.
    yield Rule(
        "vagrantconfig_mandatory",
        "type",
        lambda loaded, element: element.get("format") == "vagrant",
        lambda loaded, element: any(
            "provider" in child.attrib for child in element.iterchildren("vagrantconfig")
        ),
        "<vagrantconfig> section is required for the vagrant format",
    )
    yield Rule(
        "no_derived_from_in_oem_without_container_format",
        "type",
        lambda loaded, element: element.get("image") == "oem" and "derived_from" in element.attrib,
        lambda loaded, element: element.get("format", "").startswith(CONTAINER_FORMATS),
        "in oem images, derived_from can only be used in combination with "
        "format='oci:disk_format' or format='docker:disk_format'",
    )
    yield Rule(
        "verity_blocks_mandatory",
        "type",
        _has("embed_verity_metadata"),
        _has("verity_blocks"),
        "verity_blocks attribute must be set for embed_verity_metadata",
    )
    yield Rule(
        "standalone_integrity_mandatory",
        "type",
        _has("embed_integrity_metadata"),
        _has("standalone_integrity"),
        "standalone_integrity attribute must be set for embed_integrity_metadata",
    )
    # kiwi's integrity_legacy_hmac_requirement pattern is used but never defined in its
    # schema: it checks nothing, so neither does kiwi-like.


def _child_rules() -> Iterator[Rule]:
    """The rules about the children of <type>."""
    yield Rule(
        "unpartitioned_validation",
        "size",
        lambda loaded, element: (
            "unpartitioned" in element.attrib
            and _attribute(element.getparent(), "image") is not None
        ),
        lambda loaded, element: _number(element.get("unpartitioned")) <= _number(text_of(element)),
        "unpartitioned size must be smaller or equal to the defined size",
    )
    yield Rule(
        "partition_name",
        "partition",
        _has("name"),
        lambda loaded, element: not _contains(RESERVED_PARTITION_NAMES, element.get("name")),
        f"partition(name) is reserved Reserved names are '{RESERVED_PARTITION_NAMES}'",
    )
    yield Rule(
        "quota",
        "volume",
        _has("quota"),
        lambda loaded, element: _attribute(_grandparent(element), "filesystem") == "btrfs",
        "quota attribute is only available for the following image filesystem: btrfs",
    )
    for name, images in BOOTLOADER_ATTRIBUTE_IMAGES.items():
        yield Rule(
            f"loader_{name}",
            "bootloader",
            _has(name),
            _image_in(images, parent=True),
            f"bootloader({name}) is only available for the following image types: {images}",
        )
    for name, loaders in BOOTLOADER_ATTRIBUTE_LOADERS.items():
        yield Rule(
            name,
            "bootloader",
            _has(name),
            _value_in("name", loaders),
            f"bootloader({name}) attribute is only available for the following "
            f"bootloader types: {loaders}",
        )
    for name, images in CONTAINERCONFIG_ATTRIBUTE_IMAGES.items():
        yield Rule(
            name,
            "containerconfig",
            _has(name),
            _image_in(images, parent=True),
            f"containerconfig({name}) is only available for the following image types: {images}",
        )
    yield Rule(
        "valid_in_disk_type",
        "containerconfig",
        _has("name"),
        _parent_format_is_container,
        "in oem images, the <containerconfig> section is only available in combination "
        "with @format='oci:disk_format' or @format='docker:disk_format'",
    )
    yield Rule(
        "luks_requirement",
        "luksformat",
        _always,
        lambda loaded, element: _attribute(element.getparent(), "luks") is not None,
        "luks attribute must be set when using luksformat option(s)",
    )
    # kiwi's rule names the loader grub2-s390x-emu, which no loader is called (it is
    # grub2_s390x_emu): as in kiwi, only zipl passes.
    yield Rule(
        "bootloader_matches",
        "securelinux",
        _always,
        lambda loaded, element: (
            _attribute(element.getparent(), "name") in ("zipl", "grub2-s390x-emu")
        ),
        "<securelinux> section only available for the bootloader types: zipl and grub2-s390x-emu",
    )
    yield Rule(
        "virtualbox_guest_additions_present",
        "vagrantconfig",
        _has("virtualbox_guest_additions_present"),
        _value_in("provider", "virtualbox"),
        "virtualbox_guest_additions_present attribute is only available for the following "
        "vagrant providers: virtualbox",
    )
    yield Rule(
        "installation_media",
        "installmedia",
        _always,
        lambda loaded, element: (
            "true"
            in (
                _attribute(element.getparent(), "installiso"),
                _attribute(element.getparent(), "installpxe"),
            )
        ),
        "installmedia is only available for the oem type with 'installiso' or 'installpxe' "
        "set to 'true'",
    )


def _grandparent(element: Element) -> Element | None:
    """kiwi's `../..`: from a <volume>, its <type>."""
    parent = element.getparent()
    return parent.getparent() if parent is not None else None


def _packages_rules() -> Iterator[Rule]:
    yield Rule(
        "bootstrap_package",
        "packages",
        _has("bootstrap_package"),
        _value_in("type", "bootstrap"),
        "bootstrap_package attribute is only available for the following packages type(s): "
        "bootstrap",
    )
    yield Rule(
        "bootstrap_package_validation",
        "packages",
        _has("bootstrap_package"),
        lambda loaded, element: any(
            (text_of(manager) or "").strip() == "apt"
            for manager in loaded.root.iterfind("preferences/packagemanager")
        ),
        "bootstrap_package attribute only available for the apt packagemanager",
    )
    yield Rule(
        "collection_module_scope",
        "collectionModule",
        _always,
        lambda loaded, element: _attribute(element.getparent(), "type") == "bootstrap",
        "collectionModule is only available in the bootstrap packages section",
    )
    yield Rule(
        "collection_module_disable_constraint",
        "collectionModule",
        _always,
        lambda loaded, element: element.get("enable") == "true" or "stream" not in element.attrib,
        "stream attribute is not allowed to disable a module",
    )
    yield Rule(
        "architectures",
        "repository",
        _has("architectures"),
        _value_in("type", "apt-deb"),
        "architectures attribute is only available for the following repository types: apt-deb",
    )


RULES: tuple[Rule, ...] = (*_type_rules(), *_child_rules(), *_packages_rules())
_BY_CONTEXT: dict[str, tuple[Rule, ...]] = {
    tag: tuple(rule for rule in RULES if rule.context == tag)
    for tag in dict.fromkeys(rule.context for rule in RULES)
}


def check(loaded: LoadedXml) -> list[str]:
    """Refuse the first element, in document order, that breaks one of kiwi's rules.

    Returns the warnings: the rules kiwi-like only warns about, and every broken rule
    of a description older than kiwi 11 can read.
    """
    written = loaded.root.get("schemaversion", "0.0")
    older = tuple(int(n) for n in written.split(".")) < OLDEST_KIWI_SCHEMA
    warnings = []
    for element in loaded.root.iter(*_BY_CONTEXT):
        for rule in _BY_CONTEXT[str(element.tag)]:
            if not rule.applies(loaded, element) or rule.holds(loaded, element):
                continue
            message = f"element <{element.tag}>: {rule.message}"
            if not rule.warning and not older:
                raise loaded.error(element, message)
            if older and not rule.warning:
                message += f" (kiwi 11 refuses this; read anyway in a schema {written} description)"
            file, line = loaded.origin(element)
            warnings.append(f"{file}:{line}: {message}")
    return warnings
