"""Fuzzing the description loader: mutated corpus files and generated documents.

Whatever the bytes, `image info` must end with exit code 0 or 1 and at most one
`kiwi-like: error:` line, never an internal error or a traceback. The examples are
derandomized so CI runs the same bounded set each time; set KIWI_LIKE_FUZZ_EXAMPLES
(and KIWI_LIKE_FUZZ_RANDOM=1) to search longer and wider.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiwi_like.cli.main import main

CORPUS = Path(__file__).parent / "corpus"
SEEDS = sorted(p for p in CORPUS.glob("*/*/config.xml"))
EXAMPLES = int(os.environ.get("KIWI_LIKE_FUZZ_EXAMPLES", "400"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=not os.environ.get("KIWI_LIKE_FUZZ_RANDOM"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Fragments that have broken parsers before: declarations, references, paths, numbers.
TOKENS = [b"<!DOCTYPE image [", b"<!ENTITY x 'y'>", b"&x;", b"&#10;", b"&#0;", b"]]>", b"<![CDATA[",
          b"<?xml version='1.0'?>", b"../../", b"/etc/passwd", b"-1", b"99999999999999999999",
          b"\x00", b"\xff\xfe", b'"', b"'", b"<", b">", b"&", b"<include from='this://x'/>",
          b"<profile name='a'/>", b"profiles=\"a\"", b"arch=\"x\"", b"\n" * 3, "\u202e".encode()]  # fmt: skip


def image_info(data: bytes) -> tuple[int, str]:
    with tempfile.TemporaryDirectory(prefix="kiwi-like-fuzz-") as directory:
        (Path(directory) / "config.xml").write_bytes(data)
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["image", "info", "--description", directory,
                         "--config", str(CORPUS / "runtime.yml")])  # fmt: skip
    return code, err.getvalue()


def assert_clean(code: int, err: str) -> None:
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("kiwi-like: error:")]
    assert "internal error" not in err, errors
    assert (code, len(errors)) in ((0, 0), (1, 1)), (code, err[-2000:])


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)).read_bytes())
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "replace", "duplicate", "flip"]))
        if action == "insert":
            data[at:at] = draw(st.sampled_from(TOKENS) | st.binary(max_size=8))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif action == "replace" and data:
            data[at : at + 1] = draw(st.sampled_from(TOKENS))
        elif action == "duplicate":
            size = draw(st.integers(1, 200))
            data[at:at] = data[at : at + size] * draw(st.integers(1, 3))
        elif data:
            index = min(at, len(data) - 1)
            data[index] ^= 1 << draw(st.integers(0, 7))
    return bytes(data)


@FUZZ
@given(mutated())
def test_mutated_corpus_files(data: bytes) -> None:
    assert_clean(*image_info(data))


ELEMENTS = ["preferences", "type", "packages", "package", "repository", "source", "users", "user",
            "profiles", "profile", "version", "packagemanager", "containerconfig", "oemconfig",
            "systemdisk", "volume", "size", "bootloader", "file", "archive", "include", "drivers"]  # fmt: skip
ATTRIBUTES = ["name", "image", "path", "type", "profiles", "arch", "password", "id", "home",
              "groups", "unit", "filesystem", "firmware", "priority", "alias", "target",
              "permissions", "derived_from", "imageinclude", "size", "import"]  # fmt: skip
TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)


def _element(draw: st.DrawFn, depth: int) -> str:
    tag = draw(st.sampled_from(ELEMENTS))
    attributes = draw(st.dictionaries(st.sampled_from(ATTRIBUTES), TEXT, max_size=3))
    rendered = "".join(f' {k}="{_escape(v)}"' for k, v in attributes.items())
    children = ""
    if depth < 3:
        children = "".join(_element(draw, depth + 1) for _ in range(draw(st.integers(0, 3))))
    text = _escape(draw(TEXT)) if draw(st.booleans()) else ""
    return f"<{tag}{rendered}>{text}{children}</{tag}>"


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    body = "".join(_element(draw, 0) for _ in range(draw(st.integers(0, 4))))
    name = _escape(draw(TEXT))
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<image schemaversion="8.0" name="{name}">'
            "<description type=\"system\"><author>a</author><contact>c</contact>"
            f"<specification>s</specification></description>{body}</image>").encode(
        "utf-8", "surrogatepass"
    )  # fmt: skip


@FUZZ
@given(documents())
def test_generated_documents(data: bytes) -> None:
    assert_clean(*image_info(data))
