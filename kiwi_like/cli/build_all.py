"""`system build-all`: every profile × type of a description in one command (a kiwi-like
extension; kiwi-ng has no such command).

Each selection is built as `system build --profile P --type T` would build it, into
`<target-dir>/<profile>-<type>/` (its root in `build/image-root`, its log beside it),
by two child commands: `system prepare`, then `system create`. Prepares run one at a
time, because they share the package cache (apt holds a lock on its archive directory
while it installs); selections whose packages are the same are prepared in a row, so
the first one's root, stored in the root cache, is restored by the others instead of
installed again. Creates run side by side with each other and with the next prepare,
as many programs at once as --jobs (default: the number of CPUs). The summary is
printed as a table and written to `<target-dir>/build-all.json`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

from kiwi_like.cli import options as cli
from kiwi_like.cli.command import Command
from kiwi_like.cli.jobs import Job, Jobs, Outcome
from kiwi_like.cli.system_create import REPRODUCIBLE_HELP
from kiwi_like.cli.system_prepare import clear_caches
from kiwi_like.create import matrix
from kiwi_like.create.pipeline import builder_for
from kiwi_like.errors import CommandLineError, KiwiLikeError
from kiwi_like.log import add_logfile, log
from kiwi_like.prepare.pipeline import load_prepare_metrics
from kiwi_like.result import KIWI_RESULT, KIWI_RESULT_JSON, RESULT_FILE, read_results

SUMMARY = "build-all.json"
LOG = "build-all.log"
LOGS = "logs"  # one log per selection
ROOT = Path("build/image-root")
RECORDS = (RESULT_FILE, KIWI_RESULT, KIWI_RESULT_JSON)  # what says a build is finished

_HIDDEN = ("  --profile=", "  --type=")
_GLOBAL_HELP = "\n".join(
    line
    for line in cli.GLOBAL_HELP.splitlines()
    if not line.startswith(_HIDDEN) and "(default: the primary one)" not in line
)

USAGE = f"""usage: kiwi-ng system build-all -h | --help
       kiwi-ng system build-all --description=<directory> --target-dir=<directory>
           [--jobs=<number>] [--reproducible]
{cli.PREPARE_USAGE.replace("[--type=<build_type>]", "[--type=<build_type>...]")}

Builds every profile × image type of the description (a kiwi-like extension), each
as 'system build --profile <profile> --type <type>' would, into
<target-dir>/<profile>-<type>/; a summary goes to <target-dir>/{SUMMARY}.

options:
  --description=<directory>      the image description directory
  --target-dir=<directory>       where the selections' directories, the summary and,
                                 without --logfile, the log {LOG} go
  --jobs=<number>                programs running at once (default: the number of CPUs)
  --profile=<name>               build only these profiles (repeatable)
  --type=<build_type>            build only these image types (repeatable)
  --allow-existing-root          reuse existing root directories
  --clear-cache                  empty the shared caches first
{REPRODUCIBLE_HELP}
{cli.OVERRIDE_HELP}
{cli.BUILD_HELP}
{_GLOBAL_HELP}
"""

# what each child gets as given: options with a value, repeatable ones, flags
_PREPARE_VALUES = (
    "--kiwi-file", "--target-arch", "--set-repo", "--set-repo-credentials",
    "--set-release-version", "--set-container-tag", "--set-container-derived-from",
    "--ca-target-distribution",
)  # fmt: skip
_PREPARE_LISTS = (
    "--add-repo", "--add-repo-credentials", "--add-package", "--add-bootstrap-package",
    "--delete-package", "--set-type-attr", "--add-container-label",
)  # fmt: skip
_PREPARE_FLAGS = ("--ignore-repos", "--ignore-repos-used-for-build", "--allow-existing-root")
_PATHS = ("--config", "--shared-cache-dir", "--temp-dir")  # both children, made absolute
_FILES = ("--signing-key", "--ca-cert")  # prepare, made absolute


def _jobs(args: dict[str, Any]) -> int:
    value = args.get("--jobs")
    if value is None:
        return len(os.sched_getaffinity(0)) or 1
    if not value.isdigit() or int(value) < 1:
        raise CommandLineError(f"--jobs: expected a number of at least 1, not '{value}'")
    return int(value)


def _common(args: dict[str, Any], log_file: Path) -> list[str]:
    argv = [sys.executable, "-m", "kiwi_like", "--loglevel", "30", "--logfile", str(log_file)]
    for option in _PATHS:
        if args.get(option):
            argv += [option, str(Path(args[option]).absolute())]
    for assignment in args.get("--setenv") or []:
        argv += ["--setenv", assignment]
    return argv + (["--debug"] if args.get("--debug") else [])


def _prepare_argv(args: dict[str, Any], planned: matrix.Planned, directory: Path) -> list[str]:
    selection = planned.selection
    argv = [
        *_common(args, _log(directory)),
        "system", "prepare",
        "--description", str(Path(args["--description"]).absolute()),
        "--root", str(directory / ROOT),
        "--type", selection.image,
    ]  # fmt: skip
    argv += ["--profile", selection.profile] if selection.profile else []
    for option in _PREPARE_VALUES:
        if args.get(option):
            argv += [option, args[option]]
    for option in (*_PREPARE_LISTS, *_FILES):
        for value in args.get(option) or []:
            argv += [option, str(Path(value).absolute()) if option in _FILES else value]
    return argv + [option for option in _PREPARE_FLAGS if args.get(option)]


def _log(directory: Path) -> Path:
    """A selection's log (not in its build directory, where `system create` refuses it)."""
    return directory.parent / LOGS / f"{directory.name}.log"


def _create_argv(args: dict[str, Any], directory: Path) -> list[str]:
    common = _common(args, _log(directory))
    reproducible = ["--reproducible"] if args.get("--reproducible") else []
    return [*common, "system", "create", "--root", str(directory / ROOT),
            "--target-dir", str(directory), *reproducible]  # fmt: skip


def run_build_all(args: dict[str, Any]) -> int:
    target_dir = Path(args["--target-dir"]).resolve()
    slots = _jobs(args)
    config = cli.runtime_config(args)
    options = cli.build_options({**args, "--profile": [], "--type": None})
    plan = matrix.plan(
        args["--description"],
        options,
        config,
        args.get("--kiwi-file"),
        profiles=args.get("--profile") or [],
        types=args.get("--type") or [],
    )
    for planned in plan:  # what `system build` refuses before its prepare
        try:
            cli.check_buildable(planned.build)
            builder_for(planned.build)
        except KiwiLikeError as error:
            raise KiwiLikeError(f"{planned.selection.name}: {error}") from None
    target_dir.mkdir(parents=True, exist_ok=True)
    if not args.get("--logfile"):
        add_logfile(target_dir / LOG)
    clear_caches(args, config)
    log.info(
        "Build all: %d selections, %d package roots, %d programs at once: %s",
        len(plan),
        len({p.group for p in plan}),
        slots,
        ", ".join(p.selection.name for p in plan),
    )
    board = _Board(plan, target_dir)
    started = time.monotonic()
    try:
        _schedule(args, plan, target_dir, slots, board)
    finally:
        board.write(time.monotonic() - started)
        print(board.table(), flush=True)
    failed = [row for row in board.rows.values() if row["status"] != "ok"]
    if failed:
        names = ", ".join(row["name"] for row in failed)
        raise KiwiLikeError(
            f"{len(failed)} of {len(plan)} selections failed: {names} (see {target_dir / SUMMARY})"
        )
    return 0


def _schedule(
    args: dict[str, Any], plan: list[matrix.Planned], target_dir: Path, slots: int, board: _Board
) -> None:
    """Prepares one after the other, creates beside them, at most `slots` at once."""
    prepares = deque(plan)
    creates: deque[matrix.Planned] = deque()
    by_name = {p.selection.name: p for p in plan}
    jobs = Jobs()
    try:
        while prepares or creates or jobs.running:
            while len(jobs.running) < slots:
                preparing = any(job.step == "prepare" for job in jobs.running)
                if prepares and not preparing:
                    planned = prepares.popleft()
                    directory = target_dir / planned.selection.name
                    (target_dir / LOGS).mkdir(exist_ok=True)
                    for name in RECORDS:  # a failed prepare must not leave an old build's
                        (directory / name).unlink(missing_ok=True)
                    argv = _prepare_argv(args, planned, directory)
                    jobs.start(Job(planned.selection.name, "prepare", tuple(argv)))
                elif creates:
                    planned = creates.popleft()
                    argv = _create_argv(args, target_dir / planned.selection.name)
                    jobs.start(Job(planned.selection.name, "create", tuple(argv)))
                else:
                    break
                board.started(planned.selection.name, jobs.running[-1].step)
            outcome = jobs.wait()
            board.ended(outcome)
            if outcome.job.step == "prepare" and outcome.returncode == 0:
                creates.append(by_name[outcome.job.name])
    except BaseException:  # Ctrl-C, SIGTERM or a failure here: no child keeps running
        log.warning("Build all: stopping %d running programs", len(jobs.running))
        for outcome in jobs.stop():
            board.ended(outcome, interrupted=True)
        raise


class _Board:
    """Where each selection stands; the summary file and table."""

    def __init__(self, plan: list[matrix.Planned], target_dir: Path) -> None:
        self.target_dir = target_dir
        leaders: dict[str, str] = {}
        self.rows: dict[str, dict[str, Any]] = {}
        for planned in plan:
            name = planned.selection.name
            leader = leaders.setdefault(planned.group, name)
            self.rows[name] = {
                "name": name,
                "profile": planned.selection.profile,
                "profiles": list(planned.build.profiles),
                "type": planned.selection.image,
                "target_dir": str(target_dir / name),
                "packages_from": None if leader == name else leader,
                "status": "pending",
                "seconds": {},
                "error": None,
                "results": [],
            }

    def started(self, name: str, step: str) -> None:
        self.rows[name]["status"] = step
        log.info("Build all: %s: %s started", name, step)

    def ended(self, outcome: Outcome, interrupted: bool = False) -> None:
        row = self.rows[outcome.job.name]
        step = outcome.job.step
        row["seconds"][step] = round(outcome.seconds, 1)
        if interrupted:
            row["status"], row["error"] = "interrupted", f"{step} interrupted"
        elif outcome.returncode != 0:
            error = outcome.error or f"exit code {outcome.returncode}"
            row["status"], row["error"] = "failed", f"{step}: {error}"
            log.error("Build all: %s: %s failed: %s", row["name"], step, error)
        elif step == "create":
            row["status"], row["results"] = self._results(Path(row["target_dir"]))
        if step == "prepare":  # did the root cache give it its packages?
            cache = load_prepare_metrics(Path(row["target_dir"]) / ROOT).get("root_cache", {})
            row["root_cache"] = "hit" if cache.get("hit") else "miss"
        log.info("Build all: %s: %s ended after %.1fs", row["name"], step, outcome.seconds)

    @staticmethod
    def _results(directory: Path) -> tuple[str, list[str]]:
        """ok only with the result file of a finished build."""
        try:
            _build, files = read_results(directory)
        except KiwiLikeError:
            return "failed", []
        return "ok", sorted(Path(f.filename).name for f in files)

    def write(self, wall: float) -> None:
        for row in self.rows.values():
            if row["status"] in ("pending", "prepare", "create"):
                row["status"], row["error"] = "not built", row["error"] or "not started"
        summary = {"wall_seconds": round(wall, 1), "selections": list(self.rows.values())}
        temporary = self.target_dir / f".{SUMMARY}.tmp"
        temporary.write_text(json.dumps(summary, indent=2) + "\n")
        temporary.replace(self.target_dir / SUMMARY)
        self.wall = wall

    def table(self) -> str:
        header = ("selection", "status", "prepare", "create", "note")
        lines = [header]
        for row in self.rows.values():
            seconds = row["seconds"]
            note = row["error"] or (
                f"packages from {row['packages_from']} (root cache {row.get('root_cache')})"
                if row["packages_from"]
                else ""
            )
            lines.append(
                (
                    row["name"],
                    row["status"],
                    f"{seconds['prepare']:.0f}s" if "prepare" in seconds else "-",
                    f"{seconds['create']:.0f}s" if "create" in seconds else "-",
                    note,
                )
            )
        widths = [max(len(line[i]) for line in lines) for i in range(4)]
        text = [
            "  ".join(cell.ljust(width) for cell, width in zip(line[:4], widths, strict=True))
            + "  "
            + line[4]
            for line in lines
        ]
        done = sum(row["status"] == "ok" for row in self.rows.values())
        text.append(f"{done} of {len(self.rows)} built in {self.wall:.0f}s: {self.target_dir}")
        return "\n".join(line.rstrip() for line in text)


BUILD_ALL = Command(usage=USAGE, run=run_build_all)
