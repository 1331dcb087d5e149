"""The root cache, end to end with a local signed apt repository (offline, seconds).

A second prepare whose packages and repositories did not change copies the root
cached after the package steps and reruns only the customization; a changed
package list or repository content misses it.
"""

from __future__ import annotations

import io
import json
import os
import stat
import tarfile
import threading
from pathlib import Path

import pytest

from kiwi_like.prepare.pipeline import STATE_FILE
from kiwi_like.prepare.rootcache import ENTRY, RootCache
from kiwi_like.result import RESULT_FILE
from tests import descriptions
from tests.debrepo import DebPackage, DebRepo, build_repo, busybox_package
from tests.descriptions import CUSTOM_BOOTSTRAP, Image, Repository

CONFIG_SH = '#!/bin/sh\nset -e\necho "{text}" > /etc/config-sh-ran\n'


def packages(version: str = "1.0") -> list[DebPackage]:
    return [
        DebPackage("test-base", version=version, files={"/usr/share/test-base/v": version}),
        DebPackage("test-app", depends=("test-base",), files={"/usr/bin/test-app": "app\n"}),
        DebPackage("test-extra", files={"/usr/share/test-extra/f": "extra\n"}),
        busybox_package(),
    ]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> DebRepo:
    return build_repo(tmp_path_factory.mktemp("cache-repo") / "repo", packages())


def write_description(directory: Path, repo: DebRepo, text: str = "first") -> Path:
    key, checks = (repo.key, {}) if repo.signed else (None, {"repository_gpgcheck": "false"})
    image = Image(
        name="Cache-Test",
        specification="root cache",
        repositories=[Repository(f"dir://{repo.path}", alias="local", key=key, attributes=checks)],
        packages={"bootstrap": ["test-busybox"], "image": ["test-app"]},
    )
    files = {"config.sh": CONFIG_SH.format(text=text), "runtime.yml": CUSTOM_BOOTSTRAP}
    return descriptions.write_description(directory, image, files)


def prepare(kiwi, description: Path, root: Path, cache: Path, *extra: str):
    done = kiwi(
        "system", "prepare", "--description", str(description), "--root", str(root),
        "--shared-cache-dir", str(cache), "--config", str(description / "runtime.yml"), *extra,
    )  # fmt: skip
    assert done.code == 0, done.err
    return json.loads((root / STATE_FILE).read_text())["prepare"]


def steps(metrics: dict) -> dict[str, dict]:
    return {step["name"]: step for step in metrics["steps"]}


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path of a tree with its type, mode, owner and content or link target."""
    tree = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory, name)
            relative = str(path.relative_to(root))
            if relative == STATE_FILE:
                continue  # holds this prepare's own metrics
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                content: object = os.readlink(path)
            elif stat.S_ISREG(info.st_mode):
                content = path.read_bytes()
            else:
                content = None
            tree[relative] = (stat.S_IFMT(info.st_mode), info.st_mode & 0o7777, info.st_uid,
                              info.st_gid, content)  # fmt: skip
    return tree


def test_unchanged_packages_reuse_the_cached_root(kiwi, repo, tmp_path):
    description = write_description(tmp_path / "description", repo)
    cache = tmp_path / "cache"
    first = prepare(kiwi, description, tmp_path / "root1", cache)
    assert first["root_cache"]["hit"] is False and first["root_cache"]["stored"] is True
    assert not steps(first)["image packages"]["skipped"]
    assert first["package_cache"]["downloads"] > 0
    assert len(RootCache(cache, 1).entries()) == 1

    second = prepare(kiwi, description, tmp_path / "root2", cache)
    assert second["root_cache"] == {**first["root_cache"], "hit": True, "stored": False}
    for name in ("bootstrap", "image packages"):
        assert steps(second)[name]["skipped"] is True
        assert steps(second)[name]["seconds"] == 0
    assert not steps(second)["config.sh"]["skipped"]
    assert second["package_cache"] == {"downloads": 0, "reused": 0}
    assert snapshot(tmp_path / "root2") == snapshot(tmp_path / "root1")
    # the cached root itself stays as it was stored: no build-time files, no config.sh output
    cached = RootCache(cache, 1).entries()[0] / "root"
    assert (cached / "usr/bin/test-app").is_file()
    assert not (cached / "etc/config-sh-ran").exists()
    assert not (cached / ".profile").exists()


def test_changed_config_sh_reruns_only_the_customization(kiwi, repo, tmp_path):
    description = write_description(tmp_path / "description", repo, "first")
    cache = tmp_path / "cache"
    prepare(kiwi, description, tmp_path / "root1", cache)
    (description / "config.sh").write_text(CONFIG_SH.format(text="second"))
    again = prepare(kiwi, description, tmp_path / "root2", cache)
    assert again["root_cache"]["hit"] is True
    assert (tmp_path / "root2/etc/config-sh-ran").read_text() == "second\n"
    assert (tmp_path / "root1/etc/config-sh-ran").read_text() == "first\n"


def test_changed_package_list_misses(kiwi, repo, tmp_path):
    description = write_description(tmp_path / "description", repo)
    cache = tmp_path / "cache"
    first = prepare(kiwi, description, tmp_path / "root1", cache)
    more = prepare(kiwi, description, tmp_path / "root2", cache, "--add-package", "test-extra")
    assert more["root_cache"]["hit"] is False
    assert more["root_cache"]["key"] != first["root_cache"]["key"]
    assert (tmp_path / "root2/usr/share/test-extra/f").is_file()
    assert len(RootCache(cache, 1).entries()) == 2


def test_new_package_version_in_the_repository_misses(kiwi, tmp_path):
    # unsigned, so that rebuilding it changes the metadata and nothing else (no new key)
    own = build_repo(tmp_path / "repo", packages("1.0"), sign=False)
    description = write_description(tmp_path / "description", own)
    cache = tmp_path / "cache"
    first = prepare(kiwi, description, tmp_path / "root1", cache)
    assert (tmp_path / "root1/usr/share/test-base/v").read_text() == "1.0"
    # the same package names, a new version: only the repository metadata differs
    for deb in own.path.glob("test-base_*.deb"):
        deb.unlink()
    build_repo(tmp_path / "repo", packages("2.0"), sign=False)
    second = prepare(kiwi, description, tmp_path / "root2", cache)
    assert second["root_cache"]["hit"] is False
    assert second["root_cache"]["key"] != first["root_cache"]["key"]
    assert (tmp_path / "root2/usr/share/test-base/v").read_text() == "2.0"


def test_clear_cache_empties_the_root_cache(kiwi, repo, tmp_path):
    description = write_description(tmp_path / "description", repo)
    cache = tmp_path / "cache"
    prepare(kiwi, description, tmp_path / "root1", cache)
    old = RootCache(cache, 1).entries()
    marker = old[0] / "stale-marker"
    marker.write_text("from before the clear\n")
    cleared = prepare(kiwi, description, tmp_path / "root2", cache, "--clear-cache")
    assert cleared["root_cache"]["hit"] is False and cleared["root_cache"]["stored"] is True
    assert not marker.exists()
    assert len(RootCache(cache, 1).entries()) == 1


def test_root_cache_size_zero_turns_it_off(kiwi, repo, tmp_path):
    description = write_description(tmp_path / "description", repo)
    (description / "runtime.yml").write_text(
        "apt:\n  bootstrap_variant: custom\ncache:\n  root_cache_size: 0\n"
    )
    metrics = prepare(kiwi, description, tmp_path / "root", tmp_path / "cache")
    assert metrics["root_cache"] == {
        "key": None, "hit": False, "stored": False, "reason": "not cacheable"
    }  # fmt: skip
    assert not (tmp_path / "cache/roots").exists()


def tree_of(path: Path, megabytes: int) -> Path:
    path.mkdir(parents=True)
    (path / "data").write_bytes(os.urandom(megabytes << 20))
    (path / "link").symlink_to("data")
    return path


def test_size_limit_evicts_the_least_recently_used(tmp_path):
    cache = RootCache(tmp_path / "cache", size_limit=5 << 20)  # room for two 2 MiB roots
    for key in ("a", "b"):
        assert cache.store(key, tree_of(tmp_path / key, 2))
    # "a" was used last, so "b" goes when "c" comes
    os.utime(cache.directory / "b" / ENTRY, (1, 1))
    restored = tmp_path / "restored"
    assert cache.restore("a", restored)
    assert (restored / "data").read_bytes() == (tmp_path / "a/data").read_bytes()
    assert os.readlink(restored / "link") == "data"
    assert cache.store("c", tree_of(tmp_path / "c", 2))
    assert [entry.name for entry in cache.entries()] == ["a", "c"]
    assert not cache.restore("b", tmp_path / "nothing")
    # a root larger than the whole cache is not stored, and evicts nothing
    assert not cache.store("huge", tree_of(tmp_path / "huge", 6))
    assert [entry.name for entry in cache.entries()] == ["a", "c"]
    assert not [p for p in cache.directory.iterdir() if p.name.startswith(".tmp-")]


def test_stage_timings_and_memory_in_the_result_file(kiwi, repo, tmp_path):
    description = write_description(tmp_path / "description", repo)
    cache = tmp_path / "cache"
    for target in ("first", "second"):
        done = kiwi(
            "system", "build", "--description", str(description),
            "--target-dir", str(tmp_path / target), "--shared-cache-dir", str(cache),
            "--config", str(description / "runtime.yml"),
        )  # fmt: skip
        assert done.code == 0, done.err
    results = {
        target: json.loads((tmp_path / target / RESULT_FILE).read_text())["metrics"]
        for target in ("first", "second")
    }
    first, second = results["first"], results["second"]
    prepared = steps(first["prepare"])
    assert prepared["bootstrap"]["stage"] == "bootstrap"
    assert prepared["image packages"]["stage"] == "packages"
    assert prepared["root cache store"]["stage"] == "packages"
    assert prepared["config.sh"]["stage"] == "config"
    assert all(step["seconds"] >= 0 and not step["skipped"] for step in prepared.values())
    created = steps(first["create"])
    assert created["images.sh"]["stage"] == "config"
    assert created["package metadata"]["stage"] == "results"
    assert created["checksum"]["stage"] == "results"  # the wait for the image's checksum
    assert first["prepare"]["root_cache"]["hit"] is False
    assert second["prepare"]["root_cache"]["hit"] is True
    assert steps(second["prepare"])["image packages"]["skipped"] is True
    for metrics in (first, second):
        memory = metrics["memory"]
        assert memory["builder_peak_rss_kib"] > 0 and memory["children_peak_rss_kib"] > 0
        for step in [*metrics["prepare"]["steps"], *metrics["create"]["steps"]]:
            assert step["rss_self_kib"] > 0


def test_concurrent_stores_of_one_key_leave_one_entry(tmp_path):
    cache = RootCache(tmp_path / "cache", size_limit=1 << 30)
    tree = tree_of(tmp_path / "tree", 1)
    outcomes: list[bool] = []
    threads = [
        threading.Thread(target=lambda: outcomes.append(cache.store("same", tree)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == [True] * 4
    assert [entry.name for entry in cache.entries()] == ["same"]
    assert sorted(p.name for p in cache.directory.iterdir()) == [".lock", "same"]
    assert (cache.directory / "same/root/data").read_bytes() == (tree / "data").read_bytes()


def test_kernel_modules_are_shared_by_hard_links_and_guarded(tmp_path):
    cache = RootCache(tmp_path / "cache", size_limit=1 << 30)
    tree = tree_of(tmp_path / "tree", 1)
    module = tree / "usr/lib/modules/6.1/kernel/virtio_blk.ko"
    module.parent.mkdir(parents=True)
    module.write_bytes(b"\x7fELF module")
    (tree / "etc").mkdir()
    (tree / "etc/auth.conf").write_text("password\n")
    assert cache.store("k", tree, private=("etc/auth.conf",))
    entry = cache.directory / "k/root"
    assert not (entry / "etc/auth.conf").exists()  # secrets stay out of the cache
    assert (entry / "etc").is_dir()

    first = tmp_path / "first"
    assert cache.restore("k", first)
    restored_module = first / "usr/lib/modules/6.1/kernel/virtio_blk.ko"
    assert restored_module.read_bytes() == b"\x7fELF module"
    assert restored_module.stat().st_ino == (entry / module.relative_to(tree)).stat().st_ino
    assert (first / "data").stat().st_ino != (entry / "data").stat().st_ino  # copied
    # replacing or deleting a linked file leaves the cache as it was
    restored_module.unlink()
    restored_module.write_bytes(b"rebuilt")
    assert cache.restore("k", tmp_path / "second")
    second_module = tmp_path / "second/usr/lib/modules/6.1/kernel/virtio_blk.ko"
    assert second_module.read_bytes() == b"\x7fELF module"
    # writing into one through its link changes the cached file: the entry is discarded
    with second_module.open("ab") as stream:
        stream.write(b" patched")
    third = tmp_path / "third"
    assert not cache.restore("k", third)
    assert cache.entries() == []
    assert list(third.iterdir()) == []  # copied while the entry was checked: removed again


def test_a_restored_root_is_the_stored_one(tmp_path):
    """Linked trees are not walked again by the copy of the rest: the root directory's own
    mode, owner and times, top-level links, the files copied out of a linked tree and
    the nested linked tree all come back as stored."""
    cache = RootCache(tmp_path / "cache", size_limit=1 << 30)
    tree = tree_of(tmp_path / "tree", 1)
    for relative, text in {
        "usr/bin/tool": "#!/bin/sh\n",
        "usr/lib/locale/locale-archive": "locales\n",
        "var/lib/apt/lists/deb_Packages": "Package: x\n",
        "var/lib/dpkg/status": "Package: x\n",
        "etc/hostname": "cached\n",
    }.items():
        (tree / relative).parent.mkdir(parents=True, exist_ok=True)
        (tree / relative).write_text(text)
    (tree / "bin").symlink_to("usr/bin")
    os.chown(tree / "etc/hostname", 1000, 100)
    tree.chmod(0o750)
    os.utime(tree, (1_000_000, 2_000_000))
    assert cache.store("k", tree)
    entry = cache.directory / "k/root"
    restored = tmp_path / "restored"
    assert cache.restore("k", restored)
    assert strict_snapshot(restored) == strict_snapshot(entry)
    top, stored = restored.stat(), entry.stat()
    assert (top.st_mode, top.st_uid, top.st_gid, top.st_mtime_ns) == (
        stored.st_mode, stored.st_uid, stored.st_gid, stored.st_mtime_ns,
    )  # fmt: skip
    assert stat.S_IMODE(top.st_mode) == 0o750

    def inode(root: Path, relative: str) -> int:
        return (root / relative).stat().st_ino

    assert inode(restored, "usr/bin/tool") == inode(entry, "usr/bin/tool")
    lists = "var/lib/apt/lists/deb_Packages"
    assert inode(restored, lists) == inode(entry, lists)
    for copied in ("usr/lib/locale/locale-archive", "var/lib/dpkg/status", "etc/hostname"):
        assert inode(restored, copied) != inode(entry, copied)


def test_a_mode_change_through_a_hard_link_discards_the_entry(tmp_path):
    """chmod and chown through a link change the cached inode without touching its
    size or time: the entry's state records mode and owner too."""
    cache = RootCache(tmp_path / "cache", size_limit=1 << 30)
    tree = tree_of(tmp_path / "tree", 1)
    program = tree / "usr/bin/tool"
    program.parent.mkdir(parents=True)
    program.write_bytes(b"#!/bin/sh\n")
    program.chmod(0o755)
    assert cache.store("k", tree)
    first = tmp_path / "first"
    assert cache.restore("k", first)
    (first / "usr/bin/tool").chmod(0o4755)  # a config.sh making it setuid
    assert not cache.restore("k", tmp_path / "second")
    assert cache.entries() == []
    assert cache.store("k", tree)
    assert cache.restore("k", tmp_path / "third")
    os.chown(tmp_path / "third/usr/bin/tool", 1000, 1000)
    assert not cache.restore("k", tmp_path / "fourth")


# -- the restored root shares /usr with the cache by hard links: builds must not change it --

SHARED = "/usr/share/many"
MODIFYING_CONFIG_SH = f"""#!/bin/sh
set -e
sed -i s/original/sed/ {SHARED}/d        # a new file renamed into place
rm {SHARED}/e
mkdir -p {SHARED}/new && echo new > {SHARED}/new/file
echo appended >> /etc/many.conf          # /etc is copied, not linked
"""


def many_files() -> dict[str, str]:
    return {f"{SHARED}/{name}": f"original {name}\n" for name in "abcdef"}


@pytest.fixture(scope="module")
def many_repo(tmp_path_factory: pytest.TempPathFactory) -> DebRepo:
    many = DebPackage("test-many", files={**many_files(), "/etc/many.conf": "conf\n"})
    return build_repo(tmp_path_factory.mktemp("many-repo") / "repo", [*packages(), many])


def modifying_description(directory: Path, repo: DebRepo, config_sh: str) -> Path:
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        data = b"from the archive\n"
        member = tarfile.TarInfo(f"{SHARED.lstrip('/')}/a")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    image = Image(
        name="Cache-Test",
        specification="root cache with hard links",
        repositories=[Repository(f"dir://{repo.path}", alias="local", key=repo.key)],
        packages={
            "bootstrap": ["test-busybox"],
            "image": [
                "test-many",
                '<archive name="many.tar.gz"/>',
                f'<file name="c.txt" target="{SHARED}/c"/>',
            ],
        },
    )
    files: dict[str, str | bytes] = {
        "config.sh": config_sh,
        "runtime.yml": CUSTOM_BOOTSTRAP,
        "many.tar.gz": archive.getvalue(),
        f"root{SHARED}/b": "from the overlay\n",
        "c.txt": "from a file element\n",
    }
    return descriptions.write_description(directory, image, files)


def strict_snapshot(root: Path) -> dict[str, tuple]:
    """snapshot() plus every file's size and modification time (a write through a link
    changes both; the change time is not compared: linking and unlinking change it)."""
    tree = snapshot(root)
    for relative in tree:
        info = (root / relative).lstat()
        if stat.S_ISREG(info.st_mode):
            tree[relative] += (info.st_mtime_ns, info.st_size)
    return tree


def test_a_build_changing_the_restored_root_leaves_the_cache_unchanged(kiwi, many_repo, tmp_path):
    description = modifying_description(tmp_path / "description", many_repo, MODIFYING_CONFIG_SH)
    cache = tmp_path / "cache"
    first = prepare(kiwi, description, tmp_path / "root1", cache)
    assert first["root_cache"]["stored"] is True
    [entry] = RootCache(cache, 1).entries()
    cached = entry / "root"
    # the first build changed its root after storing it (archive, overlay, <file>, config.sh)
    assert (cached / "usr/share/many/a").read_text() == "original a\n"
    before_hit = strict_snapshot(cached)
    expected = {f"usr/share/many/{n}": f"original {n}\n" for n in "abcdef"}
    assert {k: v[-3].decode() for k, v in before_hit.items() if k in expected} == expected

    second = prepare(kiwi, description, tmp_path / "root2", cache)
    assert second["root_cache"]["hit"] is True
    root = tmp_path / "root2"
    assert (root / "usr/share/many/a").read_text() == "from the archive\n"
    assert (root / "usr/share/many/b").read_text() == "from the overlay\n"
    assert (root / "usr/share/many/c").read_text() == "from a file element\n"
    assert (root / "usr/share/many/d").read_text() == "sed d\n"
    assert not (root / "usr/share/many/e").exists()
    assert (root / "etc/many.conf").read_text() == "conf\nappended\n"
    # what the build did not touch is the cache's own file, not a copy of it
    assert (root / "usr/share/many/f").stat().st_ino == (cached / "usr/share/many/f").stat().st_ino
    assert (root / "etc/many.conf").stat().st_ino != (cached / "etc/many.conf").stat().st_ino
    assert strict_snapshot(cached) == before_hit
    assert RootCache(cache, 1).entries() == [entry]


def test_a_script_writing_through_a_hard_link_discards_the_entry(kiwi, many_repo, tmp_path):
    description = modifying_description(tmp_path / "description", many_repo, "#!/bin/sh\n")
    cache = tmp_path / "cache"
    prepare(kiwi, description, tmp_path / "root1", cache)
    [entry] = RootCache(cache, 1).entries()
    # in place, through the link: the one kind of write a hard link cannot keep out
    (description / "config.sh").write_text(f"#!/bin/sh\necho patched >> {SHARED}/f\n")
    patched = prepare(kiwi, description, tmp_path / "root2", cache)
    assert patched["root_cache"]["hit"] is True
    assert (tmp_path / "root2/usr/share/many/f").read_text() == "original f\npatched\n"
    # discarded at the end of that prepare, before any other build could use it
    assert not entry.exists()
    (description / "config.sh").write_text("#!/bin/sh\n")
    clean = prepare(kiwi, description, tmp_path / "root3", cache)
    assert clean["root_cache"]["hit"] is False
    assert (tmp_path / "root3/usr/share/many/f").read_text() == "original f\n"


FAKE_LOCALE_GEN = """#!/bin/sh
# stands in for Debian's locale-gen: the archive from locale.gen, and a mark that it ran
mkdir -p /usr/lib/locale
grep -v '^#' /etc/locale.gen > /usr/lib/locale/locale-archive
echo ran > /var/lib/locale-gen-ran
"""


@pytest.fixture(scope="module")
def locale_repo(tmp_path_factory: pytest.TempPathFactory) -> DebRepo:
    locales = DebPackage(
        "test-locales",
        files={"/usr/sbin/locale-gen": FAKE_LOCALE_GEN, "/etc/locale.gen": "# none yet\n"},
        modes={"/usr/sbin/locale-gen": 0o755},
    )
    return build_repo(tmp_path_factory.mktemp("locale-repo") / "repo", [*packages(), locales])


def test_generated_locales_are_kept_with_the_cached_root(kiwi, locale_repo, tmp_path):
    def build(root: str, locale: str) -> Path:
        image = Image(
            name="Locale-Test",
            specification="locales from the root cache",
            preferences={"locale": locale},
            repositories=[Repository(f"dir://{locale_repo.path}", alias="l", key=locale_repo.key)],
            packages={"bootstrap": ["test-busybox"], "image": ["test-locales"]},
        )
        description = descriptions.write_description(
            tmp_path / f"description-{root}", image, {"runtime.yml": CUSTOM_BOOTSTRAP}
        )
        prepare(kiwi, description, tmp_path / root, tmp_path / "cache")
        return tmp_path / root

    first = build("first", "en_US")
    assert (first / "var/lib/locale-gen-ran").is_file()
    archive = "usr/lib/locale/locale-archive"
    assert (first / archive).read_text() == "en_US.UTF-8 UTF-8\n"
    second = build("second", "en_US")  # the same locale.gen: the archive of the first
    assert not (second / "var/lib/locale-gen-ran").exists()
    assert (second / archive).read_bytes() == (first / archive).read_bytes()
    assert (second / archive).stat().st_nlink == 1  # a copy, never a link
    third = build("third", "de_DE")  # another locale.gen: generated anew
    assert (third / "var/lib/locale-gen-ran").is_file()
    assert (third / archive).read_text() == "de_DE.UTF-8 UTF-8\n"
