"""`make bench ARGS=--against-kiwi`: the same description built by upstream KIWI NG 11.1.6.

kiwi runs from a virtual environment of its own (never a dependency of kiwi-like):
/var/cache/kiwi-like/kiwi-reference/venv, made with pip if it is missing. It cannot
build every description kiwi-like builds on this host, so both tools build one
variant of the description, written here (`kiwi_variant`), that kiwi can build:

- the repositories of the build host's apt sources, written out (kiwi has no host://),
  each with the keyring apt trusts for it;
- firmware="bios": kiwi cannot make the EFI partition on this kernel (no vfat);
- initrd_system="dracut", kiwi's own default for oem, with dracut instead of
  initramfs-tools in the package list, and grub-pc (kiwi runs grub-install);
- no oem-resize (kiwi's dracut resize needs its dracut-kiwi-oem-repart package,
  which Debian does not have) and no <locale> (kiwi needs locales-all for it);
- live ISO: firmware="bios" and flags="dmsquash" with Debian's dracut-live (and
  dracut-network and curl: kiwi adds dracut's livenet module) instead of live-boot
  (kiwi's own live module, dracut-kiwi-live, is not in Debian);
- config.sh without `baseStripDocs`: kiwi 11 declares it obsolete and ends the script
  with exit 1 (so neither tool strips the documentation).

kiwi gets a shared cache directory of its own inside the bench's work directory, so
its run is as cold as kiwi-like's (an empty package cache).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

KIWI_VENV = Path("/var/cache/kiwi-like/kiwi-reference/venv")
KIWI = "kiwi==11.1.6"
APT_DIR = Path("/etc/apt")


def kiwi_binary(venv: Path = KIWI_VENV) -> Path:
    """kiwi-ng of the reference venv, made (python -m venv + pip) if it is missing."""
    binary = venv / "bin/kiwi-ng"
    if binary.is_file():
        return binary
    print(f"bench: making KIWI NG's venv in {venv} ...", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin/pip"), "install", "-q", KIWI], check=True)
    return binary


def host_repositories() -> list[tuple[str, str, tuple[str, ...], str | None]]:
    """(uri, suite, components, keyring) of every `deb` entry of the host's apt sources."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from kiwi_like.description.host_sources import read_host_sources

    return [(s.uri, s.suite, s.components, s.signed_by) for s in read_host_sources(APT_DIR)]


def _replace_packages(packages: ET.Element, old: str, new: str) -> None:
    for package in packages.iter("package"):
        if package.get("name") == old:
            package.set("name", new)


def kiwi_variant(description: Path, target: Path) -> Path:
    """A copy of `description` that kiwi can build here (see the module's docstring)."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(description, target, symlinks=True)
    config = target / "config.xml"
    tree = ET.parse(config)
    image = tree.getroot()
    for preferences in image.iter("preferences"):
        for locale in preferences.findall("locale"):
            preferences.remove(locale)
        for build_type in preferences.iter("type"):
            if build_type.get("image") == "iso":
                # kiwi's own live boot code is a package Debian does not have; dracut's
                # dmsquash-live (Debian's dracut-live) is the one it can use
                build_type.set("firmware", "bios")
                build_type.set("flags", "dmsquash")
            if build_type.get("image") != "oem":
                continue
            build_type.set("firmware", "bios")
            build_type.set("initrd_system", "dracut")
            for resize in build_type.iter("oem-resize"):
                resize.text = "false"
    for packages in image.iter("packages"):
        _replace_packages(packages, "initramfs-tools", "dracut")
        _replace_packages(packages, "live-boot", "dracut-live")
        if packages.get("type") == "image" and packages.get("profiles") == "bootable":
            ET.SubElement(packages, "package", {"name": "grub-pc"})
        if packages.get("type") == "iso":  # kiwi's live initrd adds dracut's livenet
            for name in ("dracut-network", "curl"):  # livenet needs url-lib, url-lib curl
                ET.SubElement(packages, "package", {"name": name})
    for repository in image.findall("repository"):
        if any(s.get("path") == "host://" for s in repository.iter("source")):
            position = list(image).index(repository)
            image.remove(repository)
            for number, (uri, suite, components, keyring) in enumerate(host_repositories()):
                attributes = {
                    "type": "apt-deb",
                    "alias": f"{repository.get('alias') or 'host'}-{number}",
                    "distribution": suite,
                    "components": " ".join(components),
                }
                if repository.get("imageinclude"):
                    attributes["imageinclude"] = repository.get("imageinclude", "")
                if not keyring:
                    attributes["repository_gpgcheck"] = "false"
                element = ET.Element("repository", attributes)
                source = ET.SubElement(element, "source", {"path": uri})
                if keyring:
                    ET.SubElement(source, "signing", {"key": f"file://{keyring}"})
                element.tail = "\n    "
                image.insert(position + number, element)
    tree.write(config, encoding="utf-8", xml_declaration=True)
    script = target / "config.sh"
    if script.is_file():  # kiwi 11's baseStripDocs is obsolete: it ends the script (exit 1)
        text = script.read_text()
        script.write_text(
            re.sub(
                r"^[ \t]*baseStripDocs[ \t]*$",
                ": # baseStripDocs (kiwi 11: obsolete)",
                text,
                flags=re.M,
            )
        )
    return target


def uptime() -> str:
    return "load average: " + ", ".join(Path("/proc/loadavg").read_text().split()[:3])


def kiwi_build(
    kiwi: Path, description: Path, profile: str, target: Path, cache: Path
) -> dict[str, Any]:
    """One cold `kiwi-ng system build`; its wall time and the load around it."""
    if target.exists():
        shutil.rmtree(target)
    cache.mkdir(parents=True, exist_ok=True)
    argv = [
        str(kiwi), "--profile", profile, "--shared-cache-dir", str(cache),
        "system", "build", "--description", str(description), "--target-dir", str(target),
    ]  # fmt: skip
    log = target.parent / f"{target.name}.log"
    os.sync()
    before = uptime()
    started = time.monotonic()
    with log.open("w") as output:
        done = subprocess.run(argv, stdout=output, stderr=subprocess.STDOUT, check=False)
    wall = time.monotonic() - started
    if done.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        sys.stderr.write("\n".join(tail) + "\n")
        raise SystemExit(f"bench: kiwi-ng failed (exit {done.returncode}), see {log}")
    return {"wall_seconds": wall, "load_before": before, "load_after": uptime()}
