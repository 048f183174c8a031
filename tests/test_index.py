"""Hash lists and the HashIndex: formats, load reports, matching after re-encoding, persistence."""

from __future__ import annotations

import hashlib
import io
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

import ocsea_match
from ocsea_match import HashIndex, IndexFileError, ListError, hash_file, hash_image, load_list
from ocsea_match.formats import read_list_text

from helpers import PDQ_REFERENCE, needs_pdq_reference


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Four distinct smooth pictures (benign generated patterns)."""
    folder = tmp_path_factory.mktemp("listed")
    rng = np.random.default_rng(5)
    paths = []
    for i in range(4):
        small = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize((640, 480), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(2))
        path = folder / f"picture{i}.png"
        img.save(path)
        paths.append(path)
    return paths


def pdq_csv(paths: list[Path]) -> str:
    lines = ["hash,quality,id,category"]
    for i, p in enumerate(paths):
        h = hash_image(p, ["pdq"])["pdq"]
        lines.append(f"{h.hex.upper()},{h.quality},item-{i},{i % 2 + 1}")
    return "\n".join(lines) + "\n"


def copies(path: Path) -> list[Image.Image]:
    img = Image.open(path).convert("RGB")
    out = []
    for quality in (40, 75):
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality)
        out.append(Image.open(io.BytesIO(buf.getvalue())))
    out.append(img.resize((320, 240), Image.Resampling.BILINEAR))
    out.append(img.resize((1000, 750), Image.Resampling.BICUBIC))
    return out


def test_pdq_csv_list_matches_reencoded_and_resized_copies(pictures: list[Path], tmp_path: Path) -> None:
    listed, unlisted = pictures[:3], pictures[3]
    (tmp_path / "known_list.csv").write_text("\ufeff" + pdq_csv(listed))  # exports often carry a BOM
    index, reports = HashIndex.from_lists([tmp_path / "known_list.csv"])
    assert reports[0].format == "pdq-csv" and reports[0].loaded == 3 and reports[0].problems == []
    for i, path in enumerate(listed):
        for copy in copies(path):
            matches = index.match(hash_image(copy, ["pdq"]))
            assert [m["entry_id"] for m in matches] == [f"item-{i}"], path.name
            assert matches[0]["list"] == "known_list" and matches[0]["category"] == str(i % 2 + 1)
            assert matches[0]["algorithm"] == "pdq" and 0 <= matches[0]["distance"] <= 31
            assert matches[0]["threshold"] == 31
    for copy in copies(unlisted):
        assert index.match(hash_image(copy, ["pdq"])) == []


def test_md5_list_matches_file_records_exactly(pictures: list[Path], tmp_path: Path) -> None:
    lines = [f"{hashlib.md5(p.read_bytes()).hexdigest()}  {p.name}" for p in pictures[:2]]
    (tmp_path / "known.md5").write_text("\n".join(lines) + "\n")
    index, reports = HashIndex.from_lists([tmp_path / "known.md5"])
    assert reports[0].format == "digests" and reports[0].loaded == 2
    record = hash_file(pictures[1], ["pdq"])
    assert index.match(record) == [
        {"list": "known", "entry_id": pictures[1].name, "category": None, "algorithm": "md5", "distance": 0, "threshold": 0}
    ]
    assert index.match(hash_file(pictures[3], ["pdq"])) == []


def test_a_list_of_one_entry_still_matches(pictures: list[Path]) -> None:
    h = hash_image(pictures[0], ["pdq"])["pdq"]
    hash_list, report = read_list_text(h.hex + "\n", "one")
    index, _ = HashIndex.from_lists([hash_list])
    assert [m["entry_id"] for m in index.match({"pdq": h})] == ["one:1"]


def test_malformed_entries_are_reported_and_the_rest_loads(tmp_path: Path) -> None:
    good = "ab" * 32
    text = f"{good}\n{'cd' * 16}\nnot a hash\n\n# a comment\n{'ef' * 32}\n"
    hash_list, report = read_list_text(text, "mixed")
    assert report.loaded == 2 and [n for n, _ in report.problems] == [2, 3]
    assert "64-character" in report.problems[0][1]
    with pytest.raises(ListError, match="line 2"):
        read_list_text(text, "mixed", strict=True)
    (tmp_path / "empty.txt").write_text("\n# nothing\n")
    with pytest.raises(ListError):
        load_list(tmp_path / "empty.txt")


def test_low_quality_entries_and_queries_are_not_matched() -> None:
    h = "ab" * 32
    hash_list, report = read_list_text(f"hash,quality,id\n{h},20,flat\n{'cd' * 32},90,fine\n", "q")
    index, _ = HashIndex.from_lists([hash_list])
    index.add_list(*read_list_text(f"{'ef' * 32}\n", "q2"))
    assert len(index) == 2
    assert index.match({"pdq": {"hex": "cd" * 32, "quality": 30}}) == []  # query too flat to trust
    assert index.match({"pdq": {"hex": "cd" * 32, "quality": 90}})[0]["entry_id"] == "fine"


def test_jsonl_records_round_trip_as_a_list(pictures: list[Path], tmp_path: Path) -> None:
    import json

    records = [hash_file(p, ["pdq", "phash"]) for p in pictures[:2]]
    (tmp_path / "case.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    index, reports = HashIndex.from_lists([tmp_path / "case.jsonl"])
    assert reports[0].format == "jsonl" and reports[0].loaded == 2 * 5  # md5, sha1, sha256, pdq, phash
    algorithms = {m["algorithm"] for m in index.match(records[0])}
    assert algorithms == {"md5", "sha1", "sha256", "pdq", "phash"}


def test_dihedral_variants_find_a_mirrored_copy(pictures: list[Path]) -> None:
    img = Image.open(pictures[0]).convert("RGB")
    index, _ = HashIndex.from_lists([read_list_text(hash_image(img)["pdq"].hex + "\n", "k")[0]])
    mirrored = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    assert index.match(hash_image(mirrored)) == []
    found = index.match(hash_image(mirrored), variants=ocsea_match.pdq_dihedral(mirrored))
    assert [m["entry_id"] for m in found] == ["k:1"]


def test_save_load_round_trip_and_tampering(pictures: list[Path], tmp_path: Path) -> None:
    (tmp_path / "known_list.csv").write_text(pdq_csv(pictures[:3]))
    (tmp_path / "known.sha1").write_text(f"{hashlib.sha1(pictures[3].read_bytes()).hexdigest()}  x.png\n")
    index, _ = HashIndex.from_lists([tmp_path / "known_list.csv", tmp_path / "known.sha1"], thresholds={"pdq": 20})
    index.save(tmp_path / "idx")
    loaded = HashIndex.load(tmp_path / "idx")
    assert loaded.lists == ["known_list", "known"] and len(loaded) == len(index) == 4
    assert loaded.thresholds["pdq"] == 20
    for p in pictures:
        record = hash_file(p, ["pdq"])
        assert loaded.match(record) == index.match(record) != []
    rows = tmp_path / "idx" / "pdq.rows.npy"
    data = bytearray(rows.read_bytes())
    data[-1] ^= 1
    rows.write_bytes(bytes(data))
    with pytest.raises(IndexFileError, match="altered"):
        HashIndex.load(tmp_path / "idx")
    with pytest.raises(IndexFileError):
        HashIndex.load(tmp_path / "nothing-here")


def test_batch_and_threaded_queries_agree(pictures: list[Path]) -> None:
    index, _ = HashIndex.from_lists([read_list_text(pdq_csv(pictures[:3]), "k")[0]])
    queries = [hash_image(c, ["pdq"]) for p in pictures for c in copies(p)]
    one_by_one = [index.match(q) for q in queries]
    assert index.match_many(queries) == one_by_one
    results: list[list] = [None] * len(queries)  # type: ignore[list-item]

    def work(i: int) -> None:
        results[i] = index.match(queries[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(queries))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == one_by_one


@needs_pdq_reference
def test_thumb512_dialect_reproduces_the_pdq_python_reference_vectors() -> None:
    import csv

    tsv = PDQ_REFERENCE / "python_reference_vectors.tsv"
    rows = list(csv.DictReader(open(tsv, newline=""), delimiter="\t"))
    distances = {}
    for row in rows:
        h = hash_image(Image.open(PDQ_REFERENCE / row["file"]), ["pdq-thumb512"])["pdq-thumb512"]
        distances[row["file"]] = h - ocsea_match.Hash.from_hex("pdq-thumb512", row["pdq_python_reference"])
    # 17 of 18 exactly, as pdqhash on the same thumbnail; q0003 is 10 bits off there too
    assert sum(d == 0 for d in distances.values()) == len(rows) - 1
    assert max(distances.values()) <= 10


def test_pictures_listed_in_every_dialect_are_all_found(pictures: list[Path]) -> None:
    lists = []
    for dialect in ("pdq", "pdq-thumb512", "pdq-nearest512"):
        lines = [hash_image(p, [dialect])[dialect].hex for p in pictures]
        hash_list, report = read_list_text("\n".join(lines) + "\n", f"by-{dialect}", dialect=dialect)
        assert {e.algorithm for e in hash_list.entries} == {dialect}
        lists.append(hash_list)
    index, _ = HashIndex.from_lists(lists)
    for p in pictures:
        for copy in copies(p):
            record_hashes = hash_image(copy, ["pdq", "pdq-thumb512", "pdq-nearest512"])
            found = {m["list"] for m in index.match(record_hashes)}
            assert found == {"by-pdq", "by-pdq-thumb512", "by-pdq-nearest512"}, p.name
