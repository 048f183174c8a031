"""File names as text: one convention for every record and every writer, always valid UTF-8.

A name is whatever bytes the file system holds. Records show it as text with each byte that is
not UTF-8 written ``\\xNN`` (``display_path``) and, when there is such a byte, keep the exact
bytes in hex (``path_hex``), so nothing is lost and every output is valid UTF-8. Writers that put
one record on one line (the table, hashdeep.txt) also escape the characters that would break the
line (``one_line``, ``escape_name``); ``unescape_name`` reads hashdeep's escapes back.

>>> display_path(b"photo-\\xff.jpg"), path_hex(b"photo-\\xff.jpg")
('photo-\\\\xff.jpg', '70686f746f2dff2e6a7067')
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

__all__ = ["NAMES_ESCAPED", "display_path", "display_text", "path_hex", "printable", "json_line", "one_line",
           "escape_name", "unescape_name"]

#: The comment line that tells a hashdeep reader the names are ``escape_name``'d (files from the
#: hashdeep tool itself are read verbatim: a Windows path's ``\x41`` is not an escape there).
NAMES_ESCAPED = "## Names: control characters, bytes that are not UTF-8 and the backslash are written \\xNN"


def display_text(text: str) -> str:
    """``text`` made encodable: surrogate escapes (undecodable bytes of a name) become ``\\xNN``.

    >>> display_text("a\\udcffb")
    'a\\\\xffb'
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that is not an escaped byte
        raw = text.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "backslashreplace")


def display_path(path: str | bytes | os.PathLike[Any]) -> str:
    """The path as text: bytes that are not UTF-8 shown as ``\\xNN`` (see ``path_hex``)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def path_hex(path: str | bytes | os.PathLike[Any]) -> str | None:
    """The path's exact bytes in hex when they are not valid UTF-8 (else ``None``)."""
    raw = os.fsencode(path)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.hex()
    return None


def printable(value: Any) -> Any:
    """A JSON-like value with every string made encodable (``display_text``), recursively."""
    if isinstance(value, str):
        return display_text(value)
    if isinstance(value, dict):
        return {display_text(k) if isinstance(k, str) else k: printable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [printable(v) for v in value]
    return value


def json_line(record: dict[str, Any]) -> str:
    """One JSON line (no newline) that is always valid UTF-8, whatever strings the record holds."""
    text = json.dumps(record, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(printable(record), ensure_ascii=False)
    return text


# characters that end or disturb a line: C0 and C1 controls, DEL, and Unicode's line/paragraph separators
_LINE_BREAKERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """``display_text`` with control characters (a newline in a name ...) written ``\\xNN``.

    >>> one_line("a\\nb")
    'a\\\\x0ab'
    """
    return _LINE_BREAKERS.sub(lambda m: "".join(f"\\x{b:02x}" for b in m.group().encode()), display_text(text))


def escape_name(path: str | bytes | os.PathLike[Any]) -> str:
    """A name for a one-line-per-file text format (hashdeep.txt) that reads back exactly.

    Bytes that are not UTF-8, control characters, line separators, the backslash itself and a
    trailing space are written ``\\xNN`` (their UTF-8 bytes); ``unescape_name`` undoes it.

    >>> escape_name(b"a\\nb\\\\c\\xff")
    'a\\\\x0ab\\\\x5cc\\\\xff'
    """
    out = []
    for ch in os.fsencode(path).decode("utf-8", "surrogateescape"):
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch == "\\" or _LINE_BREAKERS.fullmatch(ch):
            out.append("".join(f"\\x{b:02x}" for b in ch.encode()))
        else:
            out.append(ch)
    if out and out[-1] == " ":
        out[-1] = "\\x20"
    return "".join(out)


_ESCAPE = re.compile(rb"\\x([0-9a-fA-F]{2})")


def unescape_name(text: str) -> str:
    """The name ``escape_name`` wrote, in ``display_path``'s form (undecodable bytes as ``\\xNN``).

    >>> unescape_name("a\\\\x0ab\\\\x5cc")
    'a\\nb\\\\c'
    """
    raw = _ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), display_text(text).encode("utf-8"))
    return raw.decode("utf-8", "backslashreplace")
