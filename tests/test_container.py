"""docker and oci images from a real (offline) prepared root, checked with skopeo and umoci.

The roots come from tiny packages in a self-built signed apt repository (see
tests/debrepo.py), so a build takes seconds; what is checked is what container
tools read back from the archives, not what our writer meant to write.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest

from kiwi_like.oci.tree import EMPTIED
from kiwi_like.result import RESULT_FILE
from tests import descriptions
from tests.conftest import Run
from tests.debrepo import DebPackage, DebRepo, build_repo, busybox_package
from tests.descriptions import CUSTOM_BOOTSTRAP, Image, Repository, Type

pytestmark = pytest.mark.slow

EPOCH = "1700000000"
PACKAGES = [
    DebPackage(
        "test-web",
        depends=("test-lib",),
        files={
            "/usr/bin/test-web": '#!/bin/sh\necho "web says: $GREETING from $(pwd) as $(id -u)"\n',
            "/etc/test-web.conf": "port=8080\n",
        },
        modes={"/usr/bin/test-web": 0o755, "/etc/test-web.conf": 0o600},
        symlinks={"/usr/bin/web": "test-web"},
    ),
    DebPackage("test-lib", files={"/usr/lib/test-lib/lib.txt": "library\n"}),
    DebPackage("test-addon", files={"/usr/share/test-addon/addon.txt": "addon\n"}),
]

CONTAINERCONFIG = """
    <containerconfig name="example/web" tag="1.0" additionaltags="stable,latest"
                     maintainer="Tests &lt;tests@example.org&gt;" user="2001" workingdir="/srv">
        <entrypoint execute="/usr/bin/test-web"/>
        <subcommand execute="--serve"><argument name="--verbose"/></subcommand>
        <expose><port number="8080"/><port number="53/udp"/></expose>
        <volumes><volume name="/srv/data"/></volumes>
        <environment><env name="GREETING" value="hello"/></environment>
        <labels><label name="org.example.purpose" value="testing"/></labels>
        <history author="History Author" created_by="the tests">built by the tests</history>
    </containerconfig>
"""


# images.sh runs after prepare's package-manager cleanup: leftovers only the layer leaves out
IMAGES_SH = """#!/bin/sh
set -e
mkdir -p /var/cache/apt/archives /var/log/apt
echo fake > /var/cache/apt/archives/leftover.deb
echo build > /var/log/apt/build.log
"""


def container_type(image: str = "docker", derived_from: str | None = None) -> Type:
    derived = {"derived_from": derived_from} if derived_from else {}
    return Type(image, derived, CONTAINERCONFIG)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> DebRepo:
    return build_repo(tmp_path_factory.mktemp("repo"), [*PACKAGES, busybox_package()])


def write_description(
    directory: Path,
    repo: DebRepo,
    build_type: Type,
    package: str = "test-web",
    config_sh: str | None = None,
) -> Path:
    image = Image(
        name="Web-Container",
        version="1.2.3",
        specification="container",
        types=[build_type],
        users=[{"name": "web", "id": "2001", "home": "/srv", "shell": "/bin/sh", "groups": "web"}],
        repositories=[Repository(f"dir://{repo.path}", alias="local", key=repo.key)],
        packages={"bootstrap": ["test-busybox"], "image": [package]},
    )
    files = {
        "runtime.yml": CUSTOM_BOOTSTRAP,
        "root/srv/data/README": "data volume\n",
        "images.sh": IMAGES_SH,
        **({"config.sh": config_sh} if config_sh else {}),
    }
    return descriptions.write_description(directory, image, files)


def build(kiwi, description: Path, target: Path, cache: Path, *extra: str):
    result = kiwi(
        "system", "build", "--description", str(description), "--target-dir", str(target),
        "--shared-cache-dir", str(cache), "--config", str(description / "runtime.yml"), *extra,
    )  # fmt: skip
    assert result.code == 0, result.err
    return result


def skopeo_inspect(reference: str, raw: bool = False) -> dict:
    command = ["skopeo", "--insecure-policy", "inspect", *(["--config"] if raw else []), reference]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def unxz(archive: Path, into: Path) -> Path:
    plain = into / archive.name.removesuffix(".xz")
    with plain.open("wb") as out:
        subprocess.run(["xz", "-dc", archive], stdout=out, check=True)
    return plain


CONFIG_SH = """#!/bin/sh
set -e
# objects a layer cannot hold or keeps as a hard link
busybox mkfifo /srv/fifo
echo hard > /srv/one && busybox ln /srv/one /srv/two && busybox chown 2001:2002 /srv/one
"""


def layer_blobs(layout: Path) -> list[Path]:
    index = json.loads((layout / "index.json").read_text())
    digest = index["manifests"][0]["digest"].removeprefix("sha256:")
    manifest = json.loads((layout / "blobs/sha256" / digest).read_text())
    return [
        layout / "blobs/sha256" / layer["digest"].removeprefix("sha256:")
        for layer in manifest["layers"]
    ]


def open_oci(archive: Path, into: Path) -> Path:
    """Unpack an .oci.tar.xz result into an OCI layout directory."""
    layout = into / "layout"
    layout.mkdir(parents=True)
    subprocess.run(f"xz -dc {archive} | tar -C {layout} -xf -", shell=True, check=True)
    return layout


def umoci_unpack(layout: Path, tag: str, bundle: Path) -> Path:
    subprocess.run(["umoci", "unpack", "--image", f"{layout}:{tag}", bundle], check=True,
                   capture_output=True)  # fmt: skip
    return bundle


class Built:
    def __init__(self, description: Path, target: Path, cache: Path) -> None:
        self.description, self.target, self.cache = description, target, cache

    @property
    def root(self) -> Path:
        return self.target / "build/image-root"

    def result(self, suffix: str) -> Path:
        return self.target / f"Web-Container.x86_64-1.2.3.{suffix}"


@pytest.fixture(scope="module")
def kiwi_module():
    """The CLI in-process for module-scoped builds."""
    from kiwi_like.cli.main import main

    def run(*argv: str) -> Run:
        return Run(main(list(argv)), "", "")

    return run


def _build(kiwi, tmp: Path, repo: DebRepo, image: str, *extra: str) -> Built:
    description = write_description(
        tmp / "description", repo, container_type(image), config_sh=CONFIG_SH
    )
    build(kiwi, description, tmp / "target", tmp / "cache", *extra)
    return Built(description, tmp / "target", tmp / "cache")


@pytest.fixture(scope="module")
def docker(repo, tmp_path_factory, kiwi_module) -> Built:
    return _build(kiwi_module, tmp_path_factory.mktemp("docker"), repo, "docker")


@pytest.fixture(scope="module")
def oci(repo, tmp_path_factory, kiwi_module) -> Built:
    return _build(kiwi_module, tmp_path_factory.mktemp("oci"), repo, "oci")


def check_config(config: dict) -> None:
    runtime = config["config"]
    assert runtime["Entrypoint"] == ["/usr/bin/test-web"]
    assert runtime["Cmd"] == ["--serve", "--verbose"]
    assert "GREETING=hello" in runtime["Env"]
    assert any(e.startswith("PATH=") for e in runtime["Env"])
    assert runtime["Labels"] == {"org.example.purpose": "testing"}
    assert runtime["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}}
    assert runtime["Volumes"] == {"/srv/data": {}}
    assert runtime["User"] == "2001"
    assert runtime["WorkingDir"] == "/srv"
    assert config["author"] == "Tests <tests@example.org>"
    assert config["architecture"] == "amd64" and config["os"] == "linux"
    assert config["history"][-1] == {
        "created": config["created"], "created_by": "the tests",
        "author": "History Author", "comment": "built by the tests",
    }  # fmt: skip


def test_docker_archive_as_skopeo_reads_it(docker, tmp_path):
    archive = unxz(docker.result("docker.tar.xz"), tmp_path)
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest[0]["RepoTags"] == [
        "docker.io/example/web:1.0", "docker.io/example/web:stable", "docker.io/example/web:latest",
    ]  # fmt: skip
    for tag in ("1.0", "stable", "latest"):
        check_config(skopeo_inspect(f"docker-archive:{archive}:example/web:{tag}", raw=True))
    overview = skopeo_inspect(f"docker-archive:{archive}")
    assert len(overview["Layers"]) == 1
    checksum = docker.result("docker.tar.xz.sha256").read_text()
    assert subprocess.run(["sha256sum", "-c", "-"], input=checksum, text=True,
                          cwd=docker.target, capture_output=True).returncode == 0  # fmt: skip
    results = json.loads((docker.target / RESULT_FILE).read_text())["results"]
    assert "container:Web-Container.x86_64-1.2.3.docker.tar.xz" in results
    packages = docker.result("packages").read_text()
    assert "test-web|None|1.0|None|all|None|None" in packages.splitlines()


def test_oci_archive_names_every_tag(oci, tmp_path):
    archive = unxz(oci.result("oci.tar.xz"), tmp_path)
    digests = set()
    for tag in ("1.0", "stable", "latest"):
        check_config(skopeo_inspect(f"oci-archive:{archive}:{tag}", raw=True))
        digests.add(skopeo_inspect(f"oci-archive:{archive}:{tag}")["Digest"])
    assert len(digests) == 1
    with pytest.raises(subprocess.CalledProcessError):
        skopeo_inspect(f"oci-archive:{archive}:no-such-tag")


def _tree(top: Path) -> dict[str, tuple]:
    """path -> (type, mode, uid, gid, content or link target) below `top`."""
    found = {}
    for path in sorted(top.rglob("*")):
        info = path.lstat()
        relative = str(path.relative_to(top))
        if stat.S_ISLNK(info.st_mode):
            what = ("link", os.readlink(path))
        elif stat.S_ISREG(info.st_mode):
            what = ("file", path.read_bytes())
        elif stat.S_ISDIR(info.st_mode):
            what = ("dir", None)
        else:
            what = ("special", None)
        found[relative] = (*what, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid)
    return found


def test_unpacked_image_is_the_root(oci, tmp_path):
    layout = open_oci(oci.result("oci.tar.xz"), tmp_path)
    rootfs = umoci_unpack(layout, "latest", tmp_path / "bundle") / "rootfs"
    unpacked, root = _tree(rootfs), _tree(oci.root)
    left_out = {
        p for p in root
        if p.split("/")[0] in {"image", ".kconfig", ".profile"}
        or any(p.startswith(d + "/") for d in EMPTIED)
        or p.startswith(("var/cache/apt/archives/", "var/lib/apt/lists/"))
        or (p.startswith("var/log/") and root[p][0] == "file")
        or root[p][0] == "special"
    }  # fmt: skip
    assert {"var/cache/apt/archives/leftover.deb", "var/log/apt/build.log", "srv/fifo",
            "dev/null"} <= left_out  # fmt: skip
    assert unpacked == {p: v for p, v in root.items() if p not in left_out}
    assert unpacked["usr/bin/test-web"][2] == 0o755 and unpacked["etc/test-web.conf"][2] == 0o600
    assert unpacked["usr/bin/web"][:2] == ("link", "test-web")
    assert unpacked["srv/one"][3:] == (2001, 2002)  # numeric owners kept
    assert (rootfs / "srv/one").stat().st_ino == (rootfs / "srv/two").stat().st_ino  # hard link
    assert sorted(os.listdir(rootfs / "dev")) == [] and (rootfs / "tmp").is_dir()


def test_entrypoint_runs_as_configured(oci, tmp_path):
    """Run what a runtime would run: umoci's runtime spec, chrooted, as its user."""
    layout = open_oci(oci.result("oci.tar.xz"), tmp_path)
    bundle = umoci_unpack(layout, "1.0", tmp_path / "bundle")
    process = json.loads((bundle / "config.json").read_text())["process"]
    assert process["args"] == ["/usr/bin/test-web", "--serve", "--verbose"]
    rootfs, uid, gid = bundle / "rootfs", process["user"]["uid"], process["user"]["gid"]

    def enter() -> None:
        os.chroot(rootfs)
        os.chdir(process["cwd"])
        os.setgid(gid)
        os.setuid(uid)

    environment = dict(item.split("=", 1) for item in process["env"])
    done = subprocess.run(process["args"], env=environment, preexec_fn=enter,
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert done.stdout == "web says: hello from /srv as 2001\n"


def test_podman_runs_the_image(docker, tmp_path, request):
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed")
    runroot = tempfile.mkdtemp(prefix="kl-podman-")  # podman wants it under 50 characters
    request.addfinalizer(lambda: shutil.rmtree(runroot, ignore_errors=True))
    storage = ["--root", str(tmp_path / "storage"), "--runroot", runroot,
               "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file"]  # fmt: skip
    archive = unxz(docker.result("docker.tar.xz"), tmp_path)
    subprocess.run(
        ["podman", *storage, "load", "-q", "-i", archive], check=True, capture_output=True
    )
    done = subprocess.run(
        ["podman", *storage, "run", "--rm", "--network", "none", "docker.io/example/web:1.0"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if done.returncode != 0 and ("setrlimit" in done.stderr or "cgroup" in done.stderr):
        pytest.skip(f"podman cannot start containers on this host: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "web says: hello from /srv as 2001\n"


def test_same_epoch_gives_identical_layers(repo, tmp_path, kiwi, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    layers, archives = [], []
    for run in ("first", "second"):
        built = _build(kiwi, tmp_path / run, repo, "oci")
        layout = open_oci(built.result("oci.tar.xz"), tmp_path / f"{run}-unpacked")
        layers.append([blob.read_bytes() for blob in layer_blobs(layout)])
        archives.append(unxz(built.result("oci.tar.xz"), tmp_path / run).read_bytes())
    assert layers[0] == layers[1]
    assert archives[0] == archives[1]  # config, manifest and index too
    with tarfile.open(layer_blobs(layout)[0]) as layer:
        assert max(m.mtime for m in layer.getmembers()) <= int(EPOCH)
        assert {m.uname for m in layer.getmembers()} == {""}
    config = skopeo_inspect(
        f"oci-archive:{tmp_path / 'second' / built.result('oci.tar').name}:1.0", raw=True
    )
    assert config["created"] == "2023-11-14T22:13:20Z"


def test_overrides_from_the_command_line(docker, tmp_path, kiwi):
    target = tmp_path / "target"
    done = kiwi("system", "create", "--root", str(docker.root), "--target-dir", str(target))
    assert done.code == 0, done.err
    done = kiwi(
        "system", "build", "--description", str(docker.description), "--target-dir", str(tmp_path / "t2"),
        "--shared-cache-dir", str(docker.cache), "--config", str(docker.description / "runtime.yml"),
        "--set-container-tag", "2.0", "--add-container-label", "org.example.extra=yes",
    )  # fmt: skip
    assert done.code == 0, done.err
    archive = unxz(tmp_path / "t2/Web-Container.x86_64-1.2.3.docker.tar.xz", tmp_path)
    config = skopeo_inspect(f"docker-archive:{archive}:example/web:2.0", raw=True)
    assert config["config"]["Labels"] == {
        "org.example.purpose": "testing",
        "org.example.extra": "yes",
    }


@pytest.mark.parametrize(("compress", "suffix"), [("none", ""), ("zstd", ".zst"), ("gzip", ".gz")])
def test_archive_compression_from_the_runtime_config(docker, tmp_path, kiwi, compress, suffix):
    runtime = tmp_path / "runtime.yml"
    runtime.write_text(f"container:\n  compress: {compress}\n")
    target = tmp_path / "target"
    done = kiwi("system", "create", "--root", str(docker.root), "--target-dir", str(target),
                "--config", str(runtime))  # fmt: skip
    assert done.code == 0, done.err
    archive = target / f"Web-Container.x86_64-1.2.3.docker.tar{suffix}"
    assert sorted(p.name for p in target.glob("*.docker.tar*")) == [
        archive.name,
        archive.name + ".sha256",
    ]
    if compress == "none":
        skopeo_inspect(f"docker-archive:{archive}")
    else:
        tool = {"zstd": "zstd", "gzip": "gzip"}[compress]
        assert subprocess.run([tool, "-t", archive], capture_output=True).returncode == 0


DERIVED_CONFIG_SH = """#!/bin/sh
set -e
rm /etc/test-web.conf
echo derived > /srv/derived-marker
"""


@pytest.mark.parametrize("form", ["oci-archive", "dir", "docker-archive"])
def test_derived_image_adds_one_layer_of_differences(oci, docker, repo, tmp_path, kiwi, form):
    base_archive = oci.result("oci.tar.xz")
    derived_from = {
        "oci-archive": f"oci-archive:{base_archive}",
        "dir": f"dir://{open_oci(base_archive, tmp_path / 'base')}",
        "docker-archive": f"docker-archive:{docker.result('docker.tar.xz')}",
    }[form]
    description = write_description(
        tmp_path / "derived", repo, container_type("oci", derived_from),
        package="test-addon", config_sh=DERIVED_CONFIG_SH,
    )  # fmt: skip
    build(kiwi, description, tmp_path / "target", tmp_path / "cache")
    derived = open_oci(
        tmp_path / "target/Web-Container.x86_64-1.2.3.oci.tar.xz", tmp_path / "derived-out"
    )
    base_layout = open_oci(base_archive, tmp_path / "base-again")
    base_layers, layers = layer_blobs(base_layout), layer_blobs(derived)
    assert len(layers) == len(base_layers) + 1
    if form != "docker-archive":  # skopeo keeps OCI blobs as they are; docker ones are converted
        assert [p.name for p in layers[:-1]] == [p.name for p in base_layers]
    with tarfile.open(layers[-1]) as layer:
        names = set(layer.getnames())
    assert {
        "usr/share/test-addon/addon.txt",
        "srv/derived-marker",
        "etc/.wh.test-web.conf",
    } <= names
    assert "usr/bin/busybox" not in names and "usr/bin/test-web" not in names
    parents = {
        "etc",
        "srv",
        "usr",
        "usr/share",
        "var",
        "var/lib",
        "var/lib/dpkg",
        "var/lib/dpkg/info",
    }
    changed = {n for n in names - parents if "test-addon" not in n}
    assert changed == {"etc/.wh.test-web.conf", "srv/derived-marker", "var/lib/dpkg/status",
                       "var/lib/dpkg/status-old"}  # fmt: skip
    rootfs = umoci_unpack(derived, "1.0", tmp_path / "bundle") / "rootfs"
    assert (rootfs / "usr/share/test-addon/addon.txt").read_text() == "addon\n"
    assert not (rootfs / "etc/test-web.conf").exists()
    assert (rootfs / "usr/bin/test-web").is_file()
    config = skopeo_inspect(f"oci:{derived}:1.0", raw=True)
    assert len(config["history"]) == 2 and len(config["rootfs"]["diff_ids"]) == 2


def test_missing_base_image_is_one_line(repo, tmp_path, kiwi):
    description = write_description(
        tmp_path / "d", repo, container_type("docker", "oci-archive:no/such.tar")
    )
    done = kiwi("system", "build", "--description", str(description), "--target-dir", str(tmp_path / "t"),
                "--config", str(description / "runtime.yml"), "--shared-cache-dir", str(tmp_path / "c"))  # fmt: skip
    assert done.code != 0
    assert done.error_lines == [
        f"kiwi-like: error: derived_from 'oci-archive:no/such.tar': {description}/no/such.tar does not exist"
    ]
    assert "Traceback" not in done.err
    assert not list((tmp_path / "t").glob("*.tar*"))


def test_not_an_image_is_one_line(repo, tmp_path, kiwi):
    (tmp_path / "junk.tar").write_bytes(b"not a tar file at all" * 100)
    description = write_description(
        tmp_path / "d", repo, container_type("docker", str(tmp_path / "junk.tar"))
    )
    done = kiwi("system", "build", "--description", str(description), "--target-dir", str(tmp_path / "t"),
                "--config", str(description / "runtime.yml"), "--shared-cache-dir", str(tmp_path / "c"))  # fmt: skip
    assert done.code != 0 and len(done.error_lines) == 1
    assert "is not an image archive" in done.error_lines[0]
