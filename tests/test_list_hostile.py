"""Lists as they come from outside (issue #11, items 2, 7 and 12): any delimiter and line ending,
a list with no usable entry refused, malformed input turned into load-report lines, never a
traceback, and messages that name the list and count properly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ocsea_match import EmptyListError, HashIndex, HashList, IndexFileError, ListError, load_list
from ocsea_match.cli import EXIT_CANNOT_RUN, EXIT_OK, main
from ocsea_match.formats import readers

H1 = "f8f8f0cce0f4e84d0e370a22028f67f0b36e2ed596623e1d33e6339c4e9c9b22"
H2 = "0123456789abcdef" * 4
H3 = "a5" * 32
VICS2 = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/CUSTOM/$metadata"


# ------------------------------------------------------------------------------- item 2: delimiters


@pytest.mark.parametrize("delimiter", [";", ",", "\t", "|"])
@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_delimited_list_any_delimiter_and_line_ending(tmp_path: Path, delimiter: str, newline: str) -> None:
    rows = [["ID", "PDQ Hash", "Quality", "Category"], ["A1", H1, "100", "1"], [f"A{delimiter}2", H2, "75", ""],
            ["A3", "not a hash", "90", "2"]]
    text = newline.join(delimiter.join(f'"{c}"' if delimiter in c else c for c in row) for row in rows) + newline
    path = tmp_path / "known_list.csv"
    path.write_bytes(("\ufeff" + text).encode("utf-8"))  # as a spreadsheet exports it: with a BOM
    hash_list, report = load_list(path)
    assert report.format == "pdq-csv"
    assert [(e.entry_id, e.hex, e.quality, e.category) for e in hash_list.entries] == [
        ("A1", H1, 100, "1"), (f"A{delimiter}2", H2, 75, None)]
    assert report.problems == [(4, "not a 64-character PDQ hash: 'not a hash'")]


def test_spreadsheet_unicode_text_export_utf16(tmp_path: Path) -> None:
    path = tmp_path / "known_list.txt"
    path.write_bytes(f"hash\tid\r\n{H1}\tA1\r\n".encode("utf-16"))  # with its BOM, as Excel writes it
    hash_list, _ = load_list(path)
    assert [(e.entry_id, e.hex) for e in hash_list.entries] == [("A1", H1)]


def test_semicolon_crlf_list_matches_its_picture_from_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              images: dict) -> None:
    from ocsea_match import hash_file

    picture = tmp_path / "pictures" / "photo.png"
    picture.parent.mkdir()
    images["photo-400x300"].save(picture)
    pdq = hash_file(picture, ["pdq"])["hashes"]["pdq"]["hex"]
    listed = tmp_path / "known_list.csv"
    listed.write_bytes(f"id;hash;quality\r\nK1;{pdq};100\r\n".encode())
    code = main(["match", str(picture.parent), "--list", str(listed), "--jobs", "1", "--format", "jsonl"])
    out = capsys.readouterr().out
    assert code == 3 and json.loads(out)["matches"][0]["entry_id"] == "K1"


# ------------------------------------------------------------------------- item 2: zero entries refused


def test_list_with_no_usable_entry_is_refused_with_its_reasons(tmp_path: Path) -> None:
    path = tmp_path / "known_list.csv"
    path.write_text("hash;id\nnot-a-hash;A1\n12345;A2\n", encoding="utf-8")
    with pytest.raises(EmptyListError) as caught:
        load_list(path)
    message = str(caught.value)
    assert str(path) in message and "no usable entry" in message and "line 2" in message and "line 3" in message
    assert caught.value.report is not None and len(caught.value.report.problems) == 2
    with pytest.raises(ListError):
        HashIndex.from_lists([path])


def test_vics_cases_whose_media_is_not_an_array(tmp_path: Path) -> None:
    bad_case = {"CaseID": 1, "Media": {"MediaID": 1, "MD5": "0" * 32}}
    path = tmp_path / "cases.json"
    path.write_text(json.dumps({"@odata.context": VICS2 + "#Cases", "value": [bad_case]}), encoding="utf-8")
    with pytest.raises(ListError, match="Media' that is not an array"):
        load_list(path)
    good_case = {"CaseID": 2, "Media": [{"MediaID": 7, "MD5": "1" * 32}]}
    path.write_text(json.dumps({"@odata.context": VICS2 + "#Cases", "value": [bad_case, good_case]}), encoding="utf-8")
    hash_list, report = load_list(path)
    assert [e.entry_id for e in hash_list.entries] == ["7"]
    assert any("case 1" in note and "not an array" in note for note in report.notes)


def test_index_build_of_an_unusable_list_writes_nothing_and_exits_2(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    listed = tmp_path / "known_list.csv"
    listed.write_bytes(b"ID;PDQ\r\nA1;zz\r\n")
    out = tmp_path / "index"
    assert main(["index", "build", str(listed), "-o", str(out)]) == EXIT_CANNOT_RUN
    err = capsys.readouterr().err
    assert "no usable entry" in err and "line 2" in err and not out.exists()


def test_index_of_lists_that_cannot_match_is_refused(tmp_path: Path) -> None:
    only_photodna = HashList("pdna", [readers.ListEntry("1", "photodna", "abc")])
    with pytest.raises(EmptyListError, match="photodna"):
        HashIndex.from_lists([only_photodna])
    with pytest.raises(EmptyListError):
        HashIndex.from_lists([HashList("empty")])
    with pytest.raises(EmptyListError):
        HashIndex.from_lists([])
    flat = HashList("flat", [readers.ListEntry("1", "pdq", H1, quality=10)])
    with pytest.raises(EmptyListError, match="quality floor 50"):
        HashIndex.from_lists([flat])


def test_a_saved_index_with_no_entry_is_refused_on_load(tmp_path: Path) -> None:
    HashIndex().save(tmp_path / "index")  # what older versions wrote for a list of nothing usable
    with pytest.raises(IndexFileError, match="no entry"):
        HashIndex.load(tmp_path / "index")


# ---------------------------------------------------------------------------- item 7: malformed lists


@pytest.mark.parametrize("line, reason", [
    ('{"path": "a", "hashes": [1, 2]}', "'hashes' is not an object"),
    ('{"path": "a", "hashes": {"pdq": {"hex": "%s", "quality": "high"}}}' % H1, "quality is not a number"),
    ('{"path": "a", "hashes": {"pdq": {"hex": 5}}}', "bad pdq hex"),
    ('{"path": "a", "hashes": {"pdq": "%s"}}' % H1, "not an object with 'hex'"),
    ('{"path": ["a"], "md5": "%s"}' % ("0" * 32), "'path' is not text"),
    ('{"path": "a", "category": {"x": 1}, "md5": "%s"}' % ("0" * 32), "'category' is not text"),
    ('{"path": "a", "frames": 3}', "'frames' is not a list"),
    ('{"path": "a", "frames": [{"timestamp": NaN, "pdq": "%s"}]}' % H1, "timestamp is not a time"),
    ('{"path": "a", "robust": {"list": [{"hex": "%s", "quality": 1e999}]}}' % H1, "quality is not a whole number"),
    ('{"path": "a", "x": %s}' % ("1" * 5000), "not JSON this tool can read"),
    ('{"path": "a", "x": %s}' % ("[" * 100_000), "nested deeper than 64"),
    ("[1, 2]", "not a JSON object"),
])
def test_malformed_jsonl_records_become_report_lines(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "records.jsonl"
    path.write_text(f'{{"path": "good.jpg", "md5": "{"9" * 32}"}}\n{line}\n', encoding="utf-8")
    hash_list, report = load_list(path)
    assert [e.entry_id for e in hash_list.entries] == ["good.jpg"]
    assert any(n == 2 and reason in r for n, r in report.problems), report.problems


def test_deeply_nested_vics_is_refused_not_a_recursion_error(tmp_path: Path) -> None:
    path = tmp_path / "hotline_export.json"
    path.write_text('{"@odata.context": "%s#Media", "value": [{"MediaID": 1, "Series": %s' % (VICS2, "[" * 100_000),
                    encoding="utf-8")
    with pytest.raises(ListError, match="nested deeper than 64 levels"):
        load_list(path)


@pytest.mark.parametrize("item, reason", [
    ({"MediaID": 1, "MD5": "0" * 32, "AlternativeHashes": 5}, "'AlternativeHashes' is not an array"),
    ({"MediaID": 1, "MD5": "0" * 32, "AlternativeHashes": [7]}, "AlternativeHashes[0] is not an object"),
    ({"MediaID": 1, "AlternativeHashes": [{"HashName": "PDQ", "HashValue": H1, "Quality": 900}]}, "quality is not a whole"),
    ({"MediaID": 1, "AlternativeHashes": [{"HashName": "MD5", "HashValue": "0" * 32, "Timestamp": 1}]}, "frame time"),
])
def test_odd_vics_items_become_report_lines(tmp_path: Path, item: dict, reason: str) -> None:
    good = {"MediaID": 2, "SHA1": "1" * 40}
    path = tmp_path / "hotline_export.json"
    path.write_text(json.dumps({"@odata.context": VICS2 + "#Media", "value": [item, good]}), encoding="utf-8")
    hash_list, report = load_list(path)
    assert "2" in {e.entry_id for e in hash_list.entries}
    assert report.unit == "item" and any(n == 1 and reason in r for n, r in report.problems), report.problems


@pytest.mark.parametrize("cell", ["inf", "nan", "1e400", "-3", "50.5", "\x00"])
def test_odd_csv_cells_become_report_lines(tmp_path: Path, cell: str) -> None:
    path = tmp_path / "known_list.csv"
    path.write_text(f"hash,quality\n{H1},90\n{H2},{cell}\n", encoding="utf-8")
    hash_list, report = load_list(path)
    assert [e.hex for e in hash_list.entries] == [H1] and report.problems[0][0] == 3


def test_nsrl_path_with_uri_characters(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "nsrl?#1.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE FILE (sha256 TEXT, sha1 TEXT, md5 TEXT)")
    con.execute("INSERT INTO FILE VALUES (?, ?, ?)", (H3, "1" * 40, "2" * 32))
    con.commit()
    con.close()
    hash_list, report = load_list(path)
    assert report.loaded == 3 and report.unit == "row"


def test_one_wrapper_turns_a_readers_oversight_into_a_list_error(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(text: str, hash_list: HashList, report: object) -> None:
        raise AttributeError("'list' object has no attribute 'items'")

    monkeypatch.setitem(readers._READERS, "pdq-lines", broken)
    path = tmp_path / "known_list.txt"
    path.write_text(H1 + "\n", encoding="utf-8")
    with pytest.raises(ListError, match="cannot be read .AttributeError"):
        load_list(path)


# ------------------------------------------------------------------------------------ item 12: messages


def test_messages_name_the_list_count_properly_and_show_every_line(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty_list.txt"
    empty.write_text("# nothing here\n\n", encoding="utf-8")
    with pytest.raises(ListError, match="empty_list.txt: the list is empty"):
        load_list(empty)
    listed = tmp_path / "known_list.csv"
    bad = "".join(f"bad{i},B{i}\n" for i in range(30))
    listed.write_text(f"hash,id,quality\n{H1},A1,100\n{H2},A2,10\n{bad}", encoding="utf-8")
    out = tmp_path / "index"
    assert main(["index", "build", str(listed), "-o", str(out)]) == EXIT_OK
    err = capsys.readouterr().err
    assert "problems on 30 lines" in err
    assert all(f"line {n}:" in err for n in range(4, 34))  # every unusable line, with its number
    assert "entry A2: PDQ quality 10 is under the floor 50" in err
    assert "1 PDQ entry with quality under 50" in err and "1 PDQ entries" not in err
    assert "index of 1 entry from 1 list" in err


def test_a_header_with_other_names_reads_the_column_that_holds_pdq(tmp_path: Path) -> None:
    path = tmp_path / "python_reference_vectors.tsv"  # the PDQ Python reference's own shape
    path.write_text(f"file\tpdq_python_reference\na.png\t{H1}\nb.png\t{H2}\n", encoding="utf-8")
    hash_list, report = load_list(path)
    assert [(e.entry_id, e.hex) for e in hash_list.entries] == [("a.png", H1), ("b.png", H2)]
    assert any("'pdq_python_reference' read as the PDQ hashes" in note for note in report.notes)
