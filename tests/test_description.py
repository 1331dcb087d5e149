"""Loading descriptions: safety, includes, legacy upgrades, profiles and overrides."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kiwi_like.description import BuildOptions, load_build
from kiwi_like.description.host_sources import read_host_sources
from kiwi_like.description.parse import load_description
from kiwi_like.errors import CommandLineError, DescriptionError
from kiwi_like.runtime_config import RuntimeConfig
from tests.conftest import MINIMAL
from tests.descriptions import Image

CONFIG = RuntimeConfig(host_apt_sources=Path(__file__).parent / "corpus" / "apt-host")

PROFILED = """<?xml version="1.0"?>
<image schemaversion="8.0" name="profiled">
    <description type="system"><author>a</author><contact>c</contact><specification>s</specification></description>
    <profiles>
        <profile name="base" description="base"/>
        <profile name="disk" description="disk" import="true"><requires profile="base"/></profile>
        <profile name="arm" description="arm only" arch="aarch64"/>
        <profile name="live" description="live"><requires profile="disk"/></profile>
    </profiles>
    <preferences>
        <version>1</version>
        <packagemanager>zypper</packagemanager>
        <locale>en_US</locale>
    </preferences>
    <preferences profiles="disk">
        <locale>de_DE</locale>
        <type image="oem" filesystem="xfs"/>
    </preferences>
    <preferences profiles="live">
        <type image="iso" primary="true"/>
    </preferences>
    <preferences profiles="arm">
        <type image="docker"/>
    </preferences>
    <repository profiles="base"><source path="obs://a:b/c"/></repository>
    <packages type="image">
        <package name="common"/>
        <package name="x86-only" arch="x86_64"/>
    </packages>
    <packages type="image" profiles="base"><package name="base-pkg"/></packages>
    <packages type="iso"><package name="live-pkg"/></packages>
    <packages type="oem"><package name="disk-pkg"/><package name="common"/></packages>
</image>
"""


def build(directory: Path, **options) -> object:
    config = RuntimeConfig(
        host_apt_sources=CONFIG.host_apt_sources, obs_download_url="http://obs.example"
    )
    return load_build(directory, BuildOptions(**options), config)


def test_default_profiles_and_requires(write_description):
    directory = write_description(PROFILED)
    # without --profile kiwi takes the import="true" profiles alone, without their <requires>
    assert build(directory, target_arch="x86_64").profiles == ("disk",)
    resolved = build(directory, target_arch="x86_64", profiles=("disk",))
    assert resolved.profiles == ("base", "disk")
    assert resolved.preferences.locale == "de_DE"
    assert resolved.build_type.image == "oem"
    assert resolved.packages.image == ("common", "x86-only", "base-pkg", "disk-pkg")
    assert resolved.repositories[0].source == "http://obs.example/a:/b/c"


def test_requested_profile_pulls_in_requirements_and_primary_type(write_description):
    resolved = build(write_description(PROFILED), profiles=("live",), target_arch="aarch64")
    assert resolved.profiles == ("base", "disk", "live")
    assert resolved.build_type.image == "iso"
    assert resolved.packages.image == ("common", "base-pkg", "live-pkg")


def test_arch_filtered_profile(write_description):
    directory = write_description(PROFILED)
    with pytest.raises(DescriptionError, match="not available for architecture x86_64"):
        build(directory, profiles=("arm",), target_arch="x86_64")
    assert build(directory, profiles=("arm",), target_arch="aarch64").profiles == ("arm",)


def test_type_selection_error_names_the_available_types(write_description):
    with pytest.raises(DescriptionError, match=r"'kis' is not in .* \(available: oem, iso\)"):
        build(write_description(MINIMAL), build_type="kis")


def test_set_type_attr_is_checked_against_the_schema(write_description):
    directory = write_description(MINIMAL)
    resolved = build(directory, set_type_attrs=("firmware=bios", "kernelcmdline=quiet"))
    assert resolved.build_type.attributes["firmware"] == "bios"
    assert resolved.build_type.attributes["kernelcmdline"] == "quiet"
    with pytest.raises(CommandLineError, match="--set-type-attr firmware=floppy"):
        build(directory, set_type_attrs=("firmware=floppy",))


def test_repository_overrides(write_description):
    directory = write_description(MINIMAL)
    # kiwi keeps only imageonly repositories; MINIMAL has none, so apt falls back to host://
    ignored = build(directory, ignore_repos_used_for_build=True)
    replaced = build(directory, set_repo="this://repo,apt-deb,local,1,,,,main,stable")
    assert replaced.repositories[0].source == f"dir://{directory.resolve()}/repo"
    assert [r.distribution for r in replaced.repositories] == ["stable", "bookworm-updates"]
    host = build(directory, ignore_repos=True)
    expected = read_host_sources(CONFIG.host_apt_sources)
    assert [r.alias for r in host.repositories] == [
        f"host-{n}" for n in range(1, len(expected) + 1)
    ]
    assert [r.alias for r in ignored.repositories] == [r.alias for r in host.repositories]
    assert [r.source for r in host.repositories] == [s.uri for s in expected]


def test_includes_are_spliced_in_place(write_description):
    directory = write_description(
        MINIMAL.replace("</image>", '<include from="this://extra.xml"/></image>')
    )
    (directory / "extra.xml").write_text(
        '<image schemaversion="7.5" name="ignored"><packages type="image"><package name="vim"/></packages></image>'
    )
    assert build(directory).packages.image == ("systemd", "vim")


def test_error_in_included_file_names_that_file(write_description):
    directory = write_description(
        MINIMAL.replace("</image>", '<include from="this://extra.xml"/></image>')
    )
    (directory / "extra.xml").write_text(
        '<image schemaversion="7.5" name="x">\n<packages type="image">\n<pakage name="vim"/></packages></image>'
    )
    with pytest.raises(DescriptionError) as error:
        build(directory)
    assert "extra.xml:3" in str(error.value)
    assert "pakage" in str(error.value)


def test_schema_error_names_file_line_and_element(write_description):
    directory = write_description(MINIMAL.replace('firmware="efi"', 'firmware="floppy"'))
    with pytest.raises(DescriptionError) as error:
        build(directory)
    message = str(error.value)
    assert message.startswith(f"{directory / 'config.xml'}:11: element <type>:")
    assert "floppy" in message or "firmware" in message


def test_legacy_vmx_is_upgraded_with_a_warning_and_pxe_kept(write_description):
    legacy = MINIMAL.replace('schemaversion="7.5"', 'schemaversion="6.8"').replace(
        '<type image="iso"/>', '<type image="pxe"/><type image="vmx"/>'
    )
    directory = write_description(legacy)
    description = load_description(directory / "config.xml")
    # kiwi 11 has no vmx, but keeps pxe as a type name (built as kis)
    assert [t.image for t in description.preferences[0].types] == ["oem", "pxe", "oem"]
    assert any("'vmx' is deprecated, using 'oem'" in w for w in description.warnings)
    assert not any("'pxe'" in w for w in description.warnings)
    pxe = build(directory, build_type="pxe")
    assert pxe.build_type.image == "pxe"
    assert type(pxe.settings).__name__ == "KisSettings"


def test_billion_laughs_is_refused_without_expansion(write_description):
    entities = "".join(
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' if i else '<!ENTITY l0 "lol">' for i in range(10)
    )
    hostile = f'<?xml version="1.0"?>\n<!DOCTYPE image [{entities}]>\n<image name="&l9;"/>'
    directory = write_description(hostile)
    started = time.monotonic()
    with pytest.raises(DescriptionError, match="config.xml:2: a DOCTYPE with declarations"):
        build(directory)
    assert time.monotonic() - started < 5  # a sanity bound, not a benchmark: expansion would hang


def test_external_entity_content_never_appears(write_description):
    hostile = '<?xml version="1.0"?>\n<!DOCTYPE image [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<image name="&x;"/>'
    with pytest.raises(DescriptionError) as error:
        build(write_description(hostile))
    assert "root:" not in str(error.value)


def test_description_lookup_order(tmp_path):
    directory = tmp_path / "d"
    directory.mkdir()
    (directory / "b.kiwi").write_text(MINIMAL.replace('name="minimal"', 'name="b"'))
    (directory / "a.kiwi").write_text(MINIMAL.replace('name="minimal"', 'name="a"'))
    assert build(directory).name == "a"
    # kiwi gives config.kiwi no preference: the first *.kiwi in sorted order stays
    (directory / "config.kiwi").write_text(MINIMAL.replace('name="minimal"', 'name="kiwi"'))
    assert build(directory).name == "a"
    (directory / "image").mkdir()
    (directory / "image/config.xml").write_text(MINIMAL.replace('name="minimal"', 'name="sub"'))
    assert build(directory).name == "sub"
    (directory / "config.xml").write_text(MINIMAL)
    assert build(directory).name == "minimal"


def test_resolved_build_is_immutable(write_description):
    resolved = build(write_description(MINIMAL))
    with pytest.raises(AttributeError):
        resolved.arch = "s390x"
    with pytest.raises(TypeError):
        resolved.build_type.attributes["image"] = "iso"


def test_architecture_aliases(write_description):
    xml = PROFILED.replace('arch="x86_64"', 'arch="amd64"').replace(
        'arch="aarch64"', 'arch="arm64"'
    )
    directory = write_description(xml)
    assert "x86-only" in build(directory, target_arch="x86_64").packages.image
    assert build(directory, profiles=("arm",), target_arch="aarch64").profiles == ("arm",)
    assert build(directory, profiles=("arm",), target_arch="arm64").arch == "aarch64"


def test_type_option_takes_the_first_of_that_name_as_kiwi_does(write_description):
    """kiwi's _build_type_section: with --type, the first type of that image, primary or not."""
    xml = MINIMAL.replace(
        '<type image="iso"/>', '<type image="iso"/><type image="iso" primary="true" volid="TWO"/>'
    )
    assert build(write_description(xml), build_type="iso").build_type.get("volid") is None


def test_host_sources_keep_the_alias_as_prefix(write_description):
    xml = MINIMAL.replace(
        '<source path="http://mirror.example/debian"/>\n    </repository>\n    <repository type="apt-deb" imageinclude',
        '<source path="host://"/>\n    </repository>\n    <repository type="apt-deb" imageinclude',
    ).replace('distribution="bookworm" components="main contrib"', 'alias="debian"')
    aliases = [r.alias for r in build(write_description(xml)).repositories]
    assert aliases[0] == "debian-1" and aliases[-1] is None


# ---- what kiwi resolves that a description does not say ----------------------------------


@pytest.mark.parametrize(
    ("manager", "bootstrap", "image", "expected"),
    [
        ("apt", ["debian-archive-keyring"], ["systemd"], ("debian-archive-keyring", "apt")),
        ("zypper", ["filesystem"], ["kernel-default"], ("filesystem", "zypper")),
        ("dnf4", ["filesystem"], ["kernel"], ("filesystem", "dnf")),
        ("dnf5", ["filesystem"], ["kernel"], ("filesystem", "dnf5")),
        ("zypper", ["filesystem", "zypper"], ["vim"], ("filesystem", "zypper")),
        ("zypper", ["filesystem"], [], ("filesystem",)),  # no image packages: nothing added
        ("zypper", [], ["vim"], ()),  # no bootstrap packages: nothing added
    ],
)
def test_the_package_manager_joins_the_bootstrap_packages_as_in_kiwi(
    write_description, manager, bootstrap, image, expected
):
    packages = {"bootstrap": bootstrap, "image": image}
    directory = write_description(Image(packagemanager=manager, packages=packages))
    assert build(directory).packages.bootstrap == expected


def test_added_packages_do_not_bring_the_package_manager(write_description):
    """kiwi adds the manager for the description's own image packages only."""
    directory = write_description(Image(packagemanager="zypper", packages={"bootstrap": ["a"]}))
    resolved = build(directory, add_packages=("vim",), add_bootstrap_packages=("b",))
    assert resolved.packages.bootstrap == ("a", "b")
    assert resolved.packages.image == ("vim",)


def test_a_description_without_version_loads_and_is_refused_when_building(kiwi, write_description):
    directory = write_description(MINIMAL.replace("<version>1.2.3</version>", ""))
    info = kiwi("image", "info", "--description", str(directory), "--format", "json")
    assert info.code == 0, info.err
    assert info.json()["version"] == ""
    target = directory.parent / "target"
    built = kiwi("system", "build", "--description", str(directory), "--target-dir", str(target))
    assert built.code != 0
    assert built.error_lines == [
        f"kiwi-like: error: {directory / 'config.xml'}: "
        "<preferences> of the selected profiles have no <version>"
    ]
    assert not (target / "build/image-root").exists()  # the log file is all there is


def test_a_description_without_packagemanager_uses_kiwis_default(kiwi, write_description):
    directory = write_description(MINIMAL.replace("<packagemanager>apt</packagemanager>", ""))
    assert build(directory).preferences.packagemanager == "dnf4"
    info = kiwi("image", "info", "--description", str(directory))
    assert info.code == 0, info.err
    assert "no <packagemanager>: using kiwi's default, dnf4" in info.err
