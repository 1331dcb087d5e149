"""The JeOS description's docker profile: a real Debian container from the host's apt sources."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.network, pytest.mark.slow]

NAME = "Debian-Bookworm-JeOS.x86_64-1.0.0"


def test_debian_docker_image(tmp_path, kiwi):
    target = tmp_path / "target"
    done = kiwi("--profile", "docker", "system", "build",
                "--description", str(REPO / "descriptions/debian/bookworm-jeos"),
                "--target-dir", str(target))  # fmt: skip
    assert done.code == 0, done.err
    archive = tmp_path / f"{NAME}.docker.tar"
    with archive.open("wb") as plain:
        subprocess.run(["xz", "-dc", target / f"{NAME}.docker.tar.xz"], stdout=plain, check=True)
    inspect = ["skopeo", "--insecure-policy", "inspect", "--config", f"docker-archive:{archive}"]
    config = json.loads(subprocess.run(inspect, check=True, capture_output=True).stdout)
    assert config["config"]["Entrypoint"] == ["/bin/bash"] and "Cmd" not in config["config"]
    assert "LANG=C.UTF-8" in config["config"]["Env"]
    assert config["config"]["Labels"]["org.opencontainers.image.title"] == "Debian 12 JeOS"

    packages = (target / f"{NAME}.packages").read_text()
    names = {line.split("|")[0] for line in packages.splitlines()}
    assert {"systemd", "dbus", "apt"} <= names and not any(
        n.startswith("linux-image") for n in names
    )

    layout = tmp_path / "layout"
    subprocess.run(["skopeo", "--insecure-policy", "copy", "--quiet", f"docker-archive:{archive}",
                    f"oci:{layout}:latest"], check=True)  # fmt: skip
    bundle = tmp_path / "bundle"
    subprocess.run(["umoci", "unpack", "--image", f"{layout}:latest", bundle], check=True,
                   capture_output=True)  # fmt: skip
    rootfs = bundle / "rootfs"
    assert not list((rootfs / "var/lib/apt/lists").iterdir())
    assert not list((rootfs / "var/cache/apt/archives").glob("*.deb"))
    assert not [p for p in (rootfs / "var/log").rglob("*") if p.is_file()]
    assert not list((rootfs / "boot").glob("vmlinuz*"))
    process = json.loads((bundle / "config.json").read_text())["process"]

    def enter() -> None:
        os.chroot(rootfs)
        os.chdir(process["cwd"])

    environment = dict(item.split("=", 1) for item in process["env"])
    done_run = subprocess.run(
        [*process["args"], "-c", "echo debian $(cat /etc/debian_version) $LANG; cat /var/lib/jeos/build-id"],
        env=environment, preexec_fn=enter, capture_output=True, text=True, check=True,
    )  # fmt: skip
    version, build_id = done_run.stdout.splitlines()
    assert version.startswith("debian 12.") and version.endswith(" C.UTF-8")
    assert build_id == "Debian-Bookworm-JeOS-1.0.0"
