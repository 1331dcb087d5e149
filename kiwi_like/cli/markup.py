"""`image info --print-xml/--print-yaml/--print-toml`: the description as kiwi prints it.

kiwi converts its XML with anymarkup (xmltodict): an element becomes a mapping with
`@attribute` keys, child elements by name (a list when repeated) and `#text`; an
element with neither attributes nor children becomes its text.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from lxml import etree

from kiwi_like.description.xmlload import text_of

Value = Any
BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def to_data(element: etree._Element) -> Value:
    children = [c for c in element if isinstance(c.tag, str)]
    text = (text_of(element) or "").strip() or None  # xmltodict joins around comments
    if not element.attrib and not children:
        return text
    data: dict[str, Value] = {f"@{name}": str(value) for name, value in element.attrib.items()}
    for child in children:
        value = to_data(child)
        tag = str(child.tag)
        if tag in data:
            data[tag] = [*data[tag], value] if isinstance(data[tag], list) else [data[tag], value]
        else:
            data[tag] = value
    if text:
        data["#text"] = text
    return data


def xml_text(root: etree._Element) -> str:
    return etree.tostring(root, pretty_print=True, encoding="unicode", xml_declaration=False)


def yaml_text(root: etree._Element) -> str:
    return yaml.safe_dump({str(root.tag): to_data(root)}, default_flow_style=False)


def toml_text(root: etree._Element) -> str:
    lines: list[str] = []
    _table(lines, [str(root.tag)], to_data(root) or {}, array=False)
    return "\n".join(lines).lstrip("\n") + "\n"


def _key(name: str) -> str:
    return name if BARE_KEY.match(name) else json.dumps(name)


def _scalar(value: Value) -> str:
    if isinstance(value, dict):
        items = ", ".join(f"{_key(k)} = {_scalar(v)}" for k, v in value.items() if v is not None)
        return "{ " + items + " }" if items else "{}"
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value if v is not None) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _is_table_array(value: Value) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _table(lines: list[str], path: list[str], data: dict[str, Value], array: bool) -> None:
    header = ".".join(_key(p) for p in path)
    lines += ["", f"[[{header}]]" if array else f"[{header}]"]
    nested = []
    for name, value in data.items():
        if value is None:
            continue  # TOML has no null; like the toml module, leave it out
        if isinstance(value, dict) or _is_table_array(value):
            nested.append((name, value))
        else:
            lines.append(f"{_key(name)} = {_scalar(value)}")
    for name, value in nested:
        if isinstance(value, dict):
            _table(lines, [*path, name], value, array=False)
        else:
            for item in value:
                _table(lines, [*path, name], item, array=True)
