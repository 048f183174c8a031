"""Project VIC VICS JSON 1.x and 2.0: the quirks of real exports, PhotoDNA kept, round trip."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PIL import Image

from ocsea_match import HashIndex, hash_file
from ocsea_match.formats import ListError, dump_vics, read_list_text

PHOTODNA = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # an opaque, made-up value


@pytest.fixture()
def files(tmp_path: Path, images: dict[str, Image.Image]) -> list[Path]:
    out = []
    for name in ("photo-400x300", "checker", "gradient-h"):
        p = tmp_path / f"{name}.png"
        images[name].save(p)
        out.append(p)
    return out


def vics2_media(files: list[Path]) -> str:
    media = []
    for i, p in enumerate(files[:2], start=101):
        data = p.read_bytes()
        media.append({
            "MediaID": i,
            "Category": None if i == 102 else 1,
            "MD5": hashlib.md5(data).hexdigest().upper(),
            "SHA1": hashlib.sha1(data).hexdigest().upper(),
            "PhotoDNA": PHOTODNA,
            "Series": "S-1",
            "VictimIdentified": "true",
            "IsDistributed": "false",
            "MediaFiles": [{"FileName": p.name, "FilePath": "C:\\\\case\\\\", "Created": "/Date(1700000000000)/"}],
        })
    doc = {"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/CUSTOM/$metadata#Media", "value": media}
    return "\ufeff" + json.dumps(doc)


def test_vics2_media_set_matches_files_by_md5_and_notes_photodna(files: list[Path], tmp_path: Path) -> None:
    path = tmp_path / "hotline_export.json"
    path.write_text(vics2_media(files), encoding="utf-8")
    index, reports = HashIndex.from_lists([path])
    report = reports[0]
    assert report.format == "vics-2.0" and report.problems == []
    assert report.loaded == 6  # MD5, SHA-1, PhotoDNA for each of two items
    assert any("PhotoDNA" in note and "cannot be matched" in note for note in report.notes)
    assert sum("photodna" in note.lower() for note in report.notes) == 1  # said once
    matches = index.match(hash_file(files[0], ["pdq"]))
    assert {(m["entry_id"], m["algorithm"], m["category"]) for m in matches} == {("101", "md5", "1"), ("101", "sha1", "1")}
    assert {m["category"] for m in index.match(hash_file(files[1]))} == {None}
    assert index.match(hash_file(files[2])) == []


def test_vics1_cases_with_alternative_hashes(files: list[Path]) -> None:
    data = files[0].read_bytes()
    doc = {
        "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.2.xml/$metadata#Cases",
        "value": [{"CaseID": 7, "Media": [
            {"MediaID": "A-1", "Category": "2", "MD5": hashlib.md5(data).hexdigest(),
             "AlternativeHashes": [{"HashName": "SHA1", "HashValue": hashlib.sha1(data).hexdigest().upper()},
                                   {"HashName": "PhotoDNA", "HashValue": PHOTODNA}]},
            {"MediaID": "A-2", "Category": "1", "MD5": "not-a-hash"},
        ]}],
    }
    hash_list, report = read_list_text(json.dumps(doc), "case7")
    assert report.format == "vics-1.x"
    assert [(e.entry_id, e.algorithm) for e in hash_list.entries] == [("A-1", "md5"), ("A-1", "sha1"), ("A-1", "photodna")]
    assert [n for n, _ in report.problems] == [2, 2]  # bad MD5, then "no usable hash", both for item 2


def test_vics_round_trip_keeps_every_field(files: list[Path]) -> None:
    first, _ = read_list_text(vics2_media(files), "x")
    written = dump_vics(first)
    second, report = read_list_text(written, "x")
    assert report.problems == []
    assert second.entries == first.entries
    assert second.extra == first.extra
    item = json.loads(written)["value"][0]
    assert item["PhotoDNA"] == PHOTODNA and item["VictimIdentified"] == "true"
    assert item["MediaFiles"][0]["Created"] == "/Date(1700000000000)/"


def test_broken_vics_is_a_clear_error() -> None:
    with pytest.raises(ListError):
        read_list_text('{"@odata.context": "x#Media", "value": 3}', "bad")
    with pytest.raises(ListError):
        read_list_text('{"@odata.context": "x#Media", "value": [', "bad")
