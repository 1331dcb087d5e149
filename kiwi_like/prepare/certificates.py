"""CA certificates for the image (`--ca-cert`, `--ca-target-distribution`): copied into the
distribution's certificate store and the store updated, right after the bootstrap and
before the image packages, as kiwi does (kiwi/system/prepare.py: setup_ca_certificates)."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from kiwi_like import run as runner
from kiwi_like.chroot import run_in_root
from kiwi_like.errors import KiwiLikeError
from kiwi_like.log import log
from kiwi_like.rootfs import resolve_in_root

# kiwi's CA_UPDATE_MAP (kiwi/defaults.py): the store and the tool that updates it
CA_STORES = {
    "suse": ("etc/pki/trust/anchors", "update-ca-certificates"),
    "redhat": ("etc/pki/ca-trust/source/anchors", "update-ca-trust"),
    "debian": ("usr/local/share/ca-certificates", "update-ca-certificates"),
    "archlinux": ("etc/ca-certificates/trust-source/anchors", "update-ca-trust"),
}


def check_target_distribution(distribution: str | None) -> str:
    if distribution not in CA_STORES:
        raise KiwiLikeError(
            "no or invalid CA target distribution, set it with --ca-target-distribution "
            f"(one of {', '.join(sorted(CA_STORES))})"
        )
    return distribution


def import_certificates(root: Path, certificates: Sequence[str], distribution: str | None) -> None:
    """Copy each certificate file into the store and run the distribution's update tool."""
    if not certificates:
        return
    store, tool = CA_STORES[check_target_distribution(distribution)]
    destination = resolve_in_root(root, store)  # the image's symlinks, never the host's
    destination.mkdir(parents=True, exist_ok=True)
    for certificate in certificates:
        source = Path(certificate)
        if not source.is_file():
            raise KiwiLikeError(f"--ca-cert: {certificate} does not exist or is not a file")
        log.info("CA certificate %s to /%s", source.name, store)
        shutil.copyfile(source, destination / source.name)
    log.info("Updating the CA certificate store with %s", tool)
    try:
        run_in_root(root, [tool])
    except runner.CommandError as error:
        raise KiwiLikeError(f"{tool} failed in the image root: {error}") from None
