"""VICS media items parsed straight from the file's bytes: the fast path of ``formats.streaming``.

The first media item sets a template (its keys in their order, the order of its first
``AlternativeHashes`` element's keys); a regular expression built from it matches items of that
shape whose values are plain JSON tokens (strings without escapes or control characters, whole
numbers, ``null``, ``true``, ``false``) a block of bytes at a time, and the tokens are checked a
column at a time (hex through NumPy). The items matched this way tile the ``value`` array exactly
(each one starts where the one before ended), so they are the items ``json.loads`` would see.
An item the template does not match, or whose values the columns cannot prove plain (an escaped
string, a bad hash, a quality out of range, a PhotoDNA ``AlternativeHashes`` element, no hash at
all ...), is parsed by ``json`` (``model.parse_json``, the exact reader's parser) and read by
``vics.vics_item``, the exact reader's own: same entries, same report lines, same numbers.
Whatever this path cannot read (JSON that does not parse, a case export, no template) raises
``NotStreamable`` before the caller adds anything: ``load_list`` reads the file then.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

import numpy as np

from .model import HEX_LENGTHS, MAX_JSON_DEPTH, HashList, LoadReport, parse_json
from .vics import HASH_FIELDS, vics_item
from .vics_columns import NotStreamable
from .vics_compact import Compacted
from .vics_split import Layout, split_items
from .vics_tokens import alt_algorithm, as_list, hexes, interleave, photodna as photodna_values, qualities


class MixedShapes(NotStreamable):
    """Items change shape so often that runs of template items are short: each run costs a batch's
    overhead (~250 us), and ijson's item-by-item path is the faster one for this file. Raised within
    the first items of a stretch like that; the caller starts again on that path with a new sink."""


#: A stretch of this many items is looked at as a whole: under ``MIN_RUN`` items a batch (or an
#: item read the exact way) on average, the file is one for ijson's path.
CHECK_EVERY, MIN_RUN = 4096, 16

__all__ = ["read_vics_fast"]

BLOCK = 1 << 22  # bytes read at a time
_WS = rb"[ \t\n\r]*"
_NUMBER = rb"-?(?:0|[1-9][0-9]*)"
_TOKEN = rb'("[^"\\\x00-\x1f]*"|' + _NUMBER + rb"|null|true|false)"
_ALT_TOKEN = rb'("[^"\\\x00-\x1f{}\[\]]*"|' + _NUMBER + rb"|null|true|false)"
_END = re.compile(_WS + rb"\]" + _WS + rb"\}" + _WS)
_SEP = re.compile(_WS + rb"," + _WS)
_FOLLOWED = re.compile(_WS + rb"[^ \t\n\r]")  # something after the whitespace
_TOP = ("MD5", "SHA1", "SHA256")  # top-level hash fields the template takes, in the exact reader's order
_ALT_KEYS = {"HashName", "HashValue", "Quality"}
_READ = {"MediaID", "Category", "PhotoDNA", *_TOP}  # the keys whose tokens _batch reads (with AlternativeHashes)


class _Template:
    """The regular expressions of one item shape (``keys``, ``alt_keys``): ``flexible`` (any JSON
    whitespace, any number of ``AlternativeHashes`` elements, the array captured whole) and ``strict``
    (the first item's whitespace and number of elements, each element's values captured: the common
    case, faster), or None when the first item does not fit it. Groups: the match (with the comma
    before the item), the item, then its values."""

    def __init__(self, keys: list[str], alt_keys: list[str] | None, alts: int, buf: bytes) -> None:
        self.keys, self.alt_keys, self.alts = keys, alt_keys, alts
        self.flexible = re.compile(self._build(lambda: _WS, None))
        self.alt = None if alt_keys is None else re.compile(self._alt(alt_keys, _ALT_TOKEN, lambda: _WS))
        self.strict: re.Pattern[bytes] | None = None
        if alt_keys is not None and alts:
            probe = re.compile(self._build(lambda: b"([ \t\n\r]*)", alts, capture=False)).match(buf)
            if probe is not None:
                spaces = iter((_WS, _WS) + tuple(map(re.escape, probe.groups()[2:])))  # (around a comma put first)
                self.strict = re.compile(self._build(lambda: next(spaces), alts))
        self.flexible_group = {k: i + 2 for i, k in enumerate(keys)}
        groups, self.group, self.alt_groups = 2, {}, []
        for key in keys:
            if key == "AlternativeHashes" and self.strict is not None:
                self.alt_groups = [list(range(groups + j * len(alt_keys), groups + (j + 1) * len(alt_keys)))
                                   for j in range(alts)]
                groups += alts * len(alt_keys)
            else:
                self.group[key] = groups
                groups += 1
        # the strict pattern's groups (numbered from 1; columns from 0) whose tokens _batch reads
        self.needed = {self.group[k] + 1 for k in self.group if k in _READ} | {g + 1 for alt in self.alt_groups for g in alt}

    def _build(self, ws: Any, alts: int | None, capture: bool = True) -> bytes:
        """The item pattern; ``ws()`` gives each whitespace's pattern in turn; ``alts``: the number
        of ``AlternativeHashes`` elements, each captured (None: the array captured whole)."""
        token = _TOKEN if capture else _TOKEN.replace(b"(", b"(?:", 1)
        alt_token = _ALT_TOKEN if capture else _ALT_TOKEN.replace(b"(", b"(?:", 1)
        group = b"(" if capture else b"(?:"
        out = group + ws() + b"," + ws() + group + b"\\{" + ws()
        for j, key in enumerate(self.keys):
            if j:
                out += ws() + b"," + ws()
            out += re.escape(json.dumps(key, ensure_ascii=False).encode("utf-8")) + ws() + b":" + ws()
            if key != "AlternativeHashes":
                out += token
            elif alts is None:
                out += b"(null|" + self._array() + b")"
            else:
                out += b"\\[" + ws()
                for i in range(alts):
                    if i:
                        out += ws() + b"," + ws()
                    out += self._alt(self.alt_keys or [], alt_token, ws)
                out += ws() + b"\\]"
        return out + ws() + b"\\}))"

    @staticmethod
    def _alt(alt_keys: list[str], token: bytes, ws: Any) -> bytes:
        out = b"\\{" + ws()
        for j, key in enumerate(alt_keys):
            if j:
                out += ws() + b"," + ws()
            out += re.escape(json.dumps(key).encode()) + ws() + b":" + ws() + token
        return out + ws() + b"\\}"

    def _array(self) -> bytes:
        if self.alt_keys is None:
            return rb"\[" + _WS + rb"\]"
        one = self._alt(self.alt_keys, _ALT_TOKEN.replace(b"(", b"(?:", 1), lambda: _WS)
        return rb"\[" + _WS + b"(?:" + one + b"(?:" + _WS + b"," + _WS + one + b")*)?" + _WS + rb"\]"


def _template(item: Any, buf: bytes) -> _Template | None:
    """The template of a first item parsed with its keys as pairs (at the start of ``buf``); None
    when it is not one."""
    if not isinstance(item, list):
        return None
    keys = [k for k, _ in item]
    if len(set(keys)) != len(keys) or "MediaID" not in keys or any(k in HASH_FIELDS and k not in _TOP for k in keys) \
            or "Media" in keys or any(c in k for k in keys for c in '"\\') or not all(k.isprintable() for k in keys):
        return None
    alt_keys: list[str] | None = None
    alts = 0
    for key, value in item:
        if key == "AlternativeHashes" and isinstance(value, list) and value:
            first = value[0]
            if not isinstance(first, list):
                return None
            alt_keys, alts = [k for k, _ in first], len(value)
            if len(set(alt_keys)) != len(alt_keys) or not set(alt_keys) <= _ALT_KEYS or not {"HashName", "HashValue"} <= set(alt_keys):
                return None
        elif isinstance(value, (list, dict)) and key != "AlternativeHashes":
            return None
    return _Template(keys, alt_keys, alts, buf)


def read_vics_fast(f: Any, start: int, name: str, report: LoadReport, sink: Any) -> tuple[int, int]:
    """The media items of the ``value`` array that starts at byte ``start`` (just after its ``[``):
    ``(entries loaded, PhotoDNA values)``; ``NotStreamable`` when the file is not one this reads."""
    f = Compacted(f, start)  # (items with only the fields read: no MediaFiles ...)
    decoder = codecs.getincrementaldecoder("utf-8")()
    data = f.read(BLOCK)
    _utf8(decoder, data, not data)
    buf, eof = b"," + data, not data
    template = _first_template(buf)
    if template is None:
        raise NotStreamable("no template")
    reader = _Items(template, name, report, sink)
    pos = 0
    while True:
        pos = reader.run(buf, pos)
        reader.check_runs()
        end = _END.fullmatch(buf, pos)
        if end is not None and eof:
            break
        got = _odd_item(buf, pos, eof)
        if got is not None:
            item_text, pos = got
            reader.odd(item_text)
            continue
        if eof:
            raise NotStreamable("not JSON this path reads")
        data = f.read(BLOCK)
        eof = not data
        _utf8(decoder, data, eof)
        if len(buf) - pos > 1 << 26:
            raise NotStreamable("an item of over 64 MB")
        buf, pos = buf[pos:] + data, 0
    return reader.loaded, reader.photodna


def _utf8(decoder: Any, data: bytes, final: bool) -> None:
    if final or not data.isascii():
        try:
            decoder.decode(data, final=final)
        except UnicodeDecodeError:
            raise NotStreamable("not UTF-8") from None


def _first_template(buf: bytes) -> _Template | None:
    sep = _SEP.match(buf)
    text = buf[sep.end():sep.end() + (1 << 20)].decode("utf-8", "ignore") if sep else ""
    try:
        item, _ = json.JSONDecoder(object_pairs_hook=list).raw_decode(text)
    except (ValueError, RecursionError):
        return None
    return _template(item, buf)


def _odd_item(buf: bytes, pos: int, eof: bool) -> tuple[str, int] | None:
    """The item at ``pos`` (after its comma) as text and the position after it, when it is whole
    in ``buf`` and followed by something (so that a number cut by the block's end is never taken)."""
    sep = _SEP.match(buf, pos)
    if sep is None:
        return None
    size = 1 << 14
    while True:  # a slice that grows until the item is in it (not the whole block decoded for each odd item)
        text = buf[sep.end():sep.end() + size].decode("utf-8", "ignore")
        try:
            _, end = json.JSONDecoder().raw_decode(text)
            if end < len(text) or sep.end() + size >= len(buf):
                break
        except (ValueError, RecursionError):
            if sep.end() + size >= len(buf) or size >= 1 << 27:
                return None
        size *= 4
    item_text = text[:end]
    stop = sep.end() + len(item_text.encode("utf-8"))
    if not eof and _FOLLOWED.match(buf, stop) is None:
        return None
    return item_text, stop


class _Items:
    """Items handed to the sink in the list's order: template matches as columns, others exactly."""

    def __init__(self, template: _Template, name: str, report: LoadReport, sink: Any) -> None:
        self.template, self.name, self.report, self.sink = template, name, report, sink
        self.number = self.loaded = self.photodna = 0
        self.batches = self.checked_items = self.checked_batches = 0
        self.slow = HashList(name)
        self.layout: Layout | None = None
        self.split_wait, self.split_backoff = 0, 1 << 16  # bytes to read the slower way before cutting again

    def run(self, buf: bytes, pos: int) -> int:
        """Every template match from ``pos`` on while they follow one another; the position after.
        Matches are sought in a window that grows while they follow one another (so that an odd item
        costs a small window's search, not the block's); items of the file's own layout are cut
        apart without a regular expression (``vics_split``) once two of them have been matched."""
        template, window = self.template, 1 << 12
        while True:
            end = min(len(buf), pos + window)
            if self.layout is not None and self.split_wait <= 0:
                got = split_items(template.strict, self.layout, buf, pos, end, template.needed)
                if got is None and end == len(buf):  # (an item cut by the block's end: the next block's)
                    pass
                elif got is None:  # not here: not tried again for a while (longer each time), not at every item
                    self.split_backoff = min(self.split_backoff * 2, 1 << 26)
                    self.split_wait = self.split_backoff
                else:
                    self.split_backoff = 1 << 16
                    n, columns, text_of, total = got
                    self._batch(columns, n, text_of, True)
                    window = min(window * 2, BLOCK) if total > window // 2 else 1 << 12
                    pos += total
                    continue
            for pattern, strict in ((template.strict, True), (template.flexible, False)):  # noqa: B007 - used after
                if pattern is not None and pattern.match(buf, pos) is not None:
                    break
            else:
                return pos
            matches = pattern.findall(buf, pos, end)
            total = sum(len(m[0]) for m in matches)
            if buf[pos:pos + total] != b"".join(m[0] for m in matches):  # not one after another: up to the first gap
                matches, at = [], pos
                for m in pattern.finditer(buf, pos, end):
                    if m.start() != at:
                        break
                    matches.append(m.groups())
                    at = m.end()
                total = at - pos
            if strict and self.layout is None and len(matches) > 1:
                self.layout = Layout(matches[1][0], matches[1][1], json.dumps(template.keys[0], ensure_ascii=False).encode())
            window = min(window * 2, BLOCK) if total > window // 2 else 1 << 12
            self._batch(list(zip(*matches)), len(matches), lambda i, matches=matches: matches[i][1], strict)
            pos += total
            self.split_wait -= total

    def check_runs(self) -> None:
        """``MixedShapes`` when the last ``CHECK_EVERY`` items or more came in runs shorter than
        ``MIN_RUN`` on average."""
        items = self.number - self.checked_items
        if items < CHECK_EVERY:
            return
        if items < MIN_RUN * (self.batches - self.checked_batches):
            raise MixedShapes(f"runs of {items / (self.batches - self.checked_batches):.1f} items")
        self.checked_items, self.checked_batches = self.number, self.batches

    def odd(self, text: str) -> None:
        """An item the template does not take: parsed and read exactly."""
        self.batches += 1
        self.split_wait -= len(text)
        try:
            item = parse_json(text, MAX_JSON_DEPTH - 2)
        except ValueError:
            raise NotStreamable("not JSON") from None
        self._exact(item)

    def _exact(self, item: Any) -> None:
        if isinstance(item, dict) and "Media" in item:
            raise NotStreamable("a case export")
        self.number += 1
        self.photodna += vics_item(self.number, item, self.slow, self.report)
        self.loaded += len(self.slow.entries)
        self.sink.add_entries(self.slow.entries)
        self.slow.entries = []
        self.slow.extra.clear()

    def _batch(self, columns: list[Any], n: int, text_of: Any, strict: bool) -> None:
        """``n`` items matched by a template (``columns``: a tuple of tokens per group; ``text_of(i)``:
        item i's text): the plain ones as columns, the others the exact way, in order."""
        self.batches += 1
        group = self.template.group if strict else self.template.flexible_group
        plain = np.ones(n, bool)
        ids = self._ids(as_list(columns[group["MediaID"]]), plain)
        categories = self._categories(as_list(columns[group["Category"]]), plain) if "Category" in group else [None] * n
        found: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray, int]]] = {}  # algorithm -> (items, rows, q, rank)
        count = np.zeros(n, np.int64)
        for rank, key in enumerate(_TOP):
            if key in group:
                algorithm = HASH_FIELDS[key]
                items, rows = hexes(columns[group[key]], np.arange(n), HEX_LENGTHS[algorithm], plain)  # items: positions
                found.setdefault(algorithm, []).append((items, rows, np.full(len(items), -1, np.int64), rank))
                count += np.bincount(items, minlength=n)
        if "PhotoDNA" in group:
            photodna = photodna_values(as_list(columns[group["PhotoDNA"]]), plain)
            count += photodna
        else:
            photodna = np.zeros(n, np.int64)
        if strict:
            alt_groups, m = self.template.alt_groups, self.template.alts
            fields = [interleave([columns[g[k]] for g in alt_groups]) for k in range(len(alt_groups[0]))]
            self._alternatives(np.full(n, m, np.int64), fields, plain, found, count)
        elif "AlternativeHashes" in group and self.template.alt is not None:
            tokens = columns[group["AlternativeHashes"]]
            counts = np.fromiter((t.count(b"{") for t in tokens), np.int64, n)
            alts = self.template.alt.findall(b"".join(tokens)) if counts.any() else []
            if alts:
                self._alternatives(counts, list(zip(*alts)), plain, found, count)
        plain &= count > 0  # no usable hash: the exact reader's report line
        lo = 0
        for i in np.flatnonzero(~plain).tolist() + [n]:  # runs of plain items, then one item the exact way
            if i > lo:
                run = {a: _sorted(chunks, lo, i) for a, chunks in found.items()}
                self.sink.add_plain(ids[lo:i], categories[lo:i], run)
                self.loaded += int(count[lo:i].sum())
                got = int(photodna[lo:i].sum())
                self.photodna += got
                self.number += i - lo
                if got:
                    self.sink.add_unmatchable("photodna", got)
            if i < n:
                self._exact(parse_json(text_of(i).decode("utf-8")))
            lo = i + 1

    def _ids(self, tokens: tuple[bytes, ...], plain: np.ndarray) -> Any:
        """MediaIDs: int64 when every one is a whole number of up to 18 digits, else text."""
        joined = b"".join(tokens)
        if joined.isdigit() and len(joined) <= 18 * len(tokens) and max(map(len, tokens)) <= 18:
            return np.array(tokens, "S18").astype(np.int64)
        ids = []
        for i, token in enumerate(tokens):
            if token[:1] == b'"' and len(token) > 2:
                ids.append(token[1:-1].decode("utf-8"))
            elif token[:1].isdigit() and len(token) <= 18:
                ids.append(token.decode("ascii"))
            else:  # "", null, true, false, -1, 19 digits: the exact reader's
                ids.append("")
                plain[i] = False
        return ids

    def _categories(self, tokens: tuple[bytes, ...], plain: np.ndarray) -> list[str | None]:
        values: dict[bytes, Any] = {}
        for token in set(tokens):
            values[token] = (token[1:-1].decode("utf-8") or None) if token[:1] == b'"' else None if token == b"null" \
                else token.decode("ascii") if token[:1].isdigit() and len(token) <= 18 else False
        categories = list(map(values.__getitem__, tokens))
        if False in values.values():
            plain &= np.fromiter((c is not False for c in categories), bool, len(categories))
        return categories

    def _alternatives(self, counts: np.ndarray, fields: list[Any], plain: np.ndarray, found: dict[str, list[Any]],
                      count: np.ndarray) -> None:
        """Items' ``AlternativeHashes`` elements (``counts`` of them each; ``fields``: a column per key)."""
        n, alt_keys = len(counts), self.template.alt_keys or []
        item = np.repeat(np.arange(n), counts)
        names = as_list(fields[alt_keys.index("HashName")])
        algorithm_of = {t: alt_algorithm(t) for t in set(names)}
        algorithms = np.asarray([algorithm_of[t] for t in names], object)
        plain[item[algorithms == None]] = False  # noqa: E711 - elementwise
        quality = qualities(as_list(fields[alt_keys.index("Quality")])) if "Quality" in alt_keys else np.full(len(item), -1, np.int64)
        plain[item[quality > 100]] = False
        values = fields[alt_keys.index("HashValue")]
        for algorithm in set(algorithm_of.values()) - {None}:
            picked = np.flatnonzero(algorithms == algorithm)
            chosen = values[picked] if isinstance(values, np.ndarray) else tuple(values[j] for j in picked.tolist())
            at, rows = hexes(chosen, item[picked], HEX_LENGTHS[algorithm], plain)
            kept = picked[at]
            found.setdefault(algorithm, []).append((item[kept], rows, quality[kept], 10 + kept))
            count += np.bincount(item[kept], minlength=n)


def _sorted(chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray, Any]], lo: int, hi: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An algorithm's entries of items ``lo``..``hi - 1``: item numbers (from ``lo``), rows and
    qualities, in the exact reader's order (by item, then top-level field, then alternative)."""
    items = np.concatenate([c[0] for c in chunks])
    rank = np.concatenate([np.broadcast_to(np.asarray(c[3], np.int64), len(c[0])) for c in chunks])
    order = np.lexsort((rank, items))
    order = order[(items[order] >= lo) & (items[order] < hi)]
    return items[order] - lo, np.concatenate([c[1] for c in chunks])[order], np.concatenate([c[2] for c in chunks])[order]
