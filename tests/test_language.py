"""The whole language of KIWI NG 11.1.6, through the real command line.

- Every element and attribute of kiwi's schema (tests/language/kiwi-11.1.6-constructs.txt)
  is used by a description here, and `image info` accepts each of them; every enumerated
  value (kiwi-11.1.6-values.txt) is accepted by the schema.
- Every one of kiwi's schematron rules (kiwi_like/description/schematron.py) has a
  description that breaks it (one error line at file:line) and one that keeps it.
- What kiwi-like cannot build is refused by `system build` in one line before any work
  (kiwi_like/description/support.py), what it ignores is warned about.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
from lxml import etree

from kiwi_like.description import BuildOptions, load_build, schematron, supported
from kiwi_like.description.support import check_supported
from kiwi_like.description.validate import rng_errors
from kiwi_like.errors import KiwiLikeError
from kiwi_like.runtime_config import RuntimeConfig
from tests.test_corpus import CORPUS_RUNTIME_CONFIG

LANGUAGE = Path(__file__).resolve().parent / "language"
DENSE = ("image", "disk", "container")
# kiwi's own rules make these unusable: a <volume> of <containerconfig> with a quota
# breaks kiwi's "quota" rule (its ../../@filesystem is the containerconfig's)
UNUSABLE = {"volumes>volume@quota"}
# a value for each <type> attribute that is not a boolean
SAMPLES = {
    "image": "oem", "filesystem": "ext4", "bootfilesystem": "ext4", "spare_part_fs": "ext4",
    "hybridpersistent_filesystem": "ext4", "overlayroot_readonly_filesystem": "squashfs",
    "squashfscompression": "zstd", "erofscompression": "lz4", "firmware": "efi",
    "format": "qcow2", "efiparttable": "gpt", "devicepersistency": "by-uuid", "mdraid": "mirroring",
    "luks_version": "luks2", "luksOS": "sle12", "luks_pbkdf": "argon2id", "selinux_policy": "targeted",
    "initrd_system": "dracut", "installboot": "install", "flags": "overlay", "enclave_format": "aws-nitro",
    "bootloader": "grub2", "bootloader_console": "serial", "zipl_targettype": "CDL", "vga": "0x318",
    "verity_blocks": "all", "vhdfixedtag": "12345678-1234-1234-1234-123456789012",
    "disk_start_sector": "2048", "spare_part": "200M", "spare_part_fs_attributes": "no-copy-on-write",
    "volid": "LANG", "publisher": "tests", "application_id": "tests", "derived_from": "base.tar",
}  # fmt: skip
for _name in ("bootpartsize", "efipartsize", "efifatimagesize", "target_blocksize", "boottimeout",
              "overlayroot_readonly_partsize", "wwid_wait_timeout", "root_clone", "boot_clone",
              "rootpart_id", "bootpart_id", "efipart_id", "eficsmpart_id"):  # fmt: skip
    SAMPLES[_name] = "3"
for _name in ("fsmountoptions", "fscreateoptions", "rootfs_label", "efimountoptions", "luks",
              "integrity_keyfile", "integrity_metadata_key_description", "kernelcmdline", "boot",
              "bootkernel", "bootprofile", "editbootconfig", "editbootinstall", "formatoptions",
              "gcelicense", "metadata_path", "spare_part_mountpoint", "bundle_format",
              "overlayroot_readonly_createoptions"):  # fmt: skip
    SAMPLES[_name] = "x"
COMPANIONS = {
    "embed_verity_metadata": {"verity_blocks": "all"},
    "embed_integrity_metadata": {"standalone_integrity": "true"},
}
IMAGES_OF = {name: images for images, names in schematron.TYPE_ATTRIBUTE_IMAGES.items()
             for name in names}  # fmt: skip


def lines(name: str) -> list[str]:
    text = (LANGUAGE / name).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def document(types: str, body: str = "", manager: str = "zypper", version: str = "8.5") -> str:
    """A description around `types` (XML inside <preferences>) and `body` (after it)."""
    repository = (
        '<repository type="apt-deb" distribution="bookworm"><source path="http://deb.example/debian"/></repository>'
        if manager == "apt"
        else '<repository type="rpm-md"><source path="http://repo.example/oss"/></repository>'
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<image schemaversion="{version}" name="language">
    <description type="system">
        <author>tests</author><contact>tests@example.org</contact><specification>x</specification>
    </description>
    <preferences>
        <version>1.0.0</version>
        <packagemanager>{manager}</packagemanager>
        {types}
    </preferences>
    {repository}
    {body}
    <packages type="image"><package name="base"/></packages>
    <packages type="bootstrap"><package name="filesystem"/></packages>
</image>
"""


def attribute_type(name: str) -> str:
    """A <type> using the attribute `name`, on the first image type kiwi allows it on."""
    images = [i for i in IMAGES_OF.get(name, "oem").split() if i != "pxe"]
    attributes = {name: SAMPLES.get(name, "true"), **COMPANIONS.get(name, {})}
    if name.startswith("btrfs_"):
        attributes["filesystem"] = "btrfs"
    if images[0] == "oem":
        attributes = {"filesystem": "ext4", **attributes}
    text = " ".join(f'{key}="{value}"' for key, value in attributes.items() if key != "image")
    return f'<type image="{attributes.get("image", images[0])}" {text}/>'


TYPE_ATTRIBUTES = [c.split("@")[1] for c in lines("kiwi-11.1.6-constructs.txt")
                   if c.startswith("preferences>type@")]  # fmt: skip
TYPES_DOCUMENT = document("\n        ".join(attribute_type(name) for name in TYPE_ATTRIBUTES))


def write(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.xml").write_text(text, encoding="utf-8")
    return directory


def info(kiwi, directory: Path, *options: str):
    return kiwi("image", "info", "--description", str(directory), "--format", "json",
                "--config", str(CORPUS_RUNTIME_CONFIG), *options)  # fmt: skip


def used_constructs(root: etree._Element) -> set[str]:
    used = set()
    for element in root.iter():
        if not isinstance(element.tag, str) or etree.QName(element).namespace:
            continue
        parent = element.getparent()
        key = element.tag if parent is None else f"{parent.tag}>{element.tag}"
        used.add(str(key))
        used |= {f"{key}@{name}" for name in element.attrib if not name.startswith("{")}
    return used


def dense_trees() -> list[etree._Element]:
    trees = [etree.parse(str(LANGUAGE / name / "config.xml")).getroot() for name in DENSE]
    return [*trees, etree.fromstring(TYPES_DOCUMENT.encode())]


# ---- every construct and value ------------------------------------------------------


def test_every_kiwi_construct_is_used_by_a_description_here() -> None:
    used = set().union(*(used_constructs(tree) for tree in dense_trees()))
    assert set(lines("kiwi-11.1.6-constructs.txt")) - UNUSABLE - used == set()


@pytest.mark.parametrize("name", DENSE)
def test_image_info_accepts_every_construct(kiwi, name: str) -> None:
    done = info(kiwi, LANGUAGE / name)
    assert done.code == 0, done.err


def test_image_info_accepts_every_type_attribute(kiwi, tmp_path: Path) -> None:
    done = info(kiwi, write(tmp_path, TYPES_DOCUMENT))
    assert done.code == 0, done.err
    assert "Traceback" not in done.err


def test_the_schema_accepts_every_kiwi_value() -> None:
    hosts: dict[str, etree._Element] = {}
    for tree in dense_trees():
        for element in tree.iter():
            parent = element.getparent()
            if isinstance(element.tag, str) and parent is not None:
                hosts.setdefault(f"{parent.tag}>{element.tag}", element)
    refused = []
    for line in lines("kiwi-11.1.6-values.txt"):
        construct, _, value = line.partition("=")
        key, _, attribute = construct.partition("@")
        if key == "image":
            continue  # schemaversion="8.5": every dense description has it
        host = hosts[key]
        root = copy.deepcopy(host.getroottree().getroot())
        target = root.getroottree().xpath(host.getroottree().getpath(host))[0]
        if attribute:
            target.set(attribute, value)
        else:
            target.text = value
        if rng_errors(root):
            refused.append(line)
    assert refused == []


# ---- the gaps the issue named -------------------------------------------------------


@pytest.mark.parametrize(
    "types",
    [
        '<type image="oem" filesystem="ext4"><bootloader name="grub2" output_console="serial" input_console="console"/></type>',
        '<type image="oem" filesystem="ext4" efipart_id="2"/>',
        '<type image="oem" filesystem="ext4" overlayroot="true" overlayroot_readonly_filesystem="erofs"/>',
        '<type image="kis" archive="true"/>',
        '<type image="oem" filesystem="btrfs" btrfs_root_is_snapper_snapshot="true"/>',
    ],
)  # fmt: skip
def test_kiwi_10_and_11_type_constructs(kiwi, tmp_path: Path, types: str) -> None:
    done = info(kiwi, write(tmp_path, document(types)))
    assert done.code == 0, done.err


def test_certificates_apk_repositories_and_requires_arch(kiwi, tmp_path: Path) -> None:
    body = """<certificates target_distribution="suse"><certificate name="/ca.crt"/></certificates>
    <profiles>
        <profile name="a" description="a" import="true"><requires profile="b" arch="aarch64"/></profile>
        <profile name="b" description="b"/>
    </profiles>
    <repository type="apk"><source path="https://apk.example/main"/></repository>"""
    directory = write(tmp_path, document('<type image="tbz"/>', body))
    x86 = info(kiwi, directory, "--target-arch", "x86_64")
    assert x86.code == 0, x86.err
    assert x86.json()["profiles"] == ["a"]
    assert x86.json()["repositories"][1]["type"] == "apk"
    arm = info(kiwi, directory, "--target-arch", "aarch64", "--profile", "a")
    assert arm.json()["profiles"] == ["a", "b"]
    # without --profile kiwi imports "a" without its <requires>: kiwi-like too, and says so
    imported = info(kiwi, directory, "--target-arch", "aarch64")
    assert imported.json()["profiles"] == ["a"]
    assert "without the profiles it requires (b)" in imported.err


# ---- kiwi's schematron rules ----------------------------------------------------------

OEM = 'image="oem" filesystem="ext4"'
# (rule, the description that breaks it, the one that keeps it, kiwi's message);
# a description is (types, body, package manager)
Case = tuple[str, tuple[str, str, str], tuple[str, str, str], str]


def case(types: str, body: str = "", manager: str = "zypper") -> tuple[str, str, str]:
    return types, body, manager


def _type_attribute_cases() -> list[Case]:
    cases = []
    for images, names in schematron.TYPE_ATTRIBUTE_IMAGES.items():
        for name in names:
            if name == "luksversion":
                continue  # kiwi's own typo: no <type> has it
            value = SAMPLES.get(name, "true")
            message = f"{name} attribute is only available for the following image types: {images}"
            cases.append((name, case(f'<type image="tbz" {name}="{value}"/>'),
                          case(attribute_type(name)), message))  # fmt: skip
    for name in schematron.BTRFS_ATTRIBUTES:
        cases.append((f"no_lvm_{name}",
                      case(f'<type {OEM} {name}="true"/>'),
                      case(f'<type image="oem" filesystem="btrfs" {name}="true"/>'),
                      f"Attribute {name} is only supported with filesystem=btrfs"))  # fmt: skip
        cases.append((f"no_lvm_{name} (preferlvm)",
                      case(f'<type image="oem" filesystem="btrfs" {name}="true"><systemdisk preferlvm="true"/></type>'),
                      case(f'<type image="oem" filesystem="btrfs" {name}="true"><systemdisk preferlvm="false"/></type>'),
                      f"Attribute {name} is not supported in combination with preferlvm"))  # fmt: skip
    return cases


def _bootloader_cases() -> list[Case]:
    cases = []
    for name, loaders in schematron.BOOTLOADER_ATTRIBUTE_LOADERS.items():
        value = {"timeout": "1", "timeout_style": "menu", "targettype": "CDL",
                 "output_console": "serial", "input_console": "serial"}.get(name, "x")  # fmt: skip
        value = "false" if name == "bls" else value
        good, bad = loaders.split()[0], "custom"
        cases.append((name,
                      case(f'<type {OEM}><bootloader name="{bad}" {name}="{value}"/></type>'),
                      case(f'<type {OEM}><bootloader name="{good}" {name}="{value}"/></type>'),
                      f"bootloader({name}) attribute is only available for the following "
                      f"bootloader types: {loaders}"))  # fmt: skip
    return cases


def _container_cases() -> list[Case]:
    cases: list[Case] = [("name",
        case('<type image="iso"><containerconfig name="c"/></type>'),
        case('<type image="docker"><containerconfig name="c"/></type>'),
        "containerconfig(name) is only available for the following image types: oem docker oci appx")]  # fmt: skip
    for name in ("tag", "additionalnames", "additionaltags", "maintainer", "user", "workingdir"):
        cases.append((name,
            case(f'<type image="appx" metadata_path="/m"><containerconfig name="c" {name}="x"/></type>'),
            case(f'<type image="oci"><containerconfig name="c" {name}="x"/></type>'),
            f"containerconfig({name}) is only available for the following image types: "
            "oem docker oci"))  # fmt: skip
    return cases


APT_BOOTSTRAP = '<packages type="bootstrap" bootstrap_package="b"><package name="p"/></packages>'
SCHEMATRON_CASES: list[Case] = [
    *_type_attribute_cases(),
    *_bootloader_cases(),
    *_container_cases(),
    ("metadata_path_mandatory", case('<type image="appx"/>'),
     case('<type image="appx" metadata_path="/m"/>'),
     "metadata_path attribute must be set for the following image types: appx"),
    ("vagrantconfig_mandatory", case(f'<type {OEM} format="vagrant"/>'),
     case(f'<type {OEM} format="vagrant"><vagrantconfig provider="libvirt" virtualsize="9"/></type>'),
     "<vagrantconfig> section is required for the vagrant format"),
    ("no_derived_from_in_oem_without_container_format",
     case(f'<type {OEM} derived_from="base.tar" format="qcow2"/>'),
     case(f'<type {OEM} derived_from="base.tar" format="oci:qcow2"/>'),
     "in oem images, derived_from can only be used in combination with format='oci:disk_format'"),
    ("verity_blocks_mandatory", case(f'<type {OEM} embed_verity_metadata="true"/>'),
     case(f'<type {OEM} embed_verity_metadata="true" verity_blocks="all"/>'),
     "verity_blocks attribute must be set for embed_verity_metadata"),
    ("standalone_integrity_mandatory", case(f'<type {OEM} embed_integrity_metadata="true"/>'),
     case(f'<type {OEM} embed_integrity_metadata="true" standalone_integrity="true"/>'),
     "standalone_integrity attribute must be set for embed_integrity_metadata"),
    ("unpartitioned_validation",
     case(f'<type {OEM}><size unpartitioned="30">20</size></type>'),
     case(f'<type {OEM}><size unpartitioned="20">20</size></type>'),
     "unpartitioned size must be smaller or equal to the defined size"),
    ("partition_name",
     case(f'<type {OEM}><partitions><partition name="swap" size="1G"/></partitions></type>'),
     case(f'<type {OEM}><partitions><partition name="data" size="1G"/></partitions></type>'),
     "partition(name) is reserved Reserved names are 'root readonly boot prep spare swap efi_csm efi'"),
    ("quota",
     case(f'<type {OEM}><systemdisk><volume name="home" quota="1G"/></systemdisk></type>'),
     case('<type image="oem" filesystem="btrfs"><systemdisk><volume name="home" quota="1G"/></systemdisk></type>'),
     "quota attribute is only available for the following image filesystem: btrfs"),
    ("loader_name", case('<type image="kis"><bootloader name="grub2"/></type>'),
     case('<type image="iso"><bootloader name="grub2"/></type>'),
     "bootloader(name) is only available for the following image types: oem iso"),
    ("valid_in_disk_type",
     case(f'<type {OEM} format="qcow2"><containerconfig name="c"/></type>'),
     case(f'<type {OEM} format="oci:qcow2"><containerconfig name="c"/></type>'),
     "in oem images, the <containerconfig> section is only available in combination with"),
    ("luks_requirement",
     case(f'<type {OEM}><luksformat><option name="--cipher"/></luksformat></type>'),
     case(f'<type {OEM} luks="x"><luksformat><option name="--cipher"/></luksformat></type>'),
     "luks attribute must be set when using luksformat option(s)"),
    ("bootloader_matches",
     case(f'<type {OEM}><bootloader name="grub2_s390x_emu"><securelinux hkd_ca_cert="a" hkd_sign_cert="b"><hkd_cert name="c"/></securelinux></bootloader></type>'),
     case(f'<type {OEM}><bootloader name="zipl"><securelinux hkd_ca_cert="a" hkd_sign_cert="b"><hkd_cert name="c"/></securelinux></bootloader></type>'),
     "<securelinux> section only available for the bootloader types: zipl and grub2-s390x-emu"),
    ("virtualbox_guest_additions_present",
     case(f'<type {OEM}><vagrantconfig provider="libvirt" virtualsize="9" virtualbox_guest_additions_present="true"/></type>'),
     case(f'<type {OEM}><vagrantconfig provider="virtualbox" virtualsize="9" virtualbox_guest_additions_present="true"/></type>'),
     "virtualbox_guest_additions_present attribute is only available for the following vagrant providers: virtualbox"),
    ("installation_media",
     case(f'<type {OEM}><installmedia><initrd action="add"/></installmedia></type>'),
     case(f'<type {OEM} installpxe="true"><installmedia><initrd action="add"/></installmedia></type>'),
     "installmedia is only available for the oem type with 'installiso' or 'installpxe' set to 'true'"),
    ("bootstrap_package",
     case(f"<type {OEM}/>", '<packages type="image" bootstrap_package="b"/>', "apt"),
     case(f"<type {OEM}/>", APT_BOOTSTRAP, "apt"),
     "bootstrap_package attribute is only available for the following packages type(s): bootstrap"),
    ("bootstrap_package_validation", case(f"<type {OEM}/>", APT_BOOTSTRAP),
     case(f"<type {OEM}/>", APT_BOOTSTRAP, "apt"),
     "bootstrap_package attribute only available for the apt packagemanager"),
    ("collection_module_scope",
     case(f"<type {OEM}/>", '<packages type="image"><collectionModule name="m" enable="true"/></packages>'),
     case(f"<type {OEM}/>", '<packages type="bootstrap"><collectionModule name="m" enable="true"/></packages>'),
     "collectionModule is only available in the bootstrap packages section"),
    ("collection_module_disable_constraint",
     case(f"<type {OEM}/>", '<packages type="bootstrap"><collectionModule name="m" enable="false" stream="1"/></packages>'),
     case(f"<type {OEM}/>", '<packages type="bootstrap"><collectionModule name="m" enable="true" stream="1"/></packages>'),
     "stream attribute is not allowed to disable a module"),
    ("architectures",
     case(f"<type {OEM}/>", '<repository type="rpm-md" architectures="x86_64"><source path="http://r.example/"/></repository>', "apt"),
     case(f"<type {OEM}/>", '<repository type="apt-deb" architectures="x86_64"><source path="http://r.example/"/></repository>', "apt"),
     "architectures attribute is only available for the following repository types: apt-deb"),
]  # fmt: skip
# kiwi's rules that another rule always reports first (kiwi reports both), checked alone
SHADOWED = {"loader_grub_template": ("grub_template", "bootloader(name) is only available")}


def test_every_rule_has_a_case() -> None:
    covered = {name.split(" ")[0] for name, *_ in SCHEMATRON_CASES} | set(SHADOWED)
    covered |= {f"loader_{name}" for name, *_ in SCHEMATRON_CASES if name == "name"}
    assert {rule.pattern for rule in schematron.RULES} - covered - {"filesystem_mandatory"} == set()


@pytest.mark.parametrize("rule", SCHEMATRON_CASES, ids=lambda rule: rule[0])
def test_schematron_rule(kiwi, tmp_path: Path, rule: Case) -> None:
    _, (types, body, manager), (good_types, good_body, good_manager), message = rule
    bad = info(kiwi, write(tmp_path / "bad", document(types, body, manager)))
    assert bad.code == 1 and len(bad.error_lines) == 1, bad.err
    assert "config.xml:" in bad.error_lines[0] and message in bad.error_lines[0]
    good = info(kiwi, write(tmp_path / "good", document(good_types, good_body, good_manager)))
    assert good.code == 0, good.err


def test_the_shadowed_grub_template_rule_alone() -> None:
    rule = next(r for r in schematron.RULES if r.pattern == "loader_grub_template")
    tree = etree.fromstring(
        b'<type image="kis"><bootloader name="grub2" grub_template="t"/></type>'
    )
    loaded = type("Loaded", (), {"originals": {}})()
    bootloader = tree[0]
    assert rule.applies(loaded, bootloader) and not rule.holds(loaded, bootloader)  # type: ignore[arg-type]
    tree.set("image", "iso")
    assert rule.holds(loaded, bootloader)  # type: ignore[arg-type]


def test_legacy_pxe_types_are_checked_as_kiwi_sees_them(kiwi, tmp_path: Path) -> None:
    """kiwi 11 knows image="pxe" (kiwi-like builds it as kis): its rules name it apart."""
    pxe = info(kiwi, write(tmp_path / "pxe", document('<type image="pxe" firmware="efi"/>')))
    assert pxe.code == 0, pxe.err
    kis = info(kiwi, write(tmp_path / "kis", document('<type image="kis" firmware="efi"/>')))
    assert (
        "firmware attribute is only available for the following image types: oem pxe iso"
        in (kis.error_lines[0])
    )


def test_oem_without_filesystem_is_a_warning(kiwi, tmp_path: Path) -> None:
    done = info(kiwi, write(tmp_path, document('<type image="oem"/>')))
    assert done.code == 0, done.err
    assert "filesystem attribute must be set for the following image types: oem" in done.err


def test_rules_only_warn_for_descriptions_kiwi_11_cannot_read(kiwi, tmp_path: Path) -> None:
    types = '<type image="iso" boot="isoboot/suse-leap42.1"/>'
    old = info(kiwi, write(tmp_path / "old", document(types, version="6.2")))
    assert old.code == 0, old.err
    assert "boot attribute is only available" in old.err and "schema 6.2" in old.err
    new = info(kiwi, write(tmp_path / "new", document(types, version="7.4")))
    assert new.code == 1 and "boot attribute is only available" in new.error_lines[0]


# ---- what kiwi's stylesheets rename ---------------------------------------------------


@pytest.mark.parametrize("version", ["8.0", "8.5"])
def test_console_becomes_output_and_input_console(kiwi, tmp_path: Path, version: str) -> None:
    types = f'<type {OEM}><bootloader name="grub2" console="serial console"/></type>'
    done = info(kiwi, write(tmp_path, document(types, version=version)))
    assert done.code == 0, done.err
    assert done.json()["bootloader"] == {
        "name": "grub2", "output_console": "serial", "input_console": "console"
    }  # fmt: skip
    # silent where kiwi converts silently, a warning where kiwi would refuse it
    assert ("console='serial console' is deprecated" in done.err) == (version == "8.5")


def test_renamed_and_dropped_attributes(kiwi, tmp_path: Path) -> None:
    types = '<type image="oem" filesystem="btrfs" btrfs_root_is_snapshot="true" vga="0x318"/>'
    body = '<repository use_for_bootstrap="true"><source path="http://r.example/"/></repository>'
    done = info(kiwi, write(tmp_path, document(types, body)))
    assert done.code == 0, done.err
    assert done.json()["type"] == {
        "image": "oem", "filesystem": "btrfs", "btrfs_root_is_snapper_snapshot": "true"
    }  # fmt: skip
    for warning in ("'btrfs_root_is_snapshot' is deprecated", "'vga' is obsolete",
                    "'use_for_bootstrap' is obsolete"):  # fmt: skip
        assert warning in done.err


@pytest.mark.parametrize(
    ("bootloader", "output", "input_"),
    [
        ('output_console="serial console" input_console="serial"', ("serial", "console"), ("serial",)),
        ('output_console="gfxterm"', ("console",), ("console",)),
        ('input_console="serial"', ("console",), ("serial",)),
        ('console="serial"', ("serial",), ("serial",)),
        ('output_console="none"', (), ()),
    ],
)  # fmt: skip
def test_grub_terminals_of_the_consoles(tmp_path: Path, bootloader: str, output, input_) -> None:
    types = f'<type {OEM}><bootloader name="grub2" {bootloader}/></type>'
    build = load_build(write(tmp_path, document(types)), BuildOptions(), RuntimeConfig())
    menu = build.settings.menu  # type: ignore[attr-defined]
    assert (menu.grub_output, menu.grub_input) == (output, input_)
    assert ("console=ttyS0,115200" in menu.kernel_options) == ("serial" in output + input_)


# ---- what kiwi-like builds, refuses and ignores -----------------------------------------

SUPPORT_REFUSED = [
    (f'<type {OEM} efipart_id="2"/>', "", "<type> attribute efipart_id='2' is not supported yet"),
    (f'<type {OEM} overlayroot="true" overlayroot_readonly_filesystem="erofs"/>', "",
     "<type> attribute overlayroot_readonly_filesystem='erofs' is not supported yet"),
    (f'<type {OEM} overlayroot="true" overlayroot_readonly_createoptions="-b 1M"/>', "",
     "overlayroot_readonly_createoptions='-b 1M' is not supported yet"),
    ('<type image="oem" filesystem="btrfs" btrfs_root_is_snapper_snapshot="true"/>', "",
     "btrfs_root_is_snapper_snapshot='true' is not supported yet"),
    (f'<type {OEM} luks="secret"/>', "", "<type> attribute luks='secret' is not supported yet"),
    (f'<type {OEM} format="gce"/>', "", "<type> attribute format='gce' is not supported yet"),
    (f'<type {OEM} bootpartition="true"/>', "", "bootpartition='true' is not supported yet"),
    ('<type image="kis" compressed="true"/>', "", "compressed='true' is not supported yet"),
    (f'<type {OEM}><systemdisk/></type>', "", "<systemdisk> is not supported yet"),
    (f'<type {OEM}><machine memory="512"/></type>', "", "<machine> is not supported yet"),
    (f'<type {OEM}><bootloader name="systemd_boot"/></type>', "",
     "<bootloader> attribute name='systemd_boot' is not supported yet"),
    (f'<type {OEM}><bootloader name="grub2"><bootloadersettings/></bootloader></type>', "",
     "<bootloadersettings> is not supported yet"),
    (f"<type {OEM}><oemconfig><oem-systemsize>10</oem-systemsize></oemconfig></type>", "",
     "<oem-systemsize>10</oem-systemsize> is not supported yet"),
    ('<type image="docker"><containerconfig name="c"><stopsignal>INT</stopsignal></containerconfig></type>',
     "", "<stopsignal>INT</stopsignal> is not supported yet"),
    ('<type image="docker"><containerconfig name="c" additionalnames=":1,other:1"/></type>', "",
     "additionalnames=':1,other:1' is not supported yet (only ':tag' entries)"),
    (f"<type {OEM}/>", '<certificates target_distribution="suse"><certificate name="/c"/></certificates>',
     "<certificates> is not supported yet"),
    (f"<type {OEM}/>", '<containers source="r.example" backend="podman"><container name="c"/></containers>',
     "<containers> is not supported yet"),
    (f"<type {OEM}/>", '<packages type="bootstrap"><collectionModule name="m" enable="true"/></packages>',
     "<collectionModule> is not supported yet"),
    (f"<type {OEM}/>", '<packages type="image" patternType="plusRecommended"/>',
     "<packages> attribute patternType='plusRecommended' is not supported yet"),
    (f"<type {OEM}/>", '<repository customize="this://c.sh"><source path="http://r.example/"/></repository>',
     "<repository> attribute customize='this://c.sh' is not supported yet"),
    (f"<type {OEM}/>", '<users><user name="tux" password="x" groups="video:44"/></users>',
     "<user> attribute groups='video:44' is not supported yet"),
    (f"<type {OEM}/>", '<packages type="image"><file name="f" permissions="u+x"/></packages>',
     "<file> attribute permissions='u+x' is not supported yet (only octal modes)"),
]  # fmt: skip


def build_command(kiwi, directory: Path, target: Path, *options: str):
    return kiwi("system", "build", "--description", str(directory), "--target-dir", str(target),
                "--config", str(CORPUS_RUNTIME_CONFIG), *options)  # fmt: skip


@pytest.mark.parametrize(("types", "body", "expected"), SUPPORT_REFUSED,
                         ids=[expected.split(" is ")[0] for *_, expected in SUPPORT_REFUSED])  # fmt: skip
def test_system_build_refuses_before_any_work(kiwi, tmp_path: Path, types, body, expected) -> None:
    directory = write(tmp_path / "description", document(types, body))
    done = build_command(kiwi, directory, tmp_path / "target")
    assert done.code == 1 and len(done.error_lines) == 1, done.err
    assert f"{directory}/config.xml:" in done.error_lines[0] and expected in done.error_lines[0]
    assert not (tmp_path / "target/build/image-root").exists()


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ('overlayroot="true" squashfscompression="zstd"',
         "squashfscompression 'zstd' cannot be read by GRUB from an overlayroot disk"),
        ('overlayroot_write_partition="false"', 'overlayroot_write_partition needs overlayroot="true"'),
        ('overlayroot="true" initrd_system="kiwi"', 'overlayroot="true" needs initrd_system="dracut"'),
        ('overlayroot="true" installiso="true"',
         'overlayroot="true" is not supported with an installer yet'),
    ],
)  # fmt: skip
def test_overlayroot_settings_refused_before_any_work(kiwi, tmp_path, attributes, expected):
    directory = write(tmp_path / "description", document(f"<type {OEM} {attributes}/>"))
    done = build_command(kiwi, directory, tmp_path / "target")
    assert done.code == 1 and len(done.error_lines) == 1, done.err
    assert expected in done.error_lines[0]
    assert not (tmp_path / "target/build/image-root").exists()


@pytest.mark.parametrize(
    ("types", "body", "manager", "expected"),
    [
        ('<type image="cpio"/>', "", "zypper", "image type 'cpio' cannot be created yet"),
        (f"<type {OEM}/>", "", "apk", "packagemanager 'apk' is not supported yet"),
        (f"<type {OEM}/>", '<repository type="apk"><source path="http://r.example/"/></repository>',
         "apt", "type 'apk' cannot be used with the apt package manager"),
    ],
)  # fmt: skip
def test_system_build_refuses_types_and_managers(kiwi, tmp_path, types, body, manager, expected):
    directory = write(tmp_path / "description", document(types, body, manager))
    done = build_command(kiwi, directory, tmp_path / "target")
    assert done.code == 1 and len(done.error_lines) == 1, done.err
    assert expected in done.error_lines[0]


def test_system_build_warns_about_what_it_ignores(kiwi, tmp_path: Path) -> None:
    types = (f'<bootloader-theme>starfield</bootloader-theme><type {OEM} firmware="ec2">'
             '<bootloader name="grub2" video_mode="1024x768"/></type>')  # fmt: skip
    directory = write(tmp_path / "description", document(types))
    done = build_command(kiwi, directory, tmp_path / "target")
    # the warnings come first; then the settings refuse the firmware, still before any work
    assert "<bootloader-theme>starfield</bootloader-theme> is ignored" in done.err
    assert "<bootloader> attribute video_mode='1024x768' is ignored" in done.err
    assert done.code == 1 and "firmware 'ec2' is not supported" in done.error_lines[0]


IGNORED = [
    (f"<bootsplash-theme>bgrt</bootsplash-theme><type {OEM}/>", "", "<bootsplash-theme>bgrt"),
    (f"<hwclock>utc</hwclock><type {OEM}/>", "", "<hwclock>utc</hwclock> is ignored"),
    (f"<type {OEM} eficsm=\"false\"/>", "", "eficsm='false' is ignored"),
    (f"<type {OEM}/>", '<strip type="delete"><file name="/usr/share/doc"/></strip>', "<strip>"),
    (f"<type {OEM}/>", '<extension xmlns:e="http://e.example/"><e:x/></extension>', "<extension>"),
    ('<type image="kis" archive="false"/>', "", "archive='false' is ignored"),
    (f"<type {OEM}/>", '<packages type="image"><package name="p" bootinclude="true"/></packages>',
     "<package> attribute bootinclude='true' is ignored"),
]  # fmt: skip


@pytest.mark.parametrize(("types", "body", "expected"), IGNORED,
                         ids=[expected.split(" is ")[0] for *_, expected in IGNORED])  # fmt: skip
def test_harmless_constructs_are_warned(tmp_path: Path, types, body, expected) -> None:
    directory = write(tmp_path, document(types, body))
    warnings = check_supported(load_build(directory, BuildOptions(), RuntimeConfig()))
    assert len(warnings) == 1 and expected in warnings[0] and "config.xml:" in warnings[0]


def test_what_counts_for_the_build_is_all_that_is_checked(tmp_path: Path) -> None:
    """Other profiles, other types, other architectures and ignored repositories."""
    body = """<profiles><profile name="p" description="p"/></profiles>
    <repository customize="x"><source path="http://r.example/"/></repository>
    <packages type="iso" patternType="plusRecommended"><package name="p"/></packages>
    <users profiles="p"><user name="tux" password="x" groups="video:44"/></users>"""
    types = f'<type {OEM}/><type image="iso" luks="x"/><type {OEM} efipart_id="2" primary="false"/>'
    options = BuildOptions(ignore_repos=True, add_repos=("http://r.example/,rpm-md",))
    build = load_build(write(tmp_path, document(types, body)), options, RuntimeConfig())
    assert check_supported(build) == []
    with pytest.raises(KiwiLikeError, match="luks='x' is not supported yet"):
        check_supported(load_build(tmp_path, BuildOptions(build_type="iso"), RuntimeConfig()))


def test_types_without_a_builder_can_still_be_prepared(tmp_path: Path) -> None:
    """system prepare makes their root; system build refuses them (test above)."""
    body = '<repository customize="x"><source path="http://r.example/"/></repository>'
    build = load_build(write(tmp_path, document('<type image="tbz"/>', body)), BuildOptions(),
                       RuntimeConfig())  # fmt: skip
    with pytest.raises(KiwiLikeError, match="customize='x' is not supported yet"):
        check_supported(build)
    assert check_supported(load_build(write(tmp_path, document('<type image="tbz"/>')),
                                      BuildOptions(), RuntimeConfig())) == []  # fmt: skip


SHIPPED = [Path(__file__).resolve().parent.parent / d
           for d in ("descriptions/debian/bookworm-jeos", "descriptions/fedora/jeos",
                     "descriptions/opensuse/leap-jeos", "build-tests/x86/debian-disk")]  # fmt: skip


@pytest.mark.parametrize("directory", SHIPPED, ids=lambda path: path.name)
def test_the_shipped_descriptions_are_supported_without_warnings(directory: Path) -> None:
    description = load_build(directory, BuildOptions(), RuntimeConfig()).description
    for profile in description.profiles or [None]:
        options = BuildOptions(profiles=(profile.name,) if profile else ())
        try:
            build = load_build(directory, options, RuntimeConfig())
        except KiwiLikeError:
            continue  # a profile that only adds to others, without a type of its own
        if build.build_type.image in ("tbz",):
            continue  # kiwi-like cannot create it yet; the descriptions use it to prepare
        assert check_supported(build) == [], profile


# ---- the tables -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "table"),
    [
        ("preferences>type", supported.TYPE_ATTRIBUTES),
        ("type>bootloader", {**supported.BOOTLOADER.attributes}),
        ("type>containerconfig", {**supported.CONTAINERCONFIG.attributes}),
        ("image>repository", {**supported.REPOSITORY.attributes}),
        ("image>users", {**supported.USERS.attributes}),
    ],
)
def test_every_kiwi_attribute_has_a_verdict(prefix: str, table) -> None:
    attributes = {c.split("@")[1] for c in lines("kiwi-11.1.6-constructs.txt")
                  if c.startswith(prefix + "@")}  # fmt: skip
    assert attributes - set(table) == set()


@pytest.mark.parametrize(
    ("parent", "table"),
    [
        ("type", supported.TYPE.children),
        ("oemconfig", supported.OEMCONFIG.children),
        ("containerconfig", supported.CONTAINERCONFIG.children),
        ("bootloader", supported.BOOTLOADER.children),
        ("preferences", {**supported.PREFERENCES.children, "type": ()}),
        ("image", supported.IMAGE.children),
        ("packages", supported.packages_rules("image").children),
    ],
)
def test_every_kiwi_element_has_a_verdict(parent: str, table) -> None:
    children = {c.split(">")[1] for c in lines("kiwi-11.1.6-constructs.txt")
                if c.startswith(parent + ">") and "@" not in c}  # fmt: skip
    assert children - set(table) == set()


def test_the_disk_formats_are_the_converters() -> None:
    from kiwi_like.create import formats

    assert set(supported.DISK_FORMATS) == set(formats.SUPPORTED)


def _tables(rules: supported.ElementRules):
    yield rules.attributes
    yield rules.children
    for nested in rules.nested.values():
        yield from _tables(nested)


def test_doc_compatibility_names_every_refused_and_ignored_construct() -> None:
    doc = (Path(__file__).resolve().parent.parent / "doc/compatibility.md").read_text()
    named = {word for span in re.findall(r"`([^`]+)`", doc) for word in re.findall(r"[\w-]+", span)}
    tables = [supported.TYPE_ATTRIBUTES, *_tables(supported.TYPE), *_tables(supported.IMAGE)]
    for rules in (
        supported.PREFERENCES,
        supported.packages_rules("image"),
        supported.packages_rules("delete"),
        supported.REPOSITORY,
        supported.USERS,
    ):
        tables += list(_tables(rules))  # fmt: skip
    not_done = {
        name for table in tables for name, supports in table.items()
        if any(support.kind != "done" for support in supports)
    }  # fmt: skip
    assert not_done - named == set()
