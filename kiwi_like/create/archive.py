"""The tbz builder: the root as `<name>.<arch>-<version>.tar.xz` (kiwi's root archive).

The tarball holds what a container layer of the root holds (kiwi_like/oci/tree.py): numeric
owners, modes, xattrs (ACLs are xattrs), hard links as links, no device nodes, the contents
of /dev, /proc, /sys, /run and /tmp left out, and no build-time files (kiwi's /image,
/.kconfig, /.profile, /.buildenv, package caches and the build's logs).
"""

from __future__ import annotations

from pathlib import Path

from kiwi_like import run as runner
from kiwi_like.create.container.layer import write_tar
from kiwi_like.create.steps import step
from kiwi_like.description import ResolvedBuild
from kiwi_like.description.imagetypes import settings_of
from kiwi_like.description.imagetypes.archive import ArchiveSettings
from kiwi_like.oci import tree
from kiwi_like.reproducible import source_date_epoch
from kiwi_like.result import Results
from kiwi_like.runtime_config import RuntimeConfig


def create(
    build: ResolvedBuild, root: Path, results: Results, scratch: Path, config: RuntimeConfig
) -> None:
    settings_of(build, ArchiveSettings)  # refuses a build of another type
    name = f"{build.result_basename}.tar.xz"
    plain = results.stage(name.removesuffix(".xz"))
    with plain.open("wb") as stream:
        write_tar(root, tree.scan(root), stream, source_date_epoch())
    with step("compressing the root tarball"):
        runner.run(["xz", *config.xz_options, "--force", plain])  # writes <name>, drops .tar
    results.publish_image("root_archive", name, config.checksum_algorithm)
