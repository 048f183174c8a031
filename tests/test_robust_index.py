"""Robust matching through records, lists and the index: hash with --robust, list it, find the
edited copies plain PDQ misses, and keep everything plain PDQ finds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from ocsea_match import HashIndex, hash_file, load_list
from ocsea_match.cli import EXIT_MATCHES, main
from ocsea_match.formats import dump_list, read_list_text


def _picture(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8))
    return small.resize((640, 480), Image.Resampling.BICUBIC)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("robust")
    original = _picture(1)
    original.save(root / "listed.png")
    ImageOps.expand(original, border=64, fill="black").save(root / "padded.png")
    w, h = original.size
    original.crop((int(w * 0.05), int(h * 0.05), int(w * 0.95), int(h * 0.95))).save(root / "cropped.png")
    bannered = original.copy()
    bannered.paste((255, 255, 255), (0, int(h * 0.85), w, h))
    bannered.save(root / "bannered.png")
    ImageOps.mirror(original).save(root / "mirrored.png")
    _picture(2).save(root / "other.png")
    return root


@pytest.fixture(scope="module")
def listed(folder: Path) -> Path:
    record = {**hash_file(folder / "listed.png", ["pdq"], robust="both"), "entry_id": "R1"}
    path = folder.parent / "robust_list.jsonl"
    path.write_text(json.dumps(record) + "\n")
    return path


def test_records_carry_the_robust_hashes_after_the_plain_one(folder: Path) -> None:
    plain = hash_file(folder / "listed.png", ["pdq"])
    record = hash_file(folder / "listed.png", ["pdq"], robust="both")
    assert record["hashes"] == plain["hashes"]
    assert record["robust"]["query"] and record["robust"]["list"]
    assert plain["hashes"]["pdq"]["hex"] not in {h["hex"] for h in record["robust"]["list"]}
    with pytest.raises(ValueError):
        hash_file(folder / "listed.png", ["pdq"], robust="sideways")


def test_robust_rows_are_a_list_format_round_trip(listed: Path) -> None:
    hash_list, report = load_list(listed)
    rows = [e for e in hash_list.entries if e.algorithm == "pdq-robust"]
    assert not report.problems and rows and all(e.entry_id == "R1" for e in rows)
    back, _ = read_list_text(dump_list(hash_list, "jsonl"), "again")
    assert sorted(e.hex for e in back.entries if e.algorithm == "pdq-robust") == sorted(e.hex for e in rows)
    assert all(len(line.split(",")[0]) == 64 for line in dump_list(hash_list, "pdq-csv").splitlines()[1:])
    assert len(dump_list(hash_list, "pdq-csv").splitlines()) == 2  # derived rows are not plain PDQ


@pytest.mark.parametrize("edit", ["padded", "cropped", "bannered", "mirrored"])
def test_edited_copies_plain_pdq_misses_are_found(folder: Path, listed: Path, edit: str) -> None:
    index = HashIndex.from_lists([listed])[0]
    plain_query = hash_file(folder / f"{edit}.png", ["pdq"])
    robust_query = hash_file(folder / f"{edit}.png", ["pdq"], robust="query")
    assert not [m for m in index.match(plain_query) if m["algorithm"] == "pdq"]  # plain PDQ misses it
    found = index.match(robust_query)
    robust_found = [m for m in found if m["algorithm"] == "pdq-robust"]
    assert [(m["entry_id"], m["algorithm"]) for m in robust_found] == [("R1", "pdq-robust")]
    assert robust_found[0]["distance"] <= robust_found[0]["threshold"] == 23
    if edit == "mirrored":  # PDQ-dihedral's rule too: a turned plain hash within PDQ's own 31
        assert ("R1", "pdq-dihedral", 31) in {(m["entry_id"], m["algorithm"], m["threshold"]) for m in found}
    else:
        assert len(found) == 1
    assert HashIndex.from_lists([listed], robust=False)[0].match(robust_query) == []


def test_plain_matches_stay_and_others_do_not_match(folder: Path, listed: Path, tmp_path: Path) -> None:
    index = HashIndex.from_lists([listed])[0]
    same = index.match(hash_file(folder / "listed.png", ["pdq"], robust="query"))
    assert ("R1", "pdq", 0) in {(m["entry_id"], m["algorithm"], m["distance"]) for m in same}
    assert index.match(hash_file(folder / "other.png", ["pdq"], robust="query")) == []
    index.save(tmp_path / "ix")
    again = HashIndex.load(tmp_path / "ix")
    assert again.match(hash_file(folder / "padded.png", ["pdq"], robust="query"))[0]["entry_id"] == "R1"


def test_cli_robust_hash_and_match(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "list.jsonl"
    assert main(["hash", str(folder / "listed.png"), "--robust", "-o", str(out), "--jobs", "1", "--quiet"]) == 0
    code = main(["match", str(folder / "padded.png"), "--list", str(out), "--robust", "--jobs", "1", "--quiet",
                 "-o", str(tmp_path / "m.jsonl")])
    assert code == EXIT_MATCHES
    assert json.loads((tmp_path / "m.jsonl").read_text())["matches"][0]["algorithm"] == "pdq-robust"


def test_both_hashes_is_query_and_list_hashes_from_one_decode(folder: Path) -> None:
    from ocsea_match import robust

    for name in ("listed.png", "padded.png", "bannered.png"):
        for mode in ("exact", "fast"):
            query, listed = robust.both_hashes(folder / name, mode=mode)
            assert query == robust.query_hashes(folder / name, mode=mode)
            assert listed == robust.list_hashes(folder / name, mode=mode)


def test_rotated_and_mirrored_copies_match_at_pdqs_own_threshold(folder: Path, listed: Path) -> None:
    """Never worse than PDQ-dihedral: with the robust threshold at 0, the rotations/flips of the
    query's plain hash still find the listed plain hash within 31."""
    index = HashIndex.from_lists([listed], thresholds={"pdq-robust": 0})[0]
    original = Image.open(folder / "listed.png")
    for turn in (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270, Image.Transpose.FLIP_TOP_BOTTOM):
        path = folder.parent / f"turned-{turn.name}.jpg"
        original.transpose(turn).save(path, quality=70)
        found = index.match(hash_file(path, ["pdq"], robust="query"))
        assert [(m["entry_id"], m["algorithm"]) for m in found] == [("R1", "pdq-dihedral")]
        assert found[0]["distance"] <= found[0]["threshold"] == 31
    assert index.match(hash_file(folder / "other.png", ["pdq"], robust="query")) == []
