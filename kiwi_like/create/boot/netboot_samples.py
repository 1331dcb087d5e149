"""Sample boot-server configurations shipped in the kis tarball (kiwi's pxedeploy)."""

from __future__ import annotations

from pathlib import Path

SERVER = "{server}"  # replaced by whoever serves the unpacked tarball


def pxelinux_default(label: str, kernel: str, initrd: str, append: str) -> str:
    """pxelinux.cfg/default for a TFTP server holding the tarball's files."""
    return (
        "# pxelinux.cfg/default written by kiwi-like. Replace {server} with the base\n"
        "# URL the root image is served from (e.g. http://10.0.0.1/images).\n"
        f"DEFAULT {label}\n"
        f"LABEL {label}\n"
        f"    KERNEL {kernel}\n"
        f"    APPEND initrd={initrd} {append}\n"
    )


def ipxe_script(kernel: str, initrd: str, append: str) -> str:
    """An iPXE script that loads kernel and initrd from {server} as well."""
    return (
        "#!ipxe\n"
        "# written by kiwi-like. Replace {server} with the base URL the files are served from.\n"
        "dhcp\n"
        f"kernel {SERVER}/{kernel} initrd={initrd} {append}\n"
        f"initrd {SERVER}/{initrd}\n"
        "boot\n"
    )


def write_boot_files(tree: Path, label: str, kernel: str, initrd: str, append: str) -> list[str]:
    """`<kernel minus .kernel>.append`, pxelinux.cfg/default and the iPXE script into
    `tree`; return every file name in `tree`, sorted, as the tarball lists them."""
    stem = kernel.removesuffix(".kernel")
    (tree / f"{stem}.append").write_text(append + "\n")
    (tree / "pxelinux.cfg").mkdir(exist_ok=True)
    (tree / "pxelinux.cfg/default").write_text(pxelinux_default(label, kernel, initrd, append))
    (tree / f"{stem}.ipxe").write_text(ipxe_script(kernel, initrd, append))
    return sorted(str(p.relative_to(tree)) for p in tree.rglob("*") if p.is_file())
