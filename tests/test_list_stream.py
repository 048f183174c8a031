"""The columnar fast path (formats/columnar.py, HashIndex.add_list_file) against the exact reader:
same entries, same report lines, same index, same refusals, on generated lists with bad lines."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from ocsea_match import HashIndex
from ocsea_match.formats import EmptyListError, ListError, columnar, load_list
from ocsea_match.formats.columnar import read_columns


def _hex(rng: random.Random) -> str:
    return "%064x" % rng.getrandbits(256)


def _csv_line(rng: random.Random, i: int) -> str:
    """A row of ``pdq,id,category,quality``: mostly plain, sometimes whatever real exports hold."""
    h = _hex(rng)
    shapes = [
        lambda: f"{h},{i},{rng.choice(['1', '2', 'B1', ''])},{rng.choice(['', '0', '49', '50', '100', '7'])}",
        lambda: f"{h.upper()},{rng.choice(['A' + str(i), str(i % 50), '007', '', ' x ', 'é' + str(i)])},1,80",
        lambda: f'"{h}","{i}","cat, with comma",90',  # quoted
        lambda: f" {h} ,{i},1,90",  # padded hash
        lambda: f"{h},{i},1,87.0",  # a quality the exact reader accepts
        lambda: f"{h},{i},1,101",  # out of range
        lambda: f"{h},{i},1,abc",
        lambda: f"{h},{i}",  # short row
        lambda: f"{h},{i},1,60,extra,fields",
        lambda: f"{h[:63]},{i},1,60",  # bad hash
        lambda: f"{h[:62]}zz,{i},1,60",
        lambda: "",
        lambda: "   ",
        lambda: "# a comment",
        lambda: f"#{h},{i},1,60",  # a row whose first cell starts with '#'
        lambda: f"{h},{i},\t1 ,60",
        lambda: f"{h},{i},1,60\x00",
    ]
    return shapes[0]() if rng.random() < 0.6 else rng.choice(shapes)()


def _plain_line(rng: random.Random) -> str:
    h = _hex(rng)
    return rng.choice([h, h, h, h.upper(), f"  {h}", f"{h} trailing words", h[:60], "", "# note", "xyz", h + "0"])


def _write(path: Path, lines: list[str], rng: random.Random) -> Path:
    newline = rng.choice(["\n", "\r\n", "\r"])
    bom = rng.choice(["", "\ufeff"])
    end = rng.choice(["", newline])
    path.write_bytes((bom + newline.join(lines) + end).encode("utf-8"))
    return path


def _lists(tmp_path: Path, seed: int) -> list[Path]:
    rng = random.Random(seed)
    header = rng.choice(["pdq,id,category,quality", "hash,name,label,quality", "Hash;ID;Category;Quality",
                         "signal\tmedia_id\tclass\tquality", "notes,thing,category,quality", None])
    delimiter = ";" if header and ";" in header else "\t" if header and "\t" in header else ","
    rows = [_csv_line(rng, i).replace(",", delimiter) for i in range(rng.randint(1, 700))]
    lead = ["# exported list", ""] if rng.random() < 0.5 else []
    csv = _write(tmp_path / f"list{seed}.csv", lead + ([header] if header else []) + rows, rng)
    plain = _write(tmp_path / f"plain{seed}.txt", [_plain_line(rng) for _ in range(rng.randint(1, 700))], rng)
    return [csv, plain]


def _same(path: Path, may_fall_back: bool = False) -> None:
    try:
        hash_list, report = load_list(path)
    except ListError as exc:
        try:
            columns = read_columns(path)
        except ListError as got:
            assert type(got) is type(exc) and str(got) == str(exc)
            assert got.report.to_json() == exc.report.to_json()
            return
        assert columns is None  # handed to load_list, which refuses it in its words
        return
    columns = read_columns(path)
    if columns is None and may_fall_back:  # a first block too small for the header: load_list reads it
        return
    assert columns is not None
    assert columns.report.to_json() == report.to_json()
    assert [r.tobytes().hex() for r in columns.rows] == [e.hex for e in hash_list.entries]
    assert [columns.entry_id(i) for i in range(len(columns.rows))] == [e.entry_id for e in hash_list.entries]
    assert [columns.vocabulary[c] for c in columns.codes] == [e.category for e in hash_list.entries]
    quality = [None] * len(columns.rows) if columns.quality is None else [None if q < 0 else int(q) for q in columns.quality]
    assert quality == [e.quality for e in hash_list.entries]


def _index_state(index: HashIndex) -> tuple:
    table = index.parts.perceptual["pdq"]
    described = [index.parts.entries.describe(k) for k in range(len(index))]
    return described, table.rows.tobytes(), table.entries.tolist(), index.parts.entries.vocabulary


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("block", [64, 1000, 4 << 20])
def test_fast_path_reads_what_the_exact_reader_reads(tmp_path: Path, seed: int, block: int,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(columnar, "BLOCK", block)  # block edges anywhere: lines split across reads
    for path in _lists(tmp_path, seed):
        _same(path, may_fall_back=block < 1000)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("floor", [0, 50, 101 - 1])
def test_index_from_the_columns_is_the_index_from_the_list(tmp_path: Path, seed: int, floor: int) -> None:
    for path in _lists(tmp_path, seed):
        old = HashIndex(pdq_quality_floor=floor)
        try:
            hash_list, old_report = load_list(path)
            old.add_list(hash_list, old_report)
        except ListError as exc:
            with pytest.raises(type(exc)) as got:
                HashIndex(pdq_quality_floor=floor).add_list_file(path)
            assert str(got.value) == str(exc)
            continue
        new = HashIndex(pdq_quality_floor=floor)
        new_report = new.add_list_file(path)
        assert new_report.to_json() == old_report.to_json()
        assert _index_state(new) == _index_state(old)
        query = {"pdq": {"hex": hash_list.entries[0].hex, "quality": 100}}
        assert new.match(query) == old.match(query)


def test_repeated_ids_are_one_entry(tmp_path: Path) -> None:
    rng = random.Random(5)
    for ids in (["7", "8", "7", "9", "8"], ["a", "b", "a", "7", "b"]):
        path = tmp_path / "rep.csv"
        path.write_text("pdq,id,category\n" + "".join(f"{_hex(rng)},{i},{k % 2}\n" for k, i in enumerate(ids)))
        old = HashIndex()
        old.add_list(*load_list(path))
        new = HashIndex()
        new.add_list_file(path)
        assert len(new) == len(old) == 3
        assert _index_state(new) == _index_state(old)


def test_strict_and_empty_refusals_are_the_same(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("pdq,id\n" + "nothex,1\n" * 3)
    for strict in (False, True):
        with pytest.raises(ListError) as old:
            load_list(path, strict=strict)
        with pytest.raises(ListError) as new:
            HashIndex().add_list_file(path, strict=strict)
        assert type(new.value) is type(old.value) and str(new.value) == str(old.value)
    path.write_text("pdq,quality\n" + "".join(f"{_hex(random.Random(1))},{q}\n" for q in (10, 20)))
    with pytest.raises(EmptyListError, match="under the quality floor"):
        HashIndex().add_list_file(path)


def test_other_formats_go_to_the_exact_reader(tmp_path: Path) -> None:
    h = "ab" * 32
    utf16 = tmp_path / "u16.csv"
    utf16.write_text(f"pdq,id\n{h},1\n", encoding="utf-16")
    jsonl = tmp_path / "r.jsonl"
    jsonl.write_text('{"path": "a", "hashes": {"pdq": {"hex": "%s", "quality": 90}}}\n' % h)
    digests = tmp_path / "d.md5"
    digests.write_text("d41d8cd98f00b204e9800998ecf8427e  a.jpg\n")
    bad_utf8 = tmp_path / "bad.txt"
    bad_utf8.write_bytes(f"{h}\n".encode() + b"\xff\xfe broken\n")
    for path in (utf16, jsonl, digests, bad_utf8, tmp_path):
        assert read_columns(path) is None
    index = HashIndex()
    assert index.add_list_file(utf16).loaded == 1
    with pytest.raises(ListError, match="not UTF-8"):
        index.add_list_file(bad_utf8)


def test_many_lines_few_objects(tmp_path: Path) -> None:
    """A list far bigger than the read buffer: every line read, rows packed, ids stored as numbers."""
    rng = np.random.default_rng(3)
    rows = rng.integers(0, 256, (30_000, 32), dtype=np.uint8)
    lines = [f"{r.tobytes().hex()},{i + 1},1" for i, r in enumerate(rows)]
    lines[100] = "oops,101,1"
    path = tmp_path / "big.csv"
    path.write_text("pdq,id,category\n" + "\n".join(lines) + "\n")
    columns = read_columns(path)
    assert isinstance(columns.ids, np.ndarray) and columns.ids.dtype == np.int64
    assert columns.report.problems == [(102, "not a 64-character PDQ hash: 'oops'")]
    assert np.array_equal(columns.rows, np.delete(rows, 100, axis=0))


def test_a_field_past_the_csv_limit_is_reported_as_load_list_does(tmp_path: Path) -> None:
    h = "ab" * 32
    path = tmp_path / "long.csv"
    path.write_text(f"pdq,id\n{h},1\n{h},{'x' * 140_000}\n{h},3\n")
    _same(path)
    assert read_columns(path).report.problems[0][0] == 3


@pytest.mark.parametrize("seed", range(40))
def test_mutated_lists_read_the_same(tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Random bytes (quotes, NUL, CR, delimiters, non-ASCII, broken UTF-8) put into a good list:
    the fast path gives load_list's result or hands the file to it, never something else."""
    monkeypatch.setattr(columnar, "BLOCK", 700)
    rng = random.Random(1000 + seed)
    for path in _lists(tmp_path, seed):
        data = bytearray(path.read_bytes())
        for _ in range(rng.randint(1, 12)):
            at = rng.randrange(len(data) + 1)
            data[at:at] = rng.choice([b'"', b"\x00", b"\r", b"\n", b",", b";", b"\t", b"#", b" ", "é".encode(), b"\xff",
                                      b"\xef\xbb\xbf", b"ab" * 32, b"9", b"-"])
        path.write_bytes(bytes(data))
        _same(path, may_fall_back=True)
