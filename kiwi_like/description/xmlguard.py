"""What a description may hold before and after libxml2 reads it, and libxml2's words
turned into the user's.

The DOCTYPE check works on the decoded document, in whatever encoding libxml2 would
read it (UTF-16 and UTF-32 with or without a byte order mark, EBCDIC, a declared
encoding), so the markup cannot hide from a byte-level search. After parsing, the
document libxml2 actually built is checked again: whatever the encoding, a DTD with an
internal subset or an external identifier, or an entity reference, is refused. Only a
bare `<!DOCTYPE image>` passes, as kiwi reads it without effect.
"""

from __future__ import annotations

import codecs
import re

from lxml import etree

NOT_ALLOWED = (
    "a DOCTYPE with declarations or an external DTD (and so any ENTITY) is not allowed "
    "in a description; only a bare <!DOCTYPE image> is"
)

# libxml2's guess from the first four bytes (parserInternals.c: xmlDetectEncoding)
_SIGNATURES = (
    (b"\x00\x00\x00\x3c", "utf-32-be"),
    (b"\x3c\x00\x00\x00", "utf-32-le"),
    (b"\x4c\x6f\xa7\x94", "cp037"),
    (b"\x3c\x00\x3f\x00", "utf-16-le"),
    (b"\x00\x3c\x00\x3f", "utf-16-be"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)
_DECLARED = re.compile(r"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_BARE_DOCTYPE = re.compile(r"<!DOCTYPE\s+[^\s>\[\]\"']+\s*>")


def _decode(data: bytes) -> str | None:
    """The document as libxml2 would decode it; None for an encoding Python lacks."""
    detected = next((name for mark, name in _SIGNATURES if data.startswith(mark)), None)
    if detected and detected.startswith(("utf-16", "utf-32")) or detected == "utf-8-sig":
        # a byte order mark or a wide encoding: libxml2 ignores a declared encoding
        return data.decode(detected, errors="replace").lstrip("\ufeff")
    head = data[:1024].decode(detected or "latin-1", errors="replace")
    declared = _DECLARED.match(head.lstrip())
    name = declared.group(1) if declared else detected or "utf-8"
    try:
        return data.decode(codecs.lookup(name).name, errors="replace")
    except (LookupError, ValueError):
        return None


def prolog_problem(data: bytes) -> tuple[str, int] | None:
    """(message, line) if the document's prolog declares a DTD or entities."""
    text = _decode(data)
    if text is None:
        return None  # libxml2 decides; `check_parsed` looks at what it built
    position = 0
    while True:
        while position < len(text) and text[position] in " \t\r\n":
            position += 1
        if text.startswith("<?", position):
            close = "?>"
        elif text.startswith("<!--", position):
            close = "-->"
        else:
            break
        end = text.find(close, position)
        if end < 0:
            return None  # unterminated: libxml2 reports it
        position = end + len(close)
    if text[position : position + 9].upper() != "<!DOCTYPE":
        return None  # the root element: entities cannot be declared after it
    if _BARE_DOCTYPE.match(text, position):
        return None
    return NOT_ALLOWED, text.count("\n", 0, position) + 1


def check_parsed(root: etree._Element) -> str | None:
    """What libxml2 built: no DTD beyond a bare name, no entity reference left."""
    tree = root.getroottree()
    docinfo = tree.docinfo
    dtd = docinfo.internalDTD
    if docinfo.public_id or docinfo.system_url or docinfo.externalDTD is not None:
        return NOT_ALLOWED
    if dtd is not None:
        if dtd.external_id or dtd.system_url or list(dtd.iterentities()):
            return NOT_ALLOWED
        if list(dtd.iterelements()) or _has_internal_subset(tree):
            return NOT_ALLOWED
    if next(root.iter(etree.Entity), None) is not None:
        return NOT_ALLOWED
    return None


def _has_internal_subset(tree: etree._ElementTree) -> bool:
    """Declarations lxml does not list (ATTLIST, NOTATION) show in the serialised prolog."""
    prolog = etree.tostring(tree).split(b"<" + str(tree.getroot().tag).encode(), 1)[0]
    return b"[" in prolog.split(b"<!DOCTYPE", 1)[-1]


# libxml2's messages that name its own API instead of the problem
_PLAIN = (
    (re.compile(r"Excessive depth in document: (\d+)"),
     r"elements are nested more than \1 levels deep"),
    (re.compile(r"Name too long"),
     "an element or attribute name is longer than 50000 characters"),
    (re.compile(r"Text node too long|huge text node"), "a text is longer than 10000000 characters"),
    (re.compile(r"Input is not proper UTF-8.*?(Bytes: [0-9A-Fa-fx ]+)?$", re.DOTALL),
     r"the file is not valid UTF-8 (\1); save it as UTF-8 or declare its encoding"),
    (re.compile(r"Buffer size limit exceeded"),
     "a value is longer than 10000000 characters"),
    (re.compile(r"Comment too big"), "a comment is longer than 10000000 characters"),
    (re.compile(r"PI \S* ?too big"),
     "a processing instruction is longer than 10000000 characters"),
    (re.compile(r"CData section too big"), "a CDATA section is longer than 10000000 characters"),
    (re.compile(r"(Maximum )?entity amplification|Detected an entity reference loop"),
     "entities expand to too much text"),
)  # fmt: skip
_FUNCTION = re.compile(r"\bxml[A-Z]\w*:\s*")
_CHARACTER = re.compile(r"invalid xmlChar value (\d+)")
_JARGON = re.compile(r"[,:;]?\s*(try|use|see)\s+(XML_PARSE_\w+|xml[A-Z]\w*)[^,]*", re.IGNORECASE)


def plain_message(message: str) -> str:
    """A libxml2 parser message in the user's words, without its position suffix."""
    message = message.split(", line ")[0].strip()
    for pattern, replacement in _PLAIN:
        found = pattern.search(message)
        if found:
            return found.expand(replacement).replace(" ()", "")
    message = _JARGON.sub("", message).strip(" ,.:")
    message = _FUNCTION.sub("", message)  # "xmlParseCharRef: ..." names a C function
    message = _CHARACTER.sub(r"a character reference to code \1, which XML does not allow", message)
    return message.replace("Resource limit exceeded: ", "") or "malformed XML"
