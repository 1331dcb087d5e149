"""The layer writer and the tree difference on real directory trees (no package manager)."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

from kiwi_like.create.container.config import image_config
from kiwi_like.create.container.layer import write_layer_blob, write_tar
from kiwi_like.description.model import ContainerConfig
from kiwi_like.oci import tree


def make_root(root: Path) -> Path:
    (root / "etc/app").mkdir(parents=True)
    (root / "etc/app/a.conf").write_text("a\n")
    (root / "etc/app/b.conf").write_text("b\n")
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/tool").write_text("#!/bin/sh\n")
    (root / "usr/bin/tool").chmod(0o4755)
    (root / "usr/bin/alias").symlink_to("tool")
    for empty in ("dev", "proc", "tmp", "var/log/app", "var/lib/apt/lists", "image"):
        (root / empty).mkdir(parents=True, exist_ok=True)
    (root / "dev/fifo").parent.mkdir(exist_ok=True)
    os.mkfifo(root / "dev/fifo")
    os.mkfifo(root / "etc/app/pipe")
    (root / "var/log/app/run.log").write_text("log\n")
    (root / "var/lib/apt/lists/index").write_text("lists\n")
    (root / "image/kiwi-like.json").write_text("{}")
    return root


def listing(root: Path, **kwargs) -> list[tarfile.TarInfo]:
    stream = io.BytesIO()
    write_tar(root, list(tree.scan(root)), stream, **kwargs)
    stream.seek(0)
    with tarfile.open(fileobj=stream) as tar:
        return tar.getmembers()


def test_layer_leaves_out_caches_logs_devices_and_kiwi_metadata(tmp_path):
    members = {m.name: m for m in listing(make_root(tmp_path), epoch=None)}
    assert set(members) == {
        "dev", "proc", "tmp", "etc", "etc/app", "etc/app/a.conf", "etc/app/b.conf",
        "usr", "usr/bin", "usr/bin/alias", "usr/bin/tool",
        "var", "var/log", "var/log/app", "var/lib", "var/lib/apt", "var/lib/apt/lists",
    }  # fmt: skip
    assert members["usr/bin/tool"].mode == 0o4755
    assert members["usr/bin/alias"].issym() and members["usr/bin/alias"].linkname == "tool"
    assert {m.uname for m in members.values()} == {""}


def test_entries_are_sorted_and_mtimes_clamped(tmp_path):
    root = make_root(tmp_path)
    os.utime(root / "etc/app/a.conf", (100, 100))
    members = listing(root, epoch=1000)
    names = [m.name for m in members]
    assert names == sorted(names, key=lambda n: n.split("/"))
    by_name = {m.name: m for m in members}
    assert by_name["etc/app/a.conf"].mtime == 100  # older than the epoch: kept
    assert by_name["etc/app/b.conf"].mtime == 1000  # newer: clamped


def test_same_tree_same_blob(tmp_path):
    first = make_root(tmp_path / "one")
    second = make_root(tmp_path / "two")
    for root in (first, second):
        for path in [root, *root.rglob("*")]:
            os.utime(path, (5000, 5000), follow_symlinks=False)
    a = write_layer_blob(first, tree.scan(first), tmp_path / "blobs-a", epoch=4000)
    b = write_layer_blob(second, tree.scan(second), tmp_path / "blobs-b", epoch=4000)
    assert a.path.read_bytes() == b.path.read_bytes() and a.digest == b.digest
    assert a.digest != a.diff_id


def test_difference_has_changes_parents_and_topmost_whiteouts(tmp_path):
    root = make_root(tmp_path)
    base = {e.path: e for e in tree.scan(root, digests=True)}
    (root / "etc/app/a.conf").write_text("changed\n")
    (root / "etc/app/b.conf").unlink()
    for name in ("alias", "tool"):
        (root / "usr/bin" / name).unlink()
    (root / "usr/bin").rmdir()
    (root / "srv").mkdir()
    (root / "srv/new").write_text("new\n")
    change = tree.difference(base, list(tree.scan(root, digests=True)))
    assert [e.path for e in change.entries] == [
        "etc",
        "etc/app",
        "etc/app/a.conf",
        "srv",
        "srv/new",
        "usr",
    ]
    assert change.removed == ("etc/app/b.conf", "usr/bin")  # not usr/bin's contents one by one
    stream = io.BytesIO()
    write_tar(root, change.entries, stream, epoch=None, removed=change.removed)
    stream.seek(0)
    with tarfile.open(fileobj=stream) as tar:
        names = tar.getnames()
    assert names == ["etc", "etc/app", "etc/app/.wh.b.conf", "etc/app/a.conf", "srv", "srv/new",
                     "usr", "usr/.wh.bin"]  # fmt: skip


def test_mode_change_alone_is_a_difference(tmp_path):
    root = make_root(tmp_path)
    base = {e.path: e for e in tree.scan(root, digests=True)}
    (root / "etc/app/a.conf").chmod(0o600)
    os.utime(root / "etc/app/b.conf", (1, 1))  # a new mtime alone is not
    change = tree.difference(base, list(tree.scan(root, digests=True)))
    assert [e.path for e in change.entries] == ["etc", "etc/app", "etc/app/a.conf"]


def test_tree_snapshot_round_trip(tmp_path):
    root = make_root(tmp_path / "root")
    entries = list(tree.scan(root, digests=True))
    tree.save_tree(entries, tmp_path / "tree.json")
    assert tree.load_tree(tmp_path / "tree.json") == {e.path: e for e in entries}


def test_config_on_a_base_overrides_and_merges():
    base = {
        "config": {"Env": ["PATH=/bin", "A=1"], "Labels": {"base": "yes"}, "Cmd": ["/bin/sh"],
                   "ExposedPorts": {"22/tcp": {}}},
        "history": [{"created_by": "base"}],
    }  # fmt: skip
    ours = ContainerConfig(entrypoint=("/app",), environment={"A": "2", "B": "3"},
                           labels={"ours": "yes"}, expose_ports=("80",))  # fmt: skip
    config = image_config(ours, "aarch64", ["sha256:a", "sha256:b"], "2024-01-01T00:00:00Z",
                          ["/bin/bash"], base)  # fmt: skip
    runtime = config["config"]
    assert runtime["Env"] == ["PATH=/bin", "A=2", "B=3"]
    assert runtime["Labels"] == {"base": "yes", "ours": "yes"}
    assert runtime["Entrypoint"] == ["/app"] and "Cmd" not in runtime  # a new entrypoint resets it
    assert runtime["ExposedPorts"] == {"22/tcp": {}, "80/tcp": {}}
    assert config["architecture"] == "arm64"
    assert [h["created_by"] for h in config["history"]] == ["base", "kiwi-like 0.1.0"]


def test_config_defaults_without_containerconfig():
    config = image_config(None, "x86_64", ["sha256:a"], "2024-01-01T00:00:00Z", ["/bin/sh"])
    assert config["config"] == {
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "Cmd": ["/bin/sh"],
    }
    cleared = image_config(
        ContainerConfig(entrypoint=(), subcommand=()), "x86_64", [], "x", ["/bin/sh"]
    )
    assert "Entrypoint" not in cleared["config"] and "Cmd" not in cleared["config"]
