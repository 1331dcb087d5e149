"""`result bundle`: the results of a build under release names, as kiwi bundles them.

For every result marked for the bundle, in the order of kiwi's result keys:
copy it to `<name>.<arch>-<version>-<id><rest>` (or to the bundle format's name),
xz-compress it if its result says so and `--no-compress` is not given, make a zsync
control file if `--zsync-source` is given, and write `<file>.<algorithm>` for results
that carry a checksum. `--package-as-rpm` then packs the bundle into a noarch rpm.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from textwrap import dedent
from typing import Any

from kiwi_like import run as runner
from kiwi_like.errors import KiwiLikeError
from kiwi_like.log import log
from kiwi_like.result import ResultFile, bundle_name_tags, file_digest, read_results

SPECIAL_SUFFIXES = (".oci.tar.", ".docker.tar.", ".vagrant.")
SPECIAL_UNCOMPRESSED = (".oci.tar", ".docker.tar")
TEXT_PROBE = 8192
MAX_TEXT_SIZE = 64 << 20  # larger files are images, not text naming other results


@dataclass(frozen=True)
class BundleOptions:
    bundle_id: str
    compress: bool = True  # False: --no-compress
    bundle_format: str | None = None  # --bundle-format, over the type's bundle_format
    zsync_source: str | None = None
    package_as_rpm: bool = False
    xz_options: tuple[str, ...] = ("-T0", "-6")
    checksum_algorithm: str = "sha256"


def extension(filename: str) -> str:
    """What kiwi keeps of a result's name behind a bundle format name."""
    if any(special in filename for special in SPECIAL_SUFFIXES):
        return ".".join(filename.split(".")[-3:])
    if any(special in filename for special in SPECIAL_UNCOMPRESSED):
        return ".".join(filename.split(".")[-2:])
    if ".tar." in filename:
        return f"tar.{filename.split('.')[-1]}"
    return filename.split(".")[-1]


def format_name(pattern: str, build: dict[str, Any], bundle_id: str) -> str:
    """kiwi's bundle format: %N %P %A %T %M %m %p %v from the build, %I the bundle id."""
    name = pattern
    for tag, value in bundle_name_tags(build).items():
        if tag != "I":
            name = name.replace(f"%{tag}", value)
    return name.replace("%I", bundle_id)


def bundle_name(filename: str, build: dict[str, Any], bundle_id: str, formatted: str) -> str:
    if formatted:
        return f"{formatted}.{extension(filename)}"
    # kiwi: the id follows the version, in the part of the name after the image name
    before, name, after = filename.partition(str(build["name"]))
    version = str(build["version"])
    return before + name + after.replace(version, f"{version}-{bundle_id}")


def check_tools(options: BundleOptions) -> None:
    """Refuse before copying anything what cannot be done here."""
    if options.zsync_source and not shutil.which("zsyncmake"):
        raise KiwiLikeError("--zsync-source needs zsyncmake (Debian package zsync), not found")
    if options.package_as_rpm and not shutil.which("rpmbuild"):
        raise KiwiLikeError("--package-as-rpm needs rpmbuild (Debian package rpm), not found")


def bundle(target_dir: Path, bundle_dir: Path, options: BundleOptions) -> list[Path]:
    target_dir, bundle_dir = target_dir.absolute(), bundle_dir.absolute()
    if target_dir == bundle_dir:
        raise KiwiLikeError("the bundle directory must be different from the target directory")
    check_tools(options)
    build, files = read_results(target_dir)
    if options.package_as_rpm and bundle_dir.is_dir() and any(bundle_dir.iterdir()):
        # kiwi empties it first; kiwi-like does not delete what it did not write
        raise KiwiLikeError(f"--package-as-rpm: bundle directory {bundle_dir} is not empty")
    pattern = options.bundle_format or build.get("bundle_format") or ""
    formatted = format_name(pattern, build, options.bundle_id) if pattern else ""
    bundle_dir.mkdir(parents=True, exist_ok=True)
    chosen = sorted((f for f in files if f.use_for_bundle), key=lambda f: f.kind)
    names = {
        f.filename: bundle_name(f.filename, build, options.bundle_id, formatted) for f in chosen
    }
    for result in chosen:
        log.info("Creating %s", names[result.filename])
        copy = bundle_dir / names[result.filename]
        runner.run(["cp", "--sparse=always", target_dir / result.filename, copy])
    _rename_references(bundle_dir, names)
    written = []
    for result in chosen:
        written += _finalize(bundle_dir / names[result.filename], result, options)
    if options.package_as_rpm:
        return [_package_as_rpm(bundle_dir, build, formatted or str(build["name"]), written)]
    return written


def _finalize(path: Path, result: ResultFile, options: BundleOptions) -> list[Path]:
    if result.compress and options.compress:
        log.info("--> Compressing %s", path.name)
        runner.run(["xz", "--force", *options.xz_options, path])
        path = path.with_name(path.name + ".xz")
    written = [path]
    if options.zsync_source and result.shasum:
        control = path.with_name(path.name + ".zsync")
        url = f"{options.zsync_source.rstrip('/')}/{path.name}"
        runner.run(["zsyncmake", "-e", "-u", url, "-o", control, path])
        written.append(control)
    if result.shasum:
        checksum = path.with_name(f"{path.name}.{options.checksum_algorithm}")
        checksum.write_text(f"{file_digest(path, options.checksum_algorithm)}  {path.name}\n")
        written.append(checksum)
    log.info("Bundled %s", path)
    return written


def _rename_references(bundle_dir: Path, names: dict[str, str]) -> None:
    """kiwi: a text result naming a renamed file names it by its bundle name."""
    renamed = {old: new for old, new in names.items() if old != new}
    if not renamed:
        return
    for new in names.values():
        path = bundle_dir / new
        with path.open("rb") as stream:
            head = stream.read(TEXT_PROBE)
        if b"\0" in head or path.stat().st_size > MAX_TEXT_SIZE:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        changed = text
        for old, replacement in renamed.items():
            changed = changed.replace(old, replacement)
        if changed != text:
            path.write_text(changed, encoding="utf-8")


SPEC = """\
%global _sourcedir %(pwd)
%global _rpmdir .

Url:            https://osinside.github.io/kiwi
Name:           {name}
Summary:        {name}
Version:        {version}
Release:        0
Group:          %{{sysgroup}}
License:        GPL-3.0-or-later
BuildRoot:      %{{_tmppath}}/%{{name}}-%{{version}}-build
BuildArch:      noarch

%description
{description}

%prep

%build

%install
install -d -m 755 %{{buildroot}}/var/tmp/{name}

{links}

%clean
rm -rf %{{buildroot}}

%files
%defattr(-, root, root)
/var/tmp/{name}

%changelog
"""


def _package_as_rpm(bundle_dir: Path, build: dict[str, Any], name: str, files: list[Path]) -> Path:
    """kiwi's --package-as-rpm: the bundle files in /var/tmp/<name> of a noarch rpm."""
    links = "\n".join(
        f"ln %{{_sourcedir}}/{path.name} %{{buildroot}}/var/tmp/{name}" for path in files
    )
    spec = bundle_dir / f"{name}.spec"
    description = str(build.get("specification") or name).strip()
    spec.write_text(
        dedent(SPEC).format(
            name=name, version=build["version"], description=description, links=links
        )
    )
    log.info("Creating rpm package...")
    with tempfile.TemporaryDirectory(prefix="kiwi-like-rpmbuild-") as top:
        runner.run(
            ["rpmbuild", "--define", f"_topdir {top}", "--nodeps", "--nocheck", "--rmspec",
             "-bb", spec.name],
            cwd=bundle_dir,
        )  # fmt: skip
    for path in files:
        path.unlink()
    packages = sorted((bundle_dir / "noarch").glob("*.rpm"))
    if len(packages) != 1:
        raise KiwiLikeError(f"rpmbuild made {len(packages)} packages in {bundle_dir}/noarch")
    package = bundle_dir / packages[0].name
    os.replace(packages[0], package)
    (bundle_dir / "noarch").rmdir()
    log.info("Bundled %s", package)
    return package
