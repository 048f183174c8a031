"""Hypothesis properties of the text list formats: what a spreadsheet, md5sum, hashdeep or this
project writes reads back entry for entry, whatever the delimiter, quoting, line ending or BOM;
and no text or bytes whatever make a reader raise anything but ``ListError``."""

from __future__ import annotations

import csv
import io
import json
import string
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from ocsea_match import HashIndex, HashList, ListEntry, ListError, convert_list, load_list
from ocsea_match.formats import WRITERS, read_list_text

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def hexes(length: int) -> st.SearchStrategy[str]:
    return st.text("0123456789abcdef", min_size=length, max_size=length)


#: ids and names as people type them: any printable text, no line break, no edge spaces
names = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=30).map(str.strip).filter(bool)
qualities = st.one_of(st.none(), st.integers(0, 100))
categories = st.one_of(st.none(), st.sampled_from(["1", "2", "3", "known-good", "Kat A; B"]))
newlines = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def delimited_lists(draw: st.DrawFn) -> tuple[str, list[tuple[str, str, int | None, str | None]]]:
    """A spreadsheet export: any delimiter, header names and column order, quoting, line ending, BOM."""
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    rows = draw(st.lists(st.tuples(names, hexes(64), qualities, categories), min_size=1, max_size=8,
                         unique_by=lambda r: r[0]))
    columns = draw(st.permutations([("id", 0), ("hash", 1), ("quality", 2), ("category", 3)]))
    header = {"id": draw(st.sampled_from(["id", "ID", "Entry ID", "media_id"])),
              "hash": draw(st.sampled_from(["hash", "PDQ", "PDQ Hash", "pdq-hash", "Signal"])),
              "quality": draw(st.sampled_from(["quality", "Quality"])), "category": "category"}
    out = io.StringIO()
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    writer = csv.writer(out, delimiter=delimiter, lineterminator=draw(newlines), quoting=quoting)
    writer.writerow([header[name] for name, _ in columns])
    for row in rows:
        cells = [row[0], row[1].upper() if draw(st.booleans()) else row[1], "" if row[2] is None else str(row[2]),
                 row[3] or ""]
        writer.writerow([cells[i] for _, i in columns])
    return ("\ufeff" if draw(st.booleans()) else "") + out.getvalue(), rows


@SETTINGS
@given(delimited_lists())
def test_delimited_lists_read_back_entry_for_entry(case: tuple[str, list]) -> None:
    text, rows = case
    hash_list, report = read_list_text(text, "known_list")
    assert report.problems == []
    assert [(e.entry_id, e.hex, e.quality, e.category) for e in hash_list.entries] == [
        (i, h, q, c) for i, h, q, c in rows]


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from([32, 40, 64]).flatmap(hexes), names, st.booleans()), min_size=1, max_size=8),
       newlines)
def test_md5sum_style_lines_read_back(rows: list[tuple[str, str, bool]], newline: str) -> None:
    text = "".join(f"{h}{' *' if binary else '  '}{name}{newline}" for h, name, binary in rows)
    hash_list, report = read_list_text(text, "sums")
    if len({len(h) for h, _, _ in rows}) == 1 and len(rows[0][0]) == 64 and report.format != "digests":
        return  # one sha256 column alone can be a PDQ list; the format is then named in the report
    assert report.problems == []
    assert [(e.hex, e.entry_id) for e in hash_list.entries] == [(h, name) for h, name, _ in rows]


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 2**40), hexes(32), hexes(64), names), min_size=1, max_size=8), newlines)
def test_hashdeep_reads_back_names_with_commas(rows: list[tuple[int, str, str, str]], newline: str) -> None:
    lines = ["%%%% HASHDEEP-1.0", "%%%% size,md5,sha256,filename", "## Invoked from: /cases"]
    lines += [f"{size},{md5},{sha},/evidence/{name}" for size, md5, sha, name in rows]
    hash_list, report = read_list_text(newline.join(lines) + newline, "deep")
    assert report.format == "hashdeep" and report.problems == []
    assert [(e.algorithm, e.hex, e.entry_id) for e in hash_list.entries] == [
        (a, v, f"/evidence/{name}") for _, md5, sha, name in rows for a, v in (("md5", md5), ("sha256", sha))]


entries = st.one_of(
    st.builds(ListEntry, names, st.sampled_from(["pdq", "pdq-thumb512", "pdq-robust"]), hexes(64), categories,
              st.none(), qualities),
    st.builds(ListEntry, names, st.sampled_from(["phash", "dhash", "ahash", "whash"]), hexes(16), categories),
    st.builds(ListEntry, names, st.just("md5"), hexes(32), categories),
    st.builds(ListEntry, st.sampled_from(["clip1", "clip2"]), st.just("pdq"), hexes(64), categories, st.none(),
              qualities, st.floats(0, 36000, allow_nan=False).map(lambda t: round(t, 3))),
)


@SETTINGS
@given(st.lists(entries, min_size=1, max_size=12))
def test_jsonl_and_vics_round_trip_every_field(listed: list[ListEntry]) -> None:
    # one category per item, as both formats hold it per item
    first: dict[str, str | None] = {}
    listed = [ListEntry(e.entry_id, e.algorithm, e.hex, first.setdefault(e.entry_id, e.category), None, e.quality,
                        e.timestamp) for e in listed]
    listed = list(dict.fromkeys(listed))  # identical entries are one entry (written once)
    hash_list = HashList("known_list", listed)
    for to in ("jsonl", "vics"):
        text, report = convert_list(hash_list, to)
        assert report.written == len(listed) and not report.lost and not report.not_written, (to, report.lines())
        back, _ = read_list_text(text, "known_list")
        key = lambda e: (e.entry_id, e.algorithm, e.hex, e.category, e.quality, e.timestamp)  # noqa: E731
        assert sorted(map(key, back.entries), key=repr) == sorted(map(key, listed), key=repr)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=70) | hexes(64) | hexes(32),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["path", "entry_id", "status", "md5", "hashes", "pdq", "hex", "quality", "frames", "timestamp",
                         "robust", "list", "category", "value", "Media", "MediaID", "AlternativeHashes", "HashName",
                         "HashValue", "Quality", "Timestamp", "@odata.context"]) | st.text(max_size=5), inner, max_size=5),
    max_leaves=20)


@SETTINGS
@given(st.lists(json_values, min_size=1, max_size=5))
def test_any_json_records_never_raise_but_list_error(records: list[object]) -> None:
    text = "".join(json.dumps(r) + "\n" for r in records)
    for fmt in ("jsonl", "vics"):
        try:
            hash_list, report = read_list_text(text if fmt == "jsonl" else json.dumps(
                {"@odata.context": "x#Media", "value": records}), "any", format=fmt)
        except ListError:
            continue
        assert hash_list.entries and report.loaded == len(hash_list.entries)
        try:
            HashIndex().add_list(hash_list, report)
        except ListError:
            pass
        for to in WRITERS:
            try:
                convert_list(hash_list, to)
            except ListError:
                pass


@SETTINGS
@given(st.text(alphabet=string.printable + "\ufeff\u2028\x00é;", max_size=400))
def test_any_text_never_raises_but_list_error(text: str) -> None:
    try:
        hash_list, report = read_list_text(text, "any")
    except ListError:
        return
    assert hash_list.entries and report.loaded == len(hash_list.entries)


@SETTINGS
@given(st.binary(max_size=300))
def test_any_bytes_never_raise_but_list_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "known_list.bin"
    path.write_bytes(data)
    try:
        load_list(path)
    except ListError:
        pass
