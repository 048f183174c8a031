"""The VICS fast path (formats/vics_fast.py: items parsed from the bytes by a template) against the
exact reader: ``add_list_file`` gives the index and report of ``load_list`` + ``add_list`` on files
whose items mostly share a shape, with escaped strings, reordered and duplicate keys, nested
objects, unicode, odd values and whitespace mixed in, blocks cutting items anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ocsea_match import HashIndex
from ocsea_match.formats import LoadReport, vics_fast
from test_list_streaming import VICS2, _same_as_load_list

HEX = st.integers(0, 2**256 - 1).map(lambda v: f"{v:064x}")
KEYS = ["MediaID", "Category", "MD5", "SHA1", "AlternativeHashes", "Series", "PhotoDNA", "SHA256"]


def _value(key: str, draw, odd: bool) -> str:
    """A value's JSON text: plain, or (``odd``) one the fast path must hand to the exact reader."""
    h = draw(HEX)
    plain = {"MediaID": st.sampled_from([str(draw(st.integers(0, 10**18))), str(draw(st.integers(1, 40))), '"M-1"', '"é7"']),
             "Category": st.sampled_from(["1", "2", "null", '"B1"', '""']),
             "MD5": st.sampled_from([f'"{h[:32]}"', f'"{h[:32].upper()}"', "null", '""', "5"]),
             "SHA1": st.sampled_from([f'"{h[:40]}"', "null"]),
             "SHA256": st.sampled_from([f'"{h}"', "null"]),
             "Series": st.sampled_from(['"S-1"', "true", "12", '"ü"']),
             "PhotoDNA": st.sampled_from(['"AAEC"', '""', "null"])}
    weird = ['"\\u0041-1"', '"a\\"b"', "-0", "1.5", "1e3", "01", "true", '"  "', '" ab "', f'"{h[:31]}"', f'"{h[:32]}\\n"',
             '{"x": [1, {"y": "}"}]}', "[]", '"\\ud800"', str(10**19), '"\\u00e9"', "-7", '"\t"', '"zz"']
    if key == "AlternativeHashes":
        alts = draw(st.lists(st.tuples(st.sampled_from(["PDQ", "pdq", "MD5", "PHASH", "PDQ-ROBUST", "PHOTODNA", "X", "SHA256"]),
                                       st.sampled_from(["100", "0", "49", "null", "101", '"87"', "true"]), st.booleans()),
                             max_size=3))
        out = []
        for name, quality, bad in alts:
            width = {"MD5": 32, "PHASH": 16}.get(name.upper(), 64)
            value = f'"{h[:width]}"' if not (bad and odd) else draw(st.sampled_from(['"zz"', '""', "null", f'"{h[:width - 1]}"']))
            fields = [f'"HashName": "{name}"', f'"HashValue": {value}', f'"Quality": {quality}']
            out.append("{" + ", ".join(fields) + "}")
        return "[" + ", ".join(out) + "]" if out or not odd else draw(st.sampled_from(["null", "[]", '"x"', "7"]))
    return draw(st.sampled_from(weird)) if odd else draw(plain[key])


@st.composite
def _vics_text(draw) -> bytes:
    keys = draw(st.permutations(KEYS[:5]))
    keys += [k for k in KEYS[5:] if draw(st.booleans())]
    spaces = draw(st.sampled_from([(" ", ""), ("", ""), ("\n  ", "\r\n"), ("\t", " ")]))
    items = []
    for _ in range(draw(st.integers(0, 30))):
        kind = draw(st.sampled_from(["plain"] * 6 + ["odd-value", "reordered", "duplicate", "nested", "missing", "spaced", "scalar"]))
        if kind == "scalar":
            items.append(draw(st.sampled_from(["7", '"text"', "null", "[]", "{}"])))
            continue
        order = list(keys)
        if kind == "reordered":
            order = draw(st.permutations(keys))
        if kind == "missing":
            order.remove(draw(st.sampled_from(order)))
        odd = draw(st.sampled_from(order)) if kind == "odd-value" else None
        pairs = [(k, _value(k, draw, k == odd)) for k in order]
        if kind == "duplicate":
            pairs.append(draw(st.sampled_from(pairs)))
        if kind == "nested":
            pairs.append(("Media" if draw(st.booleans()) else "MediaFiles", '[{"FileName": "a [1].jpg"}]'))
        sep = spaces[0] if kind != "spaced" else " \n "
        items.append("{" + sep + ("," + sep).join(f'"{k}":{sep}{v}' for k, v in pairs) + sep + "}")
    text = '{{"@odata.context": "{}#Media", "value": [{}{}{}]}}'.format(VICS2, spaces[1], ("," + spaces[1]).join(items), spaces[1])
    return (draw(st.sampled_from(["", "\ufeff"])) + text).encode("utf-8")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_vics_text(), block=st.sampled_from([1, 7, 64, 1 << 22]), floor=st.sampled_from([0, 50]),
       check=st.sampled_from([vics_fast.CHECK_EVERY, 1]))
def test_fast_vics_is_the_exact_readers_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes, block: int,
                                             floor: int, check: int) -> None:
    monkeypatch.setattr(vics_fast, "BLOCK", block)
    monkeypatch.setattr(vics_fast, "CHECK_EVERY", check)  # 1: short runs hand the file to ijson's path part way
    path = tmp_path / "known_list.json"
    path.write_bytes(data)
    _same_as_load_list(path, floor)


ALT = '"AlternativeHashes": [{"HashName": "PDQ", "HashValue": "%s"}]' % ("b" * 64)


@pytest.mark.parametrize("item, templates", [
    ('{"MediaID": 1, "MD5": "%s"}' % ("a" * 32), "flexible"),  # no AlternativeHashes: no strict template
    ('{{"MediaID": 1, "MD5": "{}", {}}}'.format("a" * 32, ALT), "strict"),
    ('{{"MediaID": "\\u00e9", "MD5": "{}", {}}}'.format("a" * 32, ALT), "flexible"),  # an escape: the strict probe fails
    ('{"MediaID": 1, "MediaFiles": [{"x": 1}], "MD5": "%s"}' % ("a" * 32), "none"),  # nested: none from the raw bytes (the reader compacts them first: vics_compact)
])
def test_the_first_item_sets_the_template(tmp_path: Path, item: str, templates: str) -> None:
    second = '{"MediaID": 2, "MD5": "%s"}' % ("c" * 32)
    path = tmp_path / "known_list.json"
    path.write_text(f'{{"@odata.context": "{VICS2}#Media", "value": [{item}, {second}]}}', encoding="utf-8")
    with open(path, "rb") as f:
        data = f.read()
    template = vics_fast._first_template(b"," + data[data.index(b"[") + 1:])
    assert ("none" if template is None else "strict" if template.strict is not None else "flexible") == templates
    _same_as_load_list(path)
    assert HashIndex().add_list_file(path).loaded == 2 + (ALT in item)


def test_a_list_of_plain_items_goes_through_the_strict_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    items = [{"MediaID": i, "Category": i % 3, "MD5": f"{i:032x}", "AlternativeHashes": [
        {"HashName": "PDQ", "HashValue": f"{i:064x}", "Quality": 90}]} for i in range(1, 3001)]
    path = tmp_path / "known_list.json"
    path.write_text(json.dumps({"@odata.context": VICS2 + "#Media", "value": items}, indent=1), encoding="utf-8")
    exact = []
    monkeypatch.setattr(vics_fast, "vics_item", lambda *a: exact.append(a) or 0)
    report = HashIndex().add_list_file(path)
    assert report.loaded == 6000 and not exact  # no item read the slow way


MUTATIONS = [  # (old, new) applied to one item's text: same length or not, JSON or not
    ('"MD5": "', '"MD5": "\\u0041'), ('"MD5": "', '"MD5": "\t'), ('"Quality": 100', '"Quality": 1e2'),
    ('"Quality": 100', '"Quality": 010'), ('"Category": 1', '"Category": "1"'), ('"Category": 1', '"Category": -1'),
    ('"Category": 1', '"Category": 1.'), ('"HashName": "PDQ"', '"HashName": "MD5"'), ('"HashName": "PDQ"', '"HashName": "PDX"'),
    ('", "SHA1"', '",  "SHA1"'), ('"SHA1": "', '"SHA1": "g'), ('"MediaID": ', '"MediaID": "é'), ('{"MediaID"', '{"MediaId"'),
    ('"Quality": 100', '"Quality": 100, "Quality": 5'), ('"SHA1": "', '"SHA1": "\u00e9'), ('"Category": 1', '"Category": nul'),
]


@st.composite
def _uniform_vics(draw) -> tuple[bytes, int]:
    n = draw(st.integers(3, 40))
    items = []
    for _ in range(n):
        h = draw(HEX)
        items.append(json.dumps({"MediaID": draw(st.integers(1, 10**6)), "Category": 1, "MD5": h[:32], "SHA1": h[:40].upper(),
                                 "AlternativeHashes": [{"HashName": "PDQ", "HashValue": h, "Quality": 100}]}))
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, n - 1))
        old, new = draw(st.sampled_from(MUTATIONS))
        items[i] = items[i].replace(old, new, 1)
    sep = draw(st.sampled_from([", ", ",\n"]))
    return ('{"@odata.context": "%s#Media", "value": [%s]}' % (VICS2, sep.join(items))).encode("utf-8"), n  # noqa: UP031


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_uniform_vics(), block=st.sampled_from([64, 300, 1 << 22]))
def test_items_cut_apart_are_the_exact_readers_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    data: tuple[bytes, int], block: int) -> None:
    """Files of one layout (``vics_split`` cuts them apart) with a few items mutated anywhere."""
    monkeypatch.setattr(vics_fast, "BLOCK", block)
    path = tmp_path / "known_list.json"
    path.write_bytes(data[0])
    _same_as_load_list(path)


def test_the_layout_path_reads_a_uniform_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cut = []
    real = vics_fast.split_items
    monkeypatch.setattr(vics_fast, "split_items", lambda *a: cut.append(real(*a)) or cut[-1])
    items = [{"MediaID": i, "Category": 1, "MD5": f"{i:032x}", "AlternativeHashes": [{"HashName": "PDQ", "HashValue": f"{i:064x}"}]}
             for i in range(1, 2001)]
    path = tmp_path / "known_list.json"
    path.write_text(json.dumps({"@odata.context": VICS2 + "#Media", "value": items}), encoding="utf-8")
    _same_as_load_list(path)
    assert sum(got[0] for got in cut if got) > 1400  # all but the first window's (matched to learn the layout)


@pytest.mark.parametrize("ids", ["unique", "repeated-late", "repeated-in-batch", "text-late"])
def test_numeric_media_ids_kept_as_numbers_until_one_repeats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ids: str) -> None:
    monkeypatch.setattr(vics_fast, "BLOCK", 4096)  # many blocks and batches
    media = list(range(1, 1201))
    if ids == "repeated-late":
        media[1100] = 7
    elif ids == "repeated-in-batch":
        media[5] = media[4]
    items = [{"MediaID": m, "Category": 1, "MD5": f"{i:032x}", "AlternativeHashes": [{"HashName": "PDQ", "HashValue": f"{i:064x}"}]}
             for i, m in enumerate(media)]
    if ids == "text-late":
        items[1000]["MediaID"] = "A-1"
    path = tmp_path / "known_list.json"
    path.write_text(json.dumps({"@odata.context": VICS2 + "#Media", "value": items}), encoding="utf-8")
    _same_as_load_list(path)


def test_items_that_change_shape_every_few_go_to_ijsons_path(tmp_path: Path) -> None:
    """Runs of template items shorter than MIN_RUN: the fast path gives up part way (MixedShapes) and
    the file is read again from its start by ijson's path into a new sink: the exact index and report."""
    items = []
    for i in range(6000):
        item = {"MediaID": i + 1 if i % 2 else f"m{i}", "Category": i % 3, "MD5": f"{i:032x}"}
        if i % 5:
            item["AlternativeHashes"] = [{"HashName": "PDQ", "HashValue": f"{i:064x}", "Quality": 100}]
        if i == 4999:
            item["MD5"] = "not hex"  # a report line from the item read after the restart
        items.append(item)
    path = tmp_path / "known_list.json"
    path.write_text(json.dumps({"@odata.context": VICS2 + "#Media", "value": items}), encoding="utf-8")
    data = path.read_bytes()

    class Collect:
        def __getattr__(self, name):
            return lambda *args, **kwargs: None

    with open(path, "rb") as f, pytest.raises(vics_fast.MixedShapes):
        vics_fast.read_vics_fast(f, data.index(b"[") + 1, "known_list", LoadReport("known_list", "vics"), Collect())
    _same_as_load_list(path, streamed=True)


def test_an_id_that_is_not_utf8_text_is_a_report_line(tmp_path: Path) -> None:
    """A ``"\\ud800"`` escape gives a lone surrogate, which no output can hold: the item is named by
    its number with a report line (it crashed the index with UnicodeEncodeError; hypothesis found it)."""
    path = tmp_path / "known_list.json"
    md5 = "0" * 32
    items = f'{{"MediaID": 0, "MD5": "{md5}"}}, {{"Category": 1, "MediaID": "\\ud800", "MD5": "{md5}"}}'
    path.write_text(f'{{"@odata.context": "{VICS2}#Media", "value": [{items}]}}', encoding="utf-8")
    _same_as_load_list(path, 0)
    report = HashIndex().add_list_file(path)
    assert report.loaded == 2 and any("not a number or text (UTF-8)" in text for _, text in report.problems)
    jsonl = tmp_path / "known_list.jsonl"
    jsonl.write_text(f'{{"path": "\\ud800", "md5": "{md5}"}}\n{{"path": "b", "md5": "{"1" * 32}"}}\n')
    _same_as_load_list(jsonl, 0)
    assert HashIndex().add_list_file(jsonl).problems == [(1, "'path' is not text (UTF-8) or a number: '\\ud800'")]
