"""The package's shape, as doc/architecture.md draws it: stages import only earlier stages,
one descriptor per image type, typed settings instead of string reads, small modules."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from kiwi_like import lazy
from kiwi_like.description import BuildOptions, ResolvedBuild, load_build
from kiwi_like.description.imagetypes import IMAGE_TYPES, LEGACY_NAMES, image_type_kind
from kiwi_like.description.imagetypes.base import TypeSettings
from kiwi_like.description.imagetypes.oem import DiskSettings
from kiwi_like.description.packagemanagers import PACKAGE_MANAGERS
from kiwi_like.errors import KiwiLikeError
from kiwi_like.runtime_config import RuntimeConfig
from tests.descriptions import Image, Type, write_description

PACKAGE = Path(__file__).resolve().parent.parent / "kiwi_like"
# The pipeline's order; packages not named here (errors, run, result, oci, ...) are
# libraries every stage may use, and they import no stage.
LAYERS = {"description": 1, "installer": 2, "prepare": 3, "create": 4, "cli": 5, "__main__": 5}
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every kiwi_like module `path` imports, at module level or inside functions."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name.startswith("kiwi_like")}


def _layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.get(parts[1], 0) if len(parts) > 1 else 0


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_stages_import_only_earlier_stages(module: str) -> None:
    later = sorted(
        imported for imported in _imports(MODULES[module]) if _layer(imported) > _layer(module)
    )
    assert not later, f"{module} (layer {_layer(module)}) imports later stages: {later}"


def test_prepare_and_create_do_not_import_each_other() -> None:
    """The cycle issue 14 removed: walks the imports of both packages."""
    prepare_to_create = [
        (module, imported)
        for module, path in MODULES.items()
        if module.startswith("kiwi_like.prepare")
        for imported in _imports(path)
        if imported.startswith("kiwi_like.create")
    ]
    assert prepare_to_create == []


def test_image_type_builders_share_boot_code_not_the_disk_builder() -> None:
    """iso and pxe use create/boot; of create/disk only the disk's result (the install
    ISO wraps the finished disk)."""
    allowed = {"kiwi_like.create.disk.result", "kiwi_like.create.disk.result.DiskResult"}
    reaching = {
        module: sorted(
            name
            for name in _imports(path)
            if name.startswith("kiwi_like.create.disk") and name not in allowed
        )
        for module, path in MODULES.items()
        if module.startswith(("kiwi_like.create.iso", "kiwi_like.create.pxe"))
    }
    assert {module: names for module, names in reaching.items() if names} == {}


def test_no_string_reads_of_type_attributes_outside_the_description_layer() -> None:
    pattern = re.compile(r"build_type\.(get|flag)\(|\.flag\(\"|attributes\.get\(")
    offenders = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for module, path in MODULES.items()
        if not module.startswith("kiwi_like.description")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_no_module_over_the_size_limit() -> None:
    large = {
        str(path.relative_to(PACKAGE)): lines
        for path in MODULES.values()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert large == {}


@pytest.mark.parametrize("name", sorted(IMAGE_TYPES))
def test_every_image_type_names_a_builder_that_loads(name: str) -> None:
    kind = IMAGE_TYPES[name]
    assert kind.name == name
    assert callable(lazy.load(kind.builder))


def test_legacy_type_names_select_their_successor() -> None:
    assert {old: image_type_kind(old).name for old in LEGACY_NAMES} == {"vmx": "oem", "pxe": "kis"}
    with pytest.raises(
        KiwiLikeError, match=r"image type 'cpio' cannot be created yet \(supported: "
    ):
        image_type_kind("cpio")


def test_host_packages_of_every_descriptor_are_installed_by_make_setup() -> None:
    makefile = (PACKAGE.parent / "Makefile").read_text()
    listed = re.search(r"HOST_PACKAGES :=((?:.*\\\n)*.*)", makefile)
    assert listed is not None
    installed = set(listed.group(1).replace("\\\n", " ").split())
    needed = {p for kind in IMAGE_TYPES.values() for p in kind.host_packages}
    needed |= {p for kind in PACKAGE_MANAGERS for p in kind.host_packages}
    assert needed - installed == set()


def _build(tmp_path: Path, image: str, arch: str = "x86_64", **attributes: str) -> ResolvedBuild:
    write_description(tmp_path, Image(types=(Type(image, attributes),)))
    return load_build(tmp_path, BuildOptions(target_arch=arch), RuntimeConfig())


@pytest.mark.parametrize(
    ("image", "initrd_system"),
    [("oem", "dracut"), ("vmx", "dracut"), ("iso", "dracut"), ("kis", "dracut"), ("pxe", "dracut"),
     ("docker", "none"), ("oci", "none")],
)  # fmt: skip
def test_one_default_initrd_system_per_type(tmp_path: Path, image: str, initrd_system: str) -> None:
    settings = _build(tmp_path, image).settings
    assert isinstance(settings, TypeSettings)
    assert settings.initrd_system == initrd_system


def test_settings_are_read_once_and_typed(tmp_path: Path) -> None:
    build = _build(tmp_path, "oem", firmware="uefi", installiso="true", format="qcow2")
    assert build.settings is build.settings
    settings = build.settings
    assert isinstance(settings, DiskSettings)
    assert (settings.firmware, settings.disk_format, settings.resize) == ("efi", "qcow2", True)
    assert settings.install_iso is not None and settings.install_iso.volid == "CDROM"


def test_settings_refuse_what_cannot_be_built(tmp_path: Path) -> None:
    with pytest.raises(KiwiLikeError, match="disk images are only supported for x86_64"):
        _ = _build(tmp_path, "oem", arch="aarch64").settings
    with pytest.raises(KiwiLikeError, match="initrd_system 'none' is not supported for disk"):
        _ = _build(tmp_path, "oem", initrd_system="none").settings
