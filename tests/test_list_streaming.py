"""VICS and JSONL lists streamed into the index (formats/streaming.py, _index_columns.ListBuilder)
against the exact reader: ``add_list_file`` gives the index and the report that ``load_list`` +
``add_list`` give, on generated lists with odd and hostile items, block and batch edges anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ocsea_match import HashIndex
from ocsea_match.formats import ListError, load_list, streaming, vics_fast
from ocsea_match.formats.streaming import read_streaming

VICS2 = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/CUSTOM/$metadata"
HEXES = st.integers(0, 2**256 - 1).map(lambda v: f"{v:064x}")


def _state(index: HashIndex) -> tuple:
    """Everything the index holds, comparable."""
    parts = index.parts
    return ([parts.entries.describe(k) for k in range(len(index))], parts.entries.vocabulary,
            {f: (t.rows.tobytes(), t.entries.tolist()) for f, t in parts.perceptual.items()},
            {f: t.tobytes() for f, t in parts.times.items()}, dict(parts.video_frames),
            {a: t.as_dict() for a, t in parts.exact.items()}, len(parts.tmk),
            [(ids.kind, ids.count) for ids in parts.entries.ids])


def _same_as_load_list(path: Path, floor: int = 50, streamed: bool | None = None) -> None:
    """``add_list_file`` of ``path`` == ``load_list`` + ``add_list``: index, report, or the refusal."""
    old = HashIndex(pdq_quality_floor=floor)
    try:
        hash_list, old_report = load_list(path)
        old.add_list(hash_list, old_report)
        refused = None
    except ListError as exc:
        refused = exc
    new = HashIndex(pdq_quality_floor=floor)
    if refused is not None:
        with pytest.raises(type(refused)) as got:
            new.add_list_file(path)
        assert str(got.value) == str(refused)
        assert (got.value.report and got.value.report.to_json()) == (refused.report and refused.report.to_json())
    else:
        report = new.add_list_file(path)
        assert report.to_json() == old_report.to_json()
        assert _state(new) == _state(old)
    if streamed is not None:  # the streaming path took it (or handed it to load_list)
        from ocsea_match._index_columns import ListBuilder
        try:
            got = read_streaming(path, lambda name: ListBuilder(name, floor))
        except ListError:
            got = "refused"
        assert (got is not None) == streamed


# ------------------------------------------------------------------------------------------- VICS

def _alternative() -> st.SearchStrategy:
    good = st.builds(lambda name, h, q: {"HashName": name, "HashValue": h[:{"MD5": 32, "SHA1": 40, "PHASH": 16}.get(name, 64)],
                                         **({} if q is None else {"Quality": q})},
                     st.sampled_from(["PDQ", "PDQ", "pdq", "MD5", "SHA1", "PDQ-ROBUST", "PHASH", "SHA256"]), HEXES,
                     st.one_of(st.none(), st.integers(0, 100)))
    odd = st.sampled_from([
        7, None, {"HashName": "PDQ"}, {"HashName": "PDQ", "HashValue": "zz" * 32},
        {"HashName": "PDQ", "HashValue": "AB" * 32, "Quality": 87.0}, {"HashName": "PDQ", "HashValue": "ab" * 32, "Quality": True},
        {"HashName": "PDQ", "HashValue": "ab" * 32, "Quality": 900}, {"HashName": "PDQ", "HashValue": "ab" * 32, "Quality": -1},
        {"HashName": "PDQ", "HashValue": "ab" * 32, "Timestamp": 1.5, "Quality": 90},
        {"HashName": "MD5", "HashValue": "0" * 32, "Timestamp": 1}, {"HashName": "NEWHASH", "HashValue": "00"},
        {"HashName": "PDQ", "HashValue": " " + "ab" * 32 + " "}, {"HashName": "PDQ", "HashValue": "ab" * 32, "Extra": 1},
        {"HashName": "PDQ", "HashValue": "ab" * 32, "Quality": 10**30},
    ])
    return st.one_of(good, good, good, odd)


def _item() -> st.SearchStrategy:
    media_id = st.one_of(st.integers(1, 60), st.integers(1, 60), st.sampled_from(["A-7", "", "007", "é1", 'q"\\', "\\\\", True, 1.5, [1], None]))
    category = st.one_of(st.none(), st.integers(0, 3), st.sampled_from(["1", "B1", "", 'c\\"', False, {"x": 1}]))
    digest = st.one_of(st.none(), HEXES.map(lambda h: h[:32]), HEXES.map(lambda h: h[:32].upper()),
                       st.sampled_from(["", "xyz", 5, " " + "a" * 32]))
    sha1 = st.one_of(st.none(), HEXES.map(lambda h: h[:40]), st.sampled_from(["b" * 39]))
    alts = st.one_of(st.none(), st.lists(_alternative(), max_size=3), st.sampled_from([5, "x"]))

    def build(m, c, md5, s1, a, extra):
        item = {"MediaID": m, "Category": c}
        for key, value in (("MD5", md5), ("SHA1", s1), ("AlternativeHashes", a)):
            if value is not None or extra:
                item[key] = value
        if extra == 1:
            item["Series"] = "S-1"
            item["MediaFiles"] = [{"FileName": "a [1].jpg", "Paths": ["x{", "}"]}]
        elif extra == 2:
            item["PhotoDNA"] = "AAEC"
        elif extra == 3:
            item["SHA256"] = "c" * 64
        return item
    item = st.builds(build, media_id, category, digest, sha1, alts, st.sampled_from([0, 0, 0, 1, 2, 3]))
    return st.one_of(item, item, item, item, st.sampled_from([7, "text", None, [], {}]))


@st.composite
def _vics_file(draw) -> bytes:
    items = draw(st.lists(_item(), min_size=0, max_size=25))
    key = draw(st.sampled_from(["@odata.context", "odata.metadata"]))
    doc = json.dumps({key: VICS2 + "#Media", "value": items}, indent=draw(st.sampled_from([None, 1])))
    if draw(st.booleans()):
        doc = doc.replace("\n", "\r\n")
    return (draw(st.sampled_from(["", "\ufeff"])) + doc).encode("utf-8")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_vics_file(), block=st.sampled_from([7, 64, 1 << 16]), batch=st.sampled_from([1, 3, 4096]),
       floor=st.sampled_from([0, 50, 95]))
def test_streamed_vics_is_the_exact_readers_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes, block: int,
                                                  batch: int, floor: int) -> None:
    monkeypatch.setattr(streaming, "BLOCK", block)  # blocks and batches that cut items anywhere
    monkeypatch.setattr(vics_fast, "BLOCK", block)
    monkeypatch.setattr(streaming, "BATCH", batch)
    path = tmp_path / "known_list.json"
    path.write_bytes(data)
    _same_as_load_list(path, floor)


@pytest.mark.parametrize("variant", ["plain", "bom", "crlf", "utf-16", "truncated", "deep", "value-first", "extra-key",
                                     "cases", "escapes", "trailing", "duplicate-ids", "bad-hex", "empty", "photodna-only",
                                     "under-floor"])
def test_hostile_vics_files_give_what_load_list_gives(tmp_path: Path, variant: str) -> None:
    h = "ab" * 32
    items = [{"MediaID": i, "Category": i % 3, "MD5": f"{i:032x}", "AlternativeHashes": [{"HashName": "PDQ", "HashValue": h, "Quality": 90}]}
             for i in range(1, 40)]
    doc: dict = {"@odata.context": VICS2 + "#Media", "value": items}
    streamed = True
    if variant == "duplicate-ids":
        for item in items[::3]:
            item["MediaID"] = 5
    elif variant == "bad-hex":
        items[3]["MD5"] = "zz" * 16
        items[5]["AlternativeHashes"][0]["HashValue"] = h[:60]
    elif variant == "empty":
        doc["value"] = []
    elif variant == "photodna-only":
        doc["value"] = [{"MediaID": 1, "PhotoDNA": "AAEC"}]
    elif variant == "under-floor":
        for item in items:
            item["AlternativeHashes"][0]["Quality"] = 10
            item.pop("MD5")
    elif variant == "value-first":
        doc = {"value": items, "@odata.context": VICS2 + "#Media"}  # no context in the first 2000 characters:
        streamed = None  # both read it as JSONL lines (and refuse it)
    elif variant == "extra-key":
        doc["odata.count"] = len(items)
        streamed = False
    elif variant == "cases":
        doc = {"@odata.context": VICS2 + "#Cases", "value": [{"CaseID": 1, "Media": items}]}
        streamed = False
    text = json.dumps(doc, indent=1)
    if variant == "bom":
        text = "\ufeff" + text
    elif variant == "crlf":
        text = text.replace("\n", "\r\n")
    elif variant == "truncated":
        text = text[:len(text) // 2]
        streamed = False
    elif variant == "deep":
        text = text.replace('"Category": 1,', '"Category": 1, "Series": ' + "[" * 70 + "]" * 70 + ",", 1)
        streamed = False
    elif variant == "escapes":
        text = text.replace('"Category": 2,', '"Category": "a\\"b\\u00e9\\\\",', 1)
    elif variant == "trailing":
        text += " {}"
        streamed = False
    path = tmp_path / "hotline_export.json"
    path.write_bytes(text.encode("utf-16") if variant == "utf-16" else text.encode("utf-8"))
    _same_as_load_list(path, streamed=None if variant == "utf-16" else streamed)


def test_nesting_of_100000_levels_is_refused_in_load_lists_words(tmp_path: Path) -> None:
    path = tmp_path / "hotline_export.json"
    path.write_text('{"@odata.context": "' + VICS2 + '#Media", "value": [{"MediaID": 1, "Series": ' + "[" * 100_000,
                    encoding="utf-8")
    with pytest.raises(ListError, match="nested deeper than 64 levels"):
        HashIndex().add_list_file(path)


def test_a_plain_vics_file_is_streamed_not_read_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    items = [{"MediaID": i, "Category": 1, "SHA1": f"{i:040x}"} for i in range(1, 2001)]
    path = tmp_path / "known_list.json"
    path.write_text(json.dumps({"@odata.context": VICS2 + "#Media", "value": items}), encoding="utf-8")
    monkeypatch.setattr("ocsea_match.index.load_list", lambda *a, **k: pytest.fail("read whole by load_list"))
    monkeypatch.setattr(vics_fast, "BLOCK", 4096)
    reads = []
    real = vics_fast.read_vics_fast

    class Recorded:
        def __init__(self, f):
            self.f = f

        def seek(self, at):
            return self.f.seek(at)

        def read(self, size):
            data = self.f.read(size)
            reads.append(len(data))
            return data

        def readinto(self, buffer):
            reads.append(self.f.readinto(buffer))
            return reads[-1]
    monkeypatch.setattr(streaming, "read_vics_fast", lambda f, *a: real(Recorded(f), *a))
    report = HashIndex().add_list_file(path)
    assert report.loaded == 2000 and report.format == "vics-2.0" and report.unit == "item"
    assert max(reads) <= 2 * 4096 and len(reads) > 10  # a bounded buffer (compacting reads twice the block: vics_compact)


# ------------------------------------------------------------------------------------------- JSONL

def _record() -> st.SearchStrategy:
    frame = st.builds(lambda t, h, q: {"timestamp": t, "pdq": h, "quality": q},
                      st.sampled_from([0, 0.5, 1.0, 1.0, -1, "x"]), HEXES, st.sampled_from([None, 10, 90, 100, 101]))
    record = st.fixed_dictionaries({"path": st.sampled_from(["a.jpg", "b.jpg", "a.jpg", "", 5, ["x"]])}, optional={
        "md5": st.one_of(HEXES.map(lambda h: h[:32]), st.just("bad")),
        "sha256": HEXES,
        "category": st.sampled_from(["1", None, 2]),
        "status": st.sampled_from(["ok", "error"]),
        "hashes": st.one_of(st.fixed_dictionaries({}, optional={
            "pdq": st.builds(lambda h, q: {"hex": h, "quality": q}, HEXES, st.sampled_from([None, 20, 80])),
            "phash": st.builds(lambda h: {"hex": h[:16]}, HEXES)}), st.just([1])),
        "frames": st.one_of(st.lists(frame, max_size=3), st.just(3)),
        "robust": st.builds(lambda h, q: {"list": [{"hex": h, "quality": q}]}, HEXES, st.sampled_from([None, 30, 90])),
    })
    return st.one_of(record.map(json.dumps), st.sampled_from(["", "# comment", "not json", "[1]", '{"x": ' + "[" * 80 + "]" * 80 + "}"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(_record(), max_size=20), newline=st.sampled_from(["\n", "\r\n", "\r"]), bom=st.booleans(),
       floor=st.sampled_from([0, 50, 95]))
def test_streamed_jsonl_is_the_exact_readers_index(tmp_path: Path, lines: list[str], newline: str, bom: bool, floor: int) -> None:
    path = tmp_path / "records.jsonl"
    path.write_bytes((("\ufeff" if bom else "") + '{"path": "first.jpg", "md5": "' + "9" * 32 + '"}' + newline
                      + newline.join(lines)).encode("utf-8"))
    _same_as_load_list(path, floor, streamed=True)


def test_a_long_jsonl_list_streams_in_blocks(tmp_path: Path) -> None:
    rows = [json.dumps({"path": f"{i}.jpg", "md5": f"{i:032x}", "hashes": {"pdq": {"hex": f"{i:064x}", "quality": 90}}})
            for i in range(30_000)]  # > 1 MB: several blocks
    path = tmp_path / "records.jsonl"
    path.write_text("\r\n".join(rows) + "\r\nbroken\r\n", encoding="utf-8")
    _same_as_load_list(path, streamed=True)
    index = HashIndex()
    report = index.add_list_file(path)
    assert report.problems[-1][0] == 30_001 and len(index) == 30_000
    assert np.array_equal(index.parts.perceptual["pdq"].entries, np.arange(30_000))


# ------------------------------------------------------------------------------------------- md5sum

@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.one_of(
    st.builds(lambda h, n, sep: f"{h[:n]}{sep}{'file ' + str(n)}", HEXES, st.sampled_from([32, 40, 64, 63]),
              st.sampled_from(["  ", " *", "\t", " "])),
    st.builds(lambda h: h[:32].upper() + "  same.jpg", HEXES),
    st.sampled_from(["", "# comment", "garbage", "0" * 32 + "  ", "é" * 3])), max_size=20),
    newline=st.sampled_from(["\n", "\r\n", "\r"]), bom=st.booleans())
def test_streamed_md5sum_lists_are_the_exact_readers_index(tmp_path: Path, lines: list[str], newline: str, bom: bool) -> None:
    path = tmp_path / "known_good.md5"
    path.write_bytes((("\ufeff" if bom else "") + "d41d8cd98f00b204e9800998ecf8427e  empty.txt" + newline
                      + newline.join(lines)).encode("utf-8"))
    _same_as_load_list(path, streamed=True)


@pytest.mark.parametrize("name, text", [
    ("hotline_export.json", json.dumps({"@odata.context": VICS2 + "#Media", "value": [
        {"MediaID": 1, "MD5": "0" * 32}, {"MediaID": 2, "MD5": "zz"}, {"MediaID": 3, "SHA1": 7}]})),
    ("records.jsonl", '{"path": "a", "md5": "' + "0" * 32 + '"}\nbroken\n{"path": "b", "md5": "bad"}\n'),
])
def test_strict_mode_refuses_at_the_first_problem_in_load_lists_words(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ListError) as old:
        load_list(path, strict=True)
    with pytest.raises(ListError) as new:
        HashIndex().add_list_file(path, strict=True)
    assert str(new.value) == str(old.value) and "problems in all" in str(old.value)
    assert new.value.report.to_json() == old.value.report.to_json()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.one_of(
    st.builds(lambda n, h, name: f"{n},{h[:32]},{h[:64]},{name}", st.integers(0, 10**6), HEXES,
              st.sampled_from(["a.jpg", "b, with comma.jpg", "\\x0a.jpg", "", "é.png"])),
    st.builds(lambda h: f"5,{h[:31]},{h},bad.jpg", HEXES),
    st.sampled_from(["", "## a comment", "1,2", "%%%% size,md5,tiger,filename", "%%%% size,md5,sha256,filename",
                     "## Names: control characters, bytes that are not UTF-8 and the backslash are written \\xNN"])),
    max_size=15), header=st.booleans(), newline=st.sampled_from(["\n", "\r\n"]))
def test_streamed_hashdeep_is_the_exact_readers_index(tmp_path: Path, rows: list[str], header: bool, newline: str) -> None:
    lines = ["%%%% HASHDEEP-1.0"] + (["%%%% size,md5,sha256,filename", "## Invoked from: /evidence"] if header else []) + rows
    path = tmp_path / "known_good.txt"
    path.write_bytes(newline.join(lines).encode("utf-8"))
    _same_as_load_list(path, streamed=True)


@pytest.mark.parametrize("rows", [
    [("c" * 64, "1" * 40, "2" * 32), (None, None, None), ("zz", "3" * 40, ""), ("d" * 64, None, "2" * 32)] * 4,
    [(None, None, None), ("bad", None, None)],  # no usable row: refused
    [],  # an empty table: refused
])
def test_nsrl_databases_are_streamed_a_batch_of_rows_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               rows: list[tuple]) -> None:
    import sqlite3

    from ocsea_match.formats import forensic

    monkeypatch.setattr(forensic, "NSRL_BATCH", 3)
    path = tmp_path / "NSRLFile.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE FILE (sha256 TEXT, sha1 TEXT, md5 TEXT)")
    con.executemany("INSERT INTO FILE VALUES (?, ?, ?)", rows)
    con.commit()
    con.close()
    _same_as_load_list(path, streamed=True)
    if len(rows) > 4:
        flushed = []
        forensic.read_nsrl(path, forensic.HashList("n"), forensic.LoadReport("n", "nsrl"), flush=flushed.append)
        assert max(map(len, flushed)) <= 3 * 3 and len(flushed) > 3  # a bounded batch
