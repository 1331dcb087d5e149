"""`kiwi.result`: kiwi's pickled `Result`, written without kiwi, so `kiwi-ng result list`
and `kiwi-ng result bundle` of KIWI NG itself (and the build services that call them)
read a kiwi-like target directory.

kiwi pickles its `kiwi.system.result.Result` with the whole `XMLState` of the build.
kiwi-like writes the same `Result` with its `result_files` (the `result_file_type`
named tuples, and the `bundle_format` entry with its `result_name_tags`) and, in place
of the `XMLState`, a small stand-in that answers what kiwi's result commands ask of it:
`xml_data.get_name()`, `get_image_version()`, `get_build_type_name()`,
`get_description_section()`, `profiles` and `host_architecture`.

The stream is protocol 2, written opcode by opcode from plain values, so nothing of
kiwi has to be importable here; unpickling it needs kiwi (as it does for kiwi's own).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

RESULT_MODULE = "kiwi.system.result"


@dataclass(frozen=True)
class Global:
    """A class or function by its module and name (pickle's GLOBAL)."""

    module: str
    name: str


@dataclass(frozen=True)
class Call:
    """`function(*args)` when unpickled (REDUCE)."""

    function: Any
    args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class New:
    """`cls.__new__(cls, *args)`, then its `__dict__` updated from `state` (NEWOBJ, BUILD)."""

    cls: Global
    args: tuple[Any, ...] = ()
    state: Mapping[str, Any] | None = None


def dumps(value: Any) -> bytes:
    return b"\x80\x02" + _write(value) + b"."


def _write(value: Any) -> bytes:
    if value is None:
        return b"N"
    if isinstance(value, bool):
        return b"\x88" if value else b"\x89"
    if isinstance(value, int):
        if -(2**31) <= value < 2**31:
            return b"J" + struct.pack("<i", value)
        data = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
        return b"\x8a" + bytes([len(data)]) + data
    if isinstance(value, str):
        data = value.encode("utf-8", "surrogateescape")
        return b"X" + struct.pack("<I", len(data)) + data
    if isinstance(value, Global):
        return b"c" + f"{value.module}\n{value.name}\n".encode()
    if isinstance(value, Call):
        return _write(value.function) + _tuple(value.args) + b"R"
    if isinstance(value, New):
        data = _write(value.cls) + _tuple(value.args) + b"\x81"
        return data + (_write(dict(value.state)) + b"b" if value.state is not None else b"")
    if isinstance(value, tuple):
        return _tuple(value)
    if isinstance(value, list):
        return b"]" + (b"(" + b"".join(_write(v) for v in value) + b"e" if value else b"")
    if isinstance(value, Mapping):
        items = b"".join(_write(k) + _write(v) for k, v in value.items())
        return b"}" + (b"(" + items + b"u" if value else b"")
    raise TypeError(f"cannot write {type(value).__name__} into kiwi.result")


def _tuple(values: Sequence[Any]) -> bytes:
    return b"(" + b"".join(_write(v) for v in values) + b"t"


def _returning(value: str) -> Call:
    """A callable that returns `value`: functools.partial(str, value)."""
    return Call(Global("functools", "partial"), (Global("builtins", "str"), value))


def result_file(filename: str, use_for_bundle: bool, compress: bool, shasum: bool) -> New:
    return New(
        Global(RESULT_MODULE, "result_file_type"), (filename, use_for_bundle, compress, shasum)
    )


def name_tags(tags: Mapping[str, str]) -> New:
    fields = ("N", "P", "A", "I", "T", "M", "m", "p", "v")
    return New(Global(RESULT_MODULE, "result_name_tags"), tuple(tags[f] for f in fields))


def xml_state(build: Mapping[str, Any]) -> New:
    namespace = Global("types", "SimpleNamespace")
    description = Call(
        Global("functools", "partial"),
        (
            Global("kiwi.xml_state", "description_type"),
            build.get("author") or "",
            build.get("contact") or "",
            build.get("specification") or "",
        ),
    )
    return New(
        namespace,
        state={
            "xml_data": New(namespace, state={"get_name": _returning(build["name"])}),
            "get_image_version": _returning(build["version"]),
            "get_build_type_name": _returning(build["image"]),
            "get_description_section": description,
            "profiles": list(build.get("profiles") or []),
            "host_architecture": build["arch"],
        },
    )


def result(files: Mapping[str, Any], build: Mapping[str, Any]) -> bytes:
    """The pickled kiwi `Result`; `files` maps keys to `result_file`/bundle format values."""
    state = {"result_files": dict(files), "class_version": 1, "xml_state": xml_state(build)}
    return dumps(New(Global(RESULT_MODULE, "Result"), state=state))
