"""kiwi-ng's comma syntax for repositories and the attribute=value options."""

from __future__ import annotations

import pytest

from kiwi_like.description.overrides import parse_assignment, parse_repository, with_credentials
from kiwi_like.errors import CommandLineError


def test_full_repository_syntax():
    repository = parse_repository(
        "--add-repo",
        "http://mirror.example/debian,apt-deb,main-repo,42,true,false,"
        "{/keys/a.gpg;/keys/b.gpg},main contrib,bookworm,true,baseurl",
    )
    assert repository.source == "http://mirror.example/debian"
    assert repository.type == "apt-deb"
    assert repository.alias == "main-repo"
    assert repository.priority == 42
    assert repository.imageinclude is True
    assert repository.package_gpgcheck is False
    assert repository.signing_keys == ("/keys/a.gpg", "/keys/b.gpg")
    assert repository.components == ("main", "contrib")
    assert repository.distribution == "bookworm"
    assert repository.repository_gpgcheck is True
    assert repository.sourcetype == "baseurl"


def test_trailing_and_empty_fields_mean_not_given():
    repository = parse_repository("--set-repo", "dir:///srv/repo,,,")
    assert repository.type == ""
    assert repository.alias is None
    assert repository.priority is None
    assert repository.package_gpgcheck is None
    assert repository.signing_keys == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "source URI is missing"),
        ("http://x.example,debian", "unknown repository type 'debian'"),
        ("http://x.example,rpm-md,a,high", "priority: 'high' must be a whole number"),
        ("http://x.example,rpm-md,a,1,yes", "imageinclude must be true or false"),
        ("http://x.example,rpm-md,a,1,true,true,key.gpg", "signing keys must be written"),
        ("a,b,c,d,e,f,g,h,i,j,k,l", "too many fields"),
    ],
)
def test_bad_repository_syntax(text, message):
    with pytest.raises(CommandLineError, match=message):
        parse_repository("--add-repo", text)


def test_credentials_inline_and_from_file(tmp_path):
    repository = parse_repository("--add-repo", "https://repo.example/x,rpm-md")
    inline = with_credentials("--add-repo-credentials", repository, "alice:s3cret")
    assert (inline.username, inline.password) == ("alice", "s3cret")
    secret = tmp_path / "creds"
    secret.write_text("bob:pa:ss\n")
    from_file = with_credentials("--add-repo-credentials", repository, str(secret))
    assert (from_file.username, from_file.password) == ("bob", "pa:ss")
    assert "s3cret" not in repr(inline)
    with pytest.raises(CommandLineError):
        with_credentials("--add-repo-credentials", repository, str(tmp_path / "missing"))


def test_assignment():
    assert parse_assignment("--set-type-attr", "kernelcmdline=a=b c") == ("kernelcmdline", "a=b c")
    with pytest.raises(CommandLineError, match="expected attribute=value"):
        parse_assignment("--set-type-attr", "firmware")
