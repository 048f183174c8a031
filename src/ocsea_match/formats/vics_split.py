"""VICS items of one fixed layout cut apart and read a column at a time: the fastest path of
``formats.vics_fast``, with no regular expression per item.

A block with no backslash is split (``bytes.split``, C speed) at the text that ends one item and
starts the next (``}, {"MediaID": `` as the file writes it); the pieces of one length are stacked
into a NumPy array and compared with the first of them, which the strict template matched: every
byte outside its values equal, every string value quoted with no quote, backslash or control
character inside (none at its values' columns; both checked a row at a time by the native
``_vics.rows_match``), every number digits without a leading zero. Such a piece is proven to be what
the strict template would match, with its values at the same columns; the values are taken as
columns. The first piece that is not proven ends the run: from there the regular expressions
read on, so the items stay in order and every odd one goes the exact way.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from typing import Any

import numpy as np

from .._vics import rows_match

__all__ = ["Layout", "split_items"]

_NOT_DIGIT = np.ones(256, bool)
_NOT_DIGIT[list(b"0123456789")] = False


class Layout:
    """How items are written: ``sep`` ends one item and starts the next (from the ``}`` to the end
    of the first key), ``head`` starts an item (from its ``{`` to the end of the first key), ``lead``
    the comma and whitespace before an item."""

    def __init__(self, full: bytes, item: bytes, first_key: bytes) -> None:
        self.lead = full[:len(full) - len(item)]
        self.head = item[:item.index(first_key) + len(first_key)]
        self.sep = b"}" + self.lead + self.head


def split_items(pattern: Any, layout: Layout, buf: bytes, pos: int, end: int, needed: Container[int]
                ) -> tuple[int, list[tuple[bytes, ...]], Callable[[int], bytes], int] | None:
    """Items from ``pos`` (each after ``layout.lead``) up to ``end``, as far as they are proven:
    ``(count, columns (per group of ``pattern``: a tuple of tokens, or an (n, width) uint8 array of
    strings of one width; the match and item texts, and groups not in ``needed`` (proven all the
    same), as None), the text of item i, bytes consumed)``, or None when not even one is."""
    region = b"}" + buf[pos:end]
    if b"\\" in region or not region.startswith(layout.sep):
        return None
    pieces = region.split(layout.sep)[1:-1]  # the last one may be cut by the window's end
    if not pieces:
        return None
    lengths = np.fromiter(map(len, pieces), np.int64, len(pieces))
    good = np.ones(len(pieces), bool)
    tokens: dict[int, dict[int, list[bytes]]] = {}  # length -> group -> tokens of its pieces
    where: dict[int, np.ndarray] = {}
    spans_of: dict[int, dict[int, tuple[int, int]]] = {}
    rows_of: dict[int, np.ndarray] = {}
    strings: dict[int, dict[int, bool]] = {}
    head, groups = layout.lead + layout.head, pattern.groups
    for length in np.unique(lengths).tolist():
        at = np.flatnonzero(lengths == length)
        first = pieces[int(at[0])]
        m = pattern.fullmatch(head + first + b"}")
        if m is None:
            good[at] = False
            continue
        rows = np.frombuffer(b"".join([pieces[i] for i in at.tolist()]), np.uint8).reshape(len(at), length)
        literal = np.ones(length, bool)
        ok = np.ones(len(at), bool)
        spans = {}
        for g in range(3, groups + 1):
            a, b = m.span(g)
            a, b = a - len(head), b - len(head)
            token = first[a:b]
            if token[:1] == b'"':  # its quotes are compared as text; inside, no quote or control byte (below)
                literal[a + 1:b - 1] = False
                spans[g] = (a, b)
                continue
            elif token[:1].isdigit():
                if b - a > 1:
                    ok &= rows[:, a] != 48
                ok &= ~_NOT_DIGIT[rows[:, a:b]].any(axis=1)
            else:
                continue  # null, true, false, a negative number: compared as text
            literal[a:b] = False
            spans[g] = (a, b)
        # every literal column equal to the template's, and no quote or control byte at the values' columns
        # (the template's own are all at literal columns: its strings matched the pattern without one)
        rows_match(rows, np.frombuffer(first, np.uint8), _runs(literal, True), _runs(literal, False), ok.view(np.uint8))
        good[at[~ok]] = False
        where[length], spans_of[length], rows_of[length] = at, spans, rows
        strings[length] = {g: first[a:a + 1] == b'"' for g, (a, b) in spans.items()}
        tokens[length] = {g: _column(rows, a, b) for g, (a, b) in spans.items() if not strings[length][g] and g in needed}
        for g in range(3, groups + 1):
            if g not in needed:
                continue
            if g not in spans:
                a, b = m.span(g)
                tokens[length][g] = [first[a - len(head):b - len(head)]] * len(at)
            elif strings[length][g]:
                tokens[length][g] = _column(rows, *spans[g])
    bad = np.flatnonzero(~good)
    n = int(bad[0]) if len(bad) else len(pieces)
    if not n:
        return None
    columns: list[Any] = [None, None]
    for g in range(3, groups + 1):
        if g not in needed:
            columns.append(None)
            continue
        widths = {spans.get(g, (0, -1))[1] - spans.get(g, (0, -1))[0] for spans in spans_of.values()}
        if len(widths) == 1 and all(g in spans and strings[length].get(g) for length, spans in spans_of.items()):
            width = widths.pop()  # a string of one width in every piece: an (n, width) array, no object a token
            out = np.empty((len(pieces), width), np.uint8)
            for length, at in where.items():
                a, b = spans_of[length][g]
                out[at] = rows_of[length][:, a:b]
            columns.append(out[:n])
            continue
        column = np.empty(len(pieces), object)
        for length, at in where.items():
            column[at] = tokens[length][g]
        columns.append(tuple(column[:n].tolist()))
    consumed = int(lengths[:n].sum()) + n * len(layout.sep)
    return n, columns, lambda i: layout.head + pieces[i] + b"}", consumed


def _runs(mask: np.ndarray, value: bool) -> np.ndarray:
    """(start, end) pairs, flat, of the runs of ``mask`` equal to ``value``."""
    padded = np.concatenate([[False], mask == value, [False]]).astype(np.int8)
    return np.flatnonzero(np.diff(padded)).astype(np.int64)


def _column(rows: np.ndarray, a: int, b: int) -> list[bytes]:
    """The tokens at columns a..b of every row, as bytes."""
    return np.ascontiguousarray(rows[:, a:b]).view(f"S{b - a}").reshape(-1).tolist()
