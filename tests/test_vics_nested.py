"""VICS items with nested fields (real exports' ``MediaFiles`` arrays, other nested and flat extras)
on the fast path: ``formats/vics_compact.py`` (native ``_vics.compact_items``) hands the template only
the fields the exact reader reads; ``add_list_file`` must still give the index and report of
``load_list`` + ``add_list``, with odd nested content (escapes, unicode, NaN, invalid JSON, keys
written with escapes, duplicate keys, nesting at the depth limit) and blocks cutting items anywhere."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ocsea_match import HashIndex
from ocsea_match.formats import vics_fast
from ocsea_match.formats.model import MAX_JSON_DEPTH
from ocsea_match.formats.vics_compact import Compacted
from test_list_streaming import VICS2, _same_as_load_list

HEX = st.integers(0, 2**256 - 1).map(lambda v: f"{v:064x}")
NAMES = st.sampled_from(['"IMG_0001.jpg"', '"a [1].jpg"', '"caf\u00e9 \u2014 \U0001f600.png"', '"a\\"b}.jpg"', '"\\u00e9.jpg"',
                         '"x\\ny"', '""', '"\\ud800"'])
PATHS = st.sampled_from(['"C:\\\\Users\\\\x\\\\Pictures\\\\"', '"/mnt/evidence/a{b"', '"\\\\\\\\server\\\\share\\\\"', "null"])
#: nested values json.loads takes and the native checker leaves to the exact reader, or that are not JSON at all
ODD_NESTED = ["[NaN]", '{"x": Infinity}', "[-Infinity]", "[1e400]", "[-0.0, 1E+2, 0.5e-3]", "[1,]", '{"a" 1}', "[01]",
              '["\x01"]', '["\\q"]', "[tru]", "[" * 3 + "]" * 3, '{"a": {"b": {"c": []}}}', "[" + "9" * 5000 + "]",
              '[" \\u12G4"]', "{}", "[]"]


@st.composite
def _files(draw) -> str:
    """A ``MediaFiles`` array's JSON text: 0-4 files with names, paths, sizes, nested EXIF."""
    files = []
    for _ in range(draw(st.integers(0, 4))):
        pairs = [f'"FileName": {draw(NAMES)}', f'"FilePath": {draw(PATHS)}', f'"FileSize": {draw(st.integers(0, 10**12))}',
                 '"Created": "/Date(1700000000000)/"']
        if draw(st.booleans()):
            pairs.append('"Exif": {"Make": "Cam", "GPS": [1.5, -2, null, true, false]}')
        files.append("{" + draw(st.sampled_from([", ", ",", ",\n   "])).join(draw(st.permutations(pairs))) + "}")
    return "[" + ", ".join(files) + "]"


@st.composite
def _nested_vics(draw) -> bytes:
    items = []
    for _ in range(draw(st.integers(0, 30))):
        h = draw(HEX)
        pairs = [("MediaID", str(draw(st.integers(1, 10**6)))), ("Category", draw(st.sampled_from(["1", "2", "null", '"B1"']))),
                 ("MD5", f'"{h[:32].upper()}"'), ("SHA1", f'"{h[:40]}"'), ("MediaFiles", draw(_files())),
                 ("AlternativeHashes", '[{"HashName": "PDQ", "HashValue": "%s", "Quality": %d}]' % (h, draw(st.integers(0, 100))))]  # noqa: UP031
        for key, value in (("Series", '"S-1"'), ("MediaSize", "12345"), ("IsDistributed", "true"), ("Tags", '["a", {"b": []}]')):
            if draw(st.booleans()):
                pairs.insert(draw(st.integers(0, len(pairs))), (key, value))
        kind = draw(st.sampled_from(["plain"] * 8 + ["odd-nested", "escaped-key", "duplicate", "media", "scalar", "moved", "spaced",
                                                   "broken"]))
        if kind == "scalar":
            items.append(draw(st.sampled_from(["7", '"text"', "null", "[]", "{}"])))
            continue
        if kind == "odd-nested":
            pairs[4] = ("MediaFiles", draw(st.sampled_from(ODD_NESTED)))
        elif kind == "escaped-key":  # a key the reader reads, written with an escape; or one it does not
            key = draw(st.sampled_from(["MD\\u0035", "Media\\u0046iles", "Media\\u0049D", "Alternative\\u0048ashes"]))
            pairs.append((key, draw(st.sampled_from(['"%s"' % h[:32], "[]", pairs[4][1]]))))  # noqa: UP031
        elif kind == "duplicate":
            pairs.append(draw(st.sampled_from(pairs)))
        elif kind == "media":
            pairs.append(("Media", "[]"))
        elif kind == "moved":
            pairs = draw(st.permutations(pairs))
        sep = " \n " if kind == "spaced" else draw(st.sampled_from([" ", ""]))
        texts = [f'"{k}":{sep}{v}' for k, v in pairs]
        if kind == "broken":  # not JSON at the item's own level: a comma missing or too many, a colon missing, a bare key
            at = draw(st.integers(0, len(texts) - 2))
            texts[at] = draw(st.sampled_from([texts[at] + " " + texts.pop(), texts[at] + ",", texts[at].replace(":", " ", 1),
                                              texts[at].replace('"', "", 2), texts[at] + ', "x"']))
        items.append("{" + ("," + sep).join(texts) + "}")
    text = '{"@odata.context": "%s#Media", "value": [%s]}' % (VICS2, draw(st.sampled_from([", ", ",\n "])).join(items))  # noqa: UP031
    return text.encode("utf-8")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_nested_vics(), block=st.sampled_from([1, 5, 64, 700, 1 << 22]), floor=st.sampled_from([0, 50]))
def test_nested_items_give_the_exact_readers_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes, block: int,
                                                   floor: int) -> None:
    monkeypatch.setattr(vics_fast, "BLOCK", block)  # (Compacted reads blocks of this size: items cut anywhere)
    path = tmp_path / "known_list.json"
    path.write_bytes(data)
    _same_as_load_list(path, floor)


@given(data=_nested_vics(), size=st.integers(1, 400))
@settings(max_examples=60, deadline=None)
def test_compacting_does_not_depend_on_where_blocks_end(data: bytes, size: int) -> None:
    start = data.index(b"[") + 1

    def read_all(size: int) -> bytes:
        source, out = Compacted(io.BytesIO(data), start), []
        while chunk := source.read(size):
            out.append(chunk)
        return b"".join(out)
    whole = read_all(len(data) + 1)
    assert read_all(size) == whole
    assert whole.endswith(b"]}")


@pytest.mark.parametrize("shape", ["flat", "nested"])
def test_a_file_of_hashes_only_is_read_as_it_is_after_its_first_block(shape: str) -> None:
    items = [{"MediaID": i, "MD5": f"{i:032x}", **({"MediaFiles": [{"FileName": "a.jpg"}]} if shape == "nested" else {})}
             for i in range(1, 3001)]
    text = json.dumps({"@odata.context": VICS2 + "#Media", "value": items}).encode()
    source = Compacted(io.BytesIO(text), text.index(b"[") + 1)
    out = [source.read(1 << 14) for _ in range(3)]
    assert source.plain == (shape == "flat") and b"MediaFiles" not in b"".join(out)


def test_compacted_items_keep_the_fields_read_as_written() -> None:
    item = ('{"Series": "x", "MediaID": 7, "MediaFiles": [{"FilePath": "C:\\\\a\\\\"}], "MD5":"%s",\n "Media\\u0046iles": 1, '  # noqa: UP031
            '"Category":null, "Tags": ["}"], "AlternativeHashes": [ {"HashName": "PDQ", "HashValue": "%s"} ]}') % ("a" * 32, "b" * 64)
    text = ('[' + item + ', {"MediaFiles": [NaN], "MediaID": 8}, 5]}').encode()
    got = Compacted(io.BytesIO(text), 1).read(1 << 20)
    assert got == ('{"MediaID": 7, "MD5": "%s", "Media\\u0046iles": 1, "Category": null, '  # noqa: UP031
                   '"AlternativeHashes": [ {"HashName": "PDQ", "HashValue": "%s"} ]}, '
                   '{"MediaFiles": [NaN], "MediaID": 8}, 5]}' % ("a" * 32, "b" * 64)).encode()


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH - 4, MAX_JSON_DEPTH - 3, MAX_JSON_DEPTH - 2])
def test_nesting_at_the_depth_limit(tmp_path: Path, levels: int) -> None:
    """A MediaFiles value nested ``levels`` deep: the document is 3 + levels deep (64 is the limit)."""
    deep = "[" * levels + "]" * levels
    items = [f'{{"MediaID": {i}, "MD5": "{i:032x}", "MediaFiles": {deep if i == 2 else "[]"}}}' for i in range(1, 5)]
    path = tmp_path / "known_list.json"
    path.write_text(f'{{"@odata.context": "{VICS2}#Media", "value": [{", ".join(items)}]}}', encoding="utf-8")
    _same_as_load_list(path)


def test_a_file_of_items_with_media_files_takes_the_layout_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Items as real exports write them (MediaFiles with Windows paths, extra fields): every one
    compacted, none read the exact way, nearly all cut apart by the layout path."""
    items = [{"MediaID": i, "Category": i % 3, "MD5": f"{i:032X}", "SHA1": f"{i:040x}", "MediaSize": 1000 + i, "Series": None,
              "MediaFiles": [{"FileName": f"IMG_{i}_{j}.jpg", "FilePath": f"C:\\Users\\x\\Case {i % 7}\\", "FileSize": i}
                             for j in range(1 + i % 3)],
              "AlternativeHashes": [{"HashName": "PDQ", "HashValue": f"{i:064x}", "Quality": 90}]} for i in range(1, 3001)]
    path = tmp_path / "known_list.json"
    path.write_text(json.dumps({"@odata.context": VICS2 + "#Media", "value": items}), encoding="utf-8")
    exact, cut = [], []
    real = vics_fast.split_items
    monkeypatch.setattr(vics_fast, "split_items", lambda *a: cut.append(real(*a)) or cut[-1])
    monkeypatch.setattr(vics_fast, "vics_item", lambda *a: exact.append(a) or 0)
    report = HashIndex().add_list_file(path)
    assert report.loaded == 9000 and not exact and not report.problems
    assert sum(got[0] for got in cut if got) > 2500
    monkeypatch.undo()
    _same_as_load_list(path)


@pytest.mark.parametrize("nested", ODD_NESTED + ['["\\u00e9\\"\\\\\\/\\b\\f\\n\\r\\t"]', '{"a": "b", "c": [{}, [], 0, -1.5e-7]}'])
def test_odd_nested_values(tmp_path: Path, nested: str) -> None:
    """Each odd nested value in one item of a file: compacted away when it is JSON this checker
    takes, else the item (or the file, when json refuses it) is read as the exact reader reads it."""
    items = [f'{{"MediaID": {i}, "MediaFiles": {nested if i == 3 else "[]"}, "MD5": "{i:032x}"}}' for i in range(1, 6)]
    path = tmp_path / "known_list.json"
    path.write_text(f'{{"@odata.context": "{VICS2}#Media", "value": [{", ".join(items)}]}}', encoding="utf-8")
    _same_as_load_list(path)


@pytest.mark.parametrize("old, new", [('"Category": 1', '"Categorz": 1'), ('"HashName"', '"HashNamf"'), (', "SHA1"', ',"SHA1" '),
                                      ('"MD5": "0', '"MD5": "\t'), ('"MD5": "00', '"MD5": "0"'), ('"Quality": 90', '"Quality":090'),
                                      ('"Quality": 90', '"Quality": 9e'), ('{"HashName"', '{"HashName"'.upper())])
def test_an_item_of_the_layouts_length_that_differs_from_it(tmp_path: Path, old: str, new: str) -> None:
    """One item in the middle of a uniform file changed without changing its length: the layout
    cut must not take it as one of its own (a different key, a quote or a control byte in a value)."""
    items = [json.dumps({"MediaID": 10_000 + i, "Category": 1, "MD5": f"{i:032x}", "SHA1": f"{i:040x}",
                         "AlternativeHashes": [{"HashName": "PDQ", "HashValue": f"{i:064x}", "Quality": 90}]}) for i in range(3000)]
    items[2100] = items[2100].replace(old, new, 1)
    assert len(items[2100]) == len(items[2099]) and items[2100] != items[2099].replace("2099", "2100")
    path = tmp_path / "known_list.json"
    path.write_text(f'{{"@odata.context": "{VICS2}#Media", "value": [{", ".join(items)}]}}', encoding="utf-8")
    _same_as_load_list(path)


def test_the_native_scanner_refuses_buffers_and_runs_that_do_not_fit() -> None:
    import numpy as np

    from ocsea_match._vics import compact_items, rows_match

    rows, ok = np.frombuffer(b'{"a"1}{"a"2}{"b"1}', np.uint8).reshape(3, 6), np.ones(3, np.uint8)
    rows_match(rows, rows[0].copy(), np.array([0, 4, 5, 6], np.int64), np.array([4, 5], np.int64), ok)
    assert ok.tolist() == [1, 1, 0]
    for literal in ([3, 1], [0, 7], [-1, 2], [1]):
        with pytest.raises(ValueError):
            rows_match(rows, rows[0].copy(), np.array(literal, np.int64), np.zeros(0, np.int64), ok)
    with pytest.raises(ValueError):
        compact_items(b'{"MediaID": 1}]}', np.empty(8, np.uint8), True, 62)
