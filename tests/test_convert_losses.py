"""``convert`` carries what the target format can and says, per field, what it could not (issue #11,
item 8); round trips go through this project's own readers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ocsea_match import EmptyListError, HashIndex, HashList, ListEntry, convert_list, load_list
from ocsea_match.cli import EXIT_CANNOT_RUN, EXIT_OK, main
from ocsea_match.formats import read_list_text

H1 = "f8f8f0cce0f4e84d0e370a22028f67f0b36e2ed596623e1d33e6339c4e9c9b22"
H2 = "0123456789abcdef" * 4
H3 = "a5" * 32


def video_and_pictures() -> HashList:
    return HashList("known_list", [
        ListEntry("flat", "pdq", H1, category="2", quality=20),  # under the floor: must stay unmatched
        ListEntry("sharp", "pdq", H2, category="1", quality=95),
        ListEntry("clip", "pdq", H3, category="1", quality=80, timestamp=0.0),
        ListEntry("clip", "pdq", H2, category="1", quality=70, timestamp=1.5),
        ListEntry("sharp", "md5", "0" * 32, category="1"),
    ])


def test_vics_carries_quality_and_video_frames() -> None:
    text, report = convert_list(video_and_pictures(), "vics")
    assert report.written == 5 and not report.lost and not report.not_written
    back, _ = read_list_text(text, "known_list")
    by_key = {(e.entry_id, e.hex, e.timestamp): e for e in back.entries}
    assert by_key[("flat", H1, None)].quality == 20
    assert by_key[("clip", H3, 0.0)].quality == 80 and by_key[("clip", H2, 1.5)].timestamp == 1.5
    # the converted list behaves as the original: the flat picture is not matchable, the clip is a video
    index, reports = HashIndex.from_lists([back])
    assert [e for e, _ in reports[0].unmatched] == ["flat"]
    assert index.match({"hashes": {"pdq": {"hex": H1, "quality": 100}}}) == []
    assert len(index.parts.video_frames) == 1


def test_pdq_csv_says_what_it_cannot_carry() -> None:
    text, report = convert_list(video_and_pictures(), "pdq-csv")
    assert report.written == 2
    assert report.not_written == {"PDQ video frame": 2, "md5 entry": 1}
    lines = report.lines()
    assert lines[0] == "2 of 5 entries written as pdq-csv"
    assert "not written (pdq-csv cannot hold them): 2 PDQ video frames" in lines
    assert "not written (pdq-csv cannot hold them): 1 md5 entry" in lines


def test_md5sum_loses_categories_and_says_so() -> None:
    _, report = convert_list(video_and_pictures(), "md5sum")
    assert report.written == 1 and report.lost == {"category": 1}
    assert "lost the category: 1 entry" in report.lines()


def test_dialects_quality_and_vics_fields_through_jsonl() -> None:
    source = HashList("thumbs", [ListEntry("7", "pdq-thumb512", H1, quality=90), ListEntry("7", "photodna", "xyz")],
                      extra={"7": {"Series": "S1", "VictimIdentified": True}})
    _, report = convert_list(source, "jsonl")
    assert report.not_written == {"photodna entry": 1}
    assert any(k.startswith("item's other fields (VICS Series, VictimIdentified") for k in report.lost)
    _, report = convert_list(source, "pdq-csv")
    assert report.lost["PDQ dialect"] == 1


def test_a_format_that_can_carry_nothing_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listed = tmp_path / "known_list.jsonl"
    listed.write_text(json.dumps({"path": "clip.mp4", "frames": [{"timestamp": 0, "pdq": H1, "quality": 90}]}) + "\n",
                      encoding="utf-8")
    with pytest.raises(EmptyListError, match="PDQ video frame"):
        convert_list(load_list(listed)[0], "md5sum")
    out = tmp_path / "out.csv"
    assert main(["convert", str(listed), str(out), "--to", "pdq-csv"]) == EXIT_CANNOT_RUN
    assert not out.exists() and "can carry none of the list's entries" in capsys.readouterr().err


def test_convert_command_reports_per_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listed = tmp_path / "known_list.csv"
    listed.write_bytes(f"id;hash;quality;category\r\nA1;{H1};30;1\r\nA2;{H2};90;\r\n".encode())
    out = tmp_path / "known_list.vics.json"
    assert main(["convert", str(listed), str(out), "--to", "vics"]) == EXIT_OK
    assert "2 of 2 entries written as vics" in capsys.readouterr().err
    back, _ = load_list(out)
    assert {(e.entry_id, e.quality) for e in back.entries} == {("A1", 30), ("A2", 90)}
    out2 = tmp_path / "known_list.md5"
    assert main(["convert", str(out), str(out2), "--to", "md5sum"]) == EXIT_CANNOT_RUN
    assert not out2.exists()
