"""Users and groups, created with the host's shadow tools working on the image (--root).

Passwords travel on stdin only, so they never show up in a log or process list.
"""

from __future__ import annotations

from pathlib import Path

from kiwi_like import run as runner
from kiwi_like.description.model import User
from kiwi_like.errors import KiwiLikeError
from kiwi_like.log import log


def _exists(root: Path, table: str, name: str) -> bool:
    path = root / "etc" / table
    if not path.is_file():
        return False
    return any(line.split(":", 1)[0] == name for line in path.read_text().splitlines())


def _hash_plain(password: str) -> str:
    return runner.run(
        ["openssl", "passwd", "-6", "-stdin"], stdin=password + "\n", keep_output=True
    ).output.strip()


def setup_users(root: Path, users: tuple[User, ...]) -> None:
    if users and not (root / "etc/passwd").is_file():
        raise KiwiLikeError("cannot set up users: the image has no /etc/passwd")
    for user in users:
        for group in user.groups:
            if not _exists(root, "group", group):
                log.info("Adding group %s", group)
                runner.run(["groupadd", "--root", root, group])
        options = ["--home", user.home_directory]
        if user.shell:
            options += ["--shell", user.shell]
        if user.groups:
            options += ["--gid", user.groups[0]]
            if len(user.groups) > 1:
                options += ["--groups", ",".join(user.groups[1:])]
        if user.realname:
            options += ["--comment", user.realname]
        if _exists(root, "passwd", user.name):
            log.info("Modifying user %s", user.name)
            runner.run(["usermod", "--root", root, *options, user.name])
        else:
            log.info("Adding user %s", user.name)
            if user.id is not None:
                options += ["--uid", str(user.id)]
            runner.run(["useradd", "--root", root, "--create-home", *options, user.name])
        if user.password is not None:
            hashed = user.password if user.pwdformat != "plain" else _hash_plain(user.password)
            runner.run(["chpasswd", "--root", root, "--encrypted"], stdin=f"{user.name}:{hashed}\n")
