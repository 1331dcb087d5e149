#!/usr/bin/env python3
"""`make bench`: how long the default Debian oem image takes to build, and how much memory.

Scenarios, in this order, each run --runs times (medians are reported):

  cold           empty caches: every package is downloaded
  warm-packages  package cache filled, root and initrd caches emptied
  warm           every cache filled (nothing changed since the last build)
  rebuild        only config.sh changed (a copy of the description with one line appended)

Wall time is measured here; the per-stage times and memory come from the
build's kiwi-like.result.json ("metrics"): steps grouped into the stages bootstrap,
packages, config, initrd, filesystem, bootloader, compression and results,
and peak resident memory (ru_maxrss) of the builder process itself vs the
largest program it ran. The load of the machine (/proc/loadavg) is recorded
before and after every build, because these figures mean little without it.

Each run uses a fresh cache directory below --work (never the shared cache),
so "cold" is really cold; the results and caches are removed afterwards
unless --keep is given.

--matrix oem,live,docker: instead of the scenarios, the build matrix (issue 19): those
profiles built one after another (`system build --profile P` each) against the same
profiles in one `system build-all`, both with the package cache filled by a first
build-all and the root and initrd caches emptied before each; prints both wall times and
their ratio.

--against-kiwi: first builds the description with upstream KIWI NG 11.1.6 (bench/kiwi_reference.py:
its own venv, a variant of the description that kiwi can build on this host, which
kiwi-like then builds too) and adds kiwi's time and the ratios to the table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script: kiwi_like and bench/kiwi.py from this tree
sys.path.insert(0, str(REPO / "bench"))

import kiwi_reference  # noqa: E402  (bench/kiwi_reference.py)

from kiwi_like.result import RESULT_FILE  # noqa: E402
from kiwi_like.timing import STAGES  # noqa: E402  (the stages kiwi-like.result.json reports)

SCENARIOS = ("cold", "warm-packages", "warm", "rebuild")
REBUILD_LINE = 'echo "bench rebuild $(date +%s)" >> /var/lib/jeos/build-id\n'


def stage_figures(result: dict[str, Any]) -> dict[str, Any]:
    """Seconds and memory high-water mark per stage, from a kiwi-like.result.json's metrics."""
    metrics = result.get("metrics", {})
    steps = [
        *metrics.get("prepare", {}).get("steps", []),
        *metrics.get("create", {}).get("steps", []),
    ]
    seconds = dict.fromkeys(STAGES, 0.0)
    memory = dict.fromkeys(STAGES, 0)
    for step in steps:
        stage = step.get("stage", "config")
        seconds[stage] = seconds.get(stage, 0.0) + float(step.get("seconds", 0.0))
        high = max(int(step.get("rss_self_kib", 0)), int(step.get("rss_children_kib", 0)))
        memory[stage] = max(memory.get(stage, 0), high)
    prepare = metrics.get("prepare", {})
    return {
        "stages": seconds,
        "stage_rss_kib": memory,
        "builder_peak_rss_kib": metrics.get("memory", {}).get("builder_peak_rss_kib", 0),
        "children_peak_rss_kib": metrics.get("memory", {}).get("children_peak_rss_kib", 0),
        "root_cache_hit": bool(prepare.get("root_cache", {}).get("hit")),
        "package_cache": prepare.get("package_cache", {}),
        "skipped": [s["name"] for s in steps if s.get("skipped")],
    }


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The medians of several runs of one scenario (memory: the maximum)."""
    return {
        "wall_seconds": statistics.median(r["wall_seconds"] for r in runs),
        "stages": {
            stage: statistics.median(r["stages"].get(stage, 0.0) for r in runs) for stage in STAGES
        },
        "stage_rss_kib": {
            stage: max(r["stage_rss_kib"].get(stage, 0) for r in runs) for stage in STAGES
        },
        "builder_peak_rss_kib": max(r["builder_peak_rss_kib"] for r in runs),
        "children_peak_rss_kib": max(r["children_peak_rss_kib"] for r in runs),
        "runs": len(runs),
    }


def format_table(report: dict[str, Any]) -> str:
    """Stages as rows, scenarios as columns: median seconds, then memory."""
    scenarios = [name for name in SCENARIOS if name in report["scenarios"]]
    medians = {name: report["scenarios"][name]["median"] for name in scenarios}
    width = max(12, *(len(name) + 2 for name in scenarios))
    header = "stage".ljust(14) + "".join(name.rjust(width) for name in scenarios)
    lines = [header, "-" * len(header)]
    for stage in STAGES:
        cells = "".join(f"{medians[n]['stages'][stage]:.1f} s".rjust(width) for n in scenarios)
        lines.append(stage.ljust(14) + cells)
    lines.append("-" * len(header))
    lines.append(
        "total (wall)".ljust(14)
        + "".join(f"{medians[n]['wall_seconds']:.1f} s".rjust(width) for n in scenarios)
    )
    for label, key in (
        ("builder RSS", "builder_peak_rss_kib"),
        ("children RSS", "children_peak_rss_kib"),
    ):
        lines.append(
            label.ljust(14)
            + "".join(f"{medians[n][key] / 1024:.0f} MB".rjust(width) for n in scenarios)
        )
    lines.append("")
    lines.append("memory high-water mark at the end of each stage (builder or child, MB)")
    for stage in STAGES:
        cells = "".join(
            f"{medians[n]['stage_rss_kib'][stage] / 1024:.0f}".rjust(width) for n in scenarios
        )
        lines.append(stage.ljust(14) + cells)
    kiwi = report.get("kiwi")
    if kiwi:
        lines.append("")
        lines.append("kiwi (cold)".ljust(14) + f"{kiwi['wall_seconds']:.1f} s".rjust(width))
        lines.append(
            "ratio to kiwi".ljust(14)
            + "".join(
                f"{medians[n]['wall_seconds'] / kiwi['wall_seconds']:.3f}".rjust(width)
                for n in scenarios
            )
        )
    runs = ", ".join(f"{n}: {medians[n]['runs']}" for n in scenarios)
    lines.append("")
    lines.append(f"medians of {runs} run(s); load before: {report['machine']['uptime_before']}")
    lines.append(f"{' ' * 27}load after:  {report['machine']['uptime_after']}")
    return "\n".join(lines)


def uptime() -> str:
    load = Path("/proc/loadavg").read_text().split()[:3]
    return "load average: " + ", ".join(load)


def build(
    kiwi: list[str], description: Path, profile: str, target: Path, cache: Path, log: Path
) -> dict[str, Any]:
    """One `system build`; its wall time, its metrics and the load around it."""
    argv = [
        *kiwi, "--profile", profile, "--logfile", str(log), "system", "build",
        "--description", str(description), "--target-dir", str(target),
        "--shared-cache-dir", str(cache),
    ]  # fmt: skip
    load_before = uptime()
    wall, usage = timed(argv, log)
    result = json.loads((target / RESULT_FILE).read_text())
    figures = stage_figures(result)
    figures.update(
        wall_seconds=wall,
        tree_peak_rss_kib=usage.ru_maxrss,
        load_before=load_before,
        load_after=uptime(),
    )
    return figures


def timed(argv: list[str], log: Path) -> tuple[float, resource.struct_rusage]:
    """Wall seconds and resource use of one kiwi-like command; exits the benchmark if it fails."""
    # Write back what earlier builds and their clean-up left (with `-o discard` the freed
    # blocks of a deleted root are discarded at the next journal commit), so that it is
    # not charged to this build.
    os.sync()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.monotonic()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = process.stderr.read() if process.stderr else b""
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.stderr.write(stderr.decode(errors="replace")[-3000:])
        raise SystemExit(f"bench: build failed, see {log}")
    return wall, usage


def run_matrix(args: argparse.Namespace) -> dict[str, Any]:
    """The profiles one after another against one `system build-all` (see --matrix)."""
    kiwi = [sys.executable, "-m", "kiwi_like"]
    profiles = [p for p in args.matrix.split(",") if p]
    work = Path(args.work).resolve() / "matrix"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cache = work / "cache"
    description = str(Path(args.description).resolve())
    selection = [option for profile in profiles for option in ("--profile", profile)]

    def build_all(name: str) -> float:
        argv = [
            *kiwi, "--logfile", str(work / f"{name}.log"), "system", "build-all",
            "--description", description, "--target-dir", str(work / name),
            "--shared-cache-dir", str(cache), *selection,
        ]  # fmt: skip
        return timed(argv, work / f"{name}.log")[0]

    def derived_caches_emptied() -> None:
        for derived in ("roots", "initrd"):
            shutil.rmtree(cache / derived, ignore_errors=True)

    report: dict[str, Any] = {
        "machine": {"uptime_before": uptime(), "cpus": os.cpu_count()},
        "description": description,
        "profiles": profiles,
    }
    print("bench: matrix: filling the package cache (build-all) ...", file=sys.stderr, flush=True)
    build_all("warm-up")
    shutil.rmtree(work / "warm-up", ignore_errors=True)
    derived_caches_emptied()
    one_by_one: dict[str, float] = {}
    for profile in profiles:
        log = work / f"single-{profile}.log"
        argv = [
            *kiwi, "--profile", profile, "--logfile", str(log), "system", "build",
            "--description", description, "--target-dir", str(work / "single" / profile),
            "--shared-cache-dir", str(cache),
        ]  # fmt: skip
        one_by_one[profile] = timed(argv, log)[0]
        print(f"bench: matrix: {profile} alone {one_by_one[profile]:.1f} s", file=sys.stderr)
    report["one_after_another"] = {**one_by_one, "total": sum(one_by_one.values())}
    report["load_between"] = uptime()
    derived_caches_emptied()
    report["build_all"] = build_all("build-all")
    report["ratio"] = report["build_all"] / report["one_after_another"]["total"]
    report["machine"]["uptime_after"] = uptime()
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return report


def format_matrix(report: dict[str, Any]) -> str:
    singles = report["one_after_another"]
    lines = [f"{profile} alone".ljust(26) + f"{singles[profile]:.1f} s".rjust(10)
             for profile in report["profiles"]]  # fmt: skip
    lines += [
        "one after another".ljust(26) + f"{singles['total']:.1f} s".rjust(10),
        "system build-all".ljust(26) + f"{report['build_all']:.1f} s".rjust(10),
        "ratio".ljust(26) + f"{report['ratio']:.2f}".rjust(10),
        f"load before: {report['machine']['uptime_before']}; "
        f"after: {report['machine']['uptime_after']}",
    ]
    return "\n".join(lines)


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    kiwi = [sys.executable, "-m", "kiwi_like"]
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    description = Path(args.description).resolve()
    wanted = [s for s in args.scenarios.split(",") if s]
    unknown = set(wanted) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"bench: unknown scenario(s): {', '.join(sorted(unknown))}")
    report: dict[str, Any] = {
        "machine": {"uptime_before": uptime(), "cpus": os.cpu_count()},
        "description": str(description),
        "profile": args.profile,
        "scenarios": {name: {"runs": []} for name in SCENARIOS if name in wanted},
    }
    if args.against_kiwi:
        # both tools build the variant kiwi can build here; kiwi first, cold
        description = kiwi_reference.kiwi_variant(description, work / "kiwi-description")
        report["description"] = f"{description} (kiwi variant of {args.description})"
        print("bench: kiwi-ng 11.1.6: cold ...", file=sys.stderr, flush=True)
        kiwi_dir = work / "kiwi"
        figures = kiwi_reference.kiwi_build(
            kiwi_reference.kiwi_binary(), description, args.profile, kiwi_dir / "target",
            kiwi_dir / "cache",
        )  # fmt: skip
        print(
            f"bench: kiwi-ng 11.1.6: cold {figures['wall_seconds']:.1f} s "
            f"({figures['load_after']})",
            file=sys.stderr,
            flush=True,
        )
        report["kiwi"] = figures
        if not args.keep:
            shutil.rmtree(kiwi_dir, ignore_errors=True)
    for number in range(1, args.runs + 1):
        run_dir = work / f"run-{number}"
        shutil.rmtree(run_dir, ignore_errors=True)
        cache = run_dir / "cache"
        cache.mkdir(parents=True)
        changed = run_dir / "description"
        shutil.copytree(description, changed, symlinks=True)
        with (changed / "config.sh").open("a") as script:
            script.write(REBUILD_LINE)
        for name in SCENARIOS:
            if name not in wanted:
                continue
            if name == "warm-packages":
                for derived in ("roots", "initrd"):
                    shutil.rmtree(cache / derived, ignore_errors=True)
            source = changed if name == "rebuild" else description
            target = run_dir / name
            print(f"bench: run {number}/{args.runs}: {name} ...", file=sys.stderr, flush=True)
            figures = build(kiwi, source, args.profile, target, cache, run_dir / f"{name}.log")
            print(
                f"bench: run {number}/{args.runs}: {name} {figures['wall_seconds']:.1f} s "
                f"({figures['load_after']})",
                file=sys.stderr,
                flush=True,
            )
            report["scenarios"][name]["runs"].append(figures)
            # Results stay until the run ends: deleting a root and a disk image right
            # before the next build (hard links into the cache, a discard on this
            # machine's file system) was charged to that build.
        if not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    for scenario in report["scenarios"].values():
        scenario["median"] = median_run(scenario["runs"])
    report["machine"]["uptime_after"] = uptime()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per scenario (default 3)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--description", default=str(REPO / "descriptions/debian/bookworm-jeos"))
    parser.add_argument("--profile", default="oem")
    parser.add_argument("--work", default=str(REPO / "build/bench"))
    parser.add_argument("--json", help="also write the report to this file")
    parser.add_argument("--keep", action="store_true", help="keep results and caches")
    parser.add_argument(
        "--against-kiwi",
        action="store_true",
        help="build the description with KIWI NG 11.1.6 first and print the ratios",
    )
    parser.add_argument(
        "--matrix",
        metavar="PROFILES",
        help="comma-separated profiles: one after another against one system build-all",
    )
    args = parser.parse_args(argv)
    report = run_matrix(args) if args.matrix else run_bench(args)
    text = json.dumps(report, indent=2, sort_keys=True)
    if args.json:
        Path(args.json).write_text(text + "\n")
    print(format_matrix(report) if args.matrix else format_table(report))
    print()
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
