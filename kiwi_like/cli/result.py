"""`result list` and `result bundle`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiwi_like.cli.command import Command
from kiwi_like.cli.options import runtime_config
from kiwi_like.result import read_results
from kiwi_like.result.bundle import BundleOptions, bundle

RESULT_OPTIONS = "[--config=<configfile>] [--debug] [--color-output] [--logfile=<filename>]"

LIST_USAGE = f"""usage: kiwi-ng result list -h | --help
       kiwi-ng result list --target-dir=<directory>
           {RESULT_OPTIONS}

options:
  --target-dir=<directory>       the target directory of a build
"""

BUNDLE_USAGE = f"""usage: kiwi-ng result bundle -h | --help
       kiwi-ng result bundle --target-dir=<directory> --id=<bundle_id> --bundle-dir=<directory>
           [--bundle-format=<format>] [--zsync-source=<download_location>]
           [--package-as-rpm] [--no-compress]
           {RESULT_OPTIONS}

options:
  --target-dir=<directory>       the target directory of a build
  --id=<bundle_id>               put this id into the file names (e.g. Build1.1)
  --bundle-dir=<directory>       where the bundled files go
  --bundle-format=<format>       name the files by this pattern (%N %P %A %T %M %m %p %v %I)
                                 instead of the type's bundle_format
  --zsync-source=<location>      write a zsync control file for each image, downloaded from
                                 this location (needs zsyncmake)
  --package-as-rpm               pack the bundle into a noarch rpm (needs rpmbuild)
  --no-compress                  do not xz-compress the images
"""


def run_list(args: dict[str, Any]) -> int:
    target_dir = Path(args["--target-dir"])
    build, files = read_results(target_dir)
    print(f"{build.get('name')} {build.get('version')} ({build.get('image')}, {build.get('arch')})")
    for result in files:
        print(f"  {result.kind:<18} {target_dir / result.filename}")
    return 0


def run_bundle(args: dict[str, Any]) -> int:
    config = runtime_config(args)
    options = BundleOptions(
        bundle_id=args["--id"],
        compress=not args.get("--no-compress"),
        bundle_format=args.get("--bundle-format"),
        zsync_source=args.get("--zsync-source"),
        package_as_rpm=bool(args.get("--package-as-rpm")),
        xz_options=config.xz_options,
        checksum_algorithm=config.bundle_checksum_algorithm or config.checksum_algorithm,
    )
    bundle(Path(args["--target-dir"]), Path(args["--bundle-dir"]), options)
    return 0


LIST = Command(usage=LIST_USAGE, run=run_list)
BUNDLE = Command(usage=BUNDLE_USAGE, run=run_bundle)
