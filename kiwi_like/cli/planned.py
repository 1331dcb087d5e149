"""Grammar of the commands whose implementation is still to come.

The grammar is complete so that kiwi-ng invocations parse today; running one
says plainly that the command is not available yet.
"""

from __future__ import annotations

from typing import Any

from kiwi_like.cli.command import Command
from kiwi_like.cli.options import GLOBAL_USAGE, OVERRIDE_USAGE
from kiwi_like.errors import KiwiLikeError


def _planned(name: str, usage: str) -> Command:
    def run(args: dict[str, Any]) -> int:
        raise KiwiLikeError(f"'{name}' is not implemented yet in this version of kiwi-like")

    return Command(usage=usage, run=run)


SYSTEM_BUILD = _planned(
    "system build",
    f"""usage: kiwi-ng system build -h | --help
       kiwi-ng system build --description=<directory> --target-dir=<directory>
           [--allow-existing-root] [--clear-cache]
{OVERRIDE_USAGE}
{GLOBAL_USAGE}
""",
)

SYSTEM_CREATE = _planned(
    "system create",
    f"""usage: kiwi-ng system create -h | --help
       kiwi-ng system create --root=<directory> --target-dir=<directory>
{GLOBAL_USAGE}
""",
)

RESULT_LIST = _planned(
    "result list",
    """usage: kiwi-ng result list -h | --help
       kiwi-ng result list --target-dir=<directory>
           [--config=<configfile>] [--debug] [--color-output] [--logfile=<filename>]
""",
)

RESULT_BUNDLE = _planned(
    "result bundle",
    """usage: kiwi-ng result bundle -h | --help
       kiwi-ng result bundle --target-dir=<directory> --id=<bundle_id> --bundle-dir=<directory>
           [--zsync-source=<download_location>] [--package-as-rpm]
           [--config=<configfile>] [--debug] [--color-output] [--logfile=<filename>]
""",
)
