"""bench/run.py's figures and their formatting, from recorded kiwi-like.result.json metrics.

No timing is asserted here: the numbers are recorded ones, only their
aggregation (per stage, medians, memory) and presentation are checked.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_run", REPO / "bench/run.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module
    spec.loader.exec_module(module)
    return module


def step(name, stage, seconds, own=50_000, children=140_000, skipped=False):
    return {"name": name, "stage": stage, "seconds": seconds, "rss_self_kib": own,
            "rss_children_kib": children, "skipped": skipped}  # fmt: skip


# Shaped like the metrics of a real oem build (seconds rounded).
COLD = {
    "metrics": {
        "prepare": {
            "steps": [
                step("bootstrap", "bootstrap", 18.5, children=90_000),
                step("post_bootstrap.sh", "packages", 0.0),
                step("image packages", "packages", 17.5),
                step("root cache store", "packages", 6.2),
                step("locale, keytable, timezone", "config", 1.5),
                step("config.sh", "config", 0.4),
            ],
            "root_cache": {"key": "d892", "hit": False, "stored": True, "reason": ""},
            "package_cache": {"downloads": 151, "reused": 0},
        },
        "create": {
            "steps": [
                step("images.sh", "config", 0.0),
                step("initrd", "initrd", 5.3),
                step("GRUB images", "bootloader", 0.1),
                step("root file system", "filesystem", 2.2),
                step("disk assembly", "bootloader", 0.7),
                step("checksum", "results", 4.3, own=61_804),
                step("package metadata", "results", 1.2, own=61_804, children=145_736),
            ]
        },
        "memory": {"builder_peak_rss_kib": 61_804, "children_peak_rss_kib": 145_736},
    }
}
WARM = {
    "metrics": {
        "prepare": {
            "steps": [
                step("root cache restore", "packages", 4.3),
                step("bootstrap", "bootstrap", 0.0, skipped=True),
                step("image packages", "packages", 0.0, skipped=True),
                step("config.sh", "config", 0.4),
            ],
            "root_cache": {"key": "d892", "hit": True, "stored": False, "reason": ""},
            "package_cache": {"downloads": 0, "reused": 0},
        },
        "create": {"steps": [step("initrd", "initrd", 0.3), step("checksum", "results", 4.0)]},
        "memory": {"builder_peak_rss_kib": 60_000, "children_peak_rss_kib": 120_000},
    }
}


def test_stage_figures_group_steps_by_stage(bench):
    figures = bench.stage_figures(COLD)
    assert figures["stages"]["packages"] == pytest.approx(23.7)
    assert figures["stages"]["bootloader"] == pytest.approx(0.8)
    assert figures["stages"]["results"] == pytest.approx(5.5)
    assert figures["stages"]["compression"] == 0
    assert list(figures["stages"]) == list(bench.STAGES)
    assert figures["stage_rss_kib"]["bootstrap"] == 90_000
    assert figures["stage_rss_kib"]["results"] == 145_736
    assert figures["builder_peak_rss_kib"] == 61_804
    assert figures["root_cache_hit"] is False
    assert figures["package_cache"] == {"downloads": 151, "reused": 0}
    warm = bench.stage_figures(WARM)
    assert warm["root_cache_hit"] is True
    assert warm["skipped"] == ["bootstrap", "image packages"]


def test_medians_and_memory_maxima(bench):
    runs = []
    for wall, result in ((60.0, COLD), (50.0, COLD), (70.0, WARM)):
        figures = bench.stage_figures(result)
        figures["wall_seconds"] = wall
        runs.append(figures)
    median = bench.median_run(runs)
    assert median["wall_seconds"] == 60.0
    assert median["stages"]["packages"] == pytest.approx(23.7)
    assert median["builder_peak_rss_kib"] == 61_804
    assert median["runs"] == 3


def report(bench):
    scenarios = {}
    for name, result, wall in (("cold", COLD, 55.2), ("warm", WARM, 14.9)):
        figures = {**bench.stage_figures(result), "wall_seconds": wall}
        scenarios[name] = {"runs": [figures], "median": bench.median_run([figures])}
    return {
        "machine": {
            "uptime_before": "load average: 0.50, 0.40, 0.30",
            "uptime_after": "load average: 1.10, 0.70, 0.40",
            "cpus": 2,
        },
        "scenarios": scenarios,
    }


def test_table(bench):
    table = bench.format_table(report(bench)).splitlines()
    header = table[0].split()
    assert header == ["stage", "cold", "warm"]
    rows = {line.split()[0]: line.split()[1:] for line in table[2:10]}
    assert list(rows) == list(bench.STAGES)
    assert rows["packages"] == ["23.7", "s", "4.3", "s"]
    assert rows["initrd"] == ["5.3", "s", "0.3", "s"]
    total = next(line for line in table if line.startswith("total (wall)"))
    assert total.split()[2:] == ["55.2", "s", "14.9", "s"]
    builder = next(line for line in table if line.startswith("builder RSS"))
    assert builder.split()[2:] == ["60", "MB", "59", "MB"]
    assert any("load before: load average: 0.50, 0.40, 0.30" in line for line in table)
    assert any("medians of cold: 1, warm: 1 run(s)" in line for line in table)


def test_report_is_json(bench):
    data = json.loads(json.dumps(report(bench)))
    assert data["scenarios"]["cold"]["median"]["stages"]["bootstrap"] == 18.5


def test_kiwi_ratios_in_the_table(bench):
    data = report(bench)
    data["kiwi"] = {"wall_seconds": 184.0, "load_before": "x", "load_after": "y"}
    table = bench.format_table(data).splitlines()
    kiwi = next(line for line in table if line.startswith("kiwi (cold)"))
    assert kiwi.split()[2:] == ["184.0", "s"]
    ratios = next(line for line in table if line.startswith("ratio to kiwi"))
    assert ratios.split()[3:] == ["0.300", "0.081"]  # 55.2 / 184 and 14.9 / 184


def test_kiwi_variant_is_what_kiwi_can_build_here(bench, tmp_path, kiwi):
    variant = bench.kiwi_reference.kiwi_variant(
        REPO / "descriptions/debian/bookworm-jeos", tmp_path / "variant"
    )
    text = (variant / "config.xml").read_text()
    assert "host://" not in text and "<locale>" not in text
    original = (REPO / "descriptions/debian/bookworm-jeos/config.sh").read_text()
    # kiwi 11's baseStripDocs ends the script: the variant leaves it out, nothing else
    assert (variant / "config.sh").read_text() == original.replace(
        "\nbaseStripDocs\n", "\n: # baseStripDocs (kiwi 11: obsolete)\n"
    )
    assert "baseStripDocs\n" in original
    # both tools build the same variant: kiwi-like reads it as kiwi would build it
    for profile, expected in (("oem", "oem"), ("live", "iso")):
        shown = kiwi("--profile", profile, "image", "info", "--description", str(variant))
        assert shown.code == 0, shown.err
        assert f"Selected type {expected}," in shown.out + shown.err
    image = ET.parse(variant / "config.xml").getroot()
    types = {t.get("image"): t for t in image.iter("type")}
    oem = next(t for t in image.iter("type") if t.get("image") == "oem")
    assert oem.get("firmware") == "bios" and oem.get("initrd_system") == "dracut"
    assert [r.text for r in oem.iter("oem-resize")] == ["false"]
    assert types["iso"].get("flags") == "dmsquash" and types["iso"].get("firmware") == "bios"
    names = {p.get("name") for p in image.iter("package")}
    assert {"dracut", "grub-pc", "dracut-live", "dracut-network"} <= names
    assert not {"initramfs-tools", "live-boot"} & names
    sources = [(r.get("distribution"), s.get("path")) for r in image.iter("repository")
               for s in r.iter("source")]  # fmt: skip
    host = bench.kiwi_reference.host_repositories()
    assert sources == [(suite, uri) for uri, suite, _components, _key in host]


def test_the_matrix_report_compares_one_after_another_with_build_all(bench):
    report = {
        "profiles": ["oem", "docker"],
        "one_after_another": {"oem": 50.0, "docker": 70.5, "total": 120.5},
        "build_all": 90.375,
        "ratio": 0.75,
        "machine": {"uptime_before": "load average: 0.5", "uptime_after": "load average: 1.9"},
    }
    lines = bench.format_matrix(report).splitlines()
    assert lines[0].split() == ["oem", "alone", "50.0", "s"]
    assert lines[1].split() == ["docker", "alone", "70.5", "s"]
    assert lines[2].split() == ["one", "after", "another", "120.5", "s"]
    assert lines[3].split() == ["system", "build-all", "90.4", "s"]
    assert lines[4].split() == ["ratio", "0.75"]
    assert "0.5" in lines[5] and "1.9" in lines[5]
