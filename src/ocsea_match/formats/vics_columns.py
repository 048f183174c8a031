"""VICS media items checked a column at a time: the fast path of ``formats.streaming`` for VICS.

A batch of media items (dicts, as ijson builds them) is split into the plain ones (MediaID,
Category, MD5, SHA1, AlternativeHashes of algorithms this tool knows, nothing odd), whose entries
are checked a column at a time (types first, hex through NumPy) and handed to the sink as columns,
and the others, read one by one by the exact reader's own ``vics.vics_item``, in the list's order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .model import HEX_LENGTHS, HashList, LoadReport
from .vics import HASH_FIELDS, vics_item

__all__ = ["NotStreamable", "vics_batch"]

_HEX = np.full(256, False)
_HEX[list(b"0123456789abcdefABCDEF")] = True
#: item keys that send an item to the exact reader (hash fields the fast path does not take; a case's Media)
_ODD = frozenset(k for k in HASH_FIELDS if k not in ("MD5", "SHA1")) | {"PhotoDNA", "Media"}
_ALT_KEYS = frozenset({"HashName", "HashValue", "Quality"})
_WANT = {**HEX_LENGTHS, None: -1}
_ALGORITHM = {**{k.lower(): v for k, v in HASH_FIELDS.items()}, **{a: a for a in HEX_LENGTHS}}


class NotStreamable(Exception):
    """The file is not one the streaming path reads exactly: ``load_list`` reads it."""


def vics_batch(items: list[Any], before: int, name: str, report: LoadReport, sink: Any) -> tuple[int, int]:
    """Items numbered ``before + 1`` ...: runs of plain ones as columns (checked a column at a time,
    each column's types first), the others through ``vics_item``, in order. Returns (entries, PhotoDNA values)."""
    n, originals = len(items), items
    if set(map(type, items)) != {dict}:
        items = [d if type(d) is dict else {"PhotoDNA": 0} for d in items]  # (an odd key: not plain)
    plain = np.fromiter(map(_ODD.isdisjoint, items), bool, n)
    if not plain.all() and any("Media" in items[i] for i in np.flatnonzero(~plain).tolist()):
        raise NotStreamable("a case export")
    ids = _ids([d.get("MediaID") for d in items])
    categories = _categories([d.get("Category") for d in items])
    if "" in ids:
        plain &= np.asarray([i != "" for i in ids], bool)
    if "" in categories:
        plain &= np.asarray([c != "" for c in categories], bool)
    md5, sha1 = [d.get("MD5") for d in items], [d.get("SHA1") for d in items]
    has_md5, has_sha1 = _strings(md5), _strings(sha1)
    alts = [d.get("AlternativeHashes") for d in items]
    if set(map(type, alts)) != {list}:
        alts = [a if type(a) is list else [] if a is None else [None] for a in alts]  # [None]: not plain
    counts = np.fromiter(map(len, alts), np.int64, n)
    flat = [x for a in alts for x in a]
    alt_ok = np.ones(len(flat), bool)
    if set(map(type, flat)) - {dict} or not all(map(_ALT_KEYS.issuperset, flat)):
        alt_ok = np.fromiter((type(x) is dict and x.keys() <= _ALT_KEYS for x in flat), bool, len(flat))
        flat = [x if ok else {} for x, ok in zip(flat, alt_ok.tolist())]
    names = [x.get("HashName") for x in flat]
    if set(map(type, names)) == {str}:
        algorithms = list(map(_ALGORITHM.get, map(str.lower, names)))
    else:
        algorithms = [_ALGORITHM.get(h.lower()) if type(h) is str else None for h in names]
    values = [x.get("HashValue") for x in flat]
    if set(map(type, values)) - {str}:
        alt_ok &= np.fromiter(map(_is_str, values), bool, len(values))
        values = [v if type(v) is str else "" for v in values]
    alt_q = _qualities([x.get("Quality") for x in flat])
    alt_ok &= alt_q <= 100
    # entries in the exact reader's order: MD5, SHA1, then AlternativeHashes, item by item
    alt_item = np.repeat(np.arange(n), counts)
    item_of = np.concatenate([has_md5, has_sha1, alt_item])
    rank = np.concatenate([np.zeros(len(has_md5), np.int8), np.ones(len(has_sha1), np.int8), np.full(len(flat), 2, np.int8)])
    all_algorithms = ["md5"] * len(has_md5) + ["sha1"] * len(has_sha1) + algorithms
    all_values = [md5[i] for i in has_md5.tolist()] + [sha1[i] for i in has_sha1.tolist()] + values
    ok = np.concatenate([np.ones(len(has_md5) + len(has_sha1), bool), alt_ok])
    want = np.fromiter(map(_WANT.__getitem__, all_algorithms), np.int64, len(all_algorithms))
    want[~ok] = -1
    bad = ~ok | _bad_hex(all_values, want)
    plain &= np.bincount(item_of, minlength=n) > 0  # an item without a hash: the exact reader's report line
    plain[item_of[bad]] = False
    order = np.lexsort((rank, item_of))
    order = order[plain[item_of[order]]]
    sorted_items = item_of[order]
    picked = order.tolist()
    columns = (sorted_items, [all_algorithms[e] for e in picked], [all_values[e].lower() for e in picked],
               np.concatenate([np.full(len(has_md5) + len(has_sha1), -1, np.int64), alt_q])[order])
    loaded, photodna = len(order), 0
    slow = HashList(name)
    lo = 0
    for i in np.flatnonzero(~plain).tolist() + [n]:  # runs of plain items, then one item the exact way
        a, b = np.searchsorted(sorted_items, [lo, i])
        if b > a:
            sink.add_items(ids, categories, *(c[a:b] for c in columns))
        if i < n:
            photodna += vics_item(before + i + 1, originals[i], slow, report)
            loaded += len(slow.entries)
            sink.add_entries(slow.entries)
            slow.entries = []
        lo = i + 1
    return loaded, photodna


def _qualities(qualities: list[Any]) -> np.ndarray:
    """Qualities as int64: -1 for none, 999 for one the exact reader must look at (not a whole 0-100)."""
    if set(map(type, qualities)) == {int}:
        try:
            q = np.asarray(qualities, np.int64)
            return np.where((q >= 0) & (q <= 100), q, 999)
        except OverflowError:
            pass
    return np.fromiter((-1 if q is None else q if type(q) is int and 0 <= q <= 100 else 999 for q in qualities),
                       np.int64, len(qualities))


def _is_str(v: object) -> bool:
    return type(v) is str


def _ids(mids: list[Any]) -> list[str]:
    """MediaIDs as entry ids ("" where the exact reader must name the item)."""
    types = set(map(type, mids))
    if types == {int}:
        return list(map(str, mids))
    if types == {str}:
        return mids
    return [str(m) if type(m) is int else m if type(m) is str else "" for m in mids]


def _categories(cats: list[Any]) -> list[str | None]:
    """Categories as text, None for none ("" where the exact reader must say why)."""
    types = set(map(type, cats))
    if types == {int}:
        return list(map(str, cats))
    if types <= {type(None)}:
        return cats
    return [None if c is None or c == "" else str(c) if type(c) is int else c if type(c) is str else "" for c in cats]


def _strings(column: list[Any]) -> np.ndarray:
    """Where a column holds text."""
    types = set(map(type, column))
    if types == {str}:
        return np.arange(len(column))
    if types <= {type(None)}:
        return np.zeros(0, np.int64)
    return np.flatnonzero(np.fromiter(map(_is_str, column), bool, len(column)))


def _bad_hex(values: list[str], want: np.ndarray) -> np.ndarray:
    """Per value: not exactly ``want`` hex digits (either case)."""
    joined = "".join(values)
    if not joined.isascii():
        values = [v if v.isascii() else "" for v in values]
        joined = "".join(values)
    lengths = np.fromiter(map(len, values), np.int64, len(values))
    bad = lengths != want
    digits = ~_HEX[np.frombuffer(joined.encode("ascii"), np.uint8)]
    if len(digits):
        starts = np.cumsum(lengths) - lengths
        nonempty = lengths > 0
        counts = np.zeros(len(values), np.int64)
        counts[nonempty] = np.add.reduceat(digits.astype(np.int64), starts[nonempty])
        bad |= counts > 0
    return bad
